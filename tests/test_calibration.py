"""The calibration family: temperature scaling's NLL (against cross-entropy, its temperature gradient against finite
differences and a 50-digit derivative, its use), the expected calibration error (against a brute-force rational
implementation, its bin-edge rule, invariances, hand values) and the correctness-aware loss (against a direct
transcription of its formula, PyTorch's autograd, the per-sample temperature's chain rule). The generic checks
(oracle, golden files, finite differences, bad input) run from tests/test_registry.py and tests/test_fuzz.py."""

import math
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import refloss
from refloss import RefLossError, RefLossWarning
from refloss._cases import plain_strategy
from refloss.golden import dataset

# -- temperature_scaled_nll ------------------------------------------------------------------------------------


def _ts_cases():
    return plain_strategy(refloss.get("temperature_scaled_nll"), False)


@settings(max_examples=20)
@given(data=st.data())
def test_temperature_scaled_nll_is_cross_entropy_of_the_scaled_logits(data):
    case = data.draw(_ts_cases())
    z, y, t, red = case["logits"], case["target"], float(case["temperature"]), case["reduction"]
    np.testing.assert_allclose(refloss.temperature_scaled_nll(z, y, t, reduction=red),
                               refloss.cross_entropy(z / t, y, reduction=red), rtol=1e-13, atol=1e-300)
    g = refloss.temperature_scaled_nll_grad(z, y, t, reduction=red)
    np.testing.assert_allclose(g.logits, refloss.cross_entropy_grad(z / t, y, reduction=red) / t, rtol=1e-12,
                               atol=1e-300)
    # T = 1 is cross-entropy, bit for bit
    assert np.array_equal(refloss.temperature_scaled_nll(z, y, 1.0, reduction=red),
                          refloss.cross_entropy(z, y, reduction=red))


@settings(max_examples=20)
@given(data=st.data())
def test_temperature_gradient_against_central_differences_in_log_temperature(data):
    """d/dT by a central difference in log T (steps relative to T, so that small temperatures are resolved)."""
    case = data.draw(_ts_cases())
    z, y, t = case["logits"], case["target"], float(case["temperature"])
    h = 1e-5

    def f(log_t):
        return refloss.temperature_scaled_nll(z, y, math.exp(log_t), reduction="sum")

    fd = (f(math.log(t) + h) - f(math.log(t) - h)) / (2 * h) / t
    got = refloss.temperature_scaled_nll_grad(z, y, t, reduction="sum").temperature
    assert got == pytest.approx(fd, rel=1e-6, abs=1e-8 * max(1.0, abs(f(math.log(t)))))


def test_temperature_gradient_against_a_50_digit_derivative():
    """(z_y - sum_k p_k z_k) / T^2 at 50 digits (mpmath's own differentiation of the definition), where the target
    is not the largest logit and the terms of the evaluated form have both signs."""
    z, y, t = [3.0, 1.0, -2.0, 0.5], 1, 0.7
    mpmath.mp.dps = 50
    try:
        exact = mpmath.diff(lambda s: mpmath.log(sum(mpmath.exp(mpmath.mpf(v) / s) for v in z)) - mpmath.mpf(z[y]) / s,
                            mpmath.mpf(t))
    finally:
        mpmath.mp.dps = 15
    got = refloss.temperature_scaled_nll_grad(np.array([z]), [y], t, reduction="sum").temperature
    assert got == pytest.approx(float(exact), rel=4e-16)


def test_temperature_scaling_fits_a_temperature_where_the_gradient_vanishes():
    """The use: minimise the validation NLL over log T; at the optimum the temperature's gradient is 0 and an
    overconfident model (logits scaled up 3x) gets T near 3."""
    from scipy.optimize import minimize_scalar

    rng = np.random.default_rng(0)
    true = rng.normal(size=(400, 5))
    y = np.array([rng.choice(5, p=np.exp(r - r.max()) / np.exp(r - r.max()).sum()) for r in true])
    logits = 3.0 * true
    fit = minimize_scalar(lambda s: refloss.temperature_scaled_nll(logits, y, math.exp(s)), bounds=(-3, 3),
                          method="bounded", options={"xatol": 1e-10})
    t = math.exp(fit.x)
    assert 2.0 < t < 4.5
    assert abs(refloss.temperature_scaled_nll_grad(logits, y, t).temperature) < 1e-7


