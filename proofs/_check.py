"""The stored digits checked by a second route: ball arithmetic with forward-mode derivatives.

A golden file's digits were proven by the oracle (:mod:`refloss.proofs._oracle`): SymPy's derivative of the
definition evaluated in ball arithmetic. The default test tier checks them on every run without SymPy's
derivatives, which would cost what the oracle costs: the definition's outputs are evaluated in ball arithmetic
with their derivatives in forward mode (the rules of :mod:`refloss.proofs._arb`), and each stored text must lie
in its enclosure. Outside the oracle's fingerprint: a change here stales no golden file.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from flint import arb, ctx

from ._arb import compile_expressions, contradicts
from ._definitions import definition_of
from ._oracle import DIGITS, OPTION_DEFAULTS, _build, with_defaults
from ._views import symbolize


def check_stored(entry, case: dict, stored: dict, bits: int) -> tuple[list[str], list[str]]:
    """The stored digits of one case that the definition proves wrong, by a route independent of the one that
    stored them: ball arithmetic with the derivatives in forward mode (the rules of :mod:`refloss.proofs._arb`,
    not SymPy's ``diff``), from ``bits`` (the precision that proved them) up to 8 times that where an enclosure
    is still too wide to tell a change of one unit in the last stored digit. ``stored`` maps ``"value"`` and
    each differentiated input to the flat list of stored texts. Returns ``(wrong, unchecked)``: the elements no
    point of whose enclosure rounds to the stored text (``"logits[5]"``), and those whose enclosure stayed too
    wide to tell."""
    definition = definition_of(entry)
    arguments = with_defaults(entry, definition, case)
    axis, where, weights = (arguments.pop(name, OPTION_DEFAULTS[name]) for name in ("axis", "where", "sample_weight"))
    sym, point = symbolize({**arguments, **({} if weights is None else {"sample_weight": weights})}, entry.wrt)
    values, _, _, class_axis = _build(entry, definition, sym, axis, where, arguments)
    symbols = list(point)
    slots = {s: i for i, s in enumerate(symbols)}
    program = compile_expressions(list(values.flat), symbols)
    for _ in range(4):
        enclosures = _enclosures(entry, program, values, sym, slots, list(point.values()), stored, bits, class_axis)
        wrong, unchecked = [], []
        for name, texts in stored.items():
            for k, (x, text) in enumerate(zip(enclosures[name], texts, strict=True)):
                if contradicts(x, text, DIGITS):
                    wrong.append(f"{name}[{k}]")
                elif not _tells_one_unit(x, text):
                    unchecked.append(f"{name}[{k}]")
        if wrong or not unchecked:
            break
        bits *= 2
    return wrong, unchecked


def _tells_one_unit(x: arb, text: str) -> bool:
    """The ball is narrow enough that a stored value one unit away in its last digit would be contradicted (for
    a stored 0: any value float64 can hold)."""
    if text in ("inf", "-inf", "nan") or x.is_exact():
        return True
    if text == "0.0":
        return x.rad() < arb(2) ** -1075
    return x.rad() < abs(x.mid()) * arb(10) ** -(DIGITS + 1)


def _enclosures(entry, program, values, sym, slots, args, stored, bits, axis) -> dict:
    """Balls of the outputs and of the gradient of each differentiated input, by forward mode at ``bits``
    (``axis``: the class axis, where a Jacobian's input index runs)."""
    balls, tangents = program.evaluate_with_tangents(args, bits, list(range(len(slots))))
    flat_values = np.empty(values.shape, dtype=object)
    flat_tangents = np.empty(values.shape, dtype=object)
    for k, index in enumerate(np.ndindex(*values.shape)):
        flat_values[index], flat_tangents[index] = balls[k], tangents[k]

    def derivative(of: list, v) -> arb:
        if not isinstance(v, sp.Symbol):
            return arb(0)
        with ctx.workprec(bits):
            return sum((t.get(slots[v], arb(0)) for t in of), arb(0))

    enclosures = {"value": list(flat_values.flat)}
    for name in stored:
        if name == "value":
            continue
        variables = sym[name]
        if entry.grad_kind == "jacobian":  # d out[o] / d x[o with its class coordinate replaced by j]
            enclosures[name] = [derivative([flat_tangents[index[:-1]]],
                                           variables[index[:axis] + index[-1:] + index[axis + 1:-1]])
                                for index in np.ndindex(*values.shape, values.shape[axis])]
        else:
            everything = list(flat_tangents.flat)
            enclosures[name] = [derivative(everything, variables[index]) for index in np.ndindex(*variables.shape)]
    return enclosures
