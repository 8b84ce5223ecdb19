r"""``mutual_information_pmf``: the definition and its machine-checked derivation.

**Definition** (Cover & Thomas eq. 2.28). For a joint table :math:`p_{xy}` (rows :math:`x`, columns :math:`y`),
:math:`I = \sum_{x,y} p_{xy} \log \frac{p_{xy}}{p_x p_y}` over the cells with :math:`p_{xy} > 0`, with the marginal
sums :math:`p_x = \sum_y p_{xy}`, :math:`p_y = \sum_x p_{xy}` of the table as given (not normalised).

**Gradient.** The marginals depend on every cell of their row or column. Regrouping the sum (valid for any table,
as :math:`\sum_y p_{xy} = p_x`), :math:`I = \sum p_{xy} \log p_{xy} - \sum_x p_x \log p_x - \sum_y p_y \log p_y`,
and :math:`\partial (p \log p) / \partial p = \log p + 1` for each of the three gives
:math:`\partial I / \partial p_{xy} = \log \frac{p_{xy}}{p_x p_y} - 1`. At :math:`p_{xy} = 0` it tends to
:math:`-\infty`: no gradient there.

**The form refloss evaluates.** Each log from the mantissas and exponents of the cell and of both sums; the terms
have both signs and cancel near independence, within the condition scale
:math:`\sum p_{xy} |\log \frac{p_{xy}}{p_x p_y} - 1|`.

**Checked** (``_prove_mutual_information``): SymPy's derivative of the definition (marginals as sums of the cells)
equals the closed form on a 2 x 3 table; :math:`I = H(X) + H(Y) - H(X, Y)` for a normalised table; the
definition on a table of total :math:`a` is :math:`a I(\hat p) - a \log a`; an independent table has :math:`I = 0`;
a diagonal table has :math:`I = H(X)`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import indexed_sum, nonzero, over_batch, unit
from .entropy import entropy


def mutual_information(p, support) -> sp.Expr:
    """sum over the cells (x, y) in ``support`` of p_xy log(p_xy / (p_x p_y)), the marginals summing every cell of
    the row and column of the table ``p`` (a 2-D object array)."""
    rows = [sp.Add(*p[x, :]) for x in range(p.shape[0])]
    cols = [sp.Add(*p[:, y]) for y in range(p.shape[1])]
    return sp.Add(*[p[x, y] * sp.log(p[x, y] / (rows[x] * cols[y])) for x, y in support])


def gradient(p, x, y) -> sp.Expr:
    return sp.log(p[x, y] / (sp.Add(*p[x, :]) * sp.Add(*p[:, y]))) - 1


def _build(case, exact):
    p = np.asarray(case["pxy"], dtype=object)
    return over_batch(p, 2, lambda index: mutual_information(p[index], nonzero(exact["pxy"][index]))
                      / unit(case["base"]))


def _zero(arguments: dict) -> str | None:
    return "a cell of probability 0 (the derivative of p log(p / (p_x p_y)) is -inf there)" \
        if (np.asarray(arguments["pxy"]) == 0).any() else None


def _table(name, nx, ny, **assumptions):
    return np.array([[sp.Symbol(f"{name}{x}{y}", **assumptions) for y in range(ny)] for x in range(nx)], dtype=object)


def _prove_mutual_information():
    p = _table("p", 2, 3, positive=True)
    cells = [(x, y) for x in range(2) for y in range(3)]
    i = mutual_information(p, cells)
    for x, y in cells:
        assert_identity(sp.diff(i, p[x, y]), gradient(p, x, y), f"dI/dp_{x}{y} = log(p_{x}{y} / (p_{x} p_{y})) - 1")
    q = np.array([[sp.Rational(1, 12), sp.Rational(1, 4), sp.Rational(1, 6)],
                  [sp.Rational(1, 6), sp.Rational(1, 24), sp.Rational(7, 24)]], dtype=object)
    qq = list(q.flat)
    hx = entropy([sp.Add(*q[x, :]) for x in range(2)], range(2))
    hy = entropy([sp.Add(*q[:, y]) for y in range(3)], range(3))
    assert_identity(mutual_information(q, cells), hx + hy - entropy(qq, range(6)), "I = H(X) + H(Y) - H(X, Y)")
    a = sp.Symbol("a", positive=True)
    assert_identity(mutual_information(a * q, cells), a * mutual_information(q, cells) - a * sp.log(a),
                    "I(a p) = a I(p) - a log a for a normalised table")
    u, w = sp.symbols("u w", positive=True)
    independent = np.array([[u * w, u * (1 - w)], [(1 - u) * w, (1 - u) * (1 - w)]], dtype=object)
    assert_identity(mutual_information(independent, [(x, y) for x in range(2) for y in range(2)]), 0,
                    "an independent table: I = 0", domains={u: (sp.Rational(1, 8), sp.Rational(7, 8)),
                                                             w: (sp.Rational(1, 8), sp.Rational(7, 8))})
    diagonal = np.array([[u, 0], [0, 1 - u]], dtype=object)
    assert_identity(mutual_information(diagonal, [(0, 0), (1, 1)]), entropy([u, 1 - u], range(2)),
                    "a diagonal table: I = H(X)", domains={u: (sp.Rational(1, 8), sp.Rational(7, 8))})


def _formula():
    x, y = sp.symbols("x y", integer=True)
    nx, ny = sp.symbols("X Y", positive=True, integer=True)
    p = sp.IndexedBase("p")
    px, py = sp.Function("p_X")(x), sp.Function("p_Y")(y)
    return ell(indexed_sum(p[x, y] * sp.log(p[x, y] / (px * py)), (x, nx), (y, ny)), "I")


def _gradient_formula():
    x, y = sp.symbols("x y", integer=True)
    p = sp.IndexedBase("p")
    return partial(sp.log(p[x, y] / (sp.Function("p_X")(x) * sp.Function("p_Y")(y))) - 1, "p_{xy}", "I")


define(
    "mutual_information_pmf",
    defaults={"base": None},  # nats
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove_mutual_information,
    exact_inputs=("pxy",),
    gradient_undefined=_zero,
)
