r"""The Gaussian family's shared parts: the covariance and index-set checks, the log-determinant of a triangular
factor, the (conditional) mutual information in canonical-correlation form with its gradient, the papers.

Notation (``proofs/gaussian``): for disjoint index sets X, Y, Z of a covariance :math:`\Sigma`, the Cholesky
factor of :math:`\Sigma` taken in the order (Z, X, Y) is

.. math:: L = \begin{pmatrix} L_Z & 0 & 0 \\ M_X & A & 0 \\ M_Y & B & D \end{pmatrix},

so that :math:`A A^\top = \Sigma_{X|Z}`, :math:`B = \Sigma_{YX|Z} A^{-\top}` and :math:`D D^\top = \Sigma_{Y|XZ}`;
the order (Z, Y, X) gives :math:`Q, B', D'` with the roles of X and Y exchanged (:math:`Q Q^\top =
\Sigma_{Y|Z}`). Without Z these are the factors of the blocks of :math:`\Sigma` itself.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.linalg import LinAlgError, cholesky, solve_triangular, svdvals

from ... import _validate as v
from ..._registry import Paper, Param
from ..entropy._common import _BASE

COVER_THOMAS = Paper("Elements of Information Theory",
                     where="T. M. Cover, J. A. Thomas, 2nd ed., Wiley 2006, Thm 8.4.1 (entropy of a multivariate "
                           "normal), Sec. 8.5-8.6 (mutual information as h(X) + h(Y) - h(X, Y), conditional forms)")
GELFAND_YAGLOM = Paper(
    "Calculation of the amount of information about a random function contained in another such function",
    where="I. M. Gel'fand, A. M. Yaglom, Uspekhi Mat. Nauk 12(1), 1957 (AMS Transl. (2) 12, 1959): "
          "I = -1/2 sum_i log(1 - rho_i^2) over the canonical correlations rho_i; as a ground-truth formula in "
          "research/seeds_A.md (A22) and research/anchors_mi.md Sec. 6")
WATANABE = Paper("Information theoretical analysis of multivariate correlation",
                 where="S. Watanabe, IBM J. Res. Dev. 4(1), 1960 (total correlation); Gaussian form "
                       "-1/2 log det R, R the correlation matrix")
ROSAS = Paper("Quantifying high-order interdependencies via multivariate extensions of the mutual information",
              arxiv="1902.11239",
              where="F. E. Rosas, P. A. M. Mediano, M. Gastpar, H. J. Jensen, Phys. Rev. E 100, 032305 (2019): the "
                    "O-information TC - DTC = (n - 2) H(X) + sum_j [H(X_j) - H(X_-j)] and its increment on adding a "
                    "variable; the Gaussian form as in research/anchors_mi.md Sec. 6")
SCHREIBER = Paper("Measuring information transfer", arxiv="nlin/0001042",
                  where="T. Schreiber, Phys. Rev. Lett. 85, 461 (2000), eq. 4 (TE as a difference of conditional "
                        "entropies = I(Y_t; X_past | Y_past)); the Gaussian closed form of a VAR(1) as in "
                        "research/anchors_mi.md Sec. 6; JIDT's lag convention")

COV = v.ArrayArg("float covariance matrix (d, d), symmetric (exactly: it is not symmetrised) and positive "
                 "definite (its Cholesky factorisation succeeds)", "covariance")
INDEX_SET = v.ArrayArg("int indices into cov's axes, each in [0, d), none repeated, disjoint from the other sets "
                       "(a sequence, or one int)", "index_set")
BASE = Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True)
OVERFLOW = ("the gradient: entries of order 1/Sigma_ii for a variance (or conditional variance) below ~1e-308 lie "
            "beyond the float64 range: +-inf, their correct rounding (the value stays finite)")


def subnormal_variance() -> np.ndarray:
    """Variables 0 and 1 of unit variance correlated 0.5; variable 2 of variance 1e-318 (subnormal), correlated 0.1
    with variable 0: gradient entries ~1e157 and one beyond the float64 range."""
    return np.array([[1.0, 0.5, 1e-160], [0.5, 1.0, 0.0], [1e-160, 0.0, 1e-318]])

LOG_2PIE = math.log(2.0 * math.pi) + 1.0  # log(2 pi e)


class Checked(NamedTuple):
    r"""A checked covariance: as given, and scaled by powers of two to a diagonal in [1/2, 2) with its Cholesky factor.

    ``scaled`` = :math:`2^{-k_i} \Sigma_{ij} 2^{-k_j}` is exact (a power of two changes no digit; an entry pushed
    below the normal range, :math:`2^{-1022}` times :math:`\sqrt{\Sigma_{ii}\Sigma_{jj}}`, is the only one
    rounded), so variances of 1e-320 or 1e308 are computed with the digits of variances near 1: the mutual
    informations and the total correlation are invariant under this scaling, the entropy moves by
    :math:`\sum_i k_i \log 2` (added exactly), and a gradient scales back as :math:`2^{-k_i} G_{ij} 2^{-k_j}`
    (:func:`unscaled`), exactly, or to the +-inf that is its correct rounding beyond the float64 range."""

    cov: np.ndarray
    scaled: np.ndarray
    k: np.ndarray
    L: np.ndarray


def covariance(cov, name: str = "cov") -> Checked:
    """``cov`` checked (:class:`Checked`): a float64 (d, d) array that is exactly symmetric and positive definite.
    Refused (naming ``name``): not 2-D and square, NaN or inf, not symmetric (never symmetrised silently), not
    positive definite (the Cholesky factorisation of the scaled matrix fails)."""
    arr = v.real_array(cov, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise v.RefLossError(f"{name} must be a square covariance matrix of shape (d, d), got shape {arr.shape}")
    if not np.array_equal(arr, arr.T):
        i, j = np.argwhere(arr != arr.T)[0]
        raise v.RefLossError(f"{name} is not symmetric: {name}[{i}, {j}] = {arr[i, j]!r} but {name}[{j}, {i}] = "
                             f"{arr[j, i]!r} (refloss does not symmetrise it; pass (a + a.T) / 2 if you mean that)")
    k = (np.frexp(np.diag(arr))[1] // 2).astype(np.int64)
    with np.errstate(over="ignore"):  # |Sigma_ij| > 2^1023 sqrt(Sigma_ii Sigma_jj): not positive definite, below
        scaled = np.ldexp(arr, -(k[:, None] + k[None, :]))
    if not np.isfinite(scaled).all():
        raise v.RefLossError(f"{name} is not positive definite: an entry exceeds the square root of the product of "
                             "its two variances by far")
    return Checked(arr, scaled, k, factor(scaled, name))


def unscaled(g: np.ndarray, k: np.ndarray) -> np.ndarray:
    """A gradient w.r.t. the scaled covariance as the gradient w.r.t. the covariance: 2^-k_i g_ij 2^-k_j, exact (or
    +-inf beyond the float64 range, its correct rounding; subnormal where it underflows)."""
    with np.errstate(over="ignore"):
        return np.ldexp(g, -(k[:, None] + k[None, :]))


def factor(arr: np.ndarray, name: str = "cov") -> np.ndarray:
    """The lower Cholesky factor of a symmetric matrix, or a RefLossError saying it is not positive definite."""
    if arr.size == 0:
        return np.zeros_like(arr)
    try:
        return cholesky(arr, lower=True, check_finite=False)
    except LinAlgError as exc:
        raise v.RefLossError(f"{name} is not positive definite: its Cholesky factorisation fails ({exc})") from None


def index_set(idx, d: int, name: str, *, empty: bool = False) -> np.ndarray:
    """``idx`` as a 1-D array of distinct indices in [0, d) (one int is a set of one); empty only if ``empty``."""
    arr = v.as_array(idx, name)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise v.RefLossError(f"{name} must be a sequence of indices into cov's axes, got shape {arr.shape}")
    if arr.size == 0:
        if not empty:
            raise v.RefLossError(f"{name} is empty: it must name at least one of cov's variables")
        return np.zeros(0, dtype=np.intp)
    if arr.dtype.kind not in "iu":
        raise v.RefLossError(f"{name} must hold integer indices into cov's axes, got dtype {arr.dtype}")
    out_of_range = (arr < 0) | (arr >= d)
    if out_of_range.any():
        raise v.RefLossError(f"{name} has index {arr[out_of_range][0]} out of range [0, {d}) (cov is {d} x {d})")
    values, counts = np.unique(arr, return_counts=True)
    if (counts > 1).any():
        raise v.RefLossError(f"{name} repeats index {values[counts > 1][0]}")
    return arr.astype(np.intp)


def disjoint(**sets: np.ndarray) -> None:
    """Index sets that share no index (a variable cannot be on both sides)."""
    names = list(sets)
    for a, first in enumerate(names):
        for second in names[a + 1:]:
            shared = np.intersect1d(sets[first], sets[second])
            if shared.size:
                raise v.RefLossError(f"{first} and {second} share index {shared[0]}: the index sets must be disjoint")


def logdet_triangular(diag: np.ndarray, exponent2: int = 0) -> float:
    """2 sum_i log d_i + 2 exponent2 log 2 = log det(L L^T) + 2 exponent2 log 2 for the positive diagonal d of a
    triangular factor L. The mantissas of d are multiplied (renormalised by ``frexp``) and the binary exponents added
    exactly, so factors of 2^-250 and 2^250 cancel exactly instead of leaving the rounding of two logs of 173."""
    mantissa, exponent = np.frexp(diag)
    product, scale = 1.0, int(exponent.sum()) + int(exponent2)
    for m in mantissa:
        product, e = math.frexp(product * float(m))
        scale += e
    return 2.0 * (math.log(product) + scale * math.log(2.0))


class Canonical(NamedTuple):
    """The (conditional) mutual information of X and Y given Z (Z may be empty), and the factors its gradient uses."""

    value: float
    order: np.ndarray  # the indices of Z, X, Y in the order of the factor L
    sizes: tuple[int, int, int]
    L: np.ndarray  # Cholesky factor of cov in the order (Z, X, Y)
    L2: np.ndarray  # ... in the order (Z, Y, X)


def canonical(cov: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> Canonical:
    r""":math:`I(X; Y \mid Z) = -\tfrac12 \sum_i \mathrm{log1p}(-s_i^2)`, :math:`s_i` the singular values of
    :math:`W^\top = Q^{-1} B` (the canonical correlations of X and Y given Z), while every :math:`s_i^2 \le 1/2`;
    else the chain rule :math:`\sum_j \log(Q_{jj} / D_{jj})`, a sum of terms :math:`I(X; Y_j \mid Y_{<j}, Z) \ge
    0` of scale-free ratios that stays accurate where :math:`1 - s_i^2` is tiny (and a rounded :math:`s_i` could
    reach 1)."""
    nz, nx, ny = len(z), len(x), len(y)
    first, second = np.concatenate([z, x, y]), np.concatenate([z, y, x])
    L = factor(cov[np.ix_(first, first)])
    L2 = factor(cov[np.ix_(second, second)])
    B = L[nz + nx:, nz:nz + nx]
    D = L[nz + nx:, nz + nx:]
    Q = L2[nz:nz + ny, nz:nz + ny]
    s = svdvals(solve_triangular(Q, B, lower=True, check_finite=False), check_finite=False)
    if s.size and s.max() ** 2 > 0.5:
        value = math.fsum(np.log(np.diag(Q) / np.diag(D)))
    else:
        value = -0.5 * math.fsum(np.log1p(-s * s)) + 0.0  # -0.0 as 0
    return Canonical(value, first, (nz, nx, ny), L, L2)


def canonical_gradient(c: Canonical, d: int) -> np.ndarray:
    r"""d I / d Sigma (d x d; each entry as an independent variable, so the result is symmetric), zero outside
    :math:`X \cup Y \cup Z`:

    * :math:`G_{XX} = -\tfrac12 K K^\top`, :math:`K = (D^{-1} B A^{-1})^\top`;
      :math:`G_{YY} = -\tfrac12 K' K'^\top`, :math:`K' = (D'^{-1} B' Q^{-1})^\top`;
      :math:`G_{XY} = \tfrac12 K D^{-1}`, :math:`G_{YX} = G_{XY}^\top` (products, never a difference of inverses);
    * with Z, through :math:`C = \Sigma_{VV} - \Sigma_{VZ} \Sigma_Z^{-1} \Sigma_{ZV}` (V = X, Y; G above is
      d I / d C): :math:`G_{VZ} = -G_V K_Z^\top`, :math:`G_{ZZ} = K_Z G_V K_Z^\top`, :math:`K_Z = \Sigma_Z^{-1}
      \Sigma_{ZV} = L_Z^{-\top} M^\top`.
    """
    nz, nx, ny = c.sizes
    A = c.L[nz:nz + nx, nz:nz + nx]
    B, D = c.L[nz + nx:, nz:nz + nx], c.L[nz + nx:, nz + nx:]
    Q = c.L2[nz:nz + ny, nz:nz + ny]
    B2, D2 = c.L2[nz + ny:, nz:nz + ny], c.L2[nz + ny:, nz + ny:]
    K = _k(A, B, D)
    K2 = _k(Q, B2, D2)
    gv = np.empty((nx + ny, nx + ny))
    gv[:nx, :nx] = -0.5 * (K @ K.T)
    gv[nx:, nx:] = -0.5 * (K2 @ K2.T)
    gv[:nx, nx:] = 0.5 * solve_triangular(D, K.T, lower=True, trans="T", check_finite=False).T
    gv[nx:, :nx] = gv[:nx, nx:].T
    full = np.zeros((nz + nx + ny,) * 2)
    full[nz:, nz:] = gv
    if nz:
        kz = solve_triangular(c.L[:nz, :nz], c.L[nz:, :nz].T, lower=True, trans="T", check_finite=False)
        full[nz:, :nz] = -(gv @ kz.T)
        full[:nz, nz:] = full[nz:, :nz].T
        full[:nz, :nz] = _g_zz(kz, gv, A, B, D, Q, nx)
    out = np.zeros((d, d))
    out[np.ix_(c.order, c.order)] = full
    return symmetric(out)


def symmetric(g: np.ndarray) -> np.ndarray:
    """``g`` with each pair of entries that two roundings of one symmetric product left unequal replaced by their
    mean (halved first: no overflow), so that the returned gradient is exactly symmetric; -0 as 0."""
    return np.where(g == g.T, g, 0.5 * g + 0.5 * g.T) + 0.0


def _g_zz(kz: np.ndarray, gv: np.ndarray, A, B, D, Q, nx: int) -> np.ndarray:
    r""":math:`G_{ZZ}`, entry by entry from the form whose terms are smaller: the chain rule :math:`K_Z G K_Z^\top`
    (whose terms are small near conditional independence, G being small), or the same matrix as
    :math:`\tfrac12(F_Y^\top F_Y - H^\top H)` with :math:`F_Y = Q^{-1} k_Y^\top` and :math:`H = D^{-1}(k_Y^\top
    - B A^{-1} k_X^\top)` (:math:`K_Z = (k_X, k_Y)`), whose terms stay of the size of :math:`K_Z`'s where
    :math:`C` is nearly singular: there G is huge, and :math:`K_Z G K_Z^\top` cancels it whenever the regression
    of V on Z avoids C's near-null direction (then :math:`G_{ZZ}` is insensitive to every entry, and the chain
    rule lost 6 digits at a conditional correlation of 0.9999999)."""
    chain = kz @ gv @ kz.T
    kx, ky = kz[:, :nx], kz[:, nx:]
    fy = solve_triangular(Q, ky.T, lower=True, check_finite=False)
    h = solve_triangular(D, ky.T - B @ solve_triangular(A, kx.T, lower=True, check_finite=False), lower=True,
                         check_finite=False)
    other = 0.5 * (fy.T @ fy) - 0.5 * (h.T @ h)
    chain_terms = np.abs(kz) @ np.abs(gv) @ np.abs(kz).T
    other_terms = np.abs(fy).T @ np.abs(fy) + np.abs(h).T @ np.abs(h)
    return np.where(other_terms < chain_terms, other, chain)


def _k(A: np.ndarray, B: np.ndarray, D: np.ndarray) -> np.ndarray:
    """(D^{-1} B A^{-1})^T = A^{-T} (D^{-1} B)^T, by two triangular solves."""
    return solve_triangular(A, solve_triangular(D, B, lower=True, check_finite=False).T, lower=True, trans="T",
                            check_finite=False)


# -- inputs for the checks ------------------------------------------------------------------------------------

GENERIC_3 = np.array([[2.0, 0.6, -0.4], [0.6, 1.5, 0.3], [-0.4, 0.3, 1.0]])
GENERIC_4 = np.array([[4.0, 1.2, -0.8, 0.5], [1.2, 3.0, 0.7, -0.6], [-0.8, 0.7, 2.5, 0.9], [0.5, -0.6, 0.9, 2.0]])


def correlated(std, corr) -> np.ndarray:
    """The covariance std_i corr_ij std_j, exactly symmetric (each product rounded once, in one order)."""
    std, corr = np.asarray(std, dtype=np.float64), np.asarray(corr, dtype=np.float64)
    lower = np.tril(std[:, None] * corr * std[None, :])
    return lower + np.tril(lower, -1).T


def pair(rho: float, var_x: float = 1.0, var_y: float = 1.0) -> np.ndarray:
    """A 2 x 2 covariance of correlation ``rho``."""
    return correlated(np.sqrt([var_x, var_y]), [[1.0, rho], [rho, 1.0]])


def near_singular_4() -> np.ndarray:
    """Four variables, the first two correlated 0.9999999, the others moderately."""
    corr = np.array([[1.0, 0.9999999, 0.3, -0.2], [0.9999999, 1.0, 0.3, -0.2], [0.3, 0.3, 1.0, 0.4],
                     [-0.2, -0.2, 0.4, 1.0]])
    return correlated([1.0, 2.0, 0.5, 1.5], corr)


def scaled_3() -> np.ndarray:
    """GENERIC_3's correlations with variances 1e-6, 1 and 1e6."""
    std = np.sqrt(np.diag(GENERIC_3))
    return correlated([1e-3, 1.0, 1e3], GENERIC_3 / np.outer(std, std))


