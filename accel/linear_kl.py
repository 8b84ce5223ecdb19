r"""Distillation KL of two linear heads on the same hidden states, chunked: the twin of :func:`refloss.linear_kl`.

For each chunk of rows, the teacher's and the student's logits ``e[rows] @ c.T`` go into two buffers allocated
once (BLAS); the row step evaluates :math:`T^2\,\mathrm{KL}(\mathrm{softmax}(t/T)\,\|\,\mathrm{softmax}(s/T))`
and the logit gradients :math:`G^s = T(q - p)`, :math:`G^t = T p (u - \mathrm{KL})` and
:math:`G^s + G^t = T(q\varphi(u) - p\,\mathrm{KL})` with refloss's own float64 code
(:func:`refloss.kl_divergence_logits`'s evaluation forms) on the chunk; then ``grad_c_student += G^s.T @ e``,
``grad_c_teacher += G^t.T @ e`` (GEMMs with beta = 1 into the outputs) and ``grad_e`` from the one of
:math:`G^s c_s + G^t c_t` and :math:`(G^s + G^t) c_s + G^t (c_t - c_s)` whose terms are smaller, as in the
reference, judged by the bounds :math:`\|G_n\|_1 \max_v |c_{v,d}|` of each product. Where one form's bound is
within ``FORM_SLACK`` = 2 of the other's on every element of a chunk, that form serves the whole chunk (two
GEMMs); only a chunk whose elements disagree by more gets both forms and picks element by element (four).
Within a factor 2 the choice costs at most one bit of a bound that real errors stay far below (the oracle
tests still pass with a slack of 16); on the benchmark's two unrelated heads the bounds differ by 6% at most.

**Precision.** float32 and float64 inputs; GEMMs in the input dtype, the row step in float64. **Memory** beyond
inputs and gradients: the chunk buffers, and one ``(V, D)`` array, :math:`c_t - c_s`, made only when a chunk
takes the split form. **Backends.**
``"numpy"`` runs refloss's NumPy code on a float64 copy of each chunk (three buffers of about 2^20 logits, so
that its temporaries stay small); ``"numba"`` runs the same evaluation forms as one fused kernel per row
(:func:`accel._numba_kernels._kl_rows`: branch-free passes with arithmetic float64 exp and expm1 that
vectorise, within 1 and 1.5 ulp) on :mod:`accel._cpu`'s workers, in ``CHUNK_BYTES["numba"]``: two buffers
(G^t and G^s, all the direct form needs) until a chunk needs :math:`G^s + G^t`, then three, with two thirds
as many rows (:func:`_numba_pass`); ``"cupy"`` (CuPy arrays) runs the same forms as a CUDA kernel, one thread
block per row (:func:`accel._cupy_kernels.kl_rows`), with cuBLAS products, in three buffers of
``CHUNK_BYTES["cupy"]`` in all. The ``"numpy"`` and ``"cupy"`` backends share one driver (:func:`_chunks`),
which differs between them only in the row step.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from refloss import RefLossError
from refloss import _validate as v
from refloss._reduce import reduce, reduce_scale
from refloss.info.entropy._common import _kl_gradients, _kl_terms
from refloss.losses.linear._common import TEMPERATURE

from . import _cpu
from ._cpu import each, share, single_threaded_blas
from .linear_ce import CHUNK_BYTES, _backend_for, _blocks, _chunk_rows, _float_matrix, _namespace, products

#: float64 elements of one chunk's logits: the row step holds about ten arrays of this size.
CHUNK_ELEMENTS = 2**20


class LinearKLResult(NamedTuple):
    """What :func:`linear_kl` returns: ``loss`` (a float, or float64 ``(N,)`` for ``"none"``), the gradients
    (``None`` with ``gradients=False``) and the backend that ran."""

    loss: Any
    grad_e: Any
    grad_c_student: Any
    grad_c_teacher: Any
    backend: str


def _heads(xp, e, c_student, c_teacher):
    e = _float_matrix(xp, e, "e")
    if e.ndim != 2 or 0 in e.shape:
        raise RefLossError(f"e must be a non-empty 2-D array (N, D) of hidden states, got shape {e.shape}")
    c_s = _float_matrix(xp, c_student, "c_student", e.dtype)
    if c_s.ndim != 2 or 0 in c_s.shape or c_s.shape[1] != e.shape[1]:
        raise RefLossError(f"c_student must be (V, D) with e's D = {e.shape[1]}, got shape {c_s.shape}")
    c_t = _float_matrix(xp, c_teacher, "c_teacher", e.dtype)
    if c_t.shape != c_s.shape:
        raise RefLossError(f"c_teacher must have the student's shape {c_s.shape}, got {c_t.shape}")
    return e, c_s, c_t


def _rows(t_logits, s_logits, temp: float, scale: float, gradients: bool):
    """Per-row loss and, overwriting nothing, the float64 logit gradients (G^t, G^s, G^s + G^t) of a chunk."""
    with np.errstate(over="ignore", under="ignore"):
        t = t_logits.astype(np.float64) / temp
        s = s_logits.astype(np.float64) / temp
    if not (np.isfinite(t).all() and np.isfinite(s).all()):
        raise RefLossError("the logits divided by the temperature overflow float64; raise the temperature")
    terms = _kl_terms(t, s, "none")
    loss = temp**2 * terms.kl
    if not gradients:
        return loss, None
    grad_p, grad_q = _kl_gradients(terms)
    g = temp * scale
    return loss, (g * grad_p, g * grad_q, g * (terms.terms - terms.p * terms.kl[:, None]))


def numpy_rows(t_logits, s_logits, g_sum, temp: float, scale: float, gradients: bool, loss_out, norms_out):
    """The row step of the ``"numpy"`` backend, in the interface of every row step: each row's loss into
    ``loss_out`` and, with ``gradients``, G^t over ``t_logits``, G^s over ``s_logits``, G^s + G^t into ``g_sum``
    (or nowhere where it is None), and the float64 row sums of their magnitudes into ``norms_out`` (N, 3); a
    row whose logits are not finite (or not once divided by T) is refused, here with a RefLossError, by the
    kernels with a NaN loss."""
    _refuse_overflow(t_logits, s_logits)
    loss_out[...], grads = _rows(t_logits, s_logits, temp, scale, gradients)
    if grads is None:
        return
    for k, (out, g) in enumerate(zip((t_logits, s_logits, g_sum), grads)):
        norms_out[:, k] = np.abs(g).sum(axis=1)
        if out is not None:
            out[...] = g


#: The factor within which one form of ``grad_e`` serves a whole chunk (module docstring).
FORM_SLACK = 2.0


class _Heads:
    """The column maxima of |c_s|, |c_t| and |c_t - c_s| (from max and min, by blocks of classes: no (V, D)
    temporary), and c_t - c_s itself, made on first use: a pass whose chunks all take the direct form of
    ``grad_e`` never holds it. A difference beyond the dtype's range is inf, and its bound then picks the
    direct form."""

    def __init__(self, xp, c_s, c_t):
        self.c_s, self.c_t, self._delta = c_s, c_t, None
        self.col_max = {"s": _column_max_abs(xp, c_s), "t": _column_max_abs(xp, c_t),
                        "delta": xp.zeros(c_s.shape[1], c_s.dtype)}
        for classes in _blocks(c_s.shape[0]):
            with np.errstate(over="ignore"):
                difference = c_t[classes] - c_s[classes]
            xp.maximum(self.col_max["delta"], _column_max_abs(xp, difference), out=self.col_max["delta"])

    def delta(self):
        if self._delta is None:
            with np.errstate(over="ignore"):
                self._delta = self.c_t - self.c_s
        return self._delta


def _column_max_abs(xp, x):
    return xp.maximum(x.max(axis=0), -x.min(axis=0))


def _grad_e_form(xp, norms, col_max):
    """How a chunk computes grad_e (module docstring): ``("direct", None)`` or ``("split", None)`` where that
    form's bound is within ``FORM_SLACK`` of the other's on every element, else ``("both", split_wins)``."""
    direct_bound = norms["s"] * col_max["s"] + norms["t"] * col_max["t"]
    with np.errstate(invalid="ignore"):  # 0 x inf: c_t - c_s overflowed, and the split form cannot serve there
        split_bound = xp.nan_to_num(norms["sum"] * col_max["s"] + norms["t"] * col_max["delta"], nan=np.inf)
    if bool((direct_bound <= FORM_SLACK * split_bound).all()):
        return "direct", None
    if bool((split_bound <= FORM_SLACK * direct_bound).all()):
        return "split", None
    return "both", split_bound < direct_bound


def _grad_e_rows(xp, out, gemm, form, split_wins, g_t, g_s, g_sum, c_s, c_t, delta):
    """grad_e of a chunk in the form :func:`_grad_e_form` chose: two GEMMs, or four and a choice per element."""
    if form != "split":
        direct = out if form == "direct" else xp.empty_like(out)
        gemm.times(direct, g_s, c_s)
        gemm.times(direct, g_t, c_t, 1.0)
    if form != "direct":
        split = out if form == "split" else xp.empty_like(out)
        gemm.times(split, g_sum, c_s)
        gemm.times(split, g_t, delta, 1.0)
    if form == "both":
        out[...] = xp.where(split_wins, split, direct)


def linear_kl(e, c_student, c_teacher, *, temperature: float = 1.0, reduction: str = "mean",
              gradients: bool = True, backend: str = "auto", chunk_size: int | None = None) -> LinearKLResult:
    r"""Hinton's distillation loss :math:`T^2\,\mathrm{KL}(\mathrm{softmax}(t/T)\,\|\,\mathrm{softmax}(s/T))` of a
    student head ``c_student`` against a teacher head ``c_teacher`` on the hidden states ``e``, with gradients,
    never holding the N x V logits; same arguments and semantics as :func:`refloss.linear_kl`.

    Args:
        e: hidden states ``(N, D)``, float32 or float64 (NumPy, or CuPy for the ``"cupy"`` backend).
        c_student, c_teacher: classifiers ``(V, D)``, same dtype.
        temperature: :math:`0 < T \le 10^4`.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.
        gradients: ``False`` for the loss only.
        backend: ``"auto"`` (CuPy arrays: ``"cupy"``; else ``"numba"`` if installed, else ``"numpy"``),
            ``"numpy"``, ``"numba"`` or ``"cupy"``.
        chunk_size: rows per chunk (default: about 2^20 logits per chunk for ``"numpy"``; for ``"numba"`` and
            ``"cupy"``, as many as keep the chunk buffers, two or three, under ``CHUNK_BYTES`` of the backend).

    Returns:
        :class:`LinearKLResult` ``(loss, grad_e, grad_c_student, grad_c_teacher, backend)``.

    >>> e = np.array([[1.0, 0.0]])
    >>> c_teacher, c_student = np.array([[0.0, 0.0], [np.log(3.0), 0.0]]), np.zeros((2, 2))
    >>> out = linear_kl(e, c_student, c_teacher)
    >>> round(out.loss, 15), out.grad_c_student[:, 0]  # (3/4) log 3 - log 2; G^s = q - p = (1/4, -1/4)
    (0.130812035941137, array([ 0.25, -0.25]))
    """
    xp = _namespace(e)
    name = _backend_for(xp, backend)
    e, c_s, c_t = _heads(xp, e, c_student, c_teacher)
    temp = v.scalar(temperature, TEMPERATURE, "temperature")
    reduction = v.choice(reduction, v.REDUCTIONS, "reduction")
    n_rows, n_classes = e.shape[0], c_s.shape[0]
    if chunk_size is not None:
        chunk = _chunk_rows(chunk_size, n_rows, n_classes, e.dtype.itemsize, name)
    elif name == "numpy":
        chunk = int(min(n_rows, max(1, CHUNK_ELEMENTS // n_classes)))
    else:  # numba: rows of two buffers (of three once G^s + G^t is kept); cupy: rows of three
        buffers = 2 if name == "numba" else 3
        chunk = int(min(n_rows, max(1, CHUNK_BYTES[name] // (buffers * n_classes * e.dtype.itemsize))))
    scale = reduce_scale((n_rows,), reduction)
    gemm = products(xp, e.dtype)
    loss = xp.empty(n_rows, dtype=xp.float64)
    grad_e = xp.empty_like(e) if gradients else None
    grad_c_s = xp.zeros_like(c_s) if gradients else None
    grad_c_t = xp.zeros_like(c_t) if gradients else None
    heads = _Heads(xp, c_s, c_t) if gradients else None
    if name == "numba":
        _numba_pass(gemm, e, c_s, c_t, heads, chunk, chunk_size is None, temp, scale, loss, grad_e, grad_c_s,
                    grad_c_t)
    else:
        _chunks(xp, _ROW_STEPS[name](), gemm, e, c_s, c_t, heads, chunk, temp, scale, loss, grad_e, grad_c_s,
                grad_c_t)
    return LinearKLResult(reduce(loss, reduction), grad_e, grad_c_s, grad_c_t, name)


def _chunks(xp, row_step, gemm, e, c_s, c_t, heads, chunk: int, temp, scale, loss, grad_e, grad_c_s, grad_c_t):
    """The ``"numpy"`` and ``"cupy"`` backends: chunks of ``chunk`` rows in three buffers (two for the loss
    alone), the row step's gradients overwriting the logits; ``heads``: a :class:`_Heads`, or None for the
    loss alone."""
    n_rows, n_classes = e.shape[0], c_s.shape[0]
    gradients = heads is not None
    buffers = xp.empty((3 if gradients else 2, chunk, n_classes), dtype=e.dtype)
    norms = xp.empty((chunk, 3))
    for start in range(0, n_rows, chunk):
        rows = slice(start, min(n_rows, start + chunk))
        count = rows.stop - start
        g_t, g_s = buffers[0, :count], buffers[1, :count]
        g_sum = buffers[2, :count] if gradients else None
        with np.errstate(over="ignore", invalid="ignore"):
            gemm.logits(g_t, e[rows], c_t)
            gemm.logits(g_s, e[rows], c_s)
        row_step(g_t, g_s, g_sum, temp, scale, gradients, loss[rows], norms[:count])
        _refuse_nan(xp, loss[rows])
        if not gradients:
            continue
        form, split_wins = _grad_e_form(xp, {"t": norms[:count, 0:1], "s": norms[:count, 1:2],
                                             "sum": norms[:count, 2:3]}, heads.col_max)
        _grad_e_rows(xp, grad_e[rows], gemm, form, split_wins, g_t, g_s, g_sum, c_s, c_t,
                     None if form == "direct" else heads.delta())
        gemm.tn_add(grad_c_t, g_t, e[rows])
        gemm.tn_add(grad_c_s, g_s, e[rows])


def _refuse_nan(xp, loss):
    """A kernel's mark of a row whose logits are not finite, or not once divided by the temperature."""
    if bool(xp.isnan(loss).any()):
        raise RefLossError("the logits e @ c.T overflow the input dtype, or float64 once divided by the "
                           "temperature; scale the inputs, use float64 or raise the temperature")


