"""total_correlation_pmf and o_information_pmf: the published anchors (xor: synergy, copies: redundancy), invariance
under permuting the variables, TC >= 0 and TC = I for two variables, Omega = 0 for two, the unit, the scale of an
unnormalised table, the batch axes (``variables=``), the digits near independence against mpmath, bad input, the
gradient's refusal at 0 and the gradient against finite differences. The oracle, the golden data and the registry's
generic checks run in tests/test_registry.py, tests/test_fuzz.py and tests/test_golden.py."""

import itertools
import math

import mpmath
import numpy as np
import pytest

import refloss
from refloss import RefLossError
from refloss.info.discrete.total_correlation_pmf import pairwise_dependence, xor_and_copy

EPS = np.finfo(np.float64).eps
LN2 = math.log(2.0)
TC, TC_GRAD = refloss.total_correlation_pmf, refloss.total_correlation_pmf_grad
OMEGA, OMEGA_GRAD = refloss.o_information_pmf, refloss.o_information_pmf_grad


def _tables(seed, shape, n=None, normalised=True):
    rng = np.random.default_rng(seed)
    t = rng.random(((n,) if n else ()) + shape) + 0.02
    axes = tuple(range(t.ndim - len(shape), t.ndim))
    return t / t.sum(axis=axes, keepdims=True) if normalised else t


def _exact(p, what):
    """TC (sum_i H(X_i) - H(X)) or Omega ((k - 2) H(X) + sum_i [H(X_i) - H(X_-i)]) of one table, every axis a
    variable, from the entropies of its marginal sums in 60-digit arithmetic (the definitions as written)."""
    mpmath.mp.dps = 60
    table = np.vectorize(mpmath.mpf, otypes=[object])(np.asarray(p, dtype=np.float64))
    k = table.ndim

    def h(keep):
        others = tuple(a for a in range(k) if a not in keep)
        q = table.sum(axis=others) if others else table
        return -sum(x * mpmath.log(x) for x in np.ravel(q) if x != 0)

    singles = sum(h((i,)) for i in range(k))
    if what == "tc":
        return singles - h(tuple(range(k)))
    return (k - 2) * h(tuple(range(k))) + singles - sum(h(tuple(j for j in range(k) if j != i)) for i in range(k))


# -- the anchors ----------------------------------------------------------------------------------------------


def test_xor_is_synergy_and_copies_are_redundancy():
    xor, copy = xor_and_copy()
    # X3 = X1 xor X2: every pair independent, the three together 2 bits; X1 = X2 = X3: 1 bit shared by all
    assert TC(xor, base=2) == 1.0 and TC(copy, base=2) == 2.0
    assert OMEGA(xor, base=2) == -1.0 and OMEGA(copy, base=2) == 1.0
    np.testing.assert_allclose(TC(xor_and_copy(), variables=3), [LN2, 2 * LN2], rtol=EPS)
    np.testing.assert_allclose(OMEGA(xor_and_copy(), variables=3), [-LN2, LN2], rtol=EPS)
    # every pair of the xor table is independent: each 2-variable marginal has TC = Omega = 0
    for axis in range(3):
        assert TC(xor.sum(axis=axis)) == 0.0 and OMEGA(xor.sum(axis=axis)) == 0.0


def test_omega_is_tc_minus_dtc_and_the_difference_of_total_correlations():
    for shape in [(2, 3, 2), (2, 2, 2, 2), (3, 2, 2, 2)]:
        p = _tables(1, shape)
        k = p.ndim
        h = refloss.entropy(p.ravel())
        rest = [p.sum(axis=i) for i in range(k)]
        dtc = h - sum(h - refloss.entropy(r.ravel()) for r in rest)
        tc = TC(p)
        assert OMEGA(p) == pytest.approx(tc - dtc, abs=1e-14)
        assert OMEGA(p) == pytest.approx(sum(TC(r) for r in rest) - (k - 2) * tc, abs=1e-14)


# -- invariances and identities --------------------------------------------------------------------------------


