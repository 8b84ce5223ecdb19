"""What every proof script shares: proving identities, 50-digit evaluation, and the float64 comparison.

A check has two halves. The *symbolic* half proves that the closed form in refloss's docstring equals
SymPy's derivative of the objective written from its definition (:func:`assert_identity`). The
*numeric* half ties that mathematics to the code: SymPy's derivative is evaluated with 50 significant
digits at the very float64 inputs refloss receives (:func:`mp_eval`) and refloss's float64 output
must agree to the stated tolerances (:func:`assert_values_close`, :func:`assert_grad_close`).
"""

from __future__ import annotations

import sys
import time
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import sympy as sp

DPS = 50  # digits of the reference arithmetic: ~34 more than float64, so its own error is invisible
VALUE_RTOL = 1e-13  # per element, relative to the exact value
GRAD_RTOL = 1e-12  # absolute, relative to max(1, max |exact gradient|) over the whole array
ZERO_TOL = 1e-40  # what "zero" means for an identity evaluated numerically at 50 digits
SEED = 20240607


def symbol_array(name: str, shape: tuple[int, ...], **assumptions) -> np.ndarray:
    """An object array of SymPy symbols ``name_i_j...``, one per entry of an input of that shape."""
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = sp.Symbol("_".join([name, *map(str, index)]), **assumptions)
    return out


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
    # One fraction inside each log (log(1 + u1/u0) -> log((u0 + u1)/u0)), then split the logs; with the
    # u's positive, SymPy splits a log only where that is valid.
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
    if diff == 0 or _zero_in_log_coordinates(diff, tuple(logits)):
        return "symbolic"
    if sp.simplify(diff) == 0:
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


_CANONICAL: dict = {}
_DERIVATIVES: dict = {}


def _canonical_symbol(i: int, like: sp.Symbol) -> sp.Dummy:
    assumptions = like.assumptions0
    key = (i, tuple(sorted(assumptions.items())))
    return _CANONICAL.setdefault(key, sp.Dummy(f"v{i}", **assumptions))


def gradient(losses, variables: np.ndarray, scale=1) -> np.ndarray:
    """d(scale * sum(losses)) / d v for every symbol v of ``variables``, in its shape.

    ``scale`` (the reduction's 1 or 1/denominator) must not depend on the variables. Two economies, neither
    of which changes the result: the sum rule is applied here, so a loss is differentiated only by the
    variables it contains, and each loss is renamed to canonical symbols before ``sympy.diff``, so rows of
    the same form (same class count, target, mask) are differentiated once and the result renamed back.
    """
    losses = list(np.asarray(losses, dtype=object).flat)
    flat = list(variables.flat)
    if set(flat) & sp.sympify(scale).free_symbols:
        raise ValueError("the reduction's scale must not depend on the variables")
    terms = {v: [] for v in flat}
    for loss in losses:
        own = [v for v in flat if v in loss.free_symbols]
        rename = {v: _canonical_symbol(i, v) for i, v in enumerate(own)}
        back = {c: v for v, c in rename.items()}
        canonical = loss.xreplace(rename)
        for v in own:
            key = (canonical, rename[v])
            if key not in _DERIVATIVES:
                _DERIVATIVES[key] = sp.diff(canonical, rename[v])
            terms[v].append(_DERIVATIVES[key].xreplace(back))
    out = np.empty(variables.shape, dtype=object)
    for index, v in zip(np.ndindex(*variables.shape), flat):
        out[index] = scale * sp.Add(*terms[v])
    return out


def mp_eval(exprs, point: dict, dps: int = DPS) -> np.ndarray:
    """Evaluate an expression or array of expressions at ``point`` (Symbol -> float) with ``dps`` digits.

    ``mpmath.mpf(float)`` is exact, so the reference is the mathematical value at the very inputs refloss
    saw, up to the rounding of the working precision. The definitions are evaluated as written, so where
    they cancel (``log(e^100 / (e^100 + 1))`` loses 44 digits) a stress point must raise ``dps`` by the
    digits lost. Parameters must enter as symbols, not SymPy Floats, for the same exactness.
    """
    exprs = np.asarray(exprs, dtype=object)
    symbols = list(point)
    f = sp.lambdify(symbols, list(exprs.flat), modules="mpmath")
    with mpmath.workdps(dps):
        values = f(*(mpmath.mpf(float(point[s])) for s in symbols))
    out = np.empty(exprs.shape, dtype=object)
    for index, value in zip(np.ndindex(*exprs.shape), values):
        out[index] = mpmath.mpf(value)
    return out


