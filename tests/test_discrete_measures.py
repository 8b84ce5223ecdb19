"""Renyi's entropy and divergence and the Jensen-Shannon divergence (issue 20): their limits as tests, identities
against independent formulas (the Bhattacharyya coefficient, the entropy form of JS, SciPy's jensenshannon), order
monotonicity, masks, and the digits of nearly equal distributions. The registry's generic checks (oracle, finite
differences, shifts, bad input) run in tests/test_registry.py and tests/test_fuzz.py."""

import math

import mpmath
import numpy as np
import pytest
import scipy.spatial.distance
import scipy.special

import refloss
from refloss import RefLossError

EPS = np.finfo(np.float64).eps


def _rows(seed, n=12, classes=5, scale=4.0, masks=True):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, classes)) * scale
    if masks:
        z[rng.random(z.shape) < 0.2] = -np.inf
        z[:, 0] = np.where(np.isinf(z).all(axis=-1), 0.0, z[:, 0])
    return z


def _softmax(z):
    return scipy.special.softmax(z, axis=-1)


def _exact_rows(a, b, measure):
    """``measure(p, q)`` of each row pair at 60 digits (mpmath), from the float64 logits as they are."""
    out = []
    with mpmath.workdps(60):
        for ra, rb in zip(np.atleast_2d(a), np.atleast_2d(b)):
            ea, eb = [mpmath.exp(mpmath.mpf(x)) for x in ra], [mpmath.exp(mpmath.mpf(x)) for x in rb]
            p, q = [x / sum(ea) for x in ea], [x / sum(eb) for x in eb]
            out.append(float(measure(p, q)))
    return np.array(out)


# -- the Renyi entropy ---------------------------------------------------------------------------------------------


def test_renyi_entropy_at_order_one_is_shannon_and_its_neighbours_tend_to_it():
    z = np.vstack([_rows(0), [[40.0, 0.0, -3.0, -np.inf, 1.0], [1e-9, 0.0, 0.0, 0.0, 0.0]]])
    shannon = refloss.softmax_entropy(z, reduction="none")
    exact = refloss.renyi_entropy(z, alpha=1.0, reduction="none")
    np.testing.assert_array_less(np.abs(exact - shannon), 4 * EPS * shannon + 1e-300)  # a few ulps
    for alpha in (1.0 - 1e-6, 1.0 + 1e-6):
        near = refloss.renyi_entropy(z, alpha=alpha, reduction="none")
        # |dH/dalpha| / H is O(1) for a spread row and about half the logit gap (40) for a peaked one
        np.testing.assert_allclose(near, shannon, rtol=1e-6 * 40)
        assert ((near - shannon) * np.sign(alpha - 1.0) <= 4 * EPS * shannon).all()  # non-increasing in the order
    grad = refloss.renyi_entropy_grad(z, alpha=1.0)
    np.testing.assert_allclose(grad, refloss.softmax_entropy_grad(z), rtol=4 * EPS, atol=1e-300)
    np.testing.assert_allclose(refloss.renyi_entropy_grad(z, alpha=1.0 + 1e-6), grad, rtol=1e-4, atol=1e-8)


def test_tsallis_entropy_tends_to_shannon_as_q_tends_to_one():
    z = _rows(1)
    shannon = refloss.softmax_entropy(z, reduction="none")
    exact = refloss.softmax_tsallis_entropy(z, q=1.0, reduction="none")
    np.testing.assert_array_less(np.abs(exact - shannon), 4 * EPS * shannon + 1e-300)
    for q in (1.0 - 1e-6, 1.0 + 1e-6):
        np.testing.assert_allclose(refloss.softmax_tsallis_entropy(z, q=q, reduction="none"), shannon, rtol=1e-5)


