"""The discrete family's shared parts of the definitions: the unit of a base, the batch loop over distributions
(or joint tables), the outcomes with probability not exactly 0, the displayed sums."""

from __future__ import annotations

import numpy as np
import sympy as sp


def unit(base) -> sp.Expr:
    """log(base) as an exact constant: 1 for nats (None)."""
    return 1 if base is None else sp.log(sp.Rational(*float(base).as_integer_ratio()))


def over_batch(array, axes: int, fn) -> np.ndarray:
    """``fn(index)`` for every index of the leading (batch) axes of ``array``, whose last ``axes`` axes are one
    distribution (1) or one joint table (2): the object array of the outputs, shape ``array.shape[:-axes]``."""
    shape = np.shape(array)[:-axes]
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = fn(index)
    return out


def nonzero(values: np.ndarray) -> list:
    """The indices (tuples) of the entries of a float64 array that are not exactly 0."""
    return [index for index in np.ndindex(*values.shape) if values[index] != 0]


def indexed_sum(term, *indices) -> sp.Expr:
    """``Sum(term, (i, 1, n), ...)`` over the given ``(symbol, upper)`` pairs, for a displayed formula."""
    return sp.Sum(term, *[(i, 1, n) for i, n in indices])
