"""Ball arithmetic for the oracle: SymPy expressions evaluated on Arb balls (python-flint's ``arb``).

Every Arb operation returns a ball ``[mid +/- rad]`` guaranteed to contain the exact result of the exact
operation on every point of its argument balls, so a chain of them encloses the exact value of a whole
expression at float64 inputs (which Arb holds exactly). Its exponent range is unbounded: ``exp(-1.7e308)``
and a gradient component of 1e-1738 are balls, not an underflow to 0.

:func:`compile_expressions` turns SymPy expressions into a :class:`Program`, a straight-line list of Arb
operations in which a shared subexpression is computed once (as ``lambdify`` with ``cse=True`` does for
mpmath). :meth:`Program.evaluate` runs it at a working precision; :meth:`Program.evaluate_with_tangents` also
carries forward-mode derivatives (each rule written here, independent of SymPy's ``diff``), which the
default test tier uses to check stored digits without SymPy's derivatives. :func:`decimal` rounds a ball to
decimal digits and says whether that rounding is proven: both ends of the ball round to the same digits.

A function class of a definition that Arb does not know (``SoftCap``) names its elementary form in an
``as_elementary()`` method; the program evaluates that form. An expression with no Arb route raises
:class:`NoBallRoute`, naming what is missing.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import sympy as sp
from flint import arb, ctx, fmpq

#: A value that a definition leaves undefined by a stated convention (the mean over zero total weight, 0/0,
#: which PyTorch returns as NaN): it evaluates to NaN, and its derivative is 0 (SymPy's, of a constant).
UNDEFINED = sp.Symbol("undefined")


class NoBallRoute(NotImplementedError):
    """The expression holds an operation without an Arb evaluation here."""


def ball(x) -> arb:
    """An exact ball of a float, an int, an mpmath number or a ``Fraction`` (a ``Fraction`` with a denominator
    that is not a power of two rounds at the working precision); balls pass through."""
    if isinstance(x, arb):
        return x
    if isinstance(x, mpmath.mpf):
        if not mpmath.isfinite(x):
            return arb.nan() if mpmath.isnan(x) else (arb.pos_inf() if x > 0 else arb.neg_inf())
        return _exact(x._mpf_)
    if isinstance(x, Fraction):
        return arb(fmpq(x.numerator, x.denominator))
    return arb(x)


def _exact(raw: tuple) -> arb:
    """The exact ball of mpmath's raw ``(sign, mantissa, exponent, bits)``: ``man_exp`` drops the sign (its mantissa
    is unsigned), and ``mpmath.mpf(raw)`` would round to mpmath's working precision."""
    sign, man, exp, _ = raw
    return arb((-int(man) if sign else int(man), int(exp)))


def to_mpf(x: arb) -> mpmath.mpf:
    """The midpoint of a ball, exactly, as an mpmath number (mpmath's exponents are unbounded too)."""
    if x.is_nan():
        return mpmath.mpf("nan")
    mid = x.mid()
    if not mid.is_finite():
        return mpmath.mpf("inf") if mid > 0 else mpmath.mpf("-inf")
    man, exp = mid.man_exp()
    return mpmath.mpf((int(man), int(exp)))


def upper_mpf(x: arb) -> mpmath.mpf:
    """An upper bound of |x| as an mpmath number (infinite for a NaN ball)."""
    return mpmath.mpf("inf") if x.is_nan() else to_mpf(x.abs_upper())


# --- the program -------------------------------------------------------------------------------------------
#
# A step is (kind, payload, operands): an input, a constant, or an operation on the values of earlier steps,
# most of them from the table OPERATIONS below. Each entry of the table is (value rule, tangent rule); a tangent
# rule maps (operand values, result, operand tangents) to the result's tangent; tangents are sparse
# {input slot: arb}.


def _scaled(tangent: dict, factor: arb) -> dict:
    return {k: v * factor for k, v in tangent.items()}


def _summed(tangents) -> dict:
    out: dict = {}
    for tangent in tangents:
        for k, v in tangent.items():
            out[k] = out[k] + v if k in out else v
    return out


def _product(factors: list) -> arb:
    out = arb(1)
    for f in factors:
        out = out * f
    return out


def _mul_tangent(xs, y, dxs):
    """d(x_1 ... x_n) = sum_i (prod_{j != i} x_j) dx_i, without dividing by an x_i that may be 0."""
    return _summed(_scaled(dx, _product(xs[:i] + xs[i + 1:])) for i, dx in enumerate(dxs) if dx)


def _pow(base: arb, exponent: arb) -> arb:
    return base.sqrt() if exponent == arb(0.5) and exponent.is_exact() else base ** exponent


