"""Rows in blocks: an object whose rows are independent computes them a bounded block at a time.

A real batch (4096 x 32000 float64 logits, 1000 MiB) would otherwise cost a few times its size in full-size
temporaries (a shifted copy, its exponentials, a coefficient array). :func:`by_rows` runs the object's readable
per-row formula on blocks of rows and writes each result into an output allocated once, so the value needs
O(block) memory beyond its output and the gradient little more than itself. The numbers are the same as on the
whole array: every row is computed by the same operations either way.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

#: Numbers per temporary of one block: 2^15 float64 = 256 KiB, whatever the row length (a row longer than this is
#: one block by itself), so that a block's few temporaries stay in the processor's cache. Measured at 4096 x 32000
#: (``benchmarks/reference_scale.py``, one row per block): the value of cross-entropy 3.4x and of the binary
#: cross-entropy 2.7x slower at 2^17, both slower again at 2^21. What this does not control: glibc may hand the top
#: of its heap back to the system when a block's temporaries are freed and fault it in again on the next block
#: (about 156 page faults per block, seen in the values of ``kl_divergence_logits``, ``softmax_tsallis_entropy`` and
#: ``softmax_entropy`` in a fresh process); any earlier free of an array of at most 32 MiB raises glibc's
#: thresholds and ends it, so it depends on what the process did before.
BLOCK_ELEMENTS = 2 ** 15


def row_slices(n_rows: int, row_size: int, block_elements: int | None = None) -> list[slice]:
    """Consecutive slices of ``n_rows`` rows of ``row_size`` numbers, each at most ``block_elements`` numbers
    (default :data:`BLOCK_ELEMENTS`, read at the call; at least one row).

    >>> row_slices(5, 4, block_elements=8)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    step = max(1, (BLOCK_ELEMENTS if block_elements is None else block_elements) // max(row_size, 1))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)] or [slice(0, 0)]


def as_rows(z: np.ndarray) -> np.ndarray:
    """``z`` as rows over its last axis, ``(N, C)`` (a view of a contiguous array; a 1-D ``z`` is one row)."""
    return z.reshape(-1, z.shape[-1])


def element_rows(*arrays) -> list[np.ndarray]:
    """Elementwise arrays broadcast to the first one's shape, as rows over its last axis, for :func:`by_rows` (views:
    broadcast weights are not copied; a 0-d array is one row of one, an empty one no row).

    >>> [a.shape for a in element_rows(np.zeros((2, 3)), 1.0)], element_rows(np.zeros(0))[0].shape
    ([(2, 3), (2, 3)], (0, 1))
    """
    shape = np.shape(arrays[0])
    width = (max(shape[-1], 1) if shape else 1)
    return [np.broadcast_to(a, shape).reshape(-1, width) for a in arrays]


def by_rows(fn: Callable, *arrays: np.ndarray, row_size: int | None = None):
    """``fn(*blocks)`` on blocks of the arrays' rows (their first axis), the results stacked along it.

    Each array's first axis indexes the same rows; ``fn`` returns an array, or a tuple of arrays, whose first axis
    is the block's rows. The outputs are allocated once, from the first block's results. ``row_size``: the numbers
    a row's temporaries hold (default: the first array's row).

    >>> by_rows(lambda z: z.sum(axis=-1), np.arange(6.0).reshape(3, 2))
    array([1., 5., 9.])
    """
    n_rows = arrays[0].shape[0]
    row_size = int(np.prod(arrays[0].shape[1:])) if row_size is None else row_size
    outputs = None
    for rows in row_slices(n_rows, row_size):
        result = fn(*(a[rows] for a in arrays))
        parts = result if isinstance(result, tuple) else (result,)
        if outputs is None:
            outputs = tuple(np.empty((n_rows,) + np.shape(p)[1:], dtype=np.result_type(p)) for p in parts)
        for out, part in zip(outputs, parts):
            out[rows] = part
    return outputs if isinstance(result, tuple) else outputs[0]


def outputs_by_rows(terms_of: Callable, outputs: tuple[Callable, ...], *arrays: np.ndarray) -> tuple:
    """``(f(terms) for f in outputs)`` with ``terms = terms_of(*blocks)``, by rows: a block's shared terms (its
    log-softmax) are computed once for every output asked for, so that a value and its gradient from one pass are
    the same numbers as from two.

    >>> outputs_by_rows(lambda z: 2.0 * z, (lambda t: t.sum(axis=-1), lambda t: t[:, 0]), np.arange(4.0).reshape(2, 2))
    (array([ 2., 10.]), array([0., 4.]))
    """
    return by_rows(lambda *block: (lambda terms: tuple(f(terms) for f in outputs))(terms_of(*block)), *arrays)


def reduce_by_rows(terms_of: Callable, losses_of: Callable, *arrays: np.ndarray, reduction: str,
                   also: tuple[Callable, ...] = ()) -> tuple:
    """``(reduce(losses), *outputs)``: :func:`refloss._reduce.reduce` (denominator: the number of elements) of the
    elementwise losses ``losses_of(terms)``, ``terms = terms_of(*blocks)``, and the outputs ``also`` (a gradient)
    of the same terms in the same pass (:func:`outputs_by_rows`). For ``"sum"`` and ``"mean"`` the losses take
    O(rows) memory: a block's are summed per row as they are made. Where a row's sum overflows, the losses are made
    whole, for ``reduce``'s rule (the mean of finite values that do not overflow)."""
    from ._reduce import reduce

    if reduction == "none":
        return outputs_by_rows(terms_of, (losses_of, *also), *arrays)

    def row_sums(terms):
        # a row sum beyond the float64 range is inf (or, of losses of both signs, nan): then the rule below
        with np.errstate(over="ignore", invalid="ignore"):
            return np.sum(losses_of(terms), axis=-1)

    sums, *outputs = outputs_by_rows(terms_of, (row_sums, *also), *arrays)
    if not np.isfinite(sums).all():
        return (reduce(losses_of(terms_of(*arrays)), reduction), *outputs)
    return (reduce(sums, reduction, denominator=float(np.prod(arrays[0].shape))), *outputs)
