"""accel.linear_cross_entropy against the 50-digit oracle and the float64 reference, on every CPU backend.

* **Oracle** (the tolerance policy, per dtype): on drawn small heads (every option at once, ragged N, D, V,
  chunks of any size) and at every registered stress point of ``refloss.linear_cross_entropy`` in the twin's
  domain (class indices of rows on one classifier: :func:`twin_takes`), the loss
  and every gradient component of each backend in float64 and float32 are within ``ULPS`` units of
  ``eps_dtype * (|exact| + s)`` of the oracle evaluated at the very (rounded) inputs the kernel saw.
* **Reference at larger sizes** (V not a multiple of anything, many chunks, every option): the same bound
  with a first-order condition scale computed from the float64 reference (:func:`_first_order_scales`).
* Behaviour: forward-only mode, the gradient filter's stated bound, bad input, backend selection.

The CuPy backend runs the same algorithm (``rows_xp`` with CuPy as ``xp``) and is tested on a GPU in
``tests/test_accel_gpu.py``; here its algorithm is the ``numpy`` backend's, and its CUDA row step is built
for the CPU in ``tests/test_accel_cuda_on_cpu.py``.
"""

import importlib
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import accel
import refloss
from refloss import RefLossError, RefLossWarning, _cases
from refloss.golden.dataset import cached_reference
from refloss.losses.linear.linear_cross_entropy import _linear_cases
from refloss.tolerance import ULPS, error_ulps

ENTRY = refloss.get("linear_cross_entropy")
CPU = [b for b in ("numpy", "numba") if b in accel.available_backends()]
DTYPES = (np.float64, np.float32)
ARRAYS = ("e", "c", "bias")
OPTIONS = ("weight", "ignore_index", "label_smoothing", "z_loss", "softcap", "reduction")


def twin_takes(case: dict) -> bool:
    """The accel twin's domain: rows (N, D), one classifier (V, D) and class indices (N,). The reference's other
    cases (probability targets, a classifier per position, an unbatched row or more batch axes) are not drawn for
    the twin's cross-check; the twin refuses them (test_the_twin_refuses_the_reference_s_other_cases)."""
    return np.ndim(case["e"]) == 2 and np.ndim(case["c"]) == 2 and np.asarray(case["target"]).dtype.kind in "iu"


#: The reference's stress points in the twin's domain (every stress point of the twin's own options).
STRESS = {case_id: case for case_id, case in ENTRY.stress_cases().items() if twin_takes(case)}


def twin_strategy(extreme: bool):
    """The reference's own strategy for drawn heads, restricted to the twin's domain (same options, same sizes)."""
    return _linear_cases(extreme, twin=True)


def _rounded(case: dict, dtype) -> dict:
    """The case with its float arrays rounded to ``dtype`` (and held as float64 for the oracle)."""
    return {k: (np.asarray(x, dtype=dtype).astype(np.float64) if k in ARRAYS and x is not None else x)
            for k, x in case.items()}


def _run(case: dict, backend: str, dtype, chunk_size=None, gradients=True):
    arrays = {k: (None if case.get(k) is None else np.asarray(case[k], dtype=dtype)) for k in ARRAYS}
    options = {k: case[k] for k in OPTIONS if k in case}
    return accel.linear_cross_entropy(arrays["e"], arrays["c"], case["target"], bias=arrays["bias"],
                                      backend=backend, chunk_size=chunk_size, gradients=gradients, **options)


def _assert_within(what: str, got, ref, scale, dtype) -> None:
    """The tolerance policy in the units of ``dtype``: ULPS epsilons of it, its own smallest normal number."""
    worst = float(np.max(error_ulps(np.asarray(got, dtype=np.float64), ref, scale, dtype), initial=0.0))
    assert worst <= ULPS, f"{what}: {worst:.3g} ulps of {np.dtype(dtype)} > {ULPS}"


