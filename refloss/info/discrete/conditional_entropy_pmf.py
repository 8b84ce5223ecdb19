"""``conditional_entropy_pmf``: the conditional entropy H(Y | X) of a joint probability table; value, closed-form
gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..._registry import Param, gradient_of, register
from ..entropy._common import _BASE, _log_base
from ._common import (
    CONDITIONAL_ENTROPY,
    JOINT,
    dot_last,
    joint,
    joint_table_draws,
    log_quotient,
    refuse_zero,
    split,
    sum_split,
)


def log_row_over_cell(p: np.ndarray) -> np.ndarray:
    r""":math:`\log(p_x / p_{xy}) \ge 0` of each cell (``+inf`` at :math:`p_{xy} = 0`), :math:`p_x` the sum of its row.

    At the largest cell of a row, where it holds more than the rest :math:`r` of the row, as
    :math:`\mathrm{log1p}(r / p_{xy})` with :math:`r` summed from the other cells: a row
    :math:`(1 - 10^{-12}, 10^{-12})` has :math:`\log(p_x / p_{xy}) = 10^{-12}`, which :math:`\log` of the rounded
    quotient (or of the rounded :math:`p_x`) would get to 4 digits. Elsewhere :math:`p_x / p_{xy} \ge 2`, taken from
    the mantissas and exponents of both (``_common.log_quotient``): no quotient or row sum
    past the float64 range loses the log."""
    k = np.argmax(p, axis=-1)[..., None]
    top = np.take_along_axis(p, k, -1)
    at_top = np.arange(p.shape[-1]) == k
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rest = np.where(at_top, 0.0, p).sum(axis=-1, keepdims=True)
        dominant = at_top & (rest < top)
        near = np.log1p(np.where(dominant, rest / np.where(dominant, p, 1.0), 0.0))
        far = log_quotient(sum_split(p, -1), split(p))
    return np.where(dominant, near, far)


@register(
    name="conditional_entropy_pmf",
    family="discrete",
    wrt=("pxy",),
    params=(Param("pxy", JOINT), Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True)),
    paper=CONDITIONAL_ENTROPY,
    strategy=lambda extreme: joint_table_draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the value: cells near 1.7e308 (not normalised) give p log(p_x / p) beyond the float64 range",
)
def conditional_entropy_pmf(pxy: ArrayLike, *, base: float | None = None):
    r"""The conditional entropy :math:`H(Y \mid X) = -\sum_{x,y} p_{xy} \log \frac{p_{xy}}{p_x}` of each joint table on
    the last two axes (rows :math:`x` condition, columns :math:`y`), in nats.

    :math:`p_x = \sum_y p_{xy}` is the row sum of the table as given. Cells of probability 0 add nothing
    (:math:`0 \log 0 = 0`). For any table (normalised or not, the family's convention)
    :math:`H(Y \mid X) = H(X, Y) - H(X)` with the unnormalised entropies of :func:`entropy`, and it is
    :math:`\sum_x p_x H(p_{\cdot \mid x})`, the row sums times the entropies of the normalised rows, so it is never
    negative. Each term :math:`p_{xy} \log(p_x / p_{xy}) \ge 0` (:func:`log_row_over_cell`): a sum of non-negative
    terms, with :math:`\mathrm{log1p}` at a row's dominant cell, so that a peaked row keeps its digits. Gradient:
    :func:`conditional_entropy_pmf_grad`.

    Args:
        pxy: non-negative array ``(..., X, Y)``, the joint table last (rows: the condition :math:`X`).
        base: ``None`` (nats) or the base of the logarithm (2: bits).

    Returns:
        The conditional entropy of each table, shape ``pxy.shape[:-2]`` (a float for one table).

    >>> float(conditional_entropy_pmf([[0.25, 0.25], [0.5, 0.0]], base=2))  # half the time a fair bit
    0.5
    >>> conditional_entropy_pmf([[[0.5, 0.0], [0.0, 0.5]], [[0.4, 0.1], [0.1, 0.4]]])
    array([0.        , 0.50040242])

    Reference: Cover & Thomas, *Elements of Information Theory*, 2nd ed., eq. (2.10).
    """
    p = joint(pxy)
    out = dot_last(p, log_row_over_cell(p), axes=(-2, -1)) / _log_base(base)
    return out if out.ndim else float(out)


@gradient_of("conditional_entropy_pmf")
def conditional_entropy_pmf_grad(pxy: ArrayLike, *, base: float | None = None) -> np.ndarray:
    r"""Gradient of :func:`conditional_entropy_pmf` (of the sum over the tables) w.r.t. ``pxy``:
    :math:`\partial H(Y \mid X) / \partial p_{xy} = \log(p_x / p_{xy}) \ge 0`.

    With :math:`H(Y \mid X) = -\sum p_{xy} \log p_{xy} + \sum_x p_x \log p_x`, the row sum's :math:`\log p_x + 1`
    cancels the cell's constant. The cells are independent numbers (not along the simplex). At :math:`p_{xy} = 0`
    the derivative is :math:`+\infty` (one-sided) and the gradient refuses.

    >>> conditional_entropy_pmf_grad([[0.4, 0.1], [0.1, 0.4]])
    array([[0.22314355, 1.60943791],
           [1.60943791, 0.22314355]])
    """
    log_base = _log_base(base)
    p = joint(pxy)
    refuse_zero(p, "pxy", "the derivative of p log(p_x / p) is +inf")
    return log_row_over_cell(p) / log_base


def _stress() -> dict:
    return {
        "correlated_and_independent": {"pxy": np.array([[[0.4, 0.1], [0.1, 0.4]],  # the defaults
                                                        [[0.25, 0.25], [0.25, 0.25]]])},
        "peaked_rows": {"pxy": np.array([[1 - 1e-12, 1e-12], [0.5e-12, 0.5 - 1e-13]])},
        "tiny_cells": {"pxy": np.array([[1e-300, 1e-200, 1.0], [1e-250, 1.0, 1e-300]])},
        "near_uniform_row": {"pxy": np.array([[0.5 + 1e-9, 0.5 - 1e-9], [0.3, 0.2]])},
        "y_determined_by_x__bits": {"pxy": np.array([[0.5, 0.0], [0.0, 0.5]]), "base": 2.0},  # 0; no gradient
        "not_normalised": {"pxy": np.array([[2.0, 3.0], [0.5, 4.0]])},
        "one_cell": {"pxy": np.array([[[1.0]], [[2.0]]])},
        "one_row_3_columns": {"pxy": np.array([[0.2, 0.3, 0.5]])},
        "one_column": {"pxy": np.array([[0.2], [0.3], [0.5]])},
        "a_zero_cell__base_10": {"pxy": np.array([[0.3, 0.0, 0.2], [0.1, 0.25, 0.15]]), "base": 10.0},
    }


def _extreme() -> dict:
    return {
        "subnormal_cells": {"pxy": np.array([[5e-324, 1e-320], [1e-310, 1.0]])},
        "a_row_sum_past_the_range": {"pxy": np.array([[1e308, 1e308, 1.5e308], [1e-300, 1.0, 1e300]])},
        "weights_near_1e308": {"pxy": np.array([[1e308, 1.7e308], [1e-300, 1.0]])},
        "peaked_row_of_huge_cells": {"pxy": np.array([[1.7e308, 1e300], [5e-324, 1.0]])},
    }
