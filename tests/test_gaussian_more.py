"""gaussian_o_information and gaussian_transfer_entropy: published values and independent closed forms, the
identities with the family's other objects, the digits near independence, invariances, bad input. The oracle,
the golden data and the generic checks are in tests/test_registry.py, tests/test_fuzz.py and tests/test_golden.py."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import solve_discrete_lyapunov

import refloss
from refloss import RefLossError, tolerance
from refloss._cases import plain_strategy
from refloss.golden.dataset import cached_reference
from refloss.info.gaussian.gaussian_transfer_entropy import var1_lagged_covariance

OMEGA, TE = refloss.gaussian_o_information, refloss.gaussian_transfer_entropy
OMEGA_GRAD, TE_GRAD = refloss.gaussian_o_information_grad, refloss.gaussian_transfer_entropy_grad
MI, CMI, TC = (refloss.gaussian_mutual_information, refloss.gaussian_conditional_mutual_information,
               refloss.gaussian_total_correlation)
G3 = np.array([[2.0, 0.6, -0.4], [0.6, 1.5, 0.3], [-0.4, 0.3, 1.0]])
G4 = np.array([[4.0, 1.2, -0.8, 0.5], [1.2, 3.0, 0.7, -0.6], [-0.8, 0.7, 2.5, 0.9], [0.5, -0.6, 0.9, 2.0]])


def drawn(name):
    return plain_strategy(refloss.get(name), False)


def rest(cov, j):
    keep = [k for k in range(cov.shape[0]) if k != j]
    return cov[np.ix_(keep, keep)]


def symmetrised(a):
    return np.tril(a) + np.tril(a, -1).T


# -- the O-information ----------------------------------------------------------------------------------------


def test_o_information_anchor_three_equicorrelated():
    """research/anchors_mi.md Sec. 6: rho = 0.5 on three variables gives 0.08495 (redundancy); exactly
    (log det = log(1/2), each pair's log(3/4)): log(32/27) / 2."""
    cov = 0.5 * np.eye(3) + 0.5
    assert OMEGA(cov) == pytest.approx(0.5 * math.log(32 / 27), rel=2e-16)
    assert round(float(OMEGA(cov)), 5) == 0.08495
    assert OMEGA(cov, base=2) == pytest.approx(0.5 * math.log2(32 / 27), rel=4e-16)


def test_o_information_signs_redundancy_and_synergy():
    # a common driver: X_j = Z + e_j (redundant); X3 = X1 + X2 + e (synergistic)
    common = np.full((4, 4), 1.0) + np.eye(4)
    assert OMEGA(common) > 0.05
    xor_like = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.25]])
    # n = 3: Omega is the co-information I(X1; X2) - I(X1; X2 | X3) = 0 - I(X1; X2 | X3)
    assert OMEGA(xor_like) == pytest.approx(-CMI(xor_like, [0], [1], [2]), rel=1e-14)
    assert OMEGA(xor_like) < -0.5


@given(st.data())
def test_o_information_equals_its_entropy_forms(data):
    """Omega = TC - DTC = (2 - n) TC + sum_j TC(X_-j) = 2 TC - sum_j I(X_j; X_-j), on well-conditioned draws
    (the forms cancel: absolute agreement)."""
    cov = data.draw(drawn("gaussian_o_information"))["cov"]
    n = cov.shape[0]
    everything = list(range(n))
    mi = sum(MI(cov, [j], [k for k in everything if k != j]) for j in everything)
    dtc = mi - TC(cov)  # H(X) - sum_j H(X_j | X_-j)
    omega = OMEGA(cov)
    assert omega == pytest.approx(TC(cov) - dtc, abs=1e-13)
    assert omega == pytest.approx((2 - n) * TC(cov) + sum(TC(rest(cov, j)) for j in everything), abs=1e-13)
    assert omega == pytest.approx(2 * TC(cov) - mi, abs=1e-13)


def test_o_information_of_three_is_the_co_information():
    assert OMEGA(G3) == pytest.approx(MI(G3, [0], [1]) - CMI(G3, [0], [1], [2]), rel=1e-13)