def assign(symbols: np.ndarray, values) -> dict:
    """The point ``{symbol: value}`` giving each symbol of ``symbols`` the matching entry of ``values``."""
    values = np.broadcast_to(np.asarray(values, dtype=float), symbols.shape)
    return {s: float(x) for s, x in zip(symbols.flat, values.flat)}


def _as_float_array(got, shape, what: str) -> np.ndarray:
    arr = np.asarray(got, dtype=float)
    if arr.shape != tuple(shape):
        raise AssertionError(f"{what}: refloss returned shape {arr.shape}, the derivation has {tuple(shape)}")
    return arr


def assert_values_close(got, expected, what: str, rtol: float = VALUE_RTOL) -> None:
    """Every entry of refloss's float64 ``got`` within ``rtol`` relative of the 50-digit ``expected``."""
    expected = np.asarray(expected, dtype=object)
    got = _as_float_array(got, expected.shape, what)
    with mpmath.workdps(DPS):
        for index in np.ndindex(*expected.shape):
            g, e = got[index], expected[index]
            if not abs(mpmath.mpf(g) - e) <= rtol * abs(e):
                raise AssertionError(f"{what}: value at {index} is {float(g)!r}, exact {mpmath.nstr(e, 20)} "
                                     f"(relative error {mpmath.nstr(abs((g - e) / e), 3) if e else 'inf'} "
                                     f"> {rtol})")


def assert_grad_close(got, expected, what: str, rtol: float = GRAD_RTOL) -> None:
    """``max |got - expected| <= rtol * max(1, max |expected|)`` over the whole gradient array."""
    expected = np.asarray(expected, dtype=object)
    got = _as_float_array(got, expected.shape, what)
    with mpmath.workdps(DPS):
        errors = {index: abs(mpmath.mpf(got[index]) - expected[index]) for index in np.ndindex(*expected.shape)}
        scale = max([mpmath.mpf(1)] + [abs(e) for e in expected.flat])
        worst = max(errors, key=errors.get)
        if not errors[worst] <= rtol * scale:
            raise AssertionError(f"{what}: gradient entry {worst} is {float(got[worst])!r}, SymPy's derivative "
                                 f"{mpmath.nstr(expected[worst], 20)} (error {mpmath.nstr(errors[worst], 3)} "
                                 f"> {rtol} * {mpmath.nstr(scale, 6)})")


def check_limit(expr, var, to, expected, what: str, direction: str = "+") -> None:
    """``sympy.limit(expr, var, to, direction) == expected``, exactly (direction "-": from below)."""
    got = sp.limit(expr, var, to, direction)
    if got != expected and not (got.is_finite and sp.simplify(got - expected) == 0):
        raise AssertionError(f"{what}: limit of {expr} as {var} -> {to} is {got}, expected {expected}")


def run(checks: dict, script: str) -> None:
    """Body of ``python proofs/check_<family>.py``: run every check, print ``ok <name>``, exit 1 on failure.

    Also confirms that the registry points at exactly these checks, so a renamed object or a check
    nobody references cannot go unnoticed.
    """
    import refloss

    here = "proofs/" + Path(script).name
    referenced = {e.proof.split("::")[1] for e in refloss.catalogue() if e.proof.split("::")[0] == here}
    failed = 0
    if referenced != set(checks):
        print(f"FAIL registry: it references {sorted(referenced)} in {here}, the script defines {sorted(checks)}")
        failed += 1
    for name, check in checks.items():
        start = time.perf_counter()
        try:
            check()
        except AssertionError as exc:
            print(f"FAIL {name}: {exc}")
            failed += 1
        else:
            print(f"ok {name} ({time.perf_counter() - start:.2f} s)")
    sys.exit(1 if failed else 0)
