"""The discrete family beyond the entropy (issue 20): kl_divergence, cross_entropy_pmf, mutual_information_pmf,
conditional_entropy_pmf, miller_madow_entropy. Exact values in bits (xor, diagonal and independent tables),
identities between the measures, SciPy's rel_entr, the digits near p = q and in peaked rows against mpmath, and
Miller-Madow by hand and by its bias on seeded multinomial draws. The registry's generic checks (oracle, finite
differences, bad input, golden data) run in tests/test_registry.py, tests/test_fuzz.py and tests/test_golden.py."""

import math

import mpmath
import numpy as np
import pytest
import scipy.special
import scipy.stats

import refloss
from refloss import RefLossError

EPS = np.finfo(np.float64).eps
LN2 = math.log(2.0)


def _tables(seed, n=20, shape=(3, 4)):
    rng = np.random.default_rng(seed)
    t = rng.random((n,) + shape) + 0.01
    return t / t.sum(axis=(-2, -1), keepdims=True)


def _h(p):
    return refloss.entropy(np.asarray(p).reshape(np.shape(p)[0], -1))


# -- mutual information and conditional entropy: exact tables --------------------------------------------------


def test_xor_in_bits():
    # X, Y fair independent bits, Z = X xor Y: I(X; Y) = 0, I(X; Z) = 0, I((X, Y); Z) = 1 bit, H(Z | X, Y) = 0,
    # H(Z | X) = 1 bit, H(X, Y) = 2 bits
    xy = np.full((2, 2), 0.25)
    xz = np.array([[0.25, 0.25], [0.25, 0.25]])  # (x, z): z = x xor y with y a fair bit
    xy_z = np.array([[0.25, 0.0], [0.0, 0.25], [0.0, 0.25], [0.25, 0.0]])  # rows (x, y) = 00, 01, 10, 11
    assert refloss.mutual_information_pmf(xy, base=2) == 0.0
    assert refloss.mutual_information_pmf(xz, base=2) == 0.0
    assert refloss.mutual_information_pmf(xy_z, base=2) == pytest.approx(1.0, rel=2 * EPS)
    assert refloss.conditional_entropy_pmf(xy_z, base=2) == 0.0
    assert refloss.conditional_entropy_pmf(xz, base=2) == pytest.approx(1.0, rel=2 * EPS)
    assert refloss.entropy(xy.ravel(), base=2) == pytest.approx(2.0, rel=2 * EPS)


def test_independent_table_has_no_information_and_diagonal_table_has_h_x():
    rng = np.random.default_rng(1)
    for _ in range(10):
        px, py = rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(4))
        assert abs(refloss.mutual_information_pmf(np.outer(px, py))) < 8 * EPS
        assert refloss.conditional_entropy_pmf(np.outer(px, py)) == pytest.approx(refloss.entropy(py), rel=1e-14)
        diagonal = np.diag(px)
        assert refloss.mutual_information_pmf(diagonal) == pytest.approx(refloss.entropy(px), rel=1e-14)
        assert refloss.conditional_entropy_pmf(diagonal) == 0.0


def test_mutual_information_and_conditional_entropy_identities_on_normalised_tables():
    p = _tables(2)
    h_xy, h_x, h_y = _h(p), refloss.entropy(p.sum(axis=-1)), refloss.entropy(p.sum(axis=-2))
    np.testing.assert_allclose(refloss.mutual_information_pmf(p), h_x + h_y - h_xy, rtol=1e-12, atol=1e-15)
    cond = refloss.conditional_entropy_pmf(p)
    np.testing.assert_allclose(cond, h_xy - h_x, rtol=1e-13)
    assert (cond <= h_y + 1e-15).all()  # conditioning reduces entropy
    assert (refloss.mutual_information_pmf(p) >= 0).all()
    np.testing.assert_allclose(refloss.mutual_information_pmf(p), h_y - cond, rtol=1e-12, atol=1e-15)
    # the batch axes are independent tables
    np.testing.assert_array_equal(refloss.mutual_information_pmf(p)[3], refloss.mutual_information_pmf(p[3]))


