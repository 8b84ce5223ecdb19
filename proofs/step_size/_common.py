"""The family's shared parts of the definitions: the extreme classes of a row and a batch's bottleneck row, decided
on the exact float64 inputs (with exact rational arithmetic where a difference decides)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp


def extremes(z_row: np.ndarray, a_row: np.ndarray) -> tuple[int, int, bool]:
    """The classes of the largest and smallest a_k over the unmasked classes (first of equals), and whether both
    are attained once."""
    live = [k for k in range(len(z_row)) if np.isfinite(z_row[k])]
    top = max(live, key=lambda k: (a_row[k], -k))
    bottom = min(live, key=lambda k: (a_row[k], k))
    unique = sum(a_row[k] == a_row[top] for k in live) == 1 and sum(a_row[k] == a_row[bottom] for k in live) == 1
    return top, bottom, unique or a_row[top] == a_row[bottom]


def exact_spread(a_row: np.ndarray, top: int, bottom: int) -> Fraction:
    return Fraction(float(a_row[top])) - Fraction(float(a_row[bottom]))


def radius(a, top: int, bottom: int, temperature, equal: bool) -> sp.Expr:
    """pi T / (a_top - a_bottom); +oo where they are equal."""
    return sp.oo if equal else sp.pi * temperature / (a[top] - a[bottom])


def rows_of(array: np.ndarray) -> list:
    return list(np.ndindex(*np.shape(array)[:-1]))
