r"""``poly1_loss``: the definition and its machine-checked derivation.

**Definition** (Leng et al. 2022, PolyLoss, Poly-1). Cross-entropy expands as
:math:`-\log p_y = \sum_{j \ge 1} (1 - p_y)^j / j`; Poly-1 perturbs the leading coefficient by
:math:`\varepsilon` (``epsilon``):

.. math:: \ell = -\log p_y + \varepsilon\,(1 - p_y).

:math:`\varepsilon = 0` is cross-entropy. The domain :math:`\varepsilon \ge -1` is refloss's convention (it
keeps the coefficient :math:`1 + \varepsilon` of :math:`1 - p_y` non-negative; see the docstring of
:func:`refloss.poly1_loss`). ``"mean"`` divides by the number of elements.

**Gradient.** :math:`\partial(-\log p_y)/\partial z_j = p_j - \delta_{jy}` and
:math:`\partial(1 - p_y)/\partial z_j = -p_y(\delta_{jy} - p_j) = p_y\,(p_j - \delta_{jy})`, so

.. math:: \frac{\partial \ell}{\partial z_j} = (1 + \varepsilon\, p_y)\,(p_j - \delta_{jy}),

cross-entropy's gradient scaled by :math:`1 + \varepsilon p_y \ge 0`.

**Evaluation.** With :math:`s = \log p_y \le 0`, the value is a sum of two non-negative terms on each side of
:math:`\varepsilon = 0`:

.. math:: \ell = -s + \varepsilon\,\big(-\mathrm{expm1}(s)\big) \quad (\varepsilon \ge 0),
          \qquad
          \ell = (1 + \varepsilon)(-s) + (-\varepsilon)\,(e^s - 1 - s) \quad (-1 \le \varepsilon < 0),

with :math:`e^s - 1 - s` from ``refloss.numerics.expm1mx`` (a series near 0). The second form is the first
rearranged: :math:`(1+\varepsilon)(-s) - \varepsilon(e^s - 1 - s) = -s + \varepsilon(1 - e^s)`. At
:math:`\varepsilon = -1` the loss is :math:`e^s - 1 - s \approx s^2/2`, of second order in :math:`1 - p_y`, and
``-log p + eps (1 - p)`` as written loses every digit of it at a logit gap of 40. In the gradient the factor
:math:`1 + \varepsilon p_y` is :math:`1 + \varepsilon e^s` for :math:`\varepsilon \ge 0` and
:math:`(1 + \varepsilon) + (-\varepsilon)(1 - p_y)` for :math:`\varepsilon < 0` (two non-negative terms,
:math:`1 - p_y = -\mathrm{expm1}(s)`); the target component :math:`p_y - 1` is :math:`\mathrm{expm1}(s)`.

**Probability targets** :math:`t` (optax's ``poly_loss_cross_entropy``):
:math:`\ell = \sum_c t_c\,(-\log p_c + \varepsilon (1 - p_c))`, each class's term the class-target loss at
:math:`p_c`. With :math:`f(s) = -s + \varepsilon(1 - e^s)` and :math:`\partial s_c / \partial z_j = \delta_{cj} -
p_j`, :math:`\partial\ell/\partial z_j = \sum_c t_c f'(s_c)(\delta_{cj} - p_j)` and :math:`f'(s) = -(1 +
\varepsilon e^s)`, so

.. math:: \frac{\partial \ell}{\partial z_j} = p_j \sum_c a_c - a_j, \qquad a_c = t_c\,(1 + \varepsilon p_c),

cross-entropy's coefficient form, evaluated as it is (``p_j sum_(c != j) a_c + a_j expm1(log p_j)``). No
:math:`\sum_c t_c = 1` is assumed: the targets may be any reals, as for :func:`refloss.cross_entropy`.

**Edge cases.** A masked target (:math:`s = -\infty`) gives :math:`\ell = +\infty`, whose gradient refloss
refuses to return; masked non-target classes have :math:`p_j = 0` and a zero gradient.

**Checked** (``_prove_poly1``): for :math:`C = 3`, each :math:`y` and symbolic :math:`\varepsilon`, the
gradient above is the definition's derivative; so is the probability-target gradient, for real targets of any
sign and sum, and a one-hot target is the class target; :math:`\varepsilon = 0` is cross-entropy; the
:math:`\varepsilon < 0` evaluation form equals the loss (in :math:`s`); and
:math:`(-\log(1-t) - t)/t^2 \to 1/2` as :math:`t \to 0`, the second-order behaviour at
:math:`\varepsilon = -1`. Stress points: ``softmax_stress`` at :math:`\varepsilon \in \{-1, -0.5, 0, 1, 2\}`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols, reduce, rows
from ._common import C
from .cross_entropy import ce_class_target


def poly1(row, epsilon):
    """PolyLoss's Poly-1: -log p_y + epsilon (1 - p_y)."""
    return -row.log_p(row.y) + epsilon * (1 - row.p(row.y))


