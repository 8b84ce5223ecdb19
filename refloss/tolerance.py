r"""The one tolerance policy: is a float64 result right, judged against the 50-digit truth?

Every comparison of a float64 value or gradient component with the oracle (the audit, the golden data, the
tests, later the accel-vs-reference checks) goes through :func:`error_ulps`. Element by element,

.. math:: |\mathrm{got} - \mathrm{ref}| \le k\,\epsilon\,\max\big(|\mathrm{ref}| + s,\ \mathrm{tiny}\big),

with :math:`\epsilon = 2^{-52}`, :math:`k` = :data:`ULPS` and :math:`s` the *condition scale* of that element:

.. math:: s = \sum_i |x_i|\,\Big|\frac{\partial\,\mathrm{ref}}{\partial x_i}\Big|

over every floating-point entry :math:`x_i` of the array inputs (logits, labels and probability targets,
weights; masked ``-inf`` entries and integer class indices do not vary). It is computed by the oracle at 50
digits, per element, never per row or per array. Why this scale: an array input is the rounded result of
some earlier float64 computation, known only to a relative :math:`\epsilon`, so :math:`\epsilon s` is the
change of the exact result under such a perturbation. Scalar parameters (:math:`\gamma`, :math:`\tau`,
:math:`q`, :math:`\varepsilon`, label smoothing) do not vary: a user sets :math:`\varepsilon = -1` exactly and
is owed the answer for that value. (Poly-1 at :math:`\varepsilon = -1` is :math:`(1 - p) + \log p \approx
s^2/2` while its sensitivity to :math:`\varepsilon` is :math:`1 - p`; counting it would excuse exactly the
cancellation that ``expm1mx`` avoids.) A result
within a few :math:`\epsilon(|\mathrm{ref}| + s)` is as good as float64 can promise (exact for slightly
perturbed inputs); a result that loses more, e.g. :math:`p_y - 1` computed by subtraction where
:math:`-\mathrm{expm1}(\log p_y)` keeps every digit, fails, because at a logit gap of 40 that component is
:math:`4.25\cdot10^{-18}` and so is :math:`s/40`. The scale does not depend on how the float64 code is
written, so it cannot excuse a cancellation, and it needs no per-object hand-written bound.

**Through a rounded intermediate.** An object computed from an intermediate array that every implementation
rounds before going on, a linear head's logits :math:`u = e c^\top + b`, owes no more than that rounding
allows: its definition adds :math:`\sum_i |u_i|\,|\partial\,\mathrm{ref}/\partial u_i|` to the scale of its
value, and to the head's gradients :math:`Gc`, :math:`G^\top e`, :math:`\sum_n G_n` the terms
:math:`S_G\,|c|`, :math:`S_G^\top |e|`, :math:`\sum_n S_{G_n}`, where :math:`S_G` is the same scale of the
gradient :math:`G` w.r.t. the logits (``proofs._oracle.intermediate_scales``). The products' own rounding
is not added; still, the allowance can exceed a cancellation in them, such as the nearly equal terms of two
heads in ``linear_kl``'s :math:`G^s c_s + G^t c_t`, so ``tests/test_gradient_components.py`` checks the
form that avoids it where the logits are exact, without the allowance.
Without these terms the scale of :math:`Gc` vanishes where its terms cancel by structure, whatever the
logits: a column of :math:`c` equal across classes (:math:`\sum_c G_c = 0`), tied logits under full
smoothing (:math:`G = 0` for every hidden state); and a float64 :math:`G`, one rounding of the logits away,
failed there (a distillation head with such a column: 17 ulps; tied logits: a scale of :math:`10^{-53}`
against an error of :math:`10^{-16}`). A soft cap's logits :math:`z = s\tanh(u/s)` are such an intermediate
too: their scale of the gradient w.r.t. :math:`z` reaches :math:`G` through the cap's slope. Where the cap
saturates, the slope hides the rounding of :math:`z` from the scale of :math:`u`, and under full smoothing
the gradient is made of differences of those rounded :math:`z` (logits near :math:`-s`: refloss's own float64,
:math:`s\tanh(u/s)` by ``np.tanh``, lost up to 121 ulps without this term).

**Known limit.** Where a row's logits are 0 or near it (as inputs, or as a head's logits: a zero hidden
state without bias, a zero classifier) and the exact result is 0 or small only because terms set by the
scalar parameters cancel, the scale is 0 or below that cancellation and the policy demands more than the
float64 forms give. Through a zero classifier (three classes, :math:`e = (1, 2)`, target 0),
:math:`\varepsilon = 0.453` and a z-loss of 0.5 give a gradient component 0.0015 from the target's
:math:`(1 - \varepsilon)(p_y - 1) = -0.365` and the z-loss's :math:`2\lambda\,\mathrm{LSE}\,p_y = 0.366`
(refloss: 17 ulps). The drawn inputs avoid it and say so: where
a row's logits all lie within 1 of 0, a linear head's draws drop the z-loss. A scale that also measured
the terms a parameter contributes, without excusing Poly-1's cancellation above, is open work. Label
smoothing alone is not such a case: its share :math:`\varepsilon (p_j - 1/C)` of a cross-entropy gradient,
which cancels near :math:`p_j = 1/C`, is computed from differences of logits
(:func:`refloss.numerics.softmax_over_uniform_minus_1`), and the draws take any :math:`\varepsilon`.

Below the normal range the bound is :math:`k` subnormal spacings (``tiny`` is the smallest normal float64):
a subnormal result cannot carry 53 bits. Infinities must match exactly; NaN matches nothing (refloss never
returns NaN for a finite mathematical result). A registry entry may widen the bound with
``tolerance=Tolerance(ulps=..., reason=...)``; the reason is shown by ``refloss audit``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EPS = float(np.finfo(np.float64).eps)
TINY = float(np.finfo(np.float64).tiny)

#: k: the largest accepted error, in units of :data:`EPS` times ``max(|ref| + s, TINY)``.
ULPS = 16


@dataclass(frozen=True)
class Tolerance:
    """A per-entry widening of the policy, with the reason it is needed (shown in the audit)."""

    ulps: float = ULPS
    reason: str = ""


DEFAULT = Tolerance()


def error_ulps(got, ref, scale, dtype=np.float64) -> np.ndarray:
    """Elementwise error of ``got`` in units of ``EPS * max(|ref| + scale, TINY)``.

    For a result computed in another floating dtype (an accel kernel in float32), ``dtype`` replaces
    ``EPS`` and ``TINY`` by that dtype's epsilon and smallest normal number: the same policy, in its units.

    ``ref`` and ``scale`` are float64 roundings of the oracle's 50-digit values (or the values themselves as
    mpmath numbers; only their magnitude matters here). Infinities must match exactly; NaN matches only a NaN of
    the oracle, which a definition gives by a stated convention (the mean over zero total weight, 0/0, as in
    PyTorch).

    >>> float(error_ulps(1.0 + 2 * EPS, 1.0, 0.0)[()])
    2.0
    >>> float(error_ulps(0.0, -4.25e-18, 1.7e-16)[()]) > 1e13  # p_y - 1 at a logit gap of 40, computed as 0
    True
    """
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if got.shape != ref.shape:
        raise AssertionError(f"shape {got.shape} differs from the reference's {ref.shape}")
    out = np.empty(np.broadcast_shapes(got.shape, scale.shape))
    got, ref, scale = np.broadcast_arrays(got, ref, scale)
    inf = np.isinf(ref) | np.isinf(got)
    nan = np.isnan(got) | np.isnan(ref)
    finite = ~(inf | nan)
    with np.errstate(over="ignore"):  # scales and errors beyond the float64 range are inf
        info = np.finfo(dtype)
        denom = float(info.eps) * np.maximum(np.abs(ref[finite]) + np.abs(scale[finite]), float(info.tiny))
        out[finite] = np.abs(got[finite] - ref[finite]) / denom
    out[inf] = np.where(got[inf] == ref[inf], 0.0, math.inf)
    out[nan] = np.where(np.isnan(got[nan]) & np.isnan(ref[nan]), 0.0, math.inf)
    return out


def worst_ulps(got, ref, scale) -> float:
    """The largest :func:`error_ulps` over all elements (0 for an empty array)."""
    return float(np.max(error_ulps(got, ref, scale), initial=0.0))
