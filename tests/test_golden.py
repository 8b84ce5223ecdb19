"""The precision metric against mpmath values."""

import math

import mpmath
import numpy as np

from refloss import golden
from refloss.golden import mp


def _mp(values):
    out = np.empty(len(values), dtype=object)
    for i, x in enumerate(values):
        out[i] = mpmath.mpf(x)
    return out


def test_relative_error():
    assert golden.precision_error([1.0], _mp(["1.0"])) == 0.0
    assert golden.precision_error([1.0 + 2.0**-52], _mp(["1.0"])) == 2.0**-52


def test_scale_and_subnormal_floor():
    # |1e-20 - 0| measured against the scale 1, not against the value
    assert golden.precision_error([1e-20], _mp(["0"]), scale=_mp(["1"])) == 1e-20
    assert golden.precision_error([0.0], _mp(["1e-320"])) < 1e-11  # below the normal range: vs TINY


def test_nan_and_inf_must_match():
    assert golden.precision_error([np.inf], _mp(["inf"])) == 0.0
    assert golden.precision_error([1e308], _mp(["inf"])) == math.inf
    assert golden.precision_error([np.nan], _mp(["1"])) == math.inf


def test_twins_are_exact_on_closed_forms():
    with mpmath.workdps(50):
        assert abs(mp.logsumexp(np.full(3, 2.0))[()] - (2 + mpmath.log(3))) < mpmath.mpf("1e-45")
        assert abs(mp.softmax_entropy(np.zeros(4))[()] - mpmath.log(4)) < mpmath.mpf("1e-45")
