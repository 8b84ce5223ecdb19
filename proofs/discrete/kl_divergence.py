r"""``kl_divergence``: the definition and its machine-checked derivation.

**Definition** (Kullback & Leibler 1951; Cover & Thomas eq. 2.26).
:math:`D(p\,\|\,q) = \sum_j p_j \log(p_j / q_j)` over the outcomes with :math:`p_j > 0`; :math:`+\infty` where some
:math:`p_j > 0` has :math:`q_j = 0`. The inputs are the numbers given, not normalised.

**Gradient.** :math:`\partial D / \partial p_j = \log(p_j / q_j) + 1`, :math:`\partial D / \partial q_j = -p_j / q_j`,
the probabilities independent numbers. At :math:`p_j = 0` the first tends to :math:`-\infty`: no gradient there.

**The form refloss evaluates.** Each term :math:`p_j \log(p_j / q_j)` from one rounded quotient
(``scipy.special.rel_entr``), or, where the quotient leaves the float64 range, from the exact mantissas and
exponents of :math:`p_j` and :math:`q_j`. The terms have both signs, and near :math:`p = q` the sum cancels; the
condition scale :math:`\sum_j p_j |\log(p_j/q_j) + 1| + \sum_j p_j \ge \sum_j p_j` allows that cancellation, which
the rounding of the inputs already causes.

**Checked** (``_prove_kl``): SymPy's derivatives equal the closed forms for C = 3; :math:`D(p\,\|\,p) = 0`;
:math:`-\sum_j p_j \log q_j = H(p) + D(p\,\|\,q)` (any :math:`p`); the mapping of SciPy's normalisation
:math:`D(a p\,\|\,b q) = a D(p\,\|\,q) + a \log(a/b)` for normalised :math:`p, q`; Gibbs' inequality at a point;
:math:`p \log(p/q) \to 0` as :math:`p \to 0^+`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit
from ._common import indexed_sum, nonzero, over_batch, unit
from .entropy import entropy

C = 3


def kl(p, q, support, zero_q=()) -> sp.Expr:
    """sum_j p_j log(p_j / q_j) over ``support``; +oo where an outcome of the support is in ``zero_q``."""
    if any(j in zero_q for j in support):
        return sp.oo
    return sp.Add(*[p[j] * sp.log(p[j] / q[j]) for j in support])


def kl_gradient_p(p, q, j) -> sp.Expr:
    return sp.log(p[j] / q[j]) + 1


def kl_gradient_q(p, q, j) -> sp.Expr:
    return -p[j] / q[j]


def _build(case, exact):
    p, q = np.asarray(case["pk"], dtype=object), np.asarray(case["qk"], dtype=object)

    def one(index):
        support = [j for (j,) in nonzero(exact["pk"][index])]
        zero_q = [j for j in range(p.shape[-1]) if exact["qk"][index + (j,)] == 0]
        return kl(p[index], q[index], support, zero_q) / unit(case["base"])

    return over_batch(p, 1, one)


def _zero(arguments: dict) -> str | None:
    return "an outcome of probability 0 under pk (the derivative of p log(p/q) in p is -inf there)" \
        if (np.asarray(arguments["pk"]) == 0).any() else None


def _prove_kl():
    p = [sp.Symbol(f"p{j}", positive=True) for j in range(C)]
    q = [sp.Symbol(f"q{j}", positive=True) for j in range(C)]
    d = kl(p, q, range(C))
    for j in range(C):
        assert_identity(sp.diff(d, p[j]), kl_gradient_p(p, q, j), f"dD/dp_{j} = log(p_{j}/q_{j}) + 1")
        assert_identity(sp.diff(d, q[j]), kl_gradient_q(p, q, j), f"dD/dq_{j} = -p_{j}/q_{j}")
    assert_identity(kl(p, p, range(C)), 0, "D(p || p) = 0")
    cross = -sp.Add(*[p[j] * sp.log(q[j]) for j in range(C)])
    assert_identity(cross, entropy(p, range(C)) + d, "-sum p log q = H(p) + D(p || q)")
    a, b = sp.symbols("a b", positive=True)
    pn = [sp.Rational(1, 6), sp.Rational(1, 3), sp.Rational(1, 2)]
    qn = [sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 4)]
    assert_identity(kl([a * x for x in pn], [b * y for y in qn], range(C)),
                    a * kl(pn, qn, range(C)) + a * sp.log(a / b),
                    "D(a p || b q) = a D(p || q) + a log(a / b) for normalised p, q (SciPy's normalisation)")
    if not kl(pn, qn, range(C)).evalf(30) > 0:
        raise AssertionError("Gibbs' inequality: D(p || q) > 0 for normalised p != q")
    t, s = sp.symbols("t s", positive=True)
    check_limit(t * sp.log(t / s), t, 0, 0, "p log(p/q) as p -> 0+")


def _formula():
    j, c = sp.Symbol("j", integer=True), sp.Symbol("C", positive=True, integer=True)
    p, q = sp.IndexedBase("p"), sp.IndexedBase("q")
    return ell(indexed_sum(p[j] * sp.log(p[j] / q[j]), (j, c)), "D")


def _gradient_formula():
    p, q, j = sp.IndexedBase("p"), sp.IndexedBase("q"), sp.Symbol("j")
    return sp.Tuple(partial(kl_gradient_p(p, q, j), "p_{j}", "D"), partial(kl_gradient_q(p, q, j), "q_{j}", "D"))


define(
    "kl_divergence",
    defaults={"base": None},  # nats
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove_kl,
    exact_inputs=("pk", "qk"),
    gradient_undefined=_zero,
)
