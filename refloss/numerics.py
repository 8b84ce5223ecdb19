r"""Stable primitives: log-sum-exp, log-softmax, softmax, softplus.

The helpers that every family shares, so that each stability identity is written once; ``logsumexp``,
``log_softmax`` and ``softmax`` are registered (family ``softmax``) in :mod:`refloss.softmax`.

Class axis is the last axis everywhere; ``-inf`` logits are masked classes (probability 0).
"""

from __future__ import annotations

import math

import numpy as np


def logits_from_max(z: np.ndarray) -> np.ndarray:
    """z - max(z) per row (class axis last). For a row spanning more than the float64 range
    (``[1.7e308, -1.7e308]``) the difference is below -1.8e308 and rounds to ``-inf``: correctly, since
    every quantity derived from it (e^(z - m), a probability) is then 0 in float64. Masked classes stay -inf.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # -inf - m is -inf; only the subtraction overflows
        return z - np.max(z, axis=-1, keepdims=True)


def softmax_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""``(z - m, e^(z - m), log S, S)`` of validated logits, with :math:`S = \sum_j e^{z_j - m}`: one exponential
    per entry for the log-softmax ``z - m - log S`` and the softmax ``e^(z - m) / S``. ``log S`` is log1p of the
    sum over all but one maximal entry: log1p keeps the largest log-probability accurate near 0, where log(1 +
    tiny) would round to 0 (scipy.special.log_softmax uses log(s), so it returns exactly 0 for logits [100, 0]
    instead of -3.7e-44)."""
    shifted = logits_from_max(z)
    exp_shifted = np.exp(shifted)
    top = np.argmax(z, axis=-1)[..., None]
    np.put_along_axis(exp_shifted, top, 0.0, axis=-1)
    rest = exp_shifted.sum(axis=-1, keepdims=True)
    np.put_along_axis(exp_shifted, top, 1.0, axis=-1)  # e^0 at the maximum
    return shifted, exp_shifted, np.log1p(rest), 1.0 + rest


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """log_softmax of validated logits (class axis last), accurate in every entry."""
    shifted, _, log_total, _ = softmax_parts(z)
    return shifted - log_total


def _logsumexp(z: np.ndarray) -> np.ndarray:
    """log sum_j e^{z_j} of validated logits: max + log1p(rest), without overflow for any finite row."""
    return (np.max(z, axis=-1, keepdims=True) + softmax_parts(z)[2])[..., 0][()]


def softmax_over_uniform_minus_1(z: np.ndarray) -> np.ndarray:
    r""":math:`C p_j - 1` of validated logits (class axis last, ``C`` classes), where :math:`p = \mathrm{softmax}(z)`.

    It is the uniform distribution's share of a cross-entropy gradient (full label smoothing: :math:`p_j - 1/C`
    is this over :math:`C`), and it cancels where :math:`p_j` is near :math:`1/C`. There
    :math:`C p_j - 1 = \mathrm{expm1}(D_j)` with :math:`D_j = z_j - A`, :math:`A = \log \frac1C \sum_k e^{z_k}`,
    and :math:`A` is taken from a point :math:`r` near it by a small correction,

    .. math:: A = r + \mathrm{log1p}\Big(\frac1C \sum_k \mathrm{expm1}(z_k - r)\Big),

    whose terms carry only the rounding of :math:`z_k - r`: :math:`D_j` is then within a few
    :math:`\epsilon\,(|z_j - r| + \sum_k p_k |z_k - r|)`, which vanishes with the logits. The point is
    :math:`r = m + \mathrm{log1p}((S - C)/C)`, i.e. :math:`\mathrm{LSE}(z) - \log C` as rounded, with
    :math:`m` the maximum and :math:`S = \sum_k e^{z_k - m}`: tied logits make it :math:`m` exactly, and every
    :math:`D_j` exactly 0. Computed as
    :math:`C e^{\log p_j} - 1` instead, every component has an error of about :math:`\epsilon`, which is all of
    it where the logits are near 0 (logits 0.0078 and 0, full smoothing: 60 ulps). Where :math:`|D_j| \ge 1` there is no
    cancellation and :math:`C p_j - 1` is computed directly (:math:`\mathrm{expm1}(D_j)` would carry the
    rounding of :math:`A`, up to :math:`\epsilon \log C`, into a result of size 1). Masked (``-inf``) classes
    give -1.

    >>> softmax_over_uniform_minus_1(np.array([1e-3, 0.0]))  # 2 e^{z_j} / (e^{1e-3} + 1) - 1 = +-tanh(5e-4)
    array([ 0.0005, -0.0005])
    """
    n_classes = z.shape[-1]
    shifted = logits_from_max(z)
    total = np.exp(shifted).sum(axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):  # rows beyond the float64 range: z - r is -inf
        d = z - (np.max(z, axis=-1, keepdims=True) + np.log1p((total - n_classes) / n_classes))
        log_ratio = d - np.log1p(np.mean(np.expm1(d), axis=-1, keepdims=True))
    near = np.abs(log_ratio) < 1.0
    return np.where(near, np.expm1(np.where(near, log_ratio, 0.0)), n_classes * np.exp(_log_softmax(z)) - 1.0)


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax of validated logits, as e^(z - m) / S: tiny probabilities keep relative accuracy."""
    _, exp_shifted, _, total = softmax_parts(z)
    return exp_shifted / total


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) without overflow or loss of accuracy for large ``|x|``."""
    return np.logaddexp(0.0, x)


