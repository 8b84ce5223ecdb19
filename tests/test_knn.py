"""The kNN estimators beyond the generic checks: the properties the issue names, the exact counts against a
brute force written here, and scikit-learn's estimate reproduced count for count."""

import math

import numpy as np
import pytest
from scipy.special import digamma

import refloss
from refloss import RefLossError

ksg = refloss.ksg_mutual_information


def _gaussian(n, rho, seed):
    z = np.random.default_rng(seed).standard_normal((n, 2))
    return z[:, :1], rho * z[:, :1] + math.sqrt(1 - rho**2) * z[:, 1:]


def _brute_force_ksg1(x, y, k):
    """Kraskov's eq. 8 from the definition, O(N^2), on points whose distances float64 computes exactly (small
    integers), so that plain float comparisons are exact."""
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(-1)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(-1)
    dz = np.maximum(dx, dy)
    n = len(x)
    total = 0.0
    for i in range(n):
        others = [j for j in range(n) if j != i]
        eps = sorted((dz[i, j], j) for j in others)[k - 1][0]
        total += digamma(sum(dx[i, j] < eps for j in others) + 1) + digamma(sum(dy[i, j] < eps for j in others) + 1)
    return digamma(k) + digamma(n) - total / n


@pytest.mark.parametrize("seed", range(4))
def test_variant_1_is_kraskovs_equation_8_on_tied_integer_points(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 4, (40, 1)).astype(float), rng.integers(0, 3, (40, 2)).astype(float)
    for k in (1, 3):
        assert ksg(x, y, k=k) == pytest.approx(_brute_force_ksg1(x, y, k), abs=1e-13)


def test_symmetric_in_x_and_y():
    x, y = _gaussian(500, 0.6, 1)
    for variant in (1, 2):
        assert ksg(x, y, variant=variant) == ksg(y, x, variant=variant)


def test_near_zero_under_independence():
    # one estimate's spread at N = 4000 is 0.010 nats (10 seeds); the mean of four lies within 4 of its 0.005
    estimates = [ksg(*np.random.default_rng(seed).standard_normal((2, 4000, 1))) for seed in range(4)]
    assert abs(np.mean(estimates)) < 0.02
    assert min(estimates) < 0 and ksg(*np.random.default_rng(2).standard_normal((2, 4000, 1)), clip_at_zero=True) == 0


def test_within_0_02_nats_of_the_truth_at_n_10000():
    x, y = _gaussian(10_000, 0.8, 3)
    truth = -0.5 * math.log(1 - 0.64)
    assert abs(ksg(x, y) - truth) < 0.02
    assert abs(ksg(x, y, variant=2) - truth) < 0.02


def test_invariant_under_increasing_maps_of_each_coordinate():
    # The max-norm ranks, hence the counts, are unchanged by a strictly increasing map of a 1-D marginal only
    # where the map keeps the order of distances; exp and cube roots do not, so the estimate moves within its
    # spread (here 0.03 nats at N = 3000), not exactly.
    x, y = _gaussian(3000, 0.7, 4)
    base = ksg(x, y)
    assert abs(ksg(np.exp(x), np.cbrt(y)) - base) < 0.03
    assert ksg(3.0 * x - 1.0, 3.0 * y + 5.0) == pytest.approx(base, abs=1e-12)  # one affine map of both: exact


def test_bits_are_nats_over_log_2():
    x, y = _gaussian(200, 0.5, 5)
    assert ksg(x, y, base=2) == pytest.approx(ksg(x, y) / math.log(2), rel=1e-15)


def test_duplicates_are_a_defined_convention_not_noise():
    x = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 2.0])
    value = ksg(x, x, k=2)  # points 0-2 have two twins: eps = 0 and no point strictly within it
    assert np.isfinite(value)
    assert ksg(x, x, k=2) == value  # no randomness unless asked for


def test_jitter_reproduces_scikit_learn_count_for_count():
    pytest.importorskip("sklearn")
    from sklearn.feature_selection import mutual_info_regression
    from sklearn.preprocessing import scale

    rng = np.random.default_rng(6)
    x = rng.integers(0, 5, 300).astype(float)  # heavy ties: the noise decides every count
    y = x + rng.integers(0, 3, 300)
    for seed in (0, 1):
        theirs = mutual_info_regression(x[:, None], y, n_neighbors=3, random_state=seed)[0]
        ours = ksg(scale(x, with_mean=False), scale(y, with_mean=False), jitter=seed, clip_at_zero=True)
        assert ours == pytest.approx(theirs, abs=1e-13)


@pytest.mark.parametrize("bad, name", [({"k": 0}, "k"), ({"k": 6}, "x"), ({"k": 2.0}, "k"), ({"variant": 3}, "variant"),
                                       ({"y": np.zeros(5)}, "y"), ({"jitter": -1}, "jitter"), ({"base": 1.0}, "base")])
def test_bad_input_names_the_argument(bad, name):
    case = {"x": np.arange(6.0), "y": np.arange(6.0) ** 2, **bad}
    with pytest.raises(RefLossError, match=name):
        ksg(**case)


def test_kl_entropy_of_duplicates_is_minus_infinity_without_a_gradient():
    x = np.array([0.0, 0.0, 1.0, 3.0])
    assert refloss.kl_entropy(x, k=1) == -math.inf
    with pytest.raises(RefLossError, match="duplicate"):
        refloss.kl_entropy_grad(x, k=1)


