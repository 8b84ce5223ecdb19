r"""``soft_target_cross_entropy``: the definition and its machine-checked derivation.

**Definition.** For logits :math:`z` and a real target row :math:`a` of the same length,

.. math:: \ell = -\sum_c a_c \log p_c, \qquad p = \mathrm{softmax}(z),

with no condition on :math:`a`: its entries may be negative and need not sum to 1. Self-distillation (Das &
Sanghavi, arXiv:2301.13304, abstract) trains the student on
:math:`\xi\,\ell(q, \cdot) + (1 - \xi)\,\ell(e_y, \cdot)`, the teacher's probabilities :math:`q` and the given
label :math:`y` mixed by :math:`\xi`, which may exceed 1; the cross-entropy is linear in its target, so that
objective is :math:`\ell` at :math:`a = \xi q + (1 - \xi) e_y`, a row that sums to 1 and whose label entry
:math:`1 - \xi(1 - q_y)` is negative once :math:`\xi > 1/(1 - q_y)`. (The mixing, and :math:`\xi > 1`, are the
abstract's; writing it as one target is our reading for the cross-entropy, not an equation of the paper.)
Masked classes: :math:`0 \log 0 = 0` where :math:`a_c = 0`, :math:`-a_c \log 0 = \pm\infty` otherwise.
``"mean"`` divides by the number of rows.

**Gradient.** :math:`a` does not depend on :math:`z`, and :math:`\partial \log p_c / \partial z_j =
\delta_{cj} - p_j`, so

.. math:: \frac{\partial \ell}{\partial z_j} = -\sum_c a_c\,(\delta_{cj} - p_j) = S\,p_j - a_j,
          \qquad S = \sum_c a_c ,

which is :math:`p - a` on the simplex (:math:`S = 1`), and :math:`-a` where the targets sum to 0.

**Evaluation.** Splitting :math:`a_j` off the sum,

.. math:: S\,p_j - a_j = p_j \sum_{c \ne j} a_c + a_j\,(p_j - 1)
          = p_j \sum_{c \ne j} a_c + a_j\,\mathrm{expm1}(\log p_j),

two terms that each keep their digits: :math:`p_j - 1` is never formed by a subtraction, and the leave-one-out
sums come from prefix and suffix sums, so the terms cancel only as much as the targets do (the condition scale
over the targets covers that). This is :func:`refloss.cross_entropy`'s form for probability targets, whose
derivation is ``proofs/classification/cross_entropy.py``; the value is a sum of :math:`-a_c \log p_c` from the
accurate log-softmax, summed again from scaled terms in a row whose log-probabilities pass the float64 range.

**Checked** (``_prove``): for :math:`C = 3` and real symbolic targets of any sign (no :math:`\sum_c a_c = 1`),
SymPy's derivative equals :math:`S p_j - a_j` and its leave-one-out form; for each label :math:`y` and symbolic
:math:`\xi`, :math:`\ell(\xi q + (1 - \xi) e_y) = \xi\,\ell(q) + (1 - \xi)(\mathrm{LSE}(z) - z_y)`; and
:math:`\ell = \mathrm{LSE}(z) S - \sum_c a_c z_c`. The oracle judges the value and every gradient component at the
stress points: logit gaps of 15 to 80 with near one-hot, soft and off-mode targets, self-distillation targets at
:math:`\xi` = 0.5, 1, 1.5, 3 (negative label entries) on gaps, ties and logits near 0, real targets not summing to
1 and summing to 0, negative targets on a dominant class, masks with targets 0 there, a masked class with a
positive (``+inf``) and with a negative target (``-inf``), one class, the reductions.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import GenericRow, Row, logit_symbols, reduce
from ._common import C


def soft_target_cross_entropy(row):
    """-sum_c a_c log p_c; a class of target 0 contributes 0 whatever its logit (0 log 0 = 0)."""
    return -row.sum(lambda c: row.a(c) * row.log_p(c))


def soft_target_cross_entropy_gradient(row, j):
    """d ell / d z_j = S p_j - a_j, S = sum_c a_c: the closed form of refloss.soft_target_cross_entropy_grad."""
    return row.p(j) * row.sum(lambda c: row.a(c)) - row.a(j)


def _prove():
    z = logit_symbols(C)
    a = list(sp.symbols(f"a0:{C}", real=True))  # of any sign, not normalised
    row = Row(z, None, a=a)
    value = soft_target_cross_entropy(row)
    for j in range(C):
        closed = soft_target_cross_entropy_gradient(row, j)
        assert_identity(sp.diff(value, z[j]), closed, f"d ell / d z_{j} = S p_{j} - a_{j}", logits=z)
        leave_one_out = row.p(j) * sum(a[c] for c in range(C) if c != j) + a[j] * (row.p(j) - 1)
        assert_identity(leave_one_out, closed, f"leave-one-out form of d ell / d z_{j}", logits=z)
    assert_identity(value, row.lse() * sum(a) - sum(a[c] * z[c] for c in range(C)),
                    "ell = LSE(z) sum_c a_c - sum_c a_c z_c", logits=z)
    # self-distillation: the mixed objective is the cross-entropy of the mixed target, for any xi (xi > 1 too)
    xi = sp.Symbol("xi", real=True)
    q = list(sp.symbols(f"q0:{C}", positive=True))
    for y in range(C):
        mixed = [xi * q[c] + (1 - xi) * (1 if c == y else 0) for c in range(C)]
        assert_identity(soft_target_cross_entropy(Row(z, None, a=mixed)),
                        xi * soft_target_cross_entropy(Row(z, None, a=q)) + (1 - xi) * (Row(z).lse() - z[y]),
                        f"label {y}: l(xi q + (1 - xi) e_y) = xi l(q) + (1 - xi)(LSE - z_y)", logits=z,
                        domains={xi: (0, 4)})


def _build(case):
    z, t = case["logits"], case["target"]
    losses = np.empty(z.shape[:-1], dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        losses[index] = soft_target_cross_entropy(Row(z[index], None, a=list(t[index])))
    return reduce(losses, case["reduction"])  # "mean": over the rows


define(
    "soft_target_cross_entropy",
    # refloss's reduction convention (the paper states none)
    defaults={"reduction": "mean"},
    build=_build,
    formula=lambda: ell(soft_target_cross_entropy(GenericRow("a", y=False))),
    gradient_formula=lambda: partial(soft_target_cross_entropy_gradient(GenericRow("a", y=False), sp.Symbol("j"))),
    prove=_prove,
)
