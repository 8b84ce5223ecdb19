"""Backend discovery and selection; the only place that knows which extra provides which backend."""

from __future__ import annotations

import importlib.util

from refloss import RefLossError

#: Backends in order of preference for ``backend="auto"``, with the pip extra that provides each.
BACKENDS = {"cupy": "gpu", "numba": "accel", "numpy": None}


class MissingBackendError(RefLossError, ImportError):
    """A backend was requested whose optional dependency is not installed."""


def _cupy_has_device() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - any CUDA/driver failure means "no usable GPU"
        return False


def _is_available(name: str) -> bool:
    if name == "numpy":
        return True
    if importlib.util.find_spec(name) is None:
        return False
    return _cupy_has_device() if name == "cupy" else True


def available_backends() -> tuple[str, ...]:
    """The backends usable here, fastest first; ``"numpy"`` is always last and always present.

    >>> available_backends()[-1]
    'numpy'
    """
    return tuple(name for name in BACKENDS if _is_available(name))


def resolve_backend(backend: str = "auto") -> str:
    """Map ``backend`` to a usable backend name; ``"auto"`` picks the fastest available one.

    Raises:
        RefLossError: unknown backend name.
        MissingBackendError: the backend's extra is not installed (the message names the extra).
    """
    if backend == "auto":
        return available_backends()[0]
    if backend not in BACKENDS:
        raise RefLossError(f"backend must be 'auto' or one of {tuple(BACKENDS)}, got {backend!r}")
    if not _is_available(backend):
        extra = BACKENDS[backend]
        raise MissingBackendError(
            f"backend {backend!r} is not available: pip install 'refloss[{extra}]'"
            + (" (and a CUDA device is needed)" if backend == "cupy" else "")
        )
    return backend
