r"""``total_correlation_pmf``: the definition and its machine-checked derivation.

**Definition** (Watanabe 1960). For a joint table :math:`p(x)`, :math:`x = (x_1, \ldots, x_k)`, one variable per
axis, with the marginal sums :math:`p_i(x_i) = \sum_{x' : x'_i = x_i} p(x')` of the table as given (not
normalised),

.. math:: \mathrm{TC} = \sum_{i=1}^k H(X_i) - H(X), \qquad H(q) = -\sum q \log q,

each entropy over the entries of its table that are not exactly 0. For k = 1 the one marginal is the table and
TC = 0.

**Gradient.** Regrouping (valid for any table, as the cells with :math:`x_i` fixed sum to :math:`p_i(x_i)`),
:math:`\mathrm{TC} = \sum_x p(x) \log p(x) - \sum_i \sum_{x_i} p_i(x_i) \log p_i(x_i)`, and
:math:`\partial (q \log q) / \partial q = \log q + 1` for the cell and each of its k marginals gives

.. math:: \frac{\partial\,\mathrm{TC}}{\partial p(x)} = \log \frac{p(x)}{\prod_i p_i(x_i)} + 1 - k.

At :math:`p(x) = 0` it tends to :math:`-\infty` where the cell's marginals are positive (one-sided in any case):
no gradient there, for k >= 2.

**The form refloss evaluates.** The same regrouping gives the Kullback-Leibler divergence of the table from the
product of its marginals, :math:`\mathrm{TC} = \sum_x p(x) \log \frac{p(x)}{\prod_i p_i(x_i)}`: one log per cell,
from the mantissas and exponents of the cell and of its k marginal sums. The difference of entropies would cancel
near independence to the rounding of the entropies (of order 1, while TC is of second order in the dependence);
the divergence's terms have both signs too, but each cell's log is rounded once, to about :math:`(k + 1)\epsilon`,
within the condition scale :math:`\sum_x p(x) |\log \frac{p(x)}{\prod_i p_i(x_i)} + 1 - k| \approx (k - 1) S`.

**Checked** (``_prove_total_correlation``): SymPy's derivative of the definition (marginals as sums of the cells)
equals the closed form on a 2 x 2 x 2 table, and TC is there the divergence from the product of the marginals
(both exactly, the logs split into sums); a product table of total S (independent variables, 2 x 3 x 2) has
:math:`\mathrm{TC} = -(k - 1) S \log S`, 0 for S = 1; for X3 = X1 xor X2 of two fair bits TC = log 2, for three
copies of a fair bit TC = 2 log 2; the definition on a table of total :math:`a` is
:math:`a\,\mathrm{TC}(\hat p) - (k - 1) a \log a`; one variable has TC = 0.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import over_batch, unit

HALF, QUARTER = sp.Rational(1, 2), sp.Rational(1, 4)


def marginal(p: np.ndarray, axis: int) -> np.ndarray:
    """The marginal table of the variable on ``axis`` of the table ``p`` (an object or float array): the sums over
    every other axis."""
    others = tuple(a for a in range(p.ndim) if a != axis)
    return p.sum(axis=others) if others else p


def without(p: np.ndarray, axis: int) -> np.ndarray:
    """The marginal table of every variable but the one on ``axis``."""
    return p.sum(axis=axis)


def table_entropy(q: np.ndarray, values: np.ndarray) -> sp.Expr:
    """-sum q log q over the entries of the object array ``q`` whose ``values`` (of the same shape: the same sums
    of the float64 inputs, or of their indicators of not being 0; 0 exactly where every cell summed is 0) are not
    0."""
    return -sp.Add(*[q[i] * sp.log(q[i]) for i in np.ndindex(*q.shape) if values[i] != 0])


def total_correlation(p: np.ndarray, values: np.ndarray) -> sp.Expr:
    """sum_i H(X_i) - H(X) of the table ``p`` (an object array, one variable per axis); ``values``, of its shape,
    is 0 exactly at its entries of 0 (see :func:`table_entropy`)."""
    return sp.Add(*[table_entropy(marginal(p, i), marginal(values, i)) for i in range(p.ndim)]) \
        - table_entropy(p, values)


def divergence_form(p: np.ndarray) -> sp.Expr:
    """sum_x p(x) log(p(x) / prod_i p_i(x_i)) over every cell of the table ``p`` (positive symbols)."""
    margins = [marginal(p, i) for i in range(p.ndim)]
    return sp.Add(*[p[x] * sp.log(p[x] / sp.Mul(*[margins[i][x[i]] for i in range(p.ndim)]))
                    for x in np.ndindex(*p.shape)])


def gradient(p: np.ndarray, x: tuple) -> sp.Expr:
    """The closed form log(p(x) / prod_i p_i(x_i)) + 1 - k."""
    k = p.ndim
    return sp.log(p[x] / sp.Mul(*[marginal(p, i)[x[i]] for i in range(k)])) + 1 - k


def variables_of(case: dict) -> int:
    """The number of variables of a case: ``variables``, or every axis of the table."""
    return np.ndim(case["pjoint"]) if case.get("variables") is None else int(case["variables"])


def _build(case, exact):
    p, values = np.asarray(case["pjoint"], dtype=object), (exact["pjoint"] != 0).astype(np.int64)  # sums of counts
    return over_batch(p, variables_of(case), lambda index: total_correlation(p[index], values[index])
                      / unit(case["base"]))


def _zero(arguments: dict) -> str | None:
    if variables_of(arguments) == 1:
        return None  # TC = 0 everywhere: its gradient 0 exists at every table
    return "a cell of probability 0 (the derivative of p log(p / prod_i p_i) is one-sided there, -inf where the " \
        "cell's marginals are positive)" if (np.asarray(arguments["pjoint"]) == 0).any() else None


def in_logs(expr) -> sp.Expr:
    """``expr`` with every log of a product, quotient or power of positive terms split into a sum of logs, and the
    products expanded (exact for positive symbols): the two sides of an identity between such sums then cancel
    term by term, where ``sympy.simplify`` would take seconds."""
    return sp.expand(sp.expand_log(expr))


def factored_logs(expr) -> sp.Expr:
    """``expr`` with the argument of every log factored (a marginal sum of a product table, a_0 (b_0 + b_1) ...),
    for :func:`in_logs` to split."""
    return expr.replace(lambda e: isinstance(e, sp.log), lambda e: sp.log(sp.factor(e.args[0])))


def product_table(shape: tuple) -> tuple[np.ndarray, sp.Expr]:
    """The table a_i b_j c_k ... of positive symbols (independent variables, not normalised) and its total."""
    vectors = [np.array(sp.symbols(f"{'abcdefgh'[n]}0:{size}", positive=True), dtype=object)
               for n, size in enumerate(shape)]
    table = vectors[0]
    for vector in vectors[1:]:
        table = np.multiply.outer(table, vector)
    return table, sp.Mul(*[sp.Add(*vector) for vector in vectors])


def symbolic_table(name: str, shape: tuple) -> np.ndarray:
    """An object array of positive symbols ``name<index digits>``."""
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = sp.Symbol(name + "".join(map(str, index)), positive=True)
    return out


def xor_table() -> np.ndarray:
    """X3 = X1 xor X2 of two independent fair bits, exact."""
    out = np.zeros((2, 2, 2), dtype=object)
    for a, b in itertools.product(range(2), repeat=2):
        out[a, b, a ^ b] = QUARTER
    return out


def copy_table() -> np.ndarray:
    """X1 = X2 = X3, a fair bit, exact."""
    out = np.zeros((2, 2, 2), dtype=object)
    out[0, 0, 0] = out[1, 1, 1] = HALF
    return out


def exact_values(table: np.ndarray) -> np.ndarray:
    """The float values of an exact table (what decides its entries of 0)."""
    return np.vectorize(float, otypes=[float])(table)


def _prove_total_correlation():
    p = symbolic_table("p", (2, 2, 2))
    ones = np.ones(p.shape)
    tc = total_correlation(p, ones)
    for x in np.ndindex(*p.shape):
        assert_identity(in_logs(sp.diff(tc, p[x])), in_logs(gradient(p, x)), f"dTC/dp_{''.join(map(str, x))} = "
                        "log(p(x) / prod_i p_i(x_i)) + 1 - k")
    assert_identity(in_logs(tc), in_logs(divergence_form(p)), "TC = sum_x p(x) log(p(x) / prod_i p_i(x_i)) (the "
                    "divergence from the product of the marginals)")
    product, total = product_table((2, 3, 2))
    assert_identity(in_logs(factored_logs(total_correlation(product, np.ones(product.shape)))),
                    in_logs(-2 * total * sp.log(total)), "a product table of total S: TC = -(k - 1) S log S (0 for "
                    "a normalised one)")
    assert_identity(total_correlation(xor_table(), exact_values(xor_table())), sp.log(2), "X3 = X1 xor X2: TC = log 2")
    assert_identity(total_correlation(copy_table(), exact_values(copy_table())), 2 * sp.log(2),
                    "X1 = X2 = X3: TC = 2 log 2")
    a = sp.Symbol("a", positive=True)
    q = np.array([[[sp.Rational(1, 12), sp.Rational(1, 6)], [sp.Rational(1, 8), sp.Rational(1, 24)]],
                  [[sp.Rational(1, 6), sp.Rational(1, 12)], [sp.Rational(1, 4), sp.Rational(1, 12)]]], dtype=object)
    assert sum(q.flat) == 1
    assert_identity(total_correlation(a * q, ones), a * total_correlation(q, ones) - 2 * a * sp.log(a),
                    "TC(a p) = a TC(p) - (k - 1) a log a for a normalised table (k = 3)")
    line = symbolic_table("r", (3,))
    assert total_correlation(line, np.ones(3)) == 0, "one variable: TC = 0"


def _formula():
    i, k = sp.Symbol("i", integer=True), sp.Symbol("k", positive=True, integer=True)
    h = sp.Function("H")
    x = sp.IndexedBase("X")
    return ell(sp.Sum(h(x[i]), (i, 1, k)) - h(sp.Symbol("X")), r"\mathrm{TC}")


def _gradient_formula():
    i, k = sp.Symbol("i", integer=True), sp.Symbol("k", positive=True, integer=True)
    p, x = sp.Function("p"), sp.Symbol("x")
    marginals = sp.Product(sp.Function("p_i")(sp.Indexed("x", i)), (i, 1, k))
    return partial(sp.log(p(x) / marginals) + 1 - k, "p(x)", r"\mathrm{TC}")


define(
    "total_correlation_pmf",
    defaults={"variables": None, "base": None},  # every axis a variable; nats
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove_total_correlation,
    exact_inputs=("pjoint",),
    gradient_undefined=_zero,
)
