"""``o_information_pmf``: the O-information (Rosas et al. 2019) of a joint probability table of k variables; value,
closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ..entropy._common import _BASE, _log_base
from ._common import (
    JOINT_K,
    ROSAS,
    VARIABLES_DOC,
    dot_last,
    joint_k,
    log_quotient,
    multivariate_table_draws,
    refuse_zero,
    split,
    sum_split,
    variable_axes,
)
from .total_correlation_pmf import (
    GENERIC_222,
    INDEPENDENT_232,
    PATTERN_232,
    marginal_splits,
    pairwise_dependence,
    xor_and_copy,
)


def log_omega(p: np.ndarray, k: int) -> np.ndarray:
    r"""The local O-information :math:`\omega(x) = \log \frac{\prod_i p_{-i}(x_{-i})}{p(x)^{k-2} \prod_i p_i(x_i)}`
    of each cell of the tables ``p`` (``k >= 3`` variables on its last axes), :math:`p_{-i}` the marginal table of
    every variable but :math:`X_i`, :math:`p_i` that of :math:`X_i` alone; meaningless at :math:`p(x) = 0`, which
    the callers mask. One log of one quotient, from the mantissas and exponents of the cell and of the 2k marginal
    sums (``_common.log_quotient``; the mantissas' quotient lies in :math:`(2^{-k}, 2^{2k-2})`): rounded to about
    :math:`(3k - 2)\,\epsilon/2 + \epsilon|\omega|`, where the k + 1 total correlations it combines would each add
    theirs."""
    m, e = split(p)
    num_m, num_e = np.ones(p.shape), np.zeros(p.shape, dtype=np.int64)
    for axis in variable_axes(p, k):
        dm, de = sum_split(p, axis)
        num_m, num_e = num_m * dm, num_e + de
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_quotient((num_m, num_e), *([(m, e)] * (k - 2)), *marginal_splits(p, k))


@register(
    name="o_information_pmf",
    family="discrete",
    wrt=("pjoint",),
    params=(Param("pjoint", JOINT_K), Param("variables", v.Integers(2), VARIABLES_DOC, optional=True),
            Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True)),
    paper=ROSAS,
    strategy=lambda extreme: multivariate_table_draws(extreme, 2),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the value: a table whose total S passes about 1e305 (not normalised) has -(k - 2) S log S beyond the "
             "float64 range",
)
def o_information_pmf(pjoint: ArrayLike, *, variables: int | None = None, base: float | None = None):
    r"""The O-information :math:`\Omega = (k - 2) H(X) + \sum_i [H(X_i) - H(X_{-i})] = \mathrm{TC} - \mathrm{DTC}`
    of each joint table of :math:`X = (X_1, \ldots, X_k)`, one variable per trailing axis, in nats (positive:
    redundancy dominates; negative: synergy).

    **Interface** (as :func:`total_correlation_pmf`): the last ``variables`` axes of ``pjoint`` are the variables,
    the axes before them a batch of tables; ``variables=None`` (the default) makes every axis a variable. At least
    two variables: for k = 2, :math:`\Omega = 0` (:math:`\mathrm{TC} = \mathrm{DTC} = I(X_1; X_2)`), and so is its
    gradient, zero entries included. One variable is refused: there the two forms of the definition part on an
    unnormalised table (TC - DTC is 0, while the entropy form leaves :math:`-H(X_{-1}) = S \log S`, the marginal
    table of no variable being the total S).

    :math:`X_{-i}` is every variable but :math:`X_i`; :math:`\mathrm{DTC} = H(X) - \sum_i H(X_i \mid X_{-i})` is
    the dual total correlation. The entropies are those of the marginal sums of the table as given (the family's
    convention: **not normalised**, :math:`0 \log 0 = 0`); for a table of total :math:`S`,
    :math:`\Omega(p) = S\,\Omega(\hat p) - (k - 2) S \log S` (:math:`\hat p = p / S`).

    Evaluated as :math:`\Omega = \sum_i \mathrm{TC}(X_{-i}) - (k - 2)\,\mathrm{TC}(X) = \sum_x p(x)\,\omega(x)`,
    with the local O-information :math:`\omega(x) = \log \frac{\prod_i p_{-i}(x_{-i})}{p(x)^{k-2} \prod_i
    p_i(x_i)}` taken as one log of one quotient of mantissas plus the exponents' exact sum (:func:`log_omega`).
    Near independence :math:`\Omega` is small (of third order in a dependence between pairs only), its entropies
    of order 1 and its total correlations of second order: the entropy form cancels to the entropies' rounding, the
    difference of total correlations to theirs; here each cell's term is rounded once. The condition scale
    :math:`\sum_x p(x)|\omega(x) - (k - 2)|` is about :math:`(k - 2) S` there (the definition is not scale-free
    in an unnormalised table), which bounds what any float64 evaluation can promise. Gradient:
    :func:`o_information_pmf_grad`.

    Args:
        pjoint: non-negative array ``(..., n_1, ..., n_k)``, the variables on the last ``k`` axes.
        variables: ``None`` (every axis is a variable) or the number ``k >= 2`` of trailing axes that are.
        base: ``None`` (nats) or the base of the logarithm (2: bits).

    Returns:
        The O-information of each table, shape ``pjoint.shape[:-k]`` (a float for one table).

    >>> xor = np.zeros((2, 2, 2)); xor[0, 0, 0] = xor[0, 1, 1] = xor[1, 0, 1] = xor[1, 1, 0] = 0.25
    >>> copy = np.zeros((2, 2, 2)); copy[0, 0, 0] = copy[1, 1, 1] = 0.5
    >>> float(o_information_pmf(xor, base=2)), float(o_information_pmf(copy, base=2))  # synergy; redundancy
    (-1.0, 1.0)
    >>> float(o_information_pmf([[0.4, 0.1], [0.1, 0.4]]))  # two variables
    0.0

    Reference: F. E. Rosas, P. A. M. Mediano, M. Gastpar, H. J. Jensen, *Quantifying high-order interdependencies
    via multivariate extensions of the mutual information*, Phys. Rev. E 100, 032305 (2019), arXiv:1902.11239: the
    definition TC - DTC and its entropy form (equation numbers not checked).
    """
    p, k = joint_k(pjoint, variables, 2)
    log_base = _log_base(base)
    if k == 2:
        out = np.zeros(p.shape[:-2])
    else:
        out = dot_last(p, log_omega(p, k), axes=variable_axes(p, k)) / log_base
    return out if out.ndim else float(out)


@gradient_of("o_information_pmf")
def o_information_pmf_grad(pjoint: ArrayLike, *, variables: int | None = None,
                           base: float | None = None) -> np.ndarray:
    r"""Gradient of :func:`o_information_pmf` (of the sum over the tables) w.r.t. ``pjoint``:
    :math:`\partial \Omega / \partial p(x) = \omega(x) - (k - 2)`, :math:`\omega` the local O-information of
    :func:`log_omega`.

    Each entropy :math:`H(q) = -\sum q \log q` of a marginal table has :math:`\partial H / \partial p(x) =
    -(\log q(x_A) + 1)` for the marginal cell :math:`x_A` that :math:`x` falls in; the :math:`(k - 2) + k - k`
    constants leave :math:`-(k - 2)`, the logs :math:`\omega(x)`. The cells are independent numbers (not along the
    simplex). At :math:`p(x) = 0` the derivative is :math:`+\infty` (one-sided) where the cell's marginals are
    positive, and the gradient refuses at every entry 0 (the family's convention), except for two variables, where
    :math:`\Omega` is 0 everywhere and so is its gradient.

    >>> np.round(o_information_pmf_grad(np.full((2, 2, 2), 0.125)), 15)  # independent fair bits: -(k - 2)
    array([[[-1., -1.],
            [-1., -1.]],
    <BLANKLINE>
           [[-1., -1.],
            [-1., -1.]]])
    """
    log_base = _log_base(base)
    p, k = joint_k(pjoint, variables, 2)
    if k == 2:
        return np.zeros(p.shape)
    refuse_zero(p, "pjoint", "the derivative of the joint entropy's term -(k - 2) p log p is +inf (one-sided; "
                "finite only where the cell is alone in some marginal)")
    return (log_omega(p, k) - (k - 2.0)) / log_base


def _stress() -> dict:
    four = np.array([0.07, 0.03, 0.09, 0.05, 0.04, 0.08, 0.06, 0.02, 0.05, 0.07, 0.03, 0.09, 0.08, 0.04, 0.1, 0.1])
    independent_4 = np.einsum("i,j,k,l->ijkl", [0.3, 0.7], [0.6, 0.4], [0.2, 0.8], [0.55, 0.45])
    pattern_4 = np.einsum("i,j,k,l->ijkl", *([[1.0, -1.0]] * 4))
    return {
        "generic_2x2x2": {"pjoint": GENERIC_222},  # the defaults
        "independent_2x3x2": {"pjoint": INDEPENDENT_232},
        "nearly_independent_1e-9": {"pjoint": INDEPENDENT_232 + 1e-9 * PATTERN_232},
        "xor_and_copy": {"pjoint": xor_and_copy(), "variables": 3},  # -log 2 and log 2; no gradient
        "pairwise_dependence_1e-4": {"pjoint": pairwise_dependence(1e-4)},  # Omega ~ 1e-12, third order
        "pairwise_dependence_1e-6": {"pjoint": pairwise_dependence(1e-6)},  # ~ 3e-17, below the inputs' rounding
        "nearly_independent_1e-4__bits": {"pjoint": INDEPENDENT_232 + 1e-4 * PATTERN_232, "base": 2.0},
        "four_variables": {"pjoint": four.reshape(2, 2, 2, 2)},
        "four_variables_nearly_independent_1e-8": {"pjoint": independent_4 + 1e-8 * pattern_4},
        "two_variables": {"pjoint": np.array([[0.4, 0.1], [0.1, 0.4]])},  # 0, gradient 0
        "two_variables_batch_with_a_zero": {"pjoint": np.array([[[0.5, 0.0], [0.0, 0.5]], [[2.0, 3.0], [0.5, 4.0]]]),
                                            "variables": 2},
        "batch_of_three_variables": {"pjoint": np.stack([GENERIC_222, GENERIC_222[::-1] * 3.0]), "variables": 3},
        "peaked": {"pjoint": np.array([[[1 - 1e-12, 2e-13], [1e-13, 3e-13]], [[2e-13, 1e-13], [1e-13, 1e-300]]])},
        "tiny_cells": {"pjoint": np.array([[[1e-300, 1e-200], [1e-250, 0.5]], [[1e-280, 0.25], [1e-220, 0.25]]])},
        "not_normalised": {"pjoint": GENERIC_222 * 7.5},
        # total 1/e: omega = k - 2 cancels the gradient's -(k - 2) to 0; Omega = (k - 2) / e
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
        "empty_batch": {"pjoint": np.zeros((0, 2, 2, 2)), "variables": 3},
    }
