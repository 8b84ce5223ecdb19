r"""``gaussian_conditional_mutual_information``: the definition and its machine-checked derivation.

**Definition** (Cover & Thomas, Sec. 8.6: :math:`I(X; Y \mid Z) = h(X, Z) + h(Y, Z) - h(Z) - h(X, Y, Z)` with the
entropies of ``gaussian_entropy``, whose :math:`\log(2\pi e)` terms cancel; research/anchors_mi.md, Sec. 6):

.. math:: I(X; Y \mid Z) = \tfrac12 \log\frac{|\Sigma_{X \cup Z}|\,|\Sigma_{Y \cup Z}|}{|\Sigma_Z|\,
          |\Sigma_{X \cup Y \cup Z}|}

(:math:`|\Sigma_\emptyset| = 1`: with Z empty, the mutual information).

**Conditional covariance.** With :math:`V = X \cup Y` and :math:`C = \Sigma_{VV} - \Sigma_{VZ}\Sigma_Z^{-1}
\Sigma_{ZV}` (the covariance of V given Z), the Schur determinant formula gives :math:`|\Sigma_{X \cup Z}| =
|\Sigma_Z|\,|C_X|`, :math:`|\Sigma_{Y \cup Z}| = |\Sigma_Z|\,|C_Y|` and :math:`|\Sigma_{X \cup Y \cup Z}| =
|\Sigma_Z|\,|C|`, so :math:`I(X; Y \mid Z) = \tfrac12 \log(|C_X||C_Y|/|C|)`, the mutual information of
:math:`\mathcal{N}(0, C)` (``gaussian_mutual_information``), for any matrix, symmetric or not.

**Why this form.** The definition's four log-determinants, or :math:`I(X; Y, Z) - I(X; Z)`, subtract numbers of the
size of the dependence of X and Y on Z; when X and Y are strongly dependent on Z and nearly independent given it,
the difference (:math:`\approx \tfrac12 \rho_{XY|Z}^2`) is below their rounding. The canonical correlations of
C keep it. C itself is not formed: for the Cholesky factor of :math:`\Sigma` in the order (Z, X, Y),

.. math:: L = \begin{pmatrix} L_Z & 0 \\ M & P \end{pmatrix}, \qquad P = \begin{pmatrix} A & 0 \\ B & D
          \end{pmatrix}, \qquad C = P P^\top,

since :math:`\Sigma_{VV} = M M^\top + P P^\top` and :math:`\Sigma_{VZ}\Sigma_Z^{-1}\Sigma_{ZV} = M L_Z^\top (L_Z
L_Z^\top)^{-1} L_Z M^\top = M M^\top`. So A, B, D are the factors ``gaussian_mutual_information`` uses, for C,
computed with the backward stability of one Cholesky factorisation; the order (Z, Y, X) gives those of Y first.

**Gradient.** Let G be :math:`\partial I / \partial C` (the mutual information's closed form at C) and
:math:`K_Z = \Sigma_Z^{-1}\Sigma_{ZV}`. Differentiating C,
:math:`dC = d\Sigma_{VV} - d\Sigma_{VZ} K_Z - K_Z^\top d\Sigma_{ZV} + K_Z^\top d\Sigma_Z K_Z`, so with
:math:`dI = \mathrm{tr}(G^\top dC)`:

.. math:: \frac{\partial I}{\partial \Sigma_{VV}} = G, \quad
          \frac{\partial I}{\partial \Sigma_{VZ}} = -G K_Z^\top, \quad
          \frac{\partial I}{\partial \Sigma_{ZV}} = -K_Z G, \quad
          \frac{\partial I}{\partial \Sigma_Z} = K_Z G K_Z^\top,

symmetric at a symmetric :math:`\Sigma` (G is). This equals the definition's
:math:`\tfrac12(\Sigma_{X \cup Z}^{-1} + \Sigma_{Y \cup Z}^{-1} - \Sigma_Z^{-1} - \Sigma_{X \cup Y \cup Z}^{-1})`
(each embedded), a sum that cancels like the value; the chain-rule form multiplies the small G instead.
:math:`K_Z = L_Z^{-\top} M^\top` is one triangular solve.

**A second form of** :math:`G_{ZZ}`. Where C is nearly singular, G is huge (of order :math:`1/(1 - s^2)`) and
:math:`K_Z G K_Z^\top` cancels it whenever the regression of V on Z avoids C's near-null direction; then
:math:`G_{ZZ}` is even insensitive to every entry (it is quadratic in the component along that direction), and
the chain rule lost 6 digits at a conditional correlation of 0.9999999. Writing
:math:`G = \tfrac12(C_X^{-1} \oplus C_Y^{-1} - C^{-1})` and :math:`K_Z C^{-1} K_Z^\top = \|P^{-1}K_Z^\top\|^2`
with :math:`P^{-1} K_Z^\top = (A^{-1}k_X^\top;\ H)`, :math:`K_Z = (k_X, k_Y)`,
:math:`H = D^{-1}(k_Y^\top - B A^{-1} k_X^\top)`, the :math:`k_X` terms cancel exactly:

.. math:: G_{ZZ} = \tfrac12\big(k_Y C_Y^{-1} k_Y^\top - H^\top H\big)
          = \tfrac12\big(F_Y^\top F_Y - H^\top H\big), \quad F_Y = Q^{-1} k_Y^\top,

whose terms are of the size of :math:`K_Z`. Near conditional independence this one cancels instead
(:math:`H \approx F_Y`), so refloss takes each entry from the form whose terms are smaller in magnitude
(:math:`|K_Z||G||K_Z|^\top` against :math:`|F_Y|^\top|F_Y| + |H|^\top|H|`).

**Checked** (``_prove``): with independent symbols, SymPy's derivative of the definition equals the closed form
:math:`\tfrac12(\ldots)^\top` for d = 3 (X, Y, Z one variable each; and Z empty, where it is the mutual
information's) and d = 4 (Z of two variables), symmetric at a symmetric matrix. At :math:`\Sigma = L L^\top`
(symbolic L, order Z, X, Y) for the sizes :math:`(|Z|, |X|, |Y|)` = (1, 1, 1), (2, 1, 1), (1, 2, 1), (1, 1, 2):
:math:`C = P P^\top`; :math:`|\Sigma_{X \cup Z}||\Sigma_{Y \cup Z}|/(|\Sigma_Z||\Sigma|) = |C_X||C_Y|/|C|`; and
the chain-rule blocks (with G the mutual information's closed form at C) equal the definition's closed form, and
so does the second form of :math:`G_{ZZ}`.
The forms of G itself (:math:`-\tfrac12 KK^\top`, ...) at :math:`C = PP^\top` are the mutual information's,
proved there for every lower-triangular factor.
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
    inverse,
    log_det_gradient,
    lower,
    scalar,
    unit,
)
from .gaussian_mutual_information import mutual_information_gradient


def conditional_mutual_information(sxz, syz, sz, sv):
    """1/2 log(|Sigma_XZ| |Sigma_YZ| / (|Sigma_Z| |Sigma_XYZ|)) from four views of blocks."""
    return sp.log(det(sxz) * det(syz) / (det(sz) * det(sv))) / 2


def conditional_mutual_information_gradient(s: sp.Matrix, x: list[int], y: list[int], z: list[int]) -> sp.Matrix:
    """The closed form (independent entries): 1/2 (S_XZ^{-1} + S_YZ^{-1} - S_Z^{-1} - S_XYZ^{-1})^T, embedded."""
    return (log_det_gradient(s, x + z) + log_det_gradient(s, y + z) - log_det_gradient(s, z)
            - log_det_gradient(s, x + y + z)) / 2


class _Matrix:
    def __init__(self, m: sp.Matrix):
        self.matrix, self.d = m, m.shape[0]


def _blocks(s: sp.Matrix, x: list[int], y: list[int], z: list[int]):
    return tuple(_Matrix(s.extract(rows, rows)) for rows in (x + z, y + z, z, x + y + z))


def _chain_rule(nz: int, nx: int, ny: int) -> None:
    L = lower(nz + nx + ny)
    s = L * L.T
    z, x, y = list(range(nz)), list(range(nz, nz + nx)), list(range(nz + nx, nz + nx + ny))
    v = x + y
    lz, m, p = L[:nz, :nz], L[nz:, :nz], L[nz:, nz:]
    s_z_inv = lz.inv().T * lz.inv()
    c = s.extract(v, v) - s.extract(v, z) * s_z_inv * s.extract(z, v)
    sizes = f"(|Z|, |X|, |Y|) = ({nz}, {nx}, {ny})"
    assert_zero(c - p * p.T, f"C = P P^T {sizes}")
    a, b, dd = p[:nx, :nx], p[nx:, :nx], p[nx:, nx:]
    c_x, c_y, c_v = a * a.T, b * b.T + dd * dd.T, p * p.T
    ratio = (s.extract(x + z, x + z).det() * s.extract(y + z, y + z).det()
             / (s.extract(z, z).det() * s.det()))
    assert_zero(ratio - c_x.det() * c_y.det() / c_v.det(), f"the Schur determinant form {sizes}")
    g = mutual_information_gradient(c_v, list(range(nx)), list(range(nx, nx + ny)))
    k_z = lz.inv().T * m.T
    chain = sp.zeros(nz + nx + ny, nz + nx + ny)
    chain[nz:, nz:] = g
    chain[nz:, :nz] = -g * k_z.T
    chain[:nz, nz:] = -k_z * g
    chain[:nz, :nz] = k_z * g * k_z.T
    closed = conditional_mutual_information_gradient(s, x, y, z)
    assert_zero(closed - chain, f"the chain rule through C {sizes}")
    k_x, k_y = k_z[:, :nx], k_z[:, nx:]
    h = dd.inv() * (k_y.T - b * a.inv() * k_x.T)
    other = (k_y * inverse(c_y) * k_y.T - h.T * h) / 2
    assert_zero(closed[:nz, :nz] - other, f"G_ZZ = (k_Y C_Y^-1 k_Y^T - H^T H) / 2 {sizes}")


def _prove():
    for d, x, y, z in ((3, [1], [2], [0]), (3, [0], [1, 2], []), (4, [0], [3], [1, 2])):
        s = independent(d)
        closed = conditional_mutual_information_gradient(s, x, y, z)
        assert_gradient(conditional_mutual_information(*_blocks(s, x, y, z)), s, closed,
                        f"gaussian CMI (d = {d}, X = {x}, Y = {y}, Z = {z})")
        assert_symmetric_at_symmetric(closed, f"gaussian CMI's gradient (d = {d})")
        if not z:
            assert_zero(closed - mutual_information_gradient(s, x, y), "Z empty: the mutual information's gradient")
    for sizes in ((1, 1, 1), (2, 1, 1), (1, 2, 1), (1, 1, 2)):
        _chain_rule(*sizes)


def _build(case):
    s = concrete(case)
    x, y, z = indices(case, "x"), indices(case, "y"), indices(case, "z")
    value = conditional_mutual_information(s.block(x + z), s.block(y + z), s.block(z), s.block(x + y + z))
    return scalar(value / unit(case))


def _generic_gradient():
    g = generic()
    half = sp.S.Half
    inverse = {label: g.block(label).matrix.I for label in (r"X \cup Z", r"Y \cup Z", "Z", r"X \cup Y \cup Z")}
    terms = inverse[r"X \cup Z"] + inverse[r"Y \cup Z"] - inverse["Z"] - inverse[r"X \cup Y \cup Z"]
    return partial(sp.MatMul(half, terms), r"\Sigma", r"I(X; Y \mid Z)")


def _formula():
    g = generic()
    blocks = (g.block(r"X \cup Z"), g.block(r"Y \cup Z"), g.block("Z"), g.block(r"X \cup Y \cup Z"))
    return ell(conditional_mutual_information(*blocks), r"I(X; Y \mid Z)")


define(
    "gaussian_conditional_mutual_information",
    defaults={"base": None},  # nats
    build=_build,
    formula=_formula,
    gradient_formula=_generic_gradient,
    prove=_prove,
)
