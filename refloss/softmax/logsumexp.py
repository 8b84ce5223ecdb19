"""``logsumexp``: log-sum-exp over the class axis, with SciPy's scale factors and sign; value, closed-form gradient,
registration."""

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
    params=(Param("logits", v.ArrayArg("float logits (..., C), class axis last (or at axis); -inf masks a class (a "
                                       "row may be all -inf, or C may be 0: the empty sum); +inf gives +inf",
                                       "logits", extended_reals=True, class_axis=True)),
            Param("b", v.ArrayArg("None or real scale factors broadcastable to logits' shape, of either sign "
                                  "(SciPy's b)", "scale_factors", class_axis="broadcast"), optional=True),
            Param("return_sign", v.Choice((False, True)), "also return the sign of the sum (SciPy's)")),
    paper=_BLANCHARD,
    strategy=lambda extreme: _logsumexp_cases(extreme),
    stress=lambda: {**cases.softmax_stress(targets=False, reduction=False), **_scale_factor_stress()},
)
def logsumexp(logits: ArrayLike, *, b: ArrayLike | None = None, return_sign: bool = False):
    r"""Log-sum-exp over the class axis (last): :math:`\log \big|\sum_j b_j e^{z_j}\big|`, SciPy's semantics.

    Without ``b`` this is :math:`\log \sum_j e^{z_j}`, computed as :math:`m + \mathrm{log1p}(\sum_{j \ne k}
    e^{z_j - m})` with :math:`m = z_k = \max_j z_j` (the shifted form of Blanchard, Higham & Higham, as
    :func:`scipy.special.logsumexp` does, without its overflow warning on rows that span more than the float64
    range). With scale factors ``b`` (broadcast to the logits' shape; either sign) the term of largest magnitude
    is factored out the same way (derivation page). Masked classes (``-inf``) and classes with :math:`b_j = 0`
    contribute 0. A row whose sum is empty or 0 (every class masked, every :math:`b_j = 0`, no class at all, or
    terms that cancel exactly) has the value ``-inf`` and sign 0. Gradient: :func:`logsumexp_grad`.

    Args:
        logits: array of shape ``(..., C)``; ``-inf`` entries are masked classes; an empty batch gives an empty
            result.
        b: optional real scale factors, broadcastable to ``logits``' shape.
        return_sign: if True, return ``(value, sign)`` with ``sign`` in ``{-1.0, 0.0, 1.0}``, so that
            :math:`\sum_j b_j e^{z_j} = \mathrm{sign}\, e^{\mathrm{value}}`.

    Returns:
        array of shape ``logits.shape[:-1]`` (a NumPy scalar for 1-D input), or that and the sign.

    Raises:
        RefLossError: NaN or +inf in ``logits`` or ``b``; ``b`` that does not broadcast; a negative sum without
            ``return_sign`` (its log is not real: SciPy returns NaN there).

    >>> float(logsumexp([1000.0, 1000.0]))  # = 1000 + log 2, no overflow
    1000.6931471805599
    >>> value, sign = logsumexp([0.0, np.log(3.0)], b=[1.0, -1.0], return_sign=True)  # 1 - 3 = -2
    >>> float(value), float(sign)  # log 2, negative
    (0.6931471805599454, -1.0)

    Reference: Blanchard, Higham & Higham (2021), Algorithm 2 (shifted log-sum-exp with log1p); ``b`` and
    ``return_sign`` as in ``scipy.special.logsumexp``.
    """
    z, scale = _inputs(logits, b, return_sign)
    z, infinite = _infinite_rows(z, scale)
    value, sign = _passes(z, scale, _value, _sign)
    if infinite is not None:
        rows, signs = infinite
        value[rows], sign[rows] = np.inf, signs
    return _returned(z, value, sign, return_sign)


