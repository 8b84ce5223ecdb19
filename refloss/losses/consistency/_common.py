r"""The consistency family's shared parts: the paper, the argument checks, and the float64 evaluation of the
comp-sum transform :math:`T_\tau(t; n)`, its derivative and its inverse.

**The evaluation of** :math:`T_\tau` (every branch :math:`\tau \in [0, 2)` through one form; the derivation and
its machine check are in ``proofs/consistency``). With :math:`k = 1/(2 - \tau)`,
:math:`\delta = k - 1 = (\tau - 1)/(2 - \tau)`, :math:`x = \operatorname{atanh} t` and :math:`h = \delta x`, the
power mean :math:`M_\tau(t) = (((1+t)^k + (1-t)^k)/2)^{1/k}` has
:math:`\log M_\tau = (\tau - 1) R` with

.. math:: R = \frac{\log\cosh(k x) - k \log\cosh x}{k - 1}, \qquad
          T_\tau(t) = \frac{R\,\mathrm{exprel}((\tau - 1) R)}{d_\tau},\quad
          d_\tau = 2^{\tau-1}\ (\tau < 1),\ n^{\tau-1}\ (\tau \ge 1),

which is exactly the notes' :math:`2^{1-\tau}(1 - M_\tau)/(1-\tau)` below 1 and :math:`(M_\tau - 1)/((\tau-1)
n^{\tau-1})` above, and at :math:`\tau = 1` (:math:`\delta = 0`) the limit :math:`R = x \tanh x - \log\cosh x =
T_1(t)`. :math:`R` is formed in one of three ways, none of which cancels beyond what the condition scale
allows. For :math:`x < 1`, :math:`|h| \le 1`: :math:`\log\cosh(kx) - \log\cosh x = \log(1 + D)`,
:math:`D = 2\sinh^2(h/2) + \tanh x \sinh h`, divided by :math:`\delta` analytically (``log1p(D)/D`` and
``sinh(h)/h`` are 1 at 0, so :math:`\tau = 1` is the same expression, not a branch). For :math:`x < 1`,
:math:`|h| > 1` (then :math:`k > 2`): the quotient as written. For :math:`x \ge 1`:
:math:`R = \log 2 + (l(kx) - k\,l(x))/\delta` with :math:`l(y) = \log(1 + e^{-2y})` (the :math:`kx` terms cancel
exactly on paper, never in float64), the divided difference :math:`(l(x + h) - l(x))/h` written with ``expm1``,
``exprel`` and ``log1p`` where :math:`|h| \le 1`: :math:`R = \log 2 - O(x e^{-2x})` keeps its digits relative to
itself, which the inverse needs near :math:`T(1)`. :math:`k \to \infty` as :math:`\tau \to 2` enters only
through :math:`e^{-2kx}` and :math:`\log\cosh(kx)`, which do not overflow. Everything is a function of :math:`x`
(the inverse solves for :math:`x`, see :func:`inverse_transform`). The derivative is

.. math:: T'_\tau(t) = \frac{M_\tau\, k\, 2x\,\mathrm{exprel}(-2h)}{(1 + t)(1 + e^{-2kx})\, d_\tau},

exact for every :math:`h` (``proofs/consistency``). At :math:`t = 1`: :math:`R = \log 2`,
:math:`T'(1) = 2^{\tau-2}/((\tau-1) n^{\tau-1})` for :math:`\tau \in (1, 2)` and :math:`+\infty` for
:math:`\tau \le 1`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np
from scipy.special import exprel

from ... import _validate as v
from ..._registry import Paper

COMP_SUM_BOUNDS = Paper(
    "Cross-Entropy Loss Functions: Theoretical Analysis and Applications", arxiv="2304.07288",
    seed="000_4ce7742a3c1ac78a.txt",
    where="A. Mao, M. Mohri, Y. Zhong, ICML 2023: H-consistency bounds of comp-sum losses (shape confirmed by the "
          "abstract); the transforms T_tau are our reconstruction, validated numerically, not confirmed against the "
          "theorem text (no theorem or equation number is given)")

RECONSTRUCTED = ("our reconstruction, not confirmed against the theorem text of Mao, Mohri & Zhong (2023, "
                 "arXiv:2304.07288)")

#: The domain of tau shown by the docs; tau > 2 gets its own message (below).
TAU = v.Interval(0.0, 2.0)
CLASSES = v.Integers(2)

LOG2 = math.log(2.0)
_EPS = float(np.finfo(np.float64).eps)


def tau_of(tau) -> float:
    """tau in [0, 2]; tau > 2 is refused with the mathematical reason, not only the interval."""
    x = v.scalar(tau, v.NONNEGATIVE, "tau")
    if x > 2.0:
        raise v.RefLossError(
            f"tau must lie in [0, 2], got {tau!r}: for tau > 2 the comp-sum loss is concave in the softmax, the tight "
            "transform T* is not convex (T*(t) = t/(tau - 1) near 0 and smaller beyond) and no closed form T_tau "
            "exists; refloss refuses it rather than return a transform that is not a valid bound")
    return x


def classes_of(n) -> int:
    """The number of classes n >= 2."""
    return v.integer_in(n, CLASSES, "n")


def unit_array(x, name: str) -> np.ndarray:
    """A float64 array with entries in [0, 1] (a zero-one conditional regret)."""
    arr = v.real_array(x, name)
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        bad = arr[(arr < 0.0) | (arr > 1.0)].flat[0]
        raise v.RefLossError(f"{name} entries must lie in [0, 1] (a zero-one conditional regret), got {bad!r}")
    return arr


def nonnegative_array(x, name: str) -> np.ndarray:
    """A float64 array of finite non-negative entries (an excess error, a minimizability gap)."""
    arr = v.real_array(x, name)
    if arr.size and arr.min() < 0.0:
        raise v.RefLossError(f"{name} must be non-negative (an excess error or a minimizability gap is >= 0), got "
                             f"{arr[arr < 0.0].flat[0]!r}")
    return arr


def shaped(out: np.ndarray):
    """A 0-d result as a Python float, others as they are."""
    return float(out) if np.ndim(out) == 0 else out


# -- the transform --------------------------------------------------------------------------------------------


def _logcosh(y: np.ndarray) -> np.ndarray:
    """log cosh |y|: log1p(2 sinh^2(y/2)) up to 1 (relative accuracy at 0), |y| - log 2 + log1p(e^-2|y|) above."""
    y = np.abs(y)
    small = y <= 1.0
    ys = np.where(small, y, 0.0)
    with np.errstate(over="ignore"):
        return np.where(small, np.log1p(2.0 * np.sinh(ys / 2.0) ** 2), y - LOG2 + np.log1p(np.exp(-2.0 * y)))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, and 1 where den = 0 (the removable singularity of sinh(y)/y and log1p(d)/d at 0)."""
    zero = den == 0.0
    return np.where(zero, 1.0, num / np.where(zero, 1.0, den))


