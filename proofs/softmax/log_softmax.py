r"""``log_softmax``: the definition and its machine-checked derivation.

**Definition.** :math:`\log p_i = \log \mathrm{softmax}(z)_i = z_i - \mathrm{LSE}(z)`.

**Jacobian.** Differentiating :math:`z_i - \mathrm{LSE}(z)` with the gradient above,

.. math:: J_{ij} = \frac{\partial \log p_i}{\partial z_j} = \delta_{ij} - p_j .

:func:`refloss.log_softmax_grad` returns it with the output index :math:`i` second to last and the input
index :math:`j` last. Each row sums to :math:`1 - 1 = 0`: :math:`\log p` is invariant under
:math:`z \mapsto z + c\mathbf{1}`.

**Stable evaluation.** With :math:`s` as above,

.. math:: \log p_i = (z_i - m) - \mathrm{log1p}(s).

Both terms are :math:`\le 0`, so their sum never cancels and every entry is accurate to a few ulps
relative. This matters for the *largest* entry, :math:`\log p_k = -\mathrm{log1p}(s)`, which is close to 0
for a confident prediction: for :math:`z = (100, 0)` it is :math:`-\mathrm{log1p}(e^{-100}) =
-3.72\cdot 10^{-44}`, while :math:`(z_i - m) - \log(1 + s)` rounds :math:`1 + s` to 1 and returns exactly 0
(so does ``scipy.special.log_softmax``).

**Evaluation of the Jacobian.** The off-diagonal entries are :math:`-p_j = -\exp(\log p_j)`. The diagonal
:math:`1 - p_i` is evaluated as :math:`-\mathrm{expm1}(\log p_i)`, never as a subtraction: at
:math:`z = (40, 0)`, :math:`1 - p_0 = e^{-40}/(1 + e^{-40}) \approx 4.25\cdot 10^{-18}`, which ``1 - p_0``
returns as 0 because :math:`p_0` rounds to 1, while :math:`\log p_0 = -\mathrm{log1p}(e^{-40})` holds it to
full relative accuracy and ``expm1`` carries it over. The tolerance policy tells the two apart: the
condition scale of that entry is :math:`40 \cdot 4.25\cdot 10^{-18} \approx 1.7\cdot 10^{-16}`, not 1, so
an answer of 0 is off by more than :math:`10^{13}` of its ulps.

**Edge cases.** A masked class has :math:`\log p_i = -\infty`, a constant, so its row of the Jacobian is 0 (a
convention: the derivative of a constant). A masked input has :math:`p_j = 0`, so its column
:math:`-p_j` vanishes too.

**Checked** (``_prove_log_softmax``): all :math:`C^2` entries
:math:`\partial \log p_i / \partial z_j = \delta_{ij} - p_j` and the shifted form of every :math:`\log p_i`,
symbolically for :math:`C = 3`; values and the full Jacobian against the oracle as above (masked rows:
``-inf`` values, zero Jacobian rows and columns).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import GenericRow, Row, logit_symbols
from ._common import C
from .logsumexp import shifted_lse


def log_softmax(row, i):
    """log p_i = z_i - LSE(z)."""
    return row.z(i) - row.lse() if row.z(i) != -sp.oo else -sp.oo


def log_softmax_jacobian(row, i, j):
    """The closed form of refloss.log_softmax_grad: d log p_i / d z_j = delta_ij - p_j."""
    return row.delta(i, j) - row.p(j)


def _prove_log_softmax():
    z = logit_symbols(C)
    row = Row(z)
    for i in range(C):
        for j in range(C):
            assert_identity(sp.diff(log_softmax(row, i), z[j]), log_softmax_jacobian(row, i, j),
                            f"d log p_{i} / d z_{j} = delta - p_{j}", logits=z)
        assert_identity((z[i] - z[0]) - (shifted_lse(z, 0) - z[0]), sp.log(row.p(i)), f"log p_{i}, shifted form",
                        logits=z)


def _log_softmax_values(case):
    z = case["logits"]
    out = np.empty(z.shape, dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        row = Row(z[index])
        for i in range(z.shape[-1]):
            out[index + (i,)] = log_softmax(row, i)
    return out


define(
    "log_softmax",
    # the paper's defaults, which the signature must repeat: no parameters
    defaults={},
    build=_log_softmax_values,
    formula=lambda: ell(log_softmax(GenericRow(y=False), sp.Symbol("i")), r"\log p_i"),
    gradient_formula=lambda: partial(log_softmax_jacobian(GenericRow(y=False), sp.Symbol("i"), sp.Symbol("j")),
                                     of=r"\log p_i"),
    prove=_prove_log_softmax,
)
