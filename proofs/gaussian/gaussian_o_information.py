r"""``gaussian_o_information``: the definition and its machine-checked derivation.

**Definition** (Rosas, Mediano, Gastpar, Jensen 2019: :math:`\Omega = \mathrm{TC} - \mathrm{DTC} = (n - 2) H(X) +
\sum_j [H(X_j) - H(X_{-j})]`, :math:`X_{-j}` all variables but :math:`X_j`; with the entropies of
``gaussian_entropy`` the :math:`\log(2\pi e)` terms cancel, :math:`(n - 2)n + n - n(n - 1) = 0`;
research/anchors_mi.md, Sec. 6):

.. math:: \Omega = \tfrac12\Big[(n - 2)\log|\Sigma| + \sum_{j=1}^n \big(\log\Sigma_{jj} - \log|\Sigma_{-j}|\big)\Big].

Each variable is one coordinate. For n = 1 and n = 2 it is 0 (:math:`\mathrm{TC} = \mathrm{DTC} = I(X_1; X_2)`).

**Equivalent forms** (identities of entropies, checked for n = 3, 4, 5 on symbols :math:`H_A`, one per subset):

.. math:: \Omega = \mathrm{TC} - \mathrm{DTC} = (2 - n)\,\mathrm{TC}(X) + \sum_j \mathrm{TC}(X_{-j})
          = 2\,\mathrm{TC}(X) - \sum_j I(X_j; X_{-j}),

with :math:`\mathrm{DTC} = H(X) - \sum_j H(X_j \mid X_{-j})`. None of them is evaluated: near independence
(:math:`R = I + E`) :math:`\log|R| = -\tfrac12\mathrm{tr}E^2 + \tfrac13\mathrm{tr}E^3 - \ldots` and
:math:`\sum_j \log P_{jj} = \mathrm{tr}E^2 - \mathrm{tr}E^3 + \ldots` (:math:`P = R^{-1}`), so
:math:`\Omega = -\log|R| - \tfrac12\sum_j\log P_{jj} = \tfrac16\mathrm{tr}E^3 + O(E^4) = \sum_{i<j<k}\rho_{ij}
\rho_{jk}\rho_{ik} + O(\rho^4)`: third order, from total correlations and mutual informations of second order,
which cancel to rounding noise (correlations of 1e-8: :math:`\Omega \approx 10^{-24}` from terms of
:math:`10^{-16}`).

**The increments.** Adding a variable Y to :math:`X = (X_1, \ldots, X_m)` changes :math:`\Omega` by
(Rosas et al.'s increment; the identity is checked on entropies for m = 2, 3, 4)

.. math:: \Delta_m = \Omega(X, Y) - \Omega(X) = I(Y; X) - \sum_{j=1}^m I(Y; X_j \mid X_{-j}),

and :math:`\Omega = \sum_{m=2}^{n-1} \Delta_m` (:math:`\Omega(X_1, X_2) = 0`). For the Gaussian, in the correlation
matrix R (the value is invariant under scaling each variable), with :math:`R_m` the block of X, r the correlations
of Y with X, :math:`\beta = R_m^{-1} r`, :math:`R^2 = r^\top\beta`, :math:`P = R_m^{-1}`, :math:`E = R_m - I`:

.. math:: e^{2 I(Y; X)} = 1 + u,\ u = \frac{R^2}{1 - R^2}; \qquad
          e^{2 I(Y; X_j \mid X_{-j})} = 1 + w_j,\ w_j = \frac{\beta_j^2}{P_{jj}(1 - R^2)};

.. math:: u - \sum_j w_j = \frac{\beta^\top E\beta + \sum_j \beta_j^2 c_j}{1 - R^2}, \qquad
          c_j = \frac{P_{jj} - 1}{P_{jj}}, \quad P_{jj} - 1 = -(P E)_{jj},

(because :math:`R^2 = \beta^\top R_m \beta = \sum_j \beta_j^2 + \beta^\top E \beta` and :math:`1/P_{jj} = 1 -
c_j`), so with :math:`e_{\ge 2}(w) = \prod_j (1 + w_j) - 1 - \sum_j w_j`,

.. math:: \Delta_m = \tfrac12\,\mathrm{log1p}(t), \qquad t = \frac{1 + u}{\prod_j (1 + w_j)} - 1
          = \frac{(u - \sum_j w_j) - e_{\ge 2}(w)}{\prod_j (1 + w_j)}.

Near independence :math:`\beta \approx r`, :math:`E`, :math:`c_j \approx \sum_k \rho_{jk}^2` and :math:`w_j` are
small, and every term of the numerator is a product of at least three of them: no term of second order is
formed. Where Y is nearly determined or :math:`\beta` is large, these terms grow; refloss then takes the numerator
as :math:`u - \sum_j w_j`, or :math:`\Delta_m` as :math:`\tfrac12[\mathrm{log1p}(u) - \sum_j \mathrm{log1p}(w_j)]`,
whichever has the smaller terms (there the condition of :math:`\Omega` is of their size). From the Cholesky factor
:math:`\tilde L` of R (rows of unit norm): row m of it restricted to X is :math:`\ell = \tilde L_m^{-1} r`,
:math:`R^2 = \ell^\top\ell`, :math:`1 - R^2 = \tilde L_{mm}^2`, :math:`\beta = \tilde L_m^{-\top}\ell`, and
:math:`\tilde L_m^{-1}` is the leading block of :math:`\tilde L^{-1}`.

**Gradient** (independent entries). :math:`\partial\log|\Sigma_{-j}|/\partial\Sigma` is
:math:`\Sigma_{-j}^{-\top}` embedded, and :math:`\Sigma_{-j}^{-1}` embedded equals :math:`P - P e_j e_j^\top P /
P_{jj}` (:math:`P = \Sigma^{-1}`: the inverse of a principal block from the inverse), so
:math:`\sum_j \Sigma_{-j}^{-1} = nP - P\,\mathrm{diag}(P)^{-1}P` and

.. math:: G = \tfrac12\big[\mathrm{diag}(\Sigma)^{-1} - 2P + P\,\mathrm{diag}(P)^{-1} P\big], \qquad
          G_{ij} = \tfrac12 \sum_{k \ne i, j} \frac{P_{ik}P_{kj}}{P_{kk}}\ (i \ne j):

the terms k = i and k = j of :math:`(P\,\mathrm{diag}(P)^{-1}P)_{ij}` are :math:`2P_{ij}`, which :math:`-2P`
cancels exactly, so the off-diagonal entries are formed without it (near independence they are
:math:`\tfrac12 (E^2)_{ij}`, second order, against terms of first order in :math:`-2P_{ij}`). The diagonal, a
difference of terms of order :math:`1/\Sigma_{ii}` there, comes from the invariance :math:`\Omega(D\Sigma D) =
\Omega(\Sigma)` (D diagonal), whose derivative gives :math:`\sum_j G_{ij}\Sigma_{ij} = 0`:
:math:`G_{ii} = -\sum_{j \ne i} G_{ij}\Sigma_{ij} / \Sigma_{ii}`.

**Checked** (``_prove``): SymPy's derivative of the definition equals the closed form (its
:math:`\Sigma_{-j}^{-\top}` form) for n = 3 and n = 4 (independent symbols), symmetric at a symmetric matrix; at
a symmetric :math:`\Sigma` it equals :math:`\tfrac12[\mathrm{diag}(\Sigma)^{-1} - 2P +
P\,\mathrm{diag}(P)^{-1}P]`, its off-diagonal entries the sums over :math:`k \ne i, j`, and :math:`\sum_j
G_{ij}\Sigma_{ij} = 0` (symbolically for n = 3; for n = 4 exactly, in rationals, at three fixed positive definite
points: the symbolic n = 4 identities take minutes); the entropy identities above; the increment
:math:`e^{2\Delta_m} = (1 + u)/\prod_j(1 + w_j)` from the definition, :math:`e^{2I(Y; X)} = 1 + u`,
:math:`e^{2I(Y; X_j \mid X_{-j})} = 1 + w_j`, the numerator's form and :math:`t`, at a symbolic correlation
matrix for m = 2 and exactly at three rational correlation matrices for m = 3; the
Cholesky forms of :math:`R^2`, :math:`1 - R^2` and :math:`\beta` at :math:`\Sigma = LL^\top` (symbolic L); the
series :math:`\Omega = \rho_{12}\rho_{13}\rho_{23} + O(\rho^4)` for n = 3; the anchor (three variables
equicorrelated 1/2: :math:`\tfrac12\log(32/27) = 0.08495`); 0 for n = 2 and for a diagonal :math:`\Sigma` (with
a zero gradient); invariance under :math:`\Sigma \to D\Sigma D`.
"""