def test_renyi_entropy_is_the_log_of_tsallis():
    # H_alpha = log(1 + (1 - alpha) S_alpha) / (1 - alpha), S_alpha Tsallis's entropy of the same order
    z = _rows(2, masks=False, scale=2.0)
    for alpha in (0.3, 0.9, 1.5, 3.0):
        tsallis = refloss.softmax_tsallis_entropy(z, q=alpha, reduction="none")
        np.testing.assert_allclose(refloss.renyi_entropy(z, alpha=alpha, reduction="none"),
                                   np.log1p((1 - alpha) * tsallis) / (1 - alpha), rtol=1e-13)


def test_renyi_entropy_order_zero_is_the_log_of_the_support():
    # the masks decide the support: a class whose probability underflows is in it
    z = np.array([[5.0, -np.inf, 0.0, -800.0], [3.0, -np.inf, -np.inf, -np.inf], [0.0, 1.0, 2.0, 3.0]])
    support = np.array([3.0, 1.0, 4.0])
    np.testing.assert_array_equal(refloss.renyi_entropy(z, alpha=0.0, reduction="none"), np.log(support))
    np.testing.assert_array_equal(refloss.renyi_entropy_grad(z, alpha=0.0), np.zeros_like(z))
    # the limit alpha -> 0+ (where no probability underflows)
    moderate = z[1:]
    np.testing.assert_allclose(refloss.renyi_entropy(moderate, alpha=1e-9, reduction="none"), np.log(support[1:]),
                               rtol=1e-8)


def test_renyi_entropy_tends_to_the_min_entropy():
    z = np.vstack([_rows(3), [[2.0, 2.0, 0.0, -1.0, -np.inf]]])
    p = _softmax(z)
    others = np.exp(z - z.max(axis=-1, keepdims=True))
    np.put_along_axis(others, np.argmax(z, axis=-1)[:, None], 0.0, axis=-1)
    min_entropy = np.log1p(others.sum(axis=-1))  # -log max p, without rounding max p first
    support = np.isfinite(z).sum(axis=-1)
    for alpha in (1e3, 1e6):
        h = refloss.renyi_entropy(z, alpha=alpha, reduction="none")
        # min-entropy <= H_alpha <= alpha/(alpha - 1) min-entropy
        assert (h >= min_entropy * (1 - 1e-15)).all() and (h <= alpha / (alpha - 1) * min_entropy + 1e-15).all()
        assert (h - min_entropy <= np.log(support) / (alpha - 1) + 1e-15).all()
    np.testing.assert_allclose(refloss.renyi_entropy(z, alpha=1e300, reduction="none"), min_entropy, rtol=1e-14)
    # the gradient of -log max p: p - e_k, and tied modes share the mass equally
    grad = refloss.renyi_entropy_grad(z, alpha=1e300, reduction="sum")
    modes = np.isclose(p, p.max(axis=-1, keepdims=True), rtol=0, atol=0)
    expected = p - modes / modes.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(grad, expected, atol=1e-14)
    assert modes[-1].sum() == 2 and np.allclose(grad[-1, :2], p[-1, :2] - 0.5)


