"""The CUDA row steps of the ``cupy`` backends (``accel._cupy_kernels._SOURCE``), compiled as C++ and run on the
CPU, each block as ``THREADS`` threads, against the oracle: every stress point and drawn heads, in both dtypes,
of ``accel.linear_cross_entropy`` (``ce_rows``) and ``accel.linear_kl`` (``kl_rows``).

The kernels' launchers, :func:`accel._cupy_kernels.rows` and ``kl_rows``, run as they are, with a stand-in for
CuPy whose ``RawModule`` compiles the same source with a C++ compiler: CUDA's qualifiers defined away, the
blocks run one after another, each as ``THREADS`` C++ threads with a thread-local ``threadIdx``, the
``__shared__`` arrays shared and ``__syncthreads`` a barrier. This checks the kernels' arithmetic, arguments,
strided shares and block reductions everywhere a compiler exists (a reduction that skips its last step fails
most of the stress tests); the device's math library, its memory model and the launch with 256 threads are
checked on a GPU only (``tests/test_accel_gpu.py``). Skipped, saying so, without a C++ compiler.
"""

import ctypes
import importlib.util
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import test_accel_linear_kl as kl_tests
from hypothesis import given, settings
from hypothesis import strategies as st
from test_accel_linear_ce import DTYPES, STRESS, _check_against_oracle, twin_strategy

import accel
from accel import linear_ce
from refloss import RefLossError, _cases

linear_kl = importlib.import_module("accel.linear_kl")  # the module: accel.linear_kl is also the function

COMPILER = shutil.which("g++") or shutil.which("c++")
pytestmark = pytest.mark.skipif(COMPILER is None, reason="needs a C++ compiler (g++) to build the CUDA source")

#: Threads per block on the CPU: a power of two (as the reductions need), fewer than the classes of some
#: test heads and more than those of others, so that strided shares, idle threads and reductions all run.
THREADS = 4

_CUDA_AWAY = """#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
using namespace std;
#define __device__
#define __global__
#define __shared__ static
#define __constant__
struct Index { unsigned x; };
static thread_local Index threadIdx = {0};
static Index blockIdx = {0}, blockDim = {1};
// the block's barrier; a __syncthreads that not every thread reaches (divergent code) aborts the process
// after 30 s instead of hanging it
static mutex barrier_mutex;
static condition_variable barrier_arrived;
static unsigned barrier_count = 0, barrier_generation = 0;
static void __syncthreads() {
    unique_lock<mutex> lock(barrier_mutex);
    const unsigned generation = barrier_generation;
    if (++barrier_count == blockDim.x) {
        barrier_count = 0;
        ++barrier_generation;
        barrier_arrived.notify_all();
        return;
    }
    if (!barrier_arrived.wait_for(lock, chrono::seconds(30), [&] { return generation != barrier_generation; })) {
        fprintf(stderr, "__syncthreads: not every thread of the block arrived\\n");
        abort();
    }
}
// the blocks one after another, each as blockDim.x threads
template <typename Kernel> static void run_blocks(long long grid, int threads, Kernel kernel) {
    blockDim.x = (unsigned)threads;
    for (long long b = 0; b < grid; ++b) {
        blockIdx.x = (unsigned)b;
        vector<thread> team;
        for (unsigned t = 0; t < blockDim.x; ++t) team.emplace_back([t, &kernel] { threadIdx.x = t; kernel(); });
        for (auto& member : team) member.join();
    }
}
"""


def _launchers(source: str) -> str:
    """extern "C" launch_<kernel>_float / _double(grid, threads, <the kernel's parameters>) for every kernel."""
    out = []
    for kernel, params in re.findall(r"__global__ void (\w+)\((.*?)\)\s*\{", source, re.S):
        names = [re.split(r"[\s*]+", p.strip())[-1] for p in params.split(",")]
        for dtype in ("float", "double"):
            typed = re.sub(r"\bT\b", dtype, " ".join(params.split()))
            out.append(f'extern "C" void launch_{kernel}_{dtype}(long long grid, int threads, {typed}) {{\n'
                       f"  run_blocks(grid, threads, [&] {{ {kernel}<{dtype}>({', '.join(names)}); }});\n}}\n")
    return "".join(out)


def _argument(value):
    if isinstance(value, np.ndarray):
        assert value.flags.c_contiguous
        return ctypes.c_void_p(value.ctypes.data)
    return {np.int32: ctypes.c_int, np.int64: ctypes.c_longlong, np.float64: ctypes.c_double}[type(value)](value)


class _RawModule:
    """cupy.RawModule's part that _cupy_kernels uses, for the C++ build of the source."""

    def __init__(self, code, options, name_expressions, folder: Path):
        source, library = folder / "kernels.cpp", folder / "kernels.so"
        source.write_text(_CUDA_AWAY + code + _launchers(code))
        defines = [option for option in options if option.startswith("-D")]  # as -DBLOCK_THREADS=256
        subprocess.run([COMPILER, "-std=c++14", "-O1", "-ffp-contract=off", "-pthread", *defines, "-shared", "-fPIC",
                        str(source), "-o", str(library)], check=True, capture_output=True)
        self._library = ctypes.CDLL(str(library))

    def get_function(self, name):
        kernel, dtype = re.fullmatch(r"(\w+)<(\w+)>", name).groups()
        launch = getattr(self._library, f"launch_{kernel}_{dtype}")
        return lambda grid, block, args: launch(ctypes.c_longlong(grid[0]), ctypes.c_int(block[0]),
                                                *map(_argument, args))


