"""``generalized_cross_entropy``: Zhang & Sabuncu's GCE, the comp-sum member tau = 1 + q; value, closed-form
gradient, registration."""

from __future__ import annotations

import numpy as np  # noqa: F401 - the doctests use np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ._common import (
    _GCE,
    _LOGITS,
    _REDUCTION,
    _TARGET,
    _comp_sum_grad,
    _comp_sum_inputs,
    _comp_sum_value,
    _comp_sum_value_and_grad,
)

_Q = v.Interval(0.0, 1.0, lo_open=True)


@register(
    name="generalized_cross_entropy",
    family="comp_sum",
    wrt=("logits",),
    params=(_LOGITS, _TARGET, Param("q", _Q, "q in (0, 1]: -> 0 cross-entropy, 1 MAE"), _REDUCTION),
    paper=_GCE,
    stress=lambda: cases.softmax_stress(q=(2.0**-40, 1e-3, 0.5, 0.7, 1.0)),
    shift_invariant=("logits",),
    sample_weight=True,
)
def generalized_cross_entropy(logits: ArrayLike, target: ArrayLike, *, q: float = 0.7, reduction: str = "mean"):
    r"""Generalized cross-entropy :math:`L_q = (1 - p_y^q)/q`, :math:`q \in (0, 1]` (Zhang & Sabuncu 2018).

    The Box-Cox transform of :math:`p_y`: :math:`q \to 0` gives cross-entropy :math:`-\log p_y`, :math:`q = 1`
    gives :func:`mae_loss`, :math:`1 - p_y`. It is the comp-sum loss with :math:`\tau = 1 + q`. Evaluated as
    :math:`-s\,\mathrm{exprel}(q s)`, :math:`s = \log p_y`, which keeps every digit at small :math:`q` (where
    :math:`1 - p_y^q` cancels) and as :math:`p_y \to 1`. A target on a masked class gives :math:`1/q`.
    ``"mean"`` divides by the number of elements. The default ``q=0.7`` is the paper's.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        q: :math:`q \in (0, 1]`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> round(generalized_cross_entropy([[0.0, np.log(3.0)]], [0], q=0.5), 15)  # (1 - (1/4)^(1/2)) / (1/2) = 1
    1.0

    Reference: Zhang & Sabuncu (2018), Eq. 6.
    """
    inputs = _comp_sum_inputs(logits, target, reduction)
    return _comp_sum_value(inputs, v.scalar(q, _Q, "q"))


@gradient_of("generalized_cross_entropy")
def generalized_cross_entropy_grad(logits: ArrayLike, target: ArrayLike, *, q: float = 0.7,
                                   reduction: str = "mean"):
    r"""Gradient of :func:`generalized_cross_entropy`: :math:`p_y^q (p - e_y)`, cross-entropy's scaled by
    :math:`p_y^q` (the down-weighting of hard, possibly mislabelled, examples).

    >>> generalized_cross_entropy_grad([[0.0, np.log(3.0)]], [0], q=0.5)  # (1/2) (p - e_0) = (1/2)(-3/4, 3/4)
    array([[-0.375,  0.375]])
    """
    inputs = _comp_sum_inputs(logits, target, reduction)
    return _comp_sum_grad(inputs, v.scalar(q, _Q, "q"))


@value_and_grad_of("generalized_cross_entropy")
def _generalized_cross_entropy_value_and_grad(logits: ArrayLike, target: ArrayLike, *, q: float = 0.7,
                                              reduction: str = "mean"):
    """:func:`generalized_cross_entropy` and its gradient from one log-softmax per block of rows."""
    inputs = _comp_sum_inputs(logits, target, reduction)
    return _comp_sum_value_and_grad(inputs, v.scalar(q, _Q, "q"))
