r"""Linear cross-entropy without the N x V logits: forward and backward in one chunked pass.

The algorithm (token-chunked, gradients in the forward pass, as Liger's fused linear cross-entropy and
PyTorch's chunked ``linear_cross_entropy``; the Cut Cross-Entropy paper's idea of never holding the logits):
for each chunk of rows,

1. ``L = e[rows] @ c.T`` into a buffer of ``chunk x V`` allocated once (BLAS / cuBLAS);
2. the row step: bias, soft cap, the row maximum, :math:`s = \sum_{v \ne \arg\max} e^{z_v - m}` (the argmax
   term left out, so that :math:`\mathrm{LSE} - z_{\max} = \mathrm{log1p}(s)` keeps its digits at any logit
   gap), the loss and LSE of each row, and, overwriting ``L``, the gradient w.r.t. the head logits
   :math:`G = (p \odot S + a \odot (p - 1) + 2\lambda\,\mathrm{LSE}\,p)\,(1 - \tanh^2(u/s))/W` of
   ``refloss.linear_cross_entropy_grad`` (:math:`S_v = \sum_{c \ne v} a_c`, and :math:`p - 1 = -s/(1+s)` at the
   argmax, exactly; label smoothing without class weights contributes :math:`(\varepsilon/V)(V p - 1)`, computed
   from differences of logits as :func:`refloss.numerics.softmax_over_uniform_minus_1`);
3. ``grad_e[rows] = G @ c`` and ``grad_c += G.T @ e[rows]`` (one GEMM with beta = 1 into the output, never a
   V x D temporary), ``grad_bias += G.sum(0)``.

Three GEMMs per logit, as the unfused computation; memory beyond inputs and gradients is the one buffer.
The row step is written once against an array namespace ``xp`` (backend ``"numpy"``, and CuPy runs the
same code), once as a fused Numba kernel (``"numba"``: three passes per row in cache, float64 accumulators;
:mod:`accel._cpu`'s workers run it, and each product, on shares of the chunk with a single-threaded BLAS)
and once as a CUDA kernel (``"cupy"``: one thread block per row).

**Precision.** float32 and float64 inputs. The GEMMs run in the input dtype (BLAS accumulates in it; so do
the gradients ``grad_e``, ``grad_c``). The row step works in float64 for every reduction (max, sums, LSE,
the loss) and in the input dtype for the elementwise exponentials; ``G`` is stored in the input dtype. The
returned ``loss`` and ``lse`` are float64; ``grad_bias`` sums in float64 and is returned in the input dtype.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from refloss import RefLossError
from refloss import _validate as v
from refloss._reduce import reduce, reduce_scale
from refloss.losses.classification._common import _leave_one_out_sums
from refloss.losses.linear._common import POSITIVE

from . import _cpu
from ._cpu import Products, blas_products, each, share, single_threaded_blas
from ._dispatch import available_backends, resolve_backend

#: Default size of the logits buffer, per backend: chunk rows are chosen so that chunk x V stays below it.
#: Each chunk's products read the whole classifier again (BLAS packs it) and add into all of grad_c, so
#: taller chunks cost less time and more memory: at N = 2048, D = 1024, V = 32768 on two cores the Numba
#: backend took 1.08-1.12x the floor with 256-row chunks (32 MiB) and 1.02-1.08x with 512 (64 MiB). The
#: NumPy row step holds several temporaries of the chunk's size (896 MiB in all at 64 MiB, 629 at 32), and
#: a GPU needs taller chunks to keep cuBLAS busy.
CHUNK_BYTES = {"numpy": 32 * 2**20, "numba": 64 * 2**20, "cupy": 512 * 2**20}
#: Rows per block of the ``"numba"`` backend's forward-only pass (:func:`_blocked_forward`), whose blocks of
#: classes then keep the logits under ``CHUNK_BYTES``; ``chunk_size`` sets it too.
FORWARD_BLOCK_ROWS = 4096
#: Columns per block of the optional gradient filter.
FILTER_BLOCK = 4096


class LinearCrossEntropyResult(NamedTuple):
    """What :func:`linear_cross_entropy` returns. ``loss`` is a float (``"mean"``/``"sum"``) or a float64
    array ``(N,)``; the gradients are ``None`` with ``gradients=False`` (``grad_bias`` also without a bias);
    ``lse`` is the float64 log-sum-exp of every row's (capped) logits; ``backend`` is the one that ran."""

    loss: Any
    grad_e: Any
    grad_c: Any
    grad_bias: Any
    lse: Any
    backend: str


