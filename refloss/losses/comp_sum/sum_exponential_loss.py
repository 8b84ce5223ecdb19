"""``sum_exponential_loss``: the comp-sum member tau = 0; value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np  # noqa: F401 - the doctests use np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ..._registry import gradient_of, register, value_and_grad_of
from ._common import (
    _COMP_SUM,
    _LOGITS,
    _OVERFLOW,
    _REDUCTION,
    _TARGET,
    _comp_sum_grad,
    _comp_sum_inputs,
    _comp_sum_value,
    _comp_sum_value_and_grad,
)


@register(
    name="sum_exponential_loss",
    family="comp_sum",
    wrt=("logits",),
    params=(_LOGITS, _TARGET, _REDUCTION),
    paper=_COMP_SUM,
    stress=lambda: cases.softmax_stress(),
    overflow=_OVERFLOW,
    shift_invariant=("logits",),
    sample_weight=True,
)
def sum_exponential_loss(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Sum-exponential loss :math:`\ell = \sum_{y' \ne y} e^{z_{y'} - z_y} = 1/p_y - 1`: the comp-sum loss at
    :math:`\tau = 0`, the multi-class exponential loss of boosting.

    Evaluated as :math:`\mathrm{expm1}(-\log p_y)`, which is exact to a few ulps for every :math:`p_y`, small
    (:math:`\approx 1 - p_y`) or huge; it passes the float64 range when :math:`p_y < 10^{-308}`. A target on
    a masked class gives ``+inf``. ``"mean"`` divides by the number of elements.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> round(sum_exponential_loss([[0.0, np.log(3.0), 1.0]], [1]), 15)  # (1 + e) / 3
    1.239427276153015

    Reference: Mao, Mohri & Zhong (2023), the comp-sum loss with tau = 0.
    """
    return _comp_sum_value(_comp_sum_inputs(logits, target, reduction), -1.0)


@gradient_of("sum_exponential_loss")
def sum_exponential_loss_grad(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Gradient of :func:`sum_exponential_loss`: :math:`(p - e_y)/p_y`, i.e. :math:`e^{z_j - z_y}` off the target
    and :math:`-(1/p_y - 1)` on it.

    Raises:
        RefLossError: as :func:`sum_exponential_loss`, and when the target class is masked (the loss is +inf).

    >>> sum_exponential_loss_grad([[0.0, np.log(3.0)]], [1])  # (1/3, -1/3)
    array([[ 0.33333333, -0.33333333]])
    """
    return _comp_sum_grad(_comp_sum_inputs(logits, target, reduction), -1.0)


@value_and_grad_of("sum_exponential_loss")
def _sum_exponential_loss_value_and_grad(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    """:func:`sum_exponential_loss` and :func:`sum_exponential_loss_grad` from one log-softmax per block of rows."""
    return _comp_sum_value_and_grad(_comp_sum_inputs(logits, target, reduction), -1.0)
