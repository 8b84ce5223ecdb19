"""logsumexp, log_softmax and helpers: hand-derived values, accuracy where naive formulas fail, masks, errors."""

import math

import mpmath
import numpy as np
import pytest
import scipy.special

import refloss
from refloss import RefLossError
from refloss.numerics import plogq, softmax, softmax_over_uniform_minus_1, softplus


def test_logsumexp_hand_values():
    assert refloss.logsumexp([0.0, math.log(3.0)]) == pytest.approx(math.log(4.0), rel=1e-15)
    np.testing.assert_allclose(refloss.logsumexp([[1e4, 1e4], [-1e4, -1e4]]),
                               [1e4 + math.log(2.0), -1e4 + math.log(2.0)], rtol=1e-15)
    assert refloss.logsumexp([5.0, -np.inf]) == 5.0  # a masked class adds nothing
    assert refloss.logsumexp([7.0]) == 7.0


def test_log_softmax_keeps_relative_accuracy_of_the_largest_entry():
    # log p_0 = -log1p(e^-100) = -e^-100 (1 - e^-100 / 2 ...); scipy's log_softmax returns 0 here.
    got = refloss.log_softmax([100.0, 0.0])
    assert got[0] == pytest.approx(-math.exp(-100.0), rel=1e-15)
    assert got[1] == pytest.approx(-100.0 - math.exp(-100.0), rel=1e-15)
    assert scipy.special.log_softmax([100.0, 0.0])[0] == 0.0  # the failure this guards against


def test_log_softmax_masks_and_single_class():
    np.testing.assert_array_equal(refloss.log_softmax([[3.0], [-2.0]]), [[0.0], [0.0]])
    out = refloss.log_softmax([0.0, -np.inf, 0.0])
    assert out[1] == -np.inf
    np.testing.assert_allclose(out[[0, 2]], [-math.log(2.0)] * 2, rtol=1e-15)


def test_log_softmax_jacobian_hand_values():
    # p = (1/4, 3/4): J = I - 1 p^T
    np.testing.assert_allclose(refloss.log_softmax_grad([0.0, math.log(3.0)]),
                               [[0.75, -0.75], [-0.25, 0.25]], rtol=1e-15)
    jac = refloss.log_softmax_grad([[0.0, -np.inf, 0.0]])
    np.testing.assert_allclose(jac[0], [[0.5, 0.0, -0.5], [0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]])


def test_logsumexp_grad_is_softmax():
    np.testing.assert_allclose(refloss.logsumexp_grad([[0.0, math.log(3.0)]]), [[0.25, 0.75]], rtol=1e-15)


def test_helpers():
    np.testing.assert_array_equal(plogq(np.array([0.0, 0.5]), np.array([-np.inf, -1.0])), [0.0, -0.5])
    assert softplus(np.array(-800.0)) == 0.0 and softplus(np.array(800.0)) == 800.0
    np.testing.assert_allclose(softmax(np.array([0.0, math.log(3.0)])), [0.25, 0.75], rtol=1e-15)


def test_softmax_over_uniform_minus_1_is_exactly_0_at_tied_logits_and_minus_1_at_masks():
    tied = np.array([[0.0] * 3, [5.5] * 3, [-1e300] * 3, [0.1] * 3])
    assert not softmax_over_uniform_minus_1(tied).any()
    masked = softmax_over_uniform_minus_1(np.array([2.0, -np.inf, 2.0]))  # p = (1/2, 0, 1/2), C = 3
    np.testing.assert_array_equal(masked, [0.5, -1.0, 0.5])
    np.testing.assert_array_equal(softmax_over_uniform_minus_1(np.array([[7.0]])), [[0.0]])


@pytest.mark.parametrize("row", [[0.0078, 0.0], [1e-3, -2e-3, 5e-4, 0.0], [3.0, 1e-3, 2e-3, -1e-3],
                                 [1e-12, 0.0, -3e-12], [40.0, 40.001, 0.0, -700.0]])
def test_softmax_over_uniform_minus_1_keeps_the_digits_that_vanish_with_the_logits(row):
    # C p_j - 1 computed as C exp(log p_j) - 1 errs by about eps in every component, beyond this bound on the
    # first, second and fourth rows: a few eps (|z_j - A| + sum_k p_k |z_k - A|) e^{z_j - A} with
    # A = log mean e^z, evaluated at 50 digits
    with mpmath.workdps(50):
        z = [mpmath.mpf(x) for x in row]
        n = len(z)
        a = mpmath.log(mpmath.fsum(mpmath.exp(x) for x in z) / n)
        p = [mpmath.exp(x - a) / n for x in z]
        exact = [mpmath.expm1(x - a) for x in z]
        spread = mpmath.fsum(pk * abs(zk - a) for pk, zk in zip(p, z))
        bound = [4 * 2.0**-52 * (abs(x - a) + spread) * mpmath.exp(x - a) for x in z]
    got = softmax_over_uniform_minus_1(np.array(row))
    for j in range(len(row)):
        assert abs(got[j] - exact[j]) <= bound[j] + 4 * 2.0**-52 * abs(exact[j]), (j, got[j], exact[j])


@pytest.mark.parametrize("fn", [refloss.logsumexp, refloss.log_softmax, refloss.logsumexp_grad,
                                refloss.log_softmax_grad])
@pytest.mark.parametrize("bad, message", [
    (3.0, "at least one axis"),
    ([1.0, np.nan], "logits contains NaN"),
    (["a", "b"], "real numbers"),
    ([1 + 1j], "real numbers"),
])
def test_bad_logits(fn, bad, message):
    with pytest.raises(RefLossError, match=message):
        fn(bad)


@pytest.mark.parametrize("fn", [refloss.log_softmax, refloss.log_softmax_grad])
@pytest.mark.parametrize("bad, message", [(np.zeros((2, 0)), "no classes"), ([-np.inf, -np.inf], "all -inf"),
                                          ([1.0, np.inf], r"logits contains \+inf")])
def test_a_distribution_over_no_class_has_no_log_softmax(fn, bad, message):
    """(The log-sum-exp of the same rows is the empty sum, -inf, or +inf: tests/test_options.py.)"""
    with pytest.raises(RefLossError, match=message):
        fn(bad)
