r"""``plackett_luce_distillation``: the definition and its machine-checked derivation.

**Definition** (Bassam, Zhu & Bian, *PLD: A Choice-Theoretic List-Wise Knowledge Distillation*, arXiv:2506.12542:
Sec. 4.1 the teacher-optimal permutation, Sec. 4.2 the weights and the loss, App. A.3 the gradient, App. C the
reference code; read in full in the project's research notes, ``confirmed_formulas.md`` section 7). For a row of
student logits :math:`s`, teacher logits :math:`t` and target :math:`y`, the teacher-optimal permutation is

.. math:: \pi = \big(y,\ \text{then the classes } c \ne y \text{ by descending } t_c\big),

the weights are the teacher's probabilities of the classes in that order, :math:`\alpha_k = q_{\pi_k}` with
:math:`q = \mathrm{softmax}(t / \tau_T)` (the first weight is :math:`q_y`, not 1), and

.. math:: \ell = \sum_{k=1}^{C} \alpha_k \Big[\log \sum_{l=k}^{C} e^{s_{\pi_l}} - s_{\pi_k}\Big].

The paper's reference code sorts the teacher's logits ascending, moves :math:`y` to the end, and takes
``logcumsumexp(s_perm) - s_perm``, the same sums read from the other end; its default temperature is 1. Ties:
the paper's ``torch.sort`` orders equal logits arbitrarily; refloss's convention is a stable sort (equal teacher
logits in the order of their class indices), and the definition's ``build`` sorts the exact float64 teacher logits
by Python's stable ``sorted`` (refloss: NumPy's stable ``argsort``), so the oracle checks the convention.
Masks: a class the teacher masks has :math:`\alpha = 0`; a class the student masks where :math:`\alpha > 0`
makes :math:`\ell = +\infty` (a choice of probability 0 with positive weight), and one masked in both
contributes nothing.

**Gradient** (App. A.3). :math:`s_i` appears in the log-sum-exp of every choice :math:`k` up to its own
position :math:`m` (:math:`\pi_m = i`), and linearly in its own choice:

.. math:: \frac{\partial \ell}{\partial s_{\pi_m}} = \sum_{k=1}^{m} \alpha_k
          \frac{e^{s_{\pi_m}}}{\sum_{l \ge k} e^{s_{\pi_l}}} - \alpha_m .

The components of a row sum to 0 (shift invariance).

**Evaluation.** With :math:`M_k = \max_{l \ge k} s_{\pi_l}` and :math:`T_k = \sum_{l \ge k} e^{s_{\pi_l} - M_k} - 1`
(the suffix's other terms relative to its largest), :math:`\mathrm{LSE}_k = M_k + \mathrm{log1p}(T_k)` and

.. math:: \ell = \sum_k \alpha_k \big[(M_k - s_{\pi_k}) + \mathrm{log1p}(T_k)\big],

non-negative terms, each keeping its digits where one class dominates its suffix (the rounded
:math:`\mathrm{LSE}_k - s_{\pi_k}` of a dominant class is 0 at a gap of 80). The gradient is
:math:`A_m - \alpha_m \sigma_m` with :math:`\sigma_m = 1 - e^{s_{\pi_m} - \mathrm{LSE}_m}`, which is
:math:`T_m/(1 + T_m)` where :math:`s_{\pi_m} = M_m` and :math:`1 - e^{s_{\pi_m} - M_m}/(1 + T_m) \ge 1/2` otherwise,
and

.. math:: A_m = \sum_{k < m} \alpha_k e^{s_{\pi_m} - \mathrm{LSE}_k} = e^{s_{\pi_m} - M_{m-1}}
          \sum_{k \le m-1} \frac{\alpha_k}{1 + T_k}\, e^{M_{m-1} - M_k},

every exponent a difference of logits and :math:`\le 0` (the :math:`M_k` do not increase along the order). The
pairs :math:`(M_k, T_k)` and the prefix sums come from log-depth scans (Hillis-Steele), :math:`O(C \log C)` per
row with the sort.

**Checked** (``_prove``): for :math:`C = 3`, every permutation and symbolic positive weights, SymPy's derivative
of :math:`\ell` w.r.t. each student logit equals the closed form, the components sum to 0, and :math:`\ell` is
invariant under a shift of :math:`s`; :math:`\alpha = e_1` gives the cross-entropy :math:`\mathrm{LSE}(s) -
s_y`; the evaluation forms :math:`\ell = \sum_k \alpha_k[(M_k - s_{\pi_k}) + \log(1 + T_k)]` (for
:math:`M_k` the logit of any class of the suffix) and :math:`A_m`'s rescaled sum. The oracle judges the value and
every gradient component at the stress points: logit gaps of 15 to 80 with the teacher agreeing and disagreeing
at :math:`\tau_T` = 0.5, 1, 4 and every target, seven classes 15 to 80 apart (three levels of each scan, the
student's mode ranked last, first and between), the student's mode ranked last of three at gaps of 40 and 80,
teacher ties (the stable order) against gaps, masks alike, a teacher masking more, a target masked in both, a
student masking a teacher class (``+inf``), one class, :math:`\tau_T = 10^{-2}`, the reductions.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import Row, logit_symbols, reduce
from ._common import TEMP, C


def pld_loss(x, alpha, order):
    r"""sum_k alpha_k [log sum_{l >= k} e^{x_{pi_l}} - x_{pi_k}] for one row: ``x`` the student's logits (``-oo``
    masked), ``alpha`` the weights of the classes (0 where the teacher masks), ``order`` the permutation. A choice of
    weight 0 adds nothing; a masked choice of positive weight makes the loss +oo."""
    total = sp.S.Zero
    for k, c in enumerate(order):
        if alpha[c] == 0:
            continue
        if x[c] == -sp.oo:
            return sp.oo
        suffix = [x[d] for d in order[k:] if x[d] != -sp.oo]
        total += alpha[c] * (sp.log(sp.Add(*[sp.exp(v) for v in suffix])) - x[c])
    return total


def pld_gradient(x, alpha, order, i):
    """d ell / d x_i = sum_{k <= pos(i)} alpha_{pi_k} e^{x_i} / sum_{l >= k} e^{x_{pi_l}} - alpha_i: the closed form
    of refloss.plackett_luce_distillation_grad."""
    m = order.index(i)
    return sum(alpha[order[k]] * sp.exp(x[i]) / sp.Add(*[sp.exp(x[d]) for d in order[k:]])
               for k in range(m + 1)) - alpha[i]


def teacher_optimal_order(keys, y):
    """The target first, then the other classes by descending teacher logit; Python's sort is stable, so equal
    logits keep the order of their indices, and masked ones (-inf) come last."""
    return [y] + sorted((c for c in range(len(keys)) if c != y), key=lambda c: -keys[c])


def _prove():
    x = logit_symbols(C, "s")
    alpha = list(sp.symbols(f"alpha0:{C}", positive=True))
    shift = sp.Symbol("r", real=True)
    for order in itertools.permutations(range(C)):
        order = list(order)
        value = pld_loss(x, alpha, order)
        for i in range(C):
            assert_identity(sp.diff(value, x[i]), pld_gradient(x, alpha, order, i),
                            f"order {order}: d ell / d s_{i}", logits=x)
        assert_identity(sum(pld_gradient(x, alpha, order, i) for i in range(C)), 0,
                        f"order {order}: the gradient sums to 0", logits=x)
        assert_identity(pld_loss([v + shift for v in x], alpha, order), value, f"order {order}: shift invariance",
                        logits=x)
        one_hot = [1 if c == order[0] else 0 for c in range(C)]
        assert_identity(pld_loss(x, one_hot, order), Row(x).lse() - x[order[0]],
                        f"order {order}: alpha = e_1 gives the cross-entropy", logits=x)
        # the evaluation forms, with the suffix's reference logit M_k = x at its first class (any class of it will
        # do: the algebra does not need M_k to be the largest) and T_k = sum_{l >= k} e^{x_l - M_k} - 1
        top = [x[order[k]] for k in range(C)]
        rest = [sum(sp.exp(x[d] - top[k]) for d in order[k:]) - 1 for k in range(C)]
        assert_identity(sum(alpha[order[k]] * ((top[k] - x[order[k]]) + sp.log(1 + rest[k])) for k in range(C)),
                        value, f"order {order}: ell = sum_k alpha_k [(M_k - x_k) + log1p(T_k)]", logits=x)
        for m in range(1, C):
            rescaled = sum(alpha[order[k]] / (1 + rest[k]) * sp.exp(top[m - 1] - top[k]) for k in range(m))
            direct = sum(alpha[order[k]] * sp.exp(x[order[m]]) / sp.Add(*[sp.exp(x[d]) for d in order[k:]])
                         for k in range(m))
            assert_identity(sp.exp(x[order[m]] - top[m - 1]) * rescaled, direct,
                            f"order {order}: A_{m} = e^(x_m - M_(m-1)) sum_(k<m) alpha_k / (1 + T_k) e^(M_(m-1) - M_k)",
                            logits=x)
    # the teacher's weights: softmax(t / T), and a masked teacher class has weight exactly 0
    t = logit_symbols(C, "t")
    assert_identity(sum(Row([v / TEMP for v in t]).p(c) for c in range(C)), 1, "the weights sum to 1", logits=t,
                    domains={TEMP: (1, 4)})
    if Row([t[0], -sp.oo, t[2]]).p(1) != 0:
        raise AssertionError("a masked teacher class must have weight exactly 0")


_INDEX = re.compile(r"\[([0-9,]*)\]$")


def _float_of(entry, exact: np.ndarray) -> float:
    """The float64 value of a symbolic case's teacher entry: -oo (masked, or left out by ``where``), an exact
    constant (0), or a symbol named ``teacher_logits[i,j]`` whose indices (those of the caller's array, before the
    class axis moved) give the value."""
    if entry == -sp.oo:
        return -np.inf
    if isinstance(entry, sp.Symbol):
        index = tuple(int(i) for i in _INDEX.search(entry.name).group(1).split(","))
        return float(exact[index])
    return float(entry)


def _build(case, values):
    s, t, y, temp = case["student_logits"], case["teacher_logits"], case["target"], case["temperature"]
    exact = values["teacher_logits"]
    losses = np.empty(s.shape[:-1], dtype=object)
    for index in np.ndindex(*s.shape[:-1]):
        order = teacher_optimal_order([_float_of(e, exact) for e in t[index]], int(np.asarray(y)[index]))
        weights = Row([v / temp for v in t[index]])
        losses[index] = pld_loss(list(s[index]), [weights.p(c) for c in range(s.shape[-1])], order)
    return reduce(losses, case["reduction"])


def _generic():
    k, later, m = (sp.Symbol(n, integer=True) for n in "klm")
    n_classes = sp.Symbol("C", positive=True, integer=True)
    s, q, pi = sp.IndexedBase("s"), sp.IndexedBase("q"), sp.IndexedBase("pi")
    return k, later, m, n_classes, s, q, pi


def _formula():
    k, later, _, n_classes, s, q, pi = _generic()
    choice = sp.log(sp.Sum(sp.exp(s[pi[later]]), (later, k, n_classes))) - s[pi[k]]
    return ell(sp.Sum(q[pi[k]] * choice, (k, 1, n_classes)))


def _gradient_formula():
    k, later, m, n_classes, s, q, pi = _generic()
    share = q[pi[k]] * sp.exp(s[pi[m]]) / sp.Sum(sp.exp(s[pi[later]]), (later, k, n_classes))
    return partial(sp.Sum(share, (k, 1, m)) - q[pi[m]], r"s_{\pi_{m}}")


define(
    "plackett_luce_distillation",
    # the paper's code: temperature 1 (App. C); "mean" over the batch
    defaults={"temperature": 1.0, "reduction": "mean"},
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove,
    exact_inputs=("teacher_logits",),
)
