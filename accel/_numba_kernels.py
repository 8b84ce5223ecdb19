"""The row step of :mod:`accel.linear_ce` (and of :mod:`accel.token_stats`) as one fused Numba kernel.

The kernels run on a block of rows without the GIL; :mod:`accel._cpu`'s workers run them on their shares of
a chunk at the same time. The cross-entropy kernel computes exactly what :func:`accel.linear_ce.rows_xp`
computes (that function is the specification), in three passes over each row while it sits in cache:
(1) bias, soft cap and the maximum; (2) one exponential per entry, kept in the buffer, with float64 sums;
(3) the gradient entries, overwriting the buffer (label smoothing without class weights keeps a float64 copy
of the row's logits and adds a pass: its share is computed from differences of logits). Exponentials run in
the input dtype; sums, LSE, loss and the gradient's coefficients in float64.

The hot loops are written so that LLVM vectorises them: the maximum keeps 16 running maxima; the float32
exponential (:func:`_exp_nonpositive`) and soft cap (:func:`_cap_row`) are float64 arithmetic rounded once to
float32, where a call to ``expf`` or ``expm1`` would run one entry at a time (5.5x faster on a row of 32768
classes, and within 0.59 ulp of e^x, of tanh and of its slope on every float32); and the kernels take IEEE
division (``error_model="numpy"``), since Python's ZeroDivisionError check is a branch in the loop. The float64
row step of :func:`accel.linear_kl` likewise has its own arithmetic exp and expm1 (within 1 and 1.5 ulp) and
branch-free passes: 38 to 7.9 ns per logit on one core.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from refloss import numerics as _numerics

# "reassoc" lets LLVM vectorise the float64 sums (a sum in another order: a few ulps of a
# sum of non-negative terms); "contract" allows fused multiply-adds. No flag assumes away NaN or inf.
_FAST = {"reassoc", "contract"}
# IEEE division (no ZeroDivisionError check, whose branch keeps a loop from vectorising); no divisor here is 0.
_IEEE = "numpy"


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (a bit cast, no instruction)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


# e^t = 2^n e^r with n = round(t / ln 2) and r = t - n ln 2 in [-ln2/2, ln2/2] (Cody and Waite's reduction:
# ln 2 = LN2_HI + LN2_LO with LN2_HI = 355/512 exact in 9 bits, so n LN2_HI is exact for |n| < 2^44).
_LOG2_E = 1.0 / math.log(2.0)
_LN2_HI = 355.0 / 512.0
_LN2_LO = math.log(2.0) - 355.0 / 512.0
# e^r by its Taylor polynomial of degree 7: the remainder is below |r|^8 / 8! e^|r| < 7.4e-9 e^r for
# |r| <= ln2/2, at most a quarter of float32's half-ulp (2^-25 relative at least).
_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(7, 1, -1))
# e^-708 is float64's smallest power of e whose 2^n is a normal number: no result below needs more.
_LOWEST = -708.0


@numba.njit(cache=True)
def _exp_wide(t):
    """e^t for a float64 t <= 0 (or NaN) to 7.4e-9 relative, in float64 (float32's exponential before its one
    rounding); arithmetic only, so that the loop that calls it vectorises. e^-708 below -708."""
    t = _LOWEST if t < _LOWEST else t  # -inf too; NaN passes
    n = np.floor(t * _LOG2_E + 0.5)
    n = n if n > -1022.0 else -1022.0  # NaN: a valid exponent below, NaN in r
    r = (t - n * _LN2_HI) - n * _LN2_LO
    c7, c6, c5, c4, c3, c2 = _TAYLOR
    tail = (((((c7 * r + c6) * r + c5) * r + c4) * r + c3) * r + c2) * r * r
    return ((tail + r) + 1.0) * _float64_from_bits((np.int64(n) + 1023) << 52)


def _exp_nonpositive(x):
    """e^x for x <= 0 (or NaN), in x's dtype: float32 from :func:`_exp_wide`, rounded once (within 0.59 ulp of
    e^x on every float32, tests/test_accel_exp.py); float64 by the C library."""
    return math.exp(x)


@overload(_exp_nonpositive)
def _exp_nonpositive_impl(x):
    if x != types.float32:
        return lambda x: math.exp(x)
    return lambda x: np.float32(_exp_wide(np.float64(x)))


@numba.njit(cache=True)
def _row_max(row):
    """max(row), ignoring NaN (a NaN entry reaches the sums through its exponential and makes LSE NaN)."""
    lanes = np.full(16, -np.inf, dtype=row.dtype)
    whole = row.shape[0] - row.shape[0] % 16
    for j in range(0, whole, 16):
        for k in range(16):
            x = row[j + k]
            lanes[k] = x if x > lanes[k] else lanes[k]
    m = lanes[0]
    for k in range(16):
        m = lanes[k] if lanes[k] > m else m
    for j in range(whole, row.shape[0]):
        m = row[j] if row[j] > m else m
    return m


# e^a - 1 for a in [-1, 0] by its Taylor polynomial of degree 11: the remainder is below |a|^12 / 12!, under
# 3.3e-9 relative to |e^a - 1| >= (1 - 1/e)|a|: a tenth of float32's half-ulp.
_EXPM1_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(11, 1, -1))


@numba.njit(cache=True)
def _exp_minus_2abs(x):
    """(q, 1 - q) for q = e^{-2|x|}, each to a few ulps (see accel.linear_ce._capped): 1 - q from expm1 where
    |x| < 1/2, q from exp elsewhere."""
    a = -2.0 * abs(x)
    if a > -1.0:
        em = math.expm1(a)
        return 1.0 + em, -em
    q = math.exp(a)
    return q, 1.0 - q


def _cap_row(row, slope_row, cap, want_slope):
    """z = s tanh(u/s) in place of u and, with ``want_slope``, 1 - tanh^2(u/s) into ``slope_row``: float64 rows
    by the C library's exp and expm1; float32 rows by polynomials that vectorise (within 0.6 ulp of float32,
    tests/test_accel_exp.py)."""
    for j in range(row.shape[0]):
        x = row[j] / cap
        q, one_minus_q = _exp_minus_2abs(x)
        if abs(x) >= 1e-8:
            row[j] = math.copysign(cap * (one_minus_q / (1.0 + q)), x)
        if want_slope:
            slope_row[j] = 4.0 * q / (1.0 + q) ** 2


@overload(_cap_row, jit_options={"error_model": _IEEE, "fastmath": {"contract"}})
def _cap_row_impl(row, slope_row, cap, want_slope):
    if row.dtype != types.float32:
        return _cap_row
    c11, c10, c9, c8, c7, c6, c5, c4, c3, c2 = _EXPM1_TAYLOR

    def cap_row_float32(row, slope_row, cap, want_slope):
        # float64 arithmetic (then one rounding to float32 per output) with both forms of q computed and one
        # selected, not branched on, so that LLVM vectorises the loop
        for j in range(row.shape[0]):
            u = row[j]
            x = u / cap
            a = -2.0 * abs(x)
            near = a > -1.0
            r = a if near else -1.0  # keeps the polynomial in its range
            tail = ((((((((c11 * r + c10) * r + c9) * r + c8) * r + c7) * r + c6) * r + c5) * r + c4) * r + c3) * r + c2
            em = r + (r * r) * tail  # e^r - 1
            far = _exp_wide(a)
            q = 1.0 + em if near else far
            one_minus_q = -em if near else 1.0 - far
            z = cap * (one_minus_q / (1.0 + q))
            row[j] = u if abs(x) < 1e-8 else (z if x > 0.0 else -z)
            if want_slope:
                slope_row[j] = 4.0 * q / ((1.0 + q) * (1.0 + q))

    return cap_row_float32


@numba.njit(cache=True)
def _prepare_row(row, bias, slope_row, cap, want_slope):
    """u = row + b and, with a cap, z = s tanh(u/s) and (``want_slope``) its slope into ``slope_row``."""
    if bias.shape[0] == row.shape[0]:
        for j in range(row.shape[0]):
            row[j] += bias[j]
    if cap > 0.0:
        _cap_row(row, slope_row, cap, want_slope)



@numba.njit(cache=True, fastmath=_FAST, error_model=_IEEE)
def _max_and_target(row, yi, ignore_index):
    """Pass 1: the maximum m and its first index; whether the target is kept, and its logit (m if not)."""
    m = _row_max(row)
    top = 0
    while top < row.shape[0] - 1 and row[top] != m:  # bounded: a row of NaN has no maximum (LSE is NaN)
        top += 1
    kept = yi != ignore_index
    return m, top, kept, row[yi] if kept else m


@numba.njit(cache=True, fastmath=_FAST, error_model=_IEEE)
def _softmax_sums(row):
    """The maximum m of a row and its first index, s = sum of e^{z - m} over the other entries and
    h = sum of e^{z - m} (m - z) (the entropy's spread): (m, top, s, h)."""
    m = _row_max(row)
    top = 0
    while top < row.shape[0] - 1 and row[top] != m:  # bounded: a row of NaN has no maximum (LSE is NaN)
        top += 1
    total = 0.0
    h = 0.0
    for j in range(row.shape[0]):
        t = _exp_nonpositive(row[j] - m)
        total += t
        h += t * (m - row[j])
    s = total - 1.0
    if s < 0.5:  # total - 1 cancels when the other terms are tiny: sum them apart from the top term
        s = 0.0
        for j in range(row.shape[0]):
            if j != top:
                s += _exp_nonpositive(row[j] - m)
    return m, top, s, h


@numba.njit(cache=True, fastmath=_FAST, error_model=_IEEE)
def _uniform_correction(z, t, m, r):
    """log1p(mean_k expm1(z_k - r)) = log mean_k e^{z_k} - r, with t_k = e^{z_k - m}: expm1(z_k - r) is
    t_k e^{m - r} - 1 where |z_k - r| >= 1 (no cancellation there), so that the loop vectorises."""
    up = math.exp(m - r)
    x = 0.0
    for k in range(z.shape[0]):
        d = z[k] - r
        near = abs(d) < 1.0
        em = _expm1_below_one(d if near else 0.0)
        far = t[k] * up - 1.0
        x += em if near else far
    return math.log1p(x / z.shape[0])


@numba.njit(cache=True, error_model=_IEEE)
def _uniform_share(z_j, r, correction, p, n_classes):
    """V p_j - 1 as refloss.numerics.softmax_over_uniform_minus_1: expm1(D_j) where |D_j| < 1."""
    log_ratio = (z_j - r) - correction
    near = abs(log_ratio) < 1.0
    em = _expm1_below_one(log_ratio if near else 0.0)
    return em if near else n_classes * p - 1.0


@numba.njit(nogil=True, cache=True, fastmath=_FAST, error_model=_IEEE)
def _rows(L, bias, slope, y, w, w_loo, w_sum, ignore_index, eps, lam, cap, scale, gradients, unweighted,
          loss_out, lse_out):
    n, n_classes = L.shape
    smooth = eps / n_classes
    # smoothing without class weights needs the logits after pass 2 (see pass 3)
    z = np.empty(n_classes if gradients and eps > 0.0 and unweighted else 0)
    for i in range(n):
        row = L[i]
        _prepare_row(row, bias, slope[i] if cap > 0.0 else slope[0], cap, True)
        m, top, kept, z_y = _max_and_target(row, y[i], ignore_index)
        for j in range(z.shape[0]):
            z[j] = row[j]
        yi = y[i]
        # pass 2: row <- e^{z - m}; s = sum_{j != top} (the top term, 1, added back below); smoothing sum
        total = 0.0
        spread = 0.0
        if eps > 0.0:
            for j in range(n_classes):
                spread += w[j] * (m - row[j])
        for j in range(n_classes):
            t = _exp_nonpositive(row[j] - m)
            row[j] = t
            total += t
        s = total - 1.0 if n_classes > 1 else 0.0
        # total - 1 cancels when the other terms are tiny: there, sum them apart from the top term
        if s < 0.5:
            s = 0.0
            for j in range(top):
                s += row[j]
            for j in range(top + 1, n_classes):
                s += row[j]
        log1p_s = math.log1p(s)
        lse = m + log1p_s
        lse_out[i] = lse
        w_y = w[yi] if kept else 0.0
        loss = 0.0
        if kept:
            loss = (1.0 - eps) * w_y * ((m - z_y) + log1p_s) + smooth * (spread + log1p_s * w_sum) + lam * lse * lse
        loss_out[i] = loss
        if not gradients:
            continue
        if not kept:
            row[:] = 0.0
            continue
        # pass 3: G_j = (p_j S_j + a_j (p_j - 1) + 2 lam LSE p_j) * slope_j * scale for j off the target, with
        # a_j = (eps / V) w_j and S_j = a_y + (eps / V) loo_j; then the target and the top entries exactly
        inv = 1.0 / (1.0 + s)
        a_y = (1.0 - eps) * w_y
        z_coef = 2.0 * lam * lse
        p_top = row[top] * inv
        p_y = row[yi] * inv
        if z.shape[0]:
            # smoothing's share (eps / V)(V p_j - 1) from differences of logits, as rows_xp
            r = m + math.log1p((s - (n_classes - 1)) / n_classes)  # LSE - log V; m itself at tied logits
            correction = _uniform_correction(z, row, m, r)
            for j in range(n_classes):
                p = row[j] * inv
                row[j] = (p * (a_y + z_coef) + smooth * _uniform_share(z[j], r, correction, p, n_classes)) * scale
        elif eps > 0.0:
            for j in range(n_classes):
                p = row[j] * inv
                row[j] = (p * (a_y + smooth * w_loo[j] + z_coef) + smooth * w[j] * (p - 1.0)) * scale
        else:
            coef = (a_y + z_coef) * inv * scale
            for j in range(n_classes):
                row[j] = row[j] * coef
        for j in (top, yi):  # p - 1 = -s / (1 + s) at the top; the target's own coefficients
            p = p_top if j == top else p_y
            p_minus_1 = -s * inv if j == top else p - 1.0
            if z.shape[0]:
                targeted = a_y * p_minus_1 if j == yi else a_y * p
                row[j] = (targeted + z_coef * p + smooth * _uniform_share(z[j], r, correction, p, n_classes)) * scale
                continue
            if j == yi:
                a, rest = a_y + smooth * w[j], smooth * w_loo[j]
            else:
                a, rest = smooth * w[j], a_y + smooth * w_loo[j]
            row[j] = (p * rest + a * p_minus_1 + z_coef * p) * scale
        if cap > 0.0:
            for j in range(n_classes):
                row[j] *= slope[i, j]


def rows(L, bias, y, w, w_loo, w_sum, opts, scale, loss_out, lse_out):
    """The driver's row-step interface (see :class:`accel.linear_ce._Backend`)."""
    empty = np.empty(0, dtype=L.dtype)
    slope = np.empty(L.shape, dtype=L.dtype) if opts.softcap else np.empty((1, 0), dtype=L.dtype)
    _rows(L, empty if bias is None else bias, slope, y, w, w_loo, float(w_sum), int(opts.ignore_index),
          float(opts.label_smoothing), float(opts.z_loss), float(opts.softcap), float(scale), bool(opts.gradients),
          bool(opts.unweighted), loss_out, lse_out)


@numba.njit(nogil=True, cache=True, fastmath=_FAST, error_model=_IEEE)
def _online_rows(L, first, bias, cap, y, w, ignore_index, smoothing, m_run, top_run, s_run, z_y_run, spread_run,
                 w_seen_run):
    """The forward pass over one block of classes (columns ``first ..`` of the logits) of each row, merged into
    the running state of :func:`accel.linear_ce._blocked_forward`: the maximum m so far and its first index,
    s = sum of e^{z - m} over the classes seen but that index, the target's logit once its block is seen, and
    the smoothing sum sum_c w_c (m - z_c). Every update adds non-negative terms."""
    n, width = L.shape
    no_slope = np.empty(0, dtype=L.dtype)
    for i in range(n):
        row = L[i]
        _prepare_row(row, bias, no_slope, cap, False)
        m_b = _row_max(row)
        top_b = 0
        while top_b < width - 1 and row[top_b] != m_b:
            top_b += 1
        total = 0.0
        spread_b = 0.0
        w_b = 0.0
        for j in range(width):
            total += _exp_nonpositive(row[j] - m_b)
        if smoothing:
            for j in range(width):
                spread_b += w[first + j] * (m_b - row[j])
                w_b += w[first + j]
        s_b = total - 1.0
        if s_b < 0.5:  # total - 1 cancels when the other terms are tiny: sum them apart from the top term
            s_b = 0.0
            for j in range(width):
                if j != top_b:
                    s_b += _exp_nonpositive(row[j] - m_b)
        local = y[i] - first
        if y[i] != ignore_index and 0 <= local < width:
            z_y_run[i] = row[local]
        if first == 0:
            m_run[i], top_run[i], s_run[i], spread_run[i] = m_b, top_b, s_b, spread_b
        elif m_b > m_run[i]:  # the new maximum: the old sum (and its top term, 1) scaled down to it
            s_run[i] = (s_run[i] + 1.0) * math.exp(m_run[i] - m_b) + s_b
            spread_run[i] += (m_b - m_run[i]) * w_seen_run[i] + spread_b
            m_run[i], top_run[i] = m_b, first + top_b
        else:
            s_run[i] += (s_b + 1.0) * math.exp(m_b - m_run[i])
            spread_run[i] += spread_b + (m_run[i] - m_b) * w_b
        w_seen_run[i] = w_b if first == 0 else w_seen_run[i] + w_b


def online_rows(L, first, bias, cap, y, w, ignore_index, smoothing, state):
    """The driver's interface to :func:`_online_rows` (``state``: the six running arrays of these rows)."""
    bias_block = np.empty(0, dtype=L.dtype) if bias is None else bias[first:first + L.shape[1]]
    _online_rows(L, first, bias_block, float(cap), y, w, int(ignore_index), bool(smoothing), *state)


@numba.njit(nogil=True, cache=True, fastmath=_FAST, error_model=_IEEE)
def _stats_rows(L, bias, slope, cap, y, ignore_index, lse_out, logprob_out, entropy_out, rank_out, argmax_out):
    n, n_classes = L.shape
    for i in range(n):
        row = L[i]
        _prepare_row(row, bias, slope[0], cap, False)
        m, top, s, spread = _softmax_sums(row)
        kept = y[i] != ignore_index
        z_y = row[y[i]] if kept else m
        above = 0
        for j in range(n_classes):
            above += row[j] > z_y
        log1p_s = math.log1p(s)
        lse_out[i] = m + log1p_s
        entropy_out[i] = log1p_s + spread / (1.0 + s)
        logprob_out[i] = ((z_y - m) - log1p_s) if kept else 0.0
        rank_out[i] = above if kept else -1
        argmax_out[i] = top


def stats_rows(xp, L, bias, cap, y, ignore_index):
    """The row step of :func:`accel.token_stats` (see :func:`accel.token_stats.stats_rows_xp`)."""
    n = L.shape[0]
    out = (np.empty(n), np.empty(n), np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64))
    no_slope = np.empty((1, 0), dtype=L.dtype)
    _stats_rows(L, np.empty(0, dtype=L.dtype) if bias is None else bias, no_slope, float(cap), y, int(ignore_index),
                *out)
    return out


