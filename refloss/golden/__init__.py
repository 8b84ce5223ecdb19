"""High-precision reference values: mpmath twins (:mod:`refloss.golden.mp`) and how they are compared.

The error of a float64 result ``got`` against a 50-digit value ``ref`` is::

    max_i |got_i - ref_i| / max(|ref_i|, scale_i, TINY)

where ``scale`` is given by the entry's ``mp_scale`` twin (the magnitude of the terms whose float64
rounding the result inherits), or is ``|ref|`` itself: plain relative error. ``TINY`` is the smallest
normal float64: a subnormal result cannot carry 53 bits, so below the normal range the error is
measured against it (1e-14 of it is ~45 subnormal spacings). ``refloss audit`` and the
tests require it to be at most :data:`PRECISION_RTOL`. Infinities must match exactly.
"""

from __future__ import annotations

import math

import numpy as np

PRECISION_RTOL = 1e-14
TINY = float(np.finfo(np.float64).tiny)


def precision_error(got, ref, scale=None) -> float:
    """Largest scaled error of ``got`` against the mpmath values ``ref`` (object arrays of mpf)."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=object)
    if got.shape != ref.shape:
        raise AssertionError(f"shape {got.shape} differs from the mpmath twin's {ref.shape}")
    scales = [None] * ref.size if scale is None else np.asarray(scale, dtype=object).ravel().tolist()
    worst = 0.0
    for g, r, s in zip(got.ravel().tolist(), ref.ravel().tolist(), scales):
        r_float = float(r)
        if math.isnan(g) or math.isnan(r_float):
            if not (math.isnan(g) and math.isnan(r_float)):
                return math.inf
            continue
        if math.isinf(r_float) or math.isinf(g):
            if g != r_float:
                return math.inf
            continue
        denom = max(abs(r), TINY) if s is None else max(abs(r), abs(s), TINY)
        diff = abs(g - r)
        worst = max(worst, float(diff / denom))
    return worst
