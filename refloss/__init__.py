"""refloss: ground-truth NumPy implementations, with closed-form gradients, of training objectives.

Every object is registered; :func:`catalogue` lists them. Conventions (float64, class axis last,
``reduction``, :class:`RefLossError`) are in the docs' *Conventions* page.

The public functions are re-exported from the registry: importing the object modules (every module of the
family packages under :mod:`refloss.softmax`, :mod:`refloss.losses` and :mod:`refloss.info`, found on disk:
``<pillar>/<family>/<name>.py``) registers their objects, and each entry's value and gradient function become
attributes of this package. Adding an object therefore adds its own module and touches no other.
"""

import importlib as _importlib
import pkgutil as _pkgutil
import typing as _typing

from ._registry import Entry, Paper, Param, catalogue, get, value_and_grad  # noqa: F401 - public, listed in __all__ below
from ._validate import RefLossError, RefLossWarning  # noqa: F401 - public, as above

__version__ = "0.1.0"


def _register_families() -> list[str]:
    for package in ("softmax", "losses", "info"):
        pkg = _importlib.import_module(f"{__name__}.{package}")
        for info in _pkgutil.walk_packages(pkg.__path__, prefix=f"{pkg.__name__}."):
            _importlib.import_module(info.name)
    names = []
    for entry in catalogue():
        for fn in (entry.fn, entry.grad):
            if fn is not None:
                globals()[fn.__name__] = fn
                names.append(fn.__name__)
        returned = _typing.get_type_hints(entry.grad).get("return") if entry.grad is not None else None
        if isinstance(returned, type) and issubclass(returned, tuple):  # a NamedTuple of several gradients
            globals()[returned.__name__] = returned
            names.append(returned.__name__)
    return names


__all__ = sorted(set(_register_families()) | {
    "Entry", "Paper", "Param", "RefLossError", "RefLossWarning", "catalogue", "get",
    "value_and_grad",
})
