"""accel._cpu: the shares, the workers and the BLAS products on blocks of rows and of columns."""

import threading

import numpy as np
import pytest

from accel import _cpu


@pytest.mark.parametrize("total, workers", [(0, 3), (1, 3), (7, 3), (12, 4), (5, 1)])
def test_shares_partition_the_range_in_order(total, workers):
    shares = [_cpu.share(total, k, workers) for k in range(workers)]
    assert [i for s in shares for i in range(total)[s]] == list(range(total))
    sizes = [len(range(total)[s]) for s in shares]
    assert max(sizes) - min(sizes) <= 1


def test_each_runs_every_task_at_once_and_reraises_after_all_finish():
    started, finished = threading.Barrier(3, timeout=30), []

    def task(k):
        started.wait()  # all three must be running at the same time to pass the barrier
        if k == 1:
            raise ValueError("worker 1")
        finished.append(k)

    with pytest.raises(ValueError, match="worker 1"):
        _cpu.each(task, 3)
    assert sorted(finished) == [0, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_on_row_and_column_blocks_of_c_ordered_arrays(dtype):
    rng = np.random.default_rng(0)
    e, c, g = (rng.standard_normal(shape).astype(dtype) for shape in ((5, 7), (11, 7), (5, 11)))
    gemm = _cpu.blas_products(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    logits = np.zeros((5, 11), dtype=dtype)
    gemm.logits(logits[:, 3:9], e, c[3:9])  # a block of columns of the output
    np.testing.assert_allclose(logits[:, 3:9], e @ c[3:9].T, rtol=rtol)
    assert (logits[:, :3] == 0).all() and (logits[:, 9:] == 0).all()
    out = np.ones((5, 7), dtype=dtype)
    gemm.times(out[:, 2:5], g, c[:, 2:5], 1.0)  # columns of c and of the output, accumulated
    np.testing.assert_allclose(out[:, 2:5], 1.0 + g @ c[:, 2:5], rtol=rtol)
    grad_c = np.ones((11, 7), dtype=dtype)
    gemm.tn_add(grad_c[4:10], g[:, 4:10], e)
    np.testing.assert_allclose(grad_c[4:10], 1.0 + g[:, 4:10].T @ e, rtol=rtol)
    assert (grad_c[:4] == 1).all() and (grad_c[10:] == 1).all()
    with pytest.raises(AssertionError, match="row-major block"):
        gemm.logits(logits.T[:, :5], e, c)  # a transposed view is not a row-major block
