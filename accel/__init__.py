"""accel: chunked kernels for the heavy refloss objectives (Numba on the CPU, CuPy on the GPU).

No kernel is implemented yet; this package fixes the backend discovery every kernel will use.
Each kernel will take ``backend="auto" | "numpy" | "numba" | "cupy"`` and agree with its refloss twin
(the registry entry's ``accel`` field names it).
"""

from ._dispatch import BACKENDS, MissingBackendError, available_backends, resolve_backend

__all__ = ["BACKENDS", "MissingBackendError", "available_backends", "resolve_backend"]
