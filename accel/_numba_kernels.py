"""The row step of :mod:`accel.linear_ce` as one fused Numba kernel, parallel over the rows of a chunk.

It computes exactly what :func:`accel.linear_ce.rows_xp` computes (that function is the specification),
in three passes over each row while it sits in cache: (1) bias, soft cap and the maximum; (2) one
exponential per entry, kept in the buffer, with float64 sums; (3) the gradient entries, overwriting the
buffer. Exponentials run in the input dtype; sums, LSE, loss and the gradient's coefficients in float64.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def _exp_minus_2abs(x):
    """(q, 1 - q) for q = e^{-2|x|}, each to a few ulps (see accel.linear_ce._capped)."""
    a = -2.0 * abs(x)
    if a > -1.0:
        em = math.expm1(a)
        return 1.0 + em, -em
    q = math.exp(a)
    return q, 1.0 - q


@numba.njit(cache=True)
def _prepare_row(row, bias, slope_row, cap, want_slope):
    """u = row + b and, with a cap, z = s tanh(u/s) and (``want_slope``) its slope into ``slope_row``."""
    if bias.shape[0] == row.shape[0]:
        for j in range(row.shape[0]):
            row[j] += bias[j]
    if cap > 0.0:
        for j in range(row.shape[0]):
            x = row[j] / cap
            q, one_minus_q = _exp_minus_2abs(x)
            if abs(x) >= 1e-8:
                row[j] = math.copysign(cap * (one_minus_q / (1.0 + q)), x)
            if want_slope:
                slope_row[j] = 4.0 * q / (1.0 + q) ** 2


# "reassoc" lets LLVM vectorise the float64 sums and the maximum (a sum in another order: a few ulps of a
# sum of non-negative terms); "contract" allows fused multiply-adds. No flag assumes away NaN or inf.
_FAST = {"reassoc", "contract"}


@numba.njit(cache=True, fastmath=_FAST)
def _max_and_target(row, yi, ignore_index):
    """Pass 1: the maximum m and its first index; whether the target is kept, and its logit (m if not)."""
    m = row[0]
    for j in range(row.shape[0]):
        m = max(m, row[j])
    top = 0
    while row[top] != m:
        top += 1
    kept = yi != ignore_index
    return m, top, kept, row[yi] if kept else m


@numba.njit(parallel=True, cache=True, fastmath=_FAST)
def _rows(L, bias, slope, y, w, w_loo, w_sum, ignore_index, eps, lam, cap, scale, gradients, loss_out, lse_out):
    n, n_classes = L.shape
    smooth = eps / n_classes
    for i in numba.prange(n):
        row = L[i]
        _prepare_row(row, bias, slope[i] if cap > 0.0 else slope[0], cap, True)
        m, top, kept, z_y = _max_and_target(row, y[i], ignore_index)
        yi = y[i]
        # pass 2: row <- e^{z - m}; s = sum_{j != top} (the top term, 1, added back below); smoothing sum
        total = 0.0
        spread = 0.0
        if eps > 0.0:
            for j in range(n_classes):
                spread += w[j] * (m - row[j])
        for j in range(n_classes):
            t = math.exp(row[j] - m)
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
        if eps > 0.0:
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
          loss_out, lse_out)


@numba.njit(parallel=True, cache=True, fastmath=_FAST)
def _stats_rows(L, bias, slope, cap, y, ignore_index, lse_out, logprob_out, entropy_out, rank_out, argmax_out):
    n, n_classes = L.shape
    for i in numba.prange(n):
        row = L[i]
        _prepare_row(row, bias, slope[0], cap, False)
        m, top, kept, z_y = _max_and_target(row, y[i], ignore_index)
        above = 0
        for j in range(n_classes):
            above += row[j] > z_y
        total = 0.0
        spread = 0.0
        for j in range(n_classes):
            t = math.exp(row[j] - m)
            total += t
            spread += t * (m - row[j])
        s = total - 1.0
        if s < 0.5:  # total - 1 cancels when the other terms are tiny: sum them apart from the top term
            s = 0.0
            for j in range(top):
                s += math.exp(row[j] - m)
            for j in range(top + 1, n_classes):
                s += math.exp(row[j] - m)
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
