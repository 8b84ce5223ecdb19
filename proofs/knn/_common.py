"""Shared parts of the family's definitions: the points as the oracle sees them, digamma kept unevaluated."""

from __future__ import annotations

import numpy as np
import sympy as sp


def psi(n) -> sp.Expr:
    """psi(n), left for the ball arithmetic (SymPy would expand psi(10^4) into a harmonic number)."""
    return sp.digamma(sp.Integer(n), evaluate=False)


def as_points(values) -> np.ndarray:
    """(N,) is N points in one dimension."""
    values = np.asarray(values, dtype=np.float64)
    return values[:, None] if values.ndim == 1 else values


def unit(base) -> sp.Expr:
    """log(base): 1 for nats."""
    return sp.S.One if base is None else sp.log(sp.Rational(*float(base).as_integer_ratio()))