def test_temperature_scaled_nll_is_convex_in_the_inverse_temperature():
    z, y = np.array([[2.0, 0.5, -1.0], [0.1, 1.5, 0.2], [3.0, 2.9, -4.0]]), np.array([1, 0, 0])
    beta = np.linspace(0.05, 5.0, 200)
    values = np.array([refloss.temperature_scaled_nll(z, y, 1.0 / b) for b in beta])
    assert (values[:-2] - 2 * values[1:-1] + values[2:] >= -1e-13).all()


def test_temperature_limits_and_extremes():
    z, y = np.array([[1.0, 0.5, -1.0]]), np.array([0])
    assert refloss.temperature_scaled_nll(z, y, 1e12) == pytest.approx(math.log(3), rel=1e-11)  # uniform
    assert refloss.temperature_scaled_nll(z, y, 1e-3) == pytest.approx(math.exp(-500), rel=1e-12)  # one-hot
    # z / T would overflow: the row is shifted first; the dominant target's loss is e^-4e308 = 0, another's beyond
    # the range
    wide = np.array([[1e308, 0.0, -1e308]])
    assert refloss.temperature_scaled_nll(wide, [0], 0.25) == 0.0
    assert refloss.temperature_scaled_nll(wide, [1], 0.25) == math.inf
    g = refloss.temperature_scaled_nll_grad(wide, [1], 0.25)
    np.testing.assert_array_equal(g.logits, [[4.0, -4.0, 0.0]])
    assert g.temperature == -math.inf  # -(1e308 / 0.25) / 0.25: beyond the range


def test_temperature_argument_kinds_and_refusals():
    z, y = np.array([[2.0, 0.0]]), np.array([0])
    expected = refloss.temperature_scaled_nll(z, y, 2.0)
    for t in (2, np.float32(2.0), np.array(2.0)):
        assert refloss.temperature_scaled_nll(z, y, t) == expected
    torch = pytest.importorskip("torch")
    assert refloss.temperature_scaled_nll(z, y, torch.tensor(2.0, dtype=torch.float64)) == expected
    for bad in (0.0, -1.0, math.nan, math.inf, np.array([1.0, 2.0]), True, "2"):
        with pytest.raises(RefLossError, match="temperature"):
            refloss.temperature_scaled_nll(z, y, bad)
    with pytest.raises(RefLossError, match="masked"):
        refloss.temperature_scaled_nll_grad([[0.0, -np.inf]], [1], 2.0)
    assert refloss.temperature_scaled_nll([[0.0, -np.inf]], [1], 2.0) == math.inf


def test_the_oracle_differentiates_the_temperature():
    """The registry's wrt holds the temperature: the golden files store its 25-digit derivative for every case."""
    entry = refloss.get("temperature_scaled_nll")
    assert entry.wrt == ("logits", "temperature")
    cases = dataset.load("temperature_scaled_nll")
    assert all(c.grads["temperature"].shape == () for c in cases if c.grads)
    case = next(c for c in cases if c.id.endswith("gaps__target_second__temperature_4"))
    got = refloss.temperature_scaled_nll_grad(**case.kwargs).temperature
    assert got == pytest.approx(float(case.grads["temperature"]), rel=4e-15)


# -- expected_calibration_error --------------------------------------------------------------------------------


