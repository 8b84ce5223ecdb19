r"""``temperature_scaled_nll``: the definition and its machine-checked derivation.

**Definition** (Guo et al. 2017, Sec. 4.2: temperature scaling). For logits :math:`z`, a temperature :math:`T > 0`
and a class target :math:`y`, the negative log-likelihood of :math:`\mathrm{softmax}(z / T)`,

.. math:: \ell = -\log \frac{e^{z_y / T}}{\sum_c e^{z_c / T}} = \log \sum_c e^{z_c / T} - \frac{z_y}{T},

which is cross-entropy's definition (``proofs/classification/cross_entropy.py``, ``ce_class_target`` with no
smoothing and no weights) at the row of logits :math:`u = z / T`: the definition below *is* that function,
called on the scaled row. A masked class (:math:`z_c = -\infty`) stays masked at every :math:`T`. ``"mean"``
divides by the number of rows.

**Gradient.** With :math:`p = \mathrm{softmax}(u)`, cross-entropy's gradient w.r.t. :math:`u` is
:math:`p - e_y`, and :math:`\partial u_j / \partial z_j = 1/T`, so

.. math:: \frac{\partial \ell}{\partial z_j} = \frac{p_j - \delta_{jy}}{T}.

For the temperature, :math:`\partial u_k / \partial T = -z_k / T^2`, and the chain rule through
:math:`\partial \ell / \partial u_k = p_k - \delta_{ky}` gives

.. math:: \frac{\partial \ell}{\partial T} = -\sum_k (p_k - \delta_{ky}) \frac{z_k}{T^2}
          = \frac{z_y - \sum_k p_k z_k}{T^2} = \frac{1}{T} \sum_{k \ne y} p_k (u_y - u_k),

the last form since :math:`\sum_k p_k = 1`: the form refloss evaluates, from differences of the scaled logits,
whose terms are all non-negative when the target is the largest logit (no cancellation of
:math:`z_y` against :math:`\mathbb{E}_p[z]`).

**Evaluation.** The loss and the logits' gradient are cross-entropy's float64 terms at :math:`u = z/T`
(log1p-based log-softmax, :math:`p_y - 1 = \mathrm{expm1}(\log p_y)`); the rounding of :math:`z/T` is one
relative :math:`\epsilon` of each :math:`u_j`, which the condition scale over the logits and the temperature holds.
Where :math:`z/T` overflows (:math:`T < 1`) the row is shifted by its maximum first.

**Checked** (``_prove``): for :math:`C = 3`, each target and symbolic :math:`T > 0`: the definition at
:math:`T = 1` is cross-entropy's; SymPy's derivatives w.r.t. each :math:`z_j` and :math:`T` equal the closed forms;
the logits' gradient is cross-entropy's (``ce_gradient``) over :math:`T`; the two forms of the temperature's
gradient agree; and the loss is invariant under a common shift of the logits.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import GenericRow, Row, logit_symbols, reduce
from ..classification.cross_entropy import ce_class_target, ce_gradient

C = 3
T = sp.Symbol("T", positive=True)


def scaled_row(z, y, t) -> Row:
    """The row of logits z / T (a masked class stays -oo)."""
    return Row([-sp.oo if v == -sp.oo else v / t for v in z], y)


def temperature_scaled_nll(z, y, t):
    """-log softmax(z / T)_y: cross-entropy's class-target NLL (no smoothing, no weights) at the scaled row."""
    return ce_class_target(scaled_row(z, y, t), 0)


def logit_gradient(z, y, t, j):
    """The closed form of the logits' gradient: (p_j - delta_jy) / T, p = softmax(z / T)."""
    row = scaled_row(z, y, t)
    return (row.p(j) - row.delta(j, y)) / t


def temperature_gradient(z, y, t):
    """The closed form of the temperature's gradient: (z_y - sum_k p_k z_k) / T^2."""
    row = scaled_row(z, y, t)
    return (z[y] - row.sum(lambda k: row.p(k) * z[k])) / t**2


def _prove():
    z = logit_symbols(C)
    s = sp.Symbol("s", real=True)
    for y in range(C):
        value = temperature_scaled_nll(z, y, T)
        assert_identity(temperature_scaled_nll(z, y, sp.S.One), ce_class_target(Row(z, y), 0),
                        f"T = 1 is cross-entropy (target {y})", logits=z)
        for j in range(C):
            assert_identity(sp.diff(value, z[j]), logit_gradient(z, y, T, j), f"d ell / d z_{j} (target {y})",
                            logits=z)
            assert_identity(logit_gradient(z, y, T, j), ce_gradient(scaled_row(z, y, T), j, 0) / T,
                            f"d ell / d z_{j} is cross-entropy's gradient at z / T over T (target {y})", logits=z)
        assert_identity(sp.diff(value, T), temperature_gradient(z, y, T), f"d ell / d T (target {y})", logits=z)
        row = scaled_row(z, y, T)
        leave_out = sum(row.p(k) * (z[y] / T - z[k] / T) for k in range(C) if k != y) / T
        assert_identity(leave_out, temperature_gradient(z, y, T),
                        f"d ell / d T = (1/T) sum_(k != y) p_k (u_y - u_k) (target {y})", logits=z)
        assert_identity(temperature_scaled_nll([v + s for v in z], y, T), value, f"shift invariance (target {y})",
                        logits=z)


def _build(case):
    z = case["logits"]
    t = np.asarray(case["temperature"], dtype=object)[()]
    losses = np.empty(z.shape[:-1], dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        losses[index] = temperature_scaled_nll(list(z[index]), int(case["target"][index]), t)
    return reduce(losses, case["reduction"])


def _formula():
    row = GenericRow()
    c = sp.Symbol("c", integer=True)
    return ell(sp.log(sp.Sum(sp.exp(row.z(c) / T), (c, 1, row.C))) - row.z(row.y) / T)


def _gradient_formula():
    row = GenericRow()
    j, c = sp.Symbol("j"), sp.Symbol("c", integer=True)
    return sp.Tuple(partial((row.p(j) - row.delta(j, row.y)) / T),
                    partial((row.z(row.y) - sp.Sum(row.p(c) * row.z(c), (c, 1, row.C))) / T**2, wrt="T"))


define(
    "temperature_scaled_nll",
    # the temperature has no default (it is what temperature scaling fits); "mean" as PyTorch's F.cross_entropy
    defaults={"reduction": "mean"},
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove,
)
