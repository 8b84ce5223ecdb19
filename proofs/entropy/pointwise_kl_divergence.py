r"""``pointwise_kl_divergence``: the definition and its machine-checked derivation.

**Definition** (the terms of ``torch.nn.functional.kl_div``). For an input :math:`x` (read as :math:`\log q`,
unnormalised) and a target :math:`p \ge 0`,

.. math:: \ell_i = p_i\,(\log p_i - x_i), \qquad \ell_i = 0 \text{ where } p_i = 0,

and with ``log_target=True`` the target is :math:`t_i = \log p_i` and :math:`\ell_i = e^{t_i} (t_i - x_i)`. Summed
over a row of two normalised distributions the terms are :math:`\mathrm{KL}(p\,\|\,q)`; no normalisation is
assumed here, so a term, or their sum, may be negative. ``"mean"`` divides by the number of elements.

**Gradient** in :math:`x`: :math:`\partial \ell_i / \partial x_i = -p_i` (:math:`-e^{t_i}` with ``log_target``),
the only :math:`x` an element depends on. (In :math:`p`: :math:`\log p_i - x_i + 1`, infinite at :math:`p_i = 0`;
not returned.)

**Evaluation.** :math:`p\,(\log p - x)` as written: the difference :math:`\log p - x` cancels where :math:`p`
is close to :math:`e^x`, as the problem itself does (its condition scale holds :math:`|x|\,p`, the rounding of
:math:`x` carried through), and the product adds one rounding.

**Checked** (``_prove_pointwise_kl``): the derivative of both forms; that the ``log_target`` form equals the
other at :math:`t = \log p`; :math:`p \log p \to 0` as :math:`p \to 0^+`; value and gradient against the oracle
at the stress points (a target of 0, :math:`p = e^x`, :math:`\log p = -\infty` and a broadcast target).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit
from .._views import reduce


def term(x, p):
    """p (log p - x), 0 at p = 0."""
    return sp.S.Zero if p == 0 else p * (sp.log(p) - x)


def log_target_term(x, t):
    """e^t (t - x), 0 at t = -oo."""
    return sp.S.Zero if t == -sp.oo else sp.exp(t) * (t - x)


def _prove_pointwise_kl():
    x, t = sp.symbols("x t", real=True)
    p = sp.Symbol("p", positive=True)
    assert_identity(sp.diff(term(x, p), x), -p, "d/dx p (log p - x) = -p")
    assert_identity(sp.diff(log_target_term(x, t), x), -sp.exp(t), "d/dx e^t (t - x) = -e^t")
    assert_identity(log_target_term(x, sp.log(p)), term(x, p), "the log_target form at t = log p")
    check_limit(p * (sp.log(p) - x), p, 0, 0, "p (log p - x) as p -> 0+")


def _build(case):
    x = case["log_q"]
    target = np.broadcast_to(np.asarray(case["target"], dtype=object), x.shape)
    losses = np.empty(x.shape, dtype=object)
    for index in np.ndindex(*x.shape):
        losses[index] = (log_target_term if case["log_target"] else term)(x[index], target[index])
    return reduce(losses, case["reduction"])


define(
    "pointwise_kl_divergence",
    # PyTorch's defaults, which the signature must repeat: p as the target, its "mean" over elements
    defaults={"log_target": False, "reduction": "mean"},
    build=_build,
    formula=lambda: ell(sp.Symbol("p_i") * (sp.log(sp.Symbol("p_i")) - sp.Symbol("x_i")), r"\ell_i"),
    gradient_formula=lambda: partial(-sp.Symbol("p_i"), "x_{i}", r"\ell_i"),
    prove=_prove_pointwise_kl,
)