def test_renyi_entropy_at_order_inf_is_the_min_entropy():
    z = np.vstack([_rows(13), [[2.0, 2.0, 0.0, -1.0, -np.inf], [1.0, 1.0, 1.0, -3.0, -np.inf]]])
    p = _softmax(z)
    h_inf = refloss.renyi_entropy(z, alpha=np.inf, reduction="none")
    np.testing.assert_allclose(h_inf, -np.log(np.max(p, axis=-1)), rtol=1e-14, atol=1e-15)
    # the limit alpha -> inf: H_alpha >= H_inf, within log|supp| / (alpha - 1)
    h = refloss.renyi_entropy(z, alpha=1e6, reduction="none")
    assert (h >= h_inf * (1 - 1e-15)).all() and (h - h_inf <= np.log(np.isfinite(z).sum(-1)) / (1e6 - 1) + 1e-15).all()
    np.testing.assert_allclose(h, h_inf, rtol=1e-5)
    # a peaked row: -log max p = log1p(e^-60), where 1 - max p rounds to 0
    assert refloss.renyi_entropy([[60.0, 0.0]], alpha=np.inf, reduction="none")[0] == pytest.approx(
        math.exp(-60.0), rel=4 * EPS)
    assert refloss.renyi_entropy([[7.0]], alpha=np.inf, reduction="none")[0] == 0.0
    # the gradient p - g: g the mode's one-hot, tied modes sharing equally (2 and 3 tied), 0 at masked classes
    grad = refloss.renyi_entropy_grad(z, alpha=np.inf, reduction="sum")
    modes = np.isfinite(z) & (z == z.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(grad, p - modes / modes.sum(axis=-1, keepdims=True), atol=1e-15)
    assert modes[-2].sum() == 2 and modes[-1].sum() == 3 and (grad[np.isinf(z)] == 0).all()
    np.testing.assert_allclose(grad[-1, :3], p[-1, :3] - 1 / 3, rtol=1e-13)
    # the limit of the gradient, a three-way tie included: the escort tends to the uniform one on the modes
    np.testing.assert_allclose(refloss.renyi_entropy_grad(z, alpha=1e6, reduction="sum"), grad, atol=1e-5)
    # two modes at (40, 40, 0): p_j - 1/2 = -e^-40 / (2 (2 + e^-40)), where log p_j + log 2 rounds to 0
    g = refloss.renyi_entropy_grad([[40.0, 40.0, 0.0]], alpha=np.inf, reduction="sum")[0]
    assert g[0] == g[1] == pytest.approx(-math.exp(-40.0) / (2 * (2 + math.exp(-40.0))), rel=1e-14)


def test_renyi_entropy_is_non_increasing_in_the_order():
    z = _rows(4, n=40)
    orders = [0.0, 0.2, 0.5, 0.99, 1.0, 1.01, 2.0, 5.0, 50.0, 1e4, np.inf]
    h = np.array([refloss.renyi_entropy(z, alpha=a, reduction="none") for a in orders])
    assert (np.diff(h, axis=0) <= 1e-13 * h[:-1]).all()


def test_renyi_entropy_hand_values_and_bits():
    # p = (1/2, 1/4, 1/4): H_2 = -log(1/4 + 1/16 + 1/16) = log(8/3)
    z = [np.log(2.0), 0.0, 0.0]
    assert refloss.renyi_entropy(z, alpha=2.0) == pytest.approx(math.log(8 / 3), rel=4 * EPS)
    assert refloss.renyi_entropy(z, alpha=2.0, base=2) == pytest.approx(math.log2(8 / 3), rel=4 * EPS)
    assert refloss.renyi_entropy([[7.0]], alpha=0.5, reduction="none")[0] == 0.0
    # a peaked row: H_2 ~ 2 e^-g, where log(sum p^2) rounds to 0
    assert refloss.renyi_entropy([60.0, 0.0], alpha=2.0) == pytest.approx(2 * math.exp(-60.0), rel=1e-14)


# -- the Renyi divergence ------------------------------------------------------------------------------------------


def _pair(seed, n=12, classes=5, scale=3.0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(2, n, classes)) * scale
    return a, b


def test_renyi_divergence_at_order_one_is_kl():
    a, b = _pair(5)
    a[0, 1] = b[0, 1] = -np.inf
    a[1, 2] = -np.inf  # p masks a class of q
    kl = refloss.kl_divergence_logits(a, b, reduction="none")
    assert np.array_equal(refloss.renyi_divergence(a, b, alpha=1.0, reduction="none"), kl)
    g, g_kl = refloss.renyi_divergence_grad(a, b, alpha=1.0), refloss.kl_divergence_logits_grad(a, b)
    assert np.array_equal(g.p_logits, g_kl.p_logits) and np.array_equal(g.q_logits, g_kl.q_logits)
    for alpha in (1.0 - 1e-6, 1.0 + 1e-6):
        near = refloss.renyi_divergence(a, b, alpha=alpha, reduction="none")
        np.testing.assert_allclose(near, kl, rtol=1e-4)
        assert ((near - kl) * (alpha - 1.0) >= 0).all()  # non-decreasing in the order


def test_renyi_divergence_of_order_one_half_is_twice_the_bhattacharyya_distance():
    a, b = _pair(6)
    bc = np.sqrt(_softmax(a) * _softmax(b)).sum(axis=-1)
    np.testing.assert_allclose(refloss.renyi_divergence(a, b, alpha=0.5, reduction="none"), -2 * np.log(bc),
                               rtol=1e-12)


def test_renyi_divergence_is_non_decreasing_in_the_order():
    a, b = _pair(7, n=40)
    orders = [0.0, 0.1, 0.5, 0.99, 1.0, 1.01, 2.0, 5.0, 50.0, 1e6, np.inf]
    d = np.array([refloss.renyi_divergence(a, b, alpha=x, reduction="none") for x in orders])
    assert (d >= 0).all() and (np.diff(d, axis=0) >= -1e-13 * d[1:]).all()
    # toward the order inf: log max p/q from below
    log_max_ratio = np.log((_softmax(a) / _softmax(b)).max(axis=-1))
    assert (d[-2] <= log_max_ratio * (1 + 1e-13)).all()
    np.testing.assert_allclose(d[-2], d[-1], rtol=1e-5)


def test_renyi_divergence_at_order_inf_is_the_log_of_the_largest_ratio():
    a, b = _pair(17)
    a[0, 1] = -np.inf  # p masks a class: outside the maximum
    a[1, 2] = b[1, 2] = -np.inf
    b[2:4] = np.round(b[2:4] * 1024) / 1024  # a - b exact below
    a[2] = b[2] + np.array([1.0, 1.0, 0.0, -2.0, 0.5])  # two modes of the ratio
    a[3] = b[3] + np.array([0.25, -1.0, 0.25, 0.25, 0.0])  # three
    p, q = _softmax(a), _softmax(b)
    d = refloss.renyi_divergence(a, b, alpha=np.inf, reduction="none")
    with np.errstate(invalid="ignore"):  # 0 / 0 at a class masked in both
        np.testing.assert_allclose(d, np.log(np.max(np.where(p > 0, p / q, 0.0), axis=-1)), rtol=1e-13)
    # against the definition at 60 digits, for nearly equal rows too (D ~ 1e-9)
    near = np.array([[0.3, -1.2, 2.0], [15.0, 0.0, -3.0]])
    for x, y in ((a[:2], b[:2]), (near, near + np.array([[1e-9, -2e-9, 0.0], [0.0, 1e-9, 0.0]]))):
        exact = _exact_rows(x, y, lambda p, q: mpmath.log(max(s / t for s, t in zip(p, q) if s > 0)))
        np.testing.assert_allclose(refloss.renyi_divergence(x, y, alpha=np.inf, reduction="none"), exact, rtol=1e-13)
    # gradients: g - p and q - g, g the ratio's mode, tied modes sharing equally
    g = refloss.renyi_divergence_grad(a, b, alpha=np.inf, reduction="sum")
    ratio = np.where(np.isfinite(a), a - np.where(np.isfinite(b), b, 0.0), -np.inf)
    modes = ratio == ratio.max(axis=-1, keepdims=True)
    share = modes / modes.sum(axis=-1, keepdims=True)
    assert modes[2].sum() == 2 and modes[3].sum() == 3
    np.testing.assert_allclose(g.p_logits, np.where(np.isfinite(a), share - p, 0.0), atol=1e-15)
    np.testing.assert_allclose(g.q_logits, np.where(np.isfinite(b), q - share, 0.0), atol=1e-15)
    # the limit alpha -> inf of the gradients: the same for a unique mode; at a tie it shares in proportion to q
    # (the tilted distribution's limit), another point of the subdifferential than refloss's equal shares
    g_big = refloss.renyi_divergence_grad(a, b, alpha=1e6, reduction="sum")
    np.testing.assert_allclose(g_big.p_logits[:2], g.p_logits[:2], atol=1e-4)
    np.testing.assert_allclose(g_big.q_logits[:2], g.q_logits[:2], atol=1e-4)
    weighted = modes * q / (modes * q).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(g_big.q_logits[2:4], (q - weighted)[2:4], atol=1e-4)
    # +inf where q masks a class of p, and then no gradient
    assert refloss.renyi_divergence([[0.0, 0.0]], [[0.0, -np.inf]], alpha=np.inf) == math.inf
    with pytest.raises(RefLossError, match="inf"):
        refloss.renyi_divergence_grad([[0.0, 0.0]], [[0.0, -np.inf]], alpha=np.inf)


def test_renyi_divergence_orders_zero_and_masks():
    p_logits = np.array([[0.0, 1.0, -np.inf], [0.0, 1.0, 2.0]])
    q_logits = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    # order 0: -log Q(supp p) = -log(2/3), and 0 when the supports are equal
    np.testing.assert_allclose(refloss.renyi_divergence(p_logits, q_logits, alpha=0.0, reduction="none"),
                               [math.log(1.5), 0.0], rtol=4 * EPS)
    g = refloss.renyi_divergence_grad(p_logits, q_logits, alpha=0.0, reduction="sum")
    np.testing.assert_allclose(g.q_logits[0], [-1 / 6, -1 / 6, 1 / 3], rtol=4 * EPS)  # q_j - [j in A] q_j / Q(A)
    assert not g.p_logits.any()
    # q masks a class of p: finite below the order 1 (p^alpha 0^(1 - alpha) = 0), +inf from it on
    p, q = [[0.0, 0.0]], [[0.0, -np.inf]]
    assert refloss.renyi_divergence(p, q, alpha=0.5) == pytest.approx(math.log(2.0), rel=4 * EPS)
    for alpha in (1.0, 2.0):
        assert refloss.renyi_divergence(p, q, alpha=alpha) == math.inf
        with pytest.raises(RefLossError, match="inf"):
            refloss.renyi_divergence_grad(p, q, alpha=alpha)
    assert refloss.renyi_divergence([[0.0, -np.inf]], [[-np.inf, 0.0]], alpha=0.5) == math.inf  # disjoint


def test_renyi_divergence_of_nearly_equal_distributions_keeps_its_digits():
    # logits 1e-9 apart: D_alpha ~ (alpha/2) sum_j q_j u_j^2 ~ 1e-19, against the definition at 60 digits
    a = np.array([[0.3, -1.2, 2.0], [15.0, 0.0, -3.0]])
    b = a + np.array([[1e-9, -2e-9, 0.0], [0.0, 1e-9, 0.0]])
    for alpha in (0.5, 1.0 - 2.0**-30, 2.0, 50.0):
        order = mpmath.mpf(alpha)
        exact = _exact_rows(a, b, lambda p, q: mpmath.log(sum(x**order * y ** (1 - order) for x, y in zip(p, q)))
                            / (order - 1))
        np.testing.assert_allclose(refloss.renyi_divergence(a, b, alpha=alpha, reduction="none"), exact, rtol=1e-13)


def test_alpha_outside_its_domain_is_refused():
    for bad in (-0.5, -math.inf, math.nan):
        with pytest.raises(RefLossError, match="alpha"):
            refloss.renyi_entropy([0.0, 1.0], alpha=bad)
        with pytest.raises(RefLossError, match="alpha"):
            refloss.renyi_divergence([0.0, 1.0], [1.0, 0.0], alpha=bad)


# -- the Jensen-Shannon divergence ---------------------------------------------------------------------------------


def test_js_is_symmetric_bounded_and_the_entropy_form():
    a, b = _pair(8, n=30)
    js = refloss.js_divergence(a, b, reduction="none")
    np.testing.assert_allclose(refloss.js_divergence(b, a, reduction="none"), js, rtol=1e-14)
    assert (js >= 0).all() and (js <= math.log(2)).all()
    m = 0.5 * (_softmax(a) + _softmax(b))
    halves = 0.5 * (refloss.softmax_entropy(a, reduction="none") + refloss.softmax_entropy(b, reduction="none"))
    entropy_form = refloss.softmax_entropy(np.log(m), reduction="none") - halves
    np.testing.assert_allclose(js, entropy_form, rtol=1e-12, atol=1e-15)


def test_js_against_scipy():
    a, b = _pair(9, n=20, scale=2.0)
    p, q = _softmax(a), _softmax(b)
    distance = scipy.spatial.distance.jensenshannon(p, q, axis=-1)  # sqrt(JS), natural log
    np.testing.assert_allclose(refloss.js_divergence(a, b, reduction="none"), distance**2, rtol=1e-12)
    bits = scipy.spatial.distance.jensenshannon(p, q, base=2, axis=-1)
    np.testing.assert_allclose(refloss.js_divergence(a, b, base=2, reduction="none"), bits**2, rtol=1e-12)


def test_js_edges_equal_disjoint_masked():
    a, _ = _pair(10, n=4)
    assert not refloss.js_divergence(a, a.copy(), reduction="none").any()  # 0 exactly
    assert refloss.js_divergence([0.0, 1.0, -np.inf, -np.inf], [-np.inf, -np.inf, 3.0, 0.0]) == pytest.approx(
        math.log(2.0), rel=4 * EPS)
    # q masks a class of p: finite; the class contributes p_j/2 log 2
    p_logits, q_logits = np.array([0.0, 0.0]), np.array([0.0, -np.inf])
    p = np.array([0.5, 0.5])
    m = np.array([0.75, 0.25])
    expected = 0.5 * (p * np.log(p / m)).sum() + 0.5 * 1.0 * np.log(1.0 / 0.75)
    assert refloss.js_divergence(p_logits, q_logits) == pytest.approx(expected, rel=4 * EPS)
    g = refloss.js_divergence_grad(p_logits, q_logits)
    assert np.isfinite(g.p_logits).all() and g.q_logits[1] == 0.0


def test_js_of_nearly_equal_distributions_keeps_its_digits():
    # logits 1e-9 apart: JS ~ (1/8) sum_j m_j u_j^2 ~ 1e-20, where H(m) - (H(p) + H(q))/2 is rounding noise
    a = np.array([[0.3, -1.2, 2.0], [15.0, 0.0, -3.0], [1e-9, 0.0, 0.0]])
    b = a + np.array([[1e-9, -2e-9, 0.0], [0.0, 1e-9, 0.0], [0.0, 0.0, 1e-9]])
    exact = _exact_rows(a, b, lambda p, q: sum(x * mpmath.log(2 * x / (x + y)) + y * mpmath.log(2 * y / (x + y))
                                               for x, y in zip(p, q)) / 2)
    np.testing.assert_allclose(refloss.js_divergence(a, b, reduction="none"), exact, rtol=1e-13)
    m = 0.5 * (_softmax(a) + _softmax(b))
    noise = (refloss.softmax_entropy(np.log(m), reduction="none")
             - 0.5 * (refloss.softmax_entropy(a, reduction="none") + refloss.softmax_entropy(b, reduction="none")))
    assert not np.allclose(noise, exact, rtol=1e-3, atol=0.0)  # the entropy form has lost them


def test_js_gradient_is_the_closed_form():
    # (1/2) p_j (log(p_j / m_j) - KL(p || m)), evaluated naively on moderate inputs
    a, b = _pair(11, scale=1.5)
    p, q = _softmax(a), _softmax(b)
    m = 0.5 * (p + q)
    g = refloss.js_divergence_grad(a, b, reduction="sum")
    for got, x in ((g.p_logits, p), (g.q_logits, q)):
        rho = np.log(x / m)
        np.testing.assert_allclose(got, 0.5 * x * (rho - (x * rho).sum(axis=-1, keepdims=True)), rtol=1e-10,
                                   atol=1e-15)