def extreme_scales_3() -> np.ndarray:
    """Variances 1e-150, 1 and 1e150, correlations 0.5, -0.3, 0.2."""
    return correlated([1e-75, 1.0, 1e75], [[1.0, 0.5, -0.3], [0.5, 1.0, 0.2], [-0.3, 0.2, 1.0]])


def condition_1e12() -> np.ndarray:
    """Eigenvalues 1, 1e-4, 1e-8, 1e-12 rotated by the Householder reflection of (1, 2, 3, 4): condition 1e12."""
    v = np.array([1.0, 2.0, 3.0, 4.0])
    h = np.eye(4) - 2.0 * np.outer(v, v) / (v @ v)
    s = h @ np.diag([1.0, 1e-4, 1e-8, 1e-12]) @ h.T
    return np.tril(s) + np.tril(s, -1).T


def near_independent_blocks() -> np.ndarray:
    """Blocks {0, 2} and {1, 3}, each correlated within (0.6, -0.5), across them 1e-8 and -2e-8."""
    corr = np.array([[1.0, 1e-8, 0.6, 0.0], [1e-8, 1.0, -2e-8, -0.5], [0.6, -2e-8, 1.0, 0.0],
                     [0.0, -0.5, 0.0, 1.0]])
    return correlated([1.0, 3.0, 0.5, 2.0], corr)


