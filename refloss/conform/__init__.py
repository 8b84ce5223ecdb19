"""Conformance: other frameworks' own implementations judged against the 50-digit oracle, beside refloss.

``refloss conform FRAMEWORK`` (torch, jax, optax, sklearn, scipy, dit, npeet, infomeasure, pyitlib, torchmetrics,
netcal) runs each framework's functions (adapters in ``<framework>_peer.py``) on the golden cases of the matching
registry entry and on inputs drawn from the entry's strategy, and prints one row per function: cases, worst value
and gradient error in the policy's ulps, and a verdict (:data:`VERDICTS`, defined in :mod:`._judge`). Declared
differences of convention are in :mod:`.conventions`. Needs the ``audit`` extra (the oracle) and the framework
itself (``refloss[conform]``).
"""

from __future__ import annotations

import importlib
import sys

import numpy as np

from .._progress import progress_bar
from ._judge import VERDICTS, CaseBook, Convention, Output, PeerFunction, Row, jsonable, judge
from .probes import PROBES

#: framework name -> (adapter module, the import that must succeed)
FRAMEWORKS = {
    "torch": ("torch_peer", "torch"),
    "jax": ("jax_peer", "jax"),
    "optax": ("optax_peer", "optax"),
    "sklearn": ("sklearn_peer", "sklearn"),
    "scipy": ("scipy_peer", "scipy"),
    "dit": ("dit_peer", "dit"),
    "npeet": ("npeet_peer", "npeet_plus"),
    "infomeasure": ("infomeasure_peer", "infomeasure"),
    "pyitlib": ("pyitlib_peer", "pyitlib"),
    "torchmetrics": ("torchmetrics_peer", "torchmetrics"),
    "netcal": ("netcal_peer", "netcal"),
}

#: Drawn cases per registry entry (besides its golden cases) when ``--cases`` is not given.
DEFAULT_CASES = 30


class FrameworkMissing(Exception):
    """The framework to judge is not installed; the message names what to install."""


def adapter(framework: str):
    """The adapter module of ``framework``, after checking that the framework imports."""
    module, needs = FRAMEWORKS[framework]
    try:
        importlib.import_module(needs)
    except ImportError as exc:
        raise FrameworkMissing(f"{framework} is not installed ({exc}): pip install 'refloss[conform]'") from None
    return importlib.import_module(f"{__name__}.{module}")


def run(framework: str, *, cases: int = DEFAULT_CASES, progress=sys.stderr) -> list[Row]:
    """Judge every function of ``framework``; one :class:`Row` each, in the adapter's order."""
    peers = adapter(framework).functions()
    book = CaseBook(cases)
    rows = []
    for i, peer in enumerate(peers):
        if progress is not None:
            progress_bar(i, len(peers), peer.name, progress)
        row = judge(peer, book)
        if peer.call is not None:
            row.probes = probe_answers(peer)
        rows.append(row)
    if progress is not None:
        progress_bar(len(peers), len(peers), "done", progress)
    return rows


def _listed(x) -> list | float:
    a = np.asarray(x, dtype=np.float64)
    return [v if np.isfinite(v) else repr(v) for v in a.ravel().tolist()] if a.ndim else (
        float(a) if np.isfinite(a) else repr(float(a)))


def probe_answers(peer: PeerFunction) -> dict[str, dict]:
    """The peer's value and gradients on each probe of its entry (:mod:`.probes`), or why it has none."""
    answers = {}
    for label, kwargs in PROBES.get(peer.entry, []):
        case = peer.prepare(dict(kwargs))
        if case is None:  # not expressible in this function's API
            continue
        try:
            with np.errstate(all="ignore"):
                out = peer.call(case)
        except Exception as exc:  # noqa: BLE001 - reported as the answer
            answers[label] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"}
            continue
        answers[label] = {"value": _listed(out.value), "grads": {k: _listed(g) for k, g in out.grads.items()}}
    return answers


def probe_exact(entry_name: str) -> dict[str, dict]:
    """The oracle's value and gradients on each probe of ``entry_name``, with the inputs."""
    from .._oracle import float64, reference
    from .._registry import get

    out = {}
    for label, kwargs in PROBES.get(entry_name, []):
        ref = reference(get(entry_name), kwargs)
        out[label] = {"kwargs": {k: jsonable(v) for k, v in kwargs.items()},
                      "value": _listed(float64(ref.value)), "value_scale": _listed(float64(ref.value_scale)),
                      "grads": {k: _listed(float64(g)) for k, g in ref.grads.items()},
                      "grad_scales": {k: _listed(float64(g)) for k, g in ref.grad_scales.items()}}
    return out


def explanations() -> dict[str, str]:
    """``{convention key: explanation}`` for every declared convention (:mod:`.conventions`)."""
    from . import conventions

    return {c.key: c.explanation for c in vars(conventions).values() if isinstance(c, Convention)}


def versions(framework: str) -> str:
    """The framework's version string (the adapter reports what it ran against)."""
    return adapter(framework).version()


__all__ = ["DEFAULT_CASES", "FRAMEWORKS", "VERDICTS", "CaseBook", "Convention", "FrameworkMissing", "Output",
           "PeerFunction", "Row", "adapter", "explanations", "judge", "probe_answers", "probe_exact", "run",
           "versions"]
