"""``logsumexp``: log-sum-exp over the class axis; value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _cases as cases
from .. import _validate as v
from .._blocks import as_rows, outputs_by_rows
from .._registry import Param, gradient_of, register, value_and_grad_of
from ..numerics import softmax_parts
from ._common import _BLANCHARD


@register(
    name="logsumexp",
    family="softmax",
    wrt=("logits",),
    params=(Param("logits", v.LOGITS),),
    paper=_BLANCHARD,
    stress=lambda: cases.softmax_stress(targets=False, reduction=False),
)
def logsumexp(logits: ArrayLike) -> np.ndarray:
    r"""Log-sum-exp over the class axis (last): :math:`\log \sum_j e^{z_j}`.

    Computed as :math:`m + \mathrm{log1p}(\sum_{j \ne k} e^{z_j - m})` with :math:`m = z_k = \max_j z_j`
    (the shifted form of Blanchard, Higham & Higham, as :func:`scipy.special.logsumexp` does, without its
    overflow warning on rows that span more than the float64 range). Masked classes (``-inf``) contribute
    0 to the sum. Gradient: :func:`logsumexp_grad`.

    Args:
        logits: array of shape ``(..., C)``, ``C >= 1``; ``-inf`` entries are masked classes.

    Returns:
        array of shape ``logits.shape[:-1]`` (a NumPy scalar for 1-D input).

    Raises:
        RefLossError: NaN or +inf in ``logits``, an empty array, or a row that is all ``-inf``.

    >>> float(logsumexp([1000.0, 1000.0]))  # = 1000 + log 2, no overflow
    1000.6931471805599

    Reference: Blanchard, Higham & Higham (2021), Algorithm 2 (shifted log-sum-exp with log1p).
    """
    z = v.logits(logits)
    (value,) = outputs_by_rows(_row_parts, (_value,), as_rows(z))
    return value.reshape(z.shape[:-1])[()]


@gradient_of("logsumexp")
def logsumexp_grad(logits: ArrayLike) -> np.ndarray:
    r"""Gradient of :func:`logsumexp`: :math:`\partial\,\mathrm{LSE}(z)/\partial z_j = \mathrm{softmax}(z)_j`.

    Each row's log-sum-exp depends only on that row, so this is also the gradient of their sum.

    >>> logsumexp_grad([0.0, np.log(3.0)])
    array([0.25, 0.75])
    """
    z = v.logits(logits)
    (grad,) = outputs_by_rows(_row_parts, (_softmax,), as_rows(z))
    return grad.reshape(z.shape)


@value_and_grad_of("logsumexp")
def _logsumexp_value_and_grad(logits: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """:func:`logsumexp` and :func:`logsumexp_grad` from one exponential per logit."""
    z = v.logits(logits)
    value, grad = outputs_by_rows(_row_parts, (_value, _softmax), as_rows(z))
    return value.reshape(z.shape[:-1])[()], grad.reshape(z.shape)


def _row_parts(z):
    """The rows' maxima and :func:`refloss.numerics.softmax_parts`."""
    return np.max(z, axis=-1, keepdims=True), softmax_parts(z)


def _value(parts):
    row_max, (_, _, log_total, _) = parts
    return (row_max + log_total)[..., 0]


def _softmax(parts):
    _, (_, exp_shifted, _, total) = parts
    return exp_shifted / total