@numba.njit(nogil=True, cache=True, error_model=_IEEE)
def _target_windows(e, c, y, bias, cap, ignore_index, unit, lo_out, hi_out):
    """For each kept row, an interval [lo, hi] meant to hold its target's logit as the block products will
    compute it: the float64 product (bias added, capped) +- about ten standard deviations of the rounding of a
    sum of products with these partial sums (``unit``: the dtype's unit roundoff). :func:`accel.token_stats`
    checks afterwards that the target's logit fell inside; a row where it did not (or where lo, hi are not
    finite) is recomputed whole, so the width only decides how often that happens."""
    n, d = e.shape
    for i in range(n):
        yi = y[i]
        if yi == ignore_index:
            lo_out[i], hi_out[i] = np.inf, -np.inf
            continue
        partial = 0.0
        squares = 0.0
        for k in range(d):
            term = np.float64(e[i, k]) * np.float64(c[yi, k])
            partial += term
            squares += partial * partial + term * term
        u = partial + (np.float64(bias[yi]) if bias.shape[0] else 0.0)
        half = 6.0 * unit * math.sqrt(squares) + 2.0 * unit * abs(u)
        lo, hi = u - half, u + half
        if cap > 0.0:
            lo, hi = cap * math.tanh(lo / cap), cap * math.tanh(hi / cap)
            lo, hi = lo - 4.0 * unit * abs(lo), hi + 4.0 * unit * abs(hi)
        lo_out[i], hi_out[i] = lo, hi


