"""Domains and argument checks."""

import math

import numpy as np
import pytest

from refloss import RefLossError
from refloss import _validate as v


def test_interval_membership_and_text():
    half_open = v.Interval(0.0, 1.0, lo_open=True)
    assert 0.5 in half_open and 1.0 in half_open and 0.0 not in half_open
    assert str(half_open) == "(0, 1]" and str(v.NONNEGATIVE) == "[0, inf)"
    assert math.inf not in v.NONNEGATIVE


def test_scalar_checks():
    assert v.scalar(np.float32(0.5), v.UNIT_INTERVAL, "tau") == 0.5
    for bad in (float("nan"), 2.0, True, "1", [0.5], 1j):
        with pytest.raises(RefLossError, match="tau"):
            v.scalar(bad, v.UNIT_INTERVAL, "tau")


def test_integer_and_choice():
    assert v.integer(np.int64(3), "k") == 3
    for bad in (3.0, True, "3"):
        with pytest.raises(RefLossError, match="k must be an integer"):
            v.integer(bad, "k")
    with pytest.raises(RefLossError, match="reduction must be one of"):
        v.choice("avg", v.REDUCTIONS, "reduction")


def test_real_array_conversion():
    assert v.real_array([1, 2], "x").dtype == np.float64
    assert v.real_array([True, False], "x").dtype == np.float64
    with pytest.raises(RefLossError, match="x could not be converted"):
        v.real_array([[1.0], [1.0, 2.0]], "x")
    with pytest.raises(RefLossError, match="x contains -inf"):
        v.real_array([-np.inf], "x")


def test_real_targets_take_any_real_rows():
    """Probability-shaped targets are any finite real array (rows need not sum to 1, entries may be negative)."""
    for rows in ([[0.5, 0.5 + 2e-6]], [[0.1, 0.2]], [[-0.5, 2.5]], [[0.0, 0.0]]):
        np.testing.assert_array_equal(v.real_targets(rows, (1, 2), "t"), rows)
    with pytest.raises(RefLossError, match=r"t must have the shape of logits \(1, 2\)"):
        v.real_targets([[0.5, 0.5, 0.0]], (1, 2), "t")
    for bad, what in (([[np.nan, 1.0]], "NaN"), ([[np.inf, 1.0]], r"\+inf"), ([[-np.inf, 1.0]], "-inf")):
        with pytest.raises(RefLossError, match=f"t contains {what}"):
            v.real_targets(bad, (1, 2), "t")


def test_unit_interval_labels_stay_for_the_losses_undefined_outside():
    assert v.unit_interval_array([0.0, 0.5, 1.0], (3,), "y").tolist() == [0.0, 0.5, 1.0]
    with pytest.raises(RefLossError, match=r"y entries must lie in \[0, 1\]"):
        v.unit_interval_array([0.0, 1.7], (2,), "y")


def test_real_weights_take_either_sign():
    assert v.real_weights([1.0, -2.0], "w", length=2).tolist() == [1.0, -2.0]
    assert v.real_weights([-1.0, 2.0], "w", broadcast_to=(3, 2)).shape == (3, 2)
    with pytest.raises(RefLossError, match=r"w must have shape \(3,\)"):
        v.real_weights([1.0, -2.0], "w", length=3)
    with pytest.raises(RefLossError, match="w contains NaN"):
        v.real_weights([1.0, np.nan], "w")
    with pytest.raises(RefLossError, match="w must be non-negative"):
        v.nonnegative_weights([1.0, -2.0], "w")


def test_weights_broadcast():
    assert v.nonnegative_weights([1.0, 2.0], "w", broadcast_to=(3, 2)).shape == (3, 2)
    with pytest.raises(RefLossError, match="does not broadcast"):
        v.nonnegative_weights([1.0, 2.0, 3.0], "w", broadcast_to=(3, 2))


def test_float32_softmax_rows_are_taken_as_they_are():
    """A float32 softmax over a large vocabulary, whose rows sum to 1 only to about 1e-7, is a valid target: no
    tolerance applies any more, and the values are not renormalised."""
    rng = np.random.default_rng(0)
    z = (rng.normal(size=(4, 32_000)) * 5).astype(np.float32)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True, dtype=np.float32)
    np.testing.assert_array_equal(v.real_targets(p, p.shape, "target"), p.astype(np.float64))
