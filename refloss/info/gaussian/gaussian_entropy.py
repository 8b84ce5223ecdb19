"""``gaussian_entropy``: the differential entropy of a multivariate normal distribution; value, closed-form gradient,
registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import cho_solve

from ... import _cases as cases
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ..entropy._common import _log_base
from ._common import (
    BASE,
    COV,
    COVER_THOMAS,
    GENERIC_3,
    GENERIC_4,
    LOG_2PIE,
    OVERFLOW,
    Checked,
    condition_1e12,
    covariance,
    draw_base,
    draw_covariance,
    extreme_scales_3,
    logdet_triangular,
    near_singular_4,
    pair,
    scaled_3,
    subnormal_variance,
    symmetric,
    unscaled,
)


@register(
    name="gaussian_entropy",
    family="gaussian",
    wrt=("cov",),
    params=(Param("cov", COV), BASE),
    overflow=OVERFLOW,
    paper=COVER_THOMAS,
    strategy=lambda extreme: _cases(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
)
def gaussian_entropy(cov: ArrayLike, *, base: float | None = None):
    r"""Differential entropy of :math:`\mathcal{N}(\mu, \Sigma)` (any mean), in nats or in ``base``.

    .. math:: h = \tfrac12 \log\det(2\pi e\,\Sigma) = \tfrac d2 \log(2\pi e) + \sum_i \log L_{ii},
              \qquad \Sigma = L L^\top \text{ (Cholesky)}

    ``cov`` is first scaled by powers of two to a diagonal in [1/2, 2) (exactly); the log-determinant is taken from
    the Cholesky factor's diagonal, its mantissas multiplied and its binary exponents (and the scaling's) added
    exactly, so variances of 1e-150 and 1e150 cancel without rounding. ``cov`` must be exactly
    symmetric and positive definite: refloss does not symmetrise it, and a matrix whose Cholesky factorisation
    fails is refused (a singular Gaussian has no density). ``base``: the value and the gradient are divided by
    :math:`\log(\mathrm{base})` (SciPy's ``base``). The entropy of a zero-dimensional Gaussian (``cov`` of shape
    (0, 0)) is 0. Gradient: :func:`gaussian_entropy_grad`.

    Args:
        cov: float covariance matrix (d, d).
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.

    >>> round(float(gaussian_entropy([[1.0]])), 15)  # log(2 pi e) / 2
    1.418938533204673
    >>> round(float(gaussian_entropy(np.diag([2.0, 8.0]), base=2)), 12)  # log2(2 pi e) + log2(16) / 2
    6.094191170361

    Reference: Cover & Thomas, *Elements of Information Theory*, Thm 8.4.1.
    """
    return _value(covariance(cov), base)


@gradient_of("gaussian_entropy")
def gaussian_entropy_grad(cov: ArrayLike, *, base: float | None = None) -> np.ndarray:
    r""":math:`\partial h / \partial \Sigma = \tfrac12 \Sigma^{-1}` (divided by :math:`\log(\mathrm{base})`), shape
    (d, d), from the Cholesky factor (``scipy.linalg.cho_solve``, never an explicit inverse).

    Convention: every entry :math:`\Sigma_{ij}` is differentiated as an independent variable (the two triangles
    separately), which gives :math:`\tfrac12 \Sigma^{-\top} = \tfrac12 \Sigma^{-1}`, a symmetric matrix. The
    derivative along a symmetric perturbation of the pair :math:`(i, j), (j, i)` is therefore :math:`g_{ij} +
    g_{ji}` (:math:`2 g_{ij}` off the diagonal); an implementation that differentiates only one triangle returns
    that sum there and 0 in the other triangle.

    >>> gaussian_entropy_grad([[2.0, 0.0], [0.0, 4.0]])
    array([[0.25 , 0.   ],
           [0.   , 0.125]])
    """
    return _grad(covariance(cov), base)


@value_and_grad_of("gaussian_entropy")
def _gaussian_entropy_value_and_grad(cov: ArrayLike, *, base: float | None = None):
    """:func:`gaussian_entropy` and :func:`gaussian_entropy_grad` from one Cholesky factorisation."""
    checked = covariance(cov)
    return _value(checked, base), _grad(checked, base)


def _value(c: Checked, base) -> np.float64:
    log_base = _log_base(base)
    # log|Sigma| = log|scaled| + 2 sum_i k_i log 2, the exponents added exactly (logdet_triangular)
    h = 0.5 * c.cov.shape[0] * LOG_2PIE + 0.5 * logdet_triangular(np.diag(c.L), int(c.k.sum()))
    return np.float64(h / log_base)


def _grad(c: Checked, base) -> np.ndarray:
    log_base = _log_base(base)
    d = c.cov.shape[0]
    if d == 0:
        return np.zeros((0, 0))
    inverse = cho_solve((c.L, True), np.eye(d), check_finite=False)
    return symmetric(unscaled(inverse, c.k) * (0.5 / log_base))


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
        # h = 0: the constant d/2 log(2 pi e) and the log-determinant cancel entirely
        "zero_entropy": {"cov": np.eye(3) / (2.0 * np.pi * np.e)},
        "variances_1e-6_1_1e6": {"cov": scaled_3()},
        "correlation_0.9999999": {"cov": pair(0.9999999)},
        "near_singular_4": {"cov": near_singular_4()},
        "near_independent_1e-8": {"cov": pair(1e-8, 2.0, 0.5)},
        "defaults": {"cov": GENERIC_4},
        "base_2": {"cov": GENERIC_3, "base": 2.0},
        "base_0.5": {"cov": GENERIC_4, "base": 0.5},
    }


def _extreme():
    return {
        "extreme_finite": {"cov": extreme_scales_3()},  # variances 1e-150, 1, 1e150
        "variances_1e-150": {"cov": GENERIC_4 * 1e-150},
        "variances_1e150": {"cov": GENERIC_4 * 1e150},
        "condition_1e12": {"cov": condition_1e12()},
        "diagonal": {"cov": np.diag([2.0, 3.0, 5.0, 7.0])},
        "subnormal_variance": {"cov": subnormal_variance()},
    }
