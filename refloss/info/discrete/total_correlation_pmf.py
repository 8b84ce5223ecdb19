"""``total_correlation_pmf``: Watanabe's total correlation of a joint probability table of k variables; value,
closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ..entropy._common import _BASE, _log_base
from ._common import (
    JOINT_K,
    VARIABLES_DOC,
    WATANABE,
    dot_last,
    joint_k,
    log_quotient,
    multivariate_table_draws,
    refuse_zero,
    split,
    sum_split,
    variable_axes,
)


def marginal_splits(p: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The marginal sums :math:`p_i(x_i)` of each of the ``k`` variables (the last ``k`` axes of ``p``) as
    ``_common.split`` pairs, kept broadcastable against ``p`` (also where a float64 sum would overflow)."""
    axes = variable_axes(p, k)
    return [sum_split(p, tuple(b for b in axes if b != a)) for a in axes]


def log_over_product(p: np.ndarray, k: int) -> np.ndarray:
    r""":math:`\log(p(x) / \prod_i p_i(x_i))` of each cell of the tables ``p`` (``-inf`` at :math:`p(x) = 0`), the
    :math:`p_i` the marginal sums of its ``k`` variables: from the mantissas and exponents of the cell and of the k
    sums (``_common.log_quotient``; the quotient of the mantissas lies in :math:`(1/2, 2^k)`), so that neither the
    product of the marginals (:math:`(10^{-300})^k`), nor a sum past the float64 range, nor a quotient beyond it
    loses the log. Rounded to about :math:`(k + 1)\,\epsilon/2 + \epsilon |\log|`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_quotient(split(p), *marginal_splits(p, k))


@register(
    name="total_correlation_pmf",
    family="discrete",
    wrt=("pjoint",),
    params=(Param("pjoint", JOINT_K), Param("variables", v.Integers(1), VARIABLES_DOC, optional=True),
            Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True)),
    paper=WATANABE,
    strategy=lambda extreme: multivariate_table_draws(extreme, 1),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the value: a table whose total S passes about 1e305 (not normalised) has -(k - 1) S log S beyond the "
             "float64 range",
)
def total_correlation_pmf(pjoint: ArrayLike, *, variables: int | None = None, base: float | None = None):
    r"""The total correlation :math:`\mathrm{TC}(X_1, \ldots, X_k) = \sum_i H(X_i) - H(X_1, \ldots, X_k)` of each
    joint table, one variable per trailing axis, in nats.

    **Interface.** ``pjoint`` is one array whose last ``variables`` axes are the variables :math:`X_1, \ldots,
    X_k` (axis by axis, in order) and whose axes before them are a batch of independent tables; ``variables=None``
    (the default) makes every axis a variable, so a 3-axis array is one table of three variables unless
    ``variables=2`` makes it a batch of 2-variable tables. ``variables=1`` (or a 1-axis array) is allowed: one
    variable has :math:`\mathrm{TC} = H(X_1) - H(X_1) = 0`, and so has its gradient, zero entries included.

    The marginal tables :math:`p_i(x_i) = \sum_{x' : x'_i = x_i} p(x')` are sums of the table as given (the family's
    convention: **not normalised**), and :math:`H(q) = -\sum q \log q` with :math:`0 \log 0 = 0`. For a normalised
    table :math:`\mathrm{TC} \ge 0`, 0 exactly when the variables are independent; for a table of total
    :math:`S` it is :math:`S\,\mathrm{TC}(\hat p) - (k - 1) S \log S` (:math:`\hat p = p / S`), which may be
    negative. For k = 2 it is :func:`mutual_information_pmf`.

    Evaluated as the Kullback-Leibler divergence of the table from the product of its marginals,
    :math:`\mathrm{TC} = \sum_x p(x) \log \frac{p(x)}{\prod_i p_i(x_i)}` (the same sum, regrouped), each log from
    the mantissas and exponents of the cell and of its k marginal sums (:func:`log_over_product`): no difference
    of entropies is formed, which near independence would cancel to the rounding of the entropies, and no product of
    marginals can leave the float64 range. The terms have both signs; the condition scale
    :math:`\sum_x p(x) |\log\frac{p(x)}{\prod_i p_i(x_i)} + 1 - k|` (about :math:`(k - 1) S` near independence)
    allows what the inputs' rounding causes. Gradient: :func:`total_correlation_pmf_grad`.

    Args:
        pjoint: non-negative array ``(..., n_1, ..., n_k)``, the variables on the last ``k`` axes.
        variables: ``None`` (every axis is a variable) or the number ``k >= 1`` of trailing axes that are.
        base: ``None`` (nats) or the base of the logarithm (2: bits).

    Returns:
        The total correlation of each table, shape ``pjoint.shape[:-k]`` (a float for one table).

    >>> xor = np.zeros((2, 2, 2)); xor[0, 0, 0] = xor[0, 1, 1] = xor[1, 0, 1] = xor[1, 1, 0] = 0.25
    >>> copy = np.zeros((2, 2, 2)); copy[0, 0, 0] = copy[1, 1, 1] = 0.5
    >>> float(total_correlation_pmf(xor, base=2)), float(total_correlation_pmf(copy, base=2))  # X3 = X1 xor X2; copies
    (1.0, 2.0)
    >>> total_correlation_pmf([[[0.25, 0.25], [0.25, 0.25]], [[0.4, 0.1], [0.1, 0.4]]], variables=2)  # two tables
    array([0.        , 0.19274476])

    Reference: S. Watanabe, *Information theoretical analysis of multivariate correlation*, IBM J. Res. Dev. 4(1),
    66-82 (1960) (equation number not checked).
    """
    p, k = joint_k(pjoint, variables, 1)
    log_base = _log_base(base)
    if k == 1:
        out = np.zeros(p.shape[:-1])
    else:
        out = dot_last(p, log_over_product(p, k), axes=variable_axes(p, k)) / log_base
    return out if out.ndim else float(out)


@gradient_of("total_correlation_pmf")
def total_correlation_pmf_grad(pjoint: ArrayLike, *, variables: int | None = None,
                               base: float | None = None) -> np.ndarray:
    r"""Gradient of :func:`total_correlation_pmf` (of the sum over the tables) w.r.t. ``pjoint``:
    :math:`\partial \mathrm{TC} / \partial p(x) = \log \frac{p(x)}{\prod_i p_i(x_i)} + 1 - k`.

    Each marginal sum depends on the cell: with :math:`\mathrm{TC} = \sum_x p(x) \log p(x) - \sum_i \sum_{x_i}
    p_i(x_i) \log p_i(x_i)`, the cell's :math:`\log p(x) + 1` and each marginal's :math:`-(\log p_i(x_i) + 1)` leave
    the constant :math:`1 - k` (-1 for k = 2, as :func:`mutual_information_pmf_grad`). The cells are independent
    numbers (not along the simplex). The log is that of :func:`log_over_product`. At :math:`p(x) = 0` the
    derivative is one-sided and, where the cell's marginals are positive, :math:`-\infty`: the gradient refuses at
    every entry 0 (the family's convention), except for one variable (k = 1), where TC is 0 everywhere and so is
    its gradient.

    >>> total_correlation_pmf_grad([[0.4, 0.1], [0.1, 0.4]])  # k = 2: the mutual information's
    array([[-0.52999637, -1.91629073],
           [-1.91629073, -0.52999637]])
    """
    log_base = _log_base(base)
    p, k = joint_k(pjoint, variables, 1)
    if k == 1:
        return np.zeros(p.shape)
    refuse_zero(p, "pjoint", "the derivative of p log(p / prod_i p_i) is one-sided, and -inf where the cell's "
                "marginals are positive")
    return (log_over_product(p, k) + (1.0 - k)) / log_base


def xor_and_copy() -> np.ndarray:
    """Two tables of three fair bits: X3 = X1 xor X2 (X1, X2 independent), and X1 = X2 = X3."""
    out = np.zeros((2, 2, 2, 2))
    for a in range(2):
        for b in range(2):
            out[0, a, b, a ^ b] = 0.25
        out[1, a, a, a] = 0.5
    return out


def pairwise_dependence(eps: float) -> np.ndarray:
    """Three fair bits (signs s_i = +-1) with p(x) = (1 + eps (s_1 s_2 + s_2 s_3 + s_1 s_3)) / 8: dependent in pairs
    only, TC ~ 3 eps^2 / 2 and the O-information ~ eps^3 (of third order)."""
    s = np.array([1.0, -1.0])
    s1, s2, s3 = np.meshgrid(s, s, s, indexing="ij")
    return (1.0 + eps * (s1 * s2 + s2 * s3 + s1 * s3)) / 8.0


GENERIC_222 = np.array([[[0.10, 0.05], [0.15, 0.20]], [[0.12, 0.08], [0.06, 0.24]]])

#: A 2 x 3 x 2 table of independent variables (float64 products: not exactly independent), and a perturbation of
#: it that keeps every marginal sum (each row, column and pillar of the pattern sums to 0).
INDEPENDENT_232 = np.einsum("i,j,k->ijk", [0.3, 0.7], [0.2, 0.3, 0.5], [0.6, 0.4])
PATTERN_232 = np.einsum("i,j,k->ijk", [1.0, -1.0], [1.0, -2.0, 1.0], [1.0, -1.0])


def _stress() -> dict:
    four = np.array([0.07, 0.03, 0.09, 0.05, 0.04, 0.08, 0.06, 0.02, 0.05, 0.07, 0.03, 0.09, 0.08, 0.04, 0.1, 0.1])
    return {
        "generic_2x2x2": {"pjoint": GENERIC_222},  # the defaults
        "independent_2x3x2": {"pjoint": INDEPENDENT_232},
        "nearly_independent_1e-9": {"pjoint": INDEPENDENT_232 + 1e-9 * PATTERN_232},
        "xor_and_copy": {"pjoint": xor_and_copy(), "variables": 3},  # log 2 and 2 log 2; no gradient
        "pairwise_dependence_1e-4": {"pjoint": pairwise_dependence(1e-4)},
        "nearly_independent_1e-4__bits": {"pjoint": INDEPENDENT_232 + 1e-4 * PATTERN_232, "base": 2.0},
        "four_variables": {"pjoint": four.reshape(2, 2, 2, 2)},
        "batch_of_2x2__variables_2": {"pjoint": np.array([[[0.4, 0.1], [0.1, 0.4]], [[0.25, 0.25], [0.25, 0.25]],
                                                          [[2.0, 3.0], [0.5, 4.0]]]), "variables": 2},
        "one_variable": {"pjoint": np.array([0.2, 0.0, 0.8])},  # TC = 0, gradient 0 (the zero entry included)
        "one_variable_batch": {"pjoint": np.array([[0.2, 0.3, 0.5], [1.0, 2.0, 3.0]]), "variables": 1},
        "peaked": {"pjoint": np.array([[[1 - 1e-12, 2e-13], [1e-13, 3e-13]], [[2e-13, 1e-13], [1e-13, 1e-300]]])},
        "tiny_cells": {"pjoint": np.array([[[1e-300, 1e-200], [1e-250, 0.5]], [[1e-280, 0.25], [1e-220, 0.25]]])},
        "not_normalised": {"pjoint": GENERIC_222 * 7.5},
        # total 1/e: log(p / prod_i p_i) = k - 1 cancels the gradient's 1 - k to 0; TC = (k - 1) / e
        "independent_total_1_over_e": {"pjoint": np.full((2, 2, 2), 0.125 * np.exp(-1.0))},
        "one_cell": {"pjoint": np.array([[[2.0]]])},
        "a_zero_cell__base_10": {"pjoint": np.array([[[0.3, 0.0], [0.1, 0.2]], [[0.05, 0.15], [0.1, 0.1]]]),
                                 "base": 10.0},
    }


def _extreme() -> dict:
    return {
        "subnormal_cells": {"pjoint": np.array([[[5e-324, 1e-320], [1e-310, 1.0]], [[1e-315, 0.5], [2e-323, 0.25]]])},
        "marginal_products_beyond_the_range": {"pjoint": np.array([[[1e-300, 1e-300], [1e-300, 1e-300]],
                                                                   [[1e-300, 1e-300], [1e-300, 1e300]]])},
        "weights_near_1e308": {"pjoint": np.array([[[1e308, 1.7e308], [1e-300, 1.0]], [[1e307, 1.0], [1.0, 1e308]]])},
        "weights_at_1_and_1e300": {"pjoint": np.array([[[1.0, 1e300], [1e300, 1.0]], [[1e300, 1.0], [1.0, 1e300]]])},
        "empty_batch": {"pjoint": np.zeros((0, 2, 2)), "variables": 2},
    }
