"""Shared parts of the family's definitions."""

from __future__ import annotations

import sympy as sp

from .._views import BinaryRow

C = 3  # classes in the symbolic proofs; the algebra does not depend on C


UNIT = (0, 1)  # sampling interval for labels, smoothing and alpha if an identity falls back to points


EPS = sp.Symbol("varepsilon", nonnegative=True)


_BINARY = BinaryRow(sp.Symbol("x"), sp.Symbol("y"), generic=True)
