"""The family's shared parts of the definitions: a row's Hessian as SymPy's second derivative of its loss, and the
reduction's factor."""

from __future__ import annotations

import numpy as np
import sympy as sp


def row_hessian(z_row) -> list[list[sp.Expr]]:
    """d^2 (LSE(z) - z_y) / dz_j dz_k of one row (SymPy expressions: symbols, or constants such as a logit that is
    exactly 0; -oo for a masked class, whose row and column are 0), the target's term being linear, so that the
    Hessian is the log-sum-exp's: differentiated in fresh variables, then evaluated at the row."""
    live = [x != -sp.oo for x in z_row]
    t = [sp.Dummy(f"t{j}") for j in range(len(z_row))]
    lse = sp.log(sp.Add(*[sp.exp(t[j]) for j in range(len(z_row)) if live[j]]))
    at_row = {t[j]: z_row[j] for j in range(len(z_row)) if live[j]}
    return [[sp.diff(lse, t[j], t[k]).subs(at_row) if live[j] and live[k] else sp.S.Zero
             for k in range(len(z_row))] for j in range(len(z_row))]


def scale(shape: tuple, reduction: str) -> sp.Expr:
    """1/N for "mean" over the N rows, else 1."""
    n = int(np.prod(shape[:-1]))
    return sp.Rational(1, n) if reduction == "mean" and n else sp.S.One