from __future__ import annotations

import itertools
import random

import sympy as sp

from .._definitions import define, ell, partial
from ._common import (
    assert_gradient,
    assert_symmetric_at_symmetric,
    assert_zero,
    concrete,
    det,
    embed,
    exp_twice,
    generic,
    independent,
    inverse,
    log_det_gradient,
    lower,
    scalar,
    symmetric_symbols,
    unit,
)


class _Matrix:
    def __init__(self, m: sp.Matrix):
        self.matrix, self.d = m, m.shape[0]

    def block(self, rows):
        return _Matrix(self.matrix.extract(list(rows), list(rows)))


def o_information(view):
    """1/2 [(n - 2) log|Sigma| + sum_j (log Sigma_jj - log|Sigma_-j|)]."""
    if isinstance(view.d, sp.Symbol):  # the generic view
        j = sp.Symbol("j", integer=True)
        rest = sp.MatrixSymbol(r"\Sigma_{-j}", view.d - 1, view.d - 1)
        terms = sp.Sum(sp.log(view.matrix[j, j]) - sp.log(sp.Determinant(rest)), (j, 1, view.d))
        return ((view.d - 2) * sp.log(det(view)) + terms) / 2
    n = view.d
    rows = list(range(n))
    terms = [sp.log(view.matrix[j, j]) - sp.log(det(view.block([k for k in rows if k != j]))) for j in rows]
    return ((n - 2) * sp.log(det(view)) + sp.Add(*terms)) / 2


