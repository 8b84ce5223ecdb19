r"""``softmax``: the definition and its machine-checked derivation.

**Definition.** :math:`p_i = \mathrm{softmax}(z)_i = e^{z_i} / \sum_c e^{z_c}`.

**Jacobian.** By the quotient rule, with :math:`S = \sum_c e^{z_c}` and :math:`\partial S / \partial z_j = e^{z_j}`,

.. math:: J_{ij} = \frac{\partial p_i}{\partial z_j}
          = \frac{\delta_{ij}\, e^{z_i}}{S} - \frac{e^{z_i} e^{z_j}}{S^2}
          = p_i (\delta_{ij} - p_j),

which is also :math:`p_i` times the Jacobian :math:`\delta_{ij} - p_j` of :math:`\log p_i` (the chain rule
through :math:`p_i = e^{\log p_i}`). :func:`refloss.softmax_grad` returns it with the output index :math:`i`
second to last and the input index :math:`j` last. It is symmetric, and each row sums to
:math:`p_i (1 - \sum_j p_j) = 0`: :math:`p` is invariant under :math:`z \mapsto z + c\mathbf{1}`.

**Stable evaluation.** The shifted softmax (Blanchard, Higham & Higham 2021, Section 4): with
:math:`m = z_k = \max_j z_j`,

.. math:: p_i = \frac{e^{z_i - m}}{1 + s}, \qquad s = \sum_{j \ne k} e^{z_j - m} \in [0, C - 1],

every exponent :math:`\le 0`, so nothing overflows for any finite logits, and a tiny probability is accurate
relative to itself: the roundings of :math:`z_i - m` (within :math:`p_i`'s condition scale
:math:`p_i (|z_i| (1 - p_i) + \sum_{j \ne i} |z_j| p_j)`), of ``exp``, of the sum of positive terms and of the
division. :math:`\exp(\log p_i)` from the log-softmax would add the rounding of :math:`\log(1 + s) \approx \log C`
to every entry (measured: 7 ulps at :math:`10^5` near-uniform classes, against 1 for the quotient), and the
division-free :math:`\exp(z_i - \mathrm{LSE}(z))` the rounding of the log-sum-exp, :math:`|\mathrm{LSE}(z)|` ulps of
the exponent (their Theorem 4.4).

**Evaluation of the Jacobian.** The off-diagonal entries are :math:`-p_i p_j`, a product of two accurate
probabilities, exact to a few ulps relative even where both are tiny. The diagonal :math:`p_i (1 - p_i)` takes
:math:`1 - p_i` as :math:`-\mathrm{expm1}(\log p_i)`, never as a subtraction: at :math:`z = (40, 0)`,
:math:`J_{00} = p_0 p_1 \approx 4.25\cdot 10^{-18}`, which ``p_0 * (1 - p_0)`` returns as 0 because :math:`p_0`
rounds to 1, while :math:`\log p_0 = -\mathrm{log1p}(e^{-40})` holds :math:`1 - p_0` to full relative accuracy
and ``expm1`` carries it over. The tolerance policy tells the two apart: the condition scale of that entry is
about :math:`40 \cdot 4.25\cdot 10^{-18}`, not 1.

**Edge cases.** A masked class (:math:`z_i = -\infty`) has :math:`p_i = 0`, a constant, so its row of the
Jacobian is 0; a masked input has :math:`p_j = 0`, so its column :math:`p_i (\delta_{ij} - p_j)` vanishes too
(:math:`i \ne j`; the diagonal entry is in the masked row). A row of one class has :math:`p = 1` and
Jacobian 0.

**Checked** (``_prove_softmax``): all :math:`C^2` entries
:math:`\partial p_i / \partial z_j = p_i (\delta_{ij} - p_j)`, the shifted quotient of every entry for every
:math:`k`, and the Jacobian in the form
:math:`e^{\log p_i} (\delta_{ij} - e^{\log p_j})`, symbolically for :math:`C = 3`; values and the full Jacobian
against the oracle as above (masked rows: zero values, zero Jacobian rows and columns).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import GenericRow, Row, logit_symbols
from ._common import C


def softmax(row, i):
    """p_i = e^{z_i} / sum_c e^{z_c} (a masked class, z_i = -oo, gives e^{-oo} = 0)."""
    return sp.exp(row.z(i)) / row.sum(lambda c: sp.exp(row.z(c)))


def softmax_jacobian(row, i, j):
    """The closed form of refloss.softmax_grad: d p_i / d z_j = p_i (delta_ij - p_j)."""
    return row.p(i) * (row.delta(i, j) - row.p(j))


def _prove_softmax():
    z = logit_symbols(C)
    row = Row(z)
    for i in range(C):
        assert_identity(softmax(row, i), row.p(i), f"p_{i} is the view's softmax", logits=z)
        # the evaluation form, shifted by z_k for every k (k = argmax makes it stable)
        for k in range(C):
            assert_identity(sp.exp(z[i] - z[k]) / (1 + sum(sp.exp(z[j] - z[k]) for j in range(C) if j != k)),
                            softmax(row, i), f"p_{i} = e^(z_{i} - z_{k}) / (1 + sum_(j!={k}) e^(z_j - z_{k}))",
                            logits=z)
        for j in range(C):
            assert_identity(sp.diff(softmax(row, i), z[j]), softmax_jacobian(row, i, j),
                            f"d p_{i} / d z_{j} = p_{i} (delta - p_{j})", logits=z)
            assert_identity(sp.exp(row.log_p(i)) * (row.delta(i, j) - sp.exp(row.log_p(j))),
                            softmax_jacobian(row, i, j),
                            f"J_{i}{j} from log p_{i}, log p_{j}", logits=z)


def _softmax_values(case):
    z = case["logits"]
    out = np.empty(z.shape, dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        row = Row(z[index])
        for i in range(z.shape[-1]):
            out[index + (i,)] = softmax(row, i)
    return out


define(
    "softmax",
    # the paper's defaults, which the signature must repeat: no parameters
    defaults={},
    build=_softmax_values,
    formula=lambda: ell(softmax(GenericRow(y=False), sp.Symbol("i")), "p_i"),
    gradient_formula=lambda: partial(softmax_jacobian(GenericRow(y=False), sp.Symbol("i"), sp.Symbol("j")),
                                     of="p_i"),
    prove=_prove_softmax,
)
