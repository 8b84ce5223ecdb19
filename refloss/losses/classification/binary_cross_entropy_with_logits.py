"""``binary_cross_entropy_with_logits``: PyTorch's binary cross-entropy on logits; value, closed-form gradient,
registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import element_rows, outputs_by_rows, reduce_by_rows
from ..._registry import Paper, Param, gradient_of, register, value_and_grad_of
from ._common import (
    _REDUCTION,
    _bce_inputs,
    _binary_case,
    _binary_cross_entropy,
    _binary_cross_entropy_any_label,
    _binary_stress,
    _decay,
    _elementwise_scaled,
    _sigmoids,
)


@register(
    name="binary_cross_entropy_with_logits",
    family="classification",
    wrt=("logits",),
    params=(
        Param("logits", v.ArrayArg("float logits of any shape (an empty one is an empty batch)")),
        Param("target", v.ArrayArg("real labels of the logits' shape: in [0, 1] (hard or soft labels) or "
                                   "outside it (the loss is linear in the label)")),
        Param("weight", v.ArrayArg("None or real weights (negative allowed) broadcastable to logits"),
              optional=True),
        Param("pos_weight", v.ArrayArg("None or real weights (negative allowed) of the positive term, "
                                       "broadcastable to logits (one per class along the last axis)"), optional=True),
        _REDUCTION,
    ),
    paper=Paper("torch.nn.BCEWithLogitsLoss", where="PyTorch documentation (the pos_weight convention)"),
    strategy=lambda extreme: _bce_cases(extreme),
    stress=lambda: {**_binary_stress(), **_bce_stress()},
    sample_weight=True,
)
def binary_cross_entropy_with_logits(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None,
                                     pos_weight: ArrayLike | None = None, reduction: str = "mean"):
    r"""Binary cross-entropy on logits, PyTorch's ``F.binary_cross_entropy_with_logits``.

    .. math:: \ell = -w\,\big[\rho\, y \log \sigma(x) + (1-y)\log(1 - \sigma(x))\big]
              = w\,\big[\rho\, y\, \mathrm{softplus}(-x) + (1-y)\, \mathrm{softplus}(x)\big]

    elementwise, with :math:`\rho` = ``pos_weight`` (weights the positive term only) and :math:`w` =
    ``weight``. ``"mean"`` divides by the number of elements (weights are not in the denominator).
    Gradient: :func:`binary_cross_entropy_with_logits_grad`.

    Conventions: the label :math:`y` is any finite real number, as in PyTorch (the formula is linear in
    :math:`y`; :math:`y \in [0, 1]` are hard and soft labels), and ``weight`` and ``pos_weight`` may be
    negative. For :math:`y \in [0, 1]` and :math:`\rho \ge 0` the right-hand form adds two non-negative
    terms, so it stays accurate where PyTorch's :math:`(1-y)x + (1 + (\rho-1)y)\,\mathrm{softplus}(-x)`
    cancels (large negative x). Elsewhere the two terms have opposite signs and may each dwarf the loss, so it
    is evaluated as :math:`\mathrm{softplus}(x) + y\,B` with
    :math:`B = \rho \max(-x, 0) - \max(x, 0) + (\rho - 1)\,\mathrm{log1p}(e^{-|x|})` (which is
    :math:`\rho\,\mathrm{softplus}(-x) - \mathrm{softplus}(x)`, and :math:`-x` exactly at :math:`\rho = 1`).

    Args:
        logits: float array of any non-empty shape.
        target: same shape, real labels (in [0, 1] for hard and soft labels; any finite value is accepted).
        weight, pos_weight: optional real arrays (negative allowed) broadcastable to ``logits``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Raises:
        RefLossError: shapes that do not match or do not broadcast, NaN or infinite inputs, an empty batch, an
            unknown ``reduction``.

    >>> round(binary_cross_entropy_with_logits([0.0, 2.0], [1.0, 0.0]), 14)  # (log 2 + log(1 + e^2)) / 2
    1.41003759580146
    >>> float(binary_cross_entropy_with_logits([-800.0], [0.0], reduction="sum"))  # softplus(-800)
    0.0
    >>> float(binary_cross_entropy_with_logits([0.0], [1.7], reduction="sum"))  # 1.7 log 2 - 0.7 log 2
    0.6931471805599453
    """
    x, y, w, pw, labelled = _bce_inputs(logits, target, weight, pos_weight, reduction)
    (losses,) = reduce_by_rows(_block, _losses_of(labelled), *element_rows(x, y, w, pw), reduction=reduction)
    return losses.reshape(x.shape) if reduction == "none" else losses


@gradient_of("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits_grad(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None,
                                          pos_weight: ArrayLike | None = None, reduction: str = "mean"):
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``logits`` (closed form below).

    Evaluated as written below, with :math:`\sigma(\pm x)` each an exact numerator over :math:`1 + e^{-|x|}`,
    not as the equal :math:`w[\sigma(x)(1 + (\rho - 1)y) - \rho y]`, which cancels at large x; times
    :math:`1/\text{numel}` for ``"mean"``. Labels outside [0, 1] and negative weights as in
    :func:`binary_cross_entropy_with_logits`.

    Raises:
        RefLossError: as :func:`binary_cross_entropy_with_logits`.

    >>> binary_cross_entropy_with_logits_grad([0.0], [1.0], reduction="sum")
    array([-0.5])
    """
    x, y, w, pw, _ = _bce_inputs(logits, target, weight, pos_weight, reduction)
    (grad,) = outputs_by_rows(_block, (_gradient,), *element_rows(x, y, w, pw))
    return _elementwise_scaled(grad, x.shape, reduction)


