"""accel.linear_kl against the 50-digit oracle of refloss.linear_kl (float64 and float32, under the tolerance
policy in each dtype's units) and against the float64 reference on larger heads; its behaviour and errors."""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import accel
import refloss
from refloss import RefLossError, _cases
from refloss.golden.dataset import cached_reference
from refloss.tolerance import ULPS, error_ulps

ENTRY = refloss.get("linear_kl")
DTYPES = (np.float64, np.float32)
CPU = [b for b in ("numpy", "numba") if b in accel.available_backends()]
ARRAYS = ("e", "c_student", "c_teacher")


def _run(case: dict, dtype, device=None, **kw):
    """accel.linear_kl on the case's arrays in ``dtype``, moved by ``device`` (cupy.asarray: to the GPU)."""
    arrays = {k: np.asarray(case[k], dtype=dtype) for k in ARRAYS}
    if device is not None:
        arrays = {k: device(a) for k, a in arrays.items()}
    options = {k: case[k] for k in ("temperature", "reduction") if k in case}  # else accel's own defaults
    return accel.linear_kl(arrays["e"], arrays["c_student"], arrays["c_teacher"], **options, **kw)


def _assert_within(what, got, ref, scale, dtype):
    got = got.get() if hasattr(got, "get") else got  # a CuPy array, to the host
    worst = float(np.max(error_ulps(np.asarray(got, dtype=np.float64), ref, scale, dtype), initial=0.0))
    assert worst <= ULPS, f"{what}: {worst:.3g} ulps of {np.dtype(dtype)} > {ULPS}"


def _check_against_oracle(case: dict, dtype, chunk_size=None, backend="numpy", device=None):
    from refloss._oracle import float64

    exact_case = {k: (np.asarray(x, dtype=dtype).astype(np.float64) if k in ARRAYS else x) for k, x in case.items()}
    ref = cached_reference(ENTRY, exact_case)  # the golden file where it holds the case
    out = _run(exact_case, dtype, device, chunk_size=chunk_size, backend=backend)
    label = f"{backend}/{np.dtype(dtype).name}"
    _assert_within(f"{label} loss", out.loss, float64(ref.value), float64(ref.value_scale), dtype)
    for name, got in (("e", out.grad_e), ("c_student", out.grad_c_student), ("c_teacher", out.grad_c_teacher)):
        _assert_within(f"{label} grad_{name}", got, float64(ref.grads[name]), float64(ref.grad_scales[name]), dtype)
    assert out.backend == backend


@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case_id", list(ENTRY.stress_cases()))
def test_stress_points_match_the_oracle(case_id, dtype, backend):
    _check_against_oracle(ENTRY.stress_cases()[case_id], dtype, chunk_size=1, backend=backend)


@pytest.mark.parametrize("backend", CPU)
# each example evaluates the oracle twice; the registry's own tests draw more heads
@settings(max_examples=min(10, settings().max_examples))
@given(data=st.data())
def test_drawn_heads_match_the_oracle_in_both_dtypes(backend, data):
    with _cases.small_shapes(max_side=3, max_classes=4):
        case = data.draw(_cases.strategy(ENTRY, False), label="case")
    chunk = data.draw(st.none() | st.integers(1, 3), label="chunk_size")
    for dtype in DTYPES:
        _check_against_oracle(case, dtype, chunk, backend)


@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_a_chunk_whose_elements_prefer_different_forms_of_grad_e(dtype, backend, monkeypatch):
    """The heads differ in feature 0 only: row 0 (e_0 = 1e-3) sees nearly equal logits, where the split form's
    bound is far below the direct one's in feature 1 and above it in feature 0; row 1 sees distant logits.
    Neither form serves the whole chunk, so each element takes its own (four GEMMs), against the oracle. (The
    chunk size is given: by default the Numba backend would compute the chunk again in rows of its own.)"""
    linear_kl_module = importlib.import_module("accel.linear_kl")
    calls = []
    chosen = linear_kl_module._grad_e_rows

    def counted(xp, out, gemm, *args):
        products = []
        chosen(xp, out, _Counted(gemm, products), *args)
        calls.append(len(products))

    monkeypatch.setattr(linear_kl_module, "_grad_e_rows", counted)
    monkeypatch.setattr(accel._cpu, "worker_count", lambda: 1)  # every feature in one share
    c_t = np.array([[1.0, 0.5], [-0.5, 1.0], [0.25, -1.0]])
    case = {"e": np.array([[1e-3, 1.0], [2.0, 1.0]]), "c_student": c_t + [[3.0, 0.0], [-2.0, 0.0], [1.0, 0.0]],
            "c_teacher": c_t, "temperature": 1.0, "reduction": "sum"}
    _check_against_oracle(case, dtype, chunk_size=2, backend=backend)
    assert calls and all(n == 4 for n in calls), f"both forms should have been computed: {calls} products"


