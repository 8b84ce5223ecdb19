r"""``logsumexp``: the definition and its machine-checked derivation.

**Definition.** :math:`\mathrm{LSE}(z) = \log \sum_j e^{z_j}`.

**Gradient.** By the chain rule,

.. math:: \frac{\partial\,\mathrm{LSE}}{\partial z_j}
          = \frac{1}{\sum_i e^{z_i}}\,\frac{\partial}{\partial z_j}\sum_i e^{z_i}
          = \frac{e^{z_j}}{\sum_i e^{z_i}} = p_j .

Over a batch each row's LSE depends on that row only, so :func:`refloss.logsumexp_grad` (the softmax) is
also the gradient of the sum of the rows' values. The gradient sums to 1:
:math:`\mathrm{LSE}(z + c\mathbf{1}) = \mathrm{LSE}(z) + c`.

**Stable evaluation.** Factor out :math:`e^m`:

.. math:: \mathrm{LSE}(z) = m + \log\Big(1 + \sum_{j \ne k} e^{z_j - m}\Big).

The identity holds for every :math:`k`; choosing the maximum is what makes it safe. Every exponent is then
:math:`\le 0`, so nothing overflows (:math:`\mathrm{LSE}(1000, 1000) = 1000 + \log 2`, where :math:`e^{1000}`
would be ``inf``), and the sum :math:`s = \sum_{j\ne k} e^{z_j - m} \in [0, C-1]` enters through
:math:`\mathrm{log1p}(s)`, which keeps its accuracy when :math:`s` is tiny (Blanchard, Higham & Higham 2021,
Algorithm 2; ``scipy.special.logsumexp`` evaluates it so). The gradient is taken as
:math:`p_j = \exp(\log p_j)` from the log-softmax below, so tiny probabilities keep their relative accuracy
instead of underflowing through a quotient.

**Edge cases.** A masked class adds :math:`e^{-\infty} = 0` to the sum and gets gradient :math:`p_j = 0`. A
row with every class masked has :math:`\mathrm{LSE} = -\infty` and no softmax; refloss rejects it.

**Checked** (``_prove_logsumexp``): :math:`\partial\,\mathrm{LSE}/\partial z_j = p_j` for every :math:`j`,
and the shifted form for every :math:`k`, symbolically for :math:`C = 3`; value and gradient against the
oracle as above.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols
from ._common import C


def lse(row):
    """log sum_j e^{z_j}, the definition (no shift)."""
    return row.lse()


def lse_gradient(row, j):
    """The closed form of refloss.logsumexp_grad: softmax."""
    return row.p(j)


def shifted_lse(z, k):
    """The evaluation formula m + log(1 + sum_{j != k} e^{z_j - m}) with m = z_k."""
    m = z[k]
    return m + sp.log(1 + sum(sp.exp(v - m) for j, v in enumerate(z) if j != k))


def _prove_logsumexp():
    z = logit_symbols(C)
    prove_row_gradient(lse, lse_gradient, "logsumexp", targets=False)
    # The shifted form is an identity for every k; taking z_k = max z is what makes it stable.
    for k in range(C):
        assert_identity(shifted_lse(z, k), lse(Row(z)), f"LSE = z_{k} + log(1 + sum_(j!={k}) e^(z_j - z_{k}))",
                        logits=z)


def _lse_values(case):
    z = case["logits"]
    out = np.empty(z.shape[:-1], dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        out[index] = lse(Row(z[index]))
    return out


define(
    "logsumexp",
    # the paper's defaults, which the signature must repeat: no parameters
    defaults={},
    build=_lse_values,
    formula=lambda: ell(lse(GenericRow(y=False)), r"\mathrm{LSE}(z)"),
    gradient_formula=lambda: partial(lse_gradient(GenericRow(y=False), sp.Symbol("j")), of=r"\mathrm{LSE}"),
    prove=_prove_logsumexp,
)
