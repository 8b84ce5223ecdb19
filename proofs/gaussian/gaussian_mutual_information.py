r"""``gaussian_mutual_information``: the definition and its machine-checked derivation.

**Definition** (Cover & Thomas, Sec. 8.5: :math:`I = h(X) + h(Y) - h(X, Y)` with the entropies of
``gaussian_entropy``, whose :math:`\log(2\pi e)` terms cancel). For disjoint index sets X, Y and
:math:`V = X \cup Y`,

.. math:: I(X; Y) = \tfrac12 \log\frac{|\Sigma_X|\,|\Sigma_Y|}{|\Sigma_V|}.

**Canonical correlations** (Gel'fand & Yaglom 1957). Let :math:`L_X, L_Y` be the Cholesky factors of the blocks
and :math:`W = L_X^{-1}\Sigma_{XY}L_Y^{-\top}`. By the Schur complement, :math:`|\Sigma_V| = |\Sigma_X|\,
|\Sigma_Y - \Sigma_{YX}\Sigma_X^{-1}\Sigma_{XY}| = |\Sigma_X|\,|\Sigma_Y|\,|I - W^\top W|`, so with
:math:`s_i` the singular values of W (the canonical correlations, in [0, 1)):

.. math:: I(X; Y) = -\tfrac12 \log|I - W W^\top| = -\tfrac12 \sum_i \log(1 - s_i^2).

For two scalars, :math:`s = |\rho|` and :math:`I = -\tfrac12 \log(1 - \rho^2)`.

**Gradient.** Only :math:`|\Sigma_V|` depends on the cross blocks, and
:math:`\partial \log|M| / \partial M_{ij} = (M^{-1})_{ji}` for independent entries, so (at a symmetric
:math:`\Sigma`, embedding each block's matrix in d x d, zero elsewhere)

.. math:: \frac{\partial I}{\partial \Sigma} = \tfrac12\big(\Sigma_X^{-1} + \Sigma_Y^{-1} - \Sigma_V^{-1}\big).

Block inversion of :math:`\Sigma_V` turns this into the forms of the issue: with :math:`(\Sigma_V^{-1})_{XX} =
L_X^{-\top}(I - WW^\top)^{-1}L_X^{-1}` and :math:`(\Sigma_V^{-1})_{XY} = -L_X^{-\top}(I - WW^\top)^{-1} W
L_Y^{-1}`,

.. math:: G_{XX} = -\tfrac12 L_X^{-\top} W W^\top (I - W W^\top)^{-1} L_X^{-1}, \quad
          G_{XY} = \tfrac12 L_X^{-\top} (I - W W^\top)^{-1} W L_Y^{-1} = G_{YX}^\top,

and :math:`G_{YY}` as :math:`G_{XX}` with :math:`W^\top`. Each of the two entries :math:`\Sigma_{ij}`,
:math:`\Sigma_{ji}` of a cross pair gets the whole :math:`G_{ij}` (independent entries; a symmetric perturbation
of the pair changes I by :math:`2 G_{ij}` per unit), as SymPy's derivative of the definition on :math:`d^2`
symbols confirms.

**Evaluation** (refloss/info/gaussian/_common.py). Let :math:`L` be the Cholesky factor of :math:`\Sigma_V` in
the order (X, Y), with blocks :math:`A = L_X`, :math:`B = \Sigma_{YX} L_X^{-\top}` and D,
:math:`D D^\top = \Sigma_{Y|X}`; and :math:`Q = L_Y`. Then :math:`W^\top = Q^{-1} B` (:math:`W W^\top =
B^\top \Sigma_Y^{-1} B`), and

* the value is :math:`-\tfrac12 \sum_i \mathrm{log1p}(-s_i^2)`: near independence :math:`I \approx \tfrac12
  \sum_i s_i^2`, and the singular values of the triangular solve keep their digits where the difference of the
  three log-determinants of the definition returns rounding noise (a correlation of :math:`10^{-8}` gives
  :math:`I = 5\cdot 10^{-17}`, below the rounding of :math:`\log|\Sigma_V|`). Where some :math:`s_i^2 > 1/2`
  refloss takes the chain rule :math:`I = \tfrac12(\log|\Sigma_Y| - \log|\Sigma_{Y|X}|) = \sum_j
  \log(Q_{jj}/D_{jj})`, a sum of terms :math:`I(X; Y_j \mid Y_{<j}) \ge 0` whose ratios are free of the
  variables' scales, so that :math:`1 - s_i^2` is never rounded from a rounded :math:`s_i` (near a correlation of
  1 a rounded :math:`s_i` may even reach 1);
* the gradient is :math:`G_{XX} = -\tfrac12 K K^\top` and :math:`G_{XY} = \tfrac12 K D^{-1}` with
  :math:`K = (D^{-1} B A^{-1})^\top` (triangular solves; :math:`K K^\top = (\Sigma_V^{-1})_{XX} - \Sigma_X^{-1}`
  by block inversion), and :math:`G_{YY} = -\tfrac12 K' K'^\top` from the factor in the order (Y, X). These are
  products, so a gradient entry of order :math:`\rho^2` near independence is not the difference of two inverses
  of order 1.

**Checked** (``_prove``): with :math:`d^2` independent symbols, for d = 3 (X = {0}, Y = {1, 2}; X = {0}, Y = {2},
a variable in neither set) and d = 4 (X = {0, 2}, Y = {1, 3}), SymPy's derivative of the definition equals the
closed form :math:`\tfrac12(\Sigma_X^{-1} + \Sigma_Y^{-1} - \Sigma_V^{-1})^\top` entry by entry, symmetric at a
symmetric matrix and 0 outside V. At :math:`\Sigma_V = L L^\top` (symbolic L) for every split
:math:`(|X|, |Y|)` of 2 to 4 variables: :math:`G_{XX} = -\tfrac12 KK^\top` and :math:`G_{XY} = \tfrac12 K
D^{-1}` (and :math:`G_{YY}` is the same statement for the order (Y, X), a split proved too);
:math:`|I - WW^\top| = |\Sigma_V| / (|\Sigma_X||\Sigma_Y|)` with :math:`WW^\top = B^\top \Sigma_Y^{-1} B`; and
the chain rule :math:`|\Sigma_X||\Sigma_Y|/|\Sigma_V| = |\Sigma_Y| / |DD^\top|`. Also: the 2 x 2 closed form
:math:`-\tfrac12\log(1 - \rho^2)` and its series :math:`\rho^2/2 + \rho^4/4 + O(\rho^6)`; invariance under
:math:`\Sigma \to S\Sigma S` for a diagonal S; I = 0 and a zero gradient for a diagonal :math:`\Sigma`.
"""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from ._common import (
    assert_gradient,
    assert_symmetric_at_symmetric,
    assert_zero,
    concrete,
    det,
    generic,
    independent,
    indices,
    log_det_gradient,
    lower,
    scalar,
    symmetric_symbols,
    unit,
)


