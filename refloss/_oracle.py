"""The one entry point from refloss to its verification engine (:mod:`refloss.proofs`).

The audit, the testing helpers, the golden data and the conformance judge reach the definitions and the oracle
through these functions only; nothing in the core (numerics, losses, info, the registry) imports the proofs,
and the proofs import nothing of refloss's. The engine needs the ``audit`` extra (SymPy, mpmath, python-flint);
without it, these raise :class:`RefLossError` naming the extra.
"""

from __future__ import annotations

import importlib

import numpy as np

from ._registry import Entry
from ._validate import RefLossError


def _engine(module: str):
    try:
        return importlib.import_module(f"{__package__}.proofs.{module}")
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise RefLossError(f"the oracle needs the 'audit' extra ({exc.name} is missing): "
                           "pip install 'refloss[audit]'") from None


def gradient_components(entry: Entry, grads) -> dict[str, np.ndarray]:
    """``{input name: gradient array}`` from what ``entry.grad`` returned (an array or a NamedTuple); an
    optional input that was left out (``bias=None``) has the gradient ``None`` and no entry here."""
    parts = {name: grads if len(entry.wrt) == 1 else getattr(grads, name) for name in entry.wrt}
    return {name: np.asarray(g, dtype=np.float64) for name, g in parts.items() if g is not None}


def reference(entry: Entry, case: dict):
    """The oracle's :class:`~refloss.proofs._oracle.Reference` for ``case``, from the entry's definition."""
    return _engine("_oracle").reference(entry, case)


def check_stored(entry: Entry, case: dict, stored: dict, bits: int) -> tuple[list[str], list[str]]:
    """The stored digits of a golden case that the definition proves wrong, and how many it cannot check
    (:func:`refloss.proofs._check.check_stored`)."""
    return _engine("_check").check_stored(entry, case, stored, bits)


def decimal_text(x, digits: int) -> str:
    """An oracle number rounded to ``digits`` significant digits, as stored."""
    return _engine("_oracle").decimal_text(x, digits)


def stored_digits() -> tuple[int, int]:
    """(significant digits of a stored value or gradient component, of a stored condition scale)."""
    engine = _engine("_oracle")
    return engine.DIGITS, engine.SCALE_DIGITS


def definition_of(entry: Entry):
    """The entry's :class:`~refloss.proofs._definitions.Definition` (imports its family's proof module)."""
    return _engine("_definitions").definition_of(entry)


def latex(expr) -> str:
    """``sympy.latex``: the form in which a definition's formula is stored and shown."""
    return _engine("_definitions").latex(expr)


def float64(arr) -> np.ndarray:
    """An object array of the oracle's numbers rounded to float64."""
    return _engine("_oracle").float64(arr)
