"""``gaussian_total_correlation``: the total correlation (multi-information) of a multivariate normal; value,
closed-form gradient, registration."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import cho_solve

from ... import _cases as cases
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ..entropy._common import _log_base
from ._common import (
    BASE,
    COV,
    GENERIC_3,
    GENERIC_4,
    OVERFLOW,
    WATANABE,
    Checked,
    condition_1e12,
    correlated,
    covariance,
    draw_base,
    draw_covariance,
    extreme_scales_3,
    near_independent_blocks,
    near_singular_4,
    pair,
    scaled_3,
    strong_and_weak,
    subnormal_variance,
    symmetric,
    unscaled,
)


@register(
    name="gaussian_total_correlation",
    family="gaussian",
    wrt=("cov",),
    params=(Param("cov", COV), BASE),
    overflow=OVERFLOW,
    paper=WATANABE,
    strategy=lambda extreme: _cases(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
)
def gaussian_total_correlation(cov: ArrayLike, *, base: float | None = None):
    r"""Total correlation :math:`\mathrm{TC} = \sum_j h(X_j) - h(X)` of :math:`\mathcal{N}(\mu, \Sigma)`, in nats or
    in ``base``.

    .. math:: \mathrm{TC} = \tfrac12 \log\frac{\prod_j \Sigma_{jj}}{|\Sigma|} = -\tfrac12 \log|R|
              = -\tfrac12 \sum_j \mathrm{log1p}(-c_j), \qquad c_j = \sum_{k<j} \tilde L_{jk}^2,

    with :math:`R` the correlation matrix and :math:`\tilde L = \mathrm{diag}(\Sigma)^{-1/2} L` its Cholesky factor
    (rows of unit norm); :math:`c_j` is the squared multiple correlation of variable j on the variables before it,
    so the sum is the chain rule :math:`\sum_j I(X_j; X_{<j})` of non-negative terms. Near independence
    (:math:`\mathrm{TC} \approx \tfrac12 \sum_{i<j} \rho_{ij}^2`) each term keeps its digits where
    :math:`\sum_j \log\Sigma_{jj} - \log|\Sigma|` returns rounding noise; where :math:`c_j > 1/2` the term is taken
    as :math:`2 \log \tilde L_{jj}` (:math:`1 - c_j = \tilde L_{jj}^2`, without the subtraction). For d = 2 it is
    :func:`gaussian_mutual_information` of the two variables. ``cov``: exactly symmetric, positive definite.
    ``base``: the value and the gradient are divided by :math:`\log(\mathrm{base})`. Gradient:
    :func:`gaussian_total_correlation_grad`.

    Args:
        cov: float covariance matrix (d, d).
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.

    >>> round(float(gaussian_total_correlation([[4.0, 1.0], [1.0, 1.0]])), 15)  # rho = 1/2: -log(3/4) / 2
    0.143841036225890

    Reference: Watanabe (1960), the Gaussian case of the multi-information.
    """
    return _value(covariance(cov), base)


@gradient_of("gaussian_total_correlation")
def gaussian_total_correlation_grad(cov: ArrayLike, *, base: float | None = None) -> np.ndarray:
    r""":math:`\partial \mathrm{TC} / \partial \Sigma`, shape (d, d):

    .. math:: G_{ij} = -\tfrac12 (\Sigma^{-1})_{ij} = -\frac{P_{ij}}{2\sqrt{\Sigma_{ii}\Sigma_{jj}}}\ (i \ne j),
              \qquad G_{ii} = \tfrac12\Big(\frac{1}{\Sigma_{ii}} - (\Sigma^{-1})_{ii}\Big)
              = \frac{1}{2\Sigma_{ii}} \sum_{j \ne i} P_{ij} R_{ij},

    with :math:`P = R^{-1}` from the Cholesky factor of R. The diagonal is evaluated in the right-hand form
    (:math:`(PR)_{ii} = 1`): near independence :math:`P_{ij} \approx -R_{ij}`, so its terms are
    :math:`\approx -R_{ij}^2`, where :math:`1/\Sigma_{ii} - (\Sigma^{-1})_{ii}` subtracts two numbers of order
    :math:`1/\Sigma_{ii}`. Convention: each entry is differentiated as an independent variable (the gradient is
    symmetric; a symmetric perturbation of an off-diagonal pair changes TC by twice the entry); divided by
    :math:`\log(\mathrm{base})`.

    >>> gaussian_total_correlation_grad([[1.0, 0.5], [0.5, 1.0]]) * 3  # [[-1/3, 1/3], [1/3, -1/3]] / 2 * 3
    array([[-0.5,  1. ],
           [ 1. , -0.5]])
    """
    return _grad(covariance(cov), base)


@value_and_grad_of("gaussian_total_correlation")
def _gaussian_total_correlation_value_and_grad(cov: ArrayLike, *, base: float | None = None):
    """:func:`gaussian_total_correlation` and its gradient from one Cholesky factorisation."""
    checked = covariance(cov)
    return _value(checked, base), _grad(checked, base)


def _value(c: Checked, base) -> np.float64:
    log_base = _log_base(base)
    if c.cov.shape[0] == 0:
        return np.float64(0.0)
    # the scaled matrix has the same correlation matrix; its factor's rows divided by their norms are R's factor
    rl = c.L / np.sqrt(np.diag(c.scaled))[:, None]
    r2 = np.tril(rl, -1) ** 2
    cj = r2.sum(axis=1)
    small = cj <= 0.5
    terms = np.where(small, np.log1p(-np.where(small, cj, 0.0)), 2.0 * np.log(np.diag(rl)))
    return np.float64(-0.5 * math.fsum(terms) / log_base + 0.0)


def _grad(c: Checked, base) -> np.ndarray:
    log_base = _log_base(base)
    d = c.cov.shape[0]
    if d == 0:
        return np.zeros((0, 0))
    sd = np.sqrt(np.diag(c.scaled))
    rl = c.L / sd[:, None]
    p = cho_solve((rl, True), np.eye(d), check_finite=False)
    r = c.scaled / sd[:, None] / sd[None, :]
    off = p * r
    np.fill_diagonal(off, 0.0)
    g = -0.5 * p / sd[:, None] / sd[None, :]
    np.fill_diagonal(g, 0.5 * off.sum(axis=1) / np.diag(c.scaled))
    return symmetric(unscaled(g, c.k) / log_base)


def _cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw(draw):
        return {"cov": draw_covariance(draw, extreme), "base": draw_base(draw)}

    return draw()


def _stress():
    return {
        "generic_3": {"cov": GENERIC_3},
        "generic_4": {"cov": GENERIC_4, "base": None},
        "one_variable": {"cov": np.array([[2.5]])},
        "identity_4": {"cov": np.eye(4)},
        "near_independent_1e-8": {"cov": pair(1e-8, 2.0, 0.5)},
        "near_independent_1e-3": {"cov": pair(-1e-3, 4.0, 0.25)},
        "near_independent_4": {"cov": correlated([1.0, 3.0, 0.5, 2.0], [[1.0, 1e-8, -2e-8, 3e-8],
                                                                        [1e-8, 1.0, 1e-3, -1e-8],
                                                                        [-2e-8, 1e-3, 1.0, 2e-8],
                                                                        [3e-8, -1e-8, 2e-8, 1.0]])},
        "near_independent_blocks": {"cov": near_independent_blocks()},
        "correlation_0.9999999": {"cov": pair(0.9999999)},
        "near_singular_4": {"cov": near_singular_4()},
        "variances_1e-6_1_1e6": {"cov": scaled_3()},
        "strong_and_weak": {"cov": strong_and_weak()},
        # benchmark-mi's dense covariance 0.5 I + 0.5 11^T on 4 variables: TC = -log(5/16) / 2
        "equicorrelated_0.5": {"cov": 0.5 * np.eye(4) + 0.5},
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