def test_kl_entropy_of_a_gaussian_within_its_spread_of_the_truth():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5000, 2)) * [1.0, 3.0]
    truth = 0.5 * math.log((2 * math.pi * math.e) ** 2 * 9.0)
    for norm in ("max", "euclidean"):
        assert abs(refloss.kl_entropy(x, norm=norm) - truth) < 0.05


def test_kl_entropy_unit_ball_is_the_radius_convention():
    # Kraskov's eq. 20 with the diameter and c_d = 1 in the max-norm is the same number
    x = np.random.default_rng(8).standard_normal((50, 3))
    dist = np.abs(x[:, None] - x[None]).max(-1)
    np.fill_diagonal(dist, np.inf)
    diameter = 2 * np.sort(dist, axis=1)[:, 2]
    kraskov = -digamma(3) + digamma(50) + 3 * np.mean(np.log(diameter))
    assert refloss.kl_entropy(x) == pytest.approx(kraskov, abs=1e-13)


def test_conditional_mi_is_infomeasures_documented_example():
    # infomeasure's guide (KSG conditional MI, k = 4) prints -0.061309523809523855 for these points
    x = [-2.49, 1.64, -3.05, 7.95, -5.96, 1.77, -5.24, 7.03, -0.11, -1.86]
    y = [7.95, -5.96, 7.03, -0.11, -1.86, 1.77, -2.49, 1.64, -3.05, -5.24]
    z = [-8.59, 8.41, 3.76, 3.77, 5.69, 1.75, -3.2, -4.0, -4.0, 6.85]
    assert refloss.ksg_conditional_mutual_information(x, y, z, k=4) == pytest.approx(-0.061309523809523855, abs=1e-15)


def test_conditional_mi_under_a_common_cause_is_near_zero_and_mi_is_not():
    rng = np.random.default_rng(9)
    z = rng.standard_normal((3000, 1))
    x, y = z + 0.5 * rng.standard_normal((3000, 1)), z + 0.5 * rng.standard_normal((3000, 1))
    assert ksg(x, y) > 0.4  # I(X; Y) = -1/2 log(1 - 0.8^2) = 0.51
    assert abs(refloss.ksg_conditional_mutual_information(x, y, z)) < 0.03


def test_transfer_entropy_of_a_lagged_gaussian_coupling_is_its_closed_form_one_way():
    # y_t = 0.8 x_{t-1} + 0.6 e_t with x white: T(X -> Y) = I(Y_t; X_{t-1}) = -1/2 log(1 - 0.64), T(Y -> X) = 0
    rng = np.random.default_rng(10)
    x = rng.standard_normal(5000)
    y = 0.8 * np.roll(x, 1) + 0.6 * rng.standard_normal(5000)
    assert abs(refloss.transfer_entropy(x, y) - (-0.5 * math.log(1 - 0.64))) < 0.03
    assert abs(refloss.transfer_entropy(y, x)) < 0.02
    assert abs(refloss.transfer_entropy(x, y, delay=2)) < 0.02  # the coupling acts at a delay of 1 only


def test_knn_kl_divergence_of_two_gaussians_is_near_its_closed_form():
    # KL(N(0, 1) || N(1, 2^2)) = log 2 + (1 + 1) / 8 - 1/2
    rng = np.random.default_rng(11)
    x, y = rng.standard_normal(4000), 1.0 + 2.0 * rng.standard_normal(5000)
    truth = math.log(2.0) + 2.0 / 8.0 - 0.5
    for norm in ("max", "euclidean"):
        assert abs(refloss.knn_kl_divergence(x, y, norm=norm) - truth) < 0.03
    assert abs(refloss.knn_kl_divergence(x, rng.standard_normal(4000))) < 0.03  # the same law: near 0


def test_knn_kl_divergence_at_coincident_points_is_infinite_without_a_gradient():
    x, y = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 5.0])
    assert refloss.knn_kl_divergence(x, y, k=1) == -math.inf  # nu_1 = 0 at x = 1
    with pytest.raises(RefLossError, match="infinite"):
        refloss.knn_kl_divergence_grad(x, y, k=1)


def _gaussian_o_information(cov):
    """1/2 [(n - 2) logdet S + sum_j (log S_jj - logdet S_-j)], written here from Rosas et al.'s definition."""
    n = len(cov)
    logdet = lambda a: np.linalg.slogdet(a)[1]  # noqa: E731
    rest = [np.delete(np.delete(cov, j, 0), j, 1) for j in range(n)]
    return 0.5 * ((n - 2) * logdet(cov) + sum(math.log(cov[j, j]) - logdet(rest[j]) for j in range(n)))


def test_o_information_is_the_gaussian_value_for_redundancy_and_synergy():
    rng = np.random.default_rng(12)
    z = rng.standard_normal((4000, 1))
    redundant = np.hstack([z + 0.5 * rng.standard_normal((4000, 1)) for _ in range(3)])
    a, b = rng.standard_normal((2, 4000))
    synergy = np.stack([a, b, a + b + 0.3 * rng.standard_normal(4000)], axis=1)
    assert abs(refloss.o_information(redundant) - _gaussian_o_information(np.full((3, 3), 1.0) + 0.25 * np.eye(3))) \
        < 0.03
    cov = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.09]])
    assert abs(refloss.o_information(synergy) - _gaussian_o_information(cov)) < 0.03
    assert refloss.o_information(redundant[:, :2]) == 0.0  # two variables: exactly 0
