"""The CPU's block products and its workers.

**Products.** The three GEMMs of a chunk go to SciPy's BLAS through the function pointers that
``scipy.linalg.cython_blas`` exports (as Numba's own ``np.dot`` does), called with :mod:`ctypes`: any operand
may be a block of rows or of columns of a C-ordered array (a row stride and unit steps along a row), so no
operand is copied and no V x D temporary exists; and the call releases the GIL, so that several threads can
each run one.

**Workers** (the ``"numba"`` backend). A multi-threaded BLAS and a parallel row step take turns on the same
cores, and each leaves its threads spinning after its turn (OpenBLAS for about 2^28 cycles, GNU OpenMP's
pool for a while too), so that every turn shares the cores with the other's idle spinners: at N = 2048,
D = 1024, V = 32768 on two cores the forward GEMMs then took 671 ms instead of 609 and the row steps 35 ms
instead of 24. :func:`each` runs one task per worker instead: a pool of plain threads that sleep when idle,
each running a single-threaded BLAS call (:func:`single_threaded_blas`) or a row step on its share of the
chunk. The shares are chosen so that the workers together pack each operand once, as one multi-threaded
GEMM would: the logits by blocks of classes, the row step by rows, ``G @ c`` by blocks of features and
``G^T e`` by blocks of classes.
"""

from __future__ import annotations

import ctypes
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np


class Products(NamedTuple):
    """The three GEMMs of a chunk, each written into its output: ``logits(out, e_rows, c)``: out = e_rows @ c.T;
    ``times(out, g, c, beta=0)``: out = g @ c + beta out; ``tn_add(out, g, e_rows)``: out += g.T @ e_rows."""

    logits: Any
    times: Any
    tn_add: Any


@functools.cache
def _fortran_gemm(dtype: np.dtype):
    """``?gemm`` of the BLAS SciPy links, as a ctypes function (13 pointer arguments, LP64 integers)."""
    from scipy.linalg import cython_blas

    capsule = cython_blas.__pyx_capi__["sgemm" if dtype == np.float32 else "dgemm"]
    name = ctypes.pythonapi["PyCapsule_GetName"]  # fresh function objects: the shared ones keep their types
    name.restype, name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    pointer = ctypes.pythonapi["PyCapsule_GetPointer"]
    pointer.restype, pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    address = pointer(capsule, name(capsule))
    number = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    integer, real = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(number)
    matrix = ctypes.c_void_p
    signature = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_char_p, integer, integer, integer, real, matrix,
                                 integer, matrix, integer, real, matrix, integer)
    return signature(address), number


def _stride(x: np.ndarray) -> int:
    """The row stride in elements of a block of a C-ordered matrix (BLAS's leading dimension)."""
    if x.ndim != 2 or x.strides[1] != x.itemsize or x.strides[0] % x.itemsize or x.strides[0] < x.shape[1] * x.itemsize:
        raise AssertionError(f"accel: a GEMM operand is not a row-major block (strides {x.strides})")
    return max(1, x.strides[0] // x.itemsize)


def blas_products(dtype) -> Products:
    """The products on row-major blocks, as column-major BLAS calls on their transposes (a row-major r x k
    block with row stride ld is the column-major k x r matrix with leading dimension ld)."""
    gemm, number = _fortran_gemm(np.dtype(dtype))

    def call(trans_a, trans_b, m, n, k, a, b, beta, out):
        if m == 0 or n == 0:
            return
        i = ctypes.c_int
        gemm(trans_a, trans_b, ctypes.byref(i(m)), ctypes.byref(i(n)), ctypes.byref(i(k)), ctypes.byref(number(1.0)),
             a.ctypes.data, ctypes.byref(i(_stride(a))), b.ctypes.data, ctypes.byref(i(_stride(b))),
             ctypes.byref(number(beta)), out.ctypes.data, ctypes.byref(i(_stride(out))))

    def logits(out, e_rows, c):  # out^T (V x r) = (c^T)^T e_rows^T
        call(b"T", b"N", c.shape[0], e_rows.shape[0], c.shape[1], c, e_rows, 0.0, out)

    def times(out, g, c, beta=0.0):  # out^T (D x r) = c^T g^T
        call(b"N", b"N", c.shape[1], g.shape[0], g.shape[1], c, g, beta, out)

    def tn_add(out, g, e_rows):  # out^T (D x V) += e_rows^T g
        call(b"N", b"T", e_rows.shape[1], g.shape[1], g.shape[0], e_rows, g, 1.0, out)

    return Products(logits, times, tn_add)


# -- workers ------------------------------------------------------------------------------------------------


def worker_count() -> int:
    """Threads of the ``"numba"`` backend: Numba's thread count (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``)."""
    import numba

    return int(numba.get_num_threads())


@functools.cache
def _pool(extra_threads: int, process: int) -> ThreadPoolExecutor:
    """One pool per process: a child forked after the parent used its pool inherits it without its threads."""
    return ThreadPoolExecutor(extra_threads, thread_name_prefix="accel")


def each(task, workers: int) -> None:
    """``task(k)`` for k = 0 .. workers - 1, at the same time (k = 0 on the calling thread); re-raises the
    first failure after all have finished."""
    if workers == 1:
        task(0)
        return
    futures = [_pool(workers - 1, os.getpid()).submit(task, k) for k in range(1, workers)]
    try:
        task(0)
    finally:
        for future in futures:
            future.exception()
    for future in futures:
        future.result()


def share(total: int, k: int, workers: int) -> slice:
    """Worker k's contiguous share of ``range(total)`` (sizes differ by at most one)."""
    return slice(total * k // workers, total * (k + 1) // workers)


@functools.cache
def _controller():
    import scipy.linalg.cython_blas  # noqa: F401 - loaded first, so that the controller sees its BLAS
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded_blas():
    """A context in which every BLAS loaded in the process runs on the calling thread only (threadpoolctl).
    Other threads' BLAS calls in the meantime are single-threaded too."""
    return _controller().limit(limits=1, user_api="blas")