def test_unnormalised_tables_follow_the_definition_with_their_own_marginals():
    q = _tables(3, n=1)[0]
    for s in (0.5, 3.0, 1e-3):
        assert refloss.mutual_information_pmf(s * q) == pytest.approx(
            s * refloss.mutual_information_pmf(q) - s * math.log(s), rel=1e-12)
        # log(p_x / p_xy) does not change with the scale: H(Y | X) of s q is s H(Y | X) of q
        assert refloss.conditional_entropy_pmf(s * q) == pytest.approx(s * refloss.conditional_entropy_pmf(q),
                                                                       rel=1e-14)
    # H(Y | X) = H(X, Y) - H(X) holds for any table (the unnormalised entropies)
    t = np.array([[2.0, 3.0], [0.5, 4.0]])
    assert refloss.conditional_entropy_pmf(t) == pytest.approx(
        refloss.entropy(t.ravel()) - refloss.entropy(t.sum(axis=-1)), rel=1e-14)


def test_mutual_information_gradient_is_log_ratio_minus_one_and_refuses_a_zero_cell():
    p = np.array([[0.4, 0.1], [0.1, 0.4]])
    np.testing.assert_allclose(refloss.mutual_information_pmf_grad(p), np.log(p / 0.25) - 1.0, rtol=1e-15)
    np.testing.assert_allclose(refloss.mutual_information_pmf_grad(p, base=2), (np.log(p / 0.25) - 1.0) / LN2)
    with pytest.raises(RefLossError, match="pxy has an entry 0"):
        refloss.mutual_information_pmf_grad([[0.5, 0.0], [0.0, 0.5]])
    assert refloss.mutual_information_pmf([[0.5, 0.0], [0.0, 0.5]]) == pytest.approx(LN2, rel=EPS)


def test_peaked_row_keeps_the_digits_of_its_conditional_entropy_gradient():
    p = np.array([[1 - 1e-12, 1e-12]])
    g = refloss.conditional_entropy_pmf_grad(p)
    mpmath.mp.dps = 50
    a, b = (mpmath.mpf(float(x)) for x in p[0])
    exact = [mpmath.log((a + b) / a), mpmath.log((a + b) / b)]
    for got, want in zip(g[0], exact):
        assert abs(got - float(want)) <= 4 * EPS * abs(float(want))
    # the naive -log(p / p_x) with the rounded row sum (1.0) has almost no correct digit left
    naive = -math.log(p[0, 0] / p[0].sum())
    assert abs(naive - float(exact[0])) > 1e-6 * float(exact[0])


def test_a_row_sum_past_the_float64_range_is_no_overflow_of_the_conditional_entropy():
    t = np.array([[1e308, 1e308]])
    assert refloss.conditional_entropy_pmf(t) == pytest.approx(2 * LN2 * 1e308, rel=1e-15)
    np.testing.assert_allclose(refloss.conditional_entropy_pmf_grad(t), [[LN2, LN2]], rtol=1e-15)
    # the mutual information of such a table is beyond the range (-S log S), its gradient is not
    assert refloss.mutual_information_pmf(t) == -math.inf
    np.testing.assert_allclose(refloss.mutual_information_pmf_grad(t),
                               [[-(LN2 + math.log(1e308)) - 1.0] * 2], rtol=1e-15)


def test_a_joint_table_needs_two_axes():
    with pytest.raises(RefLossError, match="joint table"):
        refloss.mutual_information_pmf([0.5, 0.5])
    with pytest.raises(RefLossError, match="negative"):
        refloss.conditional_entropy_pmf([[0.5, -0.5]])


# -- KL divergence and cross-entropy ------------------------------------------------------------------------


def test_kl_divergence_against_scipy_rel_entr_sums():
    rng = np.random.default_rng(4)
    p, q = rng.dirichlet(np.ones(5), size=30), rng.dirichlet(np.ones(5), size=30)
    p[:5, 0] = 0.0  # 0 log(0 / q) = 0
    np.testing.assert_allclose(refloss.kl_divergence(p, q), scipy.special.rel_entr(p, q).sum(axis=-1), rtol=1e-14)
    # SciPy's stats.entropy normalises: the same on the rows that sum to 1
    np.testing.assert_allclose(refloss.kl_divergence(p[5:], q[5:]), scipy.stats.entropy(p[5:], q[5:], axis=-1),
                               rtol=1e-13)
    np.testing.assert_allclose(refloss.kl_divergence(p[5:], q[5:], base=2),
                               scipy.stats.entropy(p[5:], q[5:], base=2, axis=-1), rtol=1e-13)
    assert (refloss.kl_divergence(p, p) == 0.0).all()
    assert refloss.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert refloss.kl_divergence([0.0, 1.0], [0.0, 1.0]) == 0.0