def o_information_gradient(s: sp.Matrix) -> sp.Matrix:
    """The definition's derivative (independent entries): 1/2 [(n - 2) S^-T + diag(1/S_jj) - sum_j (S_-j^-T)]."""
    n = s.shape[0]
    rows = list(range(n))
    out = (n - 2) * log_det_gradient(s, rows) + sp.diag(*[1 / s[j, j] for j in rows])
    for j in rows:
        out -= log_det_gradient(s, [k for k in rows if k != j])
    return out / 2


def _entropy_identities() -> None:
    """Omega = TC - DTC = (2 - n) TC + sum_j TC(X_-j) = 2 TC - sum_j I(X_j; X_-j), on one symbol per subset's
    entropy; and the increment on adding a variable."""
    for n in (3, 4, 5):
        every = tuple(range(n))
        h = {a: sp.Symbol("H_" + "".join(map(str, a))) for k in range(n + 1) for a in itertools.combinations(every, k)}
        h[()] = 0

        def minus(a, j):
            return tuple(k for k in a if k != j)

        def tc(a):
            return sp.Add(*[h[(j,)] for j in a]) - h[a]

        omega = (n - 2) * h[every] + sp.Add(*[h[(j,)] - h[minus(every, j)] for j in every])
        dtc = h[every] - sp.Add(*[h[every] - h[minus(every, j)] for j in every])
        assert_zero(omega - (tc(every) - dtc), f"Omega = TC - DTC (n = {n})")
        assert_zero(omega - ((2 - n) * tc(every) + sp.Add(*[tc(minus(every, j)) for j in every])),
                    f"Omega = (2 - n) TC + sum_j TC(X_-j) (n = {n})")
        mi = sp.Add(*[h[(j,)] + h[minus(every, j)] - h[every] for j in every])
        assert_zero(omega - (2 * tc(every) - mi), f"Omega = 2 TC - sum_j I(X_j; X_-j) (n = {n})")
        # the increment: X = the first n - 1 variables, Y = the last
        x, y = every[:-1], n - 1
        smaller = (n - 3) * h[x] + sp.Add(*[h[(j,)] - h[minus(x, j)] for j in x])
        cmi = sp.Add(*[h[x] + h[minus(every, j)] - h[minus(x, j)] - h[every] for j in x])  # I(Y; X_j | X_-j)
        assert_zero(omega - smaller - ((h[(y,)] + h[x] - h[every]) - cmi),
                    f"Delta = I(Y; X) - sum_j I(Y; X_j | X_-j) (m = {n - 1})")


def _correlation(n: int) -> sp.Matrix:
    return sp.Matrix(n, n, lambda i, j: 1 if i == j else sp.Symbol(f"r_{min(i, j)}{max(i, j)}", real=True))


def _rational_covariance(n: int, seed: int) -> sp.Matrix:
    """A positive definite matrix of rationals: A A^T / n + I / 2, A of integers in [-4, 4] over 4 (fixed seed)."""
    rng = random.Random(seed)
    a = sp.Matrix(n, n, lambda i, j: sp.Rational(rng.randint(-4, 4), 4))
    return a * a.T / n + sp.eye(n) / 2


