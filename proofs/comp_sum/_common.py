"""Shared parts of the family's definitions."""

from __future__ import annotations

import sympy as sp

TAU = sp.Symbol("tau", nonnegative=True)
