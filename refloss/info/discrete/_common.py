"""The family's shared parts: the check of a pmf array and the papers."""

from __future__ import annotations

import numpy as np

from ... import _validate as v
from ..._registry import Paper

SHANNON = Paper("A Mathematical Theory of Communication", where="C. E. Shannon, Bell Syst. Tech. J. 27, 1948")

PMF = v.ArrayArg("non-negative probabilities (..., C), outcomes on the last axis; not normalised", "pmf")


def pmf(x, name: str = "pk") -> np.ndarray:
    """Finite non-negative numbers with at least one axis and one outcome on the last."""
    arr = v.real_array(x, name)
    if arr.ndim == 0:
        raise v.RefLossError(f"{name} must have at least one axis (the outcomes, last), got a scalar")
    if arr.shape[-1] == 0:
        raise v.RefLossError(f"{name} has no outcomes (shape {arr.shape}): a distribution over nothing does not exist")
    if arr.size and arr.min() < 0:
        raise v.RefLossError(f"{name} has a negative entry ({arr.min()!r}): probabilities are non-negative")
    return arr


def no_zero(arr: np.ndarray, name: str) -> None:
    """The gradient's refusal at a probability of 0."""
    if (arr == 0).any():
        raise v.RefLossError(f"{name} has an entry 0, where the derivative of -p log p is +inf: the gradient does not "
                             "exist there (the value does)")