def _check_against_oracle(case: dict, backend: str, dtype, chunk_size=None) -> None:
    from refloss._oracle import float64

    exact_case = _rounded(case, dtype)
    ref = cached_reference(ENTRY, exact_case)  # the golden file where it holds the case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefLossWarning)  # the all-ignored mean: nan, as the reference
        out = _run(exact_case, backend, dtype, chunk_size)
    label = f"{backend}/{np.dtype(dtype)}"
    _assert_within(f"{label} loss", out.loss, float64(ref.value), float64(ref.value_scale), dtype)
    # the forward pass alone, with blocks of one class (Numba's online log-sum-exp merges every class)
    with mock.patch.dict(accel.linear_ce.CHUNK_BYTES, {"numba": 1}), warnings.catch_warnings():
        warnings.simplefilter("ignore", RefLossWarning)
        forward = _run(exact_case, backend, dtype, chunk_size, gradients=False)
    _assert_within(f"{label} forward-only loss", forward.loss, float64(ref.value), float64(ref.value_scale), dtype)
    for name, got in (("e", out.grad_e), ("c", out.grad_c), ("bias", out.grad_bias)):
        if name in ref.grads:
            _assert_within(f"{label} grad_{name}", got, float64(ref.grads[name]), float64(ref.grad_scales[name]),
                           dtype)
    assert out.backend == backend


@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case_id", list(STRESS))
def test_stress_points_match_the_oracle(case_id, dtype, backend):
    case = STRESS[case_id]
    _check_against_oracle(case, backend, dtype, chunk_size=2)


@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("case_id", [k for k in ENTRY.stress_cases() if k not in STRESS])
def test_the_twin_refuses_the_reference_s_other_cases(case_id, backend):
    """Probability targets, classifiers per position and other batch axes: a RefLossError, never another answer."""
    case = ENTRY.stress_cases()[case_id]
    with pytest.raises(RefLossError, match="target|c must|e must"):
        _run(case, backend, np.float64)


def test_the_twin_s_stress_points_are_every_one_in_its_domain():
    assert len(STRESS) >= 22 and all(k in STRESS for k in ("defaults", "gaps__target_dominant", "tiny_softcap"))
    assert not any(k.startswith(("probabilities", "k1_", "k2_", "unbatched", "two_batch")) for k in STRESS)


@pytest.mark.parametrize("backend", CPU)
@given(data=st.data())
def test_drawn_heads_match_the_oracle_in_both_dtypes(backend, data):
    with _cases.small_shapes(max_side=3, max_classes=5):
        case = data.draw(twin_strategy(False), label="case")
    chunk = data.draw(st.none() | st.integers(1, 3), label="chunk_size")
    for dtype in DTYPES:
        _check_against_oracle(case, backend, dtype, chunk)


# -- larger heads against the float64 reference -----------------------------------------------------------


def _logit_gradient(case: dict) -> np.ndarray:
    """G = d loss / d u of the reference, as the classifier gradient of the head (I, u^T): u = I u."""
    u = np.asarray(case["e"]) @ np.asarray(case["c"]).T + (0.0 if case.get("bias") is None else case["bias"])
    options = {k: case[k] for k in OPTIONS if k in case}
    return refloss.linear_cross_entropy_grad(np.eye(len(u)), u.T, case["target"], **options).c.T


def _first_order_scales(case: dict):
    """Condition scales of loss, grad_e, grad_c, grad_bias to first order, from the float64 reference.

    A relative change eps of every entry of e, c, b moves u by at most eps * U with U = |e| |c|^T + |b| (the
    products' magnitudes); the loss then moves by sum |G| U, and each entry of G by at most the size of the
    terms it is made of, T = |G| + (scaled p sum_c a_c + a + 2 lambda |LSE| p, bounded by |G|'s row sums and
    the row's weight) times max U of its row. The gradients are products of G with c or e: their scales are
    (|G| + T) |c|, (|G| + T)^T |e| and the column sums of |G| + T, plus |G| |c| U-terms already in T.
    """
    e, c = np.abs(case["e"]), np.abs(case["c"])
    big_u = e @ c.T + (0.0 if case.get("bias") is None else np.abs(case["bias"]))
    g = np.abs(_logit_gradient(case))
    row_size = g.sum(axis=1, keepdims=True) + g.max(axis=1, keepdims=True)
    terms = g + row_size * big_u.max(axis=1, keepdims=True)
    loss_scale = (g * big_u).sum(axis=1) if case.get("reduction") == "none" else (g * big_u).sum()
    return loss_scale, terms @ c, terms.T @ e, terms.sum(axis=0)


