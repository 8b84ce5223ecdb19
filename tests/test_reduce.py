"""The one place the "mean" rule lives."""

import math

import numpy as np
import pytest

from refloss import RefLossError, RefLossWarning
from refloss._reduce import reduce, reduce_scale, weighted_denominator


def test_reductions():
    values = np.array([1.0, 2.0, 6.0])
    assert reduce(values, "sum") == 9.0
    assert reduce(values, "mean") == 3.0
    assert reduce(values, "mean", denominator=4.5) == 2.0
    assert reduce(values, "none") is values
    assert reduce_scale((3,), "mean") == pytest.approx(1 / 3)
    assert reduce_scale((3,), "mean", 4.5) == pytest.approx(1 / 4.5)
    assert reduce_scale((3,), "sum") == reduce_scale((3,), "none") == 1.0


def test_zero_denominator_is_nan_with_warning_and_zero_scale():
    with pytest.warns(RefLossWarning):
        assert math.isnan(reduce(np.zeros(2), "mean", denominator=0.0))
    assert reduce_scale((2,), "mean", 0.0) == 0.0


def test_unknown_reduction():
    with pytest.raises(RefLossError, match="reduction"):
        reduce(np.zeros(2), "batchmean")


def test_weighted_denominator_of_signed_weights():
    """W = sum of the kept targets' weights, exactly (math.fsum) when they have both signs; W = 0 with a nonzero
    weight leaves no weighted mean (an error naming it), W = 0 from zero weights is the 0/0 above."""
    assert weighted_denominator(np.array([2.0, -0.5, 0.0]), "mean") == 1.5
    assert weighted_denominator(np.array([0.1, 0.2, -0.3]), "mean") == 2**-55  # exact (NumPy's sum: 2^-54)
    assert weighted_denominator(np.array([1e308, 1e308, -1e308]), "mean") == 1e308  # no intermediate overflow
    assert weighted_denominator(np.array([1e308, 1e308]), "mean") == math.inf
    with pytest.raises(RefLossError, match="the weights of the kept targets sum to 0: the weighted mean is undefined"):
        weighted_denominator(np.array([1.0, -1.0, 0.0]), "mean")
    assert weighted_denominator(np.array([1.0, -1.0]), "sum") == 0.0  # no mean, no denominator needed
    assert weighted_denominator(np.zeros(3), "mean") == 0.0  # reduce then returns 0/0 = nan with its warning
    assert weighted_denominator(np.zeros(0), "mean") == 0.0


def test_sums_of_signed_losses():
    # a partial sum of finite losses of both signs passes the float64 range: the sum is formed exactly
    assert reduce(np.array([1.7e308, 1.7e308, -1.7e308]), "sum") == 1.7e308
    assert reduce(np.array([1e308, 1e308, -1e308, -1e308, 1.0]), "mean") == pytest.approx(0.2, rel=1e-15)
    assert reduce(np.array([math.inf, 1.0]), "sum") == math.inf
    with pytest.raises(RefLossError, match=r"both \+inf and -inf, so their mean is undefined"):
        reduce(np.array([math.inf, -math.inf, 1.0]), "mean")