@given(st.data())
def test_o_information_increment_on_adding_a_variable(data):
    """Rosas et al.'s increment: Omega(X, Y) - Omega(X) = I(Y; X) - sum_j I(Y; X_j | X_-j)."""
    cov = data.draw(drawn("gaussian_o_information"))["cov"]
    n = cov.shape[0]
    if n < 3:
        return
    x = list(range(n - 1))
    cmi = sum(CMI(cov, [n - 1], [j], [k for k in x if k != j]) for j in x)
    assert OMEGA(cov) - OMEGA(cov[:-1, :-1]) == pytest.approx(MI(cov, [n - 1], x) - cmi, abs=1e-13)


@pytest.mark.parametrize("case_id", ["near_independent_1e-8", "near_independent_1e-5", "near_independent_blocks"])
def test_near_independence_keeps_its_digits_where_the_total_correlations_do_not(case_id):
    """Omega is of third order in the correlations, the total correlations of the textbook form of second:
    refloss within 1 ulp of the oracle, (2 - n) TC + sum_j TC(X_-j) (of the family's stable TC) far off."""
    entry = refloss.get("gaussian_o_information")
    case = entry.stress_cases()[case_id]
    ref = cached_reference(entry, case)
    assert tolerance.worst_ulps(OMEGA(**case), ref.value, ref.value_scale) <= 1
    cov = case["cov"]
    n = cov.shape[0]
    through_tc = (2 - n) * TC(cov) + sum(TC(rest(cov, j)) for j in range(n))
    assert tolerance.worst_ulps(through_tc, ref.value, ref.value_scale) > 50


def test_near_independence_is_the_product_of_the_triangle():
    """Omega = rho_12 rho_13 rho_23 + O(rho^4) for three variables (a relative error of order rho)."""
    for scale in (1e-3, 1e-6):
        r = np.array([1.0, -2.0, 1.5]) * scale
        corr = np.array([[1.0, r[0], r[1]], [r[0], 1.0, r[2]], [r[1], r[2], 1.0]])
        assert OMEGA(corr) == pytest.approx(r.prod(), rel=10 * scale)


