"""Reductions: the only place the "mean" rule lives.

A loss computes per-element values ``l`` and a denominator; :func:`reduce` applies ``reduction`` and
:func:`reduce_scale` gives the factor that the per-element gradient is multiplied by, so value and
gradient can never disagree about the denominator.

* ``"none"``: ``l`` itself (the gradient is that of each element's own loss, equivalently of ``sum(l)``).
* ``"sum"``: ``sum(l)``.
* ``"mean"``: ``sum(l) / denominator``. The denominator is the number of elements unless the caller
  passes another one, e.g. PyTorch's sum of the class weights of the non-ignored targets, which
  :func:`weighted_denominator` forms. A zero denominator gives NaN (0/0), as in PyTorch, and a
  :class:`RefLossWarning` says why; that is the case only where every weight in it is 0 (or nothing is kept),
  since weights of both signs that sum to 0 make the weighted mean undefined, and :func:`weighted_denominator`
  refuses them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._validate import REDUCTIONS, RefLossError, RefLossWarning, choice


def check_reduction(reduction: str) -> str:
    return choice(reduction, REDUCTIONS, "reduction")


def weighted_denominator(weights: np.ndarray, reduction: str, what: str = "the weights of the kept targets") -> float:
    """W = sum of ``weights``, the weights of the kept targets (0 where a target is ignored), or ``what`` they are
    (scikit-learn's sample weights): the denominator of a weighted ``"mean"`` (PyTorch's rule for class weights).

    Weights of both signs are summed exactly (``math.fsum``, correctly rounded), so that W is 0 exactly when
    they cancel; non-negative ones are summed by NumPy (no cancellation). Under ``"mean"``, W = 0 is

    * 0/0 when every weight is 0 or nothing is kept: :func:`reduce` returns NaN with a :class:`RefLossWarning`,
      as PyTorch returns 0/0, and :func:`reduce_scale` the gradient 0;
    * undefined when some kept weight is not 0 (signed weights that cancel): :class:`RefLossError`.

    >>> weighted_denominator(np.array([2.0, -0.5, 0.0]), "mean")
    1.5
    >>> weighted_denominator(np.array([1.0, -1.0]), "mean")
    Traceback (most recent call last):
        ...
    refloss._validate.RefLossError: the weights of the kept targets sum to 0: the weighted mean is undefined
    """
    weights = np.asarray(weights, dtype=np.float64)
    signed = weights.size > 0 and weights.min() < 0
    with np.errstate(over="ignore"):  # non-negative weights beyond the float64 range sum to inf, correctly rounded
        total = _exact_sum(weights) if signed else float(weights.sum())
    if total == 0.0 and signed and reduction == "mean":
        raise RefLossError(f"{what} sum to 0: the weighted mean is undefined")
    return total


def _exact_sum(x: np.ndarray) -> float:
    """The correctly rounded sum; where a partial sum passes the float64 range, that of the terms scaled by a power
    of two (exact), scaled back (to +-inf if the sum itself is beyond the range)."""
    try:
        return math.fsum(x.ravel().tolist())
    except OverflowError:
        k = x.size.bit_length()
        with np.errstate(over="ignore"):  # a sum beyond the float64 range is +-inf, correctly rounded
            return float(np.ldexp(math.fsum(np.ldexp(x, -k).ravel().tolist()), k))


def _mean_denominator(values: np.ndarray, denominator: float | None) -> float:
    return float(values.size) if denominator is None else float(denominator)


def reduce(values: np.ndarray, reduction: str, denominator: float | None = None):
    """Reduce per-element loss values; returns an array for ``"none"``, else a Python float."""
    check_reduction(reduction)
    if reduction == "none":
        return values
    with np.errstate(over="ignore", invalid="ignore"):  # a sum beyond the float64 range is inf, returned as such
        total = float(np.sum(values))
    if not math.isfinite(total):
        if np.isfinite(values).all():  # a partial sum of finite losses of both signs passed the range
            total = _exact_sum(values)
        elif np.isposinf(values).any() and np.isneginf(values).any():
            raise RefLossError(f"the losses hold both +inf and -inf, so their {reduction} is undefined (-a log 0 "
                               "at masked classes with targets of both signs, or losses of both signs beyond the "
                               "float64 range)")
    if reduction == "sum":
        return total
    den = _mean_denominator(values, denominator)
    if den == 0.0:
        warnings.warn(
            "mean over zero total weight (an empty batch, every target ignored, or every weight 0): "
            "the result is 0/0 = nan, as in PyTorch",
            RefLossWarning,
            stacklevel=3,
        )
        return float("nan")
    if math.isinf(total) and np.isfinite(values).all():
        return _exact_sum(values / den)  # the sum overflowed; the mean of finite values need not
    return total / den


def reduce_scale(values_shape: tuple, reduction: str, denominator: float | None = None) -> float:
    """Factor d(reduced)/d(l_i), the same for every element i.

    For a zero mean denominator the reduced value is the constant NaN of PyTorch's rule and the factor
    is 0: no element contributes (PyTorch's backward gives the same zeros when every target is
    ignored, and NaN when the weights of the kept targets are all 0).
    """
    check_reduction(reduction)
    if reduction != "mean":
        return 1.0
    den = float(np.prod(values_shape)) if denominator is None else float(denominator)
    return 0.0 if den == 0.0 else 1.0 / den