def _big_case(rng, n, d, n_classes, **options):
    case = {"e": rng.standard_normal((n, d)) * 2.0, "c": rng.standard_normal((n_classes, d)),
            "target": rng.integers(0, n_classes, n), **options}
    case["target"][::5] = options.get("ignore_index", -100)  # every fifth row ignored
    case["c"][case["target"][1::7] % n_classes] = 4.0 * case["e"][1::7]  # peaky rows: e copied into c
    return case


BIG = {
    "plain": {},
    "every_option": {"bias": True, "weight": True, "label_smoothing": 0.1, "z_loss": 1e-4, "softcap": 30.0},
    "softcap_20_sum": {"softcap": 20.0, "reduction": "sum"},
    "ignore_valid_class_none": {"ignore_index": 3, "reduction": "none", "z_loss": 0.5},
}


@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("chunk_size", [1, 7, None])
@pytest.mark.parametrize("name", list(BIG))
def test_larger_heads_match_the_reference(name, chunk_size, dtype, backend):
    _check_larger_head(name, chunk_size, dtype, backend)


@pytest.mark.skipif("numba" not in CPU, reason="needs the accel extra (numba)")
@pytest.mark.parametrize("workers", [1, 3, 5])
@pytest.mark.parametrize("chunk_size", [1, 7, None])
def test_numba_workers_share_every_chunk_at_any_count(workers, chunk_size, monkeypatch):
    """Shares of rows, classes and features that are empty, ragged or uneven (5 workers, 13 features, chunks
    of one row) give the same results; so does the gradient filter's dealing of blocks."""
    monkeypatch.setattr(accel._cpu, "worker_count", lambda: workers)
    for dtype in DTYPES:
        _check_larger_head("every_option", chunk_size, dtype, "numba")
    test_gradient_filter_stays_within_its_stated_bound("numba")
    test_token_stats_match_refloss_on_the_materialised_logits(20.0, np.float64, "numba")


def _check_larger_head(name, chunk_size, dtype, backend):
    rng = np.random.default_rng(sum(map(ord, name)))
    n, d, n_classes = 61, 13, 301
    options = dict(BIG[name])
    if options.pop("bias", False):
        options["bias"] = rng.standard_normal(n_classes)
    if options.pop("weight", False):
        options["weight"] = rng.uniform(0.1, 2.0, n_classes)
    case = _rounded(_big_case(rng, n, d, n_classes, **options), dtype)
    ref_loss = refloss.linear_cross_entropy(**case)
    ref = refloss.linear_cross_entropy_grad(**case)
    loss_scale, e_scale, c_scale, b_scale = _first_order_scales(case)
    out = _run(case, backend, dtype, chunk_size)
    _assert_within("loss", out.loss, ref_loss, loss_scale, dtype)
    _assert_within("grad_e", out.grad_e, ref.e, e_scale, dtype)
    _assert_within("grad_c", out.grad_c, ref.c, c_scale, dtype)
    if ref.bias is not None:
        _assert_within("grad_bias", out.grad_bias, ref.bias, b_scale, dtype)
    assert out.grad_e.dtype == out.grad_c.dtype == dtype
    # the forward pass alone, in blocks of 37 classes (ragged: 301 = 8 x 37 + 5)
    budget = 37 * (chunk_size or n) * np.dtype(dtype).itemsize
    with mock.patch.dict(accel.linear_ce.CHUNK_BYTES, {"numba": budget}):
        forward = _run(case, backend, dtype, chunk_size, gradients=False)
    _assert_within("forward-only loss", forward.loss, ref_loss, loss_scale, dtype)


@pytest.mark.parametrize("backend", CPU)
def test_lse_is_the_log_sum_exp_of_the_capped_logits(backend):
    rng = np.random.default_rng(1)
    e, c = rng.standard_normal((9, 4)) * 10, rng.standard_normal((17, 4))
    out = accel.linear_cross_entropy(e, c, np.zeros(9, dtype=int), softcap=5.0, backend=backend, chunk_size=4)
    z = 5.0 * np.tanh(e @ c.T / 5.0)
    np.testing.assert_allclose(out.lse, refloss.logsumexp(z), rtol=4e-15)