@pytest.mark.skipif("numba" not in CPU, reason="needs the accel extra (numba)")
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("chunk_size", [1, None])
def test_numba_keeps_g_sum_from_the_first_chunk_that_needs_it(chunk_size, dtype, monkeypatch):
    """Rows: a distant-logits row that takes the direct form of grad_e, the mixed row of the test above, the
    first row again. The chunks start on two buffers (G^t, G^s); the first that needs G^s + G^t is refused
    there and computed again on three, as every chunk after it, in the same memory (two thirds of the rows)
    unless ``chunk_size`` was given; against the oracle."""
    module = importlib.import_module("accel.linear_kl")
    chunk, seen = module._numba_chunk, []

    def recorded(gemm, buffers, *args):
        done = chunk(gemm, buffers, *args)
        seen.append((buffers.shape[:2], done))
        return done

    monkeypatch.setattr(module, "_numba_chunk", recorded)
    c_t = np.array([[1.0, 0.5], [-0.5, 1.0], [0.25, -1.0]])
    case = {"e": np.array([[2.0, 1.0], [1e-3, 1.0], [2.0, 1.0]]),
            "c_student": c_t + [[3.0, 0.0], [-2.0, 0.0], [1.0, 0.0]], "c_teacher": c_t, "temperature": 1.0,
            "reduction": "sum"}
    _check_against_oracle(case, dtype, chunk_size=chunk_size, backend="numba")
    want = {1: [((2, 1), True), ((2, 1), False), ((3, 1), True), ((3, 1), True)],
            None: [((2, 3), False), ((3, 2), True), ((3, 1), True)]}[chunk_size]
    assert seen == want


class _Counted:
    """A Products whose ``times`` calls are counted in ``log``."""

    def __init__(self, gemm, log):
        self.gemm, self.log = gemm, log

    def times(self, *args, **kwargs):
        self.log.append(args[0].shape)
        return self.gemm.times(*args, **kwargs)


def first_order_scales(e, c_s, c_t, temperature: float):
    """Condition scales, to first order, of the summed loss and of its gradients w.r.t. e, c_s and c_t, entry
    by entry, from float64 logits (for a comparison of two float64 evaluations, neither of them the oracle).

    A relative change eps of every entry of e, c_s, c_t moves each logit by at most eps U (U = |e| |c|^T, the
    products' magnitudes), so a = t/T and b = s/T by at most eps m in a row, m = max U_t/T + max U_s/T. Then
    log p and log q move by at most 2 eps m, so u = log p - log q by 4 eps m and KL = sum p u by
    2 eps m (sum p|u| + 2). So G^s = T(q - p), made of T q and T p, is within T(q + p)(1 + 2m) of its terms
    and their changes, and G^t = T p (u - KL) within T p (|u| + |KL| + 2m (|u - KL| + sum p|u| + 4)); the
    loss T^2 sum p u moves by at most sum |G^t| U_t + |G^s| U_s beyond its terms T^2 sum p|u|. The gradients
    are products of these with |c| and |e|."""
    from scipy.special import log_softmax

    u_t, u_s = np.abs(e) @ np.abs(c_t).T, np.abs(e) @ np.abs(c_s).T
    logp, logq = log_softmax(e @ c_t.T / temperature, axis=1), log_softmax(e @ c_s.T / temperature, axis=1)
    p, q, u = np.exp(logp), np.exp(logq), logp - logq
    kl = (p * u).sum(axis=1, keepdims=True)
    spread = (p * np.abs(u)).sum(axis=1, keepdims=True)
    m = (u_t.max(axis=1, keepdims=True) + u_s.max(axis=1, keepdims=True)) / temperature
    g_s, g_t = temperature * (q - p), temperature * p * (u - kl)
    s_s = temperature * (q + p) * (1.0 + 2.0 * m)
    s_t = temperature * p * (np.abs(u) + np.abs(kl) + 2.0 * m * (np.abs(u - kl) + spread + 4.0))
    loss = temperature**2 * spread.sum() + (np.abs(g_t) * u_t + np.abs(g_s) * u_s).sum()
    return loss, s_s @ np.abs(c_s) + s_t @ np.abs(c_t), s_s.T @ np.abs(e), s_t.T @ np.abs(e)


def larger_head():
    """61 rows, 1001 classes (more than a CUDA block has threads), a student close to its teacher."""
    rng = np.random.default_rng(7)
    e, c_t = rng.standard_normal((61, 13)), rng.standard_normal((1001, 13))
    return e, c_t + 0.01 * rng.standard_normal(c_t.shape), c_t