def target_windows(e, c, y, bias, cap, ignore_index):
    """:func:`_target_windows` in ``e``'s dtype, rounded outwards (lo down, hi up)."""
    n = e.shape[0]
    lo, hi = np.empty(n), np.empty(n)
    unit = float(np.finfo(e.dtype).eps) / 2.0
    _target_windows(e, c, y, np.empty(0, dtype=e.dtype) if bias is None else bias, float(cap), int(ignore_index),
                    unit, lo, hi)
    lo_d, hi_d = lo.astype(e.dtype), hi.astype(e.dtype)
    lo_d = np.where(lo_d > lo, np.nextafter(lo_d, e.dtype.type(-np.inf)), lo_d)
    hi_d = np.where(hi_d < hi, np.nextafter(hi_d, e.dtype.type(np.inf)), hi_d)
    return lo_d, hi_d


@numba.njit(nogil=True, cache=True, fastmath=_FAST, error_model=_IEEE)
def _online_stats_rows(L, first, bias, cap, y, ignore_index, lo, hi, m_run, top_run, s_run, h_run, z_y_run,
                       above_run, pending, n_pending):
    """The row step of :func:`accel.token_stats` over one block of classes (columns ``first ..``), merged into
    each row's running state: the maximum m and its first index, s = sum of e^{z - m} over the classes seen
    but that index, h = sum of e^{z - m} (m - z) (every update adds non-negative terms), the target's logit
    once its block is seen, the count of logits above ``hi`` and, up to ``pending.shape[1]`` of them, the
    logits within [lo, hi] (``n_pending`` counts them all)."""
    n, width = L.shape
    no_slope = np.empty(0, dtype=L.dtype)
    room = pending.shape[1]
    for i in range(n):
        row = L[i]
        _prepare_row(row, bias, no_slope, cap, False)
        m_b, top_b, s_b, h_b = _softmax_sums(row)
        if first == 0:
            above_run[i], n_pending[i] = 0, 0
        if y[i] != ignore_index:
            low, high = lo[i], hi[i]
            above = 0
            near = 0
            for j in range(width):
                above += row[j] > high
                near += (row[j] >= low) & (row[j] <= high)
            above_run[i] += above
            k = n_pending[i]
            for j in range(width):
                if near == 0:
                    break
                if row[j] >= low and row[j] <= high:
                    if k < room:
                        pending[i, k] = row[j]
                    k += 1
                    near -= 1
            n_pending[i] = k
            local = y[i] - first
            if 0 <= local < width:
                z_y_run[i] = row[local]
        if first == 0:
            m_run[i], top_run[i], s_run[i], h_run[i] = m_b, top_b, s_b, h_b
        elif m_b > m_run[i]:  # the new maximum: the old sums (with their top term, 1) scaled down to it
            r = math.exp(m_run[i] - m_b)
            h_run[i] = (h_run[i] + (m_b - m_run[i]) * (s_run[i] + 1.0)) * r + h_b
            s_run[i] = (s_run[i] + 1.0) * r + s_b
            m_run[i], top_run[i] = m_b, first + top_b
        else:
            r = math.exp(m_b - m_run[i])
            h_run[i] += (h_b + (m_run[i] - m_b) * (s_b + 1.0)) * r
            s_run[i] += (s_b + 1.0) * r


