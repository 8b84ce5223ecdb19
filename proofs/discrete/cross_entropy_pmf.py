r"""``cross_entropy_pmf``: the definition and its machine-checked derivation.

**Definition** (Cover & Thomas, Sec. 2.3). :math:`H(p, q) = -\sum_j p_j \log q_j` over the outcomes with
:math:`q_j > 0`; an outcome with :math:`q_j = 0` adds 0 where :math:`p_j = 0` and makes the value :math:`+\infty`
where :math:`p_j > 0`. The inputs are the numbers given, not normalised.

**Gradient.** :math:`\partial H / \partial p_j = -\log q_j` (also at :math:`p_j = 0`: the term is linear in
:math:`p_j`), :math:`\partial H / \partial q_j = -p_j / q_j`. At :math:`q_j = 0` the first is :math:`+\infty`: no
gradient there.

**The form refloss evaluates.** The terms :math:`p_j \log q_j` (``scipy.special.xlogy``) as written: one sign
where :math:`q \le 1`; where an unnormalised :math:`q_j > 1` gives terms of both signs, the condition scale
:math:`\sum_j p_j (|\log q_j| + 1)` allows their cancellation.

**Checked** (``_prove_cross_entropy``): SymPy's derivatives equal the closed forms for C = 3; :math:`H(p, p) = H(p)`;
:math:`H(p, q) = H(p) + D(p\,\|\,q)` (any :math:`p`, with :func:`kl_divergence`'s definition); the derivative in
:math:`p_j` at :math:`p_j = 0` is :math:`-\log q_j` (the term vanishes with :math:`p_j`, its derivative does not).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import indexed_sum, over_batch, unit
from .entropy import entropy
from .kl_divergence import kl

C = 3


def cross_entropy(p, q, support, infinite=False) -> sp.Expr:
    """-sum_j p_j log q_j over ``support``; +oo if ``infinite`` (a q_j = 0 where p_j > 0)."""
    return sp.oo if infinite else -sp.Add(*[p[j] * sp.log(q[j]) for j in support])


def gradient_p(p, q, j) -> sp.Expr:
    return -sp.log(q[j])


def gradient_q(p, q, j) -> sp.Expr:
    return -p[j] / q[j]


def _build(case, exact):
    p, q = np.asarray(case["pk"], dtype=object), np.asarray(case["qk"], dtype=object)

    def one(index):
        pv, qv = exact["pk"][index], exact["qk"][index]
        support = [j for j in range(p.shape[-1]) if qv[j] != 0]
        infinite = any(qv[j] == 0 and pv[j] != 0 for j in range(p.shape[-1]))
        return cross_entropy(p[index], q[index], support, infinite) / unit(case["base"])

    return over_batch(p, 1, one)


def _zero(arguments: dict) -> str | None:
    return "an outcome of probability 0 under qk (the derivative of -p log q in p is +inf there)" \
        if (np.asarray(arguments["qk"]) == 0).any() else None


def _prove_cross_entropy():
    p = [sp.Symbol(f"p{j}", positive=True) for j in range(C)]
    q = [sp.Symbol(f"q{j}", positive=True) for j in range(C)]
    h = cross_entropy(p, q, range(C))
    for j in range(C):
        assert_identity(sp.diff(h, p[j]), gradient_p(p, q, j), f"dH/dp_{j} = -log q_{j}")
        assert_identity(sp.diff(h, q[j]), gradient_q(p, q, j), f"dH/dq_{j} = -p_{j}/q_{j}")
    assert_identity(cross_entropy(p, p, range(C)), entropy(p, range(C)), "H(p, p) = H(p)")
    assert_identity(h, entropy(p, range(C)) + kl(p, q, range(C)), "H(p, q) = H(p) + D(p || q)")
    at_zero = sp.diff(h, p[0]).subs(p[0], 0)
    assert_identity(at_zero, -sp.log(q[0]), "dH/dp_0 at p_0 = 0 is -log q_0")


def _formula():
    j, c = sp.Symbol("j", integer=True), sp.Symbol("C", positive=True, integer=True)
    p, q = sp.IndexedBase("p"), sp.IndexedBase("q")
    return ell(-indexed_sum(p[j] * sp.log(q[j]), (j, c)), "H(p, q)")


def _gradient_formula():
    p, q, j = sp.IndexedBase("p"), sp.IndexedBase("q"), sp.Symbol("j")
    return sp.Tuple(partial(gradient_p(p, q, j), "p_{j}", "H"), partial(gradient_q(p, q, j), "q_{j}", "H"))


define(
    "cross_entropy_pmf",
    defaults={"base": None},  # nats
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove_cross_entropy,
    exact_inputs=("pk", "qk"),
    gradient_undefined=_zero,
)
