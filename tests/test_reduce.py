"""The one place the "mean" rule lives."""

import math

import numpy as np
import pytest

from refloss import RefLossError, RefLossWarning
from refloss._reduce import reduce, reduce_scale


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
