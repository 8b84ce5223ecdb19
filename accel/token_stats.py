r"""Per-token statistics of a linear head in one streaming pass, without the N x V logits.

For each row of ``z = cap(e @ c.T + bias)`` (the logits of :func:`accel.linear_cross_entropy`): the
log-sum-exp, the target's log-probability, the entropy of the softmax, the target's rank, whether the target
is in the top k, and the argmax. The ``"numpy"`` and ``"cupy"`` backends work by chunks of whole rows as
:mod:`accel.linear_ce` (one GEMM per chunk into a buffer allocated once, then one row step: the maximum, then
one exponential per entry with float64 sums). The ``"numba"`` backend needs no whole row: it runs by blocks of
rows and of classes, as the forward pass of :func:`accel.linear_cross_entropy`, with each row's sums merged
block after block and its rank counted against a window around an estimate of the target's logit (see
:func:`_blocked`), so that the classifier is read once per block of rows.

Their references are refloss's own functions on the materialised logits: :func:`refloss.logsumexp`,
:func:`refloss.log_softmax` at the target, :func:`refloss.softmax_entropy` (``reduction="none"``), and
counts of logits above the target's. The entropy is evaluated as
:math:`H = \mathrm{log1p}(s) + \sum_v p_v\,(m - z_v)`, with :math:`m` the row maximum and
:math:`s = \sum_{v \ne \arg\max} e^{z_v - m}`: a sum of non-negative terms (``LSE - sum_v p_v z_v`` would
cancel on a peaked row).
"""

from __future__ import annotations

import contextlib
from typing import Any, NamedTuple

import numpy as np

from refloss import RefLossError
from refloss import _validate as v
from refloss.losses.linear._common import POSITIVE

from . import _cpu, linear_ce
from ._cpu import single_threaded_blas
from .linear_ce import _capped, _chunk_rows, _head, _namespace, _targets, by_blocks, forward_on_workers, products

#: Logits within the window around a row's target logit that the ``"numba"`` backend keeps for its rank
#: (:func:`_blocked`); a row with more is recomputed whole.
PENDING = 16


class TokenStats(NamedTuple):
    """Per-row outputs of :func:`token_stats` (arrays of shape ``(N,)``; float64, int64 and bool).

    ``rank`` counts the classes whose logit is strictly above the target's (0: the target is a top logit;
    tied classes share a rank), comparing the logits as the products computed them: a class within the
    products' rounding of the target (about ``eps * sum_d |e_d c_d|``) may rank on either side of it on another
    backend or at another blocking, whose BLAS calls may round it differently. ``top_k`` is ``rank < k``;
    ``argmax`` is the first index of the maximum.
    Rows whose target is ``ignore_index`` have ``target_logprob = 0``, ``rank = -1`` and ``top_k = False``
    (``kept`` says which rows those are); their ``lse``, ``entropy`` and ``argmax`` are computed as usual.
    """

    lse: Any
    target_logprob: Any
    entropy: Any
    rank: Any
    top_k: Any
    argmax: Any
    kept: Any
    backend: str


def stats_rows_xp(xp, L, bias, cap: float, y, ignore_index: int):
    """The row step on a chunk of logits (the specification the Numba kernel follows)."""
    u = L if bias is None else L + bias
    z = _capped(xp, u, cap)[0] if cap else u
    rows = xp.arange(z.shape[0])
    top = xp.argmax(z, axis=1)
    m = z[rows, top]
    ex = xp.exp(z - m[:, None])
    ex[rows, top] = 0.0
    s = xp.sum(ex, axis=1, dtype=xp.float64)
    ex[rows, top] = 1.0
    log1p_s = xp.log1p(s)
    lse = m.astype(xp.float64) + log1p_s
    spread = xp.sum(ex * (m[:, None] - z), axis=1, dtype=xp.float64)
    entropy = log1p_s + spread / (1.0 + s)
    kept = y != ignore_index
    y_safe = xp.where(kept, y, 0)
    z_y = z[rows, y_safe]
    logprob = xp.where(kept, (z_y.astype(xp.float64) - m) - log1p_s, 0.0)
    rank = xp.where(kept, xp.sum(z > z_y[:, None], axis=1), -1)
    return lse, logprob, entropy, rank, top


def token_stats(e, c, target, *, bias=None, softcap: float | None = None, k: int = 5, ignore_index: int = -100,
                backend: str = "auto", chunk_size: int | None = None) -> TokenStats:
    r"""Log-sum-exp, target log-probability, entropy, target rank, top-k hit and argmax of every row of a
    linear head's logits, without materialising them.

    Args:
        e: hidden states ``(N, D)``, float32 or float64; ``c``: classifier ``(V, D)``; ``bias``: ``(V,)``.
        target: class indices ``(N,)`` (or ``ignore_index``).
        softcap: :math:`s > 0`: logits :math:`s\tanh(u/s)`, as :func:`accel.linear_cross_entropy`.
        k: the top-k hit's k, ``>= 1``.
        backend, chunk_size: as :func:`accel.linear_cross_entropy`.

    Returns:
        :class:`TokenStats`.

    >>> import numpy as np
    >>> e, c = np.array([[1.0, 0.0]]), np.array([[0.0, 0.0], [np.log(3.0), 0.0]])  # p = (1/4, 3/4)
    >>> out = token_stats(e, c, [0], k=1, backend="numpy")
    >>> round(float(out.target_logprob[0]), 15), int(out.rank[0]), bool(out.top_k[0])  # log(1/4): class 1 is above
    (-1.386294361119891, 1, False)
    >>> round(float(out.entropy[0]), 15)  # -(1/4) log(1/4) - (3/4) log(3/4)
    0.562335144618808
    """
    xp = _namespace(e)
    name = linear_ce._backend_for(xp, backend)
    e, c, bias = _head(xp, e, c, bias)
    cap = 0.0 if softcap is None else v.scalar(softcap, POSITIVE, "softcap")
    k = v.integer(k, "k")
    if k < 1:
        raise RefLossError(f"k must be >= 1, got {k}")
    ignore_index = v.integer(ignore_index, "ignore_index")
    y = _targets(xp, target, e.shape[0], c.shape[0], ignore_index)
    chunk = _chunk_rows(chunk_size, e.shape[0], c.shape[0], e.dtype.itemsize, name)
    if name == "numba":
        block_rows = chunk if chunk_size is not None else min(e.shape[0], linear_ce.FORWARD_BLOCK_ROWS)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"), single_threaded_blas():
            lse, logprob, entropy, rank, argmax = _blocked(e, c, y, bias, cap, ignore_index, block_rows,
                                                           _cpu.worker_count())
    else:
        lse, logprob, entropy, rank, argmax = _whole_rows(xp, name, e, c, y, bias, cap, ignore_index, chunk)
    if not bool(xp.isfinite(lse).all()):
        raise RefLossError("the logits e @ c.T + bias overflow the input dtype; scale the inputs or use float64")
    return TokenStats(lse, logprob, entropy, rank, (rank >= 0) & (rank < k), argmax, y != ignore_index, name)