def poly1_gradient(row, j, epsilon):
    """The closed form of refloss.poly1_loss_grad: (1 + epsilon p_y)(p - e_y)."""
    return (1 + epsilon * row.p(row.y)) * (row.p(j) - row.delta(j, row.y))


def poly1_prob_target(row, epsilon):
    """With probability targets t (optax's form): sum_c t_c (-log p_c + epsilon (1 - p_c))."""
    return row.sum(lambda c: row.t(c) * (-row.log_p(c) + epsilon * (1 - row.p(c))))


def poly1_prob_gradient(row, j, epsilon):
    """The closed form with probability targets: p_j sum_c a_c - a_j with a_c = t_c (1 + epsilon p_c)."""
    a = lambda c: row.t(c) * (1 + epsilon * row.p(c))  # noqa: E731 - the coefficient, in the notation above
    return row.p(j) * row.sum(a) - a(j)


def _prove_poly1():
    epsilon = sp.Symbol("epsilon", real=True)
    prove_row_gradient(poly1, poly1_gradient, "poly1_loss", params={"epsilon": epsilon})
    z = logit_symbols(C)
    t = list(sp.symbols(f"t0:{C}", real=True))  # probability targets of any sign and sum
    row = Row(z, None, t=t)
    for j in range(C):
        assert_identity(sp.diff(poly1_prob_target(row, epsilon), z[j]), poly1_prob_gradient(row, j, epsilon),
                        f"poly1_loss, probability targets: d ell / d z_{j}", logits=z)
    for y in range(C):  # a one-hot t is the class target y
        onehot = Row(z, None, t=[sp.S.One if c == y else sp.S.Zero for c in range(C)])
        assert_identity(poly1_prob_target(onehot, epsilon), poly1(Row(z, y), epsilon),
                        f"one-hot probability target {y} = class target {y}", logits=z)
    s = sp.Symbol("s", negative=True)
    for y in range(C):
        row = Row(z, y)
        assert_identity(poly1(row, 0), ce_class_target(row, 0), "epsilon = 0 is cross-entropy", logits=z)
    # The evaluation forms: two non-negative terms on each side of epsilon = 0 (s = log p_y <= 0).
    loss = -s + epsilon * (1 - sp.exp(s))
    assert_identity((1 + epsilon) * -s - epsilon * (sp.exp(s) - 1 - s), loss, "epsilon < 0 form")
    # -log p + eps (1 - p) = sum_j (1 - p)^j / j + eps (1 - p): Poly-1 is PolyLoss with alpha_1 = 1 + eps.
    t = sp.Symbol("t", positive=True)
    check_limit((-sp.log(1 - t) - t) / t**2, t, 0, sp.Rational(1, 2), "-log p - (1 - p) ~ (1 - p)^2 / 2 as p -> 1")


def _poly1_build(case):
    if np.ndim(case["target"]) == np.ndim(case["logits"]):  # probability targets, per class
        return reduce(rows({**case, "t": case["target"]}, poly1_prob_target, target=None, per_class=("t",),
                           params=("epsilon",)),
                      case["reduction"])
    return reduce(rows(case, poly1, params=("epsilon",)), case["reduction"])


define(
    "poly1_loss",
    # the paper's defaults, which the signature must repeat: optax's poly_loss_cross_entropy (epsilon = 2 is the
    # paper's ImageNet choice; 1 is the peers' default)
    defaults={"epsilon": 1.0, "reduction": "mean"},
    build=_poly1_build,
    formula=lambda: ell(poly1(GenericRow(), sp.Symbol("epsilon"))),
    gradient_formula=lambda: partial(poly1_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("epsilon"))),
    prove=_prove_poly1,
)