@value_and_grad_of("binary_cross_entropy_with_logits")
def _binary_cross_entropy_with_logits_value_and_grad(logits: ArrayLike, target: ArrayLike, *,
                                                     weight: ArrayLike | None = None,
                                                     pos_weight: ArrayLike | None = None, reduction: str = "mean"):
    """:func:`binary_cross_entropy_with_logits` and its gradient from one exponential per element."""
    x, y, w, pw, labelled = _bce_inputs(logits, target, weight, pos_weight, reduction)
    losses, grad = reduce_by_rows(_block, _losses_of(labelled), *element_rows(x, y, w, pw), reduction=reduction,
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
    with np.errstate(over="ignore"):  # a pos_weight times softplus(1e308): beyond the float64 range, inf
        return _weighted(_binary_cross_entropy(b.x, b.y, b.pw, b.decay), b.w)


def _weighted(losses: np.ndarray, w) -> np.ndarray:
    """losses * w, 0 where w = 0: a weight of 0 times a loss beyond the float64 range is 0, not inf * 0 = NaN."""
    with np.errstate(invalid="ignore"):
        losses *= w
    if np.ndim(w):
        losses[w == 0] = 0.0
    return losses


def _losses_any_label(b: _Block) -> np.ndarray:
    """As :func:`_losses`, with the elements whose label is outside [0, 1] or whose pos_weight is negative (their
    two terms of opposite signs) evaluated by :func:`_binary_cross_entropy_any_label`."""
    with np.errstate(over="ignore"):  # a label or weight of 1e300 times softplus(1e10): +-inf, correctly rounded
        losses = _binary_cross_entropy(b.x, b.y, b.pw, b.decay)
        signed = (b.y < 0.0) | (b.y > 1.0) | (b.pw < 0.0)
        if signed.any():
            losses[signed] = _binary_cross_entropy_any_label(b.x[signed], b.y[signed], b.pw[signed], b.decay[signed])
        return _weighted(losses, b.w)


def _losses_of(labelled: bool):
    """The fast form where every label is in [0, 1] and every pos_weight >= 0, else the form for any label."""
    return _losses if labelled else _losses_any_label


def _gradient(b: _Block) -> np.ndarray:
    sigma, sigma_minus = _sigmoids(b.x, b.decay)
    grad = np.subtract(1.0, b.y, out=np.empty(np.shape(b.y)))
    grad *= sigma
    with np.errstate(over="ignore"):  # rho y beyond the float64 range (a label and a pos_weight of 1e200): +-inf
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
        if draw(st.booleans()):  # labels outside [0, 1] too (the loss is linear in the label; PyTorch accepts them)
            y = draw(hnp.arrays(np.float64, x.shape, elements=st.sampled_from([-0.5, 1.7]) | cases.floats(3.0)))
        last = x.shape[-1:] if x.ndim else ()
        # weights: non-negative, or of either sign (PyTorch accepts negative weight and pos_weight)
        weight = draw(st.none() | hnp.arrays(np.float64, x.shape, elements=st.floats(0.0, 3.0))
                      | hnp.arrays(np.float64, x.shape, elements=cases.floats(3.0)))
        pos_weight = draw(st.none() | hnp.arrays(np.float64, last, elements=st.floats(0.0, 5.0))
                          | hnp.arrays(np.float64, last, elements=cases.floats(5.0)))
        return {"logits": x, "target": y, "weight": weight, "pos_weight": pos_weight, "reduction": reduction}

    return draw_case()


def _bce_stress():
    """Labels outside [0, 1] and weights of either sign: at the logit gaps of the softmax objects (cases.GAP_ROWS,
    their entries 15 to 80, 0 and -3 as elementwise logits) and on the binary stress points' logits."""
    x = _binary_stress()["soft_labels"]["logits"]
    gaps = cases.GAP_ROWS
    outside = np.where(np.indices(gaps.shape).sum(axis=0) % 2 == 0, -0.5, 1.7)  # -0.5 and 1.7 in turn
    return {
        "labels_outside_0_1__none": {"logits": x, "target": np.resize([-0.5, 1.7], x.shape), "reduction": "none"},
        "labels_outside_0_1__signed_pos_weight__none": {"logits": gaps, "target": outside,
                                                        "pos_weight": np.array([2.0, -1.5, 0.5]), "reduction": "none"},
        "labels_outside_0_1__signed_weight__signed_pos_weight__mean": {
            "logits": gaps, "target": outside[::-1], "weight": np.array([[1.0], [-2.5], [0.5], [1.0], [-1.0], [3.0],
                                                                          [0.25]]),
            "pos_weight": np.array([-0.5, 1.0, 4.0]), "reduction": "mean"},
        "signed_pos_weight__soft_labels__sum": {
            "logits": x.reshape(2, 5), "target": np.linspace(0.0, 1.0, 10).reshape(2, 5),
            "pos_weight": np.array([1.0, -3.0, 0.5, -1.0, 2.0]), "reduction": "sum"},
        # softplus(x) + y (rho softplus(-x) - softplus(x)): terms of 1e8 cancel to about log 2 - y x
        "large_labels_near_zero_logits__none": {"logits": np.array([1e-9, -1e-9, 0.0, 1e-3, -2.0, 36.0]),
                                                "target": np.array([1e8, -1e8, 1e8, -3e7, 1e8, -1e8]),
                                                "pos_weight": np.array([1.0, 1.0, 1.0, 1.0, 1.0 + 2**-20, 0.75]),
                                                "reduction": "none"},
    }
