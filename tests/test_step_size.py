"""The step-size geometry of softmax cross-entropy: the radii against the partition function's complex zeros,
found independently with mpmath, and the family's conventions."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import refloss
from refloss import RefLossError


def _nearest_zero(z, multiples, g, temperature=1.0):
    """|tau| of the zero of F(tau) = sum_k e^{(z_k + n_k g tau)/T} nearest to 0, where the n_k are integers: F is
    then a polynomial in u = e^{g tau / T}, whose roots u_j give the zeros (log u_j + 2 pi i m) T / g; the principal
    log (m = 0) is the nearest of each family."""
    with mpmath.workdps(40):
        n = np.asarray(multiples) - min(multiples)
        coefficients = [mpmath.mpf(0)] * (int(n.max()) + 1)
        for zk, nk in zip(z, n):
            coefficients[int(nk)] += mpmath.exp(mpmath.mpf(float(zk)) / temperature)
        roots = mpmath.polyroots(coefficients[::-1], maxsteps=200, extraprec=200)
        return float(min(abs(mpmath.log(u)) for u in roots) * temperature / g)


@pytest.mark.parametrize("seed", range(12))
def test_no_zero_of_the_partition_function_lies_inside_the_lower_bound(seed):
    rng = np.random.default_rng(seed)
    c = int(rng.integers(2, 6))
    z = rng.normal(scale=3.0, size=c)
    multiples = rng.integers(0, 5, size=c)
    multiples[rng.integers(c)], multiples[rng.integers(c)] = 0, 4  # a spread of 4 g (maybe 0 and 4 at one class)
    if multiples.max() == multiples.min():
        multiples[0] = 4 - multiples[0]
    g = float(rng.uniform(0.3, 2.0))
    temperature = float(rng.choice([1.0, 0.5, 2.0]))
    a = multiples * g
    bound = refloss.softmax_taylor_radius(z, a, temperature=temperature)
    nearest = _nearest_zero(z, multiples, g, temperature)
    assert bound == pytest.approx(math.pi * temperature / (a.max() - a.min()), rel=1e-15)
    assert nearest >= bound * (1 - 1e-12), (nearest, bound)


@pytest.mark.parametrize("seed", range(6))
def test_the_binary_radius_is_the_nearest_zero(seed):
    rng = np.random.default_rng(100 + seed)
    z, g, temperature = rng.normal(scale=5.0, size=2), float(rng.uniform(0.2, 3.0)), float(rng.choice([1.0, 0.3]))
    for multiples in ([0, 1], [1, 0]):
        a = np.array(multiples, dtype=float) * g
        exact = _nearest_zero(z, multiples, g, temperature)
        assert refloss.binary_taylor_radius(z, a, temperature=temperature) == pytest.approx(exact, rel=1e-13)
        assert refloss.binary_taylor_radius(z, a, temperature=temperature) >= \
            refloss.softmax_taylor_radius(z, a, temperature=temperature)


def test_the_taylor_series_stops_converging_at_the_binary_radius():
    """The root test on the Taylor coefficients of log(e^delta + e^(Delta tau)) (the notes' check): the estimated
    radius approaches rho* from above as the order grows (a log singularity's n^(1/n) bias)."""
    delta, slope = 0.7, 1.3
    rho = refloss.binary_taylor_radius([delta, 0.0], [0.0, slope])
    with mpmath.workdps(40):
        coefficients = mpmath.taylor(lambda t: mpmath.log(mpmath.exp(delta) + mpmath.exp(slope * t)), 0, 40)
    estimates = [float(abs(coefficients[n]) ** (-1.0 / n)) for n in (30, 35, 40)]
    assert all(rho < e < rho * 1.1 for e in estimates), (rho, estimates)
    assert estimates[-1] < estimates[0]


def test_masks_one_class_and_equal_slopes_have_no_finite_radius():
    assert refloss.softmax_taylor_radius([1.0, -np.inf, 0.0], [0.0, 100.0, 2.0]) == math.pi / 2  # the mask ignored
    assert refloss.softmax_taylor_radius([[3.0]], [[2.0]], batch=False).tolist() == [math.inf]
    assert refloss.softmax_taylor_radius([1.0, 2.0], [0.5, 0.5]) == math.inf
    assert refloss.binary_taylor_radius([1.0, -np.inf], [0.0, 1.0]) == math.inf
    assert refloss.normalized_step([1.0, 2.0], [0.5, 0.5], step_size=3.0) == 0.0
    with pytest.raises(RefLossError, match="infinite|\\+inf"):
        refloss.softmax_taylor_radius_grad([1.0, 2.0], [0.5, 0.5])


def test_batch_is_the_bottleneck_row_and_temperature_scales():
    z = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    a = np.array([[1.0, -1.0, 0.0], [5.0, 0.0, 1.0]])
    rows = refloss.softmax_taylor_radius(z, a)
    assert refloss.softmax_taylor_radius(z, a, batch=True) == rows.min() == math.pi / 5
    np.testing.assert_allclose(refloss.softmax_taylor_radius(z, a, temperature=0.5), rows / 2, rtol=1e-15)
    assert refloss.normalized_step(z, a, step_size=1.0, batch=True) == pytest.approx(5 / math.pi, rel=1e-15)
    grad = refloss.softmax_taylor_radius_grad(z, a, batch=True)
    assert not grad[0].any() and grad[1, 0] < 0 < grad[1, 1]


def test_normalized_step_and_the_clip():
    z, a = np.zeros((2, 3)), np.array([[1.0, -1.0, 0.0], [0.5, 0.0, 0.25]])
    rho = refloss.softmax_taylor_radius(z, a, batch=True)
    for tau in (0.0, 0.5 * rho, rho, 3.0 * rho):
        r = refloss.normalized_step(z, a, step_size=tau, batch=True)
        assert r == pytest.approx(tau / rho, rel=1e-15)
        clip = refloss.step_clip_factor(z, a, step_size=tau)
        assert clip == (1.0 if tau <= rho else pytest.approx(rho / tau, rel=1e-15))
        assert refloss.normalized_step(z, a, step_size=clip * tau, batch=True) <= 1.0 + 1e-15


def test_top2_takes_the_strongest_competitor():
    z = np.array([2.0, 5.0, -1.0, 4.0])
    a = np.array([0.5, -1.0, 7.0, 0.25])
    got = refloss.binary_taylor_radius(z, a, target=np.array(0))  # competitor: class 1 (logit 5)
    assert got == pytest.approx(math.hypot(2.0 - 5.0, math.pi) / 1.5, rel=1e-15)
    assert refloss.binary_taylor_radius(z, a, target=np.array(1)) == pytest.approx(math.hypot(1.0, math.pi) / 1.25,
                                                                                   rel=1e-15)


def _central(f, x, h=1e-6):
    out = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (np.sum(f(x + e)) - np.sum(f(x - e))) / (2 * h)
    return out


def test_gradients_match_central_differences():
    z = np.array([[0.5, 2.0, -1.0], [1.0, 0.0, 3.0]])
    a = np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.7]])
    y = np.array([2, 0])
    np.testing.assert_allclose(refloss.softmax_taylor_radius_grad(z, a),
                               _central(lambda x: refloss.softmax_taylor_radius(z, x), a), rtol=1e-7)
    np.testing.assert_allclose(refloss.normalized_step_grad(z, a, step_size=0.7),
                               _central(lambda x: refloss.normalized_step(z, x, step_size=0.7), a), rtol=1e-7)
    g = refloss.binary_taylor_radius_grad(z, a, target=y)
    np.testing.assert_allclose(g.logits, _central(lambda x: refloss.binary_taylor_radius(x, a, target=y), z),
                               rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(g.directional_derivatives,
                               _central(lambda x: refloss.binary_taylor_radius(z, x, target=y), a), rtol=1e-7,
                               atol=1e-12)


def test_kinks_refuse_the_gradient():
    with pytest.raises(RefLossError, match="attained twice"):
        refloss.softmax_taylor_radius_grad([0.0, 0.0, 0.0], [1.0, 1.0, -1.0])
    with pytest.raises(RefLossError, match="share"):
        refloss.softmax_taylor_radius_grad(np.zeros((2, 2)), np.array([[0.0, 1.0], [2.0, 3.0]]), batch=True)
    with pytest.raises(RefLossError, match="tied"):
        refloss.binary_taylor_radius_grad([0.0, 1.0, 1.0], [1.0, 2.0, 3.0], target=np.array(0))


@pytest.mark.parametrize("call, match", [
    (lambda: refloss.softmax_taylor_radius([0.0, 1.0], [1.0]), "directional_derivatives must have the shape"),
    (lambda: refloss.softmax_taylor_radius([0.0, 1.0], [1.0, np.nan]), "directional_derivatives contains NaN"),
    (lambda: refloss.softmax_taylor_radius([0.0, 1.0], [1.0, 0.0], temperature=0.0), "temperature"),
    (lambda: refloss.binary_taylor_radius([0.0, 1.0, 2.0], [1.0, 0.0, 2.0]), "target="),
    (lambda: refloss.binary_taylor_radius([0.0, -np.inf], [1.0, 0.0], target=np.array(1)), "masked"),
    (lambda: refloss.normalized_step([0.0, 1.0], [1.0, 0.0], step_size=-1.0), "step_size"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(RefLossError, match=match):
        call()


def test_inputs_are_not_modified():
    z, a = np.array([[0.0, 1.0, -np.inf]]), np.array([[1.0, 2.0, 3.0]])
    z0, a0 = z.copy(), a.copy()
    refloss.binary_taylor_radius_grad(z, a, target=np.array([0]))
    refloss.softmax_taylor_radius_grad(z, a)
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(a, a0)
