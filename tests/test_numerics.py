"""logsumexp and log_softmax: hand-derived values, accuracy where naive formulas fail, masks, errors."""

import math

import numpy as np
import pytest
import scipy.special

import refloss
from refloss import RefLossError
from refloss.numerics import plogq, softmax, softplus


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


@pytest.mark.parametrize("fn", [refloss.logsumexp, refloss.log_softmax, refloss.logsumexp_grad,
                                refloss.log_softmax_grad])
@pytest.mark.parametrize("bad, message", [
    (3.0, "at least one axis"),
    (np.zeros((2, 0)), "empty"),
    (np.zeros((0, 3)), "empty"),
    ([1.0, np.nan], "logits contains NaN"),
    ([1.0, np.inf], r"logits contains \+inf"),
    ([-np.inf, -np.inf], "all -inf"),
    (["a", "b"], "real numbers"),
    ([1 + 1j], "real numbers"),
])
def test_bad_logits(fn, bad, message):
    with pytest.raises(RefLossError, match=message):
        fn(bad)