def _rational_correlation(n: int, seed: int) -> sp.Matrix:
    """The correlation matrix of a rational covariance has square roots; this one is rational: unit diagonal,
    off-diagonal entries in (-1/(n-1), 1/(n-1)) (diagonally dominant, so positive definite)."""
    rng = random.Random(1000 + seed)
    out = sp.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = sp.Rational(rng.randint(-9, 9), 10 * (n - 1))
    return out


def _increment(big: sp.Matrix) -> None:
    """At a correlation matrix of X (m variables) and Y (the last): e^{2 Delta} from the definition equals
    (1 + u) / prod_j (1 + w_j), with the numerator's form and t."""
    m = big.shape[0] - 1
    rm, r = big[:m, :m], big[:m, m]
    p = inverse(rm)
    beta = p * r
    r2 = (r.T * beta)[0, 0]
    e = rm - sp.eye(m)
    u = r2 / (1 - r2)
    w = [beta[j] ** 2 / (p[j, j] * (1 - r2)) for j in range(m)]
    whole, part = _Matrix(big), _Matrix(rm)
    delta = o_information(whole) - o_information(part)
    ratio = (1 + u) / sp.prod([1 + wj for wj in w])
    assert_zero(exp_twice(delta) - ratio, f"e^(2 Delta_{m}) = (1 + u) / prod (1 + w_j)")
    x = list(range(m))
    mi = sp.Rational(1, 2) * sp.log(rm.det() / big.det())
    assert_zero(exp_twice(mi) - (1 + u), f"e^(2 I(Y; X)) = 1 + u (m = {m})")
    for j in x:
        z = [k for k in x if k != j]
        blocks = [big.extract(rows, rows) for rows in (z + [j], z + [m], z, x + [m])]
        cmi = sp.log(blocks[0].det() * blocks[1].det() / ((blocks[2].det() if z else 1) * blocks[3].det())) / 2
        assert_zero(exp_twice(cmi) - (1 + w[j]), f"e^(2 I(Y; X_{j} | X_-{j})) = 1 + w_{j} (m = {m})")
    pe = p * e
    c = [(p[j, j] - 1) / p[j, j] for j in x]
    for j in x:
        assert_zero(p[j, j] - 1 + pe[j, j], f"P_jj - 1 = -(P E)_jj (m = {m})")
    numerator = ((beta.T * e * beta)[0, 0] + sp.Add(*[beta[j] ** 2 * c[j] for j in x])) / (1 - r2)
    assert_zero(u - sp.Add(*w) - numerator, f"u - sum_j w_j = (beta^T E beta + sum_j beta_j^2 c_j) / (1 - R^2) "
                f"(m = {m})")
    prod = sp.prod([1 + wj for wj in w])
    e2 = prod - 1 - sp.Add(*w)
    assert_zero(ratio - 1 - (numerator - e2) / prod, f"t = ((u - sum w) - e_>=2(w)) / prod (1 + w) (m = {m})")


def _cholesky_forms(m: int) -> None:
    """At Sigma = L L^T (symbolic L, order X then Y): ell = L_m^-1 r is row m of L, r^T Sigma_m^-1 r = ell^T ell,
    Sigma_YY - r^T Sigma_m^-1 r = L_mm^2, beta = L_m^-T ell, and the leading block of L^-1 is L_m^-1."""
    L = lower(m + 1)
    s = L * L.T
    lm, r = L[:m, :m], s[:m, m]
    ell_row = L[m, :m].T
    assert_zero(lm.inv() * r - ell_row, f"ell = L_m^-1 r (m = {m})")
    beta = inverse(s[:m, :m]) * r
    assert_zero((r.T * beta)[0, 0] - (ell_row.T * ell_row)[0, 0], f"R^2 = ell^T ell (m = {m})")
    assert_zero(s[m, m] - (r.T * beta)[0, 0] - L[m, m] ** 2, f"1 - R^2 = L_mm^2 (m = {m})")
    assert_zero(beta - lm.inv().T * ell_row, f"beta = L_m^-T ell (m = {m})")
    assert_zero(L.inv()[:m, :m] - lm.inv(), f"(L^-1)_m = (L_m)^-1 (m = {m})")