def check_larger_head(out, e, c_s, c_t):
    """``out`` (reduction "sum", temperature 2) within the tolerance policy of the float64 reference, entry
    by entry, under :func:`first_order_scales`."""
    want_loss = refloss.linear_kl(e, c_s, c_t, temperature=2.0, reduction="sum")
    want = refloss.linear_kl_grad(e, c_s, c_t, temperature=2.0, reduction="sum")
    scales = first_order_scales(e, c_s, c_t, 2.0)
    for what, got, ref, scale in zip(("loss", "grad_e", "grad_c_student", "grad_c_teacher"),
                                     (out.loss, out.grad_e, out.grad_c_student, out.grad_c_teacher),
                                     (want_loss, want.e, want.c_student, want.c_teacher), scales):
        _assert_within(what, got, ref, scale, np.float64)


@pytest.mark.parametrize("backend", CPU)
def test_a_larger_head_matches_the_float64_reference_in_many_chunks(backend):
    e, c_s, c_t = larger_head()
    for chunk in (1, 7, None):
        check_larger_head(accel.linear_kl(e, c_s, c_t, temperature=2.0, reduction="sum", chunk_size=chunk,
                                          backend=backend), e, c_s, c_t)


@pytest.mark.parametrize("backend", CPU)
def test_forward_only_gives_the_same_loss_and_no_gradients(backend):
    case = ENTRY.stress_cases()["gaps__temperature_2"]
    full, forward = _run(case, np.float64, backend=backend), _run(case, np.float64, gradients=False, backend=backend)
    np.testing.assert_array_equal(full.loss, forward.loss)
    assert forward.grad_e is None and forward.grad_c_student is None and forward.grad_c_teacher is None


def test_inputs_are_not_modified():
    case = ENTRY.stress_cases()["gaps__temperature_2"]
    arrays = {k: np.asarray(case[k], dtype=np.float32) for k in ARRAYS}
    copies = {k: a.copy() for k, a in arrays.items()}
    accel.linear_kl(arrays["e"], arrays["c_student"], arrays["c_teacher"], temperature=2.0)
    for k in ARRAYS:
        np.testing.assert_array_equal(arrays[k], copies[k])


@pytest.mark.parametrize("kwargs, name", [
    ({"c_teacher": np.zeros((3, 3))}, "c_teacher"),
    ({"c_student": np.zeros((3, 1))}, "c_student"),
    ({"e": np.array([[np.nan, 0.0]])}, "e"),
    ({"c_teacher": np.zeros((3, 2), dtype=np.float32)}, "c_teacher"),
    ({"temperature": 0.0}, "temperature"),
    ({"temperature": 1e5}, "temperature"),
    ({"reduction": "batchmean"}, "reduction"),
    ({"backend": "cupy"}, "backend"),
])
def test_bad_input_raises_naming_the_argument(kwargs, name):
    args = {"e": np.ones((2, 2)), "c_student": np.zeros((3, 2)), "c_teacher": np.zeros((3, 2)), **kwargs}
    with pytest.raises(RefLossError, match=name):
        accel.linear_kl(args.pop("e"), args.pop("c_student"), args.pop("c_teacher"), **args)


@pytest.mark.parametrize("backend", CPU)
def test_float32_logits_beyond_range_are_refused(backend):
    e = np.full((1, 2), 1e20, dtype=np.float32)
    with pytest.raises(RefLossError, match="overflow"):
        accel.linear_kl(e, np.full((2, 2), 1e20, dtype=np.float32), np.zeros((2, 2), dtype=np.float32),
                        backend=backend)
    with pytest.raises(RefLossError, match="overflow"):  # finite logits, beyond float64 once divided by T
        accel.linear_kl(np.full((1, 2), 1e154), np.full((2, 2), 1e154), np.zeros((2, 2)), temperature=1e-3,
                        backend=backend)


@pytest.mark.parametrize("backend", CPU)
def test_heads_whose_difference_overflows_the_dtype(backend):
    """c_t - c_s beyond float32 (3e38 - (-3e38)) while every logit is small: no warning (the suite turns
    warnings into errors), and the loss and every gradient component within the policy of the oracle."""
    case = {"e": np.array([[1e-30, 0.5], [2e-30, -0.5]]), "c_teacher": np.array([[3e38, 0.0], [0.0, 1.0]]),
            "c_student": np.array([[-3e38, 0.0], [0.0, 2.0]]), "temperature": 1.0, "reduction": "mean"}
    _check_against_oracle(case, np.float32, backend=backend)


@pytest.mark.skipif("numba" not in CPU, reason="needs the accel extra (numba)")
@pytest.mark.parametrize("workers", [1, 3])
def test_numba_workers_share_every_chunk_at_any_count(workers, monkeypatch):
    monkeypatch.setattr(accel._cpu, "worker_count", lambda: workers)
    test_a_larger_head_matches_the_float64_reference_in_many_chunks("numba")
    for case_id in ("gaps__temperature_2",):
        _check_against_oracle(ENTRY.stress_cases()[case_id], np.float32, chunk_size=2, backend="numba")
