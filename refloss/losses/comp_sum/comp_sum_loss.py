"""``comp_sum_loss``: Mao, Mohri & Zhong's comp-sum loss in tau; value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np  # noqa: F401 - the doctests use np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._registry import Param, gradient_of, register, value_and_grad_of
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
    name="comp_sum_loss",
    family="comp_sum",
    wrt=("logits",),
    params=(_LOGITS, _TARGET, Param("tau", v.NONNEGATIVE, "tau >= 0: 0 sum-exponential, 1 cross-entropy, 2 MAE"),
            _REDUCTION),
    paper=_COMP_SUM,
    stress=lambda: cases.softmax_stress(tau=(0.0, 0.5, 1.0, 1.0 + 2.0**-40, 1.5, 2.0, 3.0)),
    overflow=_OVERFLOW,
    shift_invariant=("logits",),
    sample_weight=True,
)
def comp_sum_loss(logits: ArrayLike, target: ArrayLike, *, tau: float = 1.0, reduction: str = "mean"):
    r"""Comp-sum loss :math:`\ell_\tau = \Phi^\tau(\sum_{y' \ne y} e^{z_{y'} - z_y}) = (p_y^{\tau-1} - 1)/(1 - \tau)`.

    ``tau=1`` is :func:`refloss.cross_entropy` (:math:`-\log p_y`), ``tau=0`` :func:`sum_exponential_loss`,
    ``tau=1+q`` :func:`generalized_cross_entropy`, ``tau=2`` :func:`mae_loss`. Evaluated as
    :math:`-s\,\mathrm{exprel}((\tau - 1)s)` with :math:`s = \log p_y` (module docstring), continuous in
    :math:`\tau` through 1. A target on a masked class gives ``+inf`` for :math:`\tau \le 1` and
    :math:`1/(\tau - 1)` above. ``"mean"`` divides by the number of elements.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        tau: :math:`\tau \ge 0`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> z = [[0.0, np.log(3.0)]]  # p = (1/4, 3/4), target 1
    >>> round(comp_sum_loss(z, [1], tau=2.0), 15)  # 1 - p_y = 1/4
    0.25
    >>> round(comp_sum_loss(z, [1], tau=0.0), 15)  # 1/p_y - 1 = e^{z_0 - z_1} = 1/3
    0.333333333333333

    Reference: Mao, Mohri & Zhong (2023), comp-sum losses.
    """
    inputs = _comp_sum_inputs(logits, target, reduction)
    return _comp_sum_value(inputs, v.scalar(tau, v.NONNEGATIVE, "tau") - 1.0)


@gradient_of("comp_sum_loss")
def comp_sum_loss_grad(logits: ArrayLike, target: ArrayLike, *, tau: float = 1.0, reduction: str = "mean"):
    r"""Gradient of :func:`comp_sum_loss` with respect to ``logits``: :math:`p_y^{\tau-1}(p - e_y)`.

    Raises:
        RefLossError: as :func:`comp_sum_loss`, and when the loss is ``+inf`` (a masked target, :math:`\tau \le 1`).

    >>> comp_sum_loss_grad([[0.0, np.log(3.0)]], [1], tau=2.0)  # p_y (p - e_y) = (3/4)(1/4, -1/4)
    array([[ 0.1875, -0.1875]])
    """
    inputs = _comp_sum_inputs(logits, target, reduction)
    return _comp_sum_grad(inputs, v.scalar(tau, v.NONNEGATIVE, "tau") - 1.0)


@value_and_grad_of("comp_sum_loss")
def _comp_sum_loss_value_and_grad(logits: ArrayLike, target: ArrayLike, *, tau: float = 1.0, reduction: str = "mean"):
    """:func:`comp_sum_loss` and :func:`comp_sum_loss_grad` from one log-softmax per block of rows."""
    inputs = _comp_sum_inputs(logits, target, reduction)
    return _comp_sum_value_and_grad(inputs, v.scalar(tau, v.NONNEGATIVE, "tau") - 1.0)
