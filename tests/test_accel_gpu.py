"""The CuPy backends on a GPU: the fused CUDA row steps (of ``linear_cross_entropy`` and ``linear_kl``) and the
``rows_xp`` algorithm run by CuPy, against the oracle (stress points) and the NumPy backend or the float64
reference (larger heads). Skipped where CuPy or a CUDA device is missing; everywhere else the same algorithms
are tested through the ``numpy`` backends (tests/test_accel_linear_ce.py, tests/test_accel_linear_kl.py) and
the CUDA source as C++ (tests/test_accel_cuda_on_cpu.py).
"""

import numpy as np
import pytest
import test_accel_linear_kl as kl_tests
from test_accel_linear_ce import (
    ARRAYS,
    DTYPES,
    ENTRY,
    OPTIONS,
    STRESS,
    _assert_within,
    _first_order_scales,
    _rounded,
)

import accel
from accel import linear_ce

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif("cupy" not in accel.available_backends(), reason="needs CuPy and a CUDA device")]

if "cupy" in accel.available_backends():
    import cupy


def _on_gpu(case: dict, dtype, fused: bool, chunk_size=2):
    arrays = {k: (None if case.get(k) is None else cupy.asarray(np.asarray(case[k], dtype=dtype))) for k in ARRAYS}
    options = {k: case[k] for k in OPTIONS if k in case}
    if fused:
        out = accel.linear_cross_entropy(arrays["e"], arrays["c"], cupy.asarray(case["target"]), bias=arrays["bias"],
                                         chunk_size=chunk_size, **options)
        assert out.backend == "cupy"
        return out
    # the array-namespace algorithm, run by CuPy: the numpy backend's code on the GPU
    backend = linear_ce._Backend(cupy, linear_ce._rows_into(cupy))
    opts = linear_ce._Options(options.get("ignore_index", -100), options.get("label_smoothing", 0.0),
                              options.get("z_loss", 0.0), options.get("softcap") or 0.0,
                              options.get("reduction", "mean"), True, 0.0, options.get("weight") is None)
    y = cupy.asarray(np.asarray(case["target"], dtype=np.int64))
    loss, ge, gc, gb, lse = linear_ce._run(backend, arrays["e"], arrays["c"], y, arrays["bias"],
                                           options.get("weight"), opts, chunk_size)
    return linear_ce.LinearCrossEntropyResult(loss, ge, gc, gb, lse, "cupy-xp")


def _host(x):
    return None if x is None else (x.get() if hasattr(x, "get") else x)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "xp"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case_id", list(STRESS))
def test_stress_points_match_the_oracle_on_the_gpu(case_id, dtype, fused):
    from refloss import testing
    from refloss._oracle import float64

    case = _rounded(STRESS[case_id], dtype)
    ref = testing.reference(ENTRY, case)
    out = _on_gpu(case, dtype, fused)
    _assert_within("loss", _host(out.loss), float64(ref.value), float64(ref.value_scale), dtype)
    for name, got in (("e", out.grad_e), ("c", out.grad_c), ("bias", out.grad_bias)):
        if name in ref.grads:
            _assert_within(f"grad_{name}", _host(got), float64(ref.grads[name]), float64(ref.grad_scales[name]), dtype)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "xp"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_larger_head_matches_the_reference_on_the_gpu(dtype, fused):
    import refloss

    rng = np.random.default_rng(5)
    n, d, n_classes = 300, 64, 5003
    case = {"e": rng.standard_normal((n, d)), "c": rng.standard_normal((n_classes, d)) * 0.3,
            "target": rng.integers(0, n_classes, n), "bias": rng.standard_normal(n_classes),
            "weight": rng.uniform(0.1, 2.0, n_classes), "label_smoothing": 0.1, "z_loss": 1e-4, "softcap": 30.0}
    case["target"][::5] = -100
    case = _rounded(case, dtype)
    ref_loss, ref = refloss.linear_cross_entropy(**case), refloss.linear_cross_entropy_grad(**case)
    loss_scale, e_scale, c_scale, b_scale = _first_order_scales(case)
    out = _on_gpu(case, dtype, fused, chunk_size=77)
    _assert_within("loss", out.loss, ref_loss, loss_scale, dtype)
    _assert_within("grad_e", _host(out.grad_e), ref.e, e_scale, dtype)
    _assert_within("grad_c", _host(out.grad_c), ref.c, c_scale, dtype)
    _assert_within("grad_bias", _host(out.grad_bias), ref.bias, b_scale, dtype)


def test_token_stats_on_the_gpu_match_the_cpu():
    rng = np.random.default_rng(6)
    e, c = rng.standard_normal((50, 16)), rng.standard_normal((999, 16))
    y = rng.integers(0, 999, 50)
    cpu = accel.token_stats(e, c, y, softcap=20.0, backend="numpy", chunk_size=7)
    gpu = accel.token_stats(cupy.asarray(e), cupy.asarray(c), cupy.asarray(y), softcap=20.0, chunk_size=7)
    assert gpu.backend == "cupy"
    for name in ("lse", "target_logprob", "entropy"):
        np.testing.assert_allclose(_host(getattr(gpu, name)), getattr(cpu, name), rtol=1e-13, atol=1e-13)
    for name in ("rank", "top_k", "argmax", "kept"):
        np.testing.assert_array_equal(_host(getattr(gpu, name)), getattr(cpu, name))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case_id", list(kl_tests.ENTRY.stress_cases()))
def test_linear_kl_stress_points_match_the_oracle_on_the_gpu(case_id, dtype):
    kl_tests._check_against_oracle(kl_tests.ENTRY.stress_cases()[case_id], dtype, chunk_size=2, backend="cupy",
                                   device=cupy.asarray)


def test_linear_kl_on_the_gpu_matches_the_reference_on_a_larger_head():
    """More classes than a thread block has threads (the block reductions at work), in many chunks, entry by
    entry within the policy of the float64 reference (tests/test_accel_linear_kl.py's larger-head check)."""
    e, c_s, c_t = kl_tests.larger_head()
    for chunk in (7, None):
        out = accel.linear_kl(cupy.asarray(e), cupy.asarray(c_s), cupy.asarray(c_t), temperature=2.0,
                              reduction="sum", chunk_size=chunk)
        assert out.backend == "cupy"
        kl_tests.check_larger_head(out, e, c_s, c_t)
