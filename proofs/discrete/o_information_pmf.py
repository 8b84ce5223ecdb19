r"""``o_information_pmf``: the definition and its machine-checked derivation.

**Definition** (Rosas, Mediano, Gastpar, Jensen 2019: :math:`\Omega = \mathrm{TC} - \mathrm{DTC}`, with the dual
total correlation :math:`\mathrm{DTC} = H(X) - \sum_i H(X_i \mid X_{-i})`, in its entropy form). For a joint table
of :math:`X = (X_1, \ldots, X_k)`, one variable per axis, :math:`X_{-i}` every variable but :math:`X_i`,

.. math:: \Omega = (k - 2)\,H(X) + \sum_{i=1}^k \big[H(X_i) - H(X_{-i})\big],

each entropy :math:`-\sum q \log q` of the marginal sums of the table as given (not normalised) over the entries
not exactly 0. For k = 2 the terms cancel: :math:`\Omega = 0`.

**Equivalent forms** (identities of entropies, checked for k = 3, 4, 5 on symbols :math:`H_A`, one per subset
A of the variables, with :math:`H(X_i \mid X_{-i}) = H(X) - H(X_{-i})`):

.. math:: \Omega = \mathrm{TC} - \mathrm{DTC} = \sum_i \mathrm{TC}(X_{-i}) - (k - 2)\,\mathrm{TC}(X).

**The form refloss evaluates.** Each total correlation is a divergence :math:`\sum_x p(x) L(x)`
(``total_correlation_pmf``), and :math:`\mathrm{TC}(X_{-i}) = \sum_x p(x) L_{-i}(x)` (its log depends on
:math:`x_{-i}` only), so

.. math:: \Omega = \sum_x p(x)\,\omega(x), \qquad \omega(x) = \sum_i L_{-i}(x) - (k - 2) L(x)
          = \log \frac{\prod_i p_{-i}(x_{-i})}{p(x)^{k-2} \prod_i p_i(x_i)},

the local O-information, one log of one quotient per cell (from mantissas and exponents). Near independence
:math:`\Omega` is of third order in the dependence; every entropy in the definition is of order 1 and every total
correlation of second order, so those forms cancel to their rounding, while :math:`\omega(x)` is rounded once, to
about :math:`(3k - 2)\,\epsilon/2`. The condition scale there is :math:`\approx (k - 2) S` (the gradient's
constant), so that rounding is within 16 ulps of it for every k.

**Gradient.** :math:`\partial H(q) / \partial p(x) = -(\log q(x_A) + 1)` for each marginal table, :math:`x_A` the
marginal cell of x; the constants leave :math:`-(k - 2) - k + k` and the logs :math:`\omega(x)`:

.. math:: \frac{\partial \Omega}{\partial p(x)} = \omega(x) - (k - 2),

:math:`+\infty` at :math:`p(x) = 0` where the cell's marginals are positive (one-sided in any case): no gradient
there, for k >= 3.

**Checked** (``_prove_o_information``): the identities of entropies above for k = 3, 4, 5; on a 2 x 2 x 2 table,
the definition equals :math:`\sum_i \mathrm{TC}(X_{-i}) - (k - 2)\mathrm{TC}(X)` (with the definitions of
``total_correlation_pmf``) and :math:`\sum_x p(x)\omega(x)`, and SymPy's derivative equals the closed form (exactly,
the logs split into sums); a product table of total S (independent variables, 2 x 2 x 3) has
:math:`\Omega = -(k - 2) S \log S`, 0 for S = 1; :math:`\Omega = 0` on a 2 x 3 table; :math:`\Omega = -\log 2`
for X3 = X1 xor X2 of two fair bits (synergy) and :math:`+\log 2` for three copies of a fair bit (redundancy); the
definition on a table of total :math:`a` is :math:`a\,\Omega(\hat p) - (k - 2) a \log a`.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import over_batch, unit
from .total_correlation_pmf import (
    copy_table,
    exact_values,
    factored_logs,
    in_logs,
    marginal,
    product_table,
    symbolic_table,
    table_entropy,
    total_correlation,
    variables_of,
    without,
    xor_table,
)


def o_information(p: np.ndarray, values: np.ndarray) -> sp.Expr:
    """(k - 2) H(X) + sum_i [H(X_i) - H(X_-i)] of the table ``p`` (an object array, one variable per axis, k >= 2),
    ``values``, of its shape, is 0 exactly at its entries of 0 (see ``total_correlation_pmf.table_entropy``)."""
    k = p.ndim
    return (k - 2) * table_entropy(p, values) + sp.Add(*[
        table_entropy(marginal(p, i), marginal(values, i)) - table_entropy(without(p, i), without(values, i))
        for i in range(k)])


def local(p: np.ndarray, x: tuple) -> sp.Expr:
    """omega(x) = log(prod_i p_-i(x_-i) / (p(x)^(k - 2) prod_i p_i(x_i)))."""
    k = p.ndim
    rest = sp.Mul(*[without(p, i)[x[:i] + x[i + 1:]] for i in range(k)])
    return sp.log(rest / (p[x] ** (k - 2) * sp.Mul(*[marginal(p, i)[x[i]] for i in range(k)])))


def gradient(p: np.ndarray, x: tuple) -> sp.Expr:
    """The closed form omega(x) - (k - 2)."""
    return local(p, x) - (p.ndim - 2)


def _build(case, exact):
    p, values = np.asarray(case["pjoint"], dtype=object), (exact["pjoint"] != 0).astype(np.int64)  # sums of counts
    return over_batch(p, variables_of(case), lambda index: o_information(p[index], values[index])
                      / unit(case["base"]))


def _zero(arguments: dict) -> str | None:
    if variables_of(arguments) == 2:
        return None  # Omega = 0 everywhere: its gradient 0 exists at every table
    return "a cell of probability 0 (the derivative of -(k - 2) p log p is +inf there where the cell's marginals " \
        "are positive, one-sided in any case)" if (np.asarray(arguments["pjoint"]) == 0).any() else None


def _entropy_identities(k: int) -> None:
    """TC - DTC = (k - 2) H + sum_i [H_i - H_-i] = sum_i TC(X_-i) - (k - 2) TC on one symbol per subset."""
    h = {a: sp.Symbol("H_" + "".join(map(str, a))) for r in range(1, k + 1)
         for a in itertools.combinations(range(k), r)}
    everything = tuple(range(k))

    def tc(subset):
        return sp.Add(*[h[(i,)] for i in subset]) - h[subset]

    def rest(i, subset=everything):
        return tuple(j for j in subset if j != i)

    dtc = h[everything] - sp.Add(*[h[everything] - h[rest(i)] for i in range(k)])
    definition = (k - 2) * h[everything] + sp.Add(*[h[(i,)] - h[rest(i)] for i in range(k)])
    assert_identity(tc(everything) - dtc, definition, f"TC - DTC = (k - 2) H + sum_i [H_i - H_-i] (k = {k})")
    assert_identity(sp.Add(*[tc(rest(i)) for i in range(k)]) - (k - 2) * tc(everything), definition,
                    f"sum_i TC(X_-i) - (k - 2) TC = (k - 2) H + sum_i [H_i - H_-i] (k = {k})")


def _prove_o_information():
    for k in (3, 4, 5):
        _entropy_identities(k)
    p = symbolic_table("p", (2, 2, 2))
    ones = np.ones(p.shape)
    omega = o_information(p, ones)
    through_tc = sum(total_correlation(without(p, i), np.ones(without(p, i).shape)) for i in range(3)) \
        - total_correlation(p, ones)
    assert_identity(omega, through_tc, "Omega = sum_i TC(X_-i) - (k - 2) TC(X) on a 2 x 2 x 2 table")
    assert_identity(in_logs(omega), in_logs(sp.Add(*[p[x] * local(p, x) for x in np.ndindex(*p.shape)])),
                    "Omega = sum_x p(x) omega(x), the local O-information")
    for x in np.ndindex(*p.shape):
        assert_identity(in_logs(sp.diff(omega, p[x])), in_logs(gradient(p, x)),
                        f"dOmega/dp_{''.join(map(str, x))} = omega(x) - (k - 2)")
    product, total = product_table((2, 2, 3))
    assert_identity(in_logs(factored_logs(o_information(product, np.ones(product.shape)))),
                    in_logs(-total * sp.log(total)), "a product table of total S: Omega = -(k - 2) S log S (0 for a "
                    "normalised one)")
    pair = symbolic_table("q", (2, 3))
    assert o_information(pair, np.ones(pair.shape)) == 0, "two variables: Omega = 0"
    assert_identity(o_information(xor_table(), exact_values(xor_table())), -sp.log(2),
                    "X3 = X1 xor X2: Omega = -log 2 (synergy)")
    assert_identity(o_information(copy_table(), exact_values(copy_table())), sp.log(2),
                    "X1 = X2 = X3: Omega = log 2 (redundancy)")
    a = sp.Symbol("a", positive=True)
    q = np.array([[[sp.Rational(1, 12), sp.Rational(1, 6)], [sp.Rational(1, 8), sp.Rational(1, 24)]],
                  [[sp.Rational(1, 6), sp.Rational(1, 12)], [sp.Rational(1, 4), sp.Rational(1, 12)]]], dtype=object)
    assert sum(q.flat) == 1
    assert_identity(o_information(a * q, ones), a * o_information(q, ones) - a * sp.log(a),
                    "Omega(a p) = a Omega(p) - (k - 2) a log a for a normalised table (k = 3)")


def _formula():
    i, k = sp.Symbol("i", integer=True), sp.Symbol("k", positive=True, integer=True)
    h, x = sp.Function("H"), sp.IndexedBase("X")
    rest = sp.Symbol("X_{-i}")
    return ell((k - 2) * h(sp.Symbol("X")) + sp.Sum(h(x[i]) - h(rest), (i, 1, k)), r"\Omega")


def _gradient_formula():
    i, k = sp.Symbol("i", integer=True), sp.Symbol("k", positive=True, integer=True)
    p, x = sp.Function("p"), sp.Symbol("x")
    rest = sp.Product(sp.Function("p_{-i}")(sp.Symbol("x_{-i}")), (i, 1, k))
    marginals = sp.Product(sp.Function("p_i")(sp.Indexed("x", i)), (i, 1, k))
    below = sp.Mul(p(x) ** (k - 2), marginals, evaluate=False)  # unevaluated: p(x)^(k - 2) stays in the denominator
    return partial(sp.log(sp.Mul(rest, sp.Pow(below, -1, evaluate=False), evaluate=False)) - (k - 2), "p(x)",
                   r"\Omega")


define(
    "o_information_pmf",
    defaults={"variables": None, "base": None},  # every axis a variable; nats
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove_o_information,
    exact_inputs=("pjoint",),
    gradient_undefined=_zero,
)