def mutual_information(sx, sy, sv):
    """1/2 log(|Sigma_X| |Sigma_Y| / |Sigma_V|), V = X u Y, from three views of blocks."""
    return sp.log(det(sx) * det(sy) / det(sv)) / 2


def mutual_information_gradient(s: sp.Matrix, x: list[int], y: list[int]) -> sp.Matrix:
    """The closed form (independent entries): 1/2 (Sigma_X^{-1} + Sigma_Y^{-1} - Sigma_V^{-1})^T, embedded."""
    return (log_det_gradient(s, x) + log_det_gradient(s, y) - log_det_gradient(s, x + y)) / 2


class _Matrix:
    def __init__(self, m: sp.Matrix):
        self.matrix, self.d = m, m.shape[0]


def _blocks(s: sp.Matrix, x: list[int], y: list[int]):
    return _Matrix(s.extract(x, x)), _Matrix(s.extract(y, y)), _Matrix(s.extract(x + y, x + y))


def evaluation_forms(nx: int, ny: int):
    """At Sigma_V = L L^T (order X, Y): the closed form's blocks and refloss's forms, and the value identities."""
    L = lower(nx + ny)
    s = L * L.T
    A, B, D = L[:nx, :nx], L[nx:, :nx], L[nx:, nx:]
    inv_s = L.inv().T * L.inv()
    inv_a = A.inv()
    closed_xx = (inv_a.T * inv_a - inv_s[:nx, :nx]) / 2
    closed_xy = -inv_s[:nx, nx:] / 2
    k = (D.inv() * B * inv_a).T
    assert_zero(closed_xx - (-k * k.T / 2), f"G_XX = -K K^T / 2 (|X| = {nx}, |Y| = {ny})")
    assert_zero(closed_xy - k * D.inv() / 2, f"G_XY = K D^-1 / 2 (|X| = {nx}, |Y| = {ny})")
    s_y = B * B.T + D * D.T
    assert_zero(s_y - s[nx:, nx:], "Sigma_Y = B B^T + D D^T")
    ww = B.T * s_y.adjugate() * B / s_y.det()  # W W^T = B^T Sigma_Y^{-1} B
    ratio = (A * A.T).det() * s_y.det() / s.det()
    assert_zero((sp.eye(nx) - ww).det() * ratio - 1, f"|I - W W^T| = |Sigma_V| / (|Sigma_X| |Sigma_Y|) ({nx}, {ny})")
    assert_zero(ratio - s_y.det() / (D * D.T).det(), f"chain rule: |Sigma_X||Sigma_Y|/|Sigma_V| = |Sigma_Y|/|D D^T| "
                f"({nx}, {ny})")


