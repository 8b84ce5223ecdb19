"""The classification family's shared parts: cross-entropy's coefficient form and its gradient, the binary
losses' inputs, the papers, the binary stress points."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from ... import _cases as cases
from ... import _validate as v
from ..._reduce import check_reduction, reduce_scale
from ..._registry import Paper, Param
from ...numerics import plogq, softmax_over_uniform_minus_1, softmax_parts

_REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' | 'sum' | 'none' (denominator of 'mean' as documented)")


_PYTORCH_CE = Paper(
    "Rethinking the Inception Architecture for Computer Vision",
    arxiv="1512.00567",
    where="label smoothing, Sec. 7; weight / ignore_index / reduction semantics are those of "
    "torch.nn.functional.cross_entropy (PyTorch docs, aten/src/ATen/native/LossNLL.cpp)",
)


_FOCAL = Paper("Focal Loss for Dense Object Detection", arxiv="1708.02002", where="Sec. 3, Eq. 5 and Sec. 3.2")


@dataclass
class _CETerms:
    logits: np.ndarray  # (..., C)
    shifted: np.ndarray  # (..., C) z - m
    log_total: np.ndarray  # (..., 1) log S, S = sum_j e^(z_j - m): log p = z - m - log S
    targeted: np.ndarray | None  # (..., C): the a_c with loss = -sum_c a_c log p_c, less their common part u
    uniform: np.ndarray  # (..., 1): u, eps / C per kept row when smoothing without class weights, else 0
    denominator: float  # of "mean"
    # one class per row (class targets without smoothing): a = w_y e_y, held as y and w_y, not as a dense a
    y: np.ndarray | None = None  # (...,) the target class (0 on ignored rows)
    w_y: np.ndarray | None = None  # (...,) its weight, 0 on ignored rows
    exp_shifted: np.ndarray | None = None  # (..., C) e^(z - m), and S: p = e^(z - m) / S
    total: np.ndarray | None = None  # (..., 1)

    @cached_property
    def logp(self) -> np.ndarray:
        """log p (..., C), formed only when asked: one class per row needs only ``logp_y``."""
        return self.shifted - self.log_total

    @property
    def logp_y(self) -> np.ndarray:
        """(...,) log p at the target, one class per row."""
        return np.take_along_axis(self.shifted, self.y[..., None], axis=-1)[..., 0] - self.log_total[..., 0]

    @property
    def coeff(self) -> np.ndarray:
        """The dense a (not formed for one class per row, whose users read ``y`` and ``w_y``)."""
        return self.targeted + self.uniform


class _CEInputs(NamedTuple):
    """Validated cross-entropy arguments, before any (..., C) work: what every block of rows shares."""

    z: np.ndarray  # (..., C) logits
    target: np.ndarray  # (...,) class indices, or (..., C) probabilities
    probabilities: bool
    w: np.ndarray  # (C,) class weights (ones without)
    weighted: bool
    eps: float
    ignore_index: int
    denominator: float  # of "mean"


def _ce_inputs(logits, target, weight, ignore_index, label_smoothing, reduction) -> _CEInputs:
    z = v.logits(logits)
    check_reduction(reduction)
    eps = v.scalar(label_smoothing, v.UNIT_INTERVAL, "label_smoothing")
    ignore_index = v.integer(ignore_index, "ignore_index")
    n_classes = z.shape[-1]
    w = np.ones(n_classes) if weight is None else v.nonnegative_weights(weight, "weight", length=n_classes)
    target_arr = v.as_array(target, "target")
    if target_arr.shape == z.shape:
        # Probability targets (PyTorch dispatches on equal shapes): a = w * ((1 - eps) t + eps / C).
        if target_arr.dtype.kind != "f":
            raise v.RefLossError(f"target has the shape of logits, so it holds probabilities and must be "
                                 f"floating point, got dtype {target_arr.dtype}")
        if ignore_index >= 0:
            raise v.RefLossError("ignore_index is not supported with probability targets (leave it negative)")
        t = v.probabilities(target_arr, z.shape, "target")
        return _CEInputs(z, t, True, w, weight is not None, eps, ignore_index, float(np.prod(z.shape[:-1])))
    y = v.class_targets(target_arr, z.shape, ignore_index, "target")
    kept = y != ignore_index
    denominator = float((w[np.where(kept, y, 0)] * kept).sum())
    return _CEInputs(z, y, False, w, weight is not None, eps, ignore_index, denominator)


def _ce_terms(inputs: _CEInputs, z: np.ndarray, target: np.ndarray) -> _CETerms:
    """The terms of the rows ``z`` (all of ``inputs.z``, or a block of its rows) and their targets."""
    n_classes, eps, w = z.shape[-1], inputs.eps, inputs.w
    shifted, exp_shifted, log_total, total = softmax_parts(z)
    if inputs.probabilities:
        if not inputs.weighted:
            return _CETerms(z, shifted, log_total, (1.0 - eps) * target,
                            np.full(z.shape[:-1] + (1,), eps / n_classes), inputs.denominator)
        return _CETerms(z, shifted, log_total, w * ((1.0 - eps) * target + eps / n_classes),
                        np.zeros(z.shape[:-1] + (1,)), inputs.denominator)
    kept = target != inputs.ignore_index
    y_safe = np.where(kept, target, 0)
    w_y = w[y_safe] * kept
    if eps == 0.0:
        return _CETerms(z, shifted, log_total, None, np.zeros(z.shape[:-1] + (1,)), inputs.denominator, y_safe, w_y,
                        exp_shifted, total)
    one_hot = np.zeros(z.shape)
    np.put_along_axis(one_hot, y_safe[..., None], 1.0, axis=-1)
    # a = m_n [ (1 - eps) w_y e_y + (eps / C) w ]: the smoothing part uses every class weight, not w_y.
    targeted = kept[..., None] * (1.0 - eps) * w_y[..., None] * one_hot
    uniform = kept[..., None] * (eps / n_classes)
    if inputs.weighted:
        targeted, uniform = targeted + uniform * w, np.zeros_like(uniform)
    return _CETerms(z, shifted, log_total, targeted, uniform, inputs.denominator)


def _cross_entropy_terms(logits, target, weight, ignore_index, label_smoothing, reduction) -> _CETerms:
    inputs = _ce_inputs(logits, target, weight, ignore_index, label_smoothing, reduction)
    return _ce_terms(inputs, inputs.z, inputs.target)


def _leave_one_out_sums(a: np.ndarray) -> np.ndarray:
    """sum_{c != j} a_c for every j, from prefix and suffix sums of the non-negative a (no cancellation)."""
    before = np.concatenate([np.zeros(a.shape[:-1] + (1,)), np.cumsum(a, axis=-1)[..., :-1]], axis=-1)
    after = np.concatenate([np.flip(np.cumsum(np.flip(a, -1), axis=-1), -1)[..., 1:], np.zeros(a.shape[:-1] + (1,))],
                           axis=-1)
    return before + after


def _softmax_minus_coefficients(logp: np.ndarray, a: np.ndarray) -> np.ndarray:
    """p_j sum_c a_c - a_j as p_j sum_{c != j} a_c + a_j expm1(log p_j), for non-negative a."""
    with np.errstate(invalid="ignore"):  # masked classes (log p = -inf) have a_j = 0: 0 * expm1(-inf) = 0
        return np.exp(logp) * _leave_one_out_sums(a) + np.where(a > 0, a * np.expm1(logp), 0.0)


def _logit_gradient(terms: _CETerms) -> np.ndarray:
    """p_j sum_c a_c - a_j, the common part u of the a_c as u (C p_j - 1) (module docstring). With one class per
    row that is w_y p_j off the target and w_y expm1(log p_y) on it: the same numbers as the general form, whose
    leave-one-out sums of a one-hot a are w_y and 0, without its (..., C) coefficient arrays."""
    if terms.y is not None:
        grad = terms.exp_shifted * (terms.w_y[..., None] / terms.total)
        w_y = terms.w_y[..., None]
        with np.errstate(invalid="ignore"):  # a masked target's w_y * expm1(-inf) is refused before it is used
            on_target = np.where(w_y > 0, w_y * np.expm1(terms.logp_y[..., None]), 0.0)
        np.put_along_axis(grad, terms.y[..., None], on_target, axis=-1)
        return grad
    grad = _softmax_minus_coefficients(terms.logp, terms.targeted)
    if terms.uniform.any():  # then no kept row has a masked class (_raise_if_masked)
        smoothed = (terms.uniform > 0)[..., 0]
        grad[smoothed] += terms.uniform[smoothed] * softmax_over_uniform_minus_1(terms.logits[smoothed])
    return grad


def _losses(terms: _CETerms) -> np.ndarray:
    if terms.y is not None:
        return -plogq(terms.w_y, terms.logp_y)
    return -plogq(terms.coeff, terms.logp).sum(axis=-1)


def _raise_if_masked(masked: np.ndarray, weight: np.ndarray, what: str) -> None:
    """A class with positive weight whose logit is masked (-inf) makes the loss +inf: no gradient.

    Decided on the input's mask, not on the loss: a finite logit more than 1.8e308 below the row's maximum
    also has log p = -inf in float64 and an infinite loss value (its exact value is beyond the float64
    range), but its gradient is finite and is returned."""
    if (masked & (weight > 0)).any():
        raise v.RefLossError(f"{what} is +inf (a class with positive target weight has logit -inf), "
                             "so its gradient is undefined")


def _masked_coefficients(terms: _CETerms) -> tuple[np.ndarray, np.ndarray]:
    """(masked, a): which logits are -inf and their coefficients, for :func:`_raise_if_masked` (with one class
    per row, only the target's)."""
    if terms.y is not None:
        return np.isneginf(np.take_along_axis(terms.logits, terms.y[..., None], axis=-1)[..., 0]), terms.w_y
    return np.isneginf(terms.logits), terms.coeff


def _binary_inputs(logits, target, reduction):
    """Elementwise logits (any non-empty shape, finite) and labels in [0, 1] of the same shape."""
    x = v.real_array(logits, "logits")
    if x.size == 0:
        raise v.RefLossError(f"logits is empty (shape {x.shape}): empty batch")
    check_reduction(reduction)
    return x, v.unit_interval_array(target, x.shape, "target")


def _decay(x):
    """e^-|x|: the one exponential of a sigmoid, its complement and both softplus terms."""
    decay = np.abs(x, out=np.empty(np.shape(x)))
    np.negative(decay, out=decay)
    return np.exp(decay, out=decay)


def _binary_cross_entropy(x, y, pos_weight=1.0, decay=None):
    """pos_weight * y * softplus(-x) + (1 - y) * softplus(x): two non-negative terms, no cancellation, with
    softplus(+-x) = max(+-x, 0) + log1p(e^-|x|) sharing the one exponential (``decay``, made here if not given).
    In place from the three arrays it makes: a block's temporaries are few (``refloss/_blocks.py``)."""
    tail = np.log1p(_decay(x) if decay is None else decay)
    positive = np.maximum(x, 0.0)
    positive -= x  # max(-x, 0), exactly
    positive += tail
    positive *= y
    if not (np.isscalar(pos_weight) and pos_weight == 1.0):
        positive *= pos_weight
    negative = np.maximum(x, 0.0)
    negative += tail
    negative *= np.subtract(1.0, y, out=tail)
    negative += positive
    return negative


def _sigmoids(x, decay=None):
    """(sigma(x), sigma(-x)), each an exact numerator over 1 + u, u = e^-|x| (``decay``, made here if not given):
    sigma(x) = max(u, [x >= 0]) / (1 + u) and sigma(-x) = max(u, [x < 0]) / (1 + u), to a few ulps relative. (The
    maximum selects the numerator without a branch on the sign: np.where on random signs is several times slower.)"""
    u = _decay(x) if decay is None else decay
    sigma, sigma_minus, denominator = np.maximum(u, x >= 0), np.maximum(u, x < 0), u + 1.0
    sigma /= denominator
    sigma_minus /= denominator
    return sigma, sigma_minus


def _element_rows(*arrays) -> list[np.ndarray]:
    """Elementwise arrays broadcast to the first one's shape, as rows over its last axis, for
    :func:`refloss._blocks.by_rows` (views: broadcast weights are not copied; a 0-d array is one row of one)."""
    shape = np.shape(arrays[0])
    return [np.broadcast_to(a, shape).reshape(-1, shape[-1]) if shape else np.broadcast_to(a, (1, 1))
            for a in arrays]


def _elementwise_scaled(grad: np.ndarray, shape: tuple, reduction: str) -> np.ndarray:
    """The gradient of elementwise losses made by :func:`_element_rows`' rows: times the reduction's scale, in the
    logits' shape."""
    grad *= reduce_scale(shape, reduction)
    return grad.reshape(shape)


def _bce_inputs(logits, target, weight, pos_weight, reduction):
    x, y = _binary_inputs(logits, target, reduction)
    w = 1.0 if weight is None else v.nonnegative_weights(weight, "weight", broadcast_to=x.shape)
    pw = 1.0 if pos_weight is None else v.nonnegative_weights(pos_weight, "pos_weight", broadcast_to=x.shape)
    return x, y, w, pw


def _binary_stress():
    x = np.array([-80.0, -40.0, -20.0, -1e-9, 0.0, 1e-9, 15.0, 36.0, 40.0, 80.0])
    return {
        "hard_labels_positive": {"logits": x, "target": np.ones_like(x), "reduction": "none"},
        "hard_labels_negative": {"logits": x, "target": np.zeros_like(x), "reduction": "none"},
        "soft_labels": {"logits": x, "target": np.linspace(0.0, 1.0, len(x)), "reduction": "none"},
        "weight__pos_weight__mean": {"logits": x.reshape(2, 5), "target": np.array([[1.0, 0.0, 0.3, 1.0, 0.0]] * 2),
                                     "weight": np.array([[1.0], [2.5]]),
                                     "pos_weight": np.array([1.0, 3.0, 0.5, 2.0, 1.0]), "reduction": "mean"},
        "defaults": {"logits": x, "target": np.linspace(0.0, 1.0, len(x))},
    }


def _binary_case(draw, extreme):
    st, hnp = cases.hyp()
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=cases.LIMITS["max_side"]))
    x = draw(hnp.arrays(np.float64, shape, elements=cases.floats(cases.EXTREME if extreme else cases.MODERATE)))
    y = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0)))
    return x, y, draw(st.sampled_from(cases.REDUCTIONS))