def _exact_kl(p, q):
    mpmath.mp.dps = 60
    return sum(mpmath.mpf(float(a)) * mpmath.log(mpmath.mpf(float(a)) / mpmath.mpf(float(b)))
               for a, b in zip(p, q) if a > 0)


def test_kl_divergence_near_p_equal_q_keeps_what_the_inputs_allow():
    p = np.array([0.2, 0.3, 0.5])
    q = p * (1 + 1e-9)  # not normalised: the definition is negative here, -sum(p) log(1 + 1e-9)
    got = refloss.kl_divergence(p, q)
    exact = _exact_kl(p, q)
    assert got < 0
    assert abs(got - float(exact)) <= 4 * EPS * p.sum()
    assert got == pytest.approx(-math.log1p(1e-9), rel=1e-6)
    # normalised and close: the divergence is ~1e-18, below the rounding of the inputs (scale sum p = 1)
    q2 = np.array([0.2 + 1e-9, 0.3 - 1e-9, 0.5])
    assert abs(refloss.kl_divergence(p, q2) - float(_exact_kl(p, q2))) <= 4 * EPS


def test_kl_divergence_where_the_quotient_leaves_the_float64_range():
    p, q = np.array([5e-324, 1e-300, 1.0]), np.array([1e308, 1e-10, 1.0])
    with np.errstate(all="ignore"):
        naive = (p * np.log(p / q)).sum()
    assert naive == -math.inf  # 5e-324 / 1e308 underflows to 0
    got = refloss.kl_divergence(p, q)
    assert got == pytest.approx(float(_exact_kl(p, q)), rel=4 * EPS)
    g = refloss.kl_divergence_grad(p, q)
    assert g.pk[0] == pytest.approx(math.log(5e-324) - math.log(1e308) + 1.0, rel=4 * EPS)


def test_kl_gradients_and_their_refusals():
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    g = refloss.kl_divergence_grad(p, q)
    np.testing.assert_allclose(g.pk, np.log(p / q) + 1.0, rtol=1e-15)
    np.testing.assert_allclose(g.qk, -p / q, rtol=1e-15)
    with pytest.raises(RefLossError, match="pk has an entry 0"):
        refloss.kl_divergence_grad([0.0, 1.0], [0.5, 0.5])
    with pytest.raises(RefLossError, match="qk has an entry 0"):
        refloss.kl_divergence_grad([0.5, 0.5], [1.0, 0.0])
    with pytest.raises(RefLossError, match="qk must have the shape"):
        refloss.kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])


def test_cross_entropy_is_entropy_plus_kl_and_its_gradient_exists_at_p_zero():
    rng = np.random.default_rng(5)
    p, q = rng.dirichlet(np.ones(4), size=10), rng.dirichlet(np.ones(4), size=10)
    np.testing.assert_allclose(refloss.cross_entropy_pmf(p, q), refloss.entropy(p) + refloss.kl_divergence(p, q),
                               rtol=1e-14)
    np.testing.assert_allclose(refloss.cross_entropy_pmf(p, p), refloss.entropy(p), rtol=1e-14)
    g = refloss.cross_entropy_pmf_grad([0.0, 1.0], [0.25, 0.75])
    np.testing.assert_allclose(g.pk, -np.log([0.25, 0.75]), rtol=1e-15)
    np.testing.assert_array_equal(g.qk, [-0.0, -1.0 / 0.75])
    assert refloss.cross_entropy_pmf([0.0, 1.0], [0.0, 1.0]) == 0.0
    assert refloss.cross_entropy_pmf([0.5, 0.5], [1.0, 0.0]) == math.inf
    with pytest.raises(RefLossError, match="qk has an entry 0"):
        refloss.cross_entropy_pmf_grad([0.0, 1.0], [0.0, 1.0])


def test_cross_entropy_terms_past_the_range_of_both_signs_are_no_nan():
    p, q = np.array([1e308, 1e308]), np.array([1e300, 1e-300])
    mpmath.mp.dps = 60
    exact = -sum(mpmath.mpf(float(a)) * mpmath.log(mpmath.mpf(float(b))) for a, b in zip(p, q))
    with np.errstate(all="ignore"):
        assert np.isnan(-(p * np.log(q)).sum())  # +inf + -inf
    # the exact value is 1e-19 of its terms (6.9e310 each): what float64 can say of it is 0 within eps * terms
    got = refloss.cross_entropy_pmf(p, q)
    assert abs(got - float(exact)) <= 4 * EPS * 1e308 * 2 * 691.8


