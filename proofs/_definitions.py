"""Definitions: one per object, registered with :func:`define` by its family's proof module, found by name.

A :class:`Definition` holds what its paper fixes: how a case's outputs are built (reduction included), the
displayed formula and gradient, the symbolic proofs, the paper's defaults of every keyword parameter, and
(for objects computed through a rounded intermediate array) what the oracle's condition scale needs. The
registry entry of the same name finds it through its ``proof`` field (``proofs/<family>/<name>.py::<name>``),
so no central file lists objects.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp


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
    #: The source's defaults of every keyword parameter (the paper's, or the convention it follows): the
    #: oracle fills an argument a case leaves out from here, never from the function's signature, so a wrong
    #: default in refloss's code is caught at the stress point that relies on the defaults.
    defaults: dict = dataclasses.field(default_factory=dict)
    #: For an object computed through an intermediate array that every implementation rounds (a linear
    #: head's logits): ``case -> {name: exact values}``, whose tiniest entry sets the oracle's starting
    #: precision as an input's would, and ``(case, dps) -> (value scale, {input: gradient scale})``, added
    #: to its condition scales (see :func:`intermediate_scales` and ``refloss.tolerance``).
    intermediate_values: Callable[[dict], dict] | None = None
    intermediate_scales: Callable[[dict, int], tuple] | None = None
    #: Array inputs whose float64 values the build needs besides their symbols: a sample-based estimator decides
    #: its neighbours and counts on the exact points. The build is then called as ``build(case, values)``, with
    #: ``values`` mapping each name to its float64 array.
    exact_inputs: tuple = ()
    #: ``arguments -> reason or None``: where the gradient does not exist at a finite value (a probability of 0,
    #: where the derivative of -p log p is infinite), the reason; the oracle then gives no gradient and the
    #: entry's gradient function must refuse, as it does where the value is infinite.
    gradient_undefined: Callable[[dict], str | None] | None = None


DEFINITIONS: dict[str, Definition] = {}


def define(name: str, *, defaults: dict, build, formula, gradient_formula, prove, intermediate_values=None,
           intermediate_scales=None, exact_inputs=(), gradient_undefined=None) -> Definition:
    """Register the definition of the object ``name`` (called once, in its family's proof module).
    ``defaults``: the paper's value of every keyword parameter (``{}`` where there is none)."""
    if name in DEFINITIONS:
        raise ValueError(f"{name} is defined twice")
    DEFINITIONS[name] = Definition(name, build, formula, gradient_formula, prove, dict(defaults),
                                   intermediate_values, intermediate_scales, tuple(exact_inputs),
                                   gradient_undefined)
    return DEFINITIONS[name]


def proof_module(entry):
    """Import the proof module an entry names (``proofs/<family>/<name>.py::<name>``)."""
    rel = entry.proof.split("::")[0]
    stem = rel.removeprefix("proofs/").removesuffix(".py").replace("/", ".")
    return importlib.import_module(f"{__package__}.{stem}")


def definition_of(entry) -> Definition:
    """The definition registered for ``entry`` by its proof module."""
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
