"""``mutual_information_pmf``: the mutual information of a joint probability table; value, closed-form gradient,
registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..._registry import Param, gradient_of, register
from ..entropy._common import _BASE, _log_base
from ._common import (
    JOINT,
    MUTUAL_INFORMATION,
    dot_last,
    joint,
    joint_table_draws,
    log_quotient,
    refuse_zero,
    split,
    sum_split,
)


def log_over_marginals(p: np.ndarray) -> np.ndarray:
    r""":math:`\log(p_{xy} / (p_x p_y))` of each cell of the tables ``p`` (``-inf`` at :math:`p_{xy} = 0`), with
    :math:`p_x`, :math:`p_y` the sums of its row and column: from the mantissas and exponents of the cell and of both
    sums (``_common.log_quotient``), so that neither the product :math:`p_x p_y`
    (:math:`10^{-300} \cdot 10^{-300}`), nor a sum past the float64 range, nor a quotient beyond it loses the log."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_quotient(split(p), sum_split(p, -1), sum_split(p, -2))


@register(
    name="mutual_information_pmf",
    family="discrete",
    wrt=("pxy",),
    params=(Param("pxy", JOINT), Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True)),
    paper=MUTUAL_INFORMATION,
    strategy=lambda extreme: joint_table_draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the value: a table whose total passes about 1e305 (not normalised) has -S log S beyond the float64 range",
)
def mutual_information_pmf(pxy: ArrayLike, *, base: float | None = None):
    r"""The mutual information :math:`I(X; Y) = \sum_{x,y} p_{xy} \log \frac{p_{xy}}{p_x\,p_y}` of each joint table on
    the last two axes (rows :math:`x`, columns :math:`y`), in nats.

    :math:`p_x = \sum_y p_{xy}` and :math:`p_y = \sum_x p_{xy}` are the marginal sums of the table as given. Cells of
    probability 0 add nothing (:math:`0 \log 0 = 0`). For a normalised table this is the mutual information,
    :math:`H(X) + H(Y) - H(X, Y) \ge 0`; the table is **not normalised** (the family's convention), and for a total
    :math:`S \ne 1` the definition as written, with the table's own marginals, is
    :math:`S\,I(\hat p) - S \log S` (:math:`\hat p = p / S`), which may be negative. Each log is taken from the
    mantissas and exponents of the cell and of both marginal sums (:func:`log_over_marginals`): no product or
    quotient of the three can leave the float64 range first. The terms have both signs, and near independence their
    sum cancels: the condition scale :math:`\sum p_{xy} |\log\frac{p_{xy}}{p_x p_y} - 1|` allows what the
    inputs' rounding causes. Gradient: :func:`mutual_information_pmf_grad`.

    Args:
        pxy: non-negative array ``(..., X, Y)``, the joint table last.
        base: ``None`` (nats) or the base of the logarithm (2: bits).

    Returns:
        The mutual information of each table, shape ``pxy.shape[:-2]`` (a float for one table).

    >>> float(mutual_information_pmf([[0.5, 0.0], [0.0, 0.5]], base=2))  # X = Y, a fair bit
    1.0
    >>> mutual_information_pmf([[[0.25, 0.25], [0.25, 0.25]], [[0.4, 0.1], [0.1, 0.4]]])
    array([0.        , 0.19274476])

    Reference: Cover & Thomas, *Elements of Information Theory*, 2nd ed., eq. (2.28).
    """
    p = joint(pxy)
    out = dot_last(p, log_over_marginals(p), axes=(-2, -1)) / _log_base(base)
    return out if out.ndim else float(out)


@gradient_of("mutual_information_pmf")
def mutual_information_pmf_grad(pxy: ArrayLike, *, base: float | None = None) -> np.ndarray:
    r"""Gradient of :func:`mutual_information_pmf` (of the sum over the tables) w.r.t. ``pxy``:
    :math:`\partial I / \partial p_{xy} = \log \frac{p_{xy}}{p_x\,p_y} - 1`.

    The marginals depend on the cell: with :math:`I = \sum p_{xy} \log p_{xy} - \sum_x p_x \log p_x -
    \sum_y p_y \log p_y` (the same sum, regrouped), each of the three adds its :math:`\log + 1`, and the constants
    leave :math:`1 - 1 - 1 = -1`. The cells are independent numbers (not along the simplex). At :math:`p_{xy} = 0`
    the derivative is :math:`-\infty` (one-sided) and the gradient refuses.

    >>> mutual_information_pmf_grad([[0.4, 0.1], [0.1, 0.4]])
    array([[-0.52999637, -1.91629073],
           [-1.91629073, -0.52999637]])
    """
    log_base = _log_base(base)
    p = joint(pxy)
    refuse_zero(p, "pxy", "the derivative of p log(p / (p_x p_y)) is -inf")
    return (log_over_marginals(p) - 1.0) / log_base


def _stress() -> dict:
    independent = np.outer([0.3, 0.7], [0.6, 0.4])
    return {
        "correlated_and_independent": {"pxy": np.array([[[0.4, 0.1], [0.1, 0.4]],  # the defaults
                                                        [[0.25, 0.25], [0.25, 0.25]]])},
        "nearly_independent": {"pxy": independent + np.array([[1e-9, -1e-9], [-1e-9, 1e-9]])},
        "independent_3x2": {"pxy": np.outer([0.2, 0.3, 0.5], [0.25, 0.75])},
        "diagonal__bits": {"pxy": np.array([[0.5, 0.0], [0.0, 0.5]]), "base": 2.0},  # log 2; no gradient
        "peaked": {"pxy": np.array([[1 - 1e-12, 5e-13], [5e-13, 1e-300]])},
        "tiny_cells": {"pxy": np.array([[1e-300, 1e-200], [1e-250, 1.0]])},
        "not_normalised": {"pxy": np.array([[2.0, 3.0], [0.5, 4.0]])},
        "independent_total_1_over_e": {"pxy": np.outer([0.5, 0.5], [0.5, 0.5]) * np.exp(-1.0)},
        "one_cell": {"pxy": np.array([[[1.0]], [[2.0]]])},
        "one_row": {"pxy": np.array([[0.2, 0.3, 0.5]])},
        "a_zero_cell__base_10": {"pxy": np.array([[0.3, 0.0, 0.2], [0.1, 0.25, 0.15]]), "base": 10.0},
    }


def _extreme() -> dict:
    return {
        "subnormal_cells": {"pxy": np.array([[5e-324, 1e-320], [1e-310, 1.0]])},
        "marginal_products_beyond_the_range": {"pxy": np.array([[1e-300, 1e-300], [1e-300, 1e300]])},
        "weights_near_1e308": {"pxy": np.array([[1e308, 1.7e308], [1e-300, 1.0]])},  # a row sum past the range
        "weights_at_1_and_1e300": {"pxy": np.array([[1.0, 1e300], [1e300, 1.0]])},
    }
