r"""``binary_cross_entropy_with_logits``: the definition and its machine-checked derivation.

**Definition** (PyTorch's ``F.binary_cross_entropy_with_logits``), elementwise, with labels :math:`y`,
``weight`` :math:`w` and ``pos_weight`` :math:`\rho` (which weights the positive term only):

.. math:: \ell = -w\,\big[\rho\, y \log \sigma(x) + (1-y) \log(1 - \sigma(x))\big].

:math:`y \in [0, 1]` are hard and soft labels; as in PyTorch, any finite real :math:`y` is accepted (the
loss is linear in :math:`y`), and :math:`w` and :math:`\rho` may be negative.

**Stable form.** :math:`-\log\sigma(x) = \log(1 + e^{-x}) = \mathrm{softplus}(-x)` and
:math:`-\log(1 - \sigma(x)) = \mathrm{softplus}(x)`, so

.. math:: \ell = w\,\big[\rho\, y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)\big],

for :math:`y \in [0, 1]` and :math:`\rho \ge 0` a sum of two non-negative terms. PyTorch's equal form
:math:`(1-y)\,x + (1 + (\rho-1)\,y)\,\mathrm{softplus}(-x)` (from
:math:`\mathrm{softplus}(x) = x + \mathrm{softplus}(-x)`) cancels for large negative :math:`x` with
:math:`y = 0`, where :math:`x + \mathrm{softplus}(-x) \approx e^{x}` is the difference of two numbers of size
:math:`|x|`.

**Any label.** For :math:`y` outside :math:`[0, 1]` or :math:`\rho < 0` the two terms have opposite signs and
each may dwarf the loss (:math:`y = 10^8` at :math:`x = 10^{-9}`: terms of :math:`7 \cdot 10^7`, a loss of
0.59), and their rounding is not within the condition scale. The loss is linear in :math:`y`:

.. math:: \ell / w = \mathrm{softplus}(x) + y\,B, \qquad
          B = \rho\,\mathrm{softplus}(-x) - \mathrm{softplus}(x)
            = \rho \max(-x, 0) - \max(x, 0) + (\rho - 1)\,\mathrm{log1p}(e^{-|x|}),

with :math:`B` formed without cancelling softplus terms (:math:`B = -x` exactly at :math:`\rho = 1`); what is
left to cancel, :math:`\mathrm{softplus}(x)` against :math:`yB`, is within the condition scale of :math:`y`,
:math:`|y|\,|w B|`.

**Gradient.** :math:`\frac{d}{dx}\log\sigma(x) = 1 - \sigma(x) = \sigma(-x)` and
:math:`\frac{d}{dx}\log(1 - \sigma(x)) = -\sigma(x)`, so

.. math:: \frac{\partial \ell}{\partial x} = w\,\big[(1-y)\,\sigma(x) - \rho\, y\, \sigma(-x)\big]
          = w\,\big[\sigma(x)\,(1 + (\rho-1)\,y) - \rho\, y\big].

refloss evaluates the first form, with :math:`\sigma(\pm x)` each an exact numerator over
:math:`1 + e^{-|x|}`: for :math:`y = 1` and large :math:`x` it is :math:`-w\rho\,\sigma(-x)`, tiny and
accurate, where the second subtracts :math:`\rho` from :math:`\rho\,\sigma(x) \approx \rho`. For any label
its two terms cancel only as much as the condition scale of :math:`y` (and :math:`\rho`) allows. ``"mean"``
divides by the number of elements (weights are not in the denominator).

**Checked** (``_prove_bce``): the gradient, the softplus form, PyTorch's form and the any-label form are the
definition's derivative and the definition itself, for symbolic real :math:`x, y, w, \rho` (no range or sign
assumed). Stress points: hard positive, hard negative and soft labels at logits from :math:`-80` to :math:`80`,
broadcast ``weight`` and ``pos_weight`` under ``"mean"``; labels -0.5 and 1.7 at those logits and at the logit
gaps of the softmax objects (15 to 80, 0, -3) with ``pos_weight`` and ``weight`` of both signs (under
``"mean"`` too), soft labels with a signed ``pos_weight``, and labels of :math:`\pm 10^8` at logits near 0.
"""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import BinaryRow, elementwise, reduce
from ._common import _BINARY


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
    w, rho = sp.symbols("w rho", real=True)  # of any sign, as PyTorch accepts; the label is any real number too
    e = BinaryRow(x, y)
    domains = {y: (-2, 3)}
    assert_identity(sp.diff(bce(e, w, rho), x), bce_gradient(e, w, rho), "d ell / d x", logits=[x], domains=domains)

    def softplus(v):
        return sp.log(1 + sp.exp(v))

    # refloss's sum of two non-negative terms, and PyTorch's form, are the same function.
    assert_identity(w * (rho * y * softplus(-x) + (1 - y) * softplus(x)), bce(e, w, rho), "softplus form",
                    logits=[x], domains=domains)
    assert_identity(w * ((1 - y) * x + (1 + (rho - 1) * y) * softplus(-x)), bce(e, w, rho), "PyTorch's form",
                    logits=[x], domains=domains)
    # the form for any label, on each side of x = 0:
    # softplus(x) + y (rho max(-x, 0) - max(x, 0) + (rho - 1) log1p(e^-|x|))
    tail = sp.log(1 + sp.exp(-sp.Abs(x)))
    for side, sign in (("x >= 0", 1), ("x < 0", -1)):
        t = sp.Symbol("t", positive=True)  # |x|
        form = w * ((t if sign > 0 else 0) + tail + y * (rho * (t if sign < 0 else 0) - (t if sign > 0 else 0)
                                                            + (rho - 1) * tail))
        assert_identity(form.subs(x, sign * t), bce(e, w, rho).subs(x, sign * t), f"any-label form, {side}",
                        logits=[t], domains=domains)


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