@given(st.data(), st.lists(st.integers(-30, 30), min_size=4, max_size=4), st.randoms(use_true_random=False))
def test_o_information_is_invariant_under_scaling_and_permuting_the_variables(data, powers, rng):
    cov = data.draw(drawn("gaussian_o_information"))["cov"]
    n = cov.shape[0]
    s = 10.0 ** np.array(powers[:n], dtype=np.float64)
    scaled = symmetrised(s[:, None] * cov * s[None, :])
    assert OMEGA(scaled) == pytest.approx(OMEGA(cov), rel=1e-12, abs=1e-15)
    g = OMEGA_GRAD(cov)
    np.testing.assert_allclose(OMEGA_GRAD(scaled), g / s[:, None] / s[None, :], rtol=1e-9, atol=0)
    perm = list(range(n))
    rng.shuffle(perm)
    permuted = cov[np.ix_(perm, perm)]
    assert OMEGA(permuted) == pytest.approx(OMEGA(cov), rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(OMEGA_GRAD(permuted), g[np.ix_(perm, perm)], rtol=1e-10, atol=1e-14)


def test_o_information_gradient_is_the_definitions_derivative():
    """1/2 [diag(1/Sigma) - 2P + P diag(P)^-1 P] (P = Sigma^-1) on a well-conditioned matrix; symmetric; and
    sum_j G_ij Sigma_ij = 0 (scale invariance)."""
    p = np.linalg.inv(G4)
    naive = 0.5 * (np.diag(1.0 / np.diag(G4)) - 2.0 * p + p @ np.diag(1.0 / np.diag(p)) @ p)
    g = OMEGA_GRAD(G4)
    np.testing.assert_allclose(g, naive, rtol=1e-12, atol=1e-15)
    assert np.array_equal(g, g.T)
    np.testing.assert_allclose((g * G4).sum(axis=1), 0.0, atol=1e-15)


def test_fewer_than_three_variables_and_independence_give_exactly_zero():
    for cov in (np.zeros((0, 0)), np.array([[2.0]]), G3[:2, :2].copy(), np.diag([2.0, 3.0, 5.0, 7.0])):
        assert OMEGA(cov) == 0.0
        g = OMEGA_GRAD(cov)
        assert g.shape == cov.shape and not g.any()
    pairs = np.eye(4)
    pairs[0, 2] = pairs[2, 0] = 0.9
    pairs[1, 3] = pairs[3, 1] = -0.7  # two independent pairs: TC = DTC
    assert OMEGA(pairs) == 0.0 and not OMEGA_GRAD(pairs).any()


@pytest.mark.parametrize("cov, message", [
    (np.array([[1.0, 0.5, 0.0], [0.4, 1.0, 0.0], [0.0, 0.0, 1.0]]), "cov is not symmetric"),
    (np.ones((3, 3)), "cov is not positive definite"),
    (np.ones((2, 3)), "square"),
    (np.array([[1.0, np.nan, 0.0], [np.nan, 1.0, 0.0], [0.0, 0.0, 1.0]]), "cov contains NaN"),
])
def test_o_information_bad_covariances(cov, message):
    for fn in (OMEGA, OMEGA_GRAD):
        with pytest.raises(RefLossError, match=message):
            fn(cov)


# -- the transfer entropy -------------------------------------------------------------------------------------


def var1(a, b, c, noise_y=1.0, lags=1):
    """(X_t, Y_t, X_{t-1}, Y_{t-1}, ...) of X_t = a X_{t-1} + e, Y_t = b Y_{t-1} + c X_{t-1} + eta."""
    return var1_lagged_covariance([[a, 0.0], [c, b]], np.diag([1.0, noise_y]), lags)


def test_transfer_entropy_anchor_var1():
    """research/anchors_mi.md Sec. 6: a = 0.5, b = 0.6, c = 0.8, unit noises: TE_{X -> Y} = 1/2 log(c^2 Var(X | Y)
    + 1) = 0.28304, the stationary covariance from solve_discrete_lyapunov, the lagged one built from the VAR."""
    a, b, c = 0.5, 0.6, 0.8
    sigma = solve_discrete_lyapunov(np.array([[a, 0.0], [c, b]]), np.eye(2))
    var_x_given_y = sigma[0, 0] - sigma[0, 1] ** 2 / sigma[1, 1]
    closed = 0.5 * math.log(c * c * var_x_given_y + 1.0)
    assert round(closed, 5) == 0.28304
    # (Y_t, X_{t-1}, Y_{t-1}): Cov(Y_t, X_{t-1}) = c s_xx + b s_xy, Cov(Y_t, Y_{t-1}) = c s_xy + b s_yy
    sxx, sxy, syy = sigma[0, 0], 0.5 * (sigma[0, 1] + sigma[1, 0]), sigma[1, 1]
    cov = np.array([[syy, c * sxx + b * sxy, c * sxy + b * syy], [c * sxx + b * sxy, sxx, sxy],
                    [c * sxy + b * syy, sxy, syy]])
    assert TE(cov, [1], [0], [2]) == pytest.approx(closed, rel=1e-14)
    # the same through the family's builder (A^k Sigma), and the stress point that relies on the defaults
    full = var1(a, b, c)
    assert TE(full, [2], [1], [3]) == pytest.approx(closed, rel=1e-14)
    assert TE(**refloss.get("gaussian_transfer_entropy").stress_cases()["defaults"]) == pytest.approx(closed, rel=1e-14)
    # the other direction is 0: X is not driven by Y
    assert TE(full, [3], [0], [2]) == pytest.approx(0.0, abs=1e-16)


def test_transfer_entropy_longer_histories_of_a_var1():
    """Y_t given (Y_{t-1}, X_{t-1}) is independent of the older past, so with histories of two
    TE = 1/2 log(c^2 Var(X_{t-1} | Y_{t-1}, Y_{t-2}) + 1) (a longer target history lowers it)."""
    a, b, c = 0.5, 0.6, 0.8
    full = var1(a, b, c, lags=2)  # X_t, Y_t, X_{t-1}, Y_{t-1}, X_{t-2}, Y_{t-2}
    ys = [3, 5]
    cond = full[2, 2] - full[2, ys] @ np.linalg.solve(full[np.ix_(ys, ys)], full[ys, 2])
    closed = 0.5 * math.log(c * c * cond + 1.0)
    assert TE(full, [2, 4], [1], ys) == pytest.approx(closed, rel=1e-13)
    assert TE(full, [2, 4], [1], ys) < TE(full, [2], [1], [3])


def test_transfer_entropy_idtxl_lag_1():
    """IDTxl's case: x i.i.d., y_t = c x_{t-1} + (1 - c) eta: TE = -1/2 log(1 - rho^2), rho = c / sqrt(c^2 +
    (1 - c)^2), with or without the target's past."""
    c = 0.4
    v = c * c + (1 - c) ** 2
    cov = np.array([[v, c, 0.0], [c, 1.0, 0.0], [0.0, 0.0, v]])
    expected = -0.5 * math.log1p(-c * c / v)
    assert TE(cov, [1], [0], [2]) == pytest.approx(expected, rel=1e-15)
    assert TE(cov, [1], [0], []) == pytest.approx(expected, rel=1e-15)


def test_weak_coupling_keeps_its_digits():
    """c = 1e-8: TE ~ c^2 Var(X | Y) / 2 ~ 7e-17, within 1 ulp of the oracle; the four log-determinants are not."""
    entry = refloss.get("gaussian_transfer_entropy")
    case = entry.stress_cases()["weak_coupling_1e-8"]
    ref = cached_reference(entry, case)
    assert tolerance.worst_ulps(TE(**case), ref.value, ref.value_scale) <= 1
    cov = case["cov"]

    def logdet(rows):
        return np.linalg.slogdet(cov[np.ix_(rows, rows)])[1]

    naive = 0.5 * (logdet([0, 2]) + logdet([1, 2]) - logdet([2]) - logdet([0, 1, 2]))
    assert tolerance.worst_ulps(naive, ref.value, ref.value_scale) > 1e3


@given(st.data())
def test_transfer_entropy_is_the_conditional_mutual_information_bit_for_bit(data):
    case = data.draw(drawn("gaussian_transfer_entropy"))
    cov, base = case["cov"], case["base"]
    args = (cov, case["source"], case["target"], case["target_past"])
    assert TE(*args, base=base) == CMI(*args, base=base)
    assert np.array_equal(TE_GRAD(*args, base=base), refloss.gaussian_conditional_mutual_information_grad(
        *args, base=base))


def test_transfer_entropy_gradient_is_zero_outside_the_sets_and_symmetric():
    full = var1(0.5, 0.6, 0.8)
    g = TE_GRAD(full, [2], [1], [3])
    assert not g[0].any() and not g[:, 0].any() and np.array_equal(g, g.T) and g[1, 2] != 0


@pytest.mark.parametrize("source, target, target_past, message", [
    ([1], [1], [2], "source and target share index 1"),
    ([1], [0], [1], "source and target_past share index 1"),
    ([0], [1], [0], "source and target_past share index 0"),
    ([2], [0], [1, 0], "target and target_past share index 0"),
    ([], [0], [2], "source is empty"),
    ([1], [], [2], "target is empty"),
    ([3], [0], [2], "source has index 3 out of range"),
    ([1], [0.0], [2], "target must hold integer indices"),
    ([1], [0], [[2]], "target_past must be a sequence"),
    ([1], [0], [2, 2], "target_past repeats index 2"),
])
def test_transfer_entropy_bad_index_sets(source, target, target_past, message):
    for fn in (TE, TE_GRAD):
        with pytest.raises(RefLossError, match=message):
            fn(G3, source, target, target_past)