def _pow_tangent(xs, y, dxs):
    base, exponent = xs
    dbase, dexponent = dxs
    out = _scaled(dbase, exponent * _pow(base, exponent - 1)) if dbase else {}
    if dexponent:
        out = _summed([out, _scaled(dexponent, y * base.log())])
    return out


def _unary(value, derivative):
    """An elementwise function and its derivative as a function of (x, f(x))."""
    return value, (lambda xs, y, dxs: _scaled(dxs[0], derivative(xs[0], y)) if dxs[0] else {})


def _choose(pick):
    """max/min of balls: a ball that contains both choices where they overlap (a proven bound of the value);
    the tangent follows a decided choice and is NaN where the choice is not decided."""
    def tangent(xs, y, dxs):
        winners = [i for i, x in enumerate(xs) if all(pick(x, other) for j, other in enumerate(xs) if j != i)]
        if len(winners) != 1:
            return {k: arb.nan() for k in _summed(dxs)}
        return dict(dxs[winners[0]])
    return tangent


def _erf_derivative(x, y):
    return 2 * (-(x * x)).exp() / arb.pi().sqrt()


def _heaviside(x, *at_zero):
    """H(x): 1 for x > 0, 0 for x < 0, SymPy's H(0) (1/2 unless given) at an exact 0, and the ball [0, 1] where
    the sign is not decided (a proven enclosure all the same)."""
    if x > 0:
        return arb(1)
    if x < 0:
        return arb(0)
    if x.is_exact() and x.is_zero():
        return at_zero[0] if at_zero else arb(0.5)
    return arb(0.5, 0.5)


def _polygamma(n, x):
    """psi^(n)(x) for an integer order n: digamma, or (-1)^(n+1) n! zeta(n + 1, x)."""
    order = int(n.unique_fmpz())
    if order == 0:
        return x.digamma()
    return (-1) ** (order + 1) * arb.fac_ui(order) * arb(order + 1).zeta(x)


def _fold(op, xs):
    out = xs[0]
    for x in xs[1:]:
        out = op(out, x)
    return out


OPERATIONS = {
    "add": (lambda *xs: sum(xs[1:], xs[0]), lambda xs, y, dxs: _summed(dxs)),
    "mul": (lambda *xs: _product(list(xs)), _mul_tangent),
    "pow": (_pow, _pow_tangent),
    "exp": _unary(arb.exp, lambda x, y: y),
    "log": _unary(arb.log, lambda x, y: 1 / x),
    "log1p": _unary(arb.log1p, lambda x, y: 1 / (1 + x)),
    "expm1": _unary(arb.expm1, lambda x, y: y + 1),
    "tanh": _unary(arb.tanh, lambda x, y: x.sech() ** 2),
    "sech": _unary(arb.sech, lambda x, y: -y * x.tanh()),
    "cosh": _unary(arb.cosh, lambda x, y: x.sinh()),
    "sinh": _unary(arb.sinh, lambda x, y: x.cosh()),
    "abs": _unary(abs, lambda x, y: x.sgn()),
    "erf": _unary(arb.erf, _erf_derivative),
    "loggamma": _unary(arb.lgamma, lambda x, y: x.digamma()),
    "digamma": _unary(arb.digamma, lambda x, y: arb(2).zeta(x)),
    "sign": _unary(arb.sgn, lambda x, y: arb(0)),
    "heaviside": (_heaviside, lambda xs, y, dxs: {}),
    "polygamma": (_polygamma, lambda xs, y, dxs: _scaled(dxs[1], _polygamma(xs[0] + 1, xs[1])) if dxs[1] else {}),
    "max": (lambda *xs: _fold(arb.max, xs), _choose(lambda x, other: x > other)),
    "min": (lambda *xs: _fold(arb.min, xs), _choose(lambda x, other: x < other)),
}


_FUNCTIONS = {sp.exp: "exp", sp.log: "log", sp.tanh: "tanh", sp.sech: "sech", sp.cosh: "cosh", sp.sinh: "sinh",
              sp.Abs: "abs", sp.erf: "erf", sp.loggamma: "loggamma", sp.digamma: "digamma", sp.Max: "max",
              sp.Min: "min", sp.sign: "sign", sp.Heaviside: "heaviside", sp.polygamma: "polygamma"}

_CONSTANTS = {sp.pi: arb.pi, sp.E: arb.const_e, sp.EulerGamma: arb.const_euler, sp.Catalan: arb.const_catalan,
              sp.oo: arb.pos_inf, -sp.oo: arb.neg_inf, sp.nan: arb.nan, UNDEFINED: arb.nan}