# 1/k! for k = 2..19: the Taylor series of e^x - 1 - x; on |x| <= 1 the first omitted term is below 2^-53 relative.
_EXPM1MX_SERIES = np.array([1.0 / math.factorial(k) for k in range(19, 1, -1)])


def expm1mx(x: np.ndarray) -> np.ndarray:
    r"""e^x - 1 - x, accurate to a few ulps relative for every x (>= 0, ~x^2/2 near 0).

    ``expm1(x) - x`` cancels for small :math:`|x|`, where both terms are ~x and the result ~x^2/2; there a
    Horner evaluation of the Taylor series is used (its terms alternate for x < 0 but decrease, so at most
    a factor 3 of cancellation on :math:`|x| \le 1`). Outside, ``expm1(x) - x`` loses at most a factor ~3.

    >>> float(expm1mx(np.array(1e-9)))  # x^2/2 + x^3/6, where expm1(x) - x returns noise
    5.000000001666667e-19
    """
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) <= 1.0
    xs = np.where(small, x, 0.0)
    series = np.polyval(_EXPM1MX_SERIES, xs) * xs * xs
    with np.errstate(over="ignore"):
        return np.where(small, series, np.expm1(np.where(small, 0.0, x)) - np.where(small, 0.0, x))


# (k - 1)/k! for k = 2..20: the Taylor series of 1 + (u - 1) e^u; on |u| < 1 the first omitted term is below 2^-53.
_PHI_SERIES = np.array([(k - 1) / math.factorial(k) for k in range(20, 1, -1)])


def one_plus_xm1_expx(u: np.ndarray) -> np.ndarray:
    r"""phi(u) = 1 + (u - 1) e^u >= 0, accurate relative for every u (phi(-inf) = 1, ~u^2/2 near 0).

    For :math:`|u| < 1` by Horner on its Taylor series :math:`\sum_{k \ge 2} (k - 1) u^k / k!` (terms that
    decrease, alternating for u < 0, so at most a factor ~4 cancels); elsewhere as written, where
    (u - 1) e^u stays above -2/e.

    >>> float(one_plus_xm1_expx(np.array(-1e-9)))  # u^2/2 + u^3/3 + ...
    4.999999996666667e-19
    """
    u = np.asarray(u, dtype=np.float64)
    small = np.abs(u) < 1.0
    us = np.where(small, u, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        large = 1.0 + np.where(np.isneginf(u), 0.0, (u - 1.0) * np.exp(np.where(small, 0.0, u)))
    return np.where(small, np.polyval(_PHI_SERIES, us) * us * us, large)


def log1mexp(s: np.ndarray) -> np.ndarray:
    """log(1 - e^s) for s <= 0, accurate for every s: log(-expm1(s)) near 0, log1p(-exp(s)) below -log 2
    (Maechler's rule), -inf at s = 0.

    >>> float(log1mexp(np.array(-44.0)))  # log(1 - e^-44) = -e^-44 - ..., where log(1 - exp(s)) returns 0
    -7.781132241133797e-20
    """
    s = np.asarray(s, dtype=np.float64)
    near_zero = s > -math.log(2.0)
    with np.errstate(divide="ignore"):  # s = 0: log 0 = -inf
        return np.where(near_zero, np.log(-np.expm1(np.where(near_zero, s, -1.0))),
                        np.log1p(-np.exp(np.where(near_zero, -1.0, s))))


def power_of_exp(gamma: float, log_base: np.ndarray) -> np.ndarray:
    """base^gamma as exp(gamma log base), with 0^0 = 1: exact where base rounds to 1 but gamma is huge
    ((1 - 8e-20)^(1e20) = e^-8, not 1)."""
    if gamma == 0.0:
        return np.ones_like(log_base)
    with np.errstate(over="ignore"):
        return np.exp(gamma * log_base)


def plogq(p: np.ndarray, logq: np.ndarray) -> np.ndarray:
    """Elementwise p * log q with the convention 0 * log 0 = 0 (xlogy semantics, given log q)."""
    out = np.zeros(np.broadcast_shapes(p.shape, logq.shape))
    np.multiply(p, logq, out=out, where=np.broadcast_to(p != 0, out.shape))
    return out