@pytest.mark.parametrize("backend", CPU)
def test_forward_only_returns_the_same_loss_and_no_gradients(backend):
    case = ENTRY.stress_cases()["gaps_bias_softcap_20_z_loss"]
    full = _run(case, backend, np.float64)
    arrays = {k: case.get(k) for k in ARRAYS}
    forward = accel.linear_cross_entropy(arrays["e"], arrays["c"], case["target"], bias=arrays["bias"],
                                         softcap=20.0, z_loss=0.5, gradients=False, backend=backend)
    assert forward.grad_e is forward.grad_c is forward.grad_bias is None
    # the numpy backend runs the same row step; Numba's forward pass sums by blocks of classes
    np.testing.assert_allclose(forward.loss, full.loss, rtol=0 if backend == "numpy" else 1e-15)
    np.testing.assert_allclose(forward.lse, full.lse, rtol=0 if backend == "numpy" else 1e-15)


@pytest.mark.parametrize("backend", CPU)
def test_gradient_filter_stays_within_its_stated_bound(backend):
    rng = np.random.default_rng(2)
    block = accel.linear_ce.FILTER_BLOCK
    n, d, n_classes = 40, 8, 3 * block + 17
    direction = np.eye(d)[0]
    e = 3.0 * direction + 0.1 * rng.standard_normal((n, d))
    c = rng.standard_normal((n_classes, d))
    c[block:] -= 12.0 * direction  # every class past the first block: logits ~36 lower, |G| < 1e-13
    y = rng.integers(0, 50, n)
    exact = accel.linear_cross_entropy(e, c, y, backend=backend)
    eps = 1e-9
    filtered = accel.linear_cross_entropy(e, c, y, backend=backend, filter_eps=eps)
    assert filtered.loss == exact.loss
    assert (filtered.grad_c[block:] == 0).all() and (exact.grad_c[block:] != 0).all(), "the blocks were not skipped"
    bound_e = eps * np.abs(c[block:]).sum(axis=0)  # the skipped classes
    bound_c = eps * np.abs(e).sum(axis=0)
    assert (np.abs(filtered.grad_e - exact.grad_e) <= bound_e + 1e-15).all()
    assert (np.abs(filtered.grad_c - exact.grad_c) <= bound_c + 1e-15).all()
    np.testing.assert_allclose(filtered.grad_c[:block], exact.grad_c[:block], rtol=1e-12, atol=1e-15)


def test_all_ignored_mean_is_nan_with_a_warning_and_zero_gradients():
    for backend in CPU:
        with pytest.warns(RefLossWarning, match="0/0"):
            out = accel.linear_cross_entropy(np.ones((2, 3)), np.ones((4, 3)), [-100, -100], backend=backend)
        assert np.isnan(out.loss) and not out.grad_e.any() and not out.grad_c.any()


@pytest.mark.parametrize("bad, match", [
    ({"e": np.ones(3)}, "e must be a non-empty 2-D"),
    ({"c": np.ones((4, 2))}, "c has 2 features"),
    ({"c": np.ones((4, 3), dtype=np.float32)}, "c has dtype float32 but e has float64"),
    ({"e": np.ones((2, 3), dtype=np.float16)}, "e has dtype float16"),
    ({"e": np.full((2, 3), np.nan)}, "e contains NaN"),
    ({"bias": np.ones(3)}, r"bias must have shape \(4,\)"),
    ({"target": [0, 4]}, "target has class index 4"),
    ({"target": [0.5, 1.0]}, "target must be integer"),
    ({"weight": -np.ones(4)}, "weight must be non-negative"),
    ({"softcap": 0.0}, "softcap"),
    ({"z_loss": -1.0}, "z_loss"),
    ({"label_smoothing": 2.0}, "label_smoothing"),
    ({"reduction": "avg"}, "reduction"),
    ({"chunk_size": 0}, "chunk_size"),
    ({"filter_eps": 2.0}, "filter_eps"),
    ({"backend": "jax"}, "backend must be"),
])
def test_bad_input_raises_a_reflosserror_naming_the_argument(bad, match):
    args = {"e": np.ones((2, 3)), "c": np.ones((4, 3)), "target": [0, 1], **bad}
    with pytest.raises(RefLossError, match=match):
        accel.linear_cross_entropy(args.pop("e"), args.pop("c"), args.pop("target"), **args)


