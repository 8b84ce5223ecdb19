r"""``linear_kl``: the definition and its machine-checked derivation.

**Definition** (Hinton, Vinyals & Dean, arXiv:1503.02531, section 2). Two heads on the same hidden states,
the teacher's :math:`t = e c_t^\top` and the student's :math:`s = e c_s^\top`, softened by a temperature
:math:`T`: :math:`p = \mathrm{softmax}(t/T)`, :math:`q = \mathrm{softmax}(s/T)`, and per row

.. math:: \ell_n = T^2\,\mathrm{KL}(p_n \| q_n) = T^2 \sum_v p_{n,v}(\log p_{n,v} - \log q_{n,v}),

the KL of ``proofs/entropy/kl_divergence_logits.py`` on the scaled logits; ``"mean"`` divides by :math:`N`.
The factor :math:`T^2` is the paper's: the gradient w.r.t. a soft target's logits scales as :math:`1/T^2` otherwise.

**Gradients.** By the KL's gradients (``proofs/entropy/kl_divergence_logits.py``)
and :math:`\partial (t/T)/\partial t = 1/T`,

.. math:: G^t_{n,j} = \frac{\partial \ell_n}{\partial t_{n,j}} = T\,p_{n,j}\,(\log p_{n,j} - \log q_{n,j}
          - \mathrm{KL}_n), \qquad G^s_{n,j} = \frac{\partial \ell_n}{\partial s_{n,j}} = T\,(q_{n,j} - p_{n,j}),

and, both heads being linear in :math:`e`, :math:`\partial\ell/\partial e = G^s c_s + G^t c_t`,
:math:`\partial\ell/\partial c_s = {G^s}^\top e`, :math:`\partial\ell/\partial c_t = {G^t}^\top e`.

**Evaluation.** :math:`G^s + G^t = T(q\,\varphi(u) - p\,\mathrm{KL})` with :math:`u = \log(p/q)` and
:math:`\varphi(u) = 1 + (u - 1)e^u` (the KL's own terms, ``kl_divergence_logits``), so
:math:`\partial\ell/\partial e` is also :math:`(G^s + G^t) c_s + G^t (c_t - c_s)`; each element is taken from
the form with the smaller terms. Near convergence (student close to teacher) the first form sums first-order
terms of opposite sign to a second-order result and the second does not; for heads far apart the first has
the smaller terms.

**Checked** (``_prove_linear_kl``): on rows of three symbolic logits with a symbolic temperature,
:math:`\partial\ell/\partial t_j` and :math:`\partial\ell/\partial s_j` are the closed forms above; on a
symbolic pair of heads (:math:`N = 2`, :math:`D = 2`, :math:`V = 3`, ``"mean"``) SymPy's derivatives of the whole
definition w.r.t. every entry of :math:`e`, :math:`c_s`, :math:`c_t` equal the chain rule, at random rational
points, 50 digits; and :math:`G^s_j + G^t_j = T(q_j\varphi(u_j) - p_j\,\mathrm{KL})`, the evaluation form.
Stress points: logit gaps 15 to 80 through the heads at :math:`T` = 0.5, 1, 2, 20; a student within
:math:`10^{-6}` of its teacher; identical heads (:math:`\ell = 0`); a uniform student; a student whose logits
are thousands apart; ties; one row; one class; :math:`T = 10^{-2}`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._oracle import intermediate_scales
from .._tactics import assert_identities_numerically, assert_identity
from .._views import GenericRow, Row, reduce, symbol_array
from ..entropy.kl_divergence_logits import kl, kl_gradient_p, kl_gradient_q
from ._common import TEMP, _row_blocks, exact_logits, head_logits, head_scales


def distillation_row(teacher, student, temp):
    """T^2 KL(softmax(t / T) || softmax(s / T)) of one row, from rows of the scaled logits t / T and s / T."""
    return temp**2 * kl(teacher, student)


def _kl_build(case):
    """The reduced loss: per row, T^2 KL of the teacher head's softened distribution to the student's."""
    return _kl_on_logits(case, head_logits(case["e"], case["c_teacher"], None),
                         head_logits(case["e"], case["c_student"], None))


def _kl_logits(case) -> dict:
    return {"t": exact_logits(case["e"], case["c_teacher"]), "s": exact_logits(case["e"], case["c_student"])}


def _kl_intermediate_scales(case, bits: int):
    """Both heads' logits are rounded by every implementation (refloss.tolerance): the scales they add. An empty
    batch has no logits to round: no scale."""
    logits = _kl_logits(case)
    if logits["t"].size == 0:
        return 0, {"e": 0, "c_student": 0, "c_teacher": 0}
    value_scale, scales = intermediate_scales(lambda x: _kl_on_logits(case, x["t"], x["s"]), logits, bits,
                                              _row_blocks(logits))
    heads = {"t": ("c_teacher", case["c_teacher"], case["e"], None),
             "s": ("c_student", case["c_student"], case["e"], None)}
    return value_scale, head_scales(scales, heads)


def _kl_on_logits(case, t, s):
    """:func:`_kl_build` from the teacher's and the student's head logits (N, V)."""
    temp = case["temperature"]
    losses = np.empty(t.shape[:1], dtype=object)
    for n in range(t.shape[0]):
        losses[n] = distillation_row(Row([x / temp for x in t[n]]), Row([x / temp for x in s[n]]), temp)
    return reduce(losses, case["reduction"])


def _generic_pair():
    """The teacher's row (p) and the student's (q) a reader sees."""
    teacher, student = GenericRow(y=False), GenericRow(y=False)
    student._p = sp.IndexedBase("q")
    return teacher, student


def _kl_gradients(teacher, student, j, temp):
    """(d ell / d t_j, d ell / d s_j): T p_j (log p_j - log q_j - KL) and T (q_j - p_j)."""
    return temp * kl_gradient_p(teacher, student, j), temp * kl_gradient_q(teacher, student, j)


def _prove_linear_kl():
    t, s = list(sp.symbols("t0:3", real=True)), list(sp.symbols("s0:3", real=True))
    teacher, student = Row([x / TEMP for x in t]), Row([x / TEMP for x in s])
    value = distillation_row(teacher, student, TEMP)
    for j in range(3):
        d_t, d_s = _kl_gradients(teacher, student, j, TEMP)
        assert_identity(sp.diff(value, t[j]), d_t, f"d ell / d t_{j}", logits=t + s, domains={TEMP: (1, 4)})
        assert_identity(sp.diff(value, s[j]), d_s, f"d ell / d s_{j}", logits=t + s, domains={TEMP: (1, 4)})
        # the evaluation form of G^s + G^t (linear_kl_grad): T (q_j phi(u_j) - p_j KL), phi(u) = 1 + (u - 1) e^u
        u = teacher.log_p(j) - student.log_p(j)
        summed = TEMP * (student.p(j) * (1 + (u - 1) * sp.exp(u)) - teacher.p(j) * kl(teacher, student))
        assert_identity(d_t + d_s, summed,
                        f"G^s_{j} + G^t_{j} = T (q_{j} phi(u_{j}) - p_{j} KL)", logits=t + s, domains={TEMP: (1, 4)})
    _prove_kl_chain_rule()


def _prove_kl_chain_rule():
    """d loss / d (e, c_s, c_t) = (G^s c_s + G^t c_t, G^s^T e, G^t^T e) on a symbolic head, "mean" over 2 rows."""
    e = symbol_array("e", (2, 2), real=True)
    c_s, c_t = symbol_array("c", (3, 2), real=True), symbol_array("k", (3, 2), real=True)
    case = {"e": e, "c_student": c_s, "c_teacher": c_t, "temperature": TEMP, "reduction": "mean"}
    loss = _kl_build(case)[()]
    t, s = head_logits(e, c_t, None), head_logits(e, c_s, None)
    g_t, g_s = np.empty(t.shape, dtype=object), np.empty(s.shape, dtype=object)
    for n in range(2):
        teacher, student = Row([x / TEMP for x in t[n]]), Row([x / TEMP for x in s[n]])
        for v in range(3):
            d_t, d_s = _kl_gradients(teacher, student, v, TEMP)
            g_t[n, v], g_s[n, v] = d_t / 2, d_s / 2
    pairs = [(sp.diff(loss, x), sum(g_s[n, v] * c_s[v, d] + g_t[n, v] * c_t[v, d] for v in range(3)),
              f"d loss / d e[{n},{d}]") for (n, d), x in np.ndenumerate(e)]
    pairs += [(sp.diff(loss, x), sum(g_s[n, v] * e[n, d] for n in range(2)), f"d loss / d c_s[{v},{d}]")
              for (v, d), x in np.ndenumerate(c_s)]
    pairs += [(sp.diff(loss, x), sum(g_t[n, v] * e[n, d] for n in range(2)), f"d loss / d c_t[{v},{d}]")
              for (v, d), x in np.ndenumerate(c_t)]
    assert_identities_numerically(pairs, "chain rule of the two heads", domains={TEMP: (1, 4)}, points=3)


define(
    "linear_kl",
    # the paper's defaults, which the signature must repeat: T = 1 (Hinton et al.'s T^2 factor is then 1)
    defaults={"temperature": 1.0, "reduction": "mean"},
    build=_kl_build,
    formula=lambda: ell(distillation_row(*_generic_pair(), TEMP)),
    gradient_formula=lambda: sp.Tuple(*(partial(g, wrt=w) for g, w in zip(
        _kl_gradients(*_generic_pair(), sp.Symbol("j"), TEMP), ("t_{j}", "s_{j}")))),
    prove=_prove_linear_kl,
    intermediate_values=_kl_logits,
    intermediate_scales=_kl_intermediate_scales,
)