class _Options(NamedTuple):
    ignore_index: int
    label_smoothing: float
    z_loss: float
    softcap: float  # 0.0: no cap
    reduction: str
    gradients: bool
    filter_eps: float  # 0.0: no filter
    unweighted: bool = True  # no class weights: smoothing's share eps / V of every class is one number


# -- arguments ------------------------------------------------------------------------------------------


def _namespace(x):
    """numpy, or cupy for a CuPy array (the only two namespaces the kernels know)."""
    if type(x).__module__.split(".")[0] == "cupy":
        import cupy

        return cupy
    return np


def _float_matrix(xp, x, name: str, dtype=None):
    """A C-contiguous float32 or float64 array (integers become float64), finite; of ``dtype`` if given."""
    arr = xp.asarray(x) if xp is not np else v.as_array(x, name)
    if arr.dtype.kind not in "fiu":
        raise RefLossError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and arr.dtype not in (np.float32, np.float64):
        raise RefLossError(f"{name} has dtype {arr.dtype}; the kernels take float32 or float64")
    target = (arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)) if dtype is None else dtype
    if arr.dtype.kind == "f" and arr.dtype != target:
        raise RefLossError(f"{name} has dtype {arr.dtype} but e has {np.dtype(target)}: give both the same dtype")
    arr = xp.ascontiguousarray(arr, dtype=target)
    # NaN propagates through min and max and an infinity is one of them: two reductions, no N x D mask
    if arr.size and not (bool(xp.isfinite(xp.min(arr))) and bool(xp.isfinite(xp.max(arr)))):
        raise RefLossError(f"{name} contains NaN or an infinity")
    return arr


def _head(xp, e, c, bias):
    e = _float_matrix(xp, e, "e")
    if e.ndim != 2 or 0 in e.shape:
        raise RefLossError(f"e must be a non-empty 2-D array (N, D) of hidden states, got shape {e.shape}")
    c = _float_matrix(xp, c, "c", e.dtype)
    if c.ndim != 2 or 0 in c.shape:
        raise RefLossError(f"c must be a non-empty 2-D array (V, D), one row per class, got shape {c.shape}")
    if c.shape[1] != e.shape[1]:
        raise RefLossError(f"c has {c.shape[1]} features per class but e has {e.shape[1]} per row (shapes "
                           f"{c.shape} and {e.shape})")
    if bias is not None:
        bias = _float_matrix(xp, bias, "bias", e.dtype)
        if bias.shape != (c.shape[0],):
            raise RefLossError(f"bias must have shape ({c.shape[0]},) (one entry per class), got {bias.shape}")
    return e, c, bias


def _targets(xp, target, n_rows: int, n_classes: int, ignore_index: int):
    host = target.get() if hasattr(target, "get") else target
    y = v.class_targets(host, (n_rows, n_classes), ignore_index, "target").astype(np.int64)
    return y if xp is np else xp.asarray(y)


def _class_weights(weight, n_classes: int):
    """Host float64 weights (or ones), their total and the leave-one-out sums sum_{c != v} w_c."""
    host = weight.get() if hasattr(weight, "get") else weight
    w = np.ones(n_classes) if host is None else v.nonnegative_weights(host, "weight", length=n_classes)
    return w, float(w.sum()), _leave_one_out_sums(w)


