"""JAX's own functions (``jax.nn``), adapted to refloss's conventions; gradients by ``jax.grad``.

Importing this module turns on JAX's float64 mode (``jax_enable_x64``): without it JAX computes in
float32 and every row would report the float32 rounding, not the function. Gradients are of the summed
output, refloss's convention for unreduced outputs; Jacobians come from ``jax.jacrev`` row by row.
"""

from __future__ import annotations

import numpy as np

from ._judge import Output, PeerFunction
from .conventions import MASKED_OUTPUT_JACOBIAN

FRAMEWORK = "jax"


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def version() -> str:
    return _jax().__version__


def value_and_grads(fn, case: dict, wrt: tuple[str, ...]) -> Output:
    """``fn(**inputs)`` on the float64 JAX arrays of ``case[name]`` for each name in ``wrt``, and the gradient
    of its sum with respect to each of them (the other arguments are bound in ``fn`` by the caller)."""
    jax = _jax()
    import jax.numpy as jnp

    leaves = {k: jnp.asarray(np.asarray(case[k], dtype=np.float64)) for k in wrt}

    def total(leaves):
        out = fn(**leaves)
        return out.sum(), out

    (_, out), grads = jax.value_and_grad(total, has_aux=True)(leaves)
    return Output(np.asarray(out), {k: np.asarray(g) for k, g in grads.items()})


def _logsumexp(case: dict) -> Output:
    """``jax.nn.logsumexp`` with SciPy's ``b`` and ``return_sign``; the gradient is that of log|sum| (the sign's
    derivative is 0), and a returned sign is stacked after the value, as refloss's checks read the pair."""
    jax = _jax()
    axis, b, with_sign = case.get("axis", -1), case.get("b"), case.get("return_sign", False)
    out = value_and_grads(lambda logits: jax.nn.logsumexp(logits, axis=axis, b=b, return_sign=True)[0], case,
                          ("logits",))
    if not with_sign:
        return out
    import jax.numpy as jnp

    _, sign = jax.nn.logsumexp(jnp.asarray(np.asarray(case["logits"], dtype=np.float64)), axis=axis, b=b,
                               return_sign=True)
    return Output(np.stack([out.value, np.asarray(sign)]), out.grads)


def _log_softmax(case: dict) -> Output:
    jax = _jax()
    import jax.numpy as jnp

    z = jnp.asarray(np.asarray(case["logits"], dtype=np.float64))
    row_jacobian = jax.jacrev(lambda r: jax.nn.log_softmax(r, axis=-1))
    flat = z.reshape(-1, z.shape[-1])
    jac = jax.vmap(row_jacobian)(flat).reshape(z.shape + z.shape[-1:])
    return Output(np.asarray(jax.nn.log_softmax(z, axis=-1)), {"logits": np.asarray(jac)})


def _softmax(case: dict) -> Output:
    jax = _jax()
    import jax.numpy as jnp

    z = jnp.asarray(np.asarray(case["logits"], dtype=np.float64))
    row_jacobian = jax.jacrev(lambda r: jax.nn.softmax(r, axis=-1))
    flat = z.reshape(-1, z.shape[-1])
    jac = jax.vmap(row_jacobian)(flat).reshape(z.shape + z.shape[-1:])
    return Output(np.asarray(jax.nn.softmax(z, axis=-1)), {"logits": np.asarray(jac)})


def functions() -> list[PeerFunction]:
    return [
        PeerFunction(FRAMEWORK, "jax.nn.logsumexp", "logsumexp", _logsumexp, options=("axis",)),
        PeerFunction(FRAMEWORK, "jax.nn.log_softmax", "log_softmax", _log_softmax,
                     conventions=(MASKED_OUTPUT_JACOBIAN,)),
        PeerFunction(FRAMEWORK, "jax.nn.softmax", "softmax", _softmax),
    ]
