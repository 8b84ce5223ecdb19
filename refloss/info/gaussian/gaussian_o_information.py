"""``gaussian_o_information``: the O-information (Rosas et al. 2019) of a multivariate normal; value, closed-form
gradient, registration."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import cho_solve, solve_triangular

from ... import _cases as cases
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ..entropy._common import _log_base
from ._common import (
    BASE,
    COV,
    GENERIC_3,
    GENERIC_4,
    OVERFLOW,
    ROSAS,
    Checked,
    condition_1e12,
    correlated,
    covariance,
    draw_base,
    draw_covariance,
    extreme_scales_3,
    near_independent_blocks,
    near_singular_4,
    scaled_3,
    strong_and_weak,
    subnormal_variance,
    symmetric,
    unscaled,
)


@register(
    name="gaussian_o_information",
    family="gaussian",
    wrt=("cov",),
    params=(Param("cov", COV, "each variable (row and column) is one X_j"), BASE),
    overflow=OVERFLOW,
    paper=ROSAS,
    strategy=lambda extreme: _cases(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
)
def gaussian_o_information(cov: ArrayLike, *, base: float | None = None):
    r"""O-information :math:`\Omega(X_1, \ldots, X_n) = \mathrm{TC} - \mathrm{DTC}` of :math:`\mathcal{N}(\mu,
    \Sigma)`, one variable per row of ``cov``, in nats or in ``base`` (positive: redundancy dominates; negative:
    synergy).

    .. math:: \Omega = (n - 2) h(X) + \sum_j \big[h(X_j) - h(X_{-j})\big]
              = \tfrac12\Big[(n - 2)\log|\Sigma| + \sum_j \big(\log\Sigma_{jj} - \log|\Sigma_{-j}|\big)\Big]

    (the :math:`\log 2\pi e` terms cancel). Equivalent forms (proved in ``proofs/gaussian``):
    :math:`\Omega = (2 - n)\,\mathrm{TC}(X) + \sum_j \mathrm{TC}(X_{-j}) = 2\,\mathrm{TC} - \sum_j I(X_j; X_{-j})`.
    Near independence :math:`\Omega = \sum_{i<j<k} \rho_{ij}\rho_{jk}\rho_{ik} + O(\rho^4)` is of third order
    while every total correlation or mutual information in those forms is of second order, so each of them
    cancels to rounding noise (at correlations of 1e-8, :math:`\Omega \approx 10^{-24}` from terms of
    :math:`10^{-16}`). refloss sums instead Rosas et al.'s increments :math:`\Delta_m = \Omega(X_{\le m+1}) -
    \Omega(X_{\le m}) = I(Y; X) - \sum_{j \le m} I(Y; X_j \mid X_{-j})` (Y the variable added, X the m before it),
    each as

    .. math:: \Delta_m = \tfrac12\,\mathrm{log1p}(t), \qquad
              t = \frac{(u - \textstyle\sum_j w_j) - e_{\ge 2}(w)}{\prod_j (1 + w_j)}, \qquad
              u - \sum_j w_j = \frac{\beta^\top E \beta + \sum_j \beta_j^2 c_j}{1 - R^2},

    with R the correlation matrix, E = R - I on the first m variables, :math:`\beta = R_m^{-1} r` the
    regression of Y on them, :math:`R^2 = r^\top\beta`, :math:`u = R^2 / (1 - R^2)`, :math:`w_j = \rho_j^2 /
    (1 - \rho_j^2)` from the partial correlations :math:`\rho_j` of Y and :math:`X_j` given the others,
    :math:`c_j` the squared multiple correlation of :math:`X_j` on the others, :math:`e_{\ge 2}(w) =
    \prod_j(1 + w_j) - 1 - \sum_j w_j` (a sum of products of the non-negative :math:`w_j`): every term is a
    product of small numbers where the variables are nearly independent. Where a form's terms are larger (Y
    nearly determined, :math:`\beta` large), the numerator as :math:`u - \sum_j w_j`, or :math:`\Delta_m` as
    :math:`\tfrac12[\mathrm{log1p}(u) - \sum_j \mathrm{log1p}(w_j)]`, whichever has the smaller terms. For
    n < 3 it is 0. Groups of variables as the :math:`X_j` are not offered (one coordinate each).

    ``cov``: exactly symmetric, positive definite, scaled by powers of two first (the value is scale-free).
    ``base``: the value and the gradient are divided by :math:`\log(\mathrm{base})`. Gradient:
    :func:`gaussian_o_information_grad`.

    Args:
        cov: float covariance matrix (n, n), one variable per row.
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.

    >>> cov = [[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]]  # three variables equicorrelated 0.5
    >>> round(float(gaussian_o_information(cov)), 15)  # log(32 / 27) / 2: redundancy
    0.084949518397699
    >>> float(gaussian_o_information([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.25]])) < 0  # X3 = X1 + X2 + e
    True

    Reference: Rosas, Mediano, Gastpar, Jensen, Phys. Rev. E 100, 032305 (2019).
    """
    return np.float64(_value(covariance(cov)) / _log_base(base))


@gradient_of("gaussian_o_information")
def gaussian_o_information_grad(cov: ArrayLike, *, base: float | None = None) -> np.ndarray:
    r""":math:`\partial \Omega / \partial \Sigma`, shape (n, n). With :math:`P = \Sigma^{-1}`, the definition's
    derivative :math:`\tfrac12[\mathrm{diag}(\Sigma)^{-1} - 2P + P\,\mathrm{diag}(P)^{-1} P]` (from
    :math:`\Sigma_{-j}^{-1} = (P - P e_j e_j^\top P / P_{jj})_{-j,-j}`) is, term by term,

    .. math:: G_{ij} = \frac12 \sum_{k \ne i, j} \frac{P_{ik} P_{kj}}{P_{kk}}\ (i \ne j), \qquad
              G_{ii} = -\frac{1}{\Sigma_{ii}} \sum_{j \ne i} G_{ij} \Sigma_{ij},

    the first without the cancellation of :math:`-2P` against :math:`P\,\mathrm{diag}(P)^{-1}P` (near
    independence G is of second order in the correlations), the diagonal from the invariance of
    :math:`\Omega` under scaling a variable (:math:`\sum_j G_{ij}\Sigma_{ij} = 0`). P is the inverse of the
    correlation matrix from its Cholesky factor (``cho_solve``), scaled back. Convention: each entry is
    differentiated as an independent variable (a symmetric gradient; a symmetric perturbation of an
    off-diagonal pair changes the value by twice the entry); divided by :math:`\log(\mathrm{base})`.

    >>> g = gaussian_o_information_grad([[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])
    >>> np.round(g * 12, 12)  # P = 2I - J/2: off the diagonal (1/4) / (2 * 3/2) = 1/12; G_ii = -2 (1/12)(1/2)
    array([[-1.,  1.,  1.],
           [ 1., -1.,  1.],
           [ 1.,  1., -1.]])
    """
    return _grad(covariance(cov)) / _log_base(base)


@value_and_grad_of("gaussian_o_information")
def _gaussian_o_information_value_and_grad(cov: ArrayLike, *, base: float | None = None):
    """:func:`gaussian_o_information` and its gradient from one checked covariance."""
    checked = covariance(cov)
    log_base = _log_base(base)
    return np.float64(_value(checked) / log_base), _grad(checked) / log_base


def _correlation(c: Checked):
    """(the standard deviations of the scaled matrix, the Cholesky factor of R with rows of unit norm, R - I)."""
    sd = np.sqrt(np.diag(c.scaled))
    e = c.scaled / sd[:, None] / sd[None, :]
    np.fill_diagonal(e, 0.0)
    return sd, c.L / sd[:, None], e


def _value(c: Checked) -> float:
    n = c.cov.shape[0]
    if n < 3:
        return 0.0
    _, rl, e = _correlation(c)
    # the inverse of a triangular factor's leading block is the leading block of its inverse
    inv = solve_triangular(rl, np.eye(n), lower=True, check_finite=False)
    return math.fsum(_increment(rl, inv, e, m) for m in range(2, n)) + 0.0


def _increment(rl: np.ndarray, inv: np.ndarray, e: np.ndarray, m: int) -> float:
    r""":math:`\Delta_m = \Omega(X_{\le m+1}) - \Omega(X_{\le m})`, Y the variable m (0-based), X the m before it."""
    inv_m, ell, em = inv[:m, :m], rl[m, :m], e[:m, :m]
    beta = inv_m.T @ ell  # R_m^{-1} r, with r = L_m ell
    p = inv_m.T @ inv_m  # P = R_m^{-1}
    delta = -np.einsum("jk,kj->j", p, em)  # P_jj - 1 = -(P E)_jj: no 1 subtracted
    cj = delta / (1.0 + delta)  # squared multiple correlation of X_j on the other X
    v = rl[m, m] ** 2  # 1 - R^2
    r2 = math.fsum(ell * ell)
    with np.errstate(over="ignore", invalid="ignore"):
        w = beta**2 / (np.diag(p) * v)  # rho_j^2 / (1 - rho_j^2), rho_j: partial correlation of Y and X_j
        u = r2 / v
        coef = np.zeros(m + 1)
        coef[0] = 1.0
        for wj in w:  # the elementary symmetric polynomials of w: prod_j (1 + w_j) = sum_k e_k
            coef[1:] = coef[1:] + wj * coef[:-1]
        e2, prod = math.fsum(coef[2:]), math.fsum(coef)
        bcb = math.fsum(beta**2 * cj)
        num_a = (beta @ em @ beta + bcb) / v
        terms_a = (np.abs(beta) @ np.abs(em) @ np.abs(beta) + bcb) / v
        num_b, terms_b = u - math.fsum(w), u + math.fsum(w)
        num, terms = (num_a, terms_a) if terms_a <= terms_b else (num_b, terms_b)
        t = (num - e2) / prod
        err_t = (terms + e2) / prod / max(1.0 + t, 1e-300)
    logs = [-2.0 * math.log(rl[m, m])] + [-math.log1p(x) for x in w]  # log1p(u) = -log(1 - R^2)
    if err_t <= math.fsum(abs(x) for x in logs):  # False for an overflowed (inf or nan) estimate
        return 0.5 * math.log1p(t)
    return 0.5 * math.fsum(logs)


def _grad(c: Checked) -> np.ndarray:
    n = c.cov.shape[0]
    if n < 3:
        return np.zeros((n, n))
    sd, rl, e = _correlation(c)
    p = cho_solve((rl, True), np.eye(n), check_finite=False)  # R^{-1}
    a = p / np.sqrt(np.diag(p))[None, :]  # a_ik = P_ik / sqrt(P_kk)
    g = np.zeros((n, n))
    for k in range(n):
        col = a[:, k].copy()
        col[k] = 0.0  # the terms k = i and k = j are the ones -2P cancels
        g += np.outer(col, col)
    g *= 0.5
    np.fill_diagonal(g, 0.0)
    np.fill_diagonal(g, -(g * e).sum(axis=1))  # sum_j G_ij R_ij = 0 (scale invariance)
    return symmetric(unscaled(g / sd[:, None] / sd[None, :], c.k))


def _cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw(draw):
        return {"cov": draw_covariance(draw, extreme, lo=2), "base": draw_base(draw)}

    return draw()


def _near_independent(scale: float) -> np.ndarray:
    """Four variables correlated by multiples of ``scale``: every triangle's product of order scale^3."""
    corr = np.array([[1.0, 1.0, -2.0, 3.0], [1.0, 1.0, 1.5, -1.0], [-2.0, 1.5, 1.0, 2.0], [3.0, -1.0, 2.0, 1.0]])
    corr = corr * scale
    np.fill_diagonal(corr, 1.0)
    return correlated([1.0, 3.0, 0.5, 2.0], corr)


def _strong_pair_weak_rest() -> np.ndarray:
    """Variables 0 and 1 correlated 0.9999999, every other pair by ~1e-8."""
    corr = np.array([[1.0, 0.9999999, 1e-8, -2e-8], [0.9999999, 1.0, 3e-8, 0.5e-8], [1e-8, 3e-8, 1.0, -1.5e-8],
                     [-2e-8, 0.5e-8, -1.5e-8, 1.0]])
    return correlated([1.0, 2.0, 0.5, 1.5], corr)


def _stress():
    return {
        # research/anchors_mi.md Sec. 6: three variables equicorrelated 0.5, log(32/27) / 2 = 0.08495 (redundancy)
        "equicorrelated_0.5": {"cov": 0.5 * np.eye(3) + 0.5},
        "generic_3": {"cov": GENERIC_3},
        "one_variable": {"cov": np.array([[2.5]])},
        "two_variables": {"cov": GENERIC_3[:2, :2].copy()},
        "near_independent_1e-8": {"cov": _near_independent(1e-8)},  # Omega ~ 1e-23
        "near_independent_1e-5": {"cov": _near_independent(1e-5)},  # ~ 1e-14
        "near_independent_1e-3": {"cov": _near_independent(1e-3)},  # ~ 1e-8
        "near_independent_blocks": {"cov": near_independent_blocks()},  # ~ 6e-16 from the two cross edges
        "strong_pair_weak_rest": {"cov": _strong_pair_weak_rest()},
        "independent_pairs": {"cov": strong_and_weak()},  # exactly 0
        "correlation_0.9999999": {"cov": correlated([1.0, 2.0, 0.5], [[1.0, 0.9999999, 0.5],
                                                                        [0.9999999, 1.0, 0.5], [0.5, 0.5, 1.0]])},
        "near_singular_4": {"cov": near_singular_4()},
        # X3 = X1 + X2 + e, Var e = 1e-6: synergy, Omega = -6.6
        "synergy_xor_like": {"cov": np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.000001]])},
        "variances_1e-6_1_1e6": {"cov": scaled_3()},
        "defaults": {"cov": GENERIC_4},
        "base_2": {"cov": GENERIC_3, "base": 2.0},
    }


def _extreme():
    return {
        "extreme_finite": {"cov": extreme_scales_3()},  # variances 1e-150, 1, 1e150
        "variances_1e-150": {"cov": GENERIC_4 * 1e-150},
        "variances_1e150": {"cov": GENERIC_4 * 1e150},
        "condition_1e12": {"cov": condition_1e12()},
        "independent_diagonal": {"cov": np.diag([2.0, 3.0, 5.0, 7.0])},
        "subnormal_variance": {"cov": subnormal_variance()},
    }
