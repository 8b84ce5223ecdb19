"""Reductions: the only place the "mean" rule lives.

A loss computes per-element values ``l`` and a denominator; :func:`reduce` applies ``reduction`` and
:func:`reduce_scale` gives the factor that the per-element gradient is multiplied by, so value and
gradient can never disagree about the denominator.

* ``"none"``: ``l`` itself (the gradient is that of each element's own loss, equivalently of ``sum(l)``).
* ``"sum"``: ``sum(l)``.
* ``"mean"``: ``sum(l) / denominator``. The denominator is the number of elements unless the caller
  passes another one, e.g. PyTorch's sum of the class weights of the non-ignored targets. A zero
  denominator gives NaN (0/0), as in PyTorch, and a :class:`RefLossWarning` says why.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._validate import REDUCTIONS, RefLossWarning, choice


def check_reduction(reduction: str) -> str:
    return choice(reduction, REDUCTIONS, "reduction")


def _mean_denominator(values: np.ndarray, denominator: float | None) -> float:
    return float(values.size) if denominator is None else float(denominator)


def reduce(values: np.ndarray, reduction: str, denominator: float | None = None):
    """Reduce per-element loss values; returns an array for ``"none"``, else a Python float."""
    check_reduction(reduction)
    if reduction == "none":
        return values
    with np.errstate(over="ignore"):  # a sum beyond the float64 range is inf, which "sum" returns as such
        total = float(np.sum(values))
    if reduction == "sum":
        return total
    den = _mean_denominator(values, denominator)
    if den == 0.0:
        warnings.warn(
            "mean over zero total weight (every target ignored, or their class weights are 0): "
            "the result is 0/0 = nan, as in PyTorch",
            RefLossWarning,
            stacklevel=3,
        )
        return float("nan")
    if math.isinf(total) and np.isfinite(values).all():
        return float(np.sum(values / den))  # the sum overflowed; the mean of finite values does not
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