def _atanh(t: np.ndarray) -> np.ndarray:
    """atanh t for t in [0, 1], +inf at 1."""
    with np.errstate(divide="ignore"):
        return np.arctanh(t)


def log_power_mean_over(x: np.ndarray, tau: float) -> np.ndarray:
    r""":math:`R = \log M_\tau / (\tau - 1)` for :math:`\tau \in [0, 2)` (:math:`T_1` at :math:`\tau = 1`) as a
    function of :math:`x = \operatorname{atanh} t \in [0, \infty]`, in the forms of the module docstring
    (:math:`\log 2` at :math:`x = \infty`, :math:`t = 1`)."""
    k = 1.0 / (2.0 - tau)
    delta = (tau - 1.0) / (2.0 - tau)  # k - 1 without the cancellation of 1/(2 - tau) - 1 near tau = 1
    one = np.isinf(x)
    x = np.where(one, 0.0, x)
    h = delta * x
    near = np.abs(h) <= 1.0
    small = x < 1.0
    xs = np.where(small, x, 0.0)
    hs = np.where(small & near, h, 0.0)
    tx = np.tanh(xs)
    # x < 1, |h| <= 1: log cosh(kx) - log cosh x = log1p(D), D = 2 sinh^2(h/2) + tanh x sinh h; D / delta =
    # x (sinh(h/2) sinhc(h/2) + tanh x sinhc h), so that tau = 1 (h = 0) is the same expression: x tanh x - log cosh x
    d = 2.0 * np.sinh(hs / 2.0) ** 2 + tx * np.sinh(hs)
    over_delta = xs * (np.sinh(hs / 2.0) * _ratio(np.sinh(hs / 2.0), hs / 2.0) + tx * _ratio(np.sinh(hs), hs))
    r_small = _ratio(np.log1p(d), d) * over_delta - _logcosh(xs)
    step = delta if delta != 0.0 else 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        # x < 1, |h| > 1 (so k > 2): the quotient as written loses at most a factor k / (k - 1)
        r_mid = (_logcosh(k * xs) - k * _logcosh(xs)) / step
        # x >= 1: log cosh y = y - log 2 + l(y), l(y) = log1p(e^-2y), so R = log 2 + (l(kx) - k l(x)) / delta, whose
        # kx terms cancel on paper; (l(kx) - l(x)) / delta = x (l(x + h) - l(x)) / h, and for |h| <= 1 that divided
        # difference is -2 q exprel(-2h) log1p(q expm1(-2h)) / (q expm1(-2h)), q = 1/(e^2x + 1): R keeps its digits
        # relative to itself (log 2 - O(x e^-2x)), which the inverse needs near T(1)
        xl = np.where(small, 1.0, x)
        hl = np.where(small | ~near, 0.0, h)
        lx, lkx = np.log1p(np.exp(-2.0 * xl)), np.log1p(np.exp(-2.0 * k * xl))
        q = 1.0 / (np.exp(2.0 * xl) + 1.0)
        dq = q * np.expm1(-2.0 * hl)
        divided = -2.0 * q * exprel(-2.0 * hl) * _ratio(np.log1p(dq), dq)
        r_large = LOG2 + np.where(near, xl * divided, (lkx - lx) / step) - lx
    r = np.where(small, np.where(near, r_small, r_mid), r_large)
    return np.where(one, LOG2, r)