@gradient_of("logsumexp")
def logsumexp_grad(logits: ArrayLike, *, b: ArrayLike | None = None, return_sign: bool = False) -> np.ndarray:
    r"""Gradient of :func:`logsumexp`: :math:`\partial\,\mathrm{LSE}_b/\partial z_j = b_j e^{z_j} / \sum_i b_i
    e^{z_i}`, the softmax without ``b``. The sign is piecewise constant and contributes nothing; the gradient
    is the same with ``return_sign`` either way.

    Each row's log-sum-exp depends only on that row, so this is also the gradient of their sum.

    Raises:
        RefLossError: as :func:`logsumexp`, and where a row's sum is 0 (its value is ``-inf``).

    >>> logsumexp_grad([0.0, np.log(3.0)])
    array([0.25, 0.75])
    """
    z, scale = _inputs(logits, b, return_sign)
    _refuse_infinite(_infinite_rows(z, scale)[1])
    (grad,) = _passes(z, scale, _checked_gradient)
    return grad.reshape(z.shape)


@value_and_grad_of("logsumexp")
def _logsumexp_value_and_grad(logits: ArrayLike, *, b: ArrayLike | None = None, return_sign: bool = False):
    """:func:`logsumexp` and :func:`logsumexp_grad` from one exponential per logit."""
    z, scale = _inputs(logits, b, return_sign)
    _refuse_infinite(_infinite_rows(z, scale)[1])
    value, sign, grad = _passes(z, scale, _value, _sign, _checked_gradient)
    return _returned(z, value, sign, return_sign), grad.reshape(z.shape)


def _inputs(logits, b, return_sign):
    z = v.logits(logits, extended_reals=True)
    v.choice(return_sign, v.Choice((False, True)), "return_sign")
    if b is None:
        return z, None
    scale = v.real_array(b, "b")
    try:
        scale = np.broadcast_to(scale, z.shape)
    except ValueError:
        raise v.RefLossError(f"b of shape {scale.shape} does not broadcast to logits' shape {z.shape}") from None
    return z, scale


def _infinite_rows(z, scale):
    """(z with its rows that hold a live +inf logit made finite, None) or, where there are such rows, their flat
    indices and the sign of their infinite sum: e^(+inf) with b_j != 0 makes the sum +-inf and its log +inf (SciPy's
    answer); +inf terms of both signs make inf - inf, which has no value and raises."""
    if not z.size or not np.isposinf(z.max()):
        return z, None
    rows = as_rows(z)
    live = np.isposinf(rows) & (True if scale is None else scale.reshape(rows.shape) != 0)
    signs = np.ones(rows.shape) if scale is None else np.sign(scale.reshape(rows.shape))
    positive, negative = (live & (signs > 0)).any(axis=-1), (live & (signs < 0)).any(axis=-1)
    if (positive & negative).any():
        raise v.RefLossError("logits holds +inf in a row where b has terms of both signs: the sum is inf - inf, "
                             "which has no value")
    infinite = positive | negative
    finite = np.where(np.isposinf(rows), 0.0, rows).reshape(z.shape)  # any finite row; its results are replaced
    return finite, (infinite, np.where(positive, 1.0, -1.0)[infinite])


def _refuse_infinite(infinite) -> None:
    if infinite is not None and infinite[0].any():
        raise v.RefLossError("logsumexp is +inf in a row (a logit is +inf), so its gradient is undefined")


def _passes(z, scale, *outputs):
    if z.shape[-1] == 0:  # no class: the empty sum (as_rows cannot see the rows of an array with no columns)
        z, scale = np.full(z.shape[:-1] + (1,), -np.inf), None
    if scale is None:
        return outputs_by_rows(_row_parts, outputs, as_rows(z))
    return outputs_by_rows(_scaled_row_parts, outputs, as_rows(z), scale.reshape(-1, z.shape[-1]))


def _returned(z, value, sign, return_sign):
    if not return_sign and (sign < 0).any():
        raise v.RefLossError("the sum of b * exp(logits) is negative in a row, so its log is not real; pass "
                             "return_sign=True for log|sum| and its sign")
    value = value.reshape(z.shape[:-1])[()]
    return (value, sign.reshape(z.shape[:-1])[()]) if return_sign else value


