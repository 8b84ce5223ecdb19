"""Shared parts of the Gaussian family's definitions: determinants of blocks for both views, symbolic covariances
and Cholesky factors for the proofs, the closed forms in terms of block inverses, and an exact zero test."""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._structured_views import Covariance, GenericCovariance

LOG_2PIE = sp.log(2 * sp.pi * sp.E)


def det(view):
    """The determinant of a view's matrix: its value (a polynomial in the symbols of a concrete case; 1 for an
    empty block) or, for the generic view, :math:`|\\Sigma_X|`."""
    return sp.Determinant(view.matrix) if isinstance(view, GenericCovariance) else view.matrix.det()


def generic() -> GenericCovariance:
    return GenericCovariance(r"\Sigma")


def concrete(case) -> Covariance:
    return Covariance(case["cov"])


def indices(case, name: str) -> list[int]:
    return [int(i) for i in np.atleast_1d(np.asarray(case[name]))]


def unit(case):
    """1 (nats), or log(base): the base's unit (SciPy's ``base``)."""
    return 1 if case["base"] is None else sp.log(case["base"])


def scalar(value) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = value
    return out


# -- symbols for the proofs ------------------------------------------------------------------------------------


def independent(d: int) -> sp.Matrix:
    """A d x d matrix of d^2 independent symbols (the two triangles apart, as the oracle sees a case)."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"s_{i}{j}", real=True))


def symmetric_symbols(d: int) -> sp.Matrix:
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"s_{min(i, j)}{max(i, j)}", real=True))


def lower(d: int) -> sp.Matrix:
    """A symbolic Cholesky factor: lower triangular, positive diagonal."""
    return sp.Matrix(d, d, lambda i, j: sp.Symbol(f"l_{i}{j}", positive=i == j, real=True) if j <= i else 0)


def to_symmetric(d: int) -> dict:
    """s_ji -> s_ij (j > i): the independent symbols at a symmetric matrix."""
    return {sp.Symbol(f"s_{j}{i}", real=True): sp.Symbol(f"s_{i}{j}", real=True)
            for i in range(d) for j in range(i + 1, d)}


def inverse(m: sp.Matrix) -> sp.Matrix:
    """The inverse as adjugate over determinant (a rational function of the entries; empty stays empty)."""
    if m.shape[0] == 0:
        return m
    return m.adjugate() / m.det()


def embed(block: sp.Matrix, rows: list[int], d: int) -> sp.Matrix:
    """A d x d zero matrix holding ``block`` on ``rows`` x ``rows``."""
    out = sp.zeros(d, d)
    for a, i in enumerate(rows):
        for b, j in enumerate(rows):
            out[i, j] = block[a, b]
    return out


def log_det_gradient(s: sp.Matrix, rows: list[int]) -> sp.Matrix:
    """d log|S_rows| / d S_ij for independent entries: (S_rows^{-1})_ji, embedded (0 outside rows x rows)."""
    d = s.shape[0]
    if not rows:
        return sp.zeros(d, d)
    return embed(inverse(s.extract(rows, rows)).T, rows, d)


def assert_zero(expr, what: str) -> str:
    """Prove ``expr == 0`` exactly (every entry of a matrix): its numerator over one denominator expands to 0."""
    entries = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
    for k, e in enumerate(entries):
        if sp.expand(sp.numer(sp.together(sp.sympify(e)))) != 0:
            where = f" (entry {divmod(k, expr.shape[1])})" if isinstance(expr, sp.MatrixBase) else ""
            raise AssertionError(f"{what}{where}: not identically 0: {sp.simplify(e)}")
    return "symbolic"


def assert_gradient(value, s: sp.Matrix, closed: sp.Matrix, what: str) -> None:
    """d value / d s_ij = closed[i, j] for every independent symbol s_ij."""
    d = s.shape[0]
    for i in range(d):
        for j in range(d):
            assert_zero(sp.diff(value, s[i, j]) - closed[i, j], f"{what}: d / d Sigma_{i}{j}")


def assert_symmetric_at_symmetric(closed: sp.Matrix, what: str) -> None:
    """The closed form at a symmetric matrix is symmetric (so is the gradient refloss returns)."""
    at = closed.xreplace(to_symmetric(closed.shape[0]))
    assert_zero(at - at.T, f"{what} is symmetric at a symmetric Sigma")


def exp_twice(expr):
    """e^(2 expr) for ``expr`` a sum of half-integer multiples of logarithms (information in nats), as the product
    of their arguments' powers: an identity between such sums becomes one between rational functions."""
    expr = sp.expand(2 * expr)
    if expr == 0:
        return sp.Integer(1)
    terms = expr.args if isinstance(expr, sp.Add) else (expr,)
    out = sp.Integer(1)
    for term in terms:
        coeff, rest = term.as_coeff_Mul()
        if not isinstance(rest, sp.log) or not coeff.is_Integer:
            raise AssertionError(f"not a sum of integer multiples of logarithms: {term}")
        out *= rest.args[0] ** coeff
    return out