def transform_scale(tau: float, n: int) -> float:
    """d_tau: 2^(tau-1) below tau = 1, n^(tau-1) from 1 on (1 at tau = 1 either way)."""
    return 2.0 ** (tau - 1.0) if tau < 1.0 else float(n) ** (tau - 1.0)


def transform_of_x(x: np.ndarray, tau: float, n: int) -> np.ndarray:
    """T_tau at t = tanh x, x in [0, inf], for tau in [0, 2)."""
    r = log_power_mean_over(x, tau)
    return r * exprel((tau - 1.0) * r) / transform_scale(tau, n)


def transform_values(t: np.ndarray, tau: float, n: int) -> np.ndarray:
    """T_tau(t; n) of validated inputs."""
    if tau == 2.0:
        return t / n
    return transform_of_x(_atanh(t), tau, n)


def transform_slope_at_one(tau: float, n: int) -> float:
    """T'_tau(1): 2^(tau-2)/((tau-1) n^(tau-1)) for tau in (1, 2), 1/n at 2, +inf for tau <= 1."""
    if tau == 2.0:
        return 1.0 / n
    if tau <= 1.0:
        return math.inf
    return 2.0 ** (tau - 2.0) / ((tau - 1.0) * float(n) ** (tau - 1.0))


def slope_of_x(x: np.ndarray, tau: float, n: int) -> np.ndarray:
    """dT/dt at t = tanh x (x in [0, inf], tau in [0, 2)): M k 2x exprel(-2(k-1)x) / ((1 + t)(1 + e^-2kx) d) with
    1/(1 + t) = (1 + e^-2x)/2, so that t itself is never formed (near t = 1 it would round away x's digits)."""
    k = 1.0 / (2.0 - tau)
    delta = (tau - 1.0) / (2.0 - tau)
    one = np.isinf(x)
    x = np.where(one, 0.0, x)
    power_mean = np.exp((tau - 1.0) * log_power_mean_over(x, tau))
    with np.errstate(over="ignore"):
        slope = (power_mean * k * x * exprel(-2.0 * delta * x) * (1.0 + np.exp(-2.0 * x))
                 / ((1.0 + np.exp(-2.0 * k * x)) * transform_scale(tau, n)))
    return np.where(one, transform_slope_at_one(tau, n), slope)


def transform_derivative(t: np.ndarray, tau: float, n: int) -> np.ndarray:
    """T'_tau(t; n) of validated inputs (+inf at t = 1 for tau <= 1; the callers refuse it)."""
    if tau == 2.0:
        return np.full(np.shape(t), 1.0 / n)
    return slope_of_x(_atanh(t), tau, n)


def transform_at_one(tau: float, n: int) -> float:
    """T_tau(1) = (2^(tau-1) - 1)/((tau - 1) d_tau) (log 2 at tau = 1, 1/n at tau = 2): where Gamma saturates."""
    return float(transform_values(np.array(1.0), tau, n))


def refuse_infinite_slope(t: np.ndarray, tau: float, name: str) -> None:
    """T'(1) = +inf for tau <= 1: no gradient there."""
    if tau <= 1.0 and t.size and (t == 1.0).any():
        raise v.RefLossError(f"{name} has an entry 1, where T'_tau(1) = +inf for tau <= 1 (the (1 - t)^(1/(2 - tau)) "
                             "term, or (1 - t) log(1 - t) at tau = 1): the gradient does not exist there (the value "
                             "does)")


def saturated(total: np.ndarray, tau: float, n: int) -> np.ndarray:
    """total >= T_tau(1), decided exactly where it can be: at tau = 2 (T(1) = 1/n) an element at the float 1/n is
    compared with the exact 1/n; elsewhere T(1) is irrational (tau in (0, 2)) or 1 (tau = 0), and the float
    comparison with its rounding decides (an element equal to that rounding counts as saturated)."""
    top = transform_at_one(tau, n)
    out = total >= top
    if tau == 2.0:
        at = total == top
        if at.any():
            out = np.where(at, Fraction(top) * n >= 1, out)
    return out