@pytest.mark.parametrize("backend", CPU)
def test_logits_beyond_float32_are_refused(backend):
    e = np.full((1, 2), 1e30, dtype=np.float32)
    with pytest.raises(RefLossError, match="overflow"):
        accel.linear_cross_entropy(e, e.copy(), [0], backend=backend)
    # a NaN logit (inf - inf inside the product) among finite ones, wherever the row's maximum is
    c = np.array([[1.0, 0.0], [1e30, -1e30], [0.0, 0.0]], dtype=np.float32)
    for order in ([0, 1, 2], [1, 0, 2], [2, 0, 1]):
        with pytest.raises(RefLossError, match="overflow"):
            accel.linear_cross_entropy(e, c[order], [0], bias=np.zeros(3, dtype=np.float32), backend=backend)
        with pytest.raises(RefLossError, match="overflow"):
            accel.token_stats(e, c[order], [0], backend=backend)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(3)
    e, c, b = rng.standard_normal((5, 3)), rng.standard_normal((7, 3)), rng.standard_normal(7)
    copies = [x.copy() for x in (e, c, b)]
    for backend in CPU:
        accel.linear_cross_entropy(e, c, [0, 1, 2, 3, 4], bias=b, softcap=2.0, backend=backend, chunk_size=2)
    for x, saved in zip((e, c, b), copies):
        np.testing.assert_array_equal(x, saved)


def test_auto_picks_numba_for_numpy_arrays_when_installed():
    out = accel.linear_cross_entropy(np.ones((1, 2)), np.ones((3, 2)), [0])
    assert out.backend == ("numba" if "numba" in CPU else "numpy")


def test_cupy_backend_refuses_numpy_arrays():
    if "cupy" not in accel.available_backends():
        with pytest.raises(accel.MissingBackendError, match=r"refloss\[gpu\]"):
            accel.linear_cross_entropy(np.ones((1, 2)), np.ones((3, 2)), [0], backend="cupy")
    else:
        with pytest.raises(RefLossError, match="needs CuPy arrays"):
            accel.linear_cross_entropy(np.ones((1, 2)), np.ones((3, 2)), [0], backend="cupy")


# -- token_stats ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("softcap", [None, 20.0])
def test_token_stats_match_refloss_on_the_materialised_logits(softcap, dtype, backend):
    rng = np.random.default_rng(4)
    n, d, n_classes = 23, 6, 97
    e = (rng.standard_normal((n, d)) * 3).astype(dtype)
    c = rng.standard_normal((n_classes, d)).astype(dtype)
    bias = rng.standard_normal(n_classes).astype(dtype)
    y = rng.integers(0, n_classes, n)
    y[5] = -100
    c[y[2::4]] = 6.0 * e[2::4]  # peaked rows: the target far ahead (rank 0, entropy near 0)
    c[7], c[8] = c[9], c[9]  # tied classes
    bias[7:10] = bias[9]
    u = e.astype(np.float64) @ c.astype(np.float64).T + bias
    # Numba's pass by blocks of classes: one block, ragged blocks of 37 classes, blocks of one class
    for budget in (2**30, 37 * 4 * np.dtype(dtype).itemsize, 1):
        with mock.patch.dict(accel.linear_ce.CHUNK_BYTES, {"numba": budget}):
            out = accel.token_stats(e, c, y, bias=bias, softcap=softcap, k=3, backend=backend, chunk_size=4)
        _check_token_stats(out, u, y, softcap, dtype, k=3)


def _check_token_stats(out, u, y, softcap, dtype, k, exact=False):
    """``exact``: the logits ``u`` are exact in ``dtype`` too, so ranks and argmaxes must be."""
    n = len(y)
    z = u if softcap is None else softcap * np.tanh(u / softcap)
    lse = refloss.logsumexp(z)
    logp = refloss.log_softmax(z)
    entropy = refloss.softmax_entropy(z, reduction="none")
    kept = y != -100
    rank = np.where(kept, (z > z[np.arange(n), np.where(kept, y, 0)][:, None]).sum(axis=1), -1)
    # float32 logits carry eps_32 |u| each; the outputs move by at most that times their (unit) sensitivity
    tol = 16 * np.finfo(dtype).eps * (1 + np.abs(u).max(axis=1))
    assert (np.abs(out.lse - lse) <= tol).all()
    assert (np.abs(out.entropy - entropy) <= tol * (1 + entropy)).all()
    assert (np.abs(out.target_logprob - np.where(kept, logp[np.arange(n), np.where(kept, y, 0)], 0.0)) <= tol).all()
    if dtype == np.float64 or exact:  # ranks compare logits: exact in the dtype the kernel computes them in
        np.testing.assert_array_equal(out.rank, rank)
        np.testing.assert_array_equal(out.argmax, np.argmax(z, axis=1))
    np.testing.assert_array_equal(out.top_k, (out.rank >= 0) & (out.rank < k))
    np.testing.assert_array_equal(out.kept, kept)
    assert (out.rank[~kept] == -1).all() and (out.target_logprob[~kept] == 0.0).all()


