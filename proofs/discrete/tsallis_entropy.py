r"""``tsallis_entropy``: the definition and its machine-checked derivation.

**Definition** (Tsallis 1988, Eqs. 1-2, :math:`k = 1`). For :math:`q > 0`, :math:`q \ne 1`,
:math:`S_q(p) = \sum_j (p_j - p_j^q)/(q - 1)`, and :math:`S_1(p) = -\sum_j p_j \log p_j` over the outcomes with
:math:`p_j > 0`. For a normalised :math:`p` the first is the paper's :math:`(1 - \sum_j p_j^q)/(q - 1)`; for the
numbers as given (the family's convention: not normalised) the 1 is written :math:`\sum_j p_j`, so that
:math:`S_q \to S_1` as :math:`q \to 1` for any :math:`p`, not only a normalised one (refloss's choice).

**Gradient.** :math:`\partial S_q / \partial p_j = (1 - q p_j^{q-1})/(q - 1)`, and Shannon's
:math:`-(\log p_j + 1)` at :math:`q = 1`. At :math:`p_j = 0` the one-sided derivative is :math:`1/(q-1)` for
:math:`q > 1` (the definition then keeps the zero outcomes: :math:`0 - 0^q = 0`), and :math:`+\infty` for
:math:`q \le 1`: no gradient there.

**The forms refloss evaluates.** With :math:`t = q - 1`, :math:`l_j = \log p_j` and
:math:`\mathrm{exprel}(x) = (e^x - 1)/x`: the term is :math:`p_j \cdot (-l_j)\,\mathrm{exprel}(t l_j)` where
:math:`|t l_j| \le 1` (Shannon's :math:`-p_j l_j` at :math:`t = 0`), :math:`p_j (-\mathrm{expm1}(t l_j))/t` where
:math:`t l_j < -1`, and :math:`(p_j - p_j^q)/t` with one correctly rounded power where :math:`t l_j > 1`
(:math:`p_j^q > e\,p_j` there: nothing cancels). The gradient is
:math:`-l_j\,\mathrm{exprel}(t l_j) - e^{t l_j}` where :math:`|t l_j| \le 1`, else :math:`(1 - q p_j^t)/t` with one
power. Where :math:`|t l_j|` is large an :math:`e^{t l_j}` from a rounded :math:`t l_j` would lose :math:`|t l_j|`
ulps, which the condition scale does not allow when :math:`q` is small.

**Checked** (``_prove``): for :math:`C = 3`, SymPy's derivative of the definition equals the closed form at a
symbolic :math:`q` and at :math:`q = 1`; the evaluation forms equal the definition's; :math:`S_q \to S_1` as
:math:`q \to 1` for unnormalised numbers; the paper's form for a normalised :math:`p`; :math:`S_2 = \sum_j p_j -
\sum_j p_j^2`; the uniform distribution gives :math:`(1 - C^{1-q})/(q - 1)`; pseudo-additivity
:math:`S_q(A B) = S_q(A) + S_q(B) + (1 - q) S_q(A) S_q(B)` of independent normalised distributions (Tsallis
1988; the equation number is not checked).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identities_numerically, assert_identity, check_limit
from ._common import indexed_sum, over_batch
from .entropy import entropy, entropy_gradient

C = 3
Q = sp.Symbol("q", positive=True)


def tsallis_entropy(p, support, q) -> sp.Expr:
    """sum_j (p_j - p_j^q)/(q - 1) over ``support``; Shannon's -sum_j p_j log p_j there at q = 1."""
    if sp.sympify(q) == 1:
        return entropy(p, support)
    return sp.Add(*[p[j] - p[j] ** q for j in support]) / (q - 1)


def tsallis_entropy_gradient(p, j, q) -> sp.Expr:
    """The closed form of refloss.tsallis_entropy_grad."""
    if sp.sympify(q) == 1:
        return entropy_gradient(p, j)
    return (1 - q * p[j] ** (q - 1)) / (q - 1)