def _gradient_forms(s: sp.Matrix) -> None:
    """At a symmetric matrix s: the closed form's blocks, its P form, the off-diagonal sums, the diagonal rule."""
    n = s.shape[0]
    p = inverse(s)
    closed = o_information_gradient(s)
    rows = list(range(n))
    for j in rows:
        rest = [k for k in rows if k != j]
        assert_zero(embed(inverse(s.extract(rest, rest)), rest, n) - (p - p[:, j] * p[j, :] / p[j, j]),
                    f"Sigma_-{j}^-1 = P - P e_j e_j^T P / P_jj (n = {n})")
    pdp = p * sp.diag(*[1 / p[k, k] for k in rows]) * p
    assert_zero(closed - (sp.diag(*[1 / s[k, k] for k in rows]) - 2 * p + pdp) / 2,
                f"G = (diag(Sigma)^-1 - 2P + P diag(P)^-1 P) / 2 (n = {n})")
    for i in rows:
        for j in rows:
            if i != j:
                form = sp.Add(*[p[i, k] * p[k, j] / p[k, k] for k in rows if k not in (i, j)]) / 2
                assert_zero(closed[i, j] - form, f"G_{i}{j} = sum_(k != i, j) P_ik P_kj / (2 P_kk) (n = {n})")
        assert_zero(sp.Add(*[closed[i, j] * s[i, j] for j in rows]), f"sum_j G_{i}j Sigma_{i}j = 0 (n = {n})")


def _prove():
    for n in (3, 4):
        s = independent(n)
        closed = o_information_gradient(s)
        assert_gradient(o_information(_Matrix(s)), s, closed, f"gaussian O-information (n = {n})")
        assert_symmetric_at_symmetric(closed, f"gaussian O-information's gradient (n = {n})")
    _gradient_forms(symmetric_symbols(3))
    _entropy_identities()
    _increment(_correlation(3))
    for m in (2, 3):
        _cholesky_forms(m)
    # four variables (m = 3), where the symbolic identities take minutes: exactly, at rational points
    for seed in range(3):
        _gradient_forms(_rational_covariance(4, seed))
        _increment(_rational_correlation(4, seed))
    # near independence: the third-order term
    eps = sp.Symbol("epsilon")
    a = sp.symbols("a12 a13 a23", real=True)
    r3 = sp.Matrix([[1, eps * a[0], eps * a[1]], [eps * a[0], 1, eps * a[2]], [eps * a[1], eps * a[2], 1]])
    series = sp.series(o_information(_Matrix(r3)), eps, 0, 4).removeO()
    assert_zero(series - eps**3 * a[0] * a[1] * a[2], "Omega = rho_12 rho_13 rho_23 + O(rho^4) (n = 3)")
    # the anchor: three variables equicorrelated 1/2
    half = sp.Rational(1, 2)
    equi = sp.Matrix(3, 3, lambda i, j: 1 if i == j else half)
    assert_zero(exp_twice(o_information(_Matrix(equi))) - sp.Rational(32, 27), "equicorrelated 1/2: log(32/27) / 2")
    # n = 2, a diagonal matrix, scale invariance
    two = symmetric_symbols(2)
    assert_zero(sp.expand_log(o_information(_Matrix(two)), force=True), "n = 2: 0")
    diag = sp.diag(*sp.symbols("v0:4", positive=True))
    assert_zero(sp.expand_log(o_information(_Matrix(diag)), force=True), "a diagonal Sigma: 0")
    assert_zero(o_information_gradient(diag), "a diagonal Sigma: a zero gradient")
    s3, t = symmetric_symbols(3), sp.symbols("t0:3", positive=True)
    scaled = sp.diag(*t) * s3 * sp.diag(*t)
    assert_zero(exp_twice(o_information(_Matrix(scaled))) - exp_twice(o_information(_Matrix(s3))),
                "Omega(D Sigma D) = Omega(Sigma)")


def _build(case):
    return scalar(o_information(concrete(case)) / unit(case))


def _gradient_formula():
    g = generic()
    d = g.d
    inv = g.matrix.I
    diag_s = sp.MatrixSymbol(r"\mathrm{diag}(\Sigma)", d, d)
    diag_p = sp.MatrixSymbol(r"\mathrm{diag}(\Sigma^{-1})", d, d)
    body = sp.MatAdd(diag_s.I, sp.MatMul(-2, inv), sp.MatMul(inv, diag_p.I, inv))
    return partial(sp.MatMul(sp.S.Half, body), r"\Sigma", r"\Omega")


define(
    "gaussian_o_information",
    defaults={"base": None},  # nats
    build=_build,
    formula=lambda: ell(o_information(generic()), r"\Omega"),
    gradient_formula=_gradient_formula,
    prove=_prove,
)
