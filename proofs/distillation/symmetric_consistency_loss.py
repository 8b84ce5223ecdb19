r"""``symmetric_consistency_loss``: the definition and its machine-checked derivation.

**Definition** (Döbler, Marsden & Yang, Robust Mean Teacher, arXiv:2211.13081, CVPR 2023). With the student's
:math:`p = \mathrm{softmax}(s)` and the mean (EMA) teacher's :math:`q = \mathrm{softmax}(t)`, per row

.. math:: \ell = -\tfrac12 \sum_c q_c \log p_c - \tfrac12 \sum_c p_c \log q_c ,

the mean of the two cross-entropies. **Convention:** this form and its weights of 1/2 are the authors' code
(``softmax_entropy(x, x_ema)`` in ``classification/methods/rmt.py`` of github.com/mariodoebler/test-time-adaptation,
which averages it over the batch and, in the full method, over the test image and an augmented view); the
paper's abstract states only that the symmetric cross-entropy serves as the mean teacher's consistency loss for
its gradient properties. Its equation was not read: its number and any other weighting are not confirmed.
``"mean"`` divides by the number of rows. A class masked in both rows contributes 0 (:math:`0 \log 0 = 0`); one
masked in a single row makes :math:`\ell = +\infty` (:math:`-q_c \log 0` with :math:`q_c > 0`, or the reverse).

Since :math:`-\sum_c q_c \log p_c = H(q) + \mathrm{KL}(q \,\|\, p)`,

.. math:: \ell = \tfrac12\big(H(p) + H(q) + \mathrm{KL}(p \,\|\, q) + \mathrm{KL}(q \,\|\, p)\big),

symmetric in :math:`(s, t)`.

**Gradients.** With :math:`\partial \log p_c/\partial s_j = \delta_{cj} - p_j` and
:math:`\partial p_c/\partial s_j = p_c(\delta_{cj} - p_j)`,

.. math:: \frac{\partial}{\partial s_j}\Big(-\tfrac12\sum_c q_c \log p_c\Big) = \tfrac12 (p_j - q_j),
          \qquad
          \frac{\partial}{\partial s_j}\Big(-\tfrac12\sum_c p_c \log q_c\Big)
          = -\tfrac12\,p_j\Big(\log q_j - \sum_c p_c \log q_c\Big),

so :math:`\partial\ell/\partial s_j = \frac12[(p_j - q_j) - p_j(\log q_j - \sum_c p_c \log q_c)]`, and by the
symmetry :math:`\partial\ell/\partial t_j = \frac12[(q_j - p_j) - q_j(\log p_j - \sum_c q_c \log p_c)]`.

**Evaluation.** The value is two sums of non-negative terms from accurate log-softmaxes (the cross-entropy's
float64 form, ``proofs/classification/cross_entropy.py``), with the halves in the coefficients. In the gradient,
:math:`\log q_j - \sum_c p_c \log q_c = \sum_c p_c(\log q_j - \log q_c)`, in which the log-sum-exp of :math:`t`
cancels:

.. math:: \log q_j - \sum_c p_c \log q_c = (t_j - t_k) - \sum_c p_c\,(t_c - t_k)

for any class :math:`k`; refloss takes :math:`k` most probable under :math:`p`, so that the component at
:math:`k` is the small sum :math:`-\sum_{c \ne k} p_c (t_c - t_k)` of a peaked :math:`p` and not the difference
of two rounded logarithms near :math:`\log q_k`, and forms the differences of the halves of the logits, which stay
in the float64 range for logits up to :math:`1.7\cdot 10^{308}`. :math:`p_j - q_j` is
:func:`refloss.kl_divergence_logits`' form of it (``proofs/entropy/kl_divergence_logits.py``): :math:`q_j\,
\mathrm{expm1}(u_j)` with the log-ratio :math:`u_j` from logit differences where :math:`|u_j| < 1`, so two close
probabilities are not subtracted.

**Checked** (``_prove``): for :math:`C = 3` and symbolic logits, SymPy's derivatives of :math:`\ell` w.r.t.
:math:`s_j` and :math:`t_j` equal the closed forms; :math:`\ell` equals the entropies-and-divergences form and is
symmetric; the logit-difference form of :math:`\log q_j - \sum_c p_c \log q_c` holds for :math:`k = 0`. The oracle
judges the value and every component of both gradients at the stress points: logit gaps of 15 to 80 against a
uniform row and the reverse, both peaked on one class and on different classes, a student within :math:`10^{-6}`
of its teacher, equal logits, ties (against ties and against gaps), dominant rows, masks alike, a class masked on
one side only (``+inf``, both ways), one class, logits near 0, the reductions.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import Row, logit_symbols, reduce
from ._common import C, generic_pair


def symmetric_consistency(student, teacher):
    """-(1/2) sum_c q_c log p_c - (1/2) sum_c p_c log q_c; a class masked in both rows contributes 0 (each term is
    0 log 0 there, a NaN that Row.sum drops)."""
    return (-student.sum(lambda c: teacher.p(c) * student.log_p(c)) / 2
            - student.sum(lambda c: student.p(c) * teacher.log_p(c)) / 2)


def symmetric_consistency_gradient(student, teacher, j):
    """d ell / d s_j = ((p_j - q_j) - p_j (log q_j - sum_c p_c log q_c)) / 2: the closed form of
    refloss.symmetric_consistency_loss_grad (the teacher's: the same with the rows exchanged)."""
    mean = student.sum(lambda c: student.p(c) * teacher.log_p(c))
    return ((student.p(j) - teacher.p(j)) - student.p(j) * (teacher.log_p(j) - mean)) / 2


def _prove():
    s, t = logit_symbols(C, "s"), logit_symbols(C, "t")
    student, teacher = Row(s), Row(t)
    value = symmetric_consistency(student, teacher)
    for j in range(C):
        assert_identity(sp.diff(value, s[j]), symmetric_consistency_gradient(student, teacher, j),
                        f"d ell / d s_{j}", logits=s + t)
        assert_identity(sp.diff(value, t[j]), symmetric_consistency_gradient(teacher, student, j),
                        f"d ell / d t_{j} (the student's with the rows exchanged)", logits=s + t)
        # the evaluation form: log q_j - sum_c p_c log q_c from differences of the teacher's logits, k = 0
        assert_identity(teacher.log_p(j) - sum(student.p(c) * teacher.log_p(c) for c in range(C)),
                        (t[j] - t[0]) - sum(student.p(c) * (t[c] - t[0]) for c in range(C)),
                        f"log q_{j} - sum_c p_c log q_c = (t_{j} - t_k) - sum_c p_c (t_c - t_k)", logits=s + t)

    def entropy(row):
        return -sum(row.p(c) * row.log_p(c) for c in range(C))

    def kl(a, b):
        return sum(a.p(c) * (a.log_p(c) - b.log_p(c)) for c in range(C))

    assert_identity(value, (entropy(student) + entropy(teacher) + kl(student, teacher) + kl(teacher, student)) / 2,
                    "ell = (H(p) + H(q) + KL(p || q) + KL(q || p)) / 2", logits=s + t)
    swapped = value.xreplace({**dict(zip(s, t)), **dict(zip(t, s))})
    assert_identity(swapped, value, "ell(s, t) = ell(t, s)", logits=s + t)


def _build(case):
    s, t = case["student_logits"], case["teacher_logits"]
    losses = np.empty(s.shape[:-1], dtype=object)
    for index in np.ndindex(*s.shape[:-1]):
        losses[index] = symmetric_consistency(Row(s[index]), Row(t[index]))
    return reduce(losses, case["reduction"])


def _gradient_formula():
    student, teacher = generic_pair()
    j = sp.Symbol("j")
    return sp.Tuple(partial(symmetric_consistency_gradient(student, teacher, j), "s_{j}"),
                    partial(symmetric_consistency_gradient(teacher, student, j), "t_{j}"))


define(
    "symmetric_consistency_loss",
    # refloss's reduction convention (the authors' code averages over the batch: "mean")
    defaults={"reduction": "mean"},
    build=_build,
    formula=lambda: ell(symmetric_consistency(*generic_pair())),
    gradient_formula=_gradient_formula,
    prove=_prove,
)
