"""The oracle: an object's definition evaluated in ball arithmetic at the very float64 inputs, every stored digit
proven.

:func:`reference` returns the value, SymPy's derivative of the definition with respect to every differentiable
input, and the condition scale of every element (what sets the unit of :mod:`refloss.tolerance`). It reads the
definition only, never refloss's float64 code or closed forms. The expressions are evaluated on Arb balls
(:mod:`refloss.proofs._arb`), each guaranteed to contain the exact value, and the working precision is raised
until every ball proves its :data:`DIGITS` stored digits (both ends round alike), or settles at an enclosure of
0 that nothing can sharpen, or a cap is reached; an element whose digits are not proven says why
(:attr:`Reference.why`). This module is the oracle engine; refloss reaches it through one entry point,
:mod:`refloss._oracle`.
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import mpmath
import numpy as np
import sympy as sp
from flint import arb, ctx

from refloss._options import DEFAULTS as OPTION_DEFAULTS

from ._arb import UNDEFINED, NoBallRoute, ball, compile_expressions, decimal, to_mpf, upper_mpf
from ._definitions import Definition, definition_of
from ._views import symbolize, weighted

DPS = 50  # correct digits the oracle resolves: ~34 more than float64, so its own error is invisible
DIGITS = 25  # significant digits stored and proven: enough to round to float64 (17) with room to spare
SCALE_DIGITS = 6  # a condition scale sets the unit of the tolerance; it is not a value to match
DOUBLINGS = 5  # the precision cap: the starting precision times 2^5


@dataclasses.dataclass
class Reference:
    """The oracle's answer for one case: proven value and gradients with their condition scales.

    ``value``/``value_scale`` have the output's shape; ``grads``/``grad_scales`` map each differentiable
    input to arrays of its shape (or of the Jacobian's). Entries are mpmath numbers (the balls' midpoints);
    ``float64(...)`` rounds. ``text`` maps ``"value"`` and each input name to the stored decimal digits of
    every element, ``why`` to ``None`` where those digits are proven and otherwise the reason they are not.
    ``grads`` is empty when the value is infinite or the definition says the gradient does not exist there
    (:attr:`Definition.gradient_undefined`). ``bits``: the working
    precision that proved them.
    """

    value: np.ndarray
    value_scale: np.ndarray
    grads: dict
    grad_scales: dict
    bits: int
    text: dict
    why: dict

    def uncertified(self) -> dict:
        """{field: {flat index (a string): reason}} of every element whose digits are not proven."""
        out = {field: {str(k): why for k, why in enumerate(whys.flat) if why is not None}
               for field, whys in self.why.items()}
        return {field: reasons for field, reasons in out.items() if reasons}

    def counts(self) -> tuple[int, int]:
        """(certified, uncertified) over the value's and the gradients' elements."""
        flags = [w is None for arr in self.why.values() for w in arr.flat]
        return sum(flags), len(flags) - sum(flags)


def _derivative(outputs: list, variables: np.ndarray, cache: dict) -> np.ndarray:
    """d(sum of outputs)/dv for every entry v of ``variables`` (0 where v is a constant such as -oo). A piecewise
    constant output (a sign) has derivative 0 wherever it has one: SymPy's DiracDelta, which is 0 away from the
    jump, is taken as 0 (at the jump itself the object states its own rule: logsumexp's value is -inf there)."""
    out = np.empty(variables.shape, dtype=object)
    for index in np.ndindex(*variables.shape):
        v = variables[index]
        terms = []
        if isinstance(v, sp.Symbol):
            for e in outputs:
                if v in e.free_symbols:
                    key = (e, v)
                    if key not in cache:
                        cache[key] = sp.diff(e, v).replace(sp.DiracDelta, lambda *_: sp.S.Zero)
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


def bits_for(dps: int) -> int:
    """Working bits for ``dps`` decimal digits."""
    return math.ceil(dps * math.log2(10)) + 8


def _scales(program, args: list, bits: int, centre: list, varied: list[bool]) -> list:
    """s_k = sum_i |x_i| |d out_k / d x_i| over the inputs marked ``varied``, estimated by central differences
    in relative steps of 2^(-bits/3), which balance the step's truncation against the working precision
    (about a third of its digits either way), each quotient's ball bounded above; one-sided where a step
    leaves the function's domain (a label of 1 + h). An estimate good to ~bits/3 bits, not a proof: a scale
    sets the tolerance's unit, it is not a stored digit."""
    scales = [mpmath.mpf(0)] * len(centre)
    with ctx.workprec(bits):
        h = arb(2) ** -(bits // 3)
        for i, x in enumerate(args):
            if x == 0 or not varied[i]:
                continue
            up, down = list(args), list(args)
            up[i], down[i] = ball(x) * (1 + h), ball(x) * (1 - h)
            hi, lo = program.evaluate(up, bits), program.evaluate(down, bits)
            for k, c in enumerate(centre):
                if hi[k].is_finite() and lo[k].is_finite():
                    scales[k] += upper_mpf((hi[k] - lo[k]) / 2 / h)
                elif c.is_finite() and (hi[k].is_finite() or lo[k].is_finite()):
                    side = hi[k] if hi[k].is_finite() else lo[k]
                    scales[k] += upper_mpf((side - c) / h)
    return scales


def intermediate_scales(outputs_of, values: dict, bits: int, blocks=None):
    r"""The condition of an object through intermediate arrays that every implementation rounds.

    ``values`` maps names to object arrays of the intermediates' exact values (balls or mpmath numbers);
    ``outputs_of(arrays)`` builds the object's outputs from object arrays of the same shapes. Returns
    ``(output_scale, grad_scales)``: the outputs' scale under relative perturbations of every intermediate
    entry, :math:`\sum_i |x_i|\,|\partial\,\mathrm{out}/\partial x_i|`, and for each name the same scale of
    every entry of the gradient of the outputs' sum w.r.t. that intermediate (as :func:`_scales`, at ``bits``).
    ``blocks`` (default: one of every entry), a list of ``{name: boolean mask}``, varies the entries of one
    block at a time with the others fixed at their values; the gradient w.r.t. an entry must not depend on the
    entries of other blocks (the rows of a head's logits), and then the result is the same."""
    blocks = [{name: np.ones(v.shape, dtype=bool) for name, v in values.items()}] if blocks is None else blocks
    output_scale, grad_scales = None, {name: np.zeros(v.shape, dtype=object) for name, v in values.items()}
    for block in blocks:
        arrays, varied, fixed = {}, [], []
        for name, v in values.items():
            arrays[name] = np.empty(v.shape, dtype=object)
            for index in np.ndindex(*v.shape):
                symbol = sp.Symbol(f"x{name}_{'_'.join(map(str, index))}")
                arrays[name][index] = symbol
                (varied if block[name][index] else fixed).append((name, index, symbol))
        outputs = np.asarray(outputs_of(arrays), dtype=object)
        total = sp.Add(*outputs.flat)
        moving = [symbol for _, _, symbol in varied]
        program = compile_expressions(list(outputs.flat) + [sp.diff(total, x) for x in moving],
                                      moving + [symbol for _, _, symbol in fixed])
        args = [values[name][index] for name, index, _ in varied + fixed]
        scale = _scales(program, args, bits, program.evaluate(args, bits), [True] * len(varied) + [False] * len(fixed))
        part = np.array(scale[:outputs.size], dtype=object).reshape(outputs.shape)
        output_scale = part if output_scale is None else output_scale + part
        for k, (name, index, _) in enumerate(varied):
            grad_scales[name][index] = scale[outputs.size + k]
    return output_scale, grad_scales


def _starting_dps(sizes: list, tiny=()) -> int:
    """Digits to start from: exp/log definitions lose about 2|x| / ln 10 digits to a large input (log(e^g /
    (e^g + 1)) at a logit gap g) and log10(1/|x|) to a tiny one ((1 - p^q)/q at q = 1e-300); an evaluation
    that stays in float-like precision would return 0 for both, and agree with itself. ``tiny``: further
    magnitudes (mpmath numbers) that count as inputs on the small side: the intermediates of
    :attr:`Definition.intermediate_values`, such as a logit 1e-250 from inputs of 1e-125. ``sizes``: the
    float inputs, the scalar parameters among them (exact constants in the expressions, q = 5e-324 too)."""
    magnitudes = [abs(v) for v in sizes if v != 0]
    biggest = max(magnitudes, default=0.0)
    smallest = min([mpmath.mpf(x) for x in magnitudes] + [abs(x) for x in tiny if x != 0], default=mpmath.mpf(1))
    # Past ~340 digits below the terms' magnitude nothing is visible in float64 (5e-324 is its smallest
    # number): a loss of more digits than that only decides values that round to 0 or to their neighbour,
    # which the capped precision still gets right. The cap keeps logits of 1e4 or 1.7e308 affordable.
    cap = DPS + 20 + 340 + math.ceil(math.log10(max(biggest, 1.0)))
    lost_to_tiny = max(0, int(-mpmath.log10(smallest)))
    return min(DPS + 20 + int(min(2 * biggest / math.log(10), 1e9)) + lost_to_tiny, cap)


def with_defaults(entry, definition: Definition, case: dict) -> dict:
    """Every argument of the value function: the case's, and the definition's defaults for the rest (not the
    signature's, which are what a default stress point checks)."""
    signature = inspect.signature(entry.fn).parameters
    defaults = {**OPTION_DEFAULTS, **definition.defaults}  # the options' defaults are the project's, not a paper's
    unknown = set(case) - set(signature)
    if unknown:
        raise TypeError(f"{entry.name}: no parameter named {', '.join(sorted(unknown))}")
    missing = [n for n in signature if n not in case and n not in defaults]
    if missing:
        raise AssertionError(f"{entry.name}: the case gives no {', '.join(missing)} and the definition states "
                             "no default for it (define(..., defaults=...))")
    return {n: case[n] if n in case else defaults[n] for n in signature}


def _build(entry, definition: Definition, sym: dict, axis: int, where=None, arguments=None):
    """The definition's outputs at the symbolic case, with the options applied as :mod:`refloss._options` applies
    them: the class axis moved last before the build (and a vector output's back after it), the classes ``where``
    leaves out made absent (and a loss's rows with no class left out of it), and the per-element losses weighted by
    ``sample_weight``. Returns (outputs, outputs with the class axis last, the moved case, the class axis as an
    index)."""
    from refloss import _options

    case = {k: v for k, v in sym.items() if k != "sample_weight"}
    weights = sym.get("sample_weight")
    first = next(iter(case))
    ndim = np.ndim(case[first])
    where_axis = axis % ndim if ndim else -1
    moved = _options.move_class_axis(case, entry.class_axis, where_axis, first) \
        if ndim and where_axis != ndim - 1 else case
    restricted = None
    if where is not None:
        mask = np.asarray(where)
        if mask.ndim == ndim and where_axis != ndim - 1:
            mask = np.moveaxis(mask, where_axis, -1)
        mask = _options.class_mask(mask, np.shape(moved[first]))
        moved = _options.leave_out(moved, entry.class_axis, mask, first, -sp.oo, sp.S.Zero)
        if "reduction" in case:
            restricted = _options.kept_rows(moved, entry.row_arrays(), mask, weights)
            if restricted is not None:
                moved, weights = restricted[0], restricted[1]
    if weights is not None:
        losses = np.asarray(definition.build({**moved, "reduction": "none"}), dtype=object)
        values = weighted(losses, weights, case["reduction"])
    elif definition.exact_inputs:
        exact = {name: np.asarray(arguments[name], dtype=np.float64) for name in definition.exact_inputs}
        values = np.asarray(definition.build(moved, exact), dtype=object)
    else:
        values = np.asarray(definition.build(moved), dtype=object)
    if restricted is not None and values.ndim:  # "none": the rows left out are 0
        flat, batch = restricted[2], restricted[3]
        full = np.full(flat.size, sp.S.Zero, dtype=object)
        full[flat] = list(values.reshape(-1))
        values = full.reshape(batch)
    if entry.grad_kind == "jacobian" and moved is not case and where_axis != ndim - 1:
        return np.moveaxis(values, -1, where_axis), values, moved, where_axis
    return values, values, moved, where_axis


def _exact_zero(expr, point: dict) -> bool:
    """The expression is exactly 0 at the exact inputs: SymPy's evaluation decides it (a tie's symmetric terms
    cancel), or the numerator of the expression over one denominator expands to 0, exponentials of rationals
    multiplied out (sum_j q_j - 1). Either is a proof, and neither is complete. The second runs where every
    input is a rational of at most 128 bits above and below (not 1.7e308 or 1e-300, whose expansions grow past
    reach) and no float constant makes its coefficients inexact (1 + 1e-30 would be 1)."""
    rationals = {s: sp.Rational(*v.as_integer_ratio()) for s, v in point.items()}
    exact = expr.xreplace(rationals)
    if exact == 0:
        return True
    modest = all(abs(r.p).bit_length() <= 128 and r.q.bit_length() <= 128 for r in rationals.values())
    return modest and not exact.has(sp.Float) and sp.expand(sp.numer(sp.together(exact))) == 0


def _settle(x: arb, exact_zero, last: bool) -> tuple[str, str | None, bool]:
    """(text, why, done) for one output's ball: its proven digits (why None), or a zero that is exact by
    construction (``exact_zero()``); ``done`` False where more precision may prove it; ``last``: at the cap,
    the reason it was not."""
    text, proven = decimal(x, DIGITS)
    if proven:
        return text, None, True
    zero = x.is_finite() and x.contains(0)
    if zero and exact_zero():
        return "0.0", None, True
    if not last:
        return text, None, False
    if zero:
        radius = decimal(x.rad(), 2)[0]
        float64_zero = "; |x| < 2^-1075, so 0 is its float64 rounding" if x.rad() < arb(2) ** -1075 else ""
        return "0.0", f"its enclosure [0 +/- {radius}] at {ctx.prec} bits holds 0{float64_zero}", True
    if x.is_nan():
        return text, "the definition leaves the reals here (NaN)", True
    return text, f"not resolved to {DIGITS} digits at {ctx.prec} bits (the precision cap)", True


def reference(entry, case: dict) -> Reference:
    """The proven value and gradient(s) of ``entry`` at ``case``, from its definition alone.

    The definition is evaluated as written (no stable rewrite) in ball arithmetic, starting from a working
    precision that covers the digits its exp/log can lose at these inputs and doubling it (at most
    :data:`DOUBLINGS` times) until every element is settled by :func:`_settle`. Gradients are SymPy's
    derivatives of the definition, reduction included. A function with no Arb route in
    :mod:`refloss.proofs._arb` is an error that names it (Arb has the special functions the definitions use).
    """
    definition = definition_of(entry)
    arguments = with_defaults(entry, definition, case)
    axis, where, weights = (arguments.pop(name, OPTION_DEFAULTS[name]) for name in ("axis", "where", "sample_weight"))
    sym, point = symbolize({**arguments, **({} if weights is None else {"sample_weight": weights})}, entry.wrt)
    # the inputs' magnitudes set the starting precision: the array entries (symbols) and the scalar parameters,
    # which enter the expressions as exact constants
    sizes = list(point.values()) + [float(v) for name, v in arguments.items() if name not in entry.wrt
                                    and isinstance(v, (float, np.floating)) and math.isfinite(v)]
    intermediates = {} if definition.intermediate_values is None else definition.intermediate_values(arguments)
    tiny = [to_mpf(ball(x)) for v in intermediates.values() for x in v.flat]
    values, last_axis_values, moved, class_axis = _build(entry, definition, sym, axis, where, arguments)
    if any(e is sp.nan for e in values.flat):
        raise AssertionError(f"{entry.name}: the definition is NaN at this input (a 0 * oo it should resolve)")
    symbols, args = list(point), list(point.values())
    bits = bits_for(_starting_dps(sizes, tiny))
    try:
        probe = compile_expressions(list(values.flat), symbols).evaluate(args, bits)
    except NoBallRoute as exc:
        raise AssertionError(f"{entry.name}: {exc}; add it to proofs/_arb.py") from None
    # The value is infinite (and the gradient undefined) where an output is +oo or an infinite function of
    # the inputs; an output that is the constant -oo is a masked one (log p of a masked class), whose
    # derivative is 0, and one that is UNDEFINED (a mean over zero weight) has the gradient 0 too.
    finite = all(v.is_finite() or e == -sp.oo or e == UNDEFINED for v, e in zip(probe, values.flat))
    cache: dict = {}
    grads = {}
    undefined = definition.gradient_undefined is not None and definition.gradient_undefined(arguments)
    if finite and entry.grad is not None and not undefined:
        for name in entry.wrt:
            if sym[name] is None:  # an optional differentiable input left out (no bias): no gradient
                continue
            if entry.grad_kind == "jacobian":  # row by row with the class axis last, then the output index to axis
                grads[name] = np.moveaxis(_jacobian(last_axis_values, moved[name], cache), -2, class_axis)
            else:
                grads[name] = _derivative(list(values.flat), sym[name], cache)
    flat = list(values.flat) + [e for g in grads.values() for e in g.flat]
    program = compile_expressions(flat, symbols)
    # The condition scale varies the array inputs (logits, labels, weights), not the scalar parameters: a
    # user sets epsilon = -1 or gamma = 2 exactly and is owed the answer for that value (see refloss.tolerance).
    varied = ["[" in str(s) for s in symbols]  # symbolize names array entries arg[i,j], scalars arg
    # A ball that holds 0 may be a tiny value (e^-800) or an exact zero that SymPy's simplification does not
    # see (a symmetric gradient component): the precision is raised for it up to the cap, and the condition
    # scales are computed once, at the first precision that proves every other element.
    zeros: dict = {}
    scale = None
    for doubling in range(DOUBLINGS + 1):
        with ctx.workprec(bits):
            balls = program.evaluate(args, bits)
            settled = [("nan", None, True) if flat[k] == UNDEFINED else
                       _settle(x, lambda k=k: zeros.setdefault(k, _exact_zero(flat[k], point)), doubling == DOUBLINGS)
                       for k, x in enumerate(balls)]
            pending = [x for x, (_, _, done) in zip(balls, settled) if not done]
            if scale is None and all(x.contains(0) for x in pending):
                scale = _scales(program, args, bits, balls, varied)
        if not pending:
            break
        bits *= 2

    def take(start, shape):
        arrays = [np.empty(shape, dtype=object) for _ in range(4)]
        for k, index in enumerate(np.ndindex(*shape)):
            text, why, _ = settled[start + k]
            exact = balls[start + k]
            arrays[0][index] = mpmath.mpf(0) if text == "0.0" else to_mpf(exact)
            arrays[1][index] = scale[start + k]
            arrays[2][index], arrays[3][index] = text, why
        return arrays

    value, value_scale, value_text, value_why = take(0, values.shape)
    text, why = {"value": value_text}, {"value": value_why}
    start, g, gs = values.size, {}, {}
    for name, expr in grads.items():
        g[name], gs[name], text[name], why[name] = take(start, expr.shape)
        start += expr.size
    if definition.intermediate_scales is not None and finite:
        extra_value, extra = definition.intermediate_scales(arguments, bits)
        value_scale = value_scale + extra_value
        gs = {name: s + extra[name] for name, s in gs.items()}
    return Reference(value, value_scale, g, gs, bits, text, why)


def float64(arr) -> np.ndarray:
    """Round an object array of mpmath numbers to float64."""
    with np.errstate(over="ignore", invalid="ignore"):  # beyond the float64 range is inf; NaN stays NaN
        return np.vectorize(float, otypes=[np.float64])(np.asarray(arr, dtype=object)) if np.size(arr) else \
            np.zeros(np.shape(arr))


def decimal_text(x, digits: int) -> str:
    """An mpmath number (a condition scale) rounded to ``digits`` significant digits."""
    return decimal(ball(x), digits)[0]
