"""``softmax``: the softmax over the class axis; value, its Jacobian, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _cases as cases
from .. import _validate as v
from .._blocks import as_rows, by_rows
from .._registry import Param, gradient_of, register
from ..numerics import softmax_parts
from ._common import _BLANCHARD
from .log_softmax import MAX_JACOBIAN_ENTRIES


@register(
    name="softmax",
    family="softmax",
    wrt=("logits",),
    grad_kind="jacobian",
    params=(Param("logits", v.LOGITS),),
    paper=_BLANCHARD,
    stress=lambda: cases.softmax_stress(targets=False, reduction=False),
    shift_invariant=("logits",),
)
def softmax(logits: ArrayLike) -> np.ndarray:
    r"""Softmax over the class axis (last): :math:`p_i = e^{z_i} / \sum_j e^{z_j}`.

    Evaluated as the shifted quotient :math:`p_i = e^{z_i - m} / (1 + s)` with :math:`m = z_k = \max_j z_j` and
    :math:`s = \sum_{j \ne k} e^{z_j - m}` (:func:`refloss.numerics.softmax_parts`), so every entry is accurate
    relative to itself: a tiny probability (:math:`e^{-80}`) keeps its digits, and nothing overflows for any finite
    logits. (:math:`\exp(\log p_i)` would carry the rounding of :math:`\log(1 + s) \approx \log C` into every
    entry: 7 ulps against 1 on a near-uniform row of :math:`10^5` classes.) Masked classes (``-inf``)
    give exactly 0; a row of one class gives 1. Jacobian: :func:`softmax_grad`.

    Args:
        logits: array of shape ``(..., C)``, ``C >= 1``; ``-inf`` entries are masked classes.

    Returns:
        array of the same shape, each row summing to 1 (up to rounding).

    Raises:
        RefLossError: NaN or +inf in ``logits``, an empty array, or a row that is all ``-inf``.

    >>> softmax([0.0, np.log(3.0), -np.inf])
    array([0.25, 0.75, 0.  ])
    >>> softmax([100.0, 0.0])  # the second entry is e^-100 / (1 + e^-100), with all its digits
    array([1.00000000e+00, 3.72007598e-44])

    Reference: Blanchard, Higham & Higham (2021), Section 4 (the shifted softmax, not their division-free variant
    :math:`\exp(z_i - \mathrm{LSE}(z))`, whose rounding of the log-sum-exp enters every entry; Theorem 4.4).
    """
    z = v.logits(logits)
    return by_rows(_probabilities, as_rows(z)).reshape(z.shape)


def _probabilities(z: np.ndarray) -> np.ndarray:
    # e^(-inf) = 0 exactly and without a warning: masked classes need no special case
    _, exp_shifted, _, total = softmax_parts(z)
    return exp_shifted / total


@gradient_of("softmax")
def softmax_grad(logits: ArrayLike) -> np.ndarray:
    r"""Jacobian of :func:`softmax`: ``J[..., i, j] = d p_i / d z_j = p_i (delta_ij - p_j)``.

    Shape ``logits.shape + (C,)``: the output index is second to last, the input index last. The diagonal
    :math:`p_i (1 - p_i)` takes :math:`1 - p_i` as :math:`-\mathrm{expm1}(\log p_i)`, so it keeps its digits
    where :math:`p_i` is close to 1; the off-diagonal :math:`-p_i p_j` is a product of two accurate
    probabilities. Rows and columns of masked classes (``z_i = -inf``) are 0: their probability is the
    constant 0.

    >>> softmax_grad([0.0, np.log(3.0)])
    array([[ 0.1875, -0.1875],
           [-0.1875,  0.1875]])
    """
    z = v.logits(logits)
    n_classes = z.shape[-1]
    entries = z.size * n_classes
    if entries > MAX_JACOBIAN_ENTRIES:
        raise v.RefLossError(
            f"logits of shape {z.shape} give a softmax Jacobian of {entries:.3g} entries "
            f"({entries * 8 / 2**30:.3g} GiB), more than MAX_JACOBIAN_ENTRIES = {MAX_JACOBIAN_ENTRIES:.3g}; "
            "its product with a vector needs no Jacobian: (J v)_i = p_i (v_i - sum_j p_j v_j)")
    # one block holds C^2 numbers per row, so the blocks are sized by that
    jac = by_rows(_jacobian_rows, as_rows(z), row_size=n_classes * n_classes)
    return jac.reshape(z.shape + (n_classes,))


def _jacobian_rows(z: np.ndarray) -> np.ndarray:
    """p_i (delta_ij - p_j) of a block of rows ``(n, C)``, shape ``(n, C, C)``."""
    shifted, exp_shifted, log_total, total = softmax_parts(z)
    p, logp = exp_shifted / total, shifted - log_total
    jac = -p[:, :, None] * p[:, None, :]
    # The diagonal 1 - p_i as -expm1(log p_i): at a logit gap of 40, 1 - p_0 = 4.2e-18 would round to 0.
    diagonal = np.arange(z.shape[-1])
    jac[:, diagonal, diagonal] = p * -np.expm1(logp)
    masked = np.isneginf(z)
    # a masked row or column is a product with p = 0, which may be -0.0: make it the constant 0 it is
    np.copyto(jac, 0.0, where=masked[:, :, None] | masked[:, None, :])
    return jac
