"""``log_softmax``: log-softmax over the class axis; value, its Jacobian, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _cases as cases
from .. import _validate as v
from .._blocks import as_rows, by_rows
from .._registry import Param, gradient_of, register
from ..numerics import _log_softmax
from ._common import _BLANCHARD


@register(
    name="log_softmax",
    family="softmax",
    wrt=("logits",),
    grad_kind="jacobian",
    params=(Param("logits", v.LOGITS),),
    paper=_BLANCHARD,
    stress=lambda: cases.softmax_stress(targets=False, reduction=False),
    shift_invariant=("logits",),
)
def log_softmax(logits: ArrayLike) -> np.ndarray:
    r"""Log of the softmax over the class axis (last): :math:`\log p_i = z_i - \mathrm{LSE}(z)`.

    Both terms of :math:`(z_i - m) - \log(1 + \sum_{j\ne k} e^{z_j - m})` are :math:`\le 0`, so every
    entry, including the largest (close to 0), is accurate to a few ulps relative. Masked classes
    (``-inf``) give ``-inf``. Jacobian: :func:`log_softmax_grad`.

    Args:
        logits: array of shape ``(..., C)``, ``C >= 1``.

    Returns:
        array of the same shape.

    >>> log_softmax([100.0, 0.0])  # the first entry is -log1p(e^-100), not 0
    array([-3.72007598e-44, -1.00000000e+02])

    Reference: Blanchard, Higham & Higham (2021), Algorithm 4.
    """
    z = v.logits(logits)
    return by_rows(_log_softmax, as_rows(z)).reshape(z.shape)


#: The largest Jacobian :func:`log_softmax_grad` builds (2^27 float64 entries, 1 GiB); beyond it, a RefLossError.
MAX_JACOBIAN_ENTRIES = 2**27


@gradient_of("log_softmax")
def log_softmax_grad(logits: ArrayLike) -> np.ndarray:
    r"""Jacobian of :func:`log_softmax`: ``J[..., i, j] = d log p_i / d z_j = delta_ij - p_j``.

    Shape ``logits.shape + (C,)``: the output index is second to last, the input index last. Rows of
    masked classes (``z_i = -inf``) are 0, since their output is the constant ``-inf``.

    >>> log_softmax_grad([0.0, np.log(3.0)])
    array([[ 0.75, -0.75],
           [-0.25,  0.25]])
    """
    z = v.logits(logits)
    entries = z.size * z.shape[-1]
    if entries > MAX_JACOBIAN_ENTRIES:
        raise v.RefLossError(
            f"logits of shape {z.shape} give a log_softmax Jacobian of {entries:.3g} entries "
            f"({entries * 8 / 2**30:.3g} GiB), more than MAX_JACOBIAN_ENTRIES = {MAX_JACOBIAN_ENTRIES:.3g}; "
            "its product with a vector needs no Jacobian: (J v)_i = v_i - sum_j p_j v_j")
    logp = _log_softmax(z)
    jac = -np.exp(logp)[..., None, :] + np.zeros(z.shape[-1:] * 2)
    # The diagonal 1 - p_i as -expm1(log p_i): at a logit gap of 40, 1 - p_0 = 4.2e-18 would round to 0.
    diagonal = np.arange(z.shape[-1])
    jac[..., diagonal, diagonal] = -np.expm1(logp)
    return np.where(np.isneginf(z)[..., :, None], 0.0, jac)
