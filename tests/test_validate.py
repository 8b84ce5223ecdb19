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


def test_probabilities_tolerance():
    v.probabilities(np.array([[0.5, 0.5 + 0.9 * v.PROB_SUM_ATOL]]), (1, 2), "t")
    with pytest.raises(RefLossError, match="off by"):
        v.probabilities(np.array([[0.5, 0.5 + 2 * v.PROB_SUM_ATOL]]), (1, 2), "t")


def test_weights_broadcast():
    assert v.nonnegative_weights([1.0, 2.0], "w", broadcast_to=(3, 2)).shape == (3, 2)
    with pytest.raises(RefLossError, match="does not broadcast"):
        v.nonnegative_weights([1.0, 2.0, 3.0], "w", broadcast_to=(3, 2))


def test_float32_softmax_rows_pass_the_sum_tolerance():
    """The documented reason for PROB_SUM_ATOL: float32 softmax outputs over a 256k vocabulary pass."""
    rng = np.random.default_rng(0)
    z = (rng.normal(size=(4, 256_000)) * 5).astype(np.float32)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True, dtype=np.float32)
    v.probabilities(p, p.shape, "target")
