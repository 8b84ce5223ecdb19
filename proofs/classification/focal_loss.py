r"""``focal_loss``: the definition and its machine-checked derivation.

**Definition** (Lin et al. 2017, Eq. 5, softmax form). With :math:`q = 1 - p_y`,

.. math:: \ell = -\alpha_y\, q^{\gamma} \log p_y ,

where :math:`\alpha_y` is the per-class ``alpha`` gathered at the target (a scalar ``alpha`` multiplies every
class alike; ``None`` means 1). ``"mean"`` divides by the number of elements, not by the alphas.
:math:`\gamma = 0` with :math:`\alpha_y = 1` is cross-entropy.

**Gradient.** From the fact above, :math:`\partial \log p_y/\partial z = e_y - p` and
:math:`\partial q/\partial z = -\partial p_y/\partial z = p_y\,(p - e_y)`. The product rule gives

.. math:: \frac{\partial \ell}{\partial z}
          = -\alpha_y\Big[\gamma\, q^{\gamma-1}\, p_y\,(p - e_y)\,\log p_y + q^{\gamma}\,(e_y - p)\Big]
          = \alpha_y\, q^{\gamma}\Big(1 - \gamma\, p_y\,\frac{\log p_y}{q}\Big)(p - e_y).

The gradient points along the cross-entropy gradient :math:`p - e_y`. Since :math:`-\log p \le 1/p - 1` (from
:math:`\log u \le u - 1`), :math:`0 < -p_y \log p_y / q \le 1`, so the factor lies between
:math:`\alpha_y q^\gamma` and :math:`\alpha_y q^\gamma (1 + \gamma)`.

**Probability targets** :math:`t` (a float array of the logits' shape): :math:`\ell = \sum_c t_c\,(-\alpha_c
(1 - p_c)^\gamma \log p_c)`, the class-target loss of each class weighted by its target, as cross-entropy's
:math:`-\sum_c t_c \log p_c` weights :math:`-\log p_c` (refloss's generalisation: the paper states the loss for a
class target; ``alpha`` is then per class, a scalar or 1). With :math:`h(s) = -(1 - e^s)^\gamma s` at :math:`s =
\log p_c`, :math:`h'(s) = -F(p)`, :math:`F(p) = q^\gamma (1 - \gamma p \log p / q)` the factor above, and
:math:`\partial s_c/\partial z_j = \delta_{cj} - p_j`, so

.. math:: \frac{\partial \ell}{\partial z_j} = p_j \sum_c a_c - a_j, \qquad a_c = t_c\,\alpha_c\,F(p_c),

cross-entropy's coefficient form. One-hot targets give the class-target loss (checked).

**Stability.**

* :math:`q` is computed as :math:`-\mathrm{expm1}(\log p_y)`. Near :math:`p_y = 1`, ``1 - p_y`` loses all
  relative accuracy (its absolute error is an ulp of 1, :math:`1.1\cdot 10^{-16}`): at
  :math:`z = (30, 0, -2)`, :math:`y = 0`, :math:`q \approx 10^{-13}` and the loss would be off by about
  :math:`10^{-4}` relative. The target component of :math:`p - e_y` is :math:`p_y - 1 =
  \mathrm{expm1}(\log p_y)` by the rule above; the others are :math:`p_j = \exp(\log p_j)`.
* The naive derivative has :math:`q^{\gamma-1}`, which for :math:`\gamma < 1` overflows as :math:`q \to 0`
  (and is :math:`0^{\gamma-1} = \infty` times 0 when :math:`p_y` rounds to 1). The factored form only needs
  :math:`q^\gamma` and the ratio :math:`\log p_y / q`, which has a finite limit: by l'Hôpital,

  .. math:: \lim_{p \to 1^-} \frac{\log p}{1 - p} = \lim_{p \to 1^-} \frac{1/p}{-1} = -1 .

  refloss uses :math:`-1` where :math:`q = 0` in floating point, so the factor is
  :math:`\alpha_y\, 0^\gamma (1 + \gamma)`: 0 for :math:`\gamma > 0`, and :math:`\alpha_y` (cross-entropy's
  :math:`p - e_y`) for :math:`\gamma = 0`.

**Checked** (``_prove_focal``): for :math:`C = 3`, each :math:`y`, symbolic :math:`\gamma` and :math:`\alpha`,
the gradient above is the definition's derivative; :math:`\gamma = 0` equals cross-entropy; the limit
:math:`\log p/(1-p) \to -1` as :math:`p \to 1^-` (``sympy.limit``). Stress points: ``softmax_stress`` at
:math:`\gamma \in \{0, 0.5, 2\}`, and a per-class ``alpha`` vector.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols, reduce
from ._common import C
from .cross_entropy import ce_class_target


def focal(row, gamma, alpha=1):
    """-alpha_y (1 - p_y)^gamma log p_y (alpha_y: the per-class alpha at the target, a scalar, or 1)."""
    return -alpha * (1 - row.p(row.y)) ** gamma * row.log_p(row.y)


def focal_gradient(row, j, gamma, alpha=1):
    """The closed form of refloss.focal_loss_grad."""
    p_y = row.p(row.y)
    q = 1 - p_y
    return alpha * q**gamma * (1 - gamma * p_y * row.log_p(row.y) / q) * (row.p(j) - row.delta(j, row.y))


def focal_prob_target(row, gamma):
    """With probability targets t: sum_c t_c (-alpha_c (1 - p_c)^gamma log p_c), each class's term the class-target
    loss at p_c (alpha_c per class: row.alpha)."""
    return row.sum(lambda c: row.t(c) * -row.alpha(c) * (1 - row.p(c)) ** gamma * row.log_p(c))


def focal_prob_gradient(row, j, gamma):
    """The closed form with probability targets: p_j sum_c a_c - a_j with a_c = t_c alpha_c F_c, F_c = (1 - p_c)^gamma
    (1 - gamma p_c log p_c / (1 - p_c)), the class-target factor."""
    def a(c):
        q = 1 - row.p(c)
        return row.t(c) * row.alpha(c) * q**gamma * (1 - gamma * row.p(c) * row.log_p(c) / q)

    return row.p(j) * row.sum(a) - a(j)


def _prove_focal():
    gamma, alpha = sp.symbols("gamma alpha", positive=True)
    prove_row_gradient(focal, focal_gradient, "focal_loss", params={"gamma": gamma, "alpha": alpha})
    z = logit_symbols(C)
    t = list(sp.symbols(f"t0:{C}", real=True))  # probability targets of any sign and sum
    row = Row(z, None, t=t, alpha=list(sp.symbols(f"alpha0:{C}", positive=True)))
    for j in range(C):
        assert_identity(sp.diff(focal_prob_target(row, gamma), z[j]), focal_prob_gradient(row, j, gamma),
                        f"focal_loss, probability targets: d ell / d z_{j}", logits=z)
    for y in range(C):  # a one-hot t is the class target y
        onehot = Row(z, None, t=[sp.S.One if c == y else sp.S.Zero for c in range(C)], alpha=[alpha] * C)
        assert_identity(focal_prob_target(onehot, gamma), focal(Row(z, y), gamma, alpha),
                        f"one-hot probability target {y} = class target {y}", logits=z)
    for y in range(C):
        row = Row(z, y)
        assert_identity(focal(row, 0), ce_class_target(row, 0), "gamma = 0 is cross-entropy", logits=z)
    # The factor's only singular-looking piece, log(p_y) / q, has a finite limit as p_y -> 1 (q -> 0).
    p_y = sp.Symbol("p_y", positive=True)
    check_limit(sp.log(p_y) / (1 - p_y), p_y, 1, -1, "log p_y / (1 - p_y) as p_y -> 1", direction="-")


def _focal_build(case):
    z, target, alpha = case["logits"], case["target"], case.get("alpha")
    losses = np.empty(z.shape[:-1], dtype=object)
    if np.ndim(target) == np.ndim(z):  # probability targets, a per-class alpha (a scalar or 1 for every class)
        alphas = np.broadcast_to(np.asarray(1 if alpha is None else alpha, dtype=object), z.shape[-1:])
        for index in np.ndindex(*z.shape[:-1]):
            losses[index] = focal_prob_target(Row(z[index], None, t=list(target[index]), alpha=list(alphas)),
                                              case["gamma"])
        return reduce(losses, case["reduction"])
    for index in np.ndindex(*z.shape[:-1]):
        y = int(target[index])
        if alpha is None:
            a = 1
        elif isinstance(alpha, np.ndarray) and alpha.ndim == 1:
            a = alpha[y]  # per-class alpha gathered at the target
        else:
            a = alpha  # a scalar multiplies every class alike
        losses[index] = focal(Row(z[index], y), case["gamma"], a)
    return reduce(losses, case["reduction"])


define(
    "focal_loss",
    # the paper's defaults, which the signature must repeat: Lin et al.'s gamma = 2 (their best setting, Sec. 5.1); no
    # alpha weighting
    defaults={"gamma": 2.0, "alpha": None, "reduction": "mean"},
    build=_focal_build,
    formula=lambda: ell(focal(GenericRow(), sp.Symbol("gamma"), sp.IndexedBase("alpha")[sp.Symbol("y")])),
    gradient_formula=lambda: partial(focal_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("gamma"),
                                                    sp.IndexedBase("alpha")[sp.Symbol("y")])),
    prove=_prove_focal,
)
