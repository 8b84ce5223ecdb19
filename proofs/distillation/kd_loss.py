r"""``kd_loss``: the definition and its machine-checked derivation.

**Definition** (Hinton, Vinyals & Dean, arXiv:1503.02531, Sec. 2). The teacher's logits :math:`t` and the
student's :math:`s`, softened by a temperature :math:`T`: :math:`q = \mathrm{softmax}(t/T)`,
:math:`p = \mathrm{softmax}(s/T)`, and per row

.. math:: \ell = T^2\,\mathrm{KL}(q \,\|\, p) = T^2 \sum_c q_c\,(\log q_c - \log p_c),

the KL of ``proofs/entropy/kl_divergence_logits.py`` (its ``kl``) on the scaled logits, the teacher first. The
paper gives the soft targets :math:`\mathrm{softmax}(z/T)` (Eq. (1)), trains on the cross-entropy with them
multiplied by :math:`T^2` ("the magnitudes of the gradients produced by the soft targets scale as :math:`1/T^2`",
Sec. 2), and states that cross-entropy's gradient, :math:`\frac1T(p_j - q_j)` (Sec. 2.1, Eq. (2); quoted from the
paper's text by secondary sources, not read in the PDF). That cross-entropy is :math:`\mathrm{KL}(q\,\|\,p) + H(q)`:
the same student gradient, a value larger by the teacher's entropy. The KL form, zero where the student matches
its teacher, is PyTorch's ``kl_div`` and the common practice; so are the reductions, which the paper does not
state. ``"batchmean"`` divides the sum of the rows' losses by the number of rows :math:`N` (for ``(N, C)``
logits PyTorch's ``"batchmean"``), ``"mean"`` by :math:`N C` (PyTorch's elementwise ``"mean"``), ``"sum"`` by 1.

**Gradients.** By the KL's gradients (``kl_divergence_logits``: :math:`\partial\mathrm{KL}/\partial a_j =
p^a_j(\log p^a_j - \log p^b_j - \mathrm{KL})` in the first argument's logits :math:`a`,
:math:`\partial\mathrm{KL}/\partial b_j = p^b_j - p^a_j` in the second's) with :math:`a = t/T`, :math:`b = s/T`
and :math:`\partial a/\partial t = \partial b/\partial s = 1/T`,

.. math:: \frac{\partial \ell}{\partial s_j} = T\,(p_j - q_j), \qquad
          \frac{\partial \ell}{\partial t_j} = T\,q_j\,(\log q_j - \log p_j - \mathrm{KL}(q\,\|\,p)).

**At** :math:`T = 1`, :math:`\mathrm{KL}(q\,\|\,p) = -\sum_c q_c \log p_c - H(q)`: the soft-target
cross-entropy of the student against the teacher's distribution, less the teacher's entropy, which does not
depend on the student (so the student's gradients of the two losses agree).

**Evaluation.** refloss computes :math:`T^2` times :func:`refloss.kl_divergence_logits` at :math:`(t/T, s/T)` and
:math:`T` times its gradients, whose evaluation forms (log-ratios from logit differences, the KL as a sum of
non-negative terms :math:`q\,\varphi(u)`, :math:`p - q` through :math:`\mathrm{expm1}`) are derived in
``proofs/entropy/kl_divergence_logits.py``. The division by :math:`T` rounds each logit once, a relative
change of the inputs that the condition scale covers; at :math:`T = 1` and at powers of two it is exact.

**Checked** (``_prove``): for :math:`C = 3`, symbolic logits and a symbolic :math:`T`, SymPy's derivatives of
:math:`\ell` equal both closed forms; the student's gradient sums to 0 over the classes; at :math:`T = 1`,
:math:`\ell = -\sum_c q_c \log p_c + \sum_c q_c \log q_c`; :math:`\ell = 0` where :math:`s = t`. The oracle
judges the value and every component of both gradients at the stress points: effective logit gaps of 15 to 80
at :math:`T` = 0.5, 1, 2, 4 (peaked teacher against a uniform student, the reverse, both peaked on different
classes), a student within :math:`10^{-6}` of its teacher, equal logits, ties, masks alike and a teacher
masking more, a student masking a teacher class (``+inf``), one class, :math:`T = 10^{-2}` and
:math:`T = 100`, every reduction, two batch axes under ``"batchmean"`` and ``"mean"``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import Row, logit_symbols, reduce
from ..entropy.kl_divergence_logits import kl, kl_gradient_p, kl_gradient_q
from ._common import TEMP, C, generic_pair


def kd_row(teacher, student, temp):
    """T^2 KL(q || p) of one row, from the rows of the scaled logits t / T (teacher, q) and s / T (student, p)."""
    return temp**2 * kl(teacher, student)


def kd_gradients(teacher, student, j, temp):
    """(d ell / d s_j, d ell / d t_j) = (T (p_j - q_j), T q_j (log q_j - log p_j - KL)): the closed forms of
    refloss.kd_loss_grad."""
    return temp * kl_gradient_q(teacher, student, j), temp * kl_gradient_p(teacher, student, j)


def _prove():
    s, t = logit_symbols(C, "s"), logit_symbols(C, "t")
    teacher, student = Row([x / TEMP for x in t]), Row([x / TEMP for x in s])
    value = kd_row(teacher, student, TEMP)
    domains = {TEMP: (1, 4)}
    for j in range(C):
        d_s, d_t = kd_gradients(teacher, student, j, TEMP)
        assert_identity(sp.diff(value, s[j]), d_s, f"d ell / d s_{j} = T (p_{j} - q_{j})", logits=s + t,
                        domains=domains)
        assert_identity(sp.diff(value, t[j]), d_t, f"d ell / d t_{j} = T q_{j} (log q_{j} - log p_{j} - KL)",
                        logits=s + t, domains=domains)
    assert_identity(sum(kd_gradients(teacher, student, j, TEMP)[0] for j in range(C)), 0,
                    "the student's gradient sums to 0", logits=s + t, domains=domains)
    at_one = kd_row(Row(t), Row(s), 1)
    cross_entropy = -sum(Row(t).p(c) * Row(s).log_p(c) for c in range(C))
    teacher_entropy = -sum(Row(t).p(c) * Row(t).log_p(c) for c in range(C))
    assert_identity(at_one, cross_entropy - teacher_entropy,
                    "T = 1: ell = -sum_c q_c log p_c - H(q) (soft-target cross-entropy less the teacher's entropy)",
                    logits=s + t)
    assert_identity(value.xreplace(dict(zip(s, t))), 0, "ell = 0 where s = t", logits=t, domains=domains)


def _build(case):
    s, t, temp = case["student_logits"], case["teacher_logits"], case["temperature"]
    losses = np.empty(s.shape[:-1], dtype=object)
    for index in np.ndindex(*s.shape[:-1]):
        losses[index] = kd_row(Row([x / temp for x in t[index]]), Row([x / temp for x in s[index]]), temp)
    reduction = case["reduction"]
    if reduction == "batchmean":  # the mean over rows
        return reduce(losses, "mean")
    if reduction == "mean":  # PyTorch's elementwise mean: over rows and classes
        return reduce(losses, "mean", s.size)
    return reduce(losses, reduction)


def _formula():
    student, teacher = generic_pair()
    return ell(kd_row(teacher, student, TEMP))


def _gradient_formula():
    student, teacher = generic_pair()
    d_s, d_t = kd_gradients(teacher, student, sp.Symbol("j"), TEMP)
    return sp.Tuple(partial(d_s, "s_{j}"), partial(d_t, "t_{j}"))


define(
    "kd_loss",
    # T = 1 (the KL itself); "batchmean", PyTorch's KL reduction (the paper states none: our convention)
    defaults={"temperature": 1.0, "reduction": "batchmean"},
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove,
)
