"""accel: chunked kernels for the heavy refloss objectives (Numba on the CPU, CuPy on the GPU).

Each kernel takes ``backend="auto" | "numpy" | "numba" | "cupy"``, reports the backend that ran, and agrees
with its refloss twin (the registry entry's ``accel`` field names it) under refloss's tolerance policy:

* :func:`linear_cross_entropy`: the loss and gradients of a linear head's cross-entropy (twin:
  :func:`refloss.linear_cross_entropy`), without the N x V logits;
* :func:`linear_kl`: the distillation KL of a student head against a teacher head on the same hidden states,
  with gradients (twin: :func:`refloss.linear_kl`);
* :func:`token_stats`: per-token log-sum-exp, target log-probability, entropy, rank, top-k hit and argmax of a
  linear head, in one streaming pass (evaluation of a language model head without logits).
"""

from ._dispatch import BACKENDS, MissingBackendError, available_backends, resolve_backend
from .linear_ce import LinearCrossEntropyResult, linear_cross_entropy
from .linear_kl import LinearKLResult, linear_kl
from .token_stats import TokenStats, token_stats

__all__ = ["BACKENDS", "LinearCrossEntropyResult", "LinearKLResult", "MissingBackendError", "available_backends",
           "linear_cross_entropy", "linear_kl", "resolve_backend", "TokenStats", "token_stats"]