def _whole_rows(xp, name: str, e, c, y, bias, cap: float, ignore_index: int, chunk: int):
    """(lse, logprob, entropy, rank, argmax) by chunks of whole rows: one product per chunk into a buffer
    allocated once, then the row step (:func:`stats_rows_xp`, or its Numba kernel on the workers)."""
    rows_step = _STEPS[name]()
    n_rows = e.shape[0]
    lse, logprob, entropy = (xp.empty(n_rows, dtype=xp.float64) for _ in range(3))
    rank, argmax = xp.empty(n_rows, dtype=xp.int64), xp.empty(n_rows, dtype=xp.int64)
    buffer = xp.empty((chunk, c.shape[0]), dtype=e.dtype)
    gemm = products(xp, e.dtype)
    outputs = (lse, logprob, entropy, rank, argmax)

    def step(logits, rows: slice):
        for array, part in zip(outputs, rows_step(xp, logits, bias, cap, y[rows], ignore_index)):
            array[rows] = part

    with np.errstate(over="ignore", under="ignore", invalid="ignore"), \
            single_threaded_blas() if name == "numba" else contextlib.nullcontext():
        for start in range(0, n_rows, chunk):
            rows = slice(start, min(n_rows, start + chunk))
            logits = buffer[: rows.stop - start]
            if name == "numba":  # on the workers of accel._cpu, as linear_cross_entropy's chunks
                forward_on_workers(gemm, step, logits, e[rows], c, rows, _cpu.worker_count())
            else:
                gemm.logits(logits, e[rows], c)
                step(logits, rows)
    return outputs


def _blocked(e, c, y, bias, cap: float, ignore_index: int, block_rows: int, workers: int):
    """(lse, logprob, entropy, rank, argmax) by blocks of rows and classes (:func:`accel.linear_ce.by_blocks`,
    the ``"numba"`` backend), each row's state merged block after block
    (:func:`accel._numba_kernels.online_stats_rows`).

    The rank needs the target's logit before its block is seen: each row gets a window [lo, hi] around a
    float64 estimate of it (:func:`accel._numba_kernels.target_windows`), counts the logits above ``hi`` and
    keeps those within (up to ``PENDING``). Once the target's own logit is known, and if it lies in the window,
    rank = (count above) + (kept logits above it), exactly what the whole row gives; any other row (more than
    ``PENDING`` logits within, or an estimate that missed) is recomputed whole (:func:`_whole_rows`).
    """
    from . import _numba_kernels

    n_rows = e.shape[0]
    lo, hi = _numba_kernels.target_windows(e, c, y, bias, cap, ignore_index)
    m, s, h = np.empty(n_rows), np.empty(n_rows), np.empty(n_rows)
    top, above, n_pending = (np.empty(n_rows, dtype=np.int64) for _ in range(3))
    z_y = np.zeros(n_rows)
    pending = np.empty((n_rows, PENDING), dtype=e.dtype)
    state = (lo, hi, m, top, s, h, z_y, above, pending, n_pending)

    def step(block, rows: slice, first: int):
        _numba_kernels.online_stats_rows(block, first, bias, cap, y[rows], ignore_index,
                                         [array[rows] for array in state])

    by_blocks(e, c, block_rows, workers, step)
    log1p_s = np.log1p(s)
    kept = y != ignore_index
    logprob = np.where(kept, (z_y - m) - log1p_s, 0.0)
    near_above = (pending > z_y[:, None]) & (np.arange(PENDING) < n_pending[:, None])
    rank = np.where(kept, above + near_above.sum(axis=1), -1)
    missed = kept & ~((n_pending <= PENDING) & (lo <= z_y) & (z_y <= hi))
    if missed.any():
        again = np.flatnonzero(missed)
        chunk = _chunk_rows(None, len(again), c.shape[0], e.dtype.itemsize, "numba")
        rank[again] = _whole_rows(np, "numba", e[again], c, y[again], bias, cap, ignore_index, chunk)[3]
    return m + log1p_s, logprob, log1p_s + h / (1.0 + s), rank, top


def _numba_step():
    from ._numba_kernels import stats_rows

    return stats_rows


_STEPS = {"numpy": lambda: stats_rows_xp, "numba": _numba_step, "cupy": lambda: stats_rows_xp}
