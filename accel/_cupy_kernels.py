"""The CuPy backend of :mod:`accel.linear_ce`: cuBLAS products per chunk and the row step as one CUDA kernel.

The kernel is :func:`accel.linear_ce.rows_xp` (the specification) written for one thread block per row: the
three passes of the Numba kernel, each followed by a block reduction (maximum with its first index; float64
sums). The products are cuBLAS GEMMs into their outputs (:func:`accel.linear_ce.products`).
"""

from __future__ import annotations

import cupy
import numpy as np

_THREADS = 256

_SOURCE = r"""
template <typename T>
__device__ void reduce_max(T* value, int* index) {
    for (int step = blockDim.x / 2; step > 0; step >>= 1) {
        if (threadIdx.x < step) {
            int other = threadIdx.x + step;
            // a thread that saw no entry (V < blockDim.x) has index -1; ties go to the first index
            if (index[other] >= 0 && (index[threadIdx.x] < 0 || value[other] > value[threadIdx.x] ||
                (value[other] == value[threadIdx.x] && index[other] < index[threadIdx.x]))) {
                value[threadIdx.x] = value[other];
                index[threadIdx.x] = index[other];
            }
        }
        __syncthreads();
    }
}

__device__ void reduce_sum(double* value) {
    for (int step = blockDim.x / 2; step > 0; step >>= 1) {
        if (threadIdx.x < step) value[threadIdx.x] += value[threadIdx.x + step];
        __syncthreads();
    }
}

template <typename T>
__global__ void ce_rows(T* L, const T* bias, int has_bias, T* slope, const long long* y, const double* w,
                        const double* w_loo, double w_sum, long long ignore_index, double eps, double lam,
                        double cap, double scale, int gradients, int unweighted, long long n, long long V,
                        double* loss_out, double* lse_out) {
    __shared__ T best[256];
    __shared__ int best_at[256];
    __shared__ double acc[256];
    __shared__ double acc2[256];
    long long i = blockIdx.x;
    if (i >= n) return;
    T* row = L + i * V;
    T* row_slope = slope + (cap > 0.0 ? i * V : 0);
    // pass 1: u = L + b, z = cap(u), the maximum and its first index
    T m_local = (T)0;  // NVRTC has no INFINITY: the first entry a thread sees sets its maximum
    int top_local = -1;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        T u = has_bias ? (T)(row[j] + bias[j]) : row[j];
        if (cap > 0.0) {
            // q = e^{-2|x|} and 1 - q, each without cancellation (see accel.linear_ce._capped)
            double x = (double)u / cap, a = -2.0 * fabs(x), q, one_minus_q;
            if (a > -1.0) { double em = expm1(a); q = 1.0 + em; one_minus_q = -em; }
            else { q = exp(a); one_minus_q = 1.0 - q; }
            if (fabs(x) >= 1e-8) u = (T)copysign(cap * (one_minus_q / (1.0 + q)), x);
            row_slope[j] = (T)(4.0 * q / ((1.0 + q) * (1.0 + q)));
        }
        row[j] = u;
        if (top_local < 0 || u > m_local) { m_local = u; top_local = (int)j; }
    }
    best[threadIdx.x] = m_local;
    best_at[threadIdx.x] = top_local;
    __syncthreads();
    reduce_max(best, best_at);
    const int top = best_at[0];
    const T m = best[0];
    const long long yi = y[i];
    const bool kept = yi != ignore_index;
    const T z_y = kept ? row[yi] : m;
    __syncthreads();
    // pass 2: s = sum_{j != top} e^{z_j - m}, the smoothing sum, row <- e^{z - m} (kept as z when smoothing
    // without class weights: its share is computed from differences of logits in pass 3)
    const bool uniform = gradients && eps > 0.0 && unweighted;
    double s = 0.0, spread = 0.0;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        T zj = row[j];
        if (eps > 0.0) spread += w[j] * (double)(m - zj);
        T t = exp(zj - m);
        if (j != top) s += (double)t;
        if (gradients && !uniform) row[j] = t;
    }
    acc[threadIdx.x] = s;
    acc2[threadIdx.x] = spread;
    __syncthreads();
    reduce_sum(acc);
    reduce_sum(acc2);
    s = acc[0];
    spread = acc2[0];
    const double log1p_s = log1p(s);
    const double lse = (double)m + log1p_s;
    const double smooth = eps / (double)V;
    const double w_y = kept ? w[yi] : 0.0;
    if (threadIdx.x == 0) {
        lse_out[i] = lse;
        loss_out[i] = kept ? (1.0 - eps) * w_y * (((double)m - (double)z_y) + log1p_s)
                                 + smooth * (spread + log1p_s * w_sum) + lam * lse * lse
                           : 0.0;
    }
    if (!gradients) return;
    const double inv = 1.0 / (1.0 + s);
    const double a_y = (1.0 - eps) * w_y;
    const double z_coef = 2.0 * lam * lse;
    if (uniform) {
        // V p_j - 1 = expm1(z_j - A), A = log mean e^z = r + log1p(mean expm1(z_k - r)), r = LSE - log V as
        // m + log1p((s + 1 - V) / V), m itself at tied logits (refloss.numerics.softmax_over_uniform_minus_1);
        // expm1 of every z_k - r, where rows_xp takes e^{z_k - m} e^{m - r} - 1 for |z_k - r| >= 1: the same
        // value up to a rounding
        const double r = (double)m + log1p((s - (double)(V - 1)) / (double)V);
        double x = 0.0;
        for (long long j = threadIdx.x; j < V; j += blockDim.x) x += expm1((double)row[j] - r);
        __syncthreads();  // every thread has read s from acc[0]
        acc[threadIdx.x] = x;
        __syncthreads();
        reduce_sum(acc);
        const double correction = log1p(acc[0] / (double)V);
        for (long long j = threadIdx.x; j < V; j += blockDim.x) {
            if (!kept) { row[j] = (T)0; continue; }
            const double zj = (double)row[j];
            const T t = exp(row[j] - m);
            const double p = (double)t * inv;
            const double p_minus_1 = (j == top) ? -s * inv : p - 1.0;
            const double targeted = (j == yi) ? a_y * p_minus_1 : a_y * p;
            const double log_ratio = (zj - r) - correction;
            const double share = fabs(log_ratio) < 1.0 ? expm1(log_ratio) : (double)V * p - 1.0;
            const double g = (targeted + z_coef * p + smooth * share) * scale;
            row[j] = (T)(cap > 0.0 ? g * (double)row_slope[j] : g);
        }
        return;
    }
    // pass 3: G = (p S + a (p - 1) + 2 lam LSE p) * slope * scale, with 1 - p_top = s / (1 + s) exactly
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        if (!kept) { row[j] = (T)0; continue; }
        double p = (double)row[j] * inv;
        double p_minus_1 = (j == top) ? -s * inv : p - 1.0;
        double a, rest;
        if (j == yi) { a = a_y + smooth * w[j]; rest = smooth * w_loo[j]; }
        else { a = smooth * w[j]; rest = a_y + smooth * w_loo[j]; }
        double g = (p * rest + a * p_minus_1 + z_coef * p) * scale;
        row[j] = (T)(cap > 0.0 ? g * (double)row_slope[j] : g);
    }
}
"""

_MODULE = None


def _kernel(dtype):
    global _MODULE
    if _MODULE is None:
        _MODULE = cupy.RawModule(code=_SOURCE, options=("-std=c++14",),
                                 name_expressions=["ce_rows<float>", "ce_rows<double>"])
    return _MODULE.get_function("ce_rows<float>" if dtype == np.float32 else "ce_rows<double>")


def rows(L, bias, y, w, w_loo, w_sum, opts, scale, loss_out, lse_out):
    """The driver's row-step interface (see :class:`accel.linear_ce._Backend`), on the GPU."""
    n, n_classes = L.shape
    dummy = cupy.empty(1, dtype=L.dtype)
    slope = cupy.empty(L.shape, dtype=L.dtype) if opts.softcap else dummy
    _kernel(L.dtype)(
        (n,), (_THREADS,),
        (L, dummy if bias is None else bias, np.int32(bias is not None), slope, y, w, w_loo, np.float64(w_sum),
         np.int64(opts.ignore_index), np.float64(opts.label_smoothing), np.float64(opts.z_loss),
         np.float64(opts.softcap), np.float64(scale), np.int32(opts.gradients), np.int32(opts.unweighted), np.int64(n),
         np.int64(n_classes), loss_out, lse_out))