class _Parts:
    """A block's terms: the row's value ``log|S|``, ``g = b_j e^(z_j) / S`` (the gradient) and the sign of S."""

    def __init__(self, value, gradient_parts, sign, no_term):
        self.value, self._gradient_parts, self.sign, self._no_term = value, gradient_parts, sign, no_term

    def gradient(self):
        """g; 0 on a row with no term (its value is the constant -inf, as a masked log-probability's), and a
        RefLossError where terms cancel to a sum of exactly 0 (-inf, not differentiable)."""
        numerator, denominator = self._gradient_parts
        if ((denominator == 0) & ~self._no_term).any():
            raise v.RefLossError("logsumexp is -inf in a row whose terms b * exp(logits) cancel to 0, so its "
                                 "gradient is undefined there")
        with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 on a row with no term, replaced by 0
            return np.where(self._no_term, 0.0, numerator / denominator)


def _row_parts(z):
    """Without b: the rows' maxima and :func:`refloss.numerics.softmax_parts`; a row with no unmasked class has the
    empty sum (value -inf, sign 0)."""
    row_max = np.max(z, axis=-1, keepdims=True)
    empty = np.isneginf(row_max)
    if empty.any():
        z = np.where(empty, 0.0, z)  # any finite row: its results are replaced below
    _, exp_shifted, log_total, total = softmax_parts(z)
    value = np.where(empty, -np.inf, row_max + log_total)[..., 0]
    return _Parts(value, (exp_shifted, np.where(empty, 0.0, total)), np.where(empty, 0.0, 1.0)[..., 0], empty)


def _scaled_row_parts(z, b):
    r"""With b: pivot k = argmax_j (z_j + log|b_j|) over the live classes (b_j != 0, z_j > -inf), the ratios
    t_j = (b_j / b_k) e^(z_j - z_k) (each of magnitude <= 1, t_k = 1) and 1 + r = sum_j t_j; then log|S| =
    z_k + log|b_k| + log|1 + r| and g_j = t_j / (1 + r). ``log|1 + r|`` is ``log1p(r)`` where r > -1/2 (a tiny r
    keeps its digits) and ``log|1 + r|`` elsewhere, where 1 + r is exact (r in [-1, -1/2], Sterbenz) or set by
    the cancellation of the terms themselves."""
    live = (b != 0) & ~np.isneginf(z)
    magnitude = np.abs(b)
    with np.errstate(divide="ignore"):
        log_terms = np.where(live, z + np.log(np.where(live, magnitude, 1.0)), -np.inf)
    k = np.argmax(log_terms, axis=-1)[..., None]
    empty = ~np.take_along_axis(live, k, axis=-1)
    z_k = np.where(empty, 0.0, np.take_along_axis(z, k, axis=-1))
    b_k = np.where(empty, 1.0, np.take_along_axis(b, k, axis=-1))
    ratios = _ratios(z, b, z_k, b_k, log_terms, live)
    np.put_along_axis(ratios, k, 0.0, axis=-1)
    rest = ratios.sum(axis=-1, keepdims=True)  # r, without the pivot's 1 (1 + tiny would lose the tiny)
    np.put_along_axis(ratios, k, np.where(empty, 0.0, 1.0), axis=-1)
    with np.errstate(divide="ignore"):
        log_abs = np.where(rest > -0.5, np.log1p(np.maximum(rest, -0.5)), np.log(np.abs(1.0 + rest)))
    total = 1.0 + rest
    sign = np.where(empty, 0.0, np.sign(b_k) * np.sign(total)) + 0.0  # (-1) * 0 is -0.0: the sign of 0 is 0
    value = np.where(empty | (total == 0), -np.inf, z_k + np.log(np.abs(b_k)) + log_abs)
    return _Parts(value[..., 0], (ratios, np.where(empty, 0.0, total)), sign[..., 0], empty)