def _brute_force_ece(probs, target, n_bins=15, binning="width", kind="top_label", norm="l1"):
    """Rational arithmetic throughout: bins by ceil(M c) of the exact float, sums of Fractions."""
    probs = np.asarray(probs, dtype=np.float64)
    rows, y = probs.reshape(-1, probs.shape[-1]), np.asarray(target).reshape(-1)

    def one(conf, correct):
        conf = [Fraction(c) for c in conf]
        if binning == "width":
            bins = [max(1, math.ceil(c * n_bins)) for c in conf]
        else:
            ordered = sorted(conf)
            upper = [ordered[-(-m * len(conf) // n_bins) - 1] for m in range(1, n_bins + 1)]
            bins = [next(m for m, u in enumerate(upper) if u >= c) for c in conf]
        groups = {}
        for c, ok, b in zip(conf, correct, bins):
            groups.setdefault(b, []).append(int(ok) - c)
        n = len(conf)
        if norm == "l1":
            return float(sum(abs(sum(g)) for g in groups.values()) / n)
        if norm == "l2":
            return math.sqrt(float(sum(sum(g) ** 2 / (len(g) * n) for g in groups.values())))
        return float(max(abs(sum(g)) / len(g) for g in groups.values()))

    if kind == "top_label":
        k = rows.argmax(axis=-1)
        return one(rows[np.arange(len(rows)), k], k == y)
    return sum(one(rows[:, c], y == c) for c in range(rows.shape[1])) / rows.shape[1]


_EDGES = [0.0, 0.1, 0.2, 0.25, 0.3, 0.30000000000000004, 1 / 3, 0.5, 0.5000000000000001, 2 / 3, 0.7,
          0.7000000000000001, 0.75, 0.9, 1.0]


@settings(max_examples=60)
@given(n=st.integers(1, 12), c=st.integers(1, 4), n_bins=st.sampled_from([1, 2, 3, 4, 5, 7, 10, 15]),
       binning=st.sampled_from(["width", "mass"]), kind=st.sampled_from(["top_label", "classwise"]),
       norm=st.sampled_from(["l1", "l2", "max"]), data=st.data())
def test_ece_equals_a_brute_force_rational_computation(n, c, n_bins, binning, kind, norm, data):
    element = st.sampled_from(_EDGES) | st.floats(0.0, 1.0)
    probs = np.array(data.draw(st.lists(st.lists(element, min_size=c, max_size=c), min_size=n, max_size=n)))
    target = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    got = refloss.expected_calibration_error(probs, target, n_bins=n_bins, binning=binning, kind=kind, norm=norm)
    assert got == pytest.approx(_brute_force_ece(probs, target, n_bins, binning, kind, norm), rel=1e-14, abs=1e-16)


def test_the_bin_edge_stress_points_tell_the_exact_rule_from_float_edges():
    """At the tenths stress point, binning on linspace's float edges, (lo, hi] as Guo et al.'s code does, moves 0.3,
    0.7 (and 0.1: above 1/10 in float64) across an edge and misses the stored exact value."""
    case = next(c for c in dataset.load("expected_calibration_error") if c.id.endswith("edges_tenths__n_bins_10"))
    probs, target = case.kwargs["probs"], case.kwargs["target"]
    assert refloss.expected_calibration_error(**case.kwargs) == float(case.value)
    conf, correct = probs.max(axis=-1), probs.argmax(axis=-1) == target
    edges = np.linspace(0.0, 1.0, 11)
    float_bins = np.searchsorted(edges[1:-1], conf, side="left")  # (lo, hi] on the float edges
    naive = sum(abs(correct[float_bins == m].sum() - conf[float_bins == m].sum()) for m in range(10)) / conf.size
    assert abs(naive - float(case.value)) > 1e-3
    # the rule itself: 0.1 (float64) is above 1/10; 0.5 and 0.25 close their bins; 0 is in the first
    assert refloss.expected_calibration_error([[0.1, 0.9]], [1], n_bins=10, kind="classwise") == pytest.approx(
        (abs(0 - 0.1) + abs(1 - 0.9)) / 2)
    from refloss.losses.calibration._common import width_bins

    np.testing.assert_array_equal(width_bins(np.array([0.0, 0.1, 0.25, 0.5, 0.30000000000000004, 0.3, 1.0]), 10),
                                  [0, 1, 2, 4, 3, 2, 9])


def test_ece_does_not_depend_on_the_order_of_the_samples_ties_included():
    rng = np.random.default_rng(3)
    probs = rng.choice([0.2, 0.5, 0.6, 0.6, 0.9, 1.0], size=(20, 3))
    target = rng.integers(0, 3, size=20)
    for binning in ("width", "mass"):
        for kind in ("top_label", "classwise"):
            first = refloss.expected_calibration_error(probs, target, n_bins=4, binning=binning, kind=kind)
            for _ in range(5):
                order = rng.permutation(20)
                assert refloss.expected_calibration_error(probs[order], target[order], n_bins=4, binning=binning,
                                                          kind=kind) == first


def test_equal_mass_bins_differ_by_at_most_one_sample_without_ties():
    from refloss.losses.calibration._common import mass_bins

    rng = np.random.default_rng(4)
    for n in range(1, 40):
        for m in (1, 2, 3, 7, 15):
            counts = np.bincount(mass_bins(rng.uniform(size=n), m), minlength=m)
            assert counts.sum() == n and counts.max() - counts.min() <= 1
            assert list(counts) == [-(-k * n // m) + (-(k - 1) * n // m) for k in range(1, m + 1)]


def test_ece_hand_values_and_norm_order():
    # torchmetrics' documented multiclass example (its docs print 0.2000 for l1)
    preds = [[0.25, 0.20, 0.55], [0.55, 0.05, 0.40], [0.10, 0.30, 0.60], [0.90, 0.05, 0.05]]
    assert refloss.expected_calibration_error(preds, [0, 1, 2, 0], n_bins=3) == pytest.approx(0.2, rel=1e-15)
    # perfectly calibrated: confidence 1/2 with half right, and confidence 1 always right
    probs = [[0.5, 0.5], [0.5, 0.5], [1.0, 0.0]]
    assert refloss.expected_calibration_error(probs, [0, 1, 0]) == 0.0
    rng = np.random.default_rng(5)
    probs, target = rng.dirichlet(np.ones(4), size=30), rng.integers(0, 4, size=30)
    l1, l2, mx = (refloss.expected_calibration_error(probs, target, n_bins=6, norm=n) for n in ("l1", "l2", "max"))
    assert l1 <= l2 <= mx


def test_ece_refusals_and_the_empty_batch():
    for bad in ([[1.5, 0.0]], [[-0.1, 1.1]], [[math.nan, 1.0]]):
        with pytest.raises(RefLossError, match="probs"):
            refloss.expected_calibration_error(bad, [0])
    for name, value in (("n_bins", 0), ("binning", "quantile"), ("kind", "marginal"), ("norm", "l3")):
        with pytest.raises(RefLossError, match=name):
            refloss.expected_calibration_error([[0.5, 0.5]], [0], **{name: value})
    with pytest.raises(RefLossError, match="target"):
        refloss.expected_calibration_error([[0.5, 0.5]], [2])
    with pytest.warns(RefLossWarning, match="0/0"):
        assert math.isnan(refloss.expected_calibration_error(np.zeros((0, 3)), np.zeros(0, dtype=int)))


# -- correctness_aware_loss -------------------------------------------------------------------------------------


def _direct_ca(z, y):
    """The formula transcribed directly: softmax, max, argmax, the weights 1 - acc and acc, the weighted mean."""
    z = np.asarray(z, dtype=np.float64).reshape(-1, np.shape(z)[-1])
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    correct = (z.argmax(axis=-1) == np.asarray(y).reshape(-1)).astype(float)
    acc = correct.mean()
    w = np.where(correct == 1, 1 - acc, acc)
    return (w * (p.max(axis=-1) - correct) ** 2).sum() / w.sum()


def test_correctness_aware_loss_is_the_formula_and_balances_the_groups():
    rng = np.random.default_rng(6)
    for _ in range(20):
        z, y = rng.normal(scale=3, size=(9, 4)), rng.integers(0, 4, size=9)
        correct = z.argmax(-1) == y
        if correct.all() or not correct.any():
            continue
        assert refloss.correctness_aware_loss(z, y) == pytest.approx(_direct_ca(z, y), rel=1e-13)
        terms = refloss.correctness_aware_loss(z, y, reduction="none")
        w = np.where(correct, (~correct).mean(), correct.mean())
        assert (w[correct].sum() == pytest.approx(w[~correct].sum())) and np.all(terms >= 0)


def test_correctness_aware_gradient_is_pytorch_autograd_ties_included():
    torch = pytest.importorskip("torch")
    z = np.array([[2.0, 0.5, -1.0], [0.3, 0.3, 0.1], [1.0, 4.0, 0.0], [0.0, 0.0, 2.0], [5.0, 5.0, 5.0]])
    y = np.array([0, 1, 0, 2, 1])
    t = torch.tensor(z, requires_grad=True)
    p = torch.softmax(t, dim=1)
    conf, pred = p.max(dim=1)
    correct = (pred == torch.tensor(y)).double()
    acc = correct.mean()
    w = torch.where(correct == 1, 1 - acc, acc)
    loss = (w * (conf - correct) ** 2).sum() / w.sum()
    loss.backward()
    assert refloss.correctness_aware_loss(z, y) == pytest.approx(loss.item(), rel=1e-14)
    np.testing.assert_allclose(refloss.correctness_aware_loss_grad(z, y), t.grad.numpy(), rtol=1e-12, atol=1e-17)


def test_per_sample_temperature_by_the_documented_chain_rule():
    z, y = np.array([[2.0, 0.5, -1.0], [0.3, 1.3, 0.1], [1.0, 4.0, 0.0]]), np.array([0, 0, 1])
    t = np.array([0.8, 1.7, 2.5])
    g = refloss.correctness_aware_loss_grad(z / t[:, None], y)
    d_t = -(g * z).sum(axis=-1) / t**2
    for i in range(3):
        h = 1e-6 * t[i]
        up, down = t.copy(), t.copy()
        up[i] += h
        down[i] -= h
        fd = (refloss.correctness_aware_loss(z / up[:, None], y) - refloss.correctness_aware_loss(z / down[:, None],
                                                                                                    y)) / (2 * h)
        assert d_t[i] == pytest.approx(fd, rel=1e-6, abs=1e-12)


def test_correctness_aware_loss_without_weight_is_nan_and_keeps_the_digits_of_confident_rows():
    z = np.array([[40.0, 0.0, 0.0], [0.0, 40.0, 0.0]])
    with pytest.warns(RefLossWarning):
        assert math.isnan(refloss.correctness_aware_loss(z, [0, 1]))  # every prediction correct
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(refloss.correctness_aware_loss_grad(z, [0, 1]), np.zeros((2, 3)))
    # one right (p_hat - 1 = -2e^-40) and one wrong: the right row's term is (1/2)(2 e^-40)^2, not 0
    terms = refloss.correctness_aware_loss(z, [0, 0], reduction="none")
    assert terms[0] == pytest.approx(0.5 * (2 * math.exp(-40)) ** 2, rel=1e-14)
    # a target on a masked class is a wrong prediction, with a finite loss
    assert math.isfinite(refloss.correctness_aware_loss([[0.0, -np.inf, 1.0], [2.0, 0.0, 1.0]], [1, 0]))


def test_the_temperature_gradient_needs_its_differences_form():
    """(z_y - sum_k p_k z_k) / T^2 evaluated as written cancels where the target dominates (z_y and E_p[z] agree to
    1e-7 at a scaled gap of 15): it misses the stored 25-digit derivative by about 1e5 ulps of the policy, which the
    form (1/T) sum_(k != y) p_k (u_y - u_k) keeps."""
    case = next(c for c in dataset.load("temperature_scaled_nll")
                if c.id.endswith("gaps__target_dominant__temperature_4"))
    z, y, t = case.kwargs["logits"], case.kwargs["target"], float(case.kwargs["temperature"])
    p = np.exp(refloss.log_softmax(z / t))
    naive = float(((np.take_along_axis(z, y[:, None], -1)[:, 0] - (p * z).sum(-1)) / t**2).sum())
    got = refloss.temperature_scaled_nll_grad(**case.kwargs).temperature
    exact, scale = float(case.grads["temperature"]), float(case.grad_scales["temperature"])
    unit = refloss.tolerance.EPS * (abs(exact) + scale)
    assert abs(got - exact) <= 16 * unit < 1e3 * unit < abs(naive - exact)
