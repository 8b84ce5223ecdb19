r"""Softmax primitives, log-sum-exp and log-softmax: definitions and machine-checked derivations.

Run the proofs with ``python -m refloss.proofs prove logsumexp log_softmax``.

Notation: logits :math:`z \in \mathbb{R}^C` (the class axis is the last axis),
:math:`p = \mathrm{softmax}(z)` with :math:`p_j = e^{z_j} / \sum_i e^{z_i}`, and
:math:`m = z_k = \max_j z_j` for some maximal index :math:`k`. A masked class has :math:`z_j = -\infty`, so
:math:`e^{z_j} = 0` and :math:`p_j = 0`.

**How this module is checked.** The row functions of this module are the definitions, written once: the
same code gives the registered LaTeX, the expressions of the symbolic proofs (the ``_prove_*`` functions)
and the oracle. Numerically, refloss's float64 value and every gradient (Jacobian) component are checked
generically, not here: against the oracle of the definition (mpmath at the precision the definition needs,
SymPy's derivative of it, the condition scale of each element) at the entry's stress points and on drawn
inputs, under the one tolerance policy of :mod:`refloss.tolerance` (``refloss audit``). The stress points of
both objects are ``refloss._cases.softmax_stress``: logit gaps of 15 to 80, near-ties and exact ties,
``-inf`` masks, one dominant class, one class.

.. rubric:: logsumexp

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

.. rubric:: log_softmax

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

from ._definitions import define, ell, partial
from ._tactics import assert_identity, prove_row_gradient
from ._views import GenericRow, Row, logit_symbols

C = 3  # the symbolic proofs are for C = 3 classes; nothing in them depends on the value of C


def lse(row):
    """log sum_j e^{z_j}, the definition (no shift)."""
    return row.lse()


def lse_gradient(row, j):
    """The closed form of refloss.logsumexp_grad: softmax."""
    return row.p(j)


def log_softmax(row, i):
    """log p_i = z_i - LSE(z)."""
    return row.z(i) - row.lse() if row.z(i) != -sp.oo else -sp.oo


def log_softmax_jacobian(row, i, j):
    """The closed form of refloss.log_softmax_grad: d log p_i / d z_j = delta_ij - p_j."""
    return row.delta(i, j) - row.p(j)


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
