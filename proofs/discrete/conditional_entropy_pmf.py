r"""``conditional_entropy_pmf``: the definition and its machine-checked derivation.

**Definition** (Cover & Thomas eq. 2.10). For a joint table :math:`p_{xy}` (rows :math:`x`, the condition;
columns :math:`y`), :math:`H(Y \mid X) = -\sum_{x,y} p_{xy} \log \frac{p_{xy}}{p_x}` over the cells with
:math:`p_{xy} > 0`, with the row sums :math:`p_x = \sum_y p_{xy}` of the table as given (not normalised).

**Gradient.** Regrouped (for any table), :math:`H(Y \mid X) = -\sum p_{xy} \log p_{xy} + \sum_x p_x \log p_x`, so
:math:`\partial H(Y \mid X) / \partial p_{xy} = -(\log p_{xy} + 1) + (\log p_x + 1) = \log(p_x / p_{xy})`. At
:math:`p_{xy} = 0` it tends to :math:`+\infty`: no gradient there.

**The form refloss evaluates.** Each term :math:`p_{xy} \log(p_x / p_{xy}) \ge 0`; at a row's dominant cell the log
is :math:`\mathrm{log1p}(r / p_{xy})` with :math:`r` the sum of the row's other cells (a peaked row's gradient
:math:`\approx r / p_{xy}` keeps its digits; its condition scale :math:`2 r / p_x` demands them).

**Checked** (``_prove_conditional_entropy``): SymPy's derivative of the definition (row sums of the cells) equals the
closed form on a 2 x 3 table; :math:`H(Y \mid X) = H(X, Y) - H(X)` for any table; :math:`H(Y \mid X) = \sum_x p_x
H(Y \mid X = x)` for a normalised table; :math:`H(Y \mid X) = H(Y)` for an independent table; 0 where Y is a
function of X.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import indexed_sum, nonzero, over_batch, unit
from .entropy import entropy


def conditional_entropy(p, support) -> sp.Expr:
    """-sum over the cells (x, y) in ``support`` of p_xy log(p_xy / p_x), p_x the sum of every cell of row x of the
    table ``p`` (a 2-D object array)."""
    rows = [sp.Add(*p[x, :]) for x in range(p.shape[0])]
    return -sp.Add(*[p[x, y] * sp.log(p[x, y] / rows[x]) for x, y in support])


def gradient(p, x, y) -> sp.Expr:
    return sp.log(sp.Add(*p[x, :]) / p[x, y])


def _build(case, exact):
    p = np.asarray(case["pxy"], dtype=object)
    return over_batch(p, 2, lambda index: conditional_entropy(p[index], nonzero(exact["pxy"][index]))
                      / unit(case["base"]))


def _zero(arguments: dict) -> str | None:
    return "a cell of probability 0 (the derivative of p log(p_x / p) is +inf there)" \
        if (np.asarray(arguments["pxy"]) == 0).any() else None


def _prove_conditional_entropy():
    p = np.array([[sp.Symbol(f"p{x}{y}", positive=True) for y in range(3)] for x in range(2)], dtype=object)
    cells = [(x, y) for x in range(2) for y in range(3)]
    h = conditional_entropy(p, cells)
    for x, y in cells:
        assert_identity(sp.diff(h, p[x, y]), gradient(p, x, y), f"dH/dp_{x}{y} = log(p_{x} / p_{x}{y})")
    assert_identity(h, entropy(list(p.flat), range(6)) - entropy([sp.Add(*p[x, :]) for x in range(2)], range(2)),
                    "H(Y | X) = H(X, Y) - H(X) (any table)")
    q = np.array([[sp.Rational(1, 12), sp.Rational(1, 4), sp.Rational(1, 6)],
                  [sp.Rational(1, 6), sp.Rational(1, 24), sp.Rational(7, 24)]], dtype=object)
    rows = [sp.Add(*q[x, :]) for x in range(2)]
    weighted = sp.Add(*[rows[x] * entropy([c / rows[x] for c in q[x, :]], range(3)) for x in range(2)])
    assert_identity(conditional_entropy(q, cells), weighted, "H(Y | X) = sum_x p_x H(Y | X = x)")
    u, w = sp.symbols("u w", positive=True)
    independent = np.array([[u * w, u * (1 - w)], [(1 - u) * w, (1 - u) * (1 - w)]], dtype=object)
    inside = {u: (sp.Rational(1, 8), sp.Rational(7, 8)), w: (sp.Rational(1, 8), sp.Rational(7, 8))}
    assert_identity(conditional_entropy(independent, [(x, y) for x in range(2) for y in range(2)]),
                    entropy([w, 1 - w], range(2)), "an independent table: H(Y | X) = H(Y)", domains=inside)
    function = np.array([[u, 0], [0, 1 - u]], dtype=object)
    assert_identity(conditional_entropy(function, [(0, 0), (1, 1)]), 0, "Y a function of X: H(Y | X) = 0",
                    domains=inside)


def _formula():
    x, y = sp.symbols("x y", integer=True)
    nx, ny = sp.symbols("X Y", positive=True, integer=True)
    p = sp.IndexedBase("p")
    return ell(-indexed_sum(p[x, y] * sp.log(p[x, y] / sp.Function("p_X")(x)), (x, nx), (y, ny)), r"H(Y \mid X)")


def _gradient_formula():
    x, y = sp.symbols("x y", integer=True)
    p = sp.IndexedBase("p")
    return partial(sp.log(sp.Function("p_X")(x) / p[x, y]), "p_{xy}", r"H(Y \mid X)")


define(
    "conditional_entropy_pmf",
    defaults={"base": None},  # nats
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove_conditional_entropy,
    exact_inputs=("pxy",),
    gradient_undefined=_zero,
)