def online_stats_rows(L, first, bias, cap, y, ignore_index, state):
    """The driver's interface to :func:`_online_stats_rows` (``state``: the running arrays of these rows)."""
    bias_block = np.empty(0, dtype=L.dtype) if bias is None else bias[first:first + L.shape[1]]
    _online_stats_rows(L, first, bias_block, float(cap), y, int(ignore_index), *state)


# -- the row step of accel.linear_kl ------------------------------------------------------------------------

# Series for Horner's rule, highest coefficient first. Loops over a tuple of 13 or more coefficients stay
# loops in LLVM, and a loop inside the loop over a row keeps that loop from vectorising (about 10x slower per
# entry); so the polynomials below are written out.
# (k - 1)/k! for k = 20..2 (refloss.numerics' series of phi(u) = 1 + (u - 1) e^u for |u| < 1), after a 0.
_PHI_SERIES = (0.0,) + tuple(float(x) for x in _numerics._PHI_SERIES)
# 1/k! for k = 21..2: expm1(x) = x + x^2/2! + ... on |x| < 1, where the first omitted term, |x|^22/22!, is
# below 1e-21 (and expm1's terms alternate for x < 0: |expm1(-1)| = 0.63 of their sum 1.72).
_EXPM1_SERIES = tuple(1.0 / math.factorial(k) for k in range(21, 1, -1))
# 1/k! for k = 13..2: e^r on |r| <= ln2/2, first omitted term below 4.2e-18 e^r.
_EXP_SERIES = tuple(1.0 / math.factorial(k) for k in range(13, 1, -1))
# fdlibm's split of ln 2: LN2_HI has 32 significant bits, so n LN2_HI is exact for |n| < 2^21.
_LN2_HI_64 = 6.93147180369123816490e-01
_LN2_LO_64 = 1.90821492927058770002e-10
# Numba compiles a function that does not set fastmath with the flags of the caller that compiles it first,
# and caches that one: these float64 helpers say fastmath=False, so that the cross-entropy kernel (fast-math
# "contract") cannot fuse their steps into FMAs for the distillation kernel, which keeps refloss's roundings.
_EXACT = False