@pytest.fixture(scope="module")
def cuda_kernels(tmp_path_factory):
    """accel._cupy_kernels loaded with the stand-in for CuPy (not registered as a module)."""
    folder = tmp_path_factory.mktemp("cuda_on_cpu")
    fake = types.SimpleNamespace(empty=np.empty,
                                 RawModule=lambda code, options, name_expressions: _RawModule(
                                     code, options, name_expressions, folder))
    spec = importlib.util.spec_from_file_location("_cupy_kernels_on_cpu",
                                                  Path(accel.__file__).parent / "_cupy_kernels.py")
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(sys.modules, {"cupy": fake}):
        spec.loader.exec_module(module)
    module._THREADS = THREADS  # before the source compiles: it sizes the shared arrays (-DBLOCK_THREADS)
    return module


def _numpy_backend_runs_the_cuda_source(kernels):
    """The ``numpy`` backend's driver with the CUDA row step (its arrays are NumPy's: xp is numpy)."""
    return mock.patch.dict(linear_ce._BACKENDS, {"numpy": lambda: linear_ce._Backend(np, kernels.rows)})


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case_id", list(STRESS))
def test_stress_points_match_the_oracle(case_id, dtype, cuda_kernels):
    with _numpy_backend_runs_the_cuda_source(cuda_kernels):
        _check_against_oracle(STRESS[case_id], "numpy", dtype, chunk_size=2)


@given(data=st.data())
def test_drawn_heads_match_the_oracle_in_both_dtypes(data, cuda_kernels):
    with _cases.small_shapes(max_side=3, max_classes=5):
        case = data.draw(twin_strategy(False), label="case")
    chunk = data.draw(st.none() | st.integers(1, 3), label="chunk_size")
    with _numpy_backend_runs_the_cuda_source(cuda_kernels):
        for dtype in DTYPES:
            _check_against_oracle(case, "numpy", dtype, chunk)


def _numpy_backend_runs_the_kl_source(kernels):
    """accel.linear_kl's ``numpy`` backend with the CUDA row step (the driver of the ``cupy`` backend)."""
    return mock.patch.dict(linear_kl._ROW_STEPS, {"numpy": lambda: kernels.kl_rows})


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case_id", list(kl_tests.ENTRY.stress_cases()))
def test_kl_stress_points_match_the_oracle(case_id, dtype, cuda_kernels):
    with _numpy_backend_runs_the_kl_source(cuda_kernels):
        kl_tests._check_against_oracle(kl_tests.ENTRY.stress_cases()[case_id], dtype, chunk_size=2)


@settings(max_examples=min(10, settings().max_examples))  # each example evaluates the oracle twice
@given(data=st.data())
def test_kl_drawn_heads_match_the_oracle_in_both_dtypes(data, cuda_kernels):
    with _cases.small_shapes(max_side=3, max_classes=4):
        case = data.draw(_cases.strategy(kl_tests.ENTRY, False), label="case")
    chunk = data.draw(st.none() | st.integers(1, 3), label="chunk_size")
    with _numpy_backend_runs_the_kl_source(cuda_kernels):
        for dtype in DTYPES:
            kl_tests._check_against_oracle(case, dtype, chunk)


def test_kl_loss_alone_and_refusals(cuda_kernels):
    """Without gradients the kernel writes the loss only (two buffers); logits beyond float64 once divided by
    the temperature are marked for the driver to refuse."""
    case = kl_tests.ENTRY.stress_cases()["gaps__temperature_2"]
    with _numpy_backend_runs_the_kl_source(cuda_kernels):
        full = kl_tests._run(case, np.float64, backend="numpy")
        alone = kl_tests._run(case, np.float64, backend="numpy", gradients=False)
        assert alone.grad_e is None
        np.testing.assert_array_equal(alone.loss, full.loss)
        with pytest.raises(RefLossError, match="overflow"):  # float32 logits beyond range
            accel.linear_kl(np.full((1, 2), 1e20, dtype=np.float32), np.full((2, 2), 1e20, dtype=np.float32),
                            np.zeros((2, 2), dtype=np.float32), backend="numpy")
        with pytest.raises(RefLossError, match="overflow"):  # finite, beyond float64 once divided by T
            accel.linear_kl(np.full((1, 2), 1e154), np.full((2, 2), 1e154), np.zeros((2, 2)), temperature=1e-3,
                            backend="numpy")


def test_kl_larger_head_matches_the_float64_reference_in_many_chunks(cuda_kernels):
    e, c_s, c_t = kl_tests.larger_head()
    with _numpy_backend_runs_the_kl_source(cuda_kernels):
        for chunk in (1, 7, None):
            kl_tests.check_larger_head(accel.linear_kl(e, c_s, c_t, temperature=2.0, reduction="sum",
                                                       chunk_size=chunk, backend="numpy"), e, c_s, c_t)