def _ratios(z, b, z_k, b_k, log_terms, live):
    """t_j = (b_j / b_k) e^(z_j - z_k), |t_j| <= 1: as that product where the quotient is a normal number and the
    exponential does not underflow (both then exact to an ulp), else as sign * e^(log|b_j| + z_j - log|b_k| -
    z_k) (scale factors that span more than the float64 range)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        quotient = b / b_k
        gap = z - z_k
        direct = quotient * np.exp(gap)
        tiny = np.finfo(np.float64).tiny
        reliable = (np.abs(quotient) >= tiny) & np.isfinite(quotient) & (gap >= -708.0)
        pivot_log = z_k + np.log(np.abs(b_k))
        fallback = np.sign(quotient) * np.exp(log_terms - pivot_log)
    return np.where(live, np.where(reliable, direct, fallback), 0.0)


def _value(parts):
    return parts.value


def _sign(parts):
    return parts.sign


def _checked_gradient(parts):
    return parts.gradient()


def _scale_factor_stress():
    gaps, ties = cases.GAP_ROWS, cases.TIE_ROWS
    ninf = -np.inf
    return {
        # logits whose exponentials overflow: the shift by the maximum is what keeps these finite
        "large_logits": {"logits": np.array([[1000.0, 1000.0, -5.0], [0.0, 1.0, 2.0], [710.0, 709.0, 0.0]])},
        # SciPy's b, positive: the pivot is the largest term, not the largest logit
        "b_positive__gaps": {"logits": gaps, "b": np.array([1e-20, 1.0, 3.0]), "return_sign": True},
        # opposite signs that cancel to one part in 1e12, 1e3 and exactly; the sign and its flip
        "b_opposite_signs_cancel": {
            "logits": np.array([[0.0, 1e-12, -1.0], [0.0, np.log(2.0), 5.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
            "b": np.array([[1.0, -1.0, 1e-30], [2.0, -1.0, -1e-3], [1.0, -1.0, 2.0], [1.0, 1.0, -2.000000000001]]),
            "return_sign": True},
        "b_negative_sum__gaps": {"logits": gaps[:4], "b": np.array([-1.0, 0.5, 2.0]), "return_sign": True},
        "b_per_row_broadcast__ties": {"logits": ties, "b": np.array([[0.5], [2.0], [-1.0], [1e-300]]),
                                      "return_sign": True},
        # b = 0 removes a class (SciPy's rule); masked classes with b of either sign
        "b_zero_and_masks": {"logits": np.array([[0.0, ninf, 2.0], [30.0, 0.0, -1.0], [ninf, 1.0, 3.0]]),
                             "b": np.array([[-2.0, 5.0, 1.0], [0.0, 1.0, 1.0], [1.0, -3.0, 0.0]]),
                             "return_sign": True},
        # the empty sum: every class masked, every b_j = 0: -inf, sign 0 (and no gradient)
        "empty_sums": {"logits": np.array([[ninf, ninf], [0.0, 1.0], [2.0, ninf]]),
                       "b": np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]), "return_sign": True},
        "every_class_masked": {"logits": np.array([[ninf, ninf, ninf], [0.0, ninf, 1.0]])},
        "b_without_sign__gaps": {"logits": gaps, "b": np.array([2.0, 0.5, -1.0])},
    }


def _logsumexp_cases(extreme):
    import hypothesis

    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, _ = cases.draw_logits(draw, extreme)
        kind = draw(st.sampled_from(["none", "positive", "signed", "row"]))
        if kind == "none":
            return {"logits": z, **({"return_sign": True} if draw(st.booleans()) else {})}
        shape = z.shape if kind != "row" else z.shape[:-1] + (1,)
        low = -3.0 if kind in ("signed", "row") else 0.0
        b = draw(hnp.arrays(np.float64, shape, elements=st.floats(low, 3.0) | st.sampled_from([0.0, 1.0, -1.0])
                            .filter(lambda x: x >= low)))
        terms = b * np.exp(z - z.max(axis=-1, keepdims=True))
        # away from a sum that cancels to 0, where the value and its gradient are not smooth enough for the
        # finite-difference check (the stress points hold the cancellations)
        magnitude = np.abs(terms).sum(axis=-1)
        hypothesis.assume(np.all((magnitude > 0) & (np.abs(terms.sum(axis=-1)) >= 0.05 * magnitude)))
        return {"logits": z, "b": b, "return_sign": True}

    return draw_case()
