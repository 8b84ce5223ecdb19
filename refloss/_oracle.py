"""The two bridges between a registry entry and its oracle, used by the checks, the golden data and conform.

They live below :mod:`refloss.testing` (which re-exports them) so that the modules built on the oracle
do not import the module that is built on them.
"""

from __future__ import annotations

import numpy as np

from ._registry import Entry
from ._validate import RefLossError


def gradient_components(entry: Entry, grads) -> dict[str, np.ndarray]:
    """``{input name: gradient array}`` from what ``entry.grad`` returned (an array or a NamedTuple); an
    optional input that was left out (``bias=None``) has the gradient ``None`` and no entry here."""
    parts = {name: grads if len(entry.wrt) == 1 else getattr(grads, name) for name in entry.wrt}
    return {name: np.asarray(g, dtype=np.float64) for name, g in parts.items() if g is not None}


def reference(entry: Entry, case: dict):
    """The oracle's :class:`~refloss.proofs._support.Reference` for ``case``, from the entry's definition."""
    try:
        from .proofs._support import reference as oracle
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise RefLossError(f"the oracle needs the 'audit' extra ({exc.name} is missing): "
                           "pip install 'refloss[audit]'") from None
    return oracle(entry, case)
