"""``binary_cross_entropy_with_logits``: PyTorch's binary cross-entropy on logits; value, closed-form gradient,
registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import outputs_by_rows, reduce_by_rows
from ..._registry import Paper, Param, gradient_of, register, value_and_grad_of
from ._common import (
    _REDUCTION,
    _bce_inputs,
    _binary_case,
    _binary_cross_entropy,
    _binary_stress,
    _decay,
    _element_rows,
    _elementwise_scaled,
    _sigmoids,
)


@register(
    name="binary_cross_entropy_with_logits",
    family="classification",
    wrt=("logits",),
    params=(
        Param("logits", v.ArrayArg("float logits of any non-empty shape")),
        Param("target", v.ArrayArg("labels in [0, 1] (soft labels allowed), the logits' shape")),
        Param("weight", v.ArrayArg("None or non-negative weights broadcastable to logits"), optional=True),
        Param("pos_weight", v.ArrayArg("None or non-negative weights of the positive term, broadcastable "
                                       "to logits (one per class along the last axis)"), optional=True),
        _REDUCTION,
    ),
    paper=Paper("torch.nn.BCEWithLogitsLoss", where="PyTorch documentation (the pos_weight convention)"),
    strategy=lambda extreme: _bce_cases(extreme),
    stress=lambda: _binary_stress(),
)
def binary_cross_entropy_with_logits(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None,
                                     pos_weight: ArrayLike | None = None, reduction: str = "mean"):
    r"""Binary cross-entropy on logits, PyTorch's ``F.binary_cross_entropy_with_logits``.

    .. math:: \ell = -w\,\big[\rho\, y \log \sigma(x) + (1-y)\log(1 - \sigma(x))\big]
              = w\,\big[\rho\, y\, \mathrm{softplus}(-x) + (1-y)\, \mathrm{softplus}(x)\big]

    elementwise, with :math:`\rho` = ``pos_weight`` (weights the positive term only) and :math:`w` =
    ``weight``. The right-hand form adds two non-negative terms, so it stays accurate where
    PyTorch's :math:`(1-y)x + (1 + (\rho-1)y)\,\mathrm{softplus}(-x)` cancels (large negative x).
    ``"mean"`` divides by the number of elements (weights are not in the denominator).
    Gradient: :func:`binary_cross_entropy_with_logits_grad`.

    Args:
        logits: float array of any non-empty shape.
        target: same shape, entries in [0, 1].
        weight, pos_weight: optional non-negative arrays broadcastable to ``logits``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> round(binary_cross_entropy_with_logits([0.0, 2.0], [1.0, 0.0]), 14)  # (log 2 + log(1 + e^2)) / 2
    1.41003759580146
    >>> float(binary_cross_entropy_with_logits([-800.0], [0.0], reduction="sum"))  # softplus(-800)
    0.0
    """
    x, y, w, pw = _bce_inputs(logits, target, weight, pos_weight, reduction)
    (losses,) = reduce_by_rows(_block, _losses, *_element_rows(x, y, w, pw), reduction=reduction)
    return losses.reshape(x.shape) if reduction == "none" else losses


@gradient_of("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits_grad(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None,
                                          pos_weight: ArrayLike | None = None, reduction: str = "mean"):
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``logits`` (closed form below).

    Evaluated as written below, with :math:`\sigma(-x)` from ``expit(-x)``, not as the equal
    :math:`w[\sigma(x)(1 + (\rho - 1)y) - \rho y]`, which cancels at large x; times
    :math:`1/\text{numel}` for ``"mean"``.

    >>> binary_cross_entropy_with_logits_grad([0.0], [1.0], reduction="sum")
    array([-0.5])
    """
    x, y, w, pw = _bce_inputs(logits, target, weight, pos_weight, reduction)
    (grad,) = outputs_by_rows(_block, (_gradient,), *_element_rows(x, y, w, pw))
    return _elementwise_scaled(grad, x.shape, reduction)


@value_and_grad_of("binary_cross_entropy_with_logits")
def _binary_cross_entropy_with_logits_value_and_grad(logits: ArrayLike, target: ArrayLike, *,
                                                     weight: ArrayLike | None = None,
                                                     pos_weight: ArrayLike | None = None, reduction: str = "mean"):
    """:func:`binary_cross_entropy_with_logits` and its gradient from one exponential per element."""
    x, y, w, pw = _bce_inputs(logits, target, weight, pos_weight, reduction)
    losses, grad = reduce_by_rows(_block, _losses, *_element_rows(x, y, w, pw), reduction=reduction,
                                  also=(_gradient,))
    return losses.reshape(x.shape) if reduction == "none" else losses, _elementwise_scaled(grad, x.shape, reduction)


class _Block(NamedTuple):
    """A block of rows of the (broadcast) elementwise arguments, and their one exponential."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    pw: np.ndarray
    decay: np.ndarray  # e^-|x|


def _block(x, y, w, pw) -> _Block:
    return _Block(x, y, w, pw, _decay(x))


def _losses(b: _Block) -> np.ndarray:
    losses = _binary_cross_entropy(b.x, b.y, b.pw, b.decay)
    losses *= b.w
    return losses


def _gradient(b: _Block) -> np.ndarray:
    sigma, sigma_minus = _sigmoids(b.x, b.decay)
    grad = np.subtract(1.0, b.y, out=np.empty(np.shape(b.y)))
    grad *= sigma
    sigma_minus *= b.y
    sigma_minus *= b.pw
    grad -= sigma_minus
    grad *= b.w
    return grad


def _bce_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        x, y, reduction = _binary_case(draw, extreme)
        last = x.shape[-1:] if x.ndim else ()
        weight = draw(st.none() | hnp.arrays(np.float64, x.shape, elements=st.floats(0.0, 3.0)))
        pos_weight = draw(st.none() | hnp.arrays(np.float64, last, elements=st.floats(0.0, 5.0)))
        return {"logits": x, "target": y, "weight": weight, "pos_weight": pos_weight, "reduction": reduction}

    return draw_case()