@numba.njit(cache=True, fastmath=_EXACT)
def _horner12(x, c):
    """c[0] x^11 + c[1] x^10 + ... + c[11] by Horner's rule, written out."""
    c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11 = c
    acc = (((c0 * x + c1) * x + c2) * x + c3) * x + c4
    acc = (((acc * x + c5) * x + c6) * x + c7) * x + c8
    return ((acc * x + c9) * x + c10) * x + c11


@numba.njit(cache=True, fastmath=_EXACT)
def _horner20(x, c):
    """c[0] x^19 + c[1] x^18 + ... + c[19] by Horner's rule, written out."""
    c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19 = c
    acc = (((c0 * x + c1) * x + c2) * x + c3) * x + c4
    acc = (((acc * x + c5) * x + c6) * x + c7) * x + c8
    acc = (((acc * x + c9) * x + c10) * x + c11) * x + c12
    acc = (((acc * x + c13) * x + c14) * x + c15) * x + c16
    return ((acc * x + c17) * x + c18) * x + c19


@numba.njit(cache=True, fastmath=_EXACT)
def _exp_nonpositive_64(t):
    """e^t in float64 for t <= 0 (or -inf), within 1 ulp (0.92 at worst over 220,000 drawn points;
    tests/test_accel_exp.py checks 20,000 and the regime boundaries), arithmetic only so that a loop calling it
    vectorises: Cody and Waite's reduction t = n ln 2 + r with fdlibm's two-part ln 2,
    e^r by its Taylor polynomial of degree 13, then 2^n as one or (below 2^-1021) two exact scalings, so that a
    subnormal result is rounded once. 0 below -746."""
    t = t if t > -746.0 else -746.0
    n = np.floor(t * _LOG2_E + 0.5)
    r = (t - n * _LN2_HI_64) - n * _LN2_LO_64
    y = 1.0 + (r + r * r * _horner12(r, _EXP_SERIES))
    deep = n < -1021.0
    first = np.int64(n + 54.0 if deep else n)
    return y * _float64_from_bits((first + 1023) << 52) * (2.0**-54 if deep else 1.0)