def _prove():
    for d, x, y in ((3, [0], [1, 2]), (3, [0], [2]), (4, [0, 2], [1, 3])):
        s = independent(d)
        closed = mutual_information_gradient(s, x, y)
        assert_gradient(mutual_information(*_blocks(s, x, y)), s, closed, f"gaussian MI (d = {d}, X = {x}, Y = {y})")
        assert_symmetric_at_symmetric(closed, f"gaussian MI's gradient (d = {d})")
        outside = [i for i in range(d) if i not in x + y]
        assert all(closed[i, j] == 0 and closed[j, i] == 0 for i in outside for j in range(d))
    for nx, ny in ((1, 1), (1, 2), (2, 1), (2, 2), (1, 3), (3, 1)):
        evaluation_forms(nx, ny)
    a, b, c = sp.symbols("a b c", positive=True)
    two = sp.Matrix([[a, c], [c, b]])
    rho = c / sp.sqrt(a * b)
    assert_zero(sp.exp(2 * mutual_information(*_blocks(two, [0], [1]))) - 1 / (1 - rho**2),
                "I = -log(1 - rho^2) / 2 for two scalars")
    r = sp.Symbol("rho", real=True)
    series = sp.series(-sp.log(1 - r**2) / 2, r, 0, 6).removeO()
    assert_zero(series - (r**2 / 2 + r**4 / 4), "-log(1 - rho^2) / 2 = rho^2 / 2 + rho^4 / 4 + O(rho^6)")
    s, t = symmetric_symbols(3), sp.Matrix(sp.symbols("t0:3", positive=True))
    scaled = sp.diag(*t) * s * sp.diag(*t)
    before, after = (sp.exp(2 * mutual_information(*_blocks(m, [0], [1, 2]))) for m in (s, scaled))
    assert_zero(after - before, "I(S Sigma S) = I(Sigma) for a diagonal S")
    diagonal = {e: 0 for e in independent(4) if str(e)[2] != str(e)[3]}
    s4 = independent(4)
    assert_zero(sp.exp(2 * mutual_information(*_blocks(s4, [0, 2], [1, 3]))).xreplace(diagonal) - 1,
                "I = 0 for a diagonal Sigma")
    assert_zero(mutual_information_gradient(s4, [0, 2], [1, 3]).xreplace(diagonal), "a zero gradient there")


def _build(case):
    s = concrete(case)
    x, y = indices(case, "x"), indices(case, "y")
    return scalar(mutual_information(s.block(x), s.block(y), s.block(x + y)) / unit(case))


def _generic_gradient():
    dx, dy = sp.symbols("d_X d_Y", positive=True, integer=True)
    lx, ly = sp.MatrixSymbol("L_{X}", dx, dx), sp.MatrixSymbol("L_{Y}", dy, dy)
    w = sp.MatrixSymbol("W", dx, dy)
    ix, iy = sp.Identity(dx), sp.Identity(dy)
    half = sp.S.Half
    return sp.Tuple(
        partial(-half * lx.T.I * w * w.T * (ix - w * w.T).I * lx.I, r"\Sigma_{X}", "I"),
        partial(-half * ly.T.I * w.T * w * (iy - w.T * w).I * ly.I, r"\Sigma_{Y}", "I"),
        partial(half * lx.T.I * (ix - w * w.T).I * w * ly.I, r"\Sigma_{XY}", "I"))


def _formula():
    g = generic()
    return ell(mutual_information(g.block("X"), g.block("Y"), g.block(r"X \cup Y")), "I(X; Y)")


define(
    "gaussian_mutual_information",
    defaults={"base": None},  # nats
    build=_build,
    formula=_formula,
    gradient_formula=_generic_gradient,
    prove=_prove,
)