def _exact_head(rng, n, d, n_classes, distinct=None):
    """A head whose products and sums are exact in float32 (integers in [-8, 8] times multiples of 1/1024 up
    to 1, D <= 16, a bias on the same grid), so that every block of every product gives the same logits and
    ranks and argmaxes are exact; with ``distinct`` classes only (each repeated), ties fill every row."""
    e = rng.integers(-8, 9, (n, d)).astype(np.float32)
    c = (rng.integers(-1024, 1025, (n_classes, d)) / 1024).astype(np.float32)
    bias = (rng.integers(-1024, 1025, n_classes) / 1024).astype(np.float32)
    if distinct:
        copies = rng.integers(0, min(distinct, n_classes), n_classes)
        c, bias = c[copies], bias[copies]
    return e, c, bias


@pytest.mark.skipif("numba" not in CPU, reason="needs the accel extra (numba)")
@pytest.mark.parametrize("distinct", [None, 8])
def test_token_stats_ranks_by_blocks_are_exact(distinct, monkeypatch):
    """The Numba pass counts a rank from blocks of classes seen before the target's own (a window around an
    estimate of its logit, checked afterwards): with exact logits it must give the exact rank and argmax, with
    few ties (the window path) or ties everywhere (8 distinct classes: rows recomputed whole)."""
    token_stats_module = importlib.import_module("accel.token_stats")
    recomputed = []
    whole_rows = token_stats_module._whole_rows
    monkeypatch.setattr(token_stats_module, "_whole_rows", lambda *a: recomputed.append(len(a[2])) or whole_rows(*a))
    rng = np.random.default_rng(11)
    n, d, n_classes = 41, 16, 301
    e, c, bias = _exact_head(rng, n, d, n_classes, distinct)
    y = rng.integers(0, n_classes, n)
    y[3] = -100
    u = e.astype(np.float64) @ c.astype(np.float64).T + bias
    for budget in (2**30, 37 * 8 * 4, 4 * 4):  # one block of classes, 37 classes, 4 classes (8-row blocks)
        for workers in (1, 3):
            monkeypatch.setattr(accel._cpu, "worker_count", lambda: workers)
            with mock.patch.dict(accel.linear_ce.CHUNK_BYTES, {"numba": budget}):
                out = accel.token_stats(e, c, y, bias=bias, k=3, backend="numba", chunk_size=8)
            _check_token_stats(out, u, y, None, np.float32, k=3, exact=True)
    if distinct:
        assert recomputed, "ties everywhere: rows must have been recomputed whole"
    else:
        assert not recomputed, "few ties: the windows should have resolved every rank"


