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


@numba.njit(parallel=True, cache=True)
def _rows(L, bias, slope, y, w, w_loo, w_sum, ignore_index, eps, lam, cap, scale, gradients, loss_out, lse_out):
    n, n_classes = L.shape
    has_bias = bias.shape[0] == n_classes
    smooth = eps / n_classes
    for i in numba.prange(n):
        row = L[i]
        # pass 1: u = L + b, z = cap(u), the maximum m = z[top]
        top = 0
        for j in range(n_classes):
            u = row[j] + bias[j] if has_bias else row[j]
            if cap > 0.0:
                x = u / cap
                q, one_minus_q = _exp_minus_2abs(x)
                if abs(x) >= 1e-8:
                    u = math.copysign(cap * (one_minus_q / (1.0 + q)), x)
                slope[i, j] = 4.0 * q / (1.0 + q) ** 2
            row[j] = u
            if row[j] > row[top]:
                top = j
        m = row[top]
        yi = y[i]
        kept = yi != ignore_index
        z_y = row[yi] if kept else m
        # pass 2: s = sum_{j != top} e^{z_j - m} and, for smoothing, sum_j w_j (m - z_j); row <- e^{z - m}
        s = 0.0
        spread = 0.0
        for j in range(n_classes):
            if eps > 0.0:
                spread += w[j] * (m - row[j])
            t = math.exp(row[j] - m)
            if j != top:
                s += t
            if gradients:
                row[j] = t
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
        # pass 3: G = (p S + a (p - 1) + 2 lam LSE p) * slope * scale, with 1 - p_top = s / (1 + s) exactly
        if not kept:
            for j in range(n_classes):
                row[j] = 0.0
            continue
        inv = 1.0 / (1.0 + s)
        a_y = (1.0 - eps) * w_y
        z_coef = 2.0 * lam * lse
        for j in range(n_classes):
            p = row[j] * inv
            p_minus_1 = -s * inv if j == top else p - 1.0
            if j == yi:
                a, rest = a_y + smooth * w[j], smooth * w_loo[j]
            else:
                a, rest = smooth * w[j], a_y + smooth * w_loo[j]
            g = (p * rest + a * p_minus_1 + z_coef * p) * scale
            row[j] = g * slope[i, j] if cap > 0.0 else g


def rows(L, bias, y, w, w_loo, w_sum, opts, scale, loss_out, lse_out):
    """The driver's row-step interface (see :class:`accel.linear_ce._Backend`)."""
    empty = np.empty(0, dtype=L.dtype)
    slope = np.empty(L.shape, dtype=L.dtype) if opts.softcap else np.empty((0, 0), dtype=L.dtype)
    _rows(L, empty if bias is None else bias, slope, y, w, w_loo, float(w_sum), int(opts.ignore_index),
          float(opts.label_smoothing), float(opts.z_loss), float(opts.softcap), float(scale), bool(opts.gradients),
          loss_out, lse_out)


@numba.njit(parallel=True, cache=True)
def _stats_rows(L, bias, cap, y, ignore_index, lse_out, logprob_out, entropy_out, rank_out, argmax_out):
    n, n_classes = L.shape
    has_bias = bias.shape[0] == n_classes
    for i in numba.prange(n):
        row = L[i]
        top = 0
        for j in range(n_classes):
            u = row[j] + bias[j] if has_bias else row[j]
            if cap > 0.0:
                x = u / cap
                if abs(x) >= 1e-8:
                    q, one_minus_q = _exp_minus_2abs(x)
                    u = math.copysign(cap * (one_minus_q / (1.0 + q)), x)
            row[j] = u
            if row[j] > row[top]:
                top = j
        m = row[top]
        yi = y[i]
        kept = yi != ignore_index
        z_y = row[yi] if kept else m
        s = 0.0
        spread = 0.0
        above = 0
        for j in range(n_classes):
            t = math.exp(row[j] - m)
            spread += t * (m - row[j])
            if j != top:
                s += t
            if row[j] > z_y:
                above += 1
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
    _stats_rows(L, np.empty(0, dtype=L.dtype) if bias is None else bias, float(cap), y, int(ignore_index), *out)
    return out
