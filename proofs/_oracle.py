"""The oracle: an object's definition evaluated with mpmath at the very float64 inputs, to 50 correct digits.

:func:`reference` returns the value, SymPy's derivative of the definition with respect to every
differentiable input, and the condition scale of every element (what sets the unit of
:mod:`refloss.tolerance`). It reads the definition only, never refloss's float64 code or closed forms. This
module is the oracle engine; refloss reaches it through one entry point, :mod:`refloss._oracle`.
"""

from __future__ import annotations

import dataclasses
import inspect
import math

import mpmath
import numpy as np
import sympy as sp

from ._definitions import Definition, definition_of
from ._views import symbolize

DPS = 50  # correct digits the oracle delivers: ~34 more than float64, so its own error is invisible

@dataclasses.dataclass
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
    unknown = set(case) - set(signature)
    if unknown:
        raise TypeError(f"{entry.name}: no parameter named {', '.join(sorted(unknown))}")
    missing = [n for n in signature if n not in case and n not in definition.defaults]
    if missing:
        raise AssertionError(f"{entry.name}: the case gives no {', '.join(missing)} and the definition states "
                             "no default for it (define(..., defaults=...))")
    return {n: case[n] if n in case else definition.defaults[n] for n in signature}


def reference(entry, case: dict) -> Reference:
    """The 50-digit value and gradient(s) of ``entry`` at ``case``, from its definition alone.

    The definition is evaluated as written (no stable rewrite) by mpmath, starting from a working precision
    that covers the digits its exp/log can lose at these inputs and doubling it until two evaluations ten
    digits apart agree to 40 digits of ``|value| + scale``. A result below :data:`UNRESOLVED`, which rounds
    to 0 in float64 (a symmetric gradient component that is exactly 0, or e^-800), comes out as 0.
    Gradients are SymPy's derivatives of the definition, reduction included.
    """
    definition = definition_of(entry)
    arguments = with_defaults(entry, definition, case)
    sym, point = symbolize(arguments, entry.wrt)
    # the inputs' magnitudes set the starting precision: the array entries (symbols) and the scalar parameters,
    # which enter the expressions as exact constants
    sizes = list(point.values()) + [float(v) for name, v in arguments.items() if name not in entry.wrt
                                    and isinstance(v, (float, np.floating)) and math.isfinite(v)]
    intermediates = {} if definition.intermediate_values is None else definition.intermediate_values(arguments)
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
                 for v, e in zip(_evaluate(probe, args, _starting_dps(sizes, tiny)), values.flat))
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
    dps = _starting_dps(sizes, tiny)
    magnitude = max([1.0] + [abs(v) for v in sizes])
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
        extra_value, extra = definition.intermediate_scales(arguments, dps + 10)
        value_scale = value_scale + extra_value
        gs = {name: s + extra[name] for name, s in gs.items()}
    return Reference(value, value_scale, g, gs, dps + 10)


def float64(arr) -> np.ndarray:
    """Round an object array of mpmath numbers to float64."""
    with np.errstate(over="ignore", invalid="ignore"):  # beyond the float64 range is inf; NaN stays NaN
        return np.vectorize(float, otypes=[np.float64])(np.asarray(arr, dtype=object)) if np.size(arr) else \
            np.zeros(np.shape(arr))
