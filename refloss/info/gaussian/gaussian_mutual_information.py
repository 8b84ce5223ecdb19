"""``gaussian_mutual_information``: I(X; Y) of jointly normal vectors given by index sets of one covariance; value,
closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ..entropy._common import _log_base
from ._common import (
    BASE,
    COV,
    GELFAND_YAGLOM,
    GENERIC_3,
    GENERIC_4,
    INDEX_SET,
    OVERFLOW,
    canonical,
    canonical_gradient,
    condition_1e12,
    covariance,
    disjoint,
    draw_base,
    draw_covariance,
    draw_sets,
    extreme_scales_3,
    idx,
    index_set,
    near_independent_blocks,
    near_singular_4,
    pair,
    scaled_3,
    strong_and_weak,
    subnormal_variance,
    unscaled,
)


@register(
    name="gaussian_mutual_information",
    family="gaussian",
    wrt=("cov",),
    params=(Param("cov", COV), Param("x", INDEX_SET, "the variables of X"),
            Param("y", INDEX_SET, "the variables of Y, disjoint from x"), BASE),
    overflow=OVERFLOW,
    paper=GELFAND_YAGLOM,
    strategy=lambda extreme: _cases(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
)
def gaussian_mutual_information(cov: ArrayLike, x, y, *, base: float | None = None):
    r"""Mutual information :math:`I(X; Y)` of the jointly normal sub-vectors ``x`` and ``y`` of
    :math:`\mathcal{N}(\mu, \Sigma)`, in nats or in ``base``.

    .. math:: I(X; Y) = \tfrac12 \log\frac{\det\Sigma_X \det\Sigma_Y}{\det\Sigma_{X \cup Y}}
              = -\tfrac12 \sum_i \log(1 - s_i^2),

    with :math:`s_i` the canonical correlations of X and Y: the singular values of
    :math:`W = L_X^{-1} \Sigma_{XY} L_Y^{-\top}` (:math:`L_X, L_Y` the Cholesky factors of the blocks,
    triangular solves). Evaluated as :math:`-\tfrac12 \sum_i \mathrm{log1p}(-s_i^2)`, which keeps the digits of
    :math:`I \approx \tfrac12 \sum_i s_i^2` near independence, where the difference of the three log-determinants
    returns rounding noise (at a correlation of 1e-8, :math:`I = 5 \cdot 10^{-17}`); where some
    :math:`s_i^2 > 1/2`, as the chain rule :math:`\sum_j \log(L_{Y,jj} / D_{jj})` with :math:`D D^\top =
    \Sigma_{Y|X}`, whose terms are non-negative and scale-free (no :math:`1 - s_i^2` rounded from a rounded
    :math:`s_i`). Variables outside ``x`` and ``y`` play no part (their gradient is 0).

    ``x`` and ``y``: integer indices into cov's axes (a sequence, or one int), each set non-empty, without
    repeats, and disjoint; their order does not matter. ``cov`` must be exactly symmetric and positive definite
    (refused otherwise: never symmetrised, and a failed Cholesky factorisation is named). ``base``: the value and
    the gradient are divided by :math:`\log(\mathrm{base})`. Gradient: :func:`gaussian_mutual_information_grad`.

    Args:
        cov: float covariance matrix (d, d).
        x, y: disjoint index sets.
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.

    >>> round(float(gaussian_mutual_information([[1.0, 0.5], [0.5, 1.0]], [0], [1])), 15)  # -log(3/4) / 2
    0.143841036225890
    >>> float(gaussian_mutual_information([[1.0, 1e-8], [1e-8, 1.0]], [0], [1]))  # rho^2 / 2 + rho^4 / 4
    5e-17

    Reference: Gel'fand & Yaglom (1957); Cover & Thomas, *Elements of Information Theory*, Sec. 8.5.
    """
    checked = covariance(cov)
    c = canonical(checked.scaled, *_sets(checked.cov, x, y))
    return np.float64(c.value / _log_base(base))


@gradient_of("gaussian_mutual_information")
def gaussian_mutual_information_grad(cov: ArrayLike, x, y, *, base: float | None = None) -> np.ndarray:
    r""":math:`\partial I / \partial \Sigma`, shape (d, d), zero outside ``x`` and ``y``:

    .. math:: G_{XX} = -\tfrac12 L_X^{-\top} W W^\top (I - W W^\top)^{-1} L_X^{-1}, \quad
              G_{YY} = -\tfrac12 L_Y^{-\top} W^\top W (I - W^\top W)^{-1} L_Y^{-1}, \quad
              G_{XY} = G_{YX}^\top = \tfrac12 L_X^{-\top} (I - W W^\top)^{-1} W L_Y^{-1},

    i.e. :math:`\tfrac12(\Sigma_X^{-1} \oplus \Sigma_Y^{-1} - \Sigma_{X \cup Y}^{-1})`, evaluated without that
    difference: :math:`G_{XX} = -\tfrac12 K K^\top` and :math:`G_{XY} = \tfrac12 K D^{-1}` with
    :math:`K = (D^{-1} B L_X^{-1})^\top` from the Cholesky factor of :math:`\Sigma_{X \cup Y}` in the order (X, Y)
    (:math:`B = \Sigma_{YX} L_X^{-\top}`, :math:`D D^\top = \Sigma_{Y|X}`), and :math:`G_{YY}` likewise from the
    order (Y, X). Each entry is differentiated as an independent variable (the two triangles separately), so the
    gradient is symmetric and the derivative along a symmetric perturbation of an off-diagonal pair is
    :math:`2 G_{ij}`; divided by :math:`\log(\mathrm{base})`.

    >>> g = gaussian_mutual_information_grad([[1.0, 0.5], [0.5, 1.0]], [0], [1])
    >>> np.round(g * 9, 12)  # 1/2 of (1, 1) minus Sigma^-1 = [[4, -2], [-2, 4]] / 3
    array([[-1.5,  3. ],
           [ 3. , -1.5]])
    """
    checked = covariance(cov)
    c = canonical(checked.scaled, *_sets(checked.cov, x, y))
    return unscaled(canonical_gradient(c, checked.cov.shape[0]), checked.k) / _log_base(base)


@value_and_grad_of("gaussian_mutual_information")
def _gaussian_mutual_information_value_and_grad(cov: ArrayLike, x, y, *, base: float | None = None):
    """:func:`gaussian_mutual_information` and its gradient from one pair of Cholesky factorisations."""
    checked = covariance(cov)
    c = canonical(checked.scaled, *_sets(checked.cov, x, y))
    log_base = _log_base(base)
    return np.float64(c.value / log_base), unscaled(canonical_gradient(c, checked.cov.shape[0]), checked.k) / log_base


def _sets(arr: np.ndarray, x, y):
    d = arr.shape[0]
    xs, ys = index_set(x, d, "x"), index_set(y, d, "y")
    disjoint(x=xs, y=ys)
    return xs, ys, np.zeros(0, dtype=np.intp)


def _cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw(draw):
        cov = draw_covariance(draw, extreme, lo=2)
        return {"cov": cov, **draw_sets(draw, cov.shape[0]), "base": draw_base(draw)}

    return draw()


def _stress():
    return {
        "generic_3__x_0__y_12": {"cov": GENERIC_3, "x": idx(0), "y": idx(1, 2)},
        "near_independent_1e-8": {"cov": pair(1e-8), "x": idx(0), "y": idx(1)},
        "near_independent_1e-3": {"cov": pair(1e-3, 4.0, 0.25), "x": idx(0), "y": idx(1)},
        "near_independent_blocks_1e-8": {"cov": near_independent_blocks(), "x": idx(0, 2), "y": idx(1, 3)},
        "correlation_0.9999999": {"cov": pair(0.9999999), "x": idx(0), "y": idx(1)},
        "correlation_-0.9999999": {"cov": pair(-0.9999999, 0.5, 3.0), "x": idx(1), "y": idx(0)},
        "near_singular_within_x": {"cov": near_singular_4(), "x": idx(0, 1), "y": idx(2, 3)},
        "near_singular_across": {"cov": near_singular_4(), "x": idx(0, 3), "y": idx(1, 2)},
        "variances_1e-6_1_1e6": {"cov": scaled_3(), "x": idx(0, 2), "y": idx(1)},
        "blocks_1_3": {"cov": GENERIC_4, "x": idx(2), "y": idx(0, 1, 3)},
        "blocks_3_1": {"cov": GENERIC_4, "x": idx(3, 0, 1), "y": idx(2)},
        "blocks_2_2_interleaved": {"cov": GENERIC_4, "x": idx(0, 2), "y": idx(3, 1)},
        "subsets_1_1_of_4": {"cov": GENERIC_4, "x": idx(1), "y": idx(3)},
        "strong_and_weak": {"cov": strong_and_weak(), "x": idx(0, 1), "y": idx(2, 3)},
        "identity": {"cov": np.eye(4), "x": idx(0, 1), "y": idx(2, 3)},
        # benchmark-mi's multinormal-dense-2-2-0.5: 0.293893 nats (research/anchors_mi.md, Sec. 1.3)
        "bmi_dense_2_2": {"cov": 0.5 * np.eye(4) + 0.5, "x": idx(0, 1), "y": idx(2, 3)},
        "defaults": {"cov": GENERIC_4, "x": idx(0, 1), "y": idx(2, 3)},
        "base_2": {"cov": GENERIC_3, "x": idx(0), "y": idx(1, 2), "base": 2.0},
    }


def _extreme():
    return {
        "extreme_finite": {"cov": extreme_scales_3(), "x": idx(0, 2), "y": idx(1)},  # variances 1e-150, 1, 1e150
        "extreme_finite__x_2": {"cov": extreme_scales_3(), "x": idx(2), "y": idx(0, 1)},
        "variances_1e-150": {"cov": GENERIC_4 * 1e-150, "x": idx(0, 1), "y": idx(2, 3)},
        "variances_1e150": {"cov": GENERIC_4 * 1e150, "x": idx(0, 1), "y": idx(2, 3)},
        "condition_1e12": {"cov": condition_1e12(), "x": idx(0, 1), "y": idx(2, 3)},
        "condition_1e12__1_3": {"cov": condition_1e12(), "x": idx(3), "y": idx(0, 1, 2)},
        "independent_diagonal": {"cov": np.diag([2.0, 3.0, 5.0, 7.0]), "x": idx(0, 2), "y": idx(1, 3)},
        "subnormal_variance": {"cov": subnormal_variance(), "x": idx(2), "y": idx(0, 1)},
    }