@pytest.mark.parametrize("backend", CPU)
@given(data=st.data())
def test_drawn_exact_heads_give_exact_token_stats(backend, data):
    """Drawn exact heads (every product and sum exact in float32; ties from repeated classes; a bias or not;
    ignored targets; one class; one row) in drawn row chunks and blocks of classes: exact ranks and argmaxes,
    and LSE, log-probability and entropy within the float32 bound of the whole-row test above."""
    n = data.draw(st.integers(1, 12), label="n")
    d = data.draw(st.integers(1, 16), label="d")
    n_classes = data.draw(st.integers(1, 40), label="V")
    distinct = data.draw(st.none() | st.integers(1, 6), label="distinct classes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    e, c, bias = _exact_head(rng, n, d, n_classes, distinct)
    if not data.draw(st.booleans(), label="bias"):
        bias = None
    y = rng.integers(0, n_classes, n)
    y[rng.random(n) < 0.2] = -100
    chunk = data.draw(st.integers(1, 5), label="chunk_size")
    width = data.draw(st.integers(1, 41), label="classes per block")
    with mock.patch.dict(accel.linear_ce.CHUNK_BYTES, {"numba": width * chunk * 4}):
        out = accel.token_stats(e, c, y, bias=bias, k=2, backend=backend, chunk_size=chunk)
    u = e.astype(np.float64) @ c.astype(np.float64).T + (0.0 if bias is None else bias)
    _check_token_stats(out, u, y, None, np.float32, k=2, exact=True)


@pytest.mark.skipif("numba" not in CPU, reason="needs the accel extra (numba)")
@pytest.mark.parametrize("window", ["exact", "missed", "everything", "one_pending"])
def test_token_stats_rows_whose_window_fails_are_recomputed(window, monkeypatch):
    """A window of the target's logit alone (its ties on both edges: kept, not counted above), one that misses
    it, one that holds every logit, room for one logit within: the rank is still exact (the check after the
    pass sends the row to be recomputed whole)."""
    token_stats_module = importlib.import_module("accel.token_stats")
    kernels = importlib.import_module("accel._numba_kernels")
    rng = np.random.default_rng(7)
    n, d, n_classes = 29, 16, 211
    e, c, bias = _exact_head(rng, n, d, n_classes, 40)
    e[0] = 0.0  # every logit of row 0 is its bias
    y = rng.integers(0, n_classes, n)
    z = e.astype(np.float64) @ c.astype(np.float64).T + bias
    z_y = z[np.arange(n), y].astype(np.float32)
    if window == "exact":
        monkeypatch.setattr(kernels, "target_windows", lambda *a: (z_y, z_y))
    elif window == "missed":  # a window far above every logit: nothing counted above, nothing kept
        monkeypatch.setattr(kernels, "target_windows", lambda *a: (z_y + 1e30, z_y + 1e30))
    elif window == "everything":
        monkeypatch.setattr(kernels, "target_windows", lambda *a: (z_y - np.inf, z_y + np.inf))
    else:
        monkeypatch.setattr(token_stats_module, "PENDING", 1)
    with mock.patch.dict(accel.linear_ce.CHUNK_BYTES, {"numba": 23 * 8 * 4}):
        out = accel.token_stats(e, c, y, bias=bias, backend="numba", chunk_size=8)
    np.testing.assert_array_equal(out.rank, (z > z[np.arange(n), y][:, None]).sum(axis=1))
    assert (out.rank > 0).any()


def test_token_stats_entropy_keeps_its_digits_on_a_peaked_row():
    e, c = np.array([[40.0]]), np.array([[1.0], [0.0]])  # z = (40, 0): H = e^-40 (41 - ...) ~ 1.74e-16
    exact = float(refloss.softmax_entropy(np.array([40.0, 0.0])))
    for backend in CPU:
        got = accel.token_stats(e, c, [0], backend=backend).entropy[0]
        assert abs(got - exact) <= 4 * np.finfo(float).eps * exact


def test_token_stats_bad_k():
    with pytest.raises(RefLossError, match="k must be"):
        accel.token_stats(np.ones((1, 2)), np.ones((3, 2)), [0], k=0)


def _forked_loss(queue):
    e, c = np.ones((8, 4), dtype=np.float32), np.ones((50, 4), dtype=np.float32)
    queue.put(accel.linear_cross_entropy(e, c, np.zeros(8, dtype=int), backend="numba").loss)


@pytest.mark.skipif("numba" not in CPU, reason="needs the accel extra (numba)")
def test_numba_workers_run_in_a_process_forked_after_the_parent_used_them():
    """A forked child inherits the parent's thread pool without its threads: it must start its own."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    with mock.patch.object(accel._cpu, "worker_count", lambda: 2):
        parent = accel.linear_cross_entropy(np.ones((8, 4), dtype=np.float32), np.ones((50, 4), dtype=np.float32),
                                            np.zeros(8, dtype=int), backend="numba").loss
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_forked_loss, args=(queue,))
        with warnings.catch_warnings():  # Python >= 3.12 warns of fork() in a process with threads: the point here
            warnings.filterwarnings("ignore", ".*multi-threaded.*fork", DeprecationWarning)
            child.start()
        child.join(timeout=120)
        if child.is_alive():
            child.kill()
            pytest.fail("the forked child hung on the parent's thread pool")
    assert child.exitcode == 0 and queue.get(timeout=10) == parent
