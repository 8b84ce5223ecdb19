"""The CuPy backends' row steps as CUDA kernels, one thread block per row; the products are cuBLAS GEMMs into
their outputs (:func:`accel.linear_ce.products`).

* ``ce_rows`` (:func:`rows`, for :mod:`accel.linear_ce`): :func:`accel.linear_ce.rows_xp` (the specification)
  as the three passes of the Numba kernel, each followed by a block reduction (maximum with its first index;
  float64 sums).
* ``kl_rows`` (:func:`kl_rows`, for :mod:`accel.linear_kl`): :func:`accel._numba_kernels._kl_rows` form for
  form (refloss's float64 evaluation of the KL of logits and its gradients), as five passes over the row, each
  ending in block reductions; a pass recomputes an entry's p, q and log-ratios from its logits instead of
  keeping them, so that the kernel needs no memory beyond the logit buffers it overwrites.
"""

from __future__ import annotations

import cupy
import numpy as np

from refloss import numerics as _numerics

#: Threads per block (a power of two, at most 1024): one block per row, each thread a strided share of it.
_THREADS = 256

_SOURCE = r"""
#ifndef BLOCK_THREADS  // the size of the shared arrays; compiled with -DBLOCK_THREADS=<_THREADS>
#define BLOCK_THREADS 256
#endif
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
    __shared__ T best[BLOCK_THREADS];
    __shared__ int best_at[BLOCK_THREADS];
    __shared__ double acc[BLOCK_THREADS];
    __shared__ double acc2[BLOCK_THREADS];
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
        if (has_bias || cap > 0.0) row[j] = u;  // else u is row[j]: no write pass over the logits
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

# (k - 1)/k! for k = 20..2 after a 0, refloss.numerics' series of phi(u) = 1 + (u - 1) e^u on |u| < 1 (as the
# Numba kernel's); repr gives each float64 exactly.
_SOURCE += "__constant__ double kPhiSeries[20] = {%s};\n" % ", ".join(
    repr(float(x)) for x in (0.0, *_numerics._PHI_SERIES))

_SOURCE += r"""
__device__ double phi_below_one(double u) {
    double acc = kPhiSeries[0];
    for (int k = 1; k < 20; ++k) acc = acc * u + kPhiSeries[k];
    return acc * u * u;
}

// the block's sum of every thread's x (acc: shared scratch, free again on return)
__device__ double block_sum(double x, double* acc) {
    acc[threadIdx.x] = x;
    __syncthreads();
    reduce_sum(acc);
    const double total = acc[0];
    __syncthreads();
    return total;
}

// the first index of the block's maximum (each thread gives its own first maximum, or index -1)
__device__ long long block_first_argmax(double value, int index, double* best, int* best_at) {
    best[threadIdx.x] = value;
    best_at[threadIdx.x] = index;
    __syncthreads();
    reduce_max(best, best_at);
    const long long k = best_at[0];
    __syncthreads();
    return k;
}

// what a row of two heads' logits shares (accel._numba_kernels._kl_rows' names)
struct KLRow { double a_k, b_k, b_kb, log_rest_a, log_rest_b, big_l; bool close; };

// one entry's p, q, u (the log-ratio of refloss.info.entropy._common._kl_terms), p e and KL term, from its logits
__device__ void kl_entry(double a, double b, const KLRow& r, double* p, double* q, double* u, double* p_e,
                         double* term) {
    *p = exp((a - r.a_k) - r.log_rest_a);
    *q = exp((b - r.b_kb) - r.log_rest_b);
    const double e = (a - r.a_k) - (b - r.b_k);
    const double logp = (a - r.a_k) - r.log_rest_a, logq = (b - r.b_kb) - r.log_rest_b;
    const double gap_terms = fabs(a - r.a_k) + fabs(b - r.b_k) + fabs(r.big_l);
    *u = (!r.close && fabs(logp) + fabs(logq) < gap_terms) ? logp - logq : e - r.big_l;
    // p e, and its form where e is beyond the float64 range while p e is not
    const double pe = isfinite(e) ? *p * e : *p * (a - r.a_k) - *p * b + *p * r.b_k;
    const double t = fabs(*u) < 1.0 ? *q * phi_below_one(*u) : *q + pe - (r.big_l + 1.0) * *p;
    const bool positive = *p > 0.0;
    *p_e = positive ? pe : 0.0;
    *term = positive ? t : *q;
}

