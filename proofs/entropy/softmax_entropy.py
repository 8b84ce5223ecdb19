r"""``softmax_entropy``: the definition and its machine-checked derivation.

**Definition** (Shannon 1948). :math:`H(z) = -\sum_j p_j \log p_j`, :math:`p = \mathrm{softmax}(z)`.

**Gradient.** :math:`\frac{\partial}{\partial p_i}(-p_i \log p_i) = -(1 + \log p_i)`, so

.. math:: \frac{\partial H}{\partial z_j}
          = -\sum_i (1 + \log p_i)\, p_i\,(\delta_{ij} - p_j)
          = -p_j\,(1 + \log p_j) + p_j \sum_i p_i\,(1 + \log p_i)
          = -p_j\,(1 + \log p_j) + p_j\,(1 - H)
          = -p_j\,(\log p_j + H).

The entries sum to :math:`-\sum_j p_j \log p_j - H = 0` (shift invariance). At equal logits
:math:`\log p_j = -\log C = -H`, so the gradient vanishes: the uniform distribution is the maximum,
:math:`H = \log C`.

**The form refloss evaluates.** Substituting :math:`\log p_j = z_j - \mathrm{LSE}(z)` and
:math:`H = \mathrm{LSE}(z) - \sum_c p_c z_c`, the log-sum-exps cancel exactly:

.. math:: \frac{\partial H}{\partial z_j} = -p_j\,\Big(z_j - \sum_c p_c z_c\Big)
          = -p_j\,\Big(z'_j - \sum_c p_c z'_c\Big), \qquad z' = z - \max_c z_c ,

the second form because :math:`\sum_c p_c = 1` (a masked class gets :math:`z'_j = 0`; its :math:`p_j = 0`).
:math:`-p_j(\log p_j + H)` cancels when :math:`p` is nearly uniform: :math:`\log p_j \approx -H`, both of size
:math:`\log C`, so the difference carries an absolute error of an ulp of :math:`\log C` however small it
is (at :math:`z = (10^{-9}, 0, 0)` the gradient is of size :math:`10^{-10}` and about 9 of its digits
would be lost). The logit form only subtracts numbers of the size of the logits' distances from their
maximum, so its error is of the order of the rounding of the inputs themselves, which the condition scale
of the tolerance policy allows.

**Why the value is** :math:`-\sum_j p_j \log p_j` **and not** :math:`\mathrm{LSE}(z) - \sum_j p_j z_j`. The two
are equal, but for a peaked distribution the second subtracts two numbers close to :math:`\max_j z_j` to
get a tiny :math:`H`. At :math:`z = (30, 0)`, :math:`H = e^{-30}(31 + \dots) \approx 2.9\cdot 10^{-12}` while both
terms are about 30, whose ulp is :math:`3.6\cdot 10^{-15}`: about 3 of the 16 digits survive. The first
form adds non-negative terms :math:`-p_j \log p_j` with :math:`\log p_j` from the log1p-based log-softmax, so
it is accurate to a few ulps relative however peaked :math:`p` is.

**Edge cases.** :math:`\lim_{p \to 0^+} p \log p = 0`, so a masked class (:math:`p_j = 0`) contributes 0
(:math:`0 \log 0 = 0`), and its gradient entry :math:`-p_j(\log p_j + H) \to 0` too. A row with one unmasked
class has :math:`H = 0`.

**Checked** (``_prove_entropy``): for :math:`C = 3`, :math:`\partial H/\partial z_j = -p_j(z_j - \sum_c p_c z_c)`
(the closed form refloss implements) is the definition's derivative and equals the textbook
:math:`-p_j(\log p_j + H)`; the identity :math:`H = \mathrm{LSE} - \sum_j p_j z_j`; :math:`H = \log C` at equal
logits; the limits of :math:`p\log p` and :math:`-p(\log p + H)` as :math:`p \to 0^+`. Stress points:
``refloss._cases.softmax_stress`` without targets (logit gaps of 15 to 80, near-ties and exact ties,
``-inf`` masks, a dominant class, one class).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols, reduce
from ._common import C, _rows_of


def entropy(row):
    """H = -sum_j p_j log p_j (masked classes: 0 log 0 = 0)."""
    return -row.sum(lambda j: row.p(j) * row.log_p(j))


def entropy_gradient(row, j):
    """The closed form of refloss.softmax_entropy_grad: -p_j (log p_j + H) = -p_j (z_j - sum_c p_c z_c)."""
    return -row.p(j) * (row.z(j) - row.sum(lambda c: row.p(c) * row.z(c)))


def _prove_entropy():
    z = logit_symbols(C)
    row = Row(z)
    prove_row_gradient(entropy, entropy_gradient, "softmax_entropy", targets=False)
    for j in range(C):  # the textbook form of the gradient, and the one without log p + H
        assert_identity(-row.p(j) * (row.log_p(j) + entropy(row)), entropy_gradient(row, j),
                        f"-p_{j} (log p_{j} + H) = -p_{j} (z_{j} - sum p z)", logits=z)
    assert_identity(row.lse() - sum(row.p(j) * z[j] for j in range(C)), entropy(row), "H = LSE - sum p z", logits=z)
    c = sp.Symbol("c", real=True)
    assert_identity(entropy(Row([c] * C)), sp.log(C), "equal logits: H = log C")
    t, h = sp.Symbol("p", positive=True), sp.Symbol("H", real=True)
    check_limit(t * sp.log(t), t, 0, 0, "p log p as p -> 0+")
    check_limit(-t * (sp.log(t) + h), t, 0, 0, "-p (log p + H) as p -> 0+")


def _entropy_build(case):
    z = case["logits"]
    unit = 1 if case["base"] is None else sp.log(case["base"])  # nats, or the base's unit
    losses = np.empty(z.shape[:-1], dtype=object)
    for index, row in _rows_of(z):
        losses[index] = entropy(row) / unit
    return reduce(losses, case["reduction"])


define(
    "softmax_entropy",
    # the paper's defaults, which the signature must repeat: nats (base None), refloss's reduction convention
    defaults={"base": None, "reduction": "mean"},
    build=_entropy_build,
    formula=lambda: ell(entropy(GenericRow(y=False)), "H"),
    gradient_formula=lambda: partial(entropy_gradient(GenericRow(y=False), sp.Symbol("j")), of="H"),
    prove=_prove_entropy,
)