# -- Miller-Madow ------------------------------------------------------------------------------------------


def test_miller_madow_by_hand():
    # n = (3, 1, 0, 2): N = 6, m = 3 observed bins
    f = np.array([3, 1, 2]) / 6
    by_hand = -(f * np.log(f)).sum() + (3 - 1) / (2 * 6)
    assert refloss.miller_madow_entropy(np.array([3, 1, 0, 2])) == pytest.approx(by_hand, rel=4 * EPS)
    assert refloss.miller_madow_entropy([[3, 1, 0, 2], [0, 7, 0, 0]], base=2)[1] == 0.0
    assert refloss.miller_madow_entropy([5, 5]) == pytest.approx(LN2 + 1 / 20, rel=2 * EPS)
    assert refloss.miller_madow_entropy(np.ones(8, dtype=np.int32), base=2) == pytest.approx(3 + 7 / 16 / LN2,
                                                                                              rel=2 * EPS)


def test_miller_madow_keeps_the_digits_of_a_peaked_histogram_and_large_totals():
    mpmath.mp.dps = 50
    counts = [10**6, 1]
    n = sum(counts)
    exact = -sum(mpmath.mpf(c) / n * mpmath.log(mpmath.mpf(c) / n) for c in counts) + mpmath.mpf(1) / (2 * n)
    assert refloss.miller_madow_entropy(np.array(counts)) == pytest.approx(float(exact), rel=4 * EPS)
    # log N - (1/N) sum n log n cancels 5 digits here
    textbook = math.log(n) - sum(c * math.log(c) for c in counts) / n + 1 / (2 * n)
    assert abs(textbook - float(exact)) > 1e3 * EPS * float(exact)
    # a total past int64 (4 * 2^62 + 3): formed exactly
    big = np.array([2**62] * 4 + [3], dtype=np.int64)
    total = 2**64 + 3
    exact = -sum(mpmath.mpf(int(c)) / total * mpmath.log(mpmath.mpf(int(c)) / total) for c in big) \
        + mpmath.mpf(4) / (2 * total)
    assert refloss.miller_madow_entropy(big) == pytest.approx(float(exact), rel=4 * EPS)


def test_miller_madow_reduces_the_bias_of_the_plug_in_estimate():
    rng = np.random.default_rng(20)
    p = np.full(10, 0.1)
    true = math.log(10)
    draws = rng.multinomial(40, p, size=4000)
    plug_in = refloss.entropy(draws / 40.0)
    mm = refloss.miller_madow_entropy(draws)
    bias_plug_in, bias_mm = plug_in.mean() - true, mm.mean() - true
    assert bias_plug_in < -0.09  # about -(C - 1)/(2N) = -0.11
    assert abs(bias_mm) < abs(bias_plug_in) / 3
    np.testing.assert_allclose(mm - plug_in, ((draws > 0).sum(axis=-1) - 1) / 80.0, rtol=1e-12)


@pytest.mark.parametrize("bad, match", [
    (np.array([1.0, 2.0]), "integer dtype"),
    (np.array([True, False]), "integer dtype"),
    (np.array([0, 0]), "no observation"),
    (np.array([[1, 2], [0, 0]]), "no observation"),
    (np.array([3, -1]), "negative"),
    (np.zeros((2, 0), dtype=int), "no bins"),
    (np.int64(3), "scalar"),
])
def test_miller_madow_refuses_what_is_not_a_histogram(bad, match):
    with pytest.raises(RefLossError, match=match):
        refloss.miller_madow_entropy(bad)


def test_no_gradient_for_miller_madow():
    from refloss._registry import get

    entry = get("miller_madow_entropy")
    assert entry.grad is None and "integer counts" in entry.no_gradient


# -- Tsallis entropy of a pmf ----------------------------------------------------------------------------------------


def _tsallis_exact(p, q):
    """sum_j (p_j - p_j^q)/(q - 1) at 50 digits (q != 1), or -sum p log p."""
    with mpmath.workdps(50):
        ps, qm = [mpmath.mpf(float(x)) for x in p if x > 0], mpmath.mpf(q)
        if q == 1.0:
            return float(-sum(x * mpmath.log(x) for x in ps))
        return float(sum(x - x**qm for x in ps) / (qm - 1))


