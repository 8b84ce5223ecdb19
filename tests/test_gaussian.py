"""The Gaussian family (gaussian_entropy, gaussian_mutual_information, gaussian_conditional_mutual_information,
gaussian_total_correlation): identities between the objects, independent closed forms and published values,
invariances, the differentiation convention, bad input. The oracle, the golden data and the generic checks are in
tests/test_registry.py, tests/test_fuzz.py and tests/test_golden.py."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import refloss
from refloss import RefLossError, tolerance
from refloss._cases import plain_strategy
from refloss.golden.dataset import cached_reference

H, MI = refloss.gaussian_entropy, refloss.gaussian_mutual_information
CMI, TC = refloss.gaussian_conditional_mutual_information, refloss.gaussian_total_correlation
NAMES = ["gaussian_entropy", "gaussian_mutual_information", "gaussian_conditional_mutual_information",
         "gaussian_total_correlation"]
G3 = np.array([[2.0, 0.6, -0.4], [0.6, 1.5, 0.3], [-0.4, 0.3, 1.0]])


def drawn(name):
    return plain_strategy(refloss.get(name), False)


def block_entropy(cov, rows):
    rows = list(rows)
    return H(np.asarray(cov)[np.ix_(rows, rows)]) if rows else 0.0


# -- independent closed forms and published values ------------------------------------------------------------


@pytest.mark.parametrize("rho", [1e-8, -1e-3, 0.5, -0.75, 0.9999999])
def test_mi_of_two_scalars_is_minus_half_log_one_minus_rho_squared(rho):
    cov = np.array([[1.0, rho], [rho, 1.0]])
    expected = -0.5 * math.log1p(-rho * rho)
    assert MI(cov, [0], [1]) == pytest.approx(expected, rel=2e-15 if abs(rho) < 0.9 else 1e-9)
    assert TC(cov) == pytest.approx(expected, rel=2e-15 if abs(rho) < 0.9 else 1e-9)
    # d I / d Sigma_01 = -1/2 (Sigma^-1)_01 = rho / (2 (1 - rho^2))
    assert refloss.gaussian_mutual_information_grad(cov, [0], [1])[0, 1] == pytest.approx(
        rho / (2.0 * (1.0 - rho * rho)), rel=1e-8 if abs(rho) > 0.9 else 1e-14)


def test_published_values():
    # benchmark-mi (research/anchors_mi.md, Sec. 1.3): multinormal-dense-d-d-0.5 and the 2-pair task
    for d, expected in ((2, 0.293893), (3, 0.413339), (5, 0.592812)):
        cov = 0.5 * np.eye(2 * d) + 0.5
        assert MI(cov, list(range(d)), list(range(d, 2 * d))) == pytest.approx(expected, abs=5e-7)
    pairs = np.eye(4)
    pairs[0, 2] = pairs[2, 0] = pairs[1, 3] = pairs[3, 1] = 0.8
    assert MI(pairs, [0, 1], [2, 3]) == pytest.approx(-math.log(0.36), rel=1e-15)
    # the Gaussian entropy of N(0, 1) and total correlation of 4 variables equicorrelated 0.5: det R = 5/16
    assert H([[1.0]]) == pytest.approx(0.5 * math.log(2 * math.pi * math.e), rel=1e-16)
    assert TC(0.5 * np.eye(4) + 0.5) == pytest.approx(-0.5 * math.log(5 / 16), rel=1e-15)


def test_near_independence_keeps_its_digits_where_the_log_determinants_do_not():
    """The stress point at a correlation of 1e-8: refloss within the policy, the definition's difference of
    log-determinants (what a direct implementation computes) far outside it."""
    entry = refloss.get("gaussian_mutual_information")
    case = entry.stress_cases()["near_independent_1e-8"]
    ref = cached_reference(entry, case)
    assert tolerance.worst_ulps(MI(**case), ref.value, ref.value_scale) <= 1
    logdet = lambda a: np.linalg.slogdet(np.atleast_2d(a))[1]  # noqa: E731
    cov = case["cov"]
    naive = 0.5 * (logdet(cov[0, 0]) + logdet(cov[1, 1]) - logdet(cov))
    assert tolerance.worst_ulps(naive, ref.value, ref.value_scale) > 1e3


# -- identities between the objects ---------------------------------------------------------------------------


@given(st.data())
def test_mi_is_symmetric_in_x_and_y(data):
    case = data.draw(drawn("gaussian_mutual_information"))
    swapped = {**case, "x": case["y"], "y": case["x"]}
    assert MI(**swapped) == pytest.approx(MI(**case), rel=1e-13, abs=1e-300)
    np.testing.assert_allclose(refloss.gaussian_mutual_information_grad(**swapped),
                               refloss.gaussian_mutual_information_grad(**case), rtol=1e-12, atol=1e-15)


@given(st.data())
def test_mi_is_the_sum_of_entropies(data):
    """I(X; Y) = h(X) + h(Y) - h(X, Y) on well-conditioned draws (the difference loses a few digits)."""
    case = data.draw(drawn("gaussian_mutual_information"))
    cov, x, y = case["cov"], list(case["x"]), list(case["y"])
    entropies = block_entropy(cov, x) + block_entropy(cov, y) - block_entropy(cov, x + y)
    assert MI(cov, x, y) == pytest.approx(entropies, abs=1e-13)


@given(st.data(), st.lists(st.integers(-30, 30), min_size=4, max_size=4))
def test_mi_and_cmi_are_invariant_under_scaling_each_variable(data, powers):
    case = data.draw(drawn("gaussian_conditional_mutual_information"))
    d = case["cov"].shape[0]
    s = 10.0 ** np.array(powers[:d], dtype=np.float64)
    scaled = s[:, None] * case["cov"] * s[None, :]
    scaled = np.tril(scaled) + np.tril(scaled, -1).T
    assert CMI(**{**case, "cov": scaled}) == pytest.approx(CMI(**case), rel=1e-12, abs=1e-300)
    # the gradient transforms as G(S Sigma S) = S^-1 G(Sigma) S^-1
    g = refloss.gaussian_conditional_mutual_information_grad(**case)
    np.testing.assert_allclose(refloss.gaussian_conditional_mutual_information_grad(**{**case, "cov": scaled}),
                               g / s[:, None] / s[None, :], rtol=1e-10, atol=0)


@given(st.data())
def test_cmi_chain_rule_and_z_empty(data):
    """I(X; Y, Z) = I(X; Z) + I(X; Y | Z), and I(X; Y | {}) is I(X; Y) to the last bit."""
    case = data.draw(drawn("gaussian_conditional_mutual_information"))
    cov, x, y, z = case["cov"], case["x"], case["y"], case["z"]
    joint = MI(cov, x, np.concatenate([y, z]))
    parts = (MI(cov, x, z) if len(z) else 0.0) + CMI(cov, x, y, z)
    assert joint == pytest.approx(parts, rel=1e-12, abs=1e-15)
    assert CMI(cov, x, y, []) == MI(cov, x, y)
    assert np.array_equal(refloss.gaussian_conditional_mutual_information_grad(cov, x, y, []),
                          refloss.gaussian_mutual_information_grad(cov, x, y))


def test_cmi_is_the_mi_of_the_conditional_covariance():
    cov = np.array([[4.0, 1.2, -0.8, 0.5], [1.2, 3.0, 0.7, -0.6], [-0.8, 0.7, 2.5, 0.9], [0.5, -0.6, 0.9, 2.0]])
    v, z = [0, 3], [1, 2]
    cond = cov[np.ix_(v, v)] - cov[np.ix_(v, z)] @ np.linalg.solve(cov[np.ix_(z, z)], cov[np.ix_(z, v)])
    cond = np.tril(cond) + np.tril(cond, -1).T
    assert CMI(cov, [0], [3], z) == pytest.approx(MI(cond, [0], [1]), rel=1e-13)


@given(st.data())
def test_total_correlation_is_the_sum_of_marginal_entropies_minus_the_joint(data):
    cov = data.draw(drawn("gaussian_total_correlation"))["cov"]
    d = cov.shape[0]
    marginals = sum(H(cov[j:j + 1, j:j + 1]) for j in range(d))
    assert TC(cov) == pytest.approx(marginals - H(cov), abs=1e-13)
    # and its chain rule: TC(X_1..X_d) = TC(X_1..X_{d-1}) + I(X_d; X_{<d})
    if d > 1:
        assert TC(cov) == pytest.approx(TC(cov[:-1, :-1]) + MI(cov, [d - 1], list(range(d - 1))), abs=1e-13)


@given(st.data(), st.floats(1e-3, 1e3))
def test_entropy_of_a_scaled_covariance(data, c):
    cov = data.draw(drawn("gaussian_entropy"))["cov"]
    d = cov.shape[0]
    assert H(c * cov) == pytest.approx(H(cov) + 0.5 * d * math.log(c), abs=1e-13 * (1 + abs(H(cov))))
    np.testing.assert_allclose(refloss.gaussian_entropy_grad(c * cov), refloss.gaussian_entropy_grad(cov) / c,
                               rtol=1e-12)


def test_base_divides_value_and_gradient():
    assert H(G3, base=2) == pytest.approx(H(G3) / math.log(2), rel=1e-15)
    assert MI(G3, [0], [1, 2], base=10) == pytest.approx(MI(G3, [0], [1, 2]) / math.log(10), rel=1e-15)
    np.testing.assert_allclose(refloss.gaussian_total_correlation_grad(G3, base=0.5),
                               refloss.gaussian_total_correlation_grad(G3) / math.log(0.5), rtol=1e-15)


def test_independent_variables():
    diag = np.diag([2.0, 3.0, 5.0, 7.0])
    assert MI(diag, [0, 2], [1, 3]) == 0.0 and TC(diag) == 0.0 and CMI(diag, [0], [1], [2, 3]) == 0.0
    assert not refloss.gaussian_mutual_information_grad(diag, [0, 2], [1, 3]).any()
    assert not refloss.gaussian_total_correlation_grad(diag).any()
    np.testing.assert_allclose(refloss.gaussian_entropy_grad(diag), np.diag(0.5 / np.diag(diag)), rtol=4e-16, atol=0)


def test_zero_dimensional_gaussian():
    assert H(np.zeros((0, 0))) == 0.0 and TC(np.zeros((0, 0))) == 0.0
    assert refloss.gaussian_entropy_grad(np.zeros((0, 0))).shape == (0, 0)


# -- the differentiation convention ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_gradient_is_symmetric_and_is_the_derivative_along_symmetric_directions(name):
    """Independent entries: g is symmetric, and moving the pair (i, j), (j, i) together changes the value by
    g_ij + g_ji (central differences, step 1e-6); entries of variables in no index set are 0."""
    entry = refloss.get(name)
    case = dict(entry.stress_cases()["defaults"])
    g = entry.grad(**case)
    assert np.array_equal(g, g.T)
    cov = case["cov"]
    for i, j in [(0, 0), (0, 1), (1, 3), (2, 3)]:
        step = np.zeros_like(cov)
        step[i, j] = step[j, i] = 1e-6
        fd = (entry.fn(**{**case, "cov": cov + step}) - entry.fn(**{**case, "cov": cov - step})) / 2e-6
        along = g[i, j] + (g[j, i] if i != j else 0.0)
        assert fd == pytest.approx(along, rel=1e-7, abs=1e-9)


def test_gradient_outside_the_index_sets_is_zero():
    g = refloss.gaussian_mutual_information_grad(G3, [0], [2])
    assert not g[1].any() and not g[:, 1].any() and g[0, 2] != 0


# -- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cov, message", [
    (np.array([[1.0, 0.5], [0.4, 1.0]]), "cov is not symmetric"),
    (np.array([[1.0, 1.0], [1.0, 1.0]]), "cov is not positive definite"),
    (np.diag([1.0, -1.0]), "cov is not positive definite"),
    (np.ones((2, 3)), "square"),
    (np.ones(3), "square"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "cov contains NaN"),
])
def test_bad_covariances(cov, message):
    for fn in (H, TC, lambda c: MI(c, [0], [1]), lambda c: CMI(c, [0], [1], [])):
        with pytest.raises(RefLossError, match=message):
            fn(cov)


@pytest.mark.parametrize("x, y, message", [
    ([0, 1], [1, 2], "x and y share index 1"),
    ([0], [3], "y has index 3 out of range"),
    ([-1], [0], "x has index -1 out of range"),
    ([], [0], "x is empty"),
    ([0.0], [1], "x must hold integer indices"),
    ([True], [1], "x must hold integer indices"),
    ([0, 0], [1], "x repeats index 0"),
    ([[0]], [1], "x must be a sequence"),
])
def test_bad_index_sets(x, y, message):
    with pytest.raises(RefLossError, match=message):
        MI(G3, x, y)
    with pytest.raises(RefLossError, match=message):
        refloss.gaussian_mutual_information_grad(G3, x, y)


def test_index_sets_as_ints_and_any_order():
    assert MI(G3, 0, 2) == MI(G3, [0], [2])
    assert MI(G3, [2, 1], [0]) == pytest.approx(MI(G3, [1, 2], [0]), rel=1e-15)
    with pytest.raises(RefLossError, match="z and x share index 0|x and z share index 0"):
        CMI(G3, [0], [1], [0])
    with pytest.raises(RefLossError, match="y is empty"):
        CMI(G3, [0], [], [2])
