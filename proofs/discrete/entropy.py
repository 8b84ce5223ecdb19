r"""``entropy``: the definition and its machine-checked derivation.

**Definition** (Shannon 1948). :math:`H(p) = -\sum_j p_j \log p_j` over the outcomes with :math:`p_j > 0`.

**Gradient.** :math:`\partial H / \partial p_j = -(\log p_j + 1)`, with the probabilities independent numbers (not
along the simplex, where the constant 1 would drop out). At :math:`p_j = 0` it tends to :math:`+\infty`: no
gradient there.

**The form refloss evaluates.** Each term :math:`-p_j \log p_j` (``scipy.special.entr``) is non-negative for
:math:`p_j \le 1`, so the sum adds non-negative terms and loses nothing to cancellation; its condition scale
:math:`\sum_j p_j |\log p_j + 1|` is what the rounding of the inputs allows.

**Checked** (``_prove_entropy``): SymPy's derivative equals :math:`-(\log p_j + 1)` for C = 3; the uniform
distribution on C outcomes has :math:`H = \log C`; :math:`H(a p) = a H(p) - a \log a` for a normalised p (the
mapping of SciPy's normalisation); the limit of :math:`p \log p` at 0 is 0.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit

C = 3


def entropy(p, support) -> sp.Expr:
    """-sum_j p_j log p_j over the outcomes in ``support``."""
    return -sp.Add(*[p[j] * sp.log(p[j]) for j in support])


def entropy_gradient(p, j) -> sp.Expr:
    return -(sp.log(p[j]) + 1)


def _build(case, exact):
    p, values = np.asarray(case["pk"], dtype=object), exact["pk"]
    unit = 1 if case["base"] is None else sp.log(sp.Rational(*float(case["base"]).as_integer_ratio()))
    out = np.empty(p.shape[:-1], dtype=object)
    for index in np.ndindex(*p.shape[:-1]):
        support = [j for j in range(p.shape[-1]) if values[index + (j,)] != 0]
        out[index] = entropy(p[index], support) / unit
    return out


def _zero(arguments: dict) -> str | None:
    return "an outcome of probability 0 (the derivative of -p log p is +inf there)" \
        if (np.asarray(arguments["pk"]) == 0).any() else None


def _prove_entropy():
    p = [sp.Symbol(f"p{j}", positive=True) for j in range(C)]
    for j in range(C):
        assert_identity(sp.diff(entropy(p, range(C)), p[j]), entropy_gradient(p, j), f"dH/dp_{j} = -(log p_{j} + 1)")
    assert_identity(entropy([sp.Rational(1, C)] * C, range(C)), sp.log(C), "uniform: log C")
    a = sp.Symbol("a", positive=True)
    q = [sp.Rational(1, 6), sp.Rational(1, 3), sp.Rational(1, 2)]
    assert_identity(entropy([a * x for x in q], range(C)), a * entropy(q, range(C)) - a * sp.log(a),
                    "H(a p) = a H(p) - a log a for a normalised p")
    t = sp.Symbol("t", positive=True)
    check_limit(t * sp.log(t), t, 0, 0, "p log p as p -> 0+")


def _formula():
    j, c = sp.Symbol("j", integer=True), sp.Symbol("C", positive=True, integer=True)
    p = sp.IndexedBase("p")
    return ell(-sp.Sum(p[j] * sp.log(p[j]), (j, 1, c)), "H")


define(
    "entropy",
    defaults={"base": None},  # nats
    build=_build,
    formula=_formula,
    gradient_formula=lambda: partial(entropy_gradient(sp.IndexedBase("p"), sp.Symbol("j")), wrt="p_{j}", of="H"),
    prove=_prove_entropy,
    exact_inputs=("pk",),
    gradient_undefined=_zero,
)