def _build(case, exact):
    p, values, q = np.asarray(case["pk"], dtype=object), exact["pk"], case["q"]
    # q > 1 keeps the zero outcomes (0 - 0^q = 0), so that their one-sided derivative 1/(q - 1) is the oracle's
    keep_zeros = sp.sympify(q) > 1

    def one(index):
        support = [j for j in range(p.shape[-1]) if keep_zeros or values[index + (j,)] != 0]
        return tsallis_entropy(p[index], support, q)

    return over_batch(p, 1, one)


def _zero(arguments: dict) -> str | None:
    if float(arguments["q"]) <= 1.0 and (np.asarray(arguments["pk"]) == 0).any():
        return "an outcome of probability 0 at q <= 1 (the derivative of p - p^q is +inf there)"
    return None


def _exprel(x):
    return (sp.exp(x) - 1) / x


def _prove():
    p = [sp.Symbol(f"p{j}", positive=True) for j in range(C)]
    for q in (Q, 1):
        for j in range(C):
            assert_identity(sp.diff(tsallis_entropy(p, range(C), q), p[j]), tsallis_entropy_gradient(p, j, q),
                            f"dS_q/dp_{j} (q = {q})")
    t, domains = Q - 1, {Q: (sp.Rational(1, 8), 3), **{x: (sp.Rational(1, 20), 2) for x in p}}
    pairs = []
    for j in range(C):
        log_p = sp.log(p[j])
        pairs.append(((p[j] - p[j] ** Q) / t, p[j] * (-log_p) * _exprel(t * log_p), f"term {j}: p (-log p) exprel"))
        pairs.append(((p[j] - p[j] ** Q) / t, p[j] * -(sp.exp(t * log_p) - 1) / t, f"term {j}: p (-expm1) / t"))
        pairs.append((tsallis_entropy_gradient(p, j, Q), -log_p * _exprel(t * log_p) - sp.exp(t * log_p),
                      f"gradient {j}: -log p exprel(t log p) - p^t"))
    assert_identities_numerically(pairs, "tsallis_entropy's evaluation forms", domains=domains, points=3)
    point = [sp.Rational(1, 5), sp.Rational(2, 3), sp.Rational(3, 2)]  # not normalised
    check_limit(tsallis_entropy(point, range(C), Q), Q, 1, entropy(point, range(C)), "S_q -> S_1 as q -> 1")
    normalised = [sp.Rational(1, 6), sp.Rational(1, 3), sp.Rational(1, 2)]
    assert_identity(tsallis_entropy(normalised, range(C), Q), (1 - sum(x**Q for x in normalised)) / (Q - 1),
                    "normalised: Tsallis's (1 - sum p^q)/(q - 1)")
    assert_identity(tsallis_entropy(p, range(C), 2), sum(p) - sum(x**2 for x in p), "S_2 = sum p - sum p^2")
    assert_identity(tsallis_entropy([sp.Rational(1, C)] * C, range(C), Q), (1 - sp.Integer(C) ** (1 - Q)) / (Q - 1),
                    "uniform: (1 - C^(1-q))/(q - 1)")
    a, b = [sp.Rational(1, 4), sp.Rational(3, 4)], normalised
    product = [x * y for x in a for y in b]
    s_a, s_b = tsallis_entropy(a, range(2), Q), tsallis_entropy(b, range(C), Q)
    assert_identities_numerically([(tsallis_entropy(product, range(2 * C), Q), s_a + s_b + (1 - Q) * s_a * s_b,
                                    "pseudo-additivity")], "tsallis_entropy", domains={Q: (sp.Rational(1, 8), 3)},
                                  points=3)


def _formula():
    j, c, q = sp.Symbol("j", integer=True), sp.Symbol("C", positive=True, integer=True), sp.Symbol("q")
    p = sp.IndexedBase("p")
    return ell(indexed_sum(p[j] - p[j] ** q, (j, c)) / (q - 1), "S_{q}")


define(
    "tsallis_entropy",
    defaults={"q": 2.0},  # the paper states no order: 2 (the Gini-Simpson index) is refloss's
    build=_build,
    formula=_formula,
    gradient_formula=lambda: partial(tsallis_entropy_gradient(sp.IndexedBase("p"), sp.Symbol("j"), sp.Symbol("q")),
                                     wrt="p_{j}", of="S_{q}"),
    prove=_prove,
    exact_inputs=("pk",),
    gradient_undefined=_zero,
)
