"""The machinery every family's proof module shares: definitions, the 50-digit oracle, proving identities.

An object's **definition** is written once, in its family's proof module, from its paper, as a SymPy
function of one *row* (one sample: a row of logits and its target, or one binary logit and its label).
The row function sees the row through a *view*, so the same code produces three things:

* with a :class:`GenericRow` (symbolic class count ``C``, ``z_j``, ``p_j``, ``y``), the formula a reader sees:
  ``sympy.latex`` of it is the registered ``formula`` (a test compares them);
* with a :class:`Row` of concrete symbols, the expressions that the symbolic proofs differentiate and
  compare with the closed-form gradient that the registry entry's gradient implements;
* with a :class:`Row` of the symbols of an actual input (``-inf`` entries as ``-oo``), the oracle: value
  and derivative evaluated with mpmath at the very float64 inputs, with as many digits as the definition
  needs to deliver 50 correct ones (:func:`reference`).

A definition is registered with :func:`define`; the registry entry of the same name finds it through its
``proof`` field (``proofs/check_<family>.py::<name>``), so no central file lists objects.
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import mpmath
import numpy as np
import sympy as sp

DPS = 50  # correct digits the oracle delivers: ~34 more than float64, so its own error is invisible
ZERO_TOL = 1e-40  # what "zero" means for an identity evaluated numerically at 50 digits
SEED = 20240607

# -- views of one row --------------------------------------------------------------------------------


class Row:
    """One concrete row of logits ``z`` (SymPy symbols, numbers, or ``-oo`` for a masked class).

    ``y`` is the target class (an int) or ``None``; ``extra`` holds per-class arrays of the same row
    (weights, probability targets) as lists. Masked classes have ``p_j = 0`` and ``log p_j = -oo``;
    :meth:`sum` applies the convention 0 log 0 = 0 (a term that SymPy evaluates to NaN, which only
    ``0 * -oo`` produces, is dropped).
    """

    def __init__(self, z, y=None, **extra):
        self._z = list(z)
        self.y = y
        self.C = len(self._z)
        self.classes = range(self.C)
        self._denominator = sp.Add(*[sp.exp(v) for v in self._z])
        self.extra = extra

    def z(self, j):
        return self._z[j]

    def lse(self):
        return sp.log(self._denominator)

    def p(self, j):
        return sp.exp(self._z[j]) / self._denominator

    def log_p(self, j):
        return self._z[j] - sp.log(self._denominator) if self._z[j] != -sp.oo else -sp.oo

    def sum(self, term: Callable):
        return sp.Add(*[t for t in (sp.sympify(term(j)) for j in self.classes) if t is not sp.nan])

    def delta(self, i, j):
        return sp.S.One if i == j else sp.S.Zero

    def __getattr__(self, name):  # per-class arrays: row.w(j), row.t(j)
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return lambda j: extra[name][j]
        raise AttributeError(name)


class GenericRow:
    """The row a reader sees: ``C`` classes, logits ``z_j``, probabilities ``p_j``, target ``y``."""

    def __init__(self, *extra: str, y: bool = True):
        self.C = sp.Symbol("C", positive=True, integer=True)
        self.y = sp.Symbol("y", integer=True) if y else None
        self._z, self._p = sp.IndexedBase("z"), sp.IndexedBase("p")
        self._extra = {name: sp.IndexedBase(name) for name in extra}

    def z(self, j):
        return self._z[j]

    def lse(self):
        c = sp.Symbol("c", integer=True)
        return sp.log(sp.Sum(sp.exp(self._z[c]), (c, 1, self.C)))

    def p(self, j):
        return self._p[j]

    def log_p(self, j):
        return sp.log(self._p[j])

    def sum(self, term: Callable):
        c = sp.Symbol("c", integer=True)
        return sp.Sum(term(c), (c, 1, self.C))

    def delta(self, i, j):
        return sp.KroneckerDelta(i, j)

    def __getattr__(self, name):
        extra = self.__dict__.get("_extra", {})
        if name in extra:
            return lambda j: extra[name][j]
        raise AttributeError(name)


class BinaryRow:
    """One element of an elementwise binary loss: logit ``x`` and label ``y`` (and weights).

    ``generic=True`` is the element a reader sees: ``sigma(x)`` stays the named function.
    """

    def __init__(self, x, y, generic: bool = False, **extra):
        self.x, self.y, self.generic, self.extra = x, y, generic, extra

    def sigma(self, v):
        return sp.Function("sigma")(v) if self.generic else sigmoid(v)

    def __getattr__(self, name):
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(name)


def sigmoid(x):
    return 1 / (1 + sp.exp(-x))


# -- definitions ---------------------------------------------------------------------------------------


@dataclass
class Definition:
    """One object's definition. ``build(case)`` maps a symbolic case (see :func:`symbolize`) to the object
    array of its outputs, reduction included; ``formula()`` and ``gradient_formula()`` give the SymPy
    expressions a reader sees; ``prove()`` runs the symbolic proofs (closed form = derivative, identities,
    limits) and raises ``AssertionError`` on failure."""

    name: str
    build: Callable[[dict], np.ndarray]
    formula: Callable[[], sp.Expr]
    gradient_formula: Callable[[], sp.Expr | None]
    prove: Callable[[], None]
    #: For an object computed through an intermediate array that every implementation rounds (a linear
    #: head's logits): ``case -> {name: exact values}``, whose tiniest entry sets the oracle's starting
    #: precision as an input's would, and ``(case, dps) -> (value scale, {input: gradient scale})``, added
    #: to its condition scales (see :func:`intermediate_scales` and ``refloss.tolerance``).
    intermediate_values: Callable[[dict], dict] | None = None
    intermediate_scales: Callable[[dict, int], tuple] | None = None


DEFINITIONS: dict[str, Definition] = {}


def define(name: str, *, build, formula, gradient_formula, prove, intermediate_values=None,
           intermediate_scales=None) -> Definition:
    """Register the definition of the object ``name`` (called once, in its family's proof module)."""
    if name in DEFINITIONS:
        raise ValueError(f"{name} is defined twice")
    DEFINITIONS[name] = Definition(name, build, formula, gradient_formula, prove, intermediate_values,
                                   intermediate_scales)
    return DEFINITIONS[name]


def proof_module(entry):
    """Import the family proof module an entry names (``proofs/check_<family>.py::<name>``)."""
    rel = entry.proof.split("::")[0]
    stem = rel.removeprefix("proofs/").removesuffix(".py")
    return importlib.import_module(f"{__package__}.{stem}")


def definition_of(entry) -> Definition:
    """The definition registered for ``entry`` by its family's proof module."""
    proof_module(entry)
    try:
        return DEFINITIONS[entry.name]
    except KeyError:
        raise AssertionError(f"{entry.proof.split('::')[0]} defines no {entry.name!r}") from None


def ell(expr, lhs: str = "ell") -> sp.Expr:
    """``lhs = expr`` (default ``ell``), the displayed form of a definition."""
    return sp.Eq(sp.Symbol(lhs), expr, evaluate=False)


def partial(expr, wrt: str = "z_{j}", of: str = r"\ell") -> sp.Expr:
    """``d(of)/d(wrt) = expr``, the displayed form of a closed-form gradient."""
    return sp.Eq(sp.Symbol(rf"\frac{{\partial {of}}}{{\partial {wrt}}}"), expr, evaluate=False)


def latex(expr) -> str:
    return sp.latex(expr)


# -- symbolic cases --------------------------------------------------------------------------------------


def _is_float_array(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype.kind == "f"


def symbolize(case: dict, wrt: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """Replace every floating-point input of ``case`` by SymPy symbols; return (symbolic case, point).

    Float arrays become object arrays of symbols named ``arg[i,j]`` (``-inf`` entries become the constant
    ``-oo``), float scalars become one symbol; integers, strings and ``None`` stay as they are. ``point``
    maps each symbol to its float64 value, which mpmath represents exactly. Inputs that are exactly 0 and
    not differentiated (a smoothing of 0, a zero target probability) become the constant 0, so that
    0 * log 0 = 0 is decided when the expression is built; this changes neither the value nor the
    condition scale, to which an input contributes ``|x| |d out / d x| = 0``.
    """
    sym, point = {}, {}
    for name, value in case.items():
        if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
            s = sp.Symbol(name, real=True)
            if value == 0 and name not in wrt:
                sym[name] = sp.S.Zero
            else:
                sym[name], point[s] = s, float(value)
        elif _is_float_array(value) or (isinstance(value, list) and np.asarray(value).dtype.kind == "f"):
            arr = np.asarray(value, dtype=np.float64)
            out = np.empty(arr.shape, dtype=object)
            for index in np.ndindex(*arr.shape):
                if arr[index] == -math.inf:
                    out[index] = -sp.oo
                elif arr[index] == 0 and name not in wrt:
                    out[index] = sp.S.Zero
                else:
                    s = sp.Symbol(f"{name}[{','.join(map(str, index))}]", real=True)
                    out[index], point[s] = s, float(arr[index])
            sym[name] = out
        else:
            sym[name] = value
    return sym, point


def rows(case: dict, row_fn: Callable, *, logits: str = "logits", target: str | None = "target",
         per_class: tuple[str, ...] = (), params: tuple[str, ...] = ()) -> np.ndarray:
    """Apply ``row_fn(Row, **params)`` to every row of ``case[logits]``: the losses, shape ``batch``."""
    z = case[logits]
    batch = z.shape[:-1]
    out = np.empty(batch, dtype=object)
    for index in np.ndindex(*batch):
        y = None if target is None else int(np.asarray(case[target])[index])
        extra = {name: list(np.broadcast_to(case[name], z.shape)[index]) for name in per_class
                 if case.get(name) is not None}
        out[index] = row_fn(Row(z[index], y, **extra), **{p: case[p] for p in params})
    return out


def elementwise(case: dict, element_fn: Callable, *, arrays: tuple[str, ...] = (),
                params: tuple[str, ...] = ()) -> np.ndarray:
    """Apply ``element_fn(BinaryRow, **params)`` to every element of ``case["logits"]``."""
    x = case["logits"]
    y = np.broadcast_to(case["target"], x.shape)
    extra = {name: np.broadcast_to(case[name], x.shape) for name in arrays if case.get(name) is not None}
    out = np.empty(x.shape, dtype=object)
    for index in np.ndindex(*x.shape):
        out[index] = element_fn(BinaryRow(x[index], y[index], **{k: v[index] for k, v in extra.items()}),
                                **{p: case[p] for p in params})
    return out


def reduce(losses: np.ndarray, reduction: str, denominator=None) -> np.ndarray:
    """The reduced output as an object array: the losses ("none"), their sum, or sum / denominator
    (default: the number of losses)."""
    if reduction == "none":
        return losses
    total = sp.Add(*losses.flat)
    if reduction == "mean":
        total = total / (losses.size if denominator is None else denominator)
    out = np.empty((), dtype=object)
    out[()] = total
    return out


# -- the oracle ------------------------------------------------------------------------------------------


@dataclass
class Reference:
    """The oracle's answer for one case: 50-digit value and gradients with their condition scales.

    ``value``/``value_scale`` have the output's shape; ``grads``/``grad_scales`` map each differentiable
    input to arrays of its shape (or of the Jacobian's). Entries are mpmath numbers; ``float64(...)`` rounds.
    ``grads`` is empty when the value is infinite (the gradient is then undefined).
    """

    value: np.ndarray
    value_scale: np.ndarray
    grads: dict
    grad_scales: dict
    dps: int


def _derivative(outputs: list, variables: np.ndarray, cache: dict) -> np.ndarray:
    """d(sum of outputs)/dv for every entry v of ``variables`` (0 where v is a constant such as -oo)."""
    out = np.empty(variables.shape, dtype=object)
    for index in np.ndindex(*variables.shape):
        v = variables[index]
        terms = []
        if isinstance(v, sp.Symbol):
            for e in outputs:
                if v in e.free_symbols:
                    key = (e, v)
                    if key not in cache:
                        cache[key] = sp.diff(e, v)
                    terms.append(cache[key])
        out[index] = sp.Add(*terms)
    return out


def _jacobian(values: np.ndarray, variables: np.ndarray, cache: dict) -> np.ndarray:
    """J[..., i, j] = d values[..., i] / d variables[..., j], row by row (constant outputs: 0)."""
    out = np.empty(values.shape + values.shape[-1:], dtype=object)
    for index in np.ndindex(*values.shape[:-1]):
        for i in range(values.shape[-1]):
            out[index + (i,)] = _derivative([values[index + (i,)]], variables[index], cache)
    return out


def _real(v):
    """An mpf, or NaN for a complex result (a perturbed label outside [0, 1] under a fractional power)."""
    if isinstance(v, mpmath.mpc):
        return v.real if v.imag == 0 else mpmath.mpf("nan")
    return mpmath.mpf(v) if not isinstance(v, mpmath.mpf) else +v


def _evaluate(f, args: list, dps: int) -> list:
    with mpmath.workdps(dps):
        return [_real(v) for v in f(*(mpmath.mpf(a) for a in args))]


def _scales(f, args: list, dps: int, centre: list, varied: list[bool]) -> list:
    """s_k = sum_i |x_i| |d out_k / d x_i| over the inputs marked ``varied``, by central differences in relative
    steps of 10^(-dps/3), which balance the step's truncation against the working precision (about dps/3
    correct digits either way); one-sided where a step leaves the function's domain (a label of 1 + h)."""
    scales = [mpmath.mpf(0)] * len(centre)
    with mpmath.workdps(dps):
        step = mpmath.mpf(10) ** (-(dps // 3))
        for i, x in enumerate(args):
            if x == 0 or not varied[i]:
                continue
            up, down = list(args), list(args)
            up[i] = mpmath.mpf(x) * (1 + step)
            down[i] = mpmath.mpf(x) * (1 - step)
            hi, lo = _evaluate(f, up, dps), _evaluate(f, down, dps)
            for k, c in enumerate(centre):
                if mpmath.isfinite(hi[k]) and mpmath.isfinite(lo[k]):
                    scales[k] += abs(hi[k] - lo[k]) / (2 * step)
                elif mpmath.isfinite(c) and (mpmath.isfinite(hi[k]) or mpmath.isfinite(lo[k])):
                    side = hi[k] if mpmath.isfinite(hi[k]) else lo[k]
                    scales[k] += abs(side - c) / step
    return scales


#: Below this magnitude a value rounds to 0 in float64 (whose smallest number is 4.9e-324), so the oracle
#: need not resolve it: two evaluations that both fall below it agree, and the result is 0.
UNRESOLVED = mpmath.mpf("1e-330")


def intermediate_scales(outputs_of, values: dict, dps: int, blocks=None):
    r"""The condition of an object through intermediate arrays that every implementation rounds.

    ``values`` maps names to object arrays of the intermediates' exact values (mpmath numbers);
    ``outputs_of(arrays)`` builds the object's outputs from object arrays of the same shapes. Returns
    ``(output_scale, grad_scales)``: the outputs' scale under relative perturbations of every intermediate
    entry, :math:`\sum_i |x_i|\,|\partial\,\mathrm{out}/\partial x_i|`, and for each name the same scale of
    every entry of the gradient of the outputs' sum w.r.t. that intermediate (as :func:`_scales`, at ``dps``
    digits). ``blocks`` (default: one of every entry), a list of ``{name: boolean mask}``, varies the entries
    of one block at a time with the others fixed at their values; the gradient w.r.t. an entry must not
    depend on the entries of other blocks (the rows of a head's logits), and then the result is the same."""
    blocks = [{name: np.ones(v.shape, dtype=bool) for name, v in values.items()}] if blocks is None else blocks
    output_scale, grad_scales = None, {name: np.zeros(v.shape, dtype=object) for name, v in values.items()}
    for block in blocks:
        arrays, varied = {}, []
        for name, v in values.items():
            arrays[name] = np.empty(v.shape, dtype=object)
            for index in np.ndindex(*v.shape):
                if block[name][index]:
                    arrays[name][index] = sp.Symbol(f"x{name}_{'_'.join(map(str, index))}")
                    varied.append((name, index))
                else:
                    arrays[name][index] = sp.Float(v[index], dps)
        outputs = np.asarray(outputs_of(arrays), dtype=object)
        total = sp.Add(*outputs.flat)
        symbols = [arrays[name][index] for name, index in varied]
        f = sp.lambdify(symbols, list(outputs.flat) + [sp.diff(total, x) for x in symbols], modules="mpmath",
                        cse=True)
        args = [values[name][index] for name, index in varied]
        scale = _scales(f, args, dps, _evaluate(f, args, dps), [True] * len(args))
        part = np.array(scale[:outputs.size], dtype=object).reshape(outputs.shape)
        output_scale = part if output_scale is None else output_scale + part
        for k, (name, index) in enumerate(varied):
            grad_scales[name][index] = scale[outputs.size + k]
    return output_scale, grad_scales


def _agree(a, b, scale, resolution) -> bool:
    """Two evaluations agree to 40 digits of |b| + scale, or both are below what the working precision
    (``resolution``) or float64 (:data:`UNRESOLVED`) can tell from 0."""
    if mpmath.isinf(a) or mpmath.isinf(b) or mpmath.isnan(a) or mpmath.isnan(b):
        return (a == b) or (mpmath.isnan(a) and mpmath.isnan(b))
    return (abs(a - b) <= mpmath.mpf(10) ** (-DPS + 10) * (abs(b) + scale) or abs(a - b) <= resolution
            or max(abs(a), abs(b)) < UNRESOLVED)


def _starting_dps(point: dict, tiny=()) -> int:
    """Digits to start from: exp/log definitions lose about 2|x| / ln 10 digits to a large input (log(e^g /
    (e^g + 1)) at a logit gap g) and log10(1/|x|) to a tiny one ((1 - p^q)/q at q = 1e-300); an evaluation
    that stays in float-like precision would return 0 for both, and agree with itself. ``tiny``: further
    magnitudes (mpmath numbers) that count as inputs on the small side: the intermediates of
    :attr:`Definition.intermediate_values`, such as a logit 1e-250 from inputs of 1e-125."""
    magnitudes = [abs(v) for v in point.values() if v != 0]
    biggest = max(magnitudes, default=0.0)
    smallest = min([mpmath.mpf(x) for x in magnitudes] + [abs(x) for x in tiny if x != 0], default=mpmath.mpf(1))
    # Past ~340 digits below the terms' magnitude nothing is visible in float64 (5e-324 is its smallest
    # number): a loss of more digits than that only decides values that round to 0 or to their neighbour,
    # which the capped precision still gets right. The cap keeps logits of 1e4 or 1.7e308 affordable.
    cap = DPS + 20 + 340 + math.ceil(math.log10(max(biggest, 1.0)))
    lost_to_tiny = max(0, int(-mpmath.log10(smallest)))
    return min(DPS + 20 + int(min(2 * biggest / math.log(10), 1e9)) + lost_to_tiny, cap)


def reference(entry, case: dict) -> Reference:
    """The 50-digit value and gradient(s) of ``entry`` at ``case``, from its definition alone.

    The definition is evaluated as written (no stable rewrite) by mpmath, starting from a working precision
    that covers the digits its exp/log can lose at these inputs and doubling it until two evaluations ten
    digits apart agree to 40 digits of ``|value| + scale``. A result below :data:`UNRESOLVED`, which rounds
    to 0 in float64 (a symmetric gradient component that is exactly 0, or e^-800), comes out as 0.
    Gradients are SymPy's derivatives of the definition, reduction included.
    """
    definition = definition_of(entry)
    # The definition sees every argument, defaults included, as the value function does.
    bound = inspect.signature(entry.fn).bind(**case)
    bound.apply_defaults()
    sym, point = symbolize(dict(bound.arguments), entry.wrt)
    intermediates = {} if definition.intermediate_values is None else \
        definition.intermediate_values(dict(bound.arguments))
    tiny = [x for v in intermediates.values() for x in v.flat]
    values = np.asarray(definition.build(sym), dtype=object)
    if any(e is sp.nan for e in values.flat):
        raise AssertionError(f"{entry.name}: the definition is NaN at this input (a 0 * oo it should resolve)")
    symbols = list(point)
    probe = sp.lambdify(symbols, list(values.flat), modules="mpmath")
    args = list(point.values())
    # The value is infinite (and the gradient undefined) where an output is +oo or an infinite function of
    # the inputs; an output that is the constant -oo is a masked one (log p of a masked class), whose
    # derivative is 0.
    finite = all(mpmath.isfinite(v) or e == -sp.oo
                 for v, e in zip(_evaluate(probe, args, _starting_dps(point, tiny)), values.flat))
    cache: dict = {}
    grads = {}
    if finite and entry.grad is not None:
        for name in entry.wrt:
            if sym[name] is None:  # an optional differentiable input left out (no bias): no gradient
                continue
            if entry.grad_kind == "jacobian":
                grads[name] = _jacobian(values, sym[name], cache)
            else:
                grads[name] = _derivative(list(values.flat), sym[name], cache)
    flat = list(values.flat) + [e for g in grads.values() for e in g.flat]
    f = sp.lambdify(symbols, flat, modules="mpmath", cse=True)  # each exp(z_j) once per evaluation
    # The condition scale varies the array inputs (logits, labels, weights), not the scalar parameters: a
    # user sets epsilon = -1 or gamma = 2 exactly and is owed the answer for that value (see refloss.tolerance).
    varied = ["[" in str(s) for s in symbols]  # symbolize names array entries arg[i,j], scalars arg
    dps = _starting_dps(point, tiny)
    magnitude = max([1.0] + [abs(v) for v in point.values()])
    for _ in range(5):
        low = _evaluate(f, args, dps)
        high = _evaluate(f, args, dps + 10)
        scale = _scales(f, args, dps + 10, high, varied)
        # what the working precision resolves next to terms as large as the inputs: below it, a difference
        # of such terms is noise (the exact 0 of a symmetric gradient component comes out as 1e-90)
        resolution = mpmath.mpf(10) ** (-(dps - 15)) * magnitude
        if all(_agree(a, b, s, resolution) for a, b, s in zip(low, high, scale)):
            break
        dps *= 2
    else:
        raise AssertionError(f"{entry.name}: the definition did not converge up to {dps} digits")

    def settled(a, b):
        if mpmath.isinf(b) or mpmath.isnan(b):
            return b
        if abs(b) < UNRESOLVED or (abs(b) <= resolution and abs(a - b) > abs(b) * mpmath.mpf("1e-30")):
            return mpmath.mpf(0)
        return b

    result = [settled(a, b) for a, b in zip(low, high)]

    def take(start, shape):
        arr = np.empty(shape, dtype=object)
        for k, index in enumerate(np.ndindex(*shape)):
            arr[index] = result[start + k]
        sc = np.empty(shape, dtype=object)
        for k, index in enumerate(np.ndindex(*shape)):
            sc[index] = scale[start + k]
        return arr, sc

    value, value_scale = take(0, values.shape)
    start, g, gs = values.size, {}, {}
    for name, expr in grads.items():
        g[name], gs[name] = take(start, expr.shape)
        start += expr.size
    if definition.intermediate_scales is not None and finite:
        extra_value, extra = definition.intermediate_scales(dict(bound.arguments), dps + 10)
        value_scale = value_scale + extra_value
        gs = {name: s + extra[name] for name, s in gs.items()}
    return Reference(value, value_scale, g, gs, dps + 10)


def float64(arr) -> np.ndarray:
    """Round an object array of mpmath numbers to float64."""
    with np.errstate(over="ignore", invalid="ignore"):  # beyond the float64 range is inf; NaN stays NaN
        return np.vectorize(float, otypes=[np.float64])(np.asarray(arr, dtype=object)) if np.size(arr) else \
            np.zeros(np.shape(arr))


# -- symbolic proofs -------------------------------------------------------------------------------------


def symbol_array(name: str, shape: tuple[int, ...], **assumptions) -> np.ndarray:
    """An object array of SymPy symbols ``name_i_j...``, one per entry of an input of that shape."""
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = sp.Symbol("_".join([name, *map(str, index)]), **assumptions)
    return out


def logit_symbols(n: int, name: str = "z"):
    return list(sp.symbols(f"{name}0:{n}", real=True))


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
    """``lhs == rhs`` for every ``(lhs, rhs, label)`` in ``pairs``, numerically: all differences evaluated
    together (one mpmath function, common subexpressions shared) at ``points`` random rational points with
    :data:`DPS` + 10 digits, each within :data:`ZERO_TOL` of 0 relative to the size of its two sides.

    For identities between large expressions, such as a whole model's derivative and its chain-rule form,
    where ``sympy.simplify`` would take minutes and ``evalf`` seconds per identity.
    """
    sides = [(sp.sympify(lhs), sp.sympify(rhs)) for lhs, rhs, _ in pairs]
    free = sorted(set().union(*(a.free_symbols | b.free_symbols for a, b in sides)), key=str)
    f = sp.lambdify(free, [x for pair in sides for x in pair], modules="mpmath", cse=True)
    rng = np.random.default_rng(SEED)
    domains = domains or {}
    for _ in range(points):
        at = [_random_rational(rng, *domains.get(v, _default_domain(v))) for v in free]
        with mpmath.workdps(DPS + 10):
            values = f(*(mpmath.mpf(q.p) / q.q for q in at))
        for k, (_, _, label) in enumerate(pairs):
            lhs, rhs = values[2 * k], values[2 * k + 1]
            if not abs(lhs - rhs) <= ZERO_TOL * max(1, abs(lhs), abs(rhs)):
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