@numba.njit(cache=True, fastmath=_EXACT)
def _expm1_below_one(x):
    """e^x - 1 in float64 for |x| < 1 by Horner on its Taylor series, arithmetic only (within 1.5 ulp: 1.34 at
    worst, near x = -1, over 120,000 drawn points)."""
    return x + x * x * _horner20(x, _EXPM1_SERIES)


@numba.njit(cache=True, fastmath=_EXACT)
def _phi_below_one(u):
    """phi(u) = 1 + (u - 1) e^u for |u| < 1 as refloss.numerics.one_plus_xm1_expx: Horner on its series (the
    leading 0 adds nothing: 0 u + c = c exactly)."""
    return _horner20(u, _PHI_SERIES) * u * u


@numba.njit(cache=True, fastmath={"reassoc"})
def _sum(x):
    """The float64 sum of ``x`` (in any order, so that it vectorises)."""
    acc = 0.0
    for j in range(x.shape[0]):
        acc += x[j]
    return acc


@numba.njit(cache=True)
def _first_argmax(x):
    """The first index of the maximum of a row with no NaN."""
    m = _row_max(x)
    k = 0
    while x[k] != m:
        k += 1
    return k


@numba.njit(nogil=True, cache=True, error_model=_IEEE)
def _kl_rows(t_logits, s_logits, temp, scale, gradients, with_sum, loss_out, g_t, g_s, g_sum, norms):
    """T^2 KL(softmax(t/T) || softmax(s/T)) of each row and, overwriting ``g_t``, ``g_s`` and, if ``with_sum``,
    ``g_sum`` (the logit buffers may be passed), G^t = T p (u - KL), G^s = T (q - p) and G^s + G^t =
    T (q phi(u) - p KL), times ``scale``; ``norms[i]`` gets the float64 row sums of |.| of all three (of
    G^s + G^t also without ``with_sum``: they choose whether it is needed). Form for form the float64 evaluation of
    refloss.info.entropy._common._kl_terms and _kl_gradients on the finite logits of a linear head (no masked class);
    a row with a logit that is not finite (or not once divided by T) gets a NaN loss, for the driver to refuse.

    Each pass over a row is branch-free (both candidates of an evaluation form computed, one selected) and
    calls only the arithmetic exponentials above, so that it vectorises; sums are separate passes
    (:func:`_sum`). The kernel takes no fast-math flag: the evaluation forms keep their order."""
    n, width = t_logits.shape
    a, b = np.empty(width), np.empty(width)
    p, q, e, u, terms = np.empty(width), np.empty(width), np.empty(width), np.empty(width), np.empty(width)
    p_e, x = np.empty(width), np.empty(width)
    g = temp * scale
    for i in range(n):
        not_finite = 0
        for j in range(width):
            a[j] = t_logits[i, j] / temp
            b[j] = s_logits[i, j] / temp
            not_finite += (a[j] - a[j] != 0.0) | (b[j] - b[j] != 0.0)  # inf - inf and NaN are NaN
        if not_finite:  # a logit beyond its dtype's range, or beyond float64's once divided by T: refused
            loss_out[i] = np.nan
            continue
        k, kb = _first_argmax(a), _first_argmax(b)
        a_k, b_k, b_kb = a[k], b[k], b[kb]
        # log-softmax: (z - m) - log1p(sum over all but one maximal entry)
        for j in range(width):
            x[j] = _exp_nonpositive_64(a[j] - a_k)
        x[k] = 0.0
        log_rest_a = math.log1p(_sum(x))
        for j in range(width):
            x[j] = _exp_nonpositive_64(b[j] - b_kb)
        x[kb] = 0.0
        log_rest_b = math.log1p(_sum(x))
        for j in range(width):
            p[j] = _exp_nonpositive_64((a[j] - a_k) - log_rest_a)
            q[j] = _exp_nonpositive_64((b[j] - b_kb) - log_rest_b)
            e[j] = (a[j] - a_k) - (b[j] - b_k)
        # L = log q_k - log p_k, or log1p(S) where that rounds less (refloss.info.entropy._common._close_log_ratio);
        # u holds each term's rounding until the log-ratios overwrite it
        log_q_k = (b_k - b_kb) - log_rest_b
        from_ends = log_q_k + log_rest_a
        rho = math.exp(from_ends)
        ends = abs(log_q_k) + abs(log_rest_a)
        for j in range(width):
            near = abs(e[j]) < 1.0
            scaled = p[j] * rho
            log_q = (b[j] - b_kb) - log_rest_b
            series = q[j] * _expm1_below_one(e[j] if near else 0.0)
            x[j] = series if near else scaled - q[j]
            u[j] = (abs(series) * (2.0 + abs(log_q)) + scaled * (abs(a[j] - a_k) + abs(b[j] - b_k)) if near else
                    scaled * (abs((a[j] - a_k) - log_rest_a) + ends) + q[j] * (1.0 + abs(log_q)))
        total = _sum(x)
        close = _sum(u) < ends * (1.0 + total)
        big_l = math.log1p(total) if close else from_ends
        for j in range(width):
            logp = (a[j] - a_k) - log_rest_a
            logq = (b[j] - b_kb) - log_rest_b
            gap_terms = abs(a[j] - a_k) + abs(b[j] - b_k) + abs(big_l)
            uj = logp - logq if (not close and abs(logp) + abs(logq) < gap_terms) else e[j] - big_l
            positive = p[j] > 0.0
            # p e, and its form where e is beyond the float64 range while p e is not
            pe = p[j] * e[j] if abs(e[j]) < np.inf else p[j] * (a[j] - a_k) - p[j] * b[j] + p[j] * b_k
            small = abs(uj) < 1.0
            series = q[j] * _phi_below_one(uj if small else 0.0)
            term = series if small else q[j] + pe - (big_l + 1.0) * p[j]
            u[j] = uj
            p_e[j] = pe if positive else 0.0
            terms[j] = term if positive else q[j]
        kl = _sum(terms)
        loss_out[i] = temp * temp * kl
        if not gradients:
            continue
        sum_p_e = _sum(p_e)
        for j in range(width):
            small = abs(u[j]) < 1.0
            grad_p = g * (p_e[j] - p[j] * sum_p_e)
            grad_q = g * (-q[j] * _expm1_below_one(u[j] if small else 0.0) if small else q[j] - p[j])
            both = g * (terms[j] - p[j] * kl)
            g_t[i, j], g_s[i, j] = grad_p, grad_q
            if with_sum:
                g_sum[i, j] = both
            x[j], a[j], b[j] = abs(grad_p), abs(grad_q), abs(both)
        norms[i, 0], norms[i, 1], norms[i, 2] = _sum(x), _sum(a), _sum(b)