@pytest.mark.parametrize("normalised", [True, False])
def test_permuting_the_variables_changes_nothing(normalised):
    p = _tables(2, (2, 3, 2, 2), normalised=normalised)
    tc, omega, g_tc, g_omega = TC(p), OMEGA(p), TC_GRAD(p), OMEGA_GRAD(p)
    for perm in itertools.permutations(range(4)):
        q = p.transpose(perm)
        assert TC(q) == pytest.approx(tc, rel=8 * EPS, abs=8 * EPS)
        assert OMEGA(q) == pytest.approx(omega, rel=8 * EPS, abs=16 * EPS)
        np.testing.assert_allclose(TC_GRAD(q), g_tc.transpose(perm), rtol=16 * EPS, atol=16 * EPS)
        np.testing.assert_allclose(OMEGA_GRAD(q), g_omega.transpose(perm), rtol=16 * EPS, atol=16 * EPS)


def test_total_correlation_of_a_normalised_table_is_not_negative_and_zero_for_a_product():
    for shape in [(2, 2), (3, 2, 4), (2, 2, 2, 2)]:
        assert (TC(_tables(3, shape, n=20), variables=len(shape)) >= 0).all()
    rng = np.random.default_rng(4)
    marginals = [rng.dirichlet(np.ones(n)) for n in (2, 3, 2)]
    product = np.einsum("i,j,k->ijk", *marginals)
    assert abs(TC(product)) < 8 * EPS and abs(OMEGA(product)) < 8 * EPS


def test_two_variables_total_correlation_is_the_mutual_information():
    p = _tables(5, (3, 4), n=10, normalised=False)
    np.testing.assert_allclose(TC(p, variables=2), refloss.mutual_information_pmf(p), rtol=4 * EPS, atol=4 * EPS)
    np.testing.assert_allclose(TC_GRAD(p, variables=2), refloss.mutual_information_pmf_grad(p), rtol=4 * EPS,
                               atol=4 * EPS)
    assert TC([[0.5, 0.0], [0.0, 0.5]]) == refloss.mutual_information_pmf([[0.5, 0.0], [0.0, 0.5]])


def test_two_variables_have_no_o_information_and_one_no_total_correlation():
    p = np.array([[[0.5, 0.0], [0.0, 0.5]], [[2.0, 3.0], [0.5, 4.0]]])
    np.testing.assert_array_equal(OMEGA(p, variables=2), [0.0, 0.0])
    np.testing.assert_array_equal(OMEGA_GRAD(p, variables=2), np.zeros(p.shape))  # a 0 entry too: Omega is 0
    np.testing.assert_array_equal(TC(p, variables=1), np.zeros((2, 2)))
    np.testing.assert_array_equal(TC_GRAD(p, variables=1), np.zeros(p.shape))
    assert TC([0.2, 0.0, 0.8]) == 0.0


def test_bits_divide_by_log_2():
    p = _tables(6, (2, 3, 2), normalised=False)
    for fn in (TC, TC_GRAD, OMEGA, OMEGA_GRAD):
        np.testing.assert_allclose(fn(p, base=2), fn(p) / LN2, rtol=2 * EPS, atol=2 * EPS)
        np.testing.assert_allclose(fn(p, base=10), fn(p) / math.log(10), rtol=2 * EPS, atol=2 * EPS)


def test_an_unnormalised_table_follows_the_definition_with_its_own_marginals():
    q = _tables(7, (2, 3, 2))
    k = q.ndim
    for s in (0.5, 3.0, 1e-3, 1e200):
        assert TC(s * q) == pytest.approx(s * TC(q) - (k - 1) * s * math.log(s), rel=1e-13)
        assert OMEGA(s * q) == pytest.approx(s * OMEGA(q) - (k - 2) * s * math.log(s), rel=1e-13)
    for fn in (TC, OMEGA):
        assert fn(2.5 * q) == pytest.approx(float(_exact(2.5 * q, "tc" if fn is TC else "omega")), rel=4 * EPS)


def test_variables_chooses_the_trailing_axes_and_the_rest_is_a_batch():
    p = _tables(8, (2, 2, 3, 2), normalised=False)
    for fn in (TC, OMEGA, TC_GRAD, OMEGA_GRAD):
        assert np.array_equal(fn(p), fn(p, variables=4))
        batched = fn(p, variables=3)
        for b in range(2):
            np.testing.assert_array_equal(batched[b], fn(p[b]))
    assert TC(p, variables=3).shape == (2,) and OMEGA(p, variables=2).shape == (2, 2)
    assert isinstance(TC(p), float) and isinstance(OMEGA(p[0]), float)
    assert TC(np.zeros((0, 2, 2)), variables=2).shape == (0,)


