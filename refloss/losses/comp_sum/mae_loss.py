"""``mae_loss``: the comp-sum member tau = 2, 1 - p_y; value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np  # noqa: F401 - the doctests use np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ..._registry import gradient_of, register, value_and_grad_of
from ._common import (
    _COMP_SUM,
    _LOGITS,
    _REDUCTION,
    _TARGET,
    _comp_sum_grad,
    _comp_sum_inputs,
    _comp_sum_value,
    _comp_sum_value_and_grad,
)


@register(
    name="mae_loss",
    family="comp_sum",
    wrt=("logits",),
    params=(_LOGITS, _TARGET, _REDUCTION),
    paper=_COMP_SUM,
    stress=lambda: cases.softmax_stress(),
    shift_invariant=("logits",),
    sample_weight=True,
)
def mae_loss(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Mean absolute error of the softmax, :math:`\ell = 1 - p_y`: the comp-sum loss at :math:`\tau = 2`.

    **Convention.** :math:`1 - p_y`, the comp-sum member (and Zhang & Sabuncu's :math:`L_{q=1}`); Ghosh et al.
    (2017) and the normalized-loss literature write MAE as :math:`\lVert p - e_y \rVert_1 = 2(1 - p_y)`, twice
    this. Evaluated as :math:`-\mathrm{expm1}(\log p_y)`, so it keeps relative accuracy as :math:`p_y \to 1`.
    ``"mean"`` divides by the number of elements.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> float(mae_loss([[0.0, np.log(3.0)]], [1], reduction="sum"))  # 1 - 3/4
    0.25
    >>> float(mae_loss([[40.0, 0.0]], [0], reduction="sum"))  # 1 - p_0 = e^-40 / (1 + e^-40), not 0
    4.248354255291589e-18

    Reference: Mao, Mohri & Zhong (2023), the comp-sum loss with tau = 2.
    """
    return _comp_sum_value(_comp_sum_inputs(logits, target, reduction), 1.0)


@gradient_of("mae_loss")
def mae_loss_grad(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Gradient of :func:`mae_loss`: :math:`p_y (p - e_y)`.

    >>> mae_loss_grad([[0.0, np.log(3.0)]], [1])  # (3/4)(1/4, -1/4)
    array([[ 0.1875, -0.1875]])
    """
    return _comp_sum_grad(_comp_sum_inputs(logits, target, reduction), 1.0)


@value_and_grad_of("mae_loss")
def _mae_loss_value_and_grad(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    """:func:`mae_loss` and :func:`mae_loss_grad` from one log-softmax per block of rows."""
    return _comp_sum_value_and_grad(_comp_sum_inputs(logits, target, reduction), 1.0)
