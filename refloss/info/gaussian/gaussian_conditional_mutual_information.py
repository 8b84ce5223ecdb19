"""``gaussian_conditional_mutual_information``: I(X; Y | Z) of jointly normal vectors given by index sets of one
covariance; value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ..entropy._common import _log_base
from ._common import (
    BASE,
    COV,
    COVER_THOMAS,
    GENERIC_3,
    GENERIC_4,
    INDEX_SET,
    OVERFLOW,
    canonical,
    canonical_gradient,
    condition_1e12,
    correlated,
    covariance,
    disjoint,
    draw_base,
    draw_covariance,
    draw_sets,
    extreme_scales_3,
    idx,
    index_set,
    near_singular_4,
    scaled_3,
    subnormal_variance,
    unscaled,
)


@register(
    name="gaussian_conditional_mutual_information",
    family="gaussian",
    wrt=("cov",),
    params=(Param("cov", COV), Param("x", INDEX_SET, "the variables of X"),
            Param("y", INDEX_SET, "the variables of Y, disjoint from x"),
            Param("z", INDEX_SET, "the conditioning variables, disjoint from x and y; may be empty"), BASE),
    overflow=OVERFLOW,
    paper=COVER_THOMAS,
    strategy=lambda extreme: _cases(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
)
def gaussian_conditional_mutual_information(cov: ArrayLike, x, y, z, *, base: float | None = None):
    r"""Conditional mutual information :math:`I(X; Y \mid Z)` of the jointly normal sub-vectors ``x``, ``y``, ``z``
    of :math:`\mathcal{N}(\mu, \Sigma)`, in nats or in ``base``.

    .. math:: I(X; Y \mid Z) = \tfrac12 \log\frac{|\Sigma_{X \cup Z}|\,|\Sigma_{Y \cup Z}|}{|\Sigma_Z|\,
              |\Sigma_{X \cup Y \cup Z}|} = I_{\mathcal{N}(0, C)}(X; Y), \qquad
              C = \Sigma_{VV} - \Sigma_{VZ} \Sigma_Z^{-1} \Sigma_{ZV},\ V = X \cup Y:

    the mutual information of the conditional covariance C, computed as :func:`gaussian_mutual_information`
    computes it (canonical correlations, :math:`-\tfrac12 \sum_i \mathrm{log1p}(-s_i^2)`). C is never formed:
    its Cholesky factors are the trailing blocks of the Cholesky factor of :math:`\Sigma` taken in the order
    (Z, X, Y) (and (Z, Y, X)), which is how a Schur complement keeps its accuracy. Neither the four
    log-determinants of the definition nor :math:`I(X; Y, Z) - I(X; Z)` is used: both subtract numbers of the
    size of the dependence on Z to leave a conditional dependence that may be many orders smaller (X and Y
    strongly dependent on Z and nearly independent given it). With ``z`` empty it is
    :func:`gaussian_mutual_information`.

    ``x``, ``y`` (non-empty) and ``z`` (possibly empty): disjoint sets of integer indices into cov's axes, no
    index repeated. ``cov``: exactly symmetric, positive definite. ``base``: the value and the gradient are
    divided by :math:`\log(\mathrm{base})`. Gradient: :func:`gaussian_conditional_mutual_information_grad`.

    Args:
        cov: float covariance matrix (d, d).
        x, y: disjoint non-empty index sets.
        z: the conditioning index set, disjoint from both (may be empty).
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.

    >>> cov = [[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]]  # X, Y, Z equicorrelated 0.5
    >>> round(float(gaussian_conditional_mutual_information(cov, [0], [1], [2])), 15)  # rho(X, Y | Z) = 1/3
    0.058891517828191
    >>> round(float(-0.5 * np.log1p(-1 / 9)), 15)
    0.058891517828191

    Reference: Cover & Thomas, *Elements of Information Theory*, Sec. 8.6 (conditional mutual information).
    """
    checked = covariance(cov)
    c = canonical(checked.scaled, *_sets(checked.cov, x, y, z))
    return np.float64(c.value / _log_base(base))


@gradient_of("gaussian_conditional_mutual_information")
def gaussian_conditional_mutual_information_grad(cov: ArrayLike, x, y, z, *, base: float | None = None) -> np.ndarray:
    r""":math:`\partial I(X; Y \mid Z) / \partial \Sigma`, shape (d, d), zero outside ``x``, ``y`` and ``z``.

    With G = d I / d C the gradient of :func:`gaussian_mutual_information` at the conditional covariance C (on
    V = X, Y) and :math:`K_Z = \Sigma_Z^{-1} \Sigma_{ZV}`, the chain rule through
    :math:`C = \Sigma_{VV} - \Sigma_{VZ} \Sigma_Z^{-1} \Sigma_{ZV}` gives

    .. math:: G_{VV} = G, \qquad G_{VZ} = G_{ZV}^\top = -G K_Z^\top, \qquad G_{ZZ} = K_Z G K_Z^\top,

    which equals :math:`\tfrac12(\Sigma_{X \cup Z}^{-1} + \Sigma_{Y \cup Z}^{-1} - \Sigma_Z^{-1} -
    \Sigma_{X \cup Y \cup Z}^{-1})` without its cancellation. :math:`K_Z = L_Z^{-\top} M^\top` by a triangular
    solve (:math:`L_Z`, M: the first block column of the factor in the order (Z, X, Y)). Convention: each entry
    is differentiated as an independent variable, so the gradient is symmetric (a symmetric perturbation of an
    off-diagonal pair changes the value by twice the entry); divided by :math:`\log(\mathrm{base})`.

    >>> cov = [[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]]
    >>> np.round(gaussian_conditional_mutual_information_grad(cov, [0], [1], [2]) * 48, 12)
    array([[-4., 12., -4.],
           [12., -4., -4.],
           [-4., -4.,  4.]])
    """
    checked = covariance(cov)
    c = canonical(checked.scaled, *_sets(checked.cov, x, y, z))
    return unscaled(canonical_gradient(c, checked.cov.shape[0]), checked.k) / _log_base(base)


@value_and_grad_of("gaussian_conditional_mutual_information")
def _gaussian_conditional_mutual_information_value_and_grad(cov: ArrayLike, x, y, z, *, base: float | None = None):
    """:func:`gaussian_conditional_mutual_information` and its gradient from one pair of Cholesky factorisations."""
    checked = covariance(cov)
    c = canonical(checked.scaled, *_sets(checked.cov, x, y, z))
    log_base = _log_base(base)
    return np.float64(c.value / log_base), unscaled(canonical_gradient(c, checked.cov.shape[0]), checked.k) / log_base


def _sets(arr: np.ndarray, x, y, z):
    d = arr.shape[0]
    xs, ys, zs = index_set(x, d, "x"), index_set(y, d, "y"), index_set(z, d, "z", empty=True)
    disjoint(x=xs, y=ys, z=zs)
    return xs, ys, zs


def _cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw(draw):
        cov = draw_covariance(draw, extreme, lo=2)
        return {"cov": cov, **draw_sets(draw, cov.shape[0], z=True), "base": draw_base(draw)}

    return draw()


def _through_z(a: float, b: float, noise_corr: float) -> np.ndarray:
    """Z, X = a Z + e1, Y = b Z + e2 with unit variances and corr(e1, e2) = noise_corr (in the order Z, X, Y)."""
    return np.array([[1.0, a, b], [a, a * a + 1.0, a * b + noise_corr], [b, a * b + noise_corr, b * b + 1.0]])


def _stress():
    near_determined = correlated([1.0, 1.0, 2.0], [[1.0, 0.9999999, 0.5], [0.9999999, 1.0, 0.5], [0.5, 0.5, 1.0]])
    return {
        "generic_4__x_0__y_3__z_12": {"cov": GENERIC_4, "x": idx(0), "y": idx(3), "z": idx(1, 2)},
        "z_empty": {"cov": GENERIC_3, "x": idx(0), "y": idx(1, 2), "z": idx()},
        # X and Y depend on Z with slopes 30 and -20 and on each other, given Z, through a correlation 1e-8
        "conditionally_near_independent_1e-8": {"cov": _through_z(30.0, -20.0, 1e-8), "x": idx(1), "y": idx(2),
                                                "z": idx(0)},
        "conditionally_near_independent_1e-3": {"cov": _through_z(0.9, 0.8, 1e-3), "x": idx(1), "y": idx(2),
                                                "z": idx(0)},
        "conditional_correlation_0.9999999": {"cov": _through_z(0.5, 0.5, 0.9999999), "x": idx(1), "y": idx(2),
                                              "z": idx(0)},
        # X nearly determined by Z (correlation 0.9999999): Sigma_{X|Z} is a Schur complement of 2e-7
        "x_nearly_determined_by_z": {"cov": near_determined, "x": idx(1), "y": idx(2), "z": idx(0)},
        "near_singular_4": {"cov": near_singular_4(), "x": idx(2), "y": idx(3), "z": idx(0, 1)},
        "variances_1e-6_1_1e6": {"cov": scaled_3(), "x": idx(0), "y": idx(2), "z": idx(1)},
        "blocks_2_1_1": {"cov": GENERIC_4, "x": idx(3, 0), "y": idx(2), "z": idx(1)},
        "blocks_1_2_1": {"cov": GENERIC_4, "x": idx(1), "y": idx(0, 3), "z": idx(2)},
        "subsets_1_1_1_of_4": {"cov": GENERIC_4, "x": idx(2), "y": idx(0), "z": idx(3)},
        "identity": {"cov": np.eye(4), "x": idx(0), "y": idx(1, 2), "z": idx(3)},
        "defaults": {"cov": GENERIC_4, "x": idx(0, 1), "y": idx(2), "z": idx(3)},
        "base_2": {"cov": GENERIC_3, "x": idx(0), "y": idx(1), "z": idx(2), "base": 2.0},
    }


def _extreme():
    return {
        "extreme_finite": {"cov": extreme_scales_3(), "x": idx(0), "y": idx(2), "z": idx(1)},  # 1e-150, 1, 1e150
        "extreme_finite__z_2": {"cov": extreme_scales_3(), "x": idx(1), "y": idx(0), "z": idx(2)},
        "variances_1e-150": {"cov": GENERIC_4 * 1e-150, "x": idx(0), "y": idx(1, 2), "z": idx(3)},
        "variances_1e150": {"cov": GENERIC_4 * 1e150, "x": idx(0), "y": idx(1, 2), "z": idx(3)},
        "condition_1e12": {"cov": condition_1e12(), "x": idx(0), "y": idx(3), "z": idx(1, 2)},
        "independent_diagonal": {"cov": np.diag([2.0, 3.0, 5.0, 7.0]), "x": idx(0), "y": idx(1, 3), "z": idx(2)},
        "subnormal_variance": {"cov": subnormal_variance(), "x": idx(2), "y": idx(1), "z": idx(0)},
    }
