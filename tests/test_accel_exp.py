"""The Numba kernels' float32 exponential (``accel._numba_kernels._exp_nonpositive``) and soft cap
(``_cap_row``: tanh and its slope) against float64.

The exponential on every one of the 1.12e9 float32 numbers in [-104.5, 0] (about 11 s on two cores; the worst
error, 0.583 ulp, is at x = -1.0397207), and the points where the algorithm changes regime: the ends of the
reduction interval, the subnormal results, the last x that rounds to a positive number, -inf and NaN. The soft
cap on every float32 in [2^-26, 60]. Errors are in ulps of the correctly rounded float32 result (subnormal
spacing included).
"""

import math

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from accel._numba_kernels import _cap_row, _exp_nonpositive  # noqa: E402

BOUND_ULPS = 0.59


@numba.njit
def _apply(x, out):
    for j in range(x.shape[0]):
        out[j] = _exp_nonpositive(x[j])


def _exp32(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _apply(x, out)
    return out


def _ulps(x: np.ndarray) -> np.ndarray:
    exact = np.exp(x.astype(np.float64))  # float64's e^x: 2^-29 relative, far below float32's ulp
    spacing = np.spacing(exact.astype(np.float32)).astype(np.float64)
    return np.abs(_exp32(x).astype(np.float64) - exact) / spacing


def test_every_float32_is_within_its_bound():
    lowest = int(np.float32(-104.5).view(np.uint32))  # the bit patterns of -0 .. -104.5 are 0x80000000 ..
    worst = 0.0
    for start in range(0x80000000, lowest + 1, 1 << 24):
        bits = np.arange(start, min(start + (1 << 24), lowest + 1), dtype=np.uint32)
        worst = max(worst, float(_ulps(bits.view(np.float32)).max()))
    assert worst <= BOUND_ULPS


def test_the_regime_boundaries():
    half_ln2 = math.log(2.0) / 2
    points = [0.0, -0.0, -1e-45, -1e-30, -1e-8, -half_ln2, -3 * half_ln2, -1.0, -10.0, -87.0, -87.33654,
              -87.34, -100.0, -103.27893, -103.97, -103.9721, -104.0]
    x = np.array(points, dtype=np.float32)
    x = np.concatenate([x, np.nextafter(x, np.float32(1)), np.nextafter(x, np.float32(-np.inf))])
    x = x[x <= 0]
    assert _ulps(x).max() <= BOUND_ULPS
    assert _exp32(np.array([0.0], dtype=np.float32))[0] == 1.0


def test_below_the_range_inf_and_nan():
    got = _exp32(np.array([-104.0, -105.0, -1e30, -np.inf, np.nan], dtype=np.float32))
    np.testing.assert_array_equal(got[:4], 0.0)
    assert np.isnan(got[4])  # a NaN logit reaches the sums, so the LSE is NaN and the call is refused


def test_float64_is_the_c_library_exp():
    x = np.array([0.0, -1e-300, -0.5, -700.0, -745.2, -np.inf, np.nan])
    got = np.empty_like(x)
    _apply(x, got)
    np.testing.assert_array_equal(got, np.exp(x))


# -- the soft cap's tanh and slope, float32 --------------------------------------------------------------------


@numba.njit
def _capped(row, slope):
    _cap_row(row, slope, 1.0, True)  # cap 1: z = tanh(u), slope = 1 - tanh^2(u)


def test_every_float32_soft_cap_is_within_its_bound():
    """z = tanh(x) and 1 - tanh^2(x) for every float32 x in [2^-26, 60] (267 million numbers; below 2^-26 z is x
    itself, above 60 z rounds to 1 and the slope to 0): within 0.6 ulp of float32 (measured: 0.5905 at
    x = 0.519845 and 0.5831 at x = 22.007406)."""
    low, high = int(np.float32(2.0**-26).view(np.uint32)), int(np.float32(60.0).view(np.uint32))
    worst_z = worst_slope = 0.0
    for start in range(low, high + 1, 1 << 24):
        x = np.arange(start, min(start + (1 << 24), high + 1), dtype=np.uint32).view(np.float32)
        z, slope = x.copy(), np.empty_like(x)
        _capped(z, slope)
        exact = np.tanh(x.astype(np.float64))
        exact_slope = 1.0 / np.cosh(x.astype(np.float64)) ** 2
        worst_z = max(worst_z, float((np.abs(z - exact) / np.spacing(exact.astype(np.float32))).max()))
        worst_slope = max(worst_slope, float((np.abs(slope - exact_slope) /
                                             np.spacing(exact_slope.astype(np.float32))).max()))
    assert worst_z <= 0.6 and worst_slope <= 0.6


def test_soft_cap_is_odd_exact_near_zero_and_saturates():
    x = np.array([0.0, 1e-30, 2.0**-27, 0.3, 0.5, 3.0, 100.0, 1e30, np.inf], dtype=np.float32)
    z, slope = x.copy(), np.empty_like(x)
    _capped(z, slope)
    z_neg, slope_neg = -x, np.empty_like(x)
    _capped(z_neg, slope_neg)
    np.testing.assert_array_equal(z_neg, -z)
    np.testing.assert_array_equal(slope_neg, slope)
    np.testing.assert_array_equal(z[:3], x[:3])  # tanh x = x to float32's precision below 2^-26
    np.testing.assert_array_equal(z[6:], 1.0)
    np.testing.assert_array_equal(slope[:3], 1.0)
    np.testing.assert_array_equal(slope[6:], 0.0)