def _chunk_rows(chunk_size, n_rows: int, n_classes: int, itemsize: int, backend: str) -> int:
    if chunk_size is None:
        return int(min(n_rows, max(1, CHUNK_BYTES[backend] // (n_classes * itemsize))))
    rows = v.integer(chunk_size, "chunk_size")
    if rows < 1:
        raise RefLossError(f"chunk_size must be a positive number of rows, got {rows}")
    return min(n_rows, rows)


# -- the row step, array-namespace form ---------------------------------------------------------------


def _capped(xp, u, cap: float):
    """(z, slope) = (s tanh(u/s), 1 - tanh^2(u/s)) from q = e^{-2|t|}, t = u/s: tanh|t| = (1 - q)/(1 + q) and
    slope = 4q/(1 + q)^2. One exponential per entry: expm1 where |t| < 1/2 (1 - q has no cancellation), exp
    elsewhere (q itself keeps its digits where the slope is tiny), the other taken as +-1 from it, where that
    loses nothing."""
    x = u / u.dtype.type(cap)
    a = -2.0 * xp.abs(x)
    near = a > -1.0
    em = xp.where(near, xp.expm1(xp.where(near, a, 0.0)), 0.0)  # q - 1
    q = xp.where(near, 1.0 + em, xp.exp(xp.where(near, 0.0, a)))
    one_minus_q = xp.where(near, -em, 1.0 - q)
    z = xp.where(xp.abs(x) < 1e-8, u, xp.copysign(one_minus_q / (1.0 + q) * u.dtype.type(cap), x))
    return z.astype(u.dtype, copy=False), (4.0 * q / (1.0 + q) ** 2).astype(u.dtype, copy=False)


def _softmax_over_uniform_minus_1(xp, z, ex, m, s, p):
    """V p_j - 1 (float64) of a chunk's logits ``z``, given ex = e^{z - m}, s = sum_{j != top} ex_j and p.

    As :func:`refloss.numerics.softmax_over_uniform_minus_1`: expm1(z_j - A) where z_j - A = D_j is below 1 in
    magnitude, A = log mean_k e^{z_k} = r + log1p(mean_k expm1(z_k - r)) from r = m + log1p((s + 1 - V) / V)
    (m when the logits tie); each expm1(z_k - r) with |z_k - r| >= 1 is taken as e^{z_k - m} e^{m - r} - 1
    (no cancellation there)."""
    n_classes = z.shape[1]
    m = m.astype(xp.float64)[:, None]
    r = m + xp.log1p((s - (n_classes - 1)) / n_classes)[:, None]
    d = z.astype(xp.float64) - r
    near = xp.abs(d) < 1.0
    far = ex.astype(xp.float64) * xp.exp(m - r) - 1.0
    log_ratio = d - xp.log1p(xp.mean(xp.where(near, xp.expm1(xp.where(near, d, 0.0)), far), axis=1))[:, None]
    near = xp.abs(log_ratio) < 1.0
    return xp.where(near, xp.expm1(xp.where(near, log_ratio, 0.0)), n_classes * p.astype(xp.float64) - 1.0)


def rows_xp(xp, L, bias, y, w, w_loo, w_sum: float, opts: _Options, scale: float):
    """The row step on a chunk of logits ``L`` (overwritten by G when ``opts.gradients``); returns (loss, lse).

    Every backend implements exactly this; it is the specification the Numba and CUDA kernels follow.
    """
    n, n_classes = L.shape
    eps, lam = opts.label_smoothing, opts.z_loss
    u = L if bias is None else L + bias
    if opts.softcap:
        with np.errstate(over="ignore", under="ignore"):
            z, slope = _capped(xp, u, opts.softcap)
    else:
        z, slope = u, None
    rows = xp.arange(n)
    top = xp.argmax(z, axis=1)
    m = z[rows, top]
    ex = xp.exp(z - m[:, None])
    ex[rows, top] = 0.0  # s sums the other terms: LSE - m = log1p(s) keeps its digits when s << 1
    s = xp.sum(ex, axis=1, dtype=xp.float64)
    ex[rows, top] = 1.0
    log1p_s = xp.log1p(s)
    lse = m.astype(xp.float64) + log1p_s
    kept = y != opts.ignore_index
    y_safe = xp.where(kept, y, 0)
    w_y = w[y_safe] * kept
    z_y = z[rows, y_safe].astype(xp.float64)
    # CE = (1 - eps) w_y (LSE - z_y) + (eps / V) sum_c w_c (LSE - z_c), each LSE - z_c = (m - z_c) + log1p(s) >= 0
    nll_y = (m.astype(xp.float64) - z_y) + log1p_s
    loss = (1.0 - eps) * w_y * nll_y
    if eps:
        spread = xp.sum((m[:, None] - z) * w.astype(z.dtype), axis=1, dtype=xp.float64) + log1p_s * w_sum
        loss = loss + (eps / n_classes) * kept * spread
    if lam:
        loss = loss + lam * kept * lse**2
    if opts.gradients:
        dtype = L.dtype
        p = ex / (1.0 + s)[:, None].astype(dtype)
        p_minus_1 = p - 1.0
        p_minus_1[rows, top] = (-s / (1.0 + s)).astype(dtype)  # 1 - p_max = s / (1 + s), without cancellation
        on_target = xp.zeros(L.shape, dtype=bool)
        on_target[rows, y_safe] = True
        a_y = ((1.0 - eps) * w_y).astype(dtype)[:, None]
        if eps and opts.unweighted:
            # the share of the uniform distribution, (eps / V)(V p_j - 1), from differences of logits
            # (refloss.numerics.softmax_over_uniform_minus_1)
            g = p * xp.where(on_target, 0.0, a_y) + xp.where(on_target, a_y, 0.0) * p_minus_1
            g = g + (eps / n_classes) * _softmax_over_uniform_minus_1(xp, z, ex, m, s, p).astype(dtype)
        else:
            a = xp.where(on_target, a_y, 0.0) + (eps / n_classes) * w.astype(dtype)
            rest = xp.where(on_target, 0.0, a_y) + (eps / n_classes) * w_loo.astype(dtype)
            g = p * rest + a * p_minus_1
        if lam:
            g = g + (2.0 * lam * lse).astype(dtype)[:, None] * p
        g = g * (scale * kept).astype(dtype)[:, None]
        L[...] = g if slope is None else g * slope
    return loss, lse


# -- the driver ------------------------------------------------------------------------------------------


class _Backend(NamedTuple):
    xp: Any
    rows: Any  # (L, bias, y, w, w_loo, w_sum, opts, scale, loss_out, lse_out) -> None
    workers: bool = False  # run each chunk on accel._cpu's workers (rows must release the GIL)


def _rows_into(xp):
    def rows(L, bias, y, w, w_loo, w_sum, opts, scale, loss_out, lse_out):
        loss, lse = rows_xp(xp, L, bias, y, w, w_loo, w_sum, opts, scale)
        loss_out[...] = loss
        lse_out[...] = lse

    return rows


def _numpy_backend():
    return _Backend(np, _rows_into(np))


def _cublas_products() -> Products:
    import cupy.cublas as cublas

    return Products(
        logits=lambda out, e_rows, c: cublas.gemm("N", "T", e_rows, c, out=out),
        times=lambda out, g, c, beta=0.0: cublas.gemm("N", "N", g, c, out=out, beta=beta),
        tn_add=lambda out, g, e_rows: cublas.gemm("T", "N", g, e_rows, out=out, alpha=1.0, beta=1.0),
    )


def products(xp, dtype) -> Products:
    return blas_products(dtype) if xp is np else _cublas_products()


def _mean_denominator(w: np.ndarray, y_host: np.ndarray, ignore_index: int) -> float:
    kept = y_host != ignore_index
    return float(w[np.where(kept, y_host, 0)][kept].sum())


def _run(backend: _Backend, e, c, y, bias, weight, opts: _Options, chunk: int, block_rows: int | None = None):
    """The chunked computation (``block_rows``: rows per block of the Numba forward pass; default ``chunk``)."""
    xp = backend.xp
    n_rows, n_classes = e.shape[0], c.shape[0]
    w, w_sum, w_loo = _class_weights(weight, n_classes)
    y_host = y.get() if hasattr(y, "get") else y
    denominator = _mean_denominator(w, y_host, opts.ignore_index)
    scale = reduce_scale((n_rows,), opts.reduction, denominator)
    w_dev, w_loo_dev = (w, w_loo) if xp is np else (xp.asarray(w), xp.asarray(w_loo))
    loss = xp.empty(n_rows, dtype=xp.float64)
    lse = xp.empty(n_rows, dtype=xp.float64)
    grad_e = xp.empty_like(e) if opts.gradients else None
    grad_c = xp.zeros_like(c) if opts.gradients else None
    grad_b = xp.zeros(n_classes, dtype=xp.float64) if opts.gradients and bias is not None else None
    buffer = None if backend.workers and not opts.gradients else xp.empty((chunk, n_classes), dtype=e.dtype)
    gemm = products(xp, e.dtype)

    def row_step(logits, rows: slice):
        backend.rows(logits, bias, y[rows], w_dev, w_loo_dev, w_sum, opts, scale, loss[rows], lse[rows])

    if backend.workers and not opts.gradients:
        with single_threaded_blas():
            _blocked_forward(e, c, y, bias, w, w_sum, opts, loss, lse, block_rows or chunk, _cpu.worker_count())
    elif backend.workers:
        with single_threaded_blas():
            workers = _cpu.worker_count()
            for start in range(0, n_rows, chunk):
                rows = slice(start, min(n_rows, start + chunk))
                _worker_chunk(gemm, row_step, buffer, e, c, rows, grad_e, grad_c, grad_b, opts, workers)
    else:
        for start in range(0, n_rows, chunk):
            rows = slice(start, min(n_rows, start + chunk))
            logits = buffer[: rows.stop - start]
            gemm.logits(logits, e[rows], c)
            row_step(logits, rows)
            if opts.gradients:
                _backward_chunk(xp, gemm, logits, c, e[rows], grad_e[rows], grad_c, grad_b, opts)
    return reduce(loss, opts.reduction, denominator), grad_e, grad_c, \
        None if grad_b is None else grad_b.astype(e.dtype), lse


def forward_on_workers(gemm: Products, row_step, logits, e_rows, c, rows: slice, workers: int) -> None:
    """The logits of a chunk by blocks of classes, then ``row_step(block, its rows)`` by blocks of rows, each
    on ``workers`` threads (``rows``: the chunk's rows in the whole batch)."""
    n_classes = c.shape[0]
    each(lambda k: gemm.logits(logits[:, share(n_classes, k, workers)], e_rows, c[share(n_classes, k, workers)]),
         workers)

    def step(k):
        mine = share(len(logits), k, workers)
        row_step(logits[mine], slice(rows.start + mine.start, rows.start + mine.stop))

    each(step, workers)


def _worker_chunk(gemm: Products, row_step, buffer, e, c, rows: slice, grad_e, grad_c, grad_b, opts, workers: int):
    """One chunk on ``workers`` threads (NumPy arrays, single-threaded BLAS): the forward as
    :func:`forward_on_workers`, then ``G @ c`` by blocks of features and ``G^T e``, ``grad_bias`` by blocks of
    classes (the gradient filter's blocks dealt out in turn), so that the workers together pack each operand
    once."""
    n_classes, n_features = c.shape
    e_rows, logits = e[rows], buffer[: rows.stop - rows.start]
    forward_on_workers(gemm, row_step, logits, e_rows, c, rows, workers)
    if not opts.gradients:
        return
    kept = _kept_blocks(np, logits, opts.filter_eps)
    blocks = list(_blocks(n_classes)) if kept is None else kept

    def backward(k):
        features = share(n_features, k, workers)
        summed = [slice(0, n_classes)] if kept is None else kept
        for i, classes in enumerate(summed):
            gemm.times(grad_e[rows, features], logits[:, classes], c[classes, features], 0.0 if i == 0 else 1.0)
        if not summed:
            grad_e[rows, features] = 0
        # G^T e by blocks: BLAS packs G's block, and a whole share would keep 16 MiB more resident per worker
        for classes in blocks[k::workers]:
            gemm.tn_add(grad_c[classes], logits[:, classes], e_rows)
        if grad_b is not None:
            mine = share(n_classes, k, workers)
            with np.errstate(invalid="ignore", over="ignore"):  # per thread; overflowing logits are refused after
                grad_b[mine] += logits[:, mine].sum(axis=0, dtype=np.float64)

    each(backward, workers)


def _blocked_forward(e, c, y, bias, w, w_sum: float, opts: _Options, loss, lse, block_rows: int, workers: int):
    """The forward pass of the ``"numba"`` backend by blocks of rows *and* classes (:func:`by_blocks`): the
    state of each row (:func:`accel._numba_kernels.online_rows`) is merged block after block; then, per row,
    the loss of :func:`rows_xp` from that state."""
    from . import _numba_kernels

    n_rows = e.shape[0]
    state = (np.empty(n_rows), np.empty(n_rows, dtype=np.int64), np.empty(n_rows), np.zeros(n_rows), np.empty(n_rows),
             np.empty(n_rows))
    eps = opts.label_smoothing

    def step(block, rows: slice, first: int):
        _numba_kernels.online_rows(block, first, bias, opts.softcap, y[rows], w, opts.ignore_index, eps,
                                   [array[rows] for array in state])

    by_blocks(e, c, block_rows, workers, step)
    n_classes = c.shape[0]
    m, _, s, z_y, spread, _ = state
    log1p_s = np.log1p(s)
    lse[...] = m + log1p_s
    kept = y != opts.ignore_index
    w_y = w[np.where(kept, y, 0)] * kept
    loss[...] = (1.0 - eps) * w_y * ((m - z_y) + log1p_s)
    if eps:
        loss += (eps / n_classes) * kept * (spread + log1p_s * w_sum)
    if opts.z_loss:
        loss += opts.z_loss * kept * lse**2


def by_blocks(e, c, block_rows: int, workers: int, step) -> None:
    """``step(logits, rows, first)`` over the logits ``e @ c.T`` by blocks of ``block_rows`` rows and of as
    many classes as keep a block under ``CHUNK_BYTES["numba"]`` (the logits of ``rows``, classes ``first ..``),
    the blocks of classes in order, on ``workers`` threads (:func:`forward_on_workers`).

    A pass that needs no whole row at once (the forward pass alone, with an online log-sum-exp) runs this way:
    the classifier is read once per block of rows, not once per chunk of a few rows.
    """
    n_rows, n_classes = e.shape[0], c.shape[0]
    width = int(min(n_classes, max(1, CHUNK_BYTES["numba"] // (block_rows * e.dtype.itemsize))))
    buffer = np.empty((min(block_rows, n_rows), width), dtype=e.dtype)
    gemm = products(np, e.dtype)
    for start in range(0, n_rows, block_rows):
        rows = slice(start, min(n_rows, start + block_rows))
        for first in range(0, n_classes, width):
            classes = slice(first, min(n_classes, first + width))
            logits = buffer[: rows.stop - start, : classes.stop - first]
            forward_on_workers(gemm, lambda block, part, first=first: step(block, part, first), logits, e[rows],
                               c[classes], rows, workers)


def _blocks(n_classes: int):
    """Slices of ``FILTER_BLOCK`` classes (the last one ragged)."""
    return (slice(lo, min(n_classes, lo + FILTER_BLOCK)) for lo in range(0, n_classes, FILTER_BLOCK))


def _kept_blocks(xp, g, filter_eps: float):
    """The column blocks of G that enter the backward products: ``None`` (all of G) without the gradient
    filter; else the blocks of :func:`_blocks` with an entry of magnitude ``filter_eps`` or more."""
    if not filter_eps:
        return None
    return [cols for cols in _blocks(g.shape[1]) if float(xp.max(xp.abs(g[:, cols]))) >= filter_eps]


def _backward_chunk(xp, gemm: Products, g, c, e_rows, grad_e_rows, grad_c, grad_b, opts):
    if grad_b is not None:
        grad_b += xp.sum(g, axis=0, dtype=xp.float64)
    kept = _kept_blocks(xp, g, opts.filter_eps)
    if kept is None:
        gemm.times(grad_e_rows, g, c)
        gemm.tn_add(grad_c, g, e_rows)
        return
    grad_e_rows[...] = 0
    for cols in kept:
        block = xp.ascontiguousarray(g[:, cols])
        gemm.times(grad_e_rows, block, c[cols], 1.0)
        gemm.tn_add(grad_c[cols], block, e_rows)


# -- the public function ---------------------------------------------------------------------------------


def linear_cross_entropy(e, c, target, *, bias=None, weight=None, ignore_index: int = -100,
                         label_smoothing: float = 0.0, z_loss: float = 0.0, softcap: float | None = None,
                         reduction: str = "mean", gradients: bool = True, filter_eps: float | None = None,
                         backend: str = "auto", chunk_size: int | None = None) -> LinearCrossEntropyResult:
    r"""Cross-entropy of the linear head ``e @ c.T + bias`` and its gradients, never holding the N x V logits.

    The semantics of :func:`refloss.linear_cross_entropy` (its reference twin, which materialises the logits in
    float64) on its 2-D heads with class targets: class weights, ``ignore_index``, label smoothing, PaLM's z-loss
    :math:`\lambda\,\mathrm{LSE}^2`, Gemma 2's soft cap :math:`s\tanh(u/s)`, and PyTorch's ``"mean"``
    (divided by the total class weight of the kept targets; ``nan`` with a warning when that is 0). The twin's
    other cases (probability targets, classifiers per position, batches of other shapes or of no row) raise here. The
    gradients are those of the reduced loss (of ``loss.sum()`` for ``"none"``).

    Args:
        e: hidden states ``(N, D)``, float32 or float64 (NumPy, or CuPy for the ``"cupy"`` backend).
        c: classifier ``(V, D)``, same dtype; ``bias``: optional ``(V,)``, same dtype.
        target: class indices ``(N,)``.
        gradients: ``False`` for the forward pass only (evaluation): no gradient GEMMs, no gradient arrays.
        filter_eps: opt-in gradient filter: column blocks of ``FILTER_BLOCK`` classes whose scaled gradient
            entries are all below it in magnitude are skipped in the backward products (the Cut Cross-Entropy
            trick; off by default, so results match the reference). Each skipped block changes ``grad_e[n, d]``
            by at most ``filter_eps * sum |c[v, d]|`` over its classes and ``grad_c[v, d]`` by at most
            ``filter_eps * sum |e[n, d]|`` over the chunk's rows; ``grad_bias`` is never filtered.
        backend: ``"auto"`` (CuPy arrays: ``"cupy"``; else ``"numba"`` if installed, else ``"numpy"``),
            ``"numpy"``, ``"numba"`` or ``"cupy"``; the result's ``backend`` says which ran. ``"numba"`` runs
            on ``numba.get_num_threads()`` threads and, for the length of the call, holds every BLAS loaded in
            the process to one thread per caller (so another thread's BLAS call meanwhile runs on one core).
        chunk_size: rows per chunk (default: as many as keep the chunk x V buffer under ``CHUNK_BYTES`` of
            the backend: 32 MiB for ``"numpy"``, 64 MiB for ``"numba"``, 512 MiB for ``"cupy"``).

    Returns:
        :class:`LinearCrossEntropyResult` ``(loss, grad_e, grad_c, grad_bias, lse, backend)``.

    Raises:
        RefLossError: as the reference (shapes, dtypes, NaN or inf, class indices, parameter domains), an
            unknown backend, or :class:`accel.MissingBackendError` naming the extra to install.

    >>> import numpy as np
    >>> e, c = np.array([[1.0, 0.0]]), np.array([[0.0, 0.0], [np.log(3.0), 0.0]])  # z = (0, log 3)
    >>> out = linear_cross_entropy(e, c, [1], backend="numpy")
    >>> round(out.loss, 15), out.grad_c[:, 0]  # -log(3/4); G = p - e_y = (1/4, -1/4), G^T e
    (0.287682072451781, array([ 0.25, -0.25]))
    """
    xp = _namespace(e)
    name = _backend_for(xp, backend)
    e, c, bias = _head(xp, e, c, bias)
    ignore_index = v.integer(ignore_index, "ignore_index")
    opts = _Options(
        ignore_index=ignore_index,
        label_smoothing=v.scalar(label_smoothing, v.UNIT_INTERVAL, "label_smoothing"),
        z_loss=v.scalar(z_loss, v.NONNEGATIVE, "z_loss"),
        softcap=0.0 if softcap is None else v.scalar(softcap, POSITIVE, "softcap"),
        reduction=v.choice(reduction, v.REDUCTIONS, "reduction"),
        gradients=bool(gradients),
        filter_eps=0.0 if filter_eps is None else v.scalar(filter_eps, v.Interval(0.0, 1.0, lo_open=True),
                                                            "filter_eps"),
        unweighted=weight is None,
    )
    y = _targets(xp, target, e.shape[0], c.shape[0], ignore_index)
    if weight is not None:
        _class_weights(weight, c.shape[0])  # validated before any work
    chunk = _chunk_rows(chunk_size, e.shape[0], c.shape[0], e.dtype.itemsize, name)
    # Logits beyond the dtype's range become inf and then NaN (inf - inf): refused below, on the LSE.
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        block_rows = chunk if chunk_size is not None else min(e.shape[0], FORWARD_BLOCK_ROWS)
        loss, grad_e, grad_c, grad_b, lse = _run(_BACKENDS[name](), e, c, y, bias, weight, opts, chunk, block_rows)
    if not bool(xp.isfinite(lse).all()):
        raise RefLossError("the logits e @ c.T + bias overflow the input dtype (an entry's products exceed its "
                           "range); scale the inputs or use float64")
    return LinearCrossEntropyResult(loss, grad_e, grad_c, grad_b, lse, name)


def _backend_for(xp, backend: str) -> str:
    """The backend for arrays of namespace ``xp``: "auto" follows the data (CuPy arrays: cupy; NumPy: numba
    when installed, else numpy); a named backend must suit the arrays."""
    if backend == "auto":
        return "cupy" if xp is not np else ("numba" if "numba" in available_backends() else "numpy")
    name = resolve_backend(backend)
    if (name == "cupy") != (xp is not np):
        raise RefLossError(f"backend {name!r} needs {'CuPy' if name == 'cupy' else 'NumPy'} arrays for e and c, "
                           f"got {xp.__name__} arrays")
    return name


def _numba_backend():
    from . import _numba_kernels

    return _Backend(np, _numba_kernels.rows, workers=True)


def _cupy_backend():
    import cupy

    from . import _cupy_kernels

    return _Backend(cupy, _cupy_kernels.rows)


_BACKENDS = {"numpy": _numpy_backend, "numba": _numba_backend, "cupy": _cupy_backend}