def strong_and_weak() -> np.ndarray:
    """Canonical correlations 0.9 (variables 0 and 2) and 1e-6 (1 and 3)."""
    corr = np.array([[1.0, 0.0, 0.9, 0.0], [0.0, 1.0, 0.0, 1e-6], [0.9, 0.0, 1.0, 0.0], [0.0, 1e-6, 0.0, 1.0]])
    return correlated([1.0, 1.0, 1.0, 1.0], corr)


def idx(*i: int) -> np.ndarray:
    return np.array(i, dtype=np.int64)


def draw_covariance(draw, extreme: bool, lo: int = 1, hi: int = 4) -> np.ndarray:
    """A d x d covariance, lo <= d <= hi: A A^T / d + c I (|A_ij| <= 1, c in [1/2, 2]: entries within 3 and a
    condition number below 6, where a five-point finite difference of step 1e-3 is accurate to ~1e-9); with
    ``extreme``, each variable scaled by 10^k, |k| <= 60. Ill-conditioned inputs are the stress points' part."""
    from ... import _cases as cases

    st, hnp = cases.hyp()
    d = draw(st.integers(lo, hi))
    a = draw(hnp.arrays(np.float64, (d, d), elements=st.floats(-1.0, 1.0)))
    s = a @ a.T / d
    s = np.tril(s) + np.tril(s, -1).T
    s[np.diag_indices(d)] += draw(st.floats(0.5, 2.0))
    if extreme:
        scale = 10.0 ** draw(hnp.arrays(np.int64, d, elements=st.integers(-60, 60))).astype(np.float64)
        s = scale[:, None] * s * scale[None, :]
        s = np.tril(s) + np.tril(s, -1).T
    return s


def draw_sets(draw, d: int, z: bool = False) -> dict:
    """Disjoint index sets x and y (non-empty), and z (possibly empty) when asked, in a drawn order."""
    from ... import _cases as cases

    st, _ = cases.hyp()
    perm = np.array(draw(st.permutations(range(d))), dtype=np.int64)
    nx = draw(st.integers(1, d - 1))
    ny = draw(st.integers(1, d - nx))
    out = {"x": perm[:nx], "y": perm[nx:nx + ny]}
    if z:
        out["z"] = perm[nx + ny:nx + ny + draw(st.integers(0, d - nx - ny))]
    return out


def draw_base(draw):
    from ... import _cases as cases

    st, _ = cases.hyp()
    return draw(st.sampled_from([None, 2.0, 10.0, 0.5]))