class Program:
    """Expressions as a straight-line program of Arb operations; ``outputs`` index its steps."""

    def __init__(self, symbols: list):
        self.slots = {s: i for i, s in enumerate(symbols)}
        self.steps: list[tuple] = []  # (kind, payload, operands)
        self.index: dict = {}
        self.outputs: list[int] = []

    def _add(self, key, kind, payload, operands=()) -> int:
        self.steps.append((kind, payload, tuple(operands)))
        self.index[key] = len(self.steps) - 1
        return self.index[key]

    def step_of(self, expr) -> int:
        """The step computing ``expr`` (compiled now, with its operands, if it is new)."""
        if expr in self.index:
            return self.index[expr]
        if expr in self.slots:
            return self._add(expr, "input", self.slots[expr])
        if expr in _CONSTANTS:
            return self._add(expr, "constant", _CONSTANTS[expr])
        if expr.is_Symbol:
            raise NoBallRoute(f"the free symbol {expr} is not an input")
        if expr.is_Rational:
            return self._add(expr, "constant", lambda p=int(expr.p), q=int(expr.q): arb(fmpq(p, q)))
        if expr.is_Float:
            return self._add(expr, "constant", lambda m=sp.Float(expr)._mpf_: _exact(m))
        if expr.is_Add:
            power = _rest(expr, sp.S.NegativeOne)
            if power is not None and power.func == sp.exp:
                return self._add(expr, "call", "expm1", [self.step_of(power.args[0])])
            return self._add(expr, "add", None, [self.step_of(a) for a in expr.args])
        if expr.is_Mul:
            return self._add(expr, "mul", None, [self.step_of(a) for a in expr.args])
        if expr.is_Pow:
            base, exponent = expr.args
            if exponent.is_Integer:  # an exact power (x^-1 is 1/x, x^2 one product), not exp(e log x)
                return self._add(expr, "integer_power", int(exponent), [self.step_of(base)])
            return self._add(expr, "pow", None, [self.step_of(base), self.step_of(exponent)])
        if expr.is_Piecewise:
            return self._add(expr, "piecewise", None, [self.step_of(a) for pair in expr.args for a in pair])
        if expr.is_Relational:
            return self._add(expr, "relational", type(expr).__name__, [self.step_of(a) for a in expr.args])
        if expr in (sp.true, sp.false):
            return self._add(expr, "boolean", bool(expr))
        if hasattr(expr, "as_elementary"):
            return self._add(expr, "same", None, [self.step_of(expr.as_elementary())])
        if expr.func == sp.log and _rest(expr.args[0], sp.S.One) is not None:
            return self._add(expr, "call", "log1p", [self.step_of(_rest(expr.args[0], sp.S.One))])
        if expr.func in _FUNCTIONS:
            return self._add(expr, "call", _FUNCTIONS[expr.func], [self.step_of(a) for a in expr.args])
        raise NoBallRoute(f"no Arb route for {expr.func}")

    def evaluate(self, args: list, bits: int) -> list:
        """The outputs' balls at the inputs ``args`` (exact: floats, mpmath numbers, balls) and ``bits`` of
        working precision."""
        return self._run(args, bits, None)[0]

    def evaluate_with_tangents(self, args: list, bits: int, wrt: list[int]) -> tuple[list, list]:
        """The outputs' balls and their derivatives w.r.t. the inputs at the slots ``wrt``, by forward mode:
        ``(values, tangents)``, each tangent a dict {slot: ball} (an absent slot: the derivative is 0)."""
        return self._run(args, bits, set(wrt))

    def _run(self, args, bits, wrt):
        with ctx.workprec(bits):
            inputs = [ball(a) for a in args]
            values, tangents = [], []
            for kind, payload, operands in self.steps:
                xs = [values[i] for i in operands]
                dxs = None if wrt is None else [tangents[i] for i in operands]
                if kind == "input":
                    y, dy = inputs[payload], {payload: arb(1)} if wrt is not None and payload in wrt else {}
                elif kind == "constant":
                    y, dy = payload(), {}
                elif kind == "integer_power":
                    y = xs[0] ** payload
                    dy = _scaled(dxs[0], payload * xs[0] ** (payload - 1)) if dxs and dxs[0] else {}
                elif kind == "same":
                    y, dy = xs[0], dxs[0] if dxs else {}
                elif kind in ("relational", "boolean"):
                    y, dy = _decide(kind, payload, xs), {}
                elif kind == "piecewise":
                    y, dy = _branch(xs, dxs)
                else:
                    name = kind if kind != "call" else payload
                    value_rule, tangent_rule = OPERATIONS[name]
                    y = value_rule(*xs)
                    dy = tangent_rule(xs, y, dxs) if dxs and any(dxs) else {}
                values.append(y)
                tangents.append(dy)
        return [values[k] for k in self.outputs], [tangents[k] for k in self.outputs]


