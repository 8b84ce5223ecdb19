"""softmax and its Jacobian: hand-derived values, accuracy where naive formulas fail, masks, blocks, refusals.

The generic checks (oracle at the stress points and on drawn inputs, finite differences, shift invariance, bad
inputs) run from the registry in tests/test_registry.py and tests/test_fuzz.py; these are the softmax's own.
"""

import math

import numpy as np
import pytest

import refloss
from refloss import RefLossError, _blocks
from refloss.softmax.log_softmax import MAX_JACOBIAN_ENTRIES


def test_softmax_hand_values():
    np.testing.assert_allclose(refloss.softmax([0.0, math.log(3.0)]), [0.25, 0.75], rtol=1e-15)
    np.testing.assert_allclose(refloss.softmax([[1e4, 1e4], [-1e4, -1e4]]), [[0.5, 0.5], [0.5, 0.5]], rtol=1e-15)
    # p = (1/4, 3/4): J = diag(p) - p p^T
    np.testing.assert_allclose(refloss.softmax_grad([0.0, math.log(3.0)]),
                               [[0.1875, -0.1875], [-0.1875, 0.1875]], rtol=1e-15)


def test_tiny_probabilities_keep_their_digits():
    # p_1 = e^-100 / (1 + e^-100) and p_1 = e^-700: a quotient of rounded sums or 1 - p_0 would lose them
    got = refloss.softmax([[100.0, 0.0], [0.0, -700.0]])
    assert got[0, 1] == pytest.approx(math.exp(-100.0), rel=1e-15)
    assert got[1, 1] == pytest.approx(math.exp(-700.0), rel=1e-14)
    assert got[0, 0] == 1.0 and got[1, 0] == 1.0


def test_jacobian_diagonal_keeps_its_digits_where_p_is_near_1():
    # J_00 = p_0 (1 - p_0) = p_0 p_1 = e^-40 / (1 + e^-40)^2; p_0 * (1 - p_0) in float64 gives 0
    jac = refloss.softmax_grad([40.0, 0.0])
    exact = math.exp(-40.0) / (1.0 + math.exp(-40.0)) ** 2
    np.testing.assert_allclose(jac, [[exact, -exact], [-exact, exact]], rtol=1e-15)


def test_jacobian_is_p_times_the_log_softmax_jacobian():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((4, 2, 5)) * 10.0
    p = refloss.softmax(z)
    np.testing.assert_allclose(refloss.softmax_grad(z), p[..., :, None] * refloss.log_softmax_grad(z),
                               rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(refloss.softmax_grad(z), np.swapaxes(refloss.softmax_grad(z), -1, -2), rtol=1e-15)


def test_masks_and_one_class():
    out = refloss.softmax([0.0, -np.inf, 0.0])
    assert out[1] == 0.0
    np.testing.assert_allclose(out[[0, 2]], [0.5, 0.5], rtol=1e-15)
    np.testing.assert_array_equal(refloss.softmax([[3.0], [-700.0]]), [[1.0], [1.0]])
    np.testing.assert_array_equal(refloss.softmax_grad([[3.0], [-700.0]]), np.zeros((2, 1, 1)))
    jac = refloss.softmax_grad([[1.0, -np.inf, 1.0]])
    np.testing.assert_array_equal(jac[0], [[0.25, 0.0, -0.25], [0.0, 0.0, 0.0], [-0.25, 0.0, 0.25]])
    assert not np.signbit(jac[0, 1]).any() and not np.signbit(jac[0, :, 1]).any()  # +0, not -0


def test_blocks_of_one_row_give_the_whole_array_s_numbers(monkeypatch):
    rng = np.random.default_rng(7)
    z = rng.standard_normal((6, 3, 4)) * 30.0
    z[0, 1, 2] = -np.inf
    whole = refloss.softmax(z), refloss.softmax_grad(z)
    monkeypatch.setattr(_blocks, "BLOCK_ELEMENTS", 1)
    blocked = refloss.softmax(z), refloss.softmax_grad(z)
    for a, b in zip(whole, blocked):
        assert a.shape == b.shape and np.array_equal(a, b)


def test_a_jacobian_too_large_to_hold_is_refused_up_front():
    with pytest.raises(RefLossError, match=r"softmax Jacobian.*MAX_JACOBIAN_ENTRIES.*J v"):
        refloss.softmax_grad(np.zeros(math.isqrt(MAX_JACOBIAN_ENTRIES) + 1))
