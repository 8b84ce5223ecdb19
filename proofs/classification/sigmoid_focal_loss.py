r"""``sigmoid_focal_loss``: the definition and its machine-checked derivation.

**Definition** (Lin et al. 2017, Sec. 3.1-3.2; ``torchvision.ops.sigmoid_focal_loss``), elementwise, with
:math:`p = \sigma(x)`, :math:`y \in [0, 1]`:

.. math:: \ell = \alpha_t\,(1 - p_t)^{\gamma}\,\mathrm{BCE}(x, y),\quad
          p_t = p\,y + (1-p)(1-y),\quad
          \alpha_t = \alpha\,y + (1-\alpha)(1-y),

with :math:`\mathrm{BCE}(x, y) = y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)`. ``alpha`` weights the
positive term (:math:`y = 1`) and :math:`1 - \alpha` the negative one, as in the paper and torchvision;
``alpha=None`` means :math:`\alpha_t = 1`. With :math:`\gamma = 0` and ``alpha=None`` this is BCE with logits.

**Gradient.** Write :math:`m = 1 - p_t = p\,(1-y) + (1-p)\,y`. With :math:`\sigma' = p(1-p)`,

.. math:: \frac{dm}{dx} = p(1-p)(1-y) - p(1-p)\,y = p(1-p)(1-2y),
          \qquad
          \frac{d\,\mathrm{BCE}}{dx} = p - y,

and :math:`\alpha_t` does not depend on :math:`x`, so

.. math:: \frac{\partial \ell}{\partial x}
          = \alpha_t\Big[\gamma\, m^{\gamma-1}\, p(1-p)(1-2y)\,\mathrm{BCE} + m^{\gamma}\,(p - y)\Big]
          = \alpha_t\, m^{\gamma}\Big[(p - y) + \gamma\,\mathrm{BCE}\,(1-2y)\,\frac{p(1-p)}{m}\Big].

**Why the ratio is safe.** Expanding,

.. math:: m - p(1-p) = (p - y)^2 + y(1-y) \ \ge 0 \quad\text{for } y \in [0, 1],

so :math:`0 \le p(1-p)/m \le 1`. :math:`m \to 0` only for hard labels (:math:`y = 1`, :math:`p \to 1` or
:math:`y = 0`, :math:`p \to 0`), and there the ratio is :math:`p` resp. :math:`1 - p`, which tends to 1.
refloss uses 1 where :math:`m = 0` in floating point; no negative power of :math:`m` is ever formed.
:math:`p` and :math:`1 - p` are both taken as :math:`\sigma(\pm x)`, so neither is a difference of numbers near
1; :math:`m = p(1-y) + (1-p)y` adds two non-negative terms, and :math:`p - y` is taken as
:math:`(1-y)\,p - y\,(1-p)`, exact for hard labels.

**Checked** (``_prove_sigmoid_focal``): the gradient is the definition's derivative, :math:`\gamma = 0` with
``alpha=None`` is BCE, the identity :math:`m - p(1-p) = (p-y)^2 + y(1-y)` (symbolic
:math:`x, y, \alpha, \gamma`), and the limits of :math:`p(1-p)/m` as :math:`x \to \pm\infty` for
:math:`y = 1`, :math:`y = 0`. Stress points: the binary ones without weights at :math:`\gamma \in \{0.5, 2\}`,
among them confident correct predictions :math:`x = \pm 40`, where :math:`m \approx 4\cdot 10^{-18}`.
"""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit
from .._views import BinaryRow, elementwise, reduce, sigmoid
from ._common import _BINARY, UNIT
from .binary_cross_entropy_with_logits import bce


def sigmoid_focal(e, gamma, alpha=None):
    """alpha_t (1 - p_t)^gamma BCE(x, y), p_t = p y + (1 - p)(1 - y); alpha=None means alpha_t = 1.

    1 - p_t = (1 - p) y + p (1 - y) is written with 1 - p = sigma(-x), as in bce."""
    one_minus_p_t = e.sigma(-e.x) * e.y + e.sigma(e.x) * (1 - e.y)
    alpha_t = 1 if alpha is None else alpha * e.y + (1 - alpha) * (1 - e.y)
    return alpha_t * one_minus_p_t**gamma * bce(e)


def sigmoid_focal_gradient(e, gamma, alpha=None):
    """The closed form of refloss.sigmoid_focal_loss_grad, with m = 1 - p_t."""
    p = e.sigma(e.x)
    m = p * (1 - e.y) + (1 - p) * e.y
    alpha_t = 1 if alpha is None else alpha * e.y + (1 - alpha) * (1 - e.y)
    return alpha_t * m**gamma * ((p - e.y) + gamma * bce(e) * (1 - 2 * e.y) * p * (1 - p) / m)


def _prove_sigmoid_focal():
    x, y, alpha = sp.symbols("x y alpha", real=True)
    gamma = sp.Symbol("gamma", positive=True)
    e = BinaryRow(x, y)
    domains = {y: UNIT, alpha: UNIT}
    assert_identity(sp.diff(sigmoid_focal(e, gamma, alpha), x), sigmoid_focal_gradient(e, gamma, alpha),
                    "d ell / d x", logits=[x], domains=domains)
    assert_identity(sigmoid_focal(e, 0), bce(e), "gamma = 0, alpha = None is BCE", logits=[x], domains=domains)
    # Why p(1-p)/m is safe: m - p(1-p) = (p - y)^2 + y(1 - y) >= 0 for y in [0, 1], so the ratio is in
    # [0, 1]; m -> 0 only for hard labels, and there the ratio -> 1.
    p = sigmoid(x)
    m = p * (1 - y) + (1 - p) * y
    assert_identity(m - p * (1 - p), (p - y) ** 2 + y * (1 - y), "m - p(1-p) = (p-y)^2 + y(1-y)", logits=[x],
                    domains=domains)
    check_limit((p * (1 - p) / m).subs(y, 1), x, sp.oo, 1, "p(1-p)/m for y = 1 as x -> oo (m -> 0)")
    check_limit((p * (1 - p) / m).subs(y, 0), x, -sp.oo, 1, "p(1-p)/m for y = 0 as x -> -oo (m -> 0)")


define(
    "sigmoid_focal_loss",
    # the paper's defaults, which the signature must repeat: Lin et al., Sec. 5.1: gamma = 2, alpha = 0.25
    # (torchvision's defaults too)
    defaults={"gamma": 2.0, "alpha": 0.25, "reduction": "mean"},
    build=lambda case: reduce(elementwise(case, sigmoid_focal, params=("gamma", "alpha")), case["reduction"]),
    formula=lambda: ell(sigmoid_focal(_BINARY, sp.Symbol("gamma"), sp.Symbol("alpha"))),
    gradient_formula=lambda: partial(sigmoid_focal_gradient(_BINARY, sp.Symbol("gamma"), sp.Symbol("alpha")), "x"),
    prove=_prove_sigmoid_focal,
)