def _rest(expr, term):
    """t where ``expr`` is the Add ``term + t``; None otherwise. The program evaluates log(1 + t) as log1p(t)
    and e^x - 1 as expm1(x): the same numbers, whose balls stay tight when t or x is tiny (log(1 + e^-800)
    would otherwise need 350 digits to be told from 0)."""
    if expr.is_Add and term in expr.args:
        rest = list(expr.args)
        rest.remove(term)
        return sp.Add(*rest)
    return None


def _decide(kind, payload, xs):
    """A relation of balls: True or False where decided, None where the balls overlap."""
    if kind == "boolean":
        return payload
    a, b = xs
    decided = {"StrictLessThan": (a < b, a >= b), "LessThan": (a <= b, a > b),
               "StrictGreaterThan": (a > b, a <= b), "GreaterThan": (a >= b, a < b),
               "Equality": (a == b, a != b), "Unequality": (a != b, a == b)}[payload]
    return True if decided[0] else False if decided[1] else None


def _branch(xs, dxs):
    """The first branch whose condition holds; NaN when an earlier condition is undecided."""
    for i in range(0, len(xs), 2):
        condition = xs[i + 1]
        if condition is None:
            return arb.nan(), {}
        if condition:
            return xs[i], (dxs[i] if dxs else {})
    return arb.nan(), {}


def compile_expressions(outputs, symbols: list) -> Program:
    """A :class:`Program` computing ``outputs`` (SymPy expressions) from the inputs ``symbols``."""
    program = Program(symbols)
    program.outputs = [program.step_of(sp.sympify(e)) for e in outputs]
    return program


# --- decimal digits ----------------------------------------------------------------------------------------


def _round_significant(m: int, e: int, digits: int) -> tuple[int, int, int]:
    """m 10^e rounded half-even to ``digits`` significant digits, as (sign, D, E) with D of exactly ``digits``
    digits and the value D 10^E (or (0, 0, 0) for zero)."""
    if m == 0:
        return 0, 0, 0
    sign, m = (-1 if m < 0 else 1), abs(m)
    shift = len(str(m)) - digits
    if shift > 0:
        q, r = divmod(m, 10 ** shift)
        if 2 * r > 10 ** shift or (2 * r == 10 ** shift and q % 2):
            q += 1
        if q == 10 ** digits:
            q, shift = q // 10, shift + 1
        return sign, q, e + shift
    return sign, m * 10 ** -shift, e + shift


def _text(sign: int, d: int, e: int, digits: int) -> str:
    if sign == 0:
        return "0.0"
    mantissa = str(d).rstrip("0") or "0"
    exponent = e + digits - 1
    return f"{'-' if sign < 0 else ''}{mantissa[0]}.{mantissa[1:] or '0'}" + (f"e{exponent:+d}" if exponent else "")


def decimal(x: arb, digits: int) -> tuple[str, bool]:
    """``x`` rounded to ``digits`` significant decimal digits (half-even), and whether that is proven: True when
    both ends of the ball round to the same digits, so the exact value does too. A ball that contains 0 proves
    nothing unless it is exactly 0; an exact infinity is proven."""
    if x.is_nan():
        return "nan", False
    if not x.mid().is_finite():
        return ("inf" if x.mid() > 0 else "-inf"), x.rad() == 0
    if x.is_exact() and x.is_zero():
        return "0.0", True
    mid, rad, e = (int(t) for t in x.mid_rad_10exp(digits + 2))
    text = _text(*_round_significant(mid, e, digits), digits)
    low, high = _round_significant(mid - rad, e, digits), _round_significant(mid + rad, e, digits)
    return text, low == high and low[0] != 0


def contradicts(x: arb, text: str, digits: int) -> bool:
    """True when no point of the ball rounds to the stored ``text`` at ``digits`` significant digits: the stored
    value is proven wrong. A ball that is wide, or that holds the stored value's rounding cell, proves nothing
    either way (False), as does a stored NaN."""
    if text == "nan":
        return False
    if text in ("inf", "-inf"):
        return x.mid().is_finite() or (x.mid() > 0) != (text == "inf")
    mantissa_text, _, exponent_text = text.partition("e")
    mantissa, exponent = Fraction(mantissa_text), int(exponent_text or 0)
    if mantissa == 0:
        return not x.contains(0)
    with ctx.workprec(4 * digits + 64):
        centre = arb(fmpq(mantissa.numerator, mantissa.denominator)) * arb(10) ** exponent
        half_unit = arb(10) ** (exponent - digits + 1) / 2
        cell = arb(centre.mid(), (half_unit + centre.rad()).abs_upper())
    return not x.overlaps(cell)
