r"""``binary_cross_entropy_with_logits``: the definition and its machine-checked derivation.

**Definition** (PyTorch's ``F.binary_cross_entropy_with_logits``), elementwise, with labels
:math:`y \in [0, 1]` (soft labels allowed), ``weight`` :math:`w` and ``pos_weight`` :math:`\rho` (which
weights the positive term only):

.. math:: \ell = -w\,\big[\rho\, y \log \sigma(x) + (1-y) \log(1 - \sigma(x))\big].

**Stable form.** :math:`-\log\sigma(x) = \log(1 + e^{-x}) = \mathrm{softplus}(-x)` and
:math:`-\log(1 - \sigma(x)) = \mathrm{softplus}(x)`, so

.. math:: \ell = w\,\big[\rho\, y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)\big],

a sum of two non-negative terms. PyTorch's equal form
:math:`(1-y)\,x + (1 + (\rho-1)\,y)\,\mathrm{softplus}(-x)` (from
:math:`\mathrm{softplus}(x) = x + \mathrm{softplus}(-x)`) cancels for large negative :math:`x` with
:math:`y = 0`, where :math:`x + \mathrm{softplus}(-x) \approx e^{x}` is the difference of two numbers of size
:math:`|x|`.

**Gradient.** :math:`\frac{d}{dx}\log\sigma(x) = 1 - \sigma(x) = \sigma(-x)` and
:math:`\frac{d}{dx}\log(1 - \sigma(x)) = -\sigma(x)`, so

.. math:: \frac{\partial \ell}{\partial x} = w\,\big[(1-y)\,\sigma(x) - \rho\, y\, \sigma(-x)\big]
          = w\,\big[\sigma(x)\,(1 + (\rho-1)\,y) - \rho\, y\big].

refloss evaluates the first form, with :math:`\sigma(\pm x)` from ``expit``: for :math:`y = 1` and large
:math:`x` it is :math:`-w\rho\,\sigma(-x)`, tiny and accurate, where the second subtracts :math:`\rho` from
:math:`\rho\,\sigma(x) \approx \rho`. ``"mean"`` divides by the number of elements (weights are not in the
denominator).

**Checked** (``_prove_bce``): the gradient, the softplus form and PyTorch's form are the definition's
derivative and the definition itself, for symbolic :math:`x, y, w, \rho`. Stress points: hard positive,
hard negative and soft labels at logits from :math:`-80` to :math:`80`, and broadcast ``weight`` and
``pos_weight`` under ``"mean"``.
"""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import BinaryRow, elementwise, reduce
from ._common import _BINARY, UNIT


def bce(e, w=1, rho=1):
    """-w [rho y log sigma(x) + (1-y) log(1 - sigma(x))], with 1 - sigma(x) written sigma(-x) (the same
    number, and one mpmath can evaluate at x = 1.7e308, where 1 - sigma(x) needs 1e308 digits)."""
    return -w * (rho * e.y * sp.log(e.sigma(e.x)) + (1 - e.y) * sp.log(e.sigma(-e.x)))


def bce_gradient(e, w=1, rho=1):
    """The closed form of refloss.binary_cross_entropy_with_logits_grad."""
    return w * ((1 - e.y) * e.sigma(e.x) - rho * e.y * e.sigma(-e.x))


def _bce_element(e):
    return bce(e, getattr(e, "w", 1), getattr(e, "rho", 1))


def _prove_bce():
    x, y = sp.symbols("x y", real=True)
    w, rho = sp.symbols("w rho", positive=True)
    e = BinaryRow(x, y)
    domains = {y: UNIT}
    assert_identity(sp.diff(bce(e, w, rho), x), bce_gradient(e, w, rho), "d ell / d x", logits=[x], domains=domains)

    def softplus(v):
        return sp.log(1 + sp.exp(v))

    # refloss's sum of two non-negative terms, and PyTorch's form, are the same function.
    assert_identity(w * (rho * y * softplus(-x) + (1 - y) * softplus(x)), bce(e, w, rho), "softplus form",
                    logits=[x], domains=domains)
    assert_identity(w * ((1 - y) * x + (1 + (rho - 1) * y) * softplus(-x)), bce(e, w, rho), "PyTorch's form",
                    logits=[x], domains=domains)


def _bce_build(case):
    renamed = {**case, "w": case.get("weight"), "rho": case.get("pos_weight")}
    return reduce(elementwise(renamed, _bce_element, arrays=("w", "rho")), case["reduction"])


define(
    "binary_cross_entropy_with_logits",
    # the paper's defaults, which the signature must repeat: PyTorch's F.binary_cross_entropy_with_logits
    defaults={"weight": None, "pos_weight": None, "reduction": "mean"},
    build=_bce_build,
    formula=lambda: ell(bce(_BINARY, sp.Symbol("w"), sp.Symbol("rho"))),
    gradient_formula=lambda: partial(bce_gradient(_BINARY, sp.Symbol("w"), sp.Symbol("rho")), "x"),
    prove=_prove_bce,
)
