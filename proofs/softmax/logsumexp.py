r"""``logsumexp``: the definition and its machine-checked derivation.

**Definition.** :math:`\mathrm{LSE}_b(z) = \log \big|\sum_j b_j e^{z_j}\big|`, with scale factors :math:`b_j`
(SciPy's ``b``; without it every :math:`b_j = 1` and this is :math:`\log \sum_j e^{z_j}`). With
``return_sign=True`` the object has a second output, the sign :math:`\sigma = \operatorname{sign}(\sum_j b_j
e^{z_j}) \in \{-1, 0, 1\}`, so that :math:`\sum_j b_j e^{z_j} = \sigma\, e^{\mathrm{LSE}_b(z)}`.

**Gradient.** With :math:`S = \sum_i b_i e^{z_i} \ne 0`, :math:`\partial \log|S| / \partial S = 1/S` for either
sign of :math:`S`, so

.. math:: \frac{\partial\,\mathrm{LSE}_b}{\partial z_j}
          = \frac{1}{S}\,\frac{\partial S}{\partial z_j} = \frac{b_j e^{z_j}}{\sum_i b_i e^{z_i}} ,

which is the softmax :math:`p_j` without ``b``. The components sum to 1 whatever the signs:
:math:`\mathrm{LSE}_b(z + c\mathbf{1}) = \mathrm{LSE}_b(z) + c`. The sign is piecewise constant: its derivative
is 0 wherever :math:`S \ne 0` (the oracle takes it so), and at :math:`S = 0` the value is :math:`-\infty` and
neither has a derivative. Over a batch each row's value depends on that row only, so
:func:`refloss.logsumexp_grad` is also the gradient of the sum of the rows' values.

**Stable evaluation.** Factor out the largest term in magnitude, :math:`k = \arg\max_j (z_j + \log|b_j|)` over
the classes with :math:`b_j \ne 0` and :math:`z_j > -\infty`:

.. math:: \mathrm{LSE}_b(z) = z_k + \log|b_k| + \log\Big|1 + \sum_{j \ne k} \frac{b_j}{b_k}\, e^{z_j - z_k}\Big| .

The identity holds for every :math:`k` with :math:`b_k \ne 0`; choosing the largest term makes every
:math:`|(b_j/b_k) e^{z_j - z_k}| \le 1`, so nothing overflows (:math:`\mathrm{LSE}(1000, 1000) = 1000 + \log 2`,
where :math:`e^{1000}` would be ``inf``), and with positive :math:`b` the sum :math:`r` of the other terms lies in
:math:`[0, C-1]` and enters through :math:`\mathrm{log1p}(r)`, which keeps its accuracy when :math:`r` is tiny
(Blanchard, Higham & Higham 2021, Algorithm 2; ``scipy.special.logsumexp`` evaluates it so). Terms of
opposite signs cancel in :math:`1 + r`: that is the problem's own condition (its scale
:math:`\sum_j |b_j| e^{z_j} / |S|` grows as :math:`S` cancels), not a loss the evaluation adds. The gradient
is :math:`g_j = (b_j / b_k)\, e^{z_j - z_k} / (1 + r)`.

**Edge cases.** A masked class adds :math:`e^{-\infty} = 0` to the sum and gets gradient 0, as does a class
with :math:`b_j = 0`. A row with no term left (every class masked, every :math:`b_j = 0`, or no class at all)
has the empty sum :math:`S = 0`: :math:`\mathrm{LSE} = -\infty` and sign 0; the value is then the constant
:math:`-\infty` and its gradient 0, as a masked log-probability's. Terms that cancel to :math:`S = 0` exactly give
:math:`-\infty` too, where no derivative exists. A logit of :math:`+\infty` with :math:`b_j \ne 0` makes
:math:`S = \pm\infty` and the value :math:`+\infty` (SciPy's answer; :math:`+\infty` terms of both signs have no
sum), with no gradient; the oracle takes no infinite input, so ``tests/test_options.py`` checks these by hand.

**Checked** (``_prove_logsumexp``): :math:`\partial\,\mathrm{LSE}_b/\partial z_j = b_j e^{z_j} / S` for every
:math:`j`, symbolically for :math:`C = 3` with :math:`b = 1`, with positive :math:`b`, and with :math:`b` of
either sign (numerically, at random rational points); the shifted form for every :math:`k`; value, sign and
gradient against the oracle at every stress point, cancellation between positive and negative terms
included.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols
from ._common import C


def _scaled(row) -> bool:
    """The row has scale factors ``b`` (a concrete row given them, or the generic row of the formula)."""
    try:
        row.b
    except AttributeError:
        return False
    return True


def signed_sum(row):
    """S = sum_j b_j e^{z_j} (b_j = 1 for a row without scale factors)."""
    if not _scaled(row):
        return row.sum(lambda j: sp.exp(row.z(j)))
    return row.sum(lambda j: row.b(j) * sp.exp(row.z(j)))


def lse(row):
    """log |sum_j b_j e^{z_j}|, the definition (no shift); log sum_j e^{z_j} without ``b``; -oo for an empty sum."""
    total = signed_sum(row)
    if total == 0:
        return -sp.oo
    return row.lse() if not _scaled(row) else sp.log(sp.Abs(total))


def lse_sign(row):
    """sign(sum_j b_j e^{z_j}): the second output of ``return_sign=True``."""
    return sp.sign(signed_sum(row))


def lse_gradient(row, j):
    """The closed form of refloss.logsumexp_grad: b_j e^{z_j} / sum_i b_i e^{z_i} (the softmax without ``b``)."""
    if not _scaled(row):
        return row.p(j)
    return row.b(j) * sp.exp(row.z(j)) / signed_sum(row)


def shifted_lse(z, k):
    """The evaluation formula without b: m + log(1 + sum_{j != k} e^{z_j - m}) with m = z_k."""
    m = z[k]
    return m + sp.log(1 + sum(sp.exp(v - m) for j, v in enumerate(z) if j != k))


def scaled_shifted_lse(z, b, k):
    """The evaluation formula with b: z_k + log|b_k| + log|1 + sum_{j != k} (b_j / b_k) e^{z_j - z_k}|."""
    rest = sum(b[j] / b[k] * sp.exp(v - z[k]) for j, v in enumerate(z) if j != k)
    return z[k] + sp.log(sp.Abs(b[k])) + sp.log(sp.Abs(1 + rest))


def _prove_logsumexp():
    z = logit_symbols(C)
    prove_row_gradient(lse, lse_gradient, "logsumexp", targets=False)
    prove_row_gradient(lse, lse_gradient, "logsumexp, positive b", targets=False, per_class=("b",))
    signed = list(sp.symbols(f"b0:{C}", real=True))
    row = Row(z, b=signed)
    for j in range(C):
        # d log|S| = dS / S for either sign of S: decided numerically (sign(S) / |S| = 1 / S is beyond simplify)
        assert_identity(sp.diff(lse(row), z[j]), lse_gradient(row, j), f"logsumexp, signed b: d LSE / d z_{j}",
                        logits=z)
    for k in range(C):
        assert_identity(shifted_lse(z, k), lse(Row(z)), f"LSE = z_{k} + log(1 + sum_(j!={k}) e^(z_j - z_{k}))",
                        logits=z)
        assert_identity(scaled_shifted_lse(z, signed, k), lse(row),
                        f"LSE_b = z_{k} + log|b_{k}| + log|1 + sum_(j!={k}) (b_j / b_{k}) e^(z_j - z_{k})|", logits=z)


def _lse_values(case):
    z = case["logits"]
    b = None if case.get("b") is None else np.broadcast_to(case["b"], z.shape)
    values = np.empty(z.shape[:-1], dtype=object)
    signs = np.empty(z.shape[:-1], dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        row = Row(z[index]) if b is None else Row(z[index], b=list(b[index]))
        values[index], signs[index] = lse(row), lse_sign(row)
    # return_sign=True returns (value, sign), which the checks read as one array stacked along a new first axis
    return np.stack([values, signs]) if case.get("return_sign") else values


define(
    "logsumexp",
    # SciPy's defaults (scipy.special.logsumexp), which the signature must repeat
    defaults={"b": None, "return_sign": False},
    build=_lse_values,
    formula=lambda: ell(sp.log(sp.Abs(signed_sum(GenericRow("b", y=False)))), r"\mathrm{LSE}_b(z)"),
    gradient_formula=lambda: partial(lse_gradient(GenericRow("b", y=False), sp.Symbol("j")), of=r"\mathrm{LSE}_b"),
    prove=_prove_logsumexp,
)