# -- digits -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [1e-4, 1e-6])
def test_near_independence_keeps_what_the_inputs_allow(eps):
    """Omega ~ eps^3 of three fair bits dependent in pairs; its condition scale is (k - 2) S = 1 (and TC's
    (k - 1) S), so refloss is held to a few eps of it against the definition in 60 digits."""
    p = pairwise_dependence(eps)
    omega, tc = _exact(p, "omega"), _exact(p, "tc")
    assert float(omega) == pytest.approx(eps**3, rel=10 * eps)  # third order
    assert abs(OMEGA(p) - float(omega)) <= 2 * EPS * (1 + abs(float(omega)))
    assert abs(TC(p) - float(tc)) <= 2 * EPS * (2 + abs(float(tc)))
    # four variables, nearly independent, not normalised
    q = np.einsum("i,j,k,l->ijkl", [0.3, 0.7], [0.6, 0.4], [0.2, 0.8], [0.55, 0.45]) * 3.0
    q = q + 1e-9 * np.einsum("i,j,k,l->ijkl", *([[1.0, -1.0]] * 4))
    assert abs(OMEGA(q) - float(_exact(q, "omega"))) <= 4 * EPS * 2 * q.sum()


def test_tiny_and_huge_cells_keep_their_logs():
    p = np.array([[[1e-300, 1e-300], [1e-300, 1e-300]], [[1e-300, 1e-300], [1e-300, 1e300]]])
    with np.errstate(all="ignore"):
        naive = (p * np.log(p / (p.sum(axis=(1, 2), keepdims=True) * p.sum(axis=(0, 2), keepdims=True)
                                 * p.sum(axis=(0, 1), keepdims=True)))).sum()
    assert not np.isfinite(naive)  # the product of the marginals underflows
    for fn, what in ((TC, "tc"), (OMEGA, "omega")):
        assert fn(p) == pytest.approx(float(_exact(p, what)), rel=4 * EPS)
    assert np.isfinite(TC_GRAD(p)).all() and np.isfinite(OMEGA_GRAD(p)).all()


# -- bad input and the gradient -------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [TC, TC_GRAD, OMEGA, OMEGA_GRAD])
@pytest.mark.parametrize("kwargs, match", [
    ({"pjoint": np.full((2, 2), 0.25), "variables": 3}, "pjoint has 2 axes"),
    ({"pjoint": 0.5}, "pjoint must have at least"),
    ({"pjoint": np.zeros((2, 0, 2))}, "pjoint has a variable with no outcomes"),
    ({"pjoint": np.array([[0.5, -0.1], [0.3, 0.3]])}, "pjoint has a negative entry"),
    ({"pjoint": np.array([[0.5, np.nan], [0.3, 0.3]])}, "pjoint contains NaN"),
    ({"pjoint": np.full((2, 2), 0.25), "variables": 0}, "variables must be"),
    ({"pjoint": np.full((2, 2), 0.25), "variables": 2.0}, "variables must be an integer"),
    ({"pjoint": np.full((2, 2), 0.25), "variables": True}, "variables must be an integer"),
    ({"pjoint": np.full((2, 2), 0.25), "base": 1.0}, "base"),
])
def test_bad_input_names_the_argument(fn, kwargs, match):
    with pytest.raises(RefLossError, match=match):
        fn(**kwargs)


def test_o_information_needs_two_variables():
    for bad in ({"pjoint": [0.5, 0.5]}, {"pjoint": np.full((2, 2), 0.25), "variables": 1}):
        with pytest.raises(RefLossError, match="pjoint must have at least 2 axes|variables must be"):
            OMEGA(**bad)


def test_the_gradient_refuses_an_entry_0_where_the_value_exists():
    xor, copy = xor_and_copy()
    for fn, grad in ((TC, TC_GRAD), (OMEGA, OMEGA_GRAD)):
        assert math.isfinite(fn(copy))
        with pytest.raises(RefLossError, match="pjoint has an entry 0.*the gradient does not exist"):
            grad(copy)
        with pytest.raises(RefLossError, match="pjoint has an entry 0"):
            grad(xor_and_copy(), variables=3)


def test_gradient_against_central_differences():
    p = _tables(9, (2, 3, 2), normalised=False)
    h = 1e-6
    for fn, grad in ((TC, TC_GRAD), (OMEGA, OMEGA_GRAD)):
        g = grad(p)
        fd = np.zeros_like(p)
        for x in np.ndindex(*p.shape):
            step = np.zeros_like(p)
            step[x] = h
            fd[x] = (fn(p + step) - fn(p - step)) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-8)