def _cupy_rows():
    from . import _cupy_kernels

    return _cupy_kernels.kl_rows


_ROW_STEPS = {"numpy": lambda: numpy_rows, "cupy": _cupy_rows}


def _refuse_overflow(t_logits, s_logits):
    if not (np.isfinite(t_logits).all() and np.isfinite(s_logits).all()):
        raise RefLossError("the logits e @ c.T overflow the input dtype; scale the inputs or use float64")


def _numba_pass(gemm, e, c_s, c_t, heads, chunk: int, default_chunk: bool, temp, scale, loss, grad_e, grad_c_s,
                grad_c_t):
    """The Numba backend's chunks. Most chunks take the direct form of ``grad_e`` (:func:`_grad_e_form`), which
    needs only G^t and G^s: chunks of ``chunk`` rows hold those two. The first chunk that needs G^s + G^t as
    well is computed again, and from then on every chunk keeps it in a third buffer: by default in the same
    memory (two thirds as many rows); a ``chunk_size`` given keeps its rows, and three buffers of them."""
    n_rows, n_classes = loss.shape[0], c_s.shape[0]
    rows_with_sum = max(1, 2 * chunk // 3) if default_chunk else chunk
    memory = np.empty(max(2 * chunk, 3 * rows_with_sum if heads is not None else 0) * n_classes, dtype=e.dtype)
    with_sum, start = False, 0
    with single_threaded_blas(), np.errstate(over="ignore", invalid="ignore"):
        while start < n_rows:
            count = min(n_rows - start, rows_with_sum if with_sum else chunk)
            buffers = memory[: (3 if with_sum else 2) * count * n_classes].reshape(-1, count, n_classes)
            if _numba_chunk(gemm, buffers, e, c_s, c_t, heads, slice(start, start + count), temp, scale, loss,
                            grad_e, grad_c_s, grad_c_t, _cpu.worker_count()):
                start += count
            else:
                with_sum = True


def _numba_chunk(gemm, buffers, e, c_s, c_t, heads, rows: slice, temp, scale, loss, grad_e, grad_c_s, grad_c_t,
                 workers: int) -> bool:
    """One chunk on accel._cpu's workers (as accel.linear_ce's Numba chunks): both heads' logits by blocks of
    classes; the fused row step by rows (its gradients overwrite the logits, and G^s + G^t goes into a third
    buffer if there is one); ``grad_e`` by blocks of features; ``G^T e`` by blocks of classes. ``heads``: a
    :class:`_Heads`, or None for the loss alone. Returns False, having changed nothing but the rows' losses,
    where the chunk needs G^s + G^t and has no buffer for it."""
    from ._numba_kernels import _kl_rows

    gradients = heads is not None
    n_classes, n_features = c_s.shape
    count = rows.stop - rows.start
    e_rows = e[rows]
    with_sum = len(buffers) == 3
    t_logits, s_logits = buffers[0, :count], buffers[1, :count]
    g_sum = buffers[2, :count] if with_sum else np.empty((0, 0), dtype=e.dtype)
    norms = np.empty((count, 3))

    def forward(k):
        classes = share(n_classes, k, workers)
        gemm.logits(t_logits[:, classes], e_rows, c_t[classes])
        gemm.logits(s_logits[:, classes], e_rows, c_s[classes])

    def step(k):
        mine = share(count, k, workers)
        _kl_rows(t_logits[mine], s_logits[mine], temp, scale, gradients, with_sum, loss[rows][mine],
                 t_logits[mine], s_logits[mine], g_sum[mine], norms[mine])

    each(forward, workers)
    each(step, workers)
    _refuse_nan(np, loss[rows])
    if not gradients:
        return True
    form, split_wins = _grad_e_form(np, {"t": norms[:, 0:1], "s": norms[:, 1:2], "sum": norms[:, 2:3]},
                                    heads.col_max)
    if form != "direct" and not with_sum:
        return False
    delta = None if form == "direct" else heads.delta()

    def backward(k):
        features = share(n_features, k, workers)
        _grad_e_rows(np, grad_e[rows, features], gemm, form, None if split_wins is None else split_wins[:, features],
                     t_logits, s_logits, g_sum, c_s[:, features], c_t[:, features],
                     None if delta is None else delta[:, features])
        for classes in list(_blocks(n_classes))[k::workers]:
            gemm.tn_add(grad_c_t[classes], t_logits[:, classes], e_rows)
            gemm.tn_add(grad_c_s[classes], s_logits[:, classes], e_rows)

    each(backward, workers)
    return True
