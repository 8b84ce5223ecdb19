"""The Numba kernels' float32 exponential (``accel._numba_kernels._exp_nonpositive``) and soft cap
(``_cap_row``: tanh and its slope) against float64.

The exponential on every one of the 1.12e9 float32 numbers in [-104.5, 0] (about 11 s on two cores; the worst
error, 0.583 ulp, is at x = -1.0397207), and the points where the algorithm changes regime: the ends of the
reduction interval, the subnormal results, the last x that rounds to a positive number, -inf and NaN. The soft
cap on every float32 in [2^-26, 60]. Errors are in ulps of the correctly rounded float32 result (subnormal
spacing included).

The float64 exponential and expm1 of :func:`accel.linear_kl`'s row step, on drawn points and their regime
boundaries, against mpmath (in ulps of the exact result), and its phi against refloss's own.
"""

import math

import mpmath
import numpy as np
import pytest

numba = pytest.importorskip("numba")

from accel._numba_kernels import (  # noqa: E402
    _cap_row,
    _exp_nonpositive,
    _exp_nonpositive_64,
    _expm1_below_one,
    _phi_below_one,
)

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


# -- the float64 exponential, expm1 and phi of accel.linear_kl's row step --------------------------------------


@numba.njit
def _apply_64(x, out, which):
    for j in range(x.shape[0]):
        if which == 0:
            out[j] = _exp_nonpositive_64(x[j])
        elif which == 1:
            out[j] = _expm1_below_one(x[j])
        else:
            out[j] = _phi_below_one(x[j])


def _float64_ulps(x: np.ndarray, which: int, exact) -> float:
    """The worst error over ``x`` in ulps of the exact result (subnormal spacing included), exact by mpmath."""
    got = np.empty_like(x)
    _apply_64(x, got, which)
    worst = 0.0
    with mpmath.workprec(128):
        for value, argument in zip(got.tolist(), x.tolist()):
            want = exact(mpmath.mpf(argument))
            spacing = max(math.ulp(abs(float(want))), 5e-324)
            worst = max(worst, float(abs(mpmath.mpf(value) - want)) / spacing)
    return worst


def _with_neighbours(points) -> np.ndarray:
    x = np.array(points, dtype=np.float64)
    return np.concatenate([x, np.nextafter(x, np.inf), np.nextafter(x, -np.inf)])


def test_float64_exp_is_within_an_ulp():
    """e^t for t <= 0: drawn t over the whole range, near 0, in the subnormal results, and the regime changes
    (the reduction's ends k ln2/2, the two-step scaling below 2^-1021, the last t that rounds to a positive
    number). Measured worst: 0.92 ulp over 220,000 drawn points."""
    rng = np.random.default_rng(0)
    half_ln2 = math.log(2.0) / 2
    edges = [0.0, -1e-300, -1e-17, -half_ln2, -3 * half_ln2, -1.0, -20.0, -708.0, -708.4, -709.0897, -744.44,
             -745.13, -745.1332191019412, -745.2]
    x = np.concatenate([-rng.uniform(0, 746, 12000), -(10.0 ** rng.uniform(-20, 2.87, 6000)),
                        -rng.uniform(708, 745.2, 2000), _with_neighbours(edges)])
    assert _float64_ulps(x[x <= 0], 0, mpmath.exp) <= 1.0


def test_float64_exp_below_the_range_and_inf():
    got = np.empty(4)
    _apply_64(np.array([-745.14, -746.0, -1e300, -np.inf]), got, 0)
    np.testing.assert_array_equal(got, 0.0)


def test_float64_expm1_below_one():
    """expm1 on |x| < 1 (its terms alternate for x < 0, which costs the most near -1). Measured worst: 1.34 ulp
    at x = -0.99483."""
    rng = np.random.default_rng(1)
    tiny = 10.0 ** rng.uniform(-300, 0, 4000) * rng.choice([-1.0, 1.0], 4000)
    x = np.concatenate([rng.uniform(-1, 1, 16000), tiny, _with_neighbours([-0.999999, -0.5, 0.5, 0.999999, 0.0])])
    assert _float64_ulps(x[np.abs(x) < 1], 1, mpmath.expm1) <= 1.5


def test_float64_phi_is_refloss_own_series():
    """phi(u) = 1 + (u - 1) e^u on |u| < 1: bit for bit refloss.numerics.one_plus_xm1_expx (same Horner steps)."""
    from refloss.numerics import one_plus_xm1_expx

    u = np.concatenate([np.random.default_rng(2).uniform(-1, 1, 10000), [0.0, 1e-300, -1e-9, 0.999999999]])
    got = np.empty_like(u)
    _apply_64(u, got, 2)
    np.testing.assert_array_equal(got, one_plus_xm1_expx(u))


_COMPILED_AFTER_CROSS_ENTROPY = """
import numpy as np
import accel
from refloss.numerics import one_plus_xm1_expx
from accel._numba_kernels import _phi_below_one
rng = np.random.default_rng(0)
e, c = rng.standard_normal((4, 3)), rng.standard_normal((7, 3))
accel.linear_cross_entropy(e, c, [0, 1, 2, 3], label_smoothing=0.5, backend="numba")  # compiles its helpers first
u = rng.uniform(-1, 1, 1000)
assert [_phi_below_one(x) for x in u] == list(one_plus_xm1_expx(u))
"""


def test_float64_helpers_keep_their_roundings_when_a_fast_math_kernel_compiles_them_first(tmp_path):
    """The cross-entropy kernel (fast-math "contract") calls expm1's Horner steps; Numba compiles a callee that
    sets no fastmath with the first caller's flags and caches it, which made phi differ from refloss's in its
    last bit after that kernel ran (fixed by fastmath=False on the helpers). A fresh cache, that order."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", _COMPILED_AFTER_CROSS_ENTROPY], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
