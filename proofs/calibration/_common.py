"""Shared parts of the family's definitions."""

from __future__ import annotations

import math
import re

import sympy as sp

_INDEX = re.compile(r"^\w+\[([\d,]*)\]$")


def exact_value(entry, exact) -> float:
    """The float64 value of one entry of a symbolic case: a number as it is (``-oo`` is -inf), a symbol ``x[i,j]``
    read at index (i, j) of the input's float64 array ``exact`` (its layout as the caller gave it)."""
    if not isinstance(entry, sp.Symbol):
        return -math.inf if entry == -sp.oo else float(entry)
    match = _INDEX.match(entry.name)
    index = tuple(int(i) for i in match.group(1).split(",") if i)
    return float(exact[index])
