"""High-precision reference values: mpmath twins (:mod:`refloss.golden.mp`) and how they are compared.

The error of a float64 result ``got`` against a 50-digit value ``ref`` is

    max_i |got_i - ref_i| / max(|ref_i|, scale_i)

where ``scale`` is given by the entry's ``mp_scale`` twin (the magnitude of the terms whose float64
rounding the result inherits), or is ``|ref|`` itself: plain relative error. ``refloss audit`` and the
tests require it to be at most :data:`PRECISION_RTOL`. Infinities must match exactly.
"""

from __future__ import annotations

import numpy as np

PRECISION_RTOL = 1e-14


def _as_float(values) -> np.ndarray:
    return np.vectorize(float, otypes=[np.float64])(np.asarray(values, dtype=object))


def precision_error(got, ref, scale=None) -> float:
    """Largest scaled error of ``got`` against the mpmath values ``ref`` (object arrays of mpf)."""
    got = np.asarray(got, dtype=np.float64)
    ref_f = _as_float(ref)
    if got.shape != ref_f.shape:
        raise AssertionError(f"shape {got.shape} differs from the mpmath twin's {ref_f.shape}")
    same_inf = np.isinf(ref_f) & (got == ref_f)
    if (np.isinf(ref_f) != same_inf).any() or np.isnan(got).any() != np.isnan(ref_f).any():
        return float("inf")
    ref_abs = np.abs(np.asarray(ref, dtype=object))
    denom = ref_abs if scale is None else np.maximum(ref_abs, np.abs(np.asarray(scale, dtype=object)))
    finite = ~np.isinf(ref_f) & ~np.isnan(ref_f)
    if not finite.any():
        return 0.0
    diff = np.abs(np.asarray(got[finite].tolist(), dtype=object) - np.asarray(ref, dtype=object)[finite])
    den = denom[finite]
    errs = [float(d / s) if s != 0 else (0.0 if d == 0 else float("inf")) for d, s in zip(diff, den)]
    return max(errs)
