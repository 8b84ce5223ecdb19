r"""Proof tactics: deciding that two SymPy expressions are equal (exactly where possible), limits, row gradients.

An identity is proved exactly in log coordinates :math:`z = \log u`, else by ``sympy.simplify``, and only
where neither decides, at random rational points in 60-digit ball arithmetic.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp

from ._arb import ball, compile_expressions
from ._oracle import DPS, bits_for
from ._views import Row, logit_symbols

ZERO_TOL = 1e-40  # what "zero" means for an identity evaluated numerically at 50 digits
SEED = 20240607

def _zero_in_log_coordinates(expr: sp.Expr, logits) -> bool:
    """Decide ``expr == 0`` after the change of variables ``z = log u`` (u > 0) for every logit z.

    Softmax objectives are then rational functions of the u's, of logs of such functions and of powers
    like ``(1 - p_y)**gamma``. Splitting the logs (valid: every argument is positive), putting everything
    over one denominator and expanding the numerator gives a polynomial in those atoms; if it is the zero
    polynomial the identity holds wherever the expression is defined. This is far cheaper than
    ``sympy.simplify``, which spends most of its time rediscovering that ``log(e^z / S) = z - log S``.
    """
    if not logits:
        return False
    u = {z: sp.log(sp.Dummy(f"u_{z}", positive=True)) for z in logits}
    e = sp.expand_power_exp(expr.xreplace(u))
    e = e.replace(lambda a: isinstance(a, sp.log), lambda a: sp.log(sp.together(a.args[0])))
    e = sp.expand_log(e)
    return sp.expand(sp.numer(sp.together(e))) == 0


def _random_rational(rng: np.random.Generator, lo, hi) -> sp.Rational:
    frac = Fraction(lo) + (Fraction(hi) - Fraction(lo)) * Fraction(int(rng.integers(1, 1024)), 1024)
    return sp.Rational(frac.numerator, frac.denominator)


def _default_domain(s: sp.Symbol) -> tuple:
    if s.is_positive:
        return (Fraction(1, 8), 3)
    if s.is_nonnegative:
        return (0, 3)
    return (-3, 3)


def assert_identity(lhs, rhs, what: str, *, logits=(), domains=None, points: int = 6) -> str:
    """Prove ``lhs == rhs`` for all values of the free symbols; return how it was proved.

    1. exactly, in log coordinates of ``logits`` (see :func:`_zero_in_log_coordinates`);
    2. exactly, by ``sympy.simplify``;
    3. where neither decides: numerically, ``|lhs - rhs| < 1e-40`` at ``points`` random rational points
       evaluated with 50 digits. ``domains`` maps a symbol to the interval it is drawn from (default by
       its assumptions: positive (1/8, 3), non-negative (0, 3), real (-3, 3)).

    Raises AssertionError naming ``what`` and the first point where the two sides differ.
    """
    diff = sp.sympify(lhs) - sp.sympify(rhs)
    if diff == 0 or (not diff.has(sp.Piecewise) and _zero_in_log_coordinates(diff, tuple(logits))):
        return "symbolic"
    if not diff.has(sp.Piecewise) and sp.simplify(diff) == 0:
        return "symbolic (simplify)"
    rng = np.random.default_rng(SEED)
    domains = domains or {}
    free = sorted(diff.free_symbols, key=str)
    for _ in range(points):
        at = {s: _random_rational(rng, *domains.get(s, _default_domain(s))) for s in free}
        value = diff.evalf(DPS, subs=at)
        if not (value.is_Number and abs(value) < ZERO_TOL):
            shown = {str(s): str(v) for s, v in at.items()}
            raise AssertionError(f"{what}: lhs - rhs = {value} at {shown}, not 0\n  lhs = {lhs}\n  rhs = {rhs}")
    return f"numeric ({points} points, {DPS} digits)"


def assert_identities_numerically(pairs: list[tuple], what: str, *, domains=None, points: int = 2) -> None:
    """``lhs == rhs`` for every ``(lhs, rhs, label)`` in ``pairs``, numerically: all sides evaluated together in
    ball arithmetic (one program, common subexpressions shared) at ``points`` random rational points with
    :data:`DPS` + 10 digits, each difference within :data:`ZERO_TOL` of 0 relative to the size of its two
    sides (bounded above: a ball that is too wide fails, it does not pass).

    For identities between large expressions, such as a whole model's derivative and its chain-rule form,
    where ``sympy.simplify`` would take minutes and ``evalf`` seconds per identity.
    """
    sides = [(sp.sympify(lhs), sp.sympify(rhs)) for lhs, rhs, _ in pairs]
    free = sorted(set().union(*(a.free_symbols | b.free_symbols for a, b in sides)), key=str)
    program = compile_expressions([x for pair in sides for x in pair], free)
    rng = np.random.default_rng(SEED)
    domains = domains or {}
    for _ in range(points):
        at = [_random_rational(rng, *domains.get(v, _default_domain(v))) for v in free]
        values = program.evaluate([Fraction(q.p, q.q) for q in at], bits_for(DPS + 10))
        for k, (_, _, label) in enumerate(pairs):
            lhs, rhs = values[2 * k], values[2 * k + 1]
            size = max(ball(1), abs(lhs).abs_upper(), abs(rhs).abs_upper())
            if not (abs(lhs - rhs).abs_upper() <= ball(ZERO_TOL) * size):
                shown = {str(v): str(q) for v, q in zip(free, at)}
                raise AssertionError(f"{what}, {label}: lhs - rhs = {lhs - rhs} at {shown}, not 0")


def prove_row_gradient(value_fn, gradient_fn, what: str, *, classes: int = 3, targets: bool = True,
                       per_class: tuple[str, ...] = (), params: dict | None = None, domains=None) -> None:
    """Prove ``d value_fn(row) / d z_j == gradient_fn(row, j)`` for every j (and every target y) on a row of
    ``classes`` symbolic logits, with symbolic per-class arrays and parameters."""
    params = params or {}
    z = logit_symbols(classes)
    extra = {name: list(sp.symbols(f"{name}0:{classes}", positive=True)) for name in per_class}
    for y in (range(classes) if targets else [None]):
        row = Row(z, y, **extra)
        value = value_fn(row, **params)
        for j in range(classes):
            assert_identity(sp.diff(value, z[j]), gradient_fn(row, j, **params),
                            f"{what}: d ell / d z_{j}" + ("" if y is None else f" (target {y})"),
                            logits=z, domains=domains)


def check_limit(expr, var, to, expected, what: str, direction: str = "+") -> None:
    """``sympy.limit(expr, var, to, direction) == expected``, exactly (direction "-": from below)."""
    got = sp.limit(expr, var, to, direction)
    if got != expected and not (got.is_finite and sp.simplify(got - expected) == 0):
        raise AssertionError(f"{what}: limit of {expr} as {var} -> {to} is {got}, expected {expected}")