def at_kink(total: np.ndarray, tau: float, n: int) -> np.ndarray:
    """Elements where Gamma_2 saturates exactly (n u = 1): its only kink a float can hit."""
    if tau != 2.0:
        return np.zeros(np.shape(total), dtype=bool)
    top = transform_at_one(tau, n)
    return (total == top) & (Fraction(top) * n == 1)


# -- the inverse ----------------------------------------------------------------------------------------------

#: Below this the transform is its leading term k t^2 / (2 d) to a relative 1e-40 (the next is O(k^2 t^2)), and the
#: root is formed from sqrt(eps) directly: T near the subnormal range would have lost its digits.
_QUADRATIC_BELOW = 1e-60

#: The root's x = atanh(t) is sought in [0, _X_TOP]: beyond it tanh x rounds to 1 and T(x) to T(1) at every tau.
_X_TOP = 1000.0


class Inverse(NamedTuple):
    """Gamma_tau(eps) and its slope 1/T'(Gamma), from the root x = atanh(Gamma) (t itself would round away the
    digits that set the slope where Gamma is near 1)."""

    value: np.ndarray
    slope: np.ndarray


def _sech2(x: np.ndarray) -> np.ndarray:
    """1 - tanh^2 x = 4 e^-2x / (1 + e^-2x)^2, without forming tanh x."""
    e = np.exp(-2.0 * x)
    return 4.0 * e / (1.0 + e) ** 2


def inverse_transform(eps: np.ndarray, tau: float, n: int) -> Inverse:
    r"""Gamma_tau(eps) = T_tau^{-1}(eps) for eps >= 0, saturated at 1 from T_tau(1) on, and its slope.

    The root is sought in x = atanh t, where T and dT/dx = T'(t) sech^2 x are formed without t: safeguarded Newton
    steps (T is increasing in x) inside a bracket, bisection where a step leaves it, to full float64 accuracy; then
    Gamma = tanh x and Gamma' = 1/T'(t) from the same x. Solving in t instead would leave Gamma' near Gamma = 1
    (tau < 1) with its relative error multiplied by T''/T'^2 times the rounding of t, which is unbounded. Below
    1e-60 the leading term: Gamma = sqrt(eps) sqrt(2 d / k), Gamma' = Gamma / (2 eps).
    """
    eps = np.asarray(eps, dtype=np.float64)
    if tau == 2.0:
        full = saturated(eps, tau, n)
        return Inverse(np.where(full, 1.0, np.minimum(eps * n, 1.0)), np.where(full, 0.0, float(n)))
    k, d = 1.0 / (2.0 - tau), transform_scale(tau, n)
    full = saturated(eps, tau, n)
    tiny = eps < _QUADRATIC_BELOW
    live = ~(full | tiny)
    root = np.sqrt(eps) * math.sqrt(2.0 * d / k)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # eps = 0: 0/0 (refused); 2 eps = inf
        value = np.where(full, 1.0, root)
        slope = np.where(full, 0.0, root / (2.0 * eps))
    if not live.any():
        return Inverse(value, slope)
    target = eps[live]
    lo, hi = np.zeros_like(target), np.full_like(target, _X_TOP)
    # start: the larger of the quadratic and the linear (tau -> 2: T ~ t/n beyond 1/k) guesses
    t0 = np.clip(np.maximum(np.sqrt(target * 2.0 * d / k), target * n * 0.5), 1e-300, 0.999)
    x = np.arctanh(t0)
    active = np.arange(target.size)  # the elements still moving: each step works on those only
    for _ in range(300):
        xa, la, ha = x[active], lo[active], hi[active]
        f = transform_of_x(xa, tau, n) - target[active]
        ha = np.where(f >= 0.0, np.minimum(ha, xa), ha)
        la = np.where(f <= 0.0, np.maximum(la, xa), la)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            newton = xa - f / (slope_of_x(xa, tau, n) * _sech2(xa))
        inside = (newton > la) & (newton < ha) & np.isfinite(newton)
        nxt = np.where(f == 0.0, xa, np.where(inside, newton, 0.5 * (la + ha)))
        done = (np.abs(nxt - xa) <= 2.0 * _EPS * xa) | (ha - la <= 2.0 * _EPS * ha)
        x[active], lo[active], hi[active] = nxt, la, ha
        active = active[~done]
        if not active.size:
            break
    # the last iterate or the bracket's end whose T is closest to eps
    candidates = np.stack([x, lo, hi])
    residual = np.abs(transform_of_x(candidates, tau, n) - target)
    best = np.take_along_axis(candidates, np.argmin(residual, axis=0)[None], axis=0)[0]
    value[live] = np.tanh(best)
    slope[live] = 1.0 / slope_of_x(best, tau, n)
    return Inverse(value, slope)