def test_tsallis_entropy_tends_to_shannon_as_q_tends_to_one_for_unnormalised_numbers():
    p = np.array([[0.2, 0.3, 0.5], [2.0, 3.0, 0.5], [1 - 1e-12, 1e-12, 1e-300]])
    shannon = refloss.entropy(p)
    np.testing.assert_array_equal(refloss.tsallis_entropy(p, q=1.0), shannon)
    for gap in (1e-4, 1e-7, 2.0**-40):
        for q in (1.0 - gap, 1.0 + gap):
            np.testing.assert_allclose(refloss.tsallis_entropy(p, q=q), shannon, rtol=5 * gap * 40)
            np.testing.assert_allclose(refloss.tsallis_entropy_grad(p, q=q), refloss.entropy_grad(p),
                                       rtol=5 * gap * 40 ** 2)


@pytest.mark.parametrize("q", [1e-3, 0.5, 1.0 - 1e-9, 1.0 + 2.0**-40, 2.0, 7.5])
def test_tsallis_entropy_keeps_its_digits_where_one_minus_the_power_sum_does_not(q):
    for p in ([1 - 1e-12, 1e-12], [0.2, 0.3, 0.5], [1e-300, 1e-200, 1.0 - 1e-16], [5e-324, 1.0]):
        got = refloss.tsallis_entropy(p, q=q)
        assert abs(got - _tsallis_exact(p, q)) <= 4 * EPS * abs(_tsallis_exact(p, q)), (p, q)


def test_tsallis_entropy_is_the_paper_form_the_gini_simpson_index_and_the_softmax_member():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(5), size=20)
    for q in (0.5, 2.0, 3.0):
        np.testing.assert_allclose(refloss.tsallis_entropy(p, q=q), (1 - (p**q).sum(-1)) / (q - 1), rtol=1e-13)
        np.testing.assert_allclose(refloss.tsallis_entropy(p, q=q),
                                   refloss.softmax_tsallis_entropy(np.log(p), q=q, reduction="none"), rtol=1e-13)
    np.testing.assert_allclose(refloss.tsallis_entropy(p), 1 - (p**2).sum(-1), rtol=1e-13)
    assert refloss.tsallis_entropy([0.25] * 4, q=3.0) == pytest.approx((1 - 4.0**-2) / 2, rel=1e-15)


def test_tsallis_entropy_is_pseudo_additive_over_independent_distributions():
    a, b = np.array([0.1, 0.9]), np.array([0.2, 0.3, 0.5])
    for q in (0.3, 1.7, 4.0):
        s_a, s_b = refloss.tsallis_entropy(a, q=q), refloss.tsallis_entropy(b, q=q)
        joint = refloss.tsallis_entropy(np.outer(a, b).ravel(), q=q)
        assert joint == pytest.approx(s_a + s_b + (1 - q) * s_a * s_b, rel=1e-14)


def test_tsallis_gradient_at_a_zero_outcome_exists_above_order_one_and_is_refused_at_or_below():
    p = np.array([0.0, 0.3, 0.7])
    np.testing.assert_allclose(refloss.tsallis_entropy_grad(p, q=2.0), 1 - 2 * p, rtol=1e-15)
    assert refloss.tsallis_entropy_grad(p, q=1.5)[0] == 2.0  # 1/(q - 1)
    for q in (0.5, 1.0):
        with pytest.raises(RefLossError, match="pk has an entry 0"):
            refloss.tsallis_entropy_grad(p, q=q)
        assert np.isfinite(refloss.tsallis_entropy(p, q=q))


def test_tsallis_gradient_matches_central_differences():
    p, h = np.array([[0.2, 0.3, 0.5], [1.5, 0.25, 0.8]]), 1e-6
    for q in (0.4, 1.0, 2.5):
        numeric = np.zeros_like(p)
        for i in np.ndindex(*p.shape):
            e = np.zeros_like(p)
            e[i] = h
            numeric[i] = (refloss.tsallis_entropy(p + e, q=q).sum() - refloss.tsallis_entropy(p - e, q=q).sum()) / 2 / h
        np.testing.assert_allclose(refloss.tsallis_entropy_grad(p, q=q), numeric, rtol=1e-8)


@pytest.mark.parametrize("q", [0.0, -1.0, np.inf, np.nan])
def test_tsallis_order_outside_its_domain_is_refused(q):
    with pytest.raises(RefLossError, match="q"):
        refloss.tsallis_entropy([0.5, 0.5], q=q)
