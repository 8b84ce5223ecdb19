"""The classification family's shared parts: cross-entropy's coefficient form and its gradient, the binary
losses' inputs, the papers, the binary stress points."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from ... import _cases as cases
from ... import _validate as v
from ..._reduce import check_reduction, reduce_scale, weighted_denominator
from ..._registry import Paper, Param
from ...numerics import plogq, softmax_over_uniform_minus_1, softmax_parts

_REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' | 'sum' | 'none' (denominator of 'mean' as documented)")


_PYTORCH_CE = Paper(
    "Rethinking the Inception Architecture for Computer Vision",
    arxiv="1512.00567",
    where="label smoothing, Sec. 7; weight / ignore_index / reduction semantics are those of "
    "torch.nn.functional.cross_entropy (PyTorch docs, aten/src/ATen/native/LossNLL.cpp)",
)


#: Probability targets of the stress points: near one-hot (a mass of 1e-12 off the target), half and half with a
#: zero, one-hot, spread.
_SOFT_TARGETS = np.array([[1.0 - 1e-12, 5e-13, 5e-13], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])
#: Real targets that are not probabilities (PyTorch accepts them): rows summing to 0.3 and 2.5 (with a negative
#: entry), a row of zeros, a row dominated by a negative entry.
_REAL_TARGETS = np.array([[0.3, 0.0, 0.0], [2.5, -0.5, 1.0], [0.0, 0.0, 0.0], [-1.0, 0.25, 0.0]])
#: Probability targets of ``cases.MASKED_ROWS``, 0 on every masked class.
_MASKED_ROW_TARGETS = np.array([[0.4, 0.0, 0.6], [0.0, 1.0, 0.0], [0.9, 0.0, 0.1]])


_FOCAL = Paper("Focal Loss for Dense Object Detection", arxiv="1708.02002", where="Sec. 3, Eq. 5 and Sec. 3.2")


@dataclass
class _CETerms:
    logits: np.ndarray  # (..., C)
    shifted: np.ndarray  # (..., C) z - m
    log_total: np.ndarray  # (..., 1) log S, S = sum_j e^(z_j - m): log p = z - m - log S
    targeted: np.ndarray | None  # (..., C): the (real) a_c with loss = -sum_c a_c log p_c, less their common part u
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
    w: np.ndarray  # (C,) class weights (ones without), of either sign
    weighted: bool
    eps: float
    ignore_index: int
    denominator: float  # of "mean"


def _ce_inputs(logits, target, weight, ignore_index, label_smoothing, reduction, *,
               signed_weights: bool = True) -> _CEInputs:
    """Validated arguments. The target is a real array of the logits' shape (probability targets, neither
    normalised nor non-negative necessarily) or integer class indices of ``logits.shape[:-1]``; class weights
    may be negative (``signed_weights=False``: refused, for :func:`_cross_entropy_terms`)."""
    z = v.logits(logits)
    check_reduction(reduction)
    eps = v.scalar(label_smoothing, v.UNIT_INTERVAL, "label_smoothing")
    ignore_index = v.integer(ignore_index, "ignore_index")
    n_classes = z.shape[-1]
    check_weights = v.real_weights if signed_weights else v.nonnegative_weights
    w = np.ones(n_classes) if weight is None else check_weights(weight, "weight", length=n_classes)
    target_arr = v.as_array(target, "target")
    if target_arr.shape == z.shape:
        # Probability targets (PyTorch dispatches on equal shapes): a = w * ((1 - eps) t + eps / C).
        if target_arr.dtype.kind != "f":
            raise v.RefLossError(f"target has the shape of logits, so it holds probabilities and must be "
                                 f"floating point, got dtype {target_arr.dtype}")
        if ignore_index >= 0:
            raise v.RefLossError("ignore_index is not supported with probability targets (leave it negative)")
        t = v.real_targets(target_arr, z.shape, "target")
        return _CEInputs(z, t, True, w, weight is not None, eps, ignore_index, float(np.prod(z.shape[:-1])))
    y = v.class_targets(target_arr, z.shape, ignore_index, "target")
    kept = y != ignore_index
    denominator = weighted_denominator(w[np.where(kept, y, 0)] * kept, reduction)
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
    """All the terms at once, for :func:`refloss.linear_cross_entropy`, whose class weights stay non-negative (as
    its accel twin's)."""
    inputs = _ce_inputs(logits, target, weight, ignore_index, label_smoothing, reduction, signed_weights=False)
    return _ce_terms(inputs, inputs.z, inputs.target)


def _leave_one_out_sums(a: np.ndarray) -> np.ndarray:
    """sum_{c != j} a_c for every j, from prefix and suffix sums: never a total minus one term, which cancels where
    a_j dominates. For non-negative a nothing cancels; for signed a the error is a few eps sum_{c != j} |a_c|,
    within the condition scale of p_j sum_{c != j} a_c (the a_c are inputs: targets, weights)."""
    before = np.concatenate([np.zeros(a.shape[:-1] + (1,)), np.cumsum(a, axis=-1)[..., :-1]], axis=-1)
    after = np.concatenate([np.flip(np.cumsum(np.flip(a, -1), axis=-1), -1)[..., 1:], np.zeros(a.shape[:-1] + (1,))],
                           axis=-1)
    return before + after


def _softmax_minus_coefficients(logp: np.ndarray, a: np.ndarray) -> np.ndarray:
    """p_j sum_c a_c - a_j as p_j sum_{c != j} a_c + a_j expm1(log p_j), for real a: the second term keeps the
    digits of p_j - 1 at any logit gap, and the two terms cancel only as much as the a_c themselves do."""
    with np.errstate(invalid="ignore"):  # masked classes (log p = -inf) have a_j = 0: 0 * expm1(-inf) = 0
        return np.exp(logp) * _leave_one_out_sums(a) + np.where(a != 0, a * np.expm1(logp), 0.0)


def _logit_gradient(terms: _CETerms) -> np.ndarray:
    """p_j sum_c a_c - a_j, the common part u of the a_c as u (C p_j - 1) (module docstring). With one class per
    row that is w_y p_j off the target and w_y expm1(log p_y) on it: the same numbers as the general form, whose
    leave-one-out sums of a one-hot a are w_y and 0, without its (..., C) coefficient arrays."""
    if terms.y is not None:
        grad = terms.exp_shifted * (terms.w_y[..., None] / terms.total)
        w_y = terms.w_y[..., None]
        with np.errstate(invalid="ignore"):  # a masked target's w_y * expm1(-inf) is refused before it is used
            on_target = np.where(w_y != 0, w_y * np.expm1(terms.logp_y[..., None]), 0.0)
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
    with np.errstate(over="ignore", invalid="ignore"):  # terms or sums of both signs past the range: below
        losses = -plogq(terms.coeff, terms.logp).sum(axis=-1)
    if not np.isfinite(losses).all():
        _infinite_rows(terms, losses)
    return losses


def _infinite_rows(terms: _CETerms, losses: np.ndarray) -> None:
    """Rows whose float64 loss is not finite (in place): they hold terms -a_c log p_c with log p_c = -inf.

    At a masked class (logit -inf) the term is -a_c log 0: +inf for a_c > 0, -inf for a_c < 0, and a row with
    both is +inf - inf, undefined (refused). At a finite logit more than 1.8e308 below the row's maximum, log p_c
    is finite but beyond the float64 range, and so may be a term or a partial sum while the loss is not: such a
    row is summed again from a quarter of its log-probabilities (:func:`_wide_row_losses`)."""
    rows = ~np.isfinite(losses)
    z, a = terms.logits[rows], terms.coeff[rows]
    masked = np.isneginf(z)
    positive, negative = (masked & (a > 0)).any(axis=-1), (masked & (a < 0)).any(axis=-1)
    if (positive & negative).any():
        raise v.RefLossError("cross_entropy is undefined: a row has classes of positive and of negative target "
                             "weight whose logits are -inf (-a log 0 is +inf for one and -inf for the other)")
    out = np.where(positive, np.inf, -np.inf)
    wide = ~(positive | negative)
    if wide.any():
        out[wide] = _wide_row_losses(z[wide], a[wide], terms.log_total[rows][wide])
    losses[rows] = out


def _wide_row_losses(z: np.ndarray, a: np.ndarray, log_total: np.ndarray) -> np.ndarray:
    """-sum_c a_c log p_c of rows of finite logits whose log-probabilities pass the float64 range: from
    log p / 4 = z / 4 - m / 4 - log S / 4 (|z - m| / 4 < 0.9e308) and a scaled by a power of two to below 1 in
    magnitude, each term further by 2^-k with C <= 2^k, so that no term nor partial sum overflows; the sum is
    scaled back exactly (to +-inf where it is beyond the range)."""
    m = z.max(axis=-1, keepdims=True)
    quarter = (0.25 * z - 0.25 * m) - 0.25 * log_total
    _, e = np.frexp(np.abs(a).max(axis=-1, keepdims=True))  # max |a| < 2^e
    k = int(z.shape[-1] - 1).bit_length()
    partial = -(np.ldexp(a, -e) * np.ldexp(quarter, -k)).sum(axis=-1)
    with np.errstate(over="ignore"):  # a loss beyond the float64 range is +-inf, correctly rounded
        return np.ldexp(partial, e[..., 0] + k + 2)


def _raise_if_masked(masked: np.ndarray, weight: np.ndarray, what: str) -> None:
    """A class with nonzero target weight whose logit is masked (-inf) makes the loss infinite (-a log 0: +inf for
    a positive weight, -inf for a negative one): no gradient.

    Decided on the input's mask, not on the loss: a finite logit more than 1.8e308 below the row's maximum
    also has log p = -inf in float64 and an infinite loss value (its exact value is beyond the float64
    range), but its gradient is finite and is returned."""
    hit = masked & (weight != 0)
    if not hit.any():
        return
    if (weight[hit] > 0).all():
        infinite = "+inf (a class with positive target weight has logit -inf)"
    elif (weight[hit] < 0).all():
        infinite = "-inf (a class with negative target weight has logit -inf)"
    else:
        infinite = "infinite (classes with nonzero target weight have logit -inf)"
    raise v.RefLossError(f"{what} is {infinite}, so its gradient is undefined")


def _masked_coefficients(terms: _CETerms) -> tuple[np.ndarray, np.ndarray]:
    """(masked, a): which logits are -inf and their coefficients, for :func:`_raise_if_masked` (with one class
    per row, only the target's)."""
    if terms.y is not None:
        return np.isneginf(np.take_along_axis(terms.logits, terms.y[..., None], axis=-1)[..., 0]), terms.w_y
    return np.isneginf(terms.logits), terms.coeff


def _binary_inputs(logits, target, reduction, *, unit_labels: bool = True):
    """Elementwise logits (any shape, finite; an empty one is an empty batch) and labels of the same shape: in [0, 1],
    or any finite real number (``unit_labels=False``: binary cross-entropy is linear in its label, the focal factor
    is not)."""
    x = v.real_array(logits, "logits")
    check_reduction(reduction)
    return x, (v.unit_interval_array if unit_labels else v.real_targets)(target, x.shape, "target")


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


def _binary_cross_entropy_any_label(x, y, pos_weight, decay):
    """pos_weight * y * softplus(-x) + (1 - y) * softplus(x) for labels outside [0, 1] or a negative pos_weight,
    where those two terms have opposite signs and each may dwarf the loss (y = 1e8 at x = 1e-9). As the loss is
    linear in y: softplus(x) + y B with B = rho softplus(-x) - softplus(x) = rho max(-x, 0) - max(x, 0) +
    (rho - 1) log1p(e^-|x|), formed without cancelling softplus terms (B = -x exactly at rho = 1), so what is left
    to cancel is softplus(x) against y B, which the condition scale of y covers. Where a product passes the
    float64 range (|x| near 1.8e308), the same terms are summed again without overflow (:func:`_sum_of_products`)."""
    tail = np.log1p(decay)
    positive, negative = np.maximum(x, 0.0), np.maximum(-x, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # beyond the float64 range: formed again below
        slope = pos_weight * negative - positive + (pos_weight - 1.0) * tail
        losses = (positive + tail) + y * slope
    wide = ~np.isfinite(losses)
    if wide.any():
        y_, rho, tail_ = y[wide], pos_weight[wide], tail[wide]
        plus, minus = positive[wide], negative[wide]
        losses[wide] = _sum_of_products((plus + tail_,), (y_, rho, minus), (-y_, plus), (y_, rho - 1.0, tail_))
    return losses


def _sum_of_products(*terms: tuple) -> np.ndarray:
    """Elementwise sum of the products of each term's factors, where a product or a partial sum would pass the
    float64 range: each factor split as m 2^e (m in [0.5, 1)), the products of the m's scaled by 2 to the
    exponent they have less the largest one's (plus 2 for the sum of up to four terms), summed, and scaled
    back exactly (to +-inf where the sum is beyond the range)."""
    mantissas, exponents = [], []
    for factors in terms:
        m, e = 1.0, 0
        for factor in factors:
            fm, fe = np.frexp(factor)
            m, e = m * fm, e + fe
        mantissas.append(m)
        exponents.append(e)
    top = np.max(exponents, axis=0) + 2
    total = sum(np.ldexp(m, e - top) for m, e in zip(mantissas, exponents))
    with np.errstate(over="ignore"):  # a sum beyond the float64 range is +-inf, correctly rounded
        return np.ldexp(total, top)


def _sigmoids(x, decay=None):
    """(sigma(x), sigma(-x)), each an exact numerator over 1 + u, u = e^-|x| (``decay``, made here if not given):
    sigma(x) = max(u, [x >= 0]) / (1 + u) and sigma(-x) = max(u, [x < 0]) / (1 + u), to a few ulps relative. (The
    maximum selects the numerator without a branch on the sign: np.where on random signs is several times slower.)"""
    u = _decay(x) if decay is None else decay
    sigma, sigma_minus, denominator = np.maximum(u, x >= 0), np.maximum(u, x < 0), u + 1.0
    sigma /= denominator
    sigma_minus /= denominator
    return sigma, sigma_minus


def _elementwise_scaled(grad: np.ndarray, shape: tuple, reduction: str) -> np.ndarray:
    """The gradient of elementwise losses made by :func:`refloss._blocks.element_rows`' rows: times the reduction's
    scale, in the logits' shape."""
    grad *= reduce_scale(shape, reduction)
    return grad.reshape(shape)


def _bce_inputs(logits, target, weight, pos_weight, reduction):
    """(x, y, w, pw, labelled): labels and both weights of any sign; ``labelled`` says that every label lies in
    [0, 1] and every pos_weight is >= 0, where the loss is a sum of two non-negative terms (its fast form)."""
    x, y = _binary_inputs(logits, target, reduction, unit_labels=False)
    w = 1.0 if weight is None else v.real_weights(weight, "weight", broadcast_to=x.shape)
    pw = 1.0 if pos_weight is None else v.real_weights(pos_weight, "pos_weight")
    labelled = bool(np.min(y, initial=0.0) >= 0.0 and np.max(y, initial=1.0) <= 1.0 and np.min(pw, initial=0.0) >= 0.0)
    if pos_weight is not None:
        pw = v.real_weights(pw, "pos_weight", broadcast_to=x.shape)
    return x, y, w, pw, labelled


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