template <typename T>
__global__ void kl_rows(T* t_logits, T* s_logits, T* g_sum, int with_sum, double temp, double scale,
                        int gradients, long long n, long long V, double* loss_out, double* norms_out) {
    __shared__ double acc[BLOCK_THREADS];
    __shared__ double best[BLOCK_THREADS];
    __shared__ int best_at[BLOCK_THREADS];
    const long long i = blockIdx.x;
    if (i >= n) return;
    T* t_row = t_logits + i * V;
    T* s_row = s_logits + i * V;
    T* sum_row = g_sum + (with_sum ? i * V : 0);
    // pass 1: a = t/T and b = s/T finite, and the first maximum of each
    double not_finite = 0.0, a_max = 0.0, b_max = 0.0;
    int a_top = -1, b_top = -1;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        const double a = (double)t_row[j] / temp, b = (double)s_row[j] / temp;
        if (!(a - a == 0.0) || !(b - b == 0.0)) not_finite += 1.0;  // inf - inf and NaN are NaN
        if (a_top < 0 || a > a_max) { a_max = a; a_top = (int)j; }
        if (b_top < 0 || b > b_max) { b_max = b; b_top = (int)j; }
    }
    if (block_sum(not_finite, acc) > 0.0) {  // refused by the driver
        if (threadIdx.x == 0) loss_out[i] = nan("");
        return;
    }
    const long long k = block_first_argmax(a_max, a_top, best, best_at);
    const long long kb = block_first_argmax(b_max, b_top, best, best_at);
    KLRow r;
    r.a_k = (double)t_row[k] / temp;
    r.b_k = (double)s_row[k] / temp;
    r.b_kb = (double)s_row[kb] / temp;
    // pass 2: log-softmax as (z - m) - log1p(sum over all but one maximal entry)
    double rest_a = 0.0, rest_b = 0.0;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        if (j != k) rest_a += exp((double)t_row[j] / temp - r.a_k);
        if (j != kb) rest_b += exp((double)s_row[j] / temp - r.b_kb);
    }
    r.log_rest_a = log1p(block_sum(rest_a, acc));
    r.log_rest_b = log1p(block_sum(rest_b, acc));
    // pass 3: L = log q_k - log p_k, or log1p(S) where that rounds less (refloss.info.entropy._common._close_log_ratio)
    // S's terms and their roundings
    const double log_q_k = (r.b_k - r.b_kb) - r.log_rest_b, from_ends = log_q_k + r.log_rest_a;
    const double rho = exp(from_ends), ends = fabs(log_q_k) + fabs(r.log_rest_a);
    double total = 0.0, rounding = 0.0;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        const double a = (double)t_row[j] / temp, b = (double)s_row[j] / temp;
        const double p = exp((a - r.a_k) - r.log_rest_a), log_q = (b - r.b_kb) - r.log_rest_b, q = exp(log_q);
        const double e = (a - r.a_k) - (b - r.b_k), scaled = p * rho;
        if (fabs(e) < 1.0) {
            const double series = q * expm1(e);
            total += series;
            rounding += fabs(series) * (2.0 + fabs(log_q)) + scaled * (fabs(a - r.a_k) + fabs(b - r.b_k));
        } else {
            total += scaled - q;
            rounding += scaled * (fabs((a - r.a_k) - r.log_rest_a) + ends) + q * (1.0 + fabs(log_q));
        }
    }
    total = block_sum(total, acc);
    r.close = block_sum(rounding, acc) < ends * (1.0 + total);
    r.big_l = r.close ? log1p(total) : from_ends;
    // pass 4: KL = sum of the terms, and sum p e
    double kl = 0.0, sum_p_e = 0.0, p, q, u, p_e, term;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        kl_entry((double)t_row[j] / temp, (double)s_row[j] / temp, r, &p, &q, &u, &p_e, &term);
        kl += term;
        sum_p_e += p_e;
    }
    kl = block_sum(kl, acc);
    sum_p_e = block_sum(sum_p_e, acc);
    if (threadIdx.x == 0) loss_out[i] = temp * temp * kl;
    if (!gradients) return;
    // pass 5: G^t = T p (u - KL), G^s = T (q - p), G^s + G^t = T (q phi(u) - p KL), times scale, over the
    // logits; the float64 row sums of their magnitudes
    const double g = temp * scale;
    double norm_t = 0.0, norm_s = 0.0, norm_sum = 0.0;
    for (long long j = threadIdx.x; j < V; j += blockDim.x) {
        kl_entry((double)t_row[j] / temp, (double)s_row[j] / temp, r, &p, &q, &u, &p_e, &term);
        const double grad_p = g * (p_e - p * sum_p_e);
        const double grad_q = fabs(u) < 1.0 ? g * (-q * expm1(u)) : g * (q - p);
        const double both = g * (term - p * kl);
        t_row[j] = (T)grad_p;
        s_row[j] = (T)grad_q;
        if (with_sum) sum_row[j] = (T)both;
        norm_t += fabs(grad_p);
        norm_s += fabs(grad_q);
        norm_sum += fabs(both);
    }
    norm_t = block_sum(norm_t, acc);
    norm_s = block_sum(norm_s, acc);
    norm_sum = block_sum(norm_sum, acc);
    if (threadIdx.x == 0) {
        norms_out[3 * i] = norm_t;
        norms_out[3 * i + 1] = norm_s;
        norms_out[3 * i + 2] = norm_sum;
    }
}
"""

_MODULE = None
_KERNELS = ("ce_rows", "kl_rows")


def _kernel(name: str, dtype):
    global _MODULE
    if _MODULE is None:
        _MODULE = cupy.RawModule(code=_SOURCE, options=("-std=c++14", f"-DBLOCK_THREADS={_THREADS}"),
                                 name_expressions=[f"{k}<{t}>" for k in _KERNELS for t in ("float", "double")])
    return _MODULE.get_function(f"{name}<{'float' if dtype == np.float32 else 'double'}>")


def rows(L, bias, y, w, w_loo, w_sum, opts, scale, loss_out, lse_out):
    """The driver's row-step interface (see :class:`accel.linear_ce._Backend`), on the GPU."""
    n, n_classes = L.shape
    dummy = cupy.empty(1, dtype=L.dtype)
    slope = cupy.empty(L.shape, dtype=L.dtype) if opts.softcap else dummy
    _kernel("ce_rows", L.dtype)(
        (n,), (_THREADS,),
        (L, dummy if bias is None else bias, np.int32(bias is not None), slope, y, w, w_loo, np.float64(w_sum),
         np.int64(opts.ignore_index), np.float64(opts.label_smoothing), np.float64(opts.z_loss),
         np.float64(opts.softcap), np.float64(scale), np.int32(opts.gradients), np.int32(opts.unweighted), np.int64(n),
         np.int64(n_classes), loss_out, lse_out))



def kl_rows(t_logits, s_logits, g_sum, temp: float, scale: float, gradients: bool, loss_out, norms_out):
    """The row step of :mod:`accel.linear_kl` on the GPU (its interface: :func:`accel.linear_kl.numpy_rows`)."""
    n, n_classes = t_logits.shape
    _kernel("kl_rows", t_logits.dtype)(
        (n,), (_THREADS,),
        (t_logits, s_logits, t_logits if g_sum is None else g_sum, np.int32(g_sum is not None), np.float64(temp),
         np.float64(scale), np.int32(gradients), np.int64(n), np.int64(n_classes), loss_out, norms_out))
