r"""Stable primitives: log-sum-exp, log-softmax, softmax, softplus.

``logsumexp`` and ``log_softmax`` are registered objects (family ``softmax``); the others are helpers
that the loss modules share so that each stability identity is written once.

Class axis is the last axis everywhere; ``-inf`` logits are masked classes (probability 0).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special
from numpy.typing import ArrayLike

from . import _cases as cases
from . import _validate as v
from ._registry import Paper, Param, gradient_of, register

_BLANCHARD = Paper(
    "Accurately computing the log-sum-exp and softmax functions",
    where="P. Blanchard, D. J. Higham, N. J. Higham, IMA J. Numer. Anal. 41(4), 2021",
)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """log_softmax of validated logits (class axis last), accurate in every entry."""
    m = np.max(z, axis=-1, keepdims=True)
    shifted = z - m
    rest = np.exp(shifted)
    np.put_along_axis(rest, np.argmax(z, axis=-1)[..., None], 0.0, axis=-1)
    # log(sum_j exp(z_j - m)) = log1p(sum over all but one maximal entry): log1p keeps the largest
    # log-probability accurate near 0, where log(1 + tiny) would round to 0 (scipy.special.log_softmax
    # uses log(s), so it returns exactly 0 for logits [100, 0] instead of -3.7e-44).
    return shifted - np.log1p(rest.sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax of validated logits, as exp(log_softmax) so tiny probabilities keep relative accuracy."""
    return np.exp(_log_softmax(z))


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


def plogq(p: np.ndarray, logq: np.ndarray) -> np.ndarray:
    """Elementwise p * log q with the convention 0 * log 0 = 0 (xlogy semantics, given log q)."""
    out = np.zeros(np.broadcast_shapes(p.shape, logq.shape))
    np.multiply(p, logq, out=out, where=np.broadcast_to(p != 0, out.shape))
    return out


@register(
    name="logsumexp",
    family="softmax",
    wrt=("logits",),
    params=(Param("logits", v.LOGITS),),
    paper=_BLANCHARD,
    formula=r"\mathrm{LSE}(z) = \log{\left(\sum_{c=1}^{C} e^{{z}_{c}} \right)}",
    gradient=r"\frac{\partial \mathrm{LSE}}{\partial z_{j}} = {p}_{j}",
    stress=lambda: cases.softmax_stress(targets=False, reduction=False),
)
def logsumexp(logits: ArrayLike) -> np.ndarray:
    r"""Log-sum-exp over the class axis (last): :math:`\log \sum_j e^{z_j}`.

    Computed by :func:`scipy.special.logsumexp`, which separates the maximum and sums the rest with
    ``log1p``. Masked classes (``-inf``) contribute 0 to the sum. Gradient: :func:`logsumexp_grad`.

    Args:
        logits: array of shape ``(..., C)``, ``C >= 1``; ``-inf`` entries are masked classes.

    Returns:
        array of shape ``logits.shape[:-1]`` (a NumPy scalar for 1-D input).

    Raises:
        RefLossError: NaN or +inf in ``logits``, an empty array, or a row that is all ``-inf``.

    >>> float(logsumexp([1000.0, 1000.0]))  # = 1000 + log 2, no overflow
    1000.6931471805599

    Reference: Blanchard, Higham & Higham (2021), Algorithm 2 (shifted log-sum-exp with log1p).
    """
    return scipy.special.logsumexp(v.logits(logits), axis=-1)


@gradient_of("logsumexp")
def logsumexp_grad(logits: ArrayLike) -> np.ndarray:
    r"""Gradient of :func:`logsumexp`: :math:`\partial\,\mathrm{LSE}(z)/\partial z_j = \mathrm{softmax}(z)_j`.

    Each row's log-sum-exp depends only on that row, so this is also the gradient of their sum.

    >>> logsumexp_grad([0.0, np.log(3.0)])
    array([0.25, 0.75])
    """
    return softmax(v.logits(logits))


@register(
    name="log_softmax",
    family="softmax",
    wrt=("logits",),
    grad_kind="jacobian",
    params=(Param("logits", v.LOGITS),),
    paper=_BLANCHARD,
    formula=r"\log p_{i} = - \log{\left(\sum_{c=1}^{C} e^{{z}_{c}} \right)} + {z}_{i}",
    gradient=r"\frac{\partial \log p_i}{\partial z_{j}} = \delta_{i j} - {p}_{j}",
    stress=lambda: cases.softmax_stress(targets=False, reduction=False),
    shift_invariant=("logits",),
)
def log_softmax(logits: ArrayLike) -> np.ndarray:
    r"""Log of the softmax over the class axis (last): :math:`\log p_i = z_i - \mathrm{LSE}(z)`.

    Both terms of :math:`(z_i - m) - \log(1 + \sum_{j\ne k} e^{z_j - m})` are :math:`\le 0`, so every
    entry, including the largest (close to 0), is accurate to a few ulps relative. Masked classes
    (``-inf``) give ``-inf``. Jacobian: :func:`log_softmax_grad`.

    Args:
        logits: array of shape ``(..., C)``, ``C >= 1``.

    Returns:
        array of the same shape.

    >>> log_softmax([100.0, 0.0])  # the first entry is -log1p(e^-100), not 0
    array([-3.72007598e-44, -1.00000000e+02])

    Reference: Blanchard, Higham & Higham (2021), Algorithm 4.
    """
    return _log_softmax(v.logits(logits))


@gradient_of("log_softmax")
def log_softmax_grad(logits: ArrayLike) -> np.ndarray:
    r"""Jacobian of :func:`log_softmax`: ``J[..., i, j] = d log p_i / d z_j = delta_ij - p_j``.

    Shape ``logits.shape + (C,)``: the output index is second to last, the input index last. Rows of
    masked classes (``z_i = -inf``) are 0, since their output is the constant ``-inf``.

    >>> log_softmax_grad([0.0, np.log(3.0)])
    array([[ 0.75, -0.75],
           [-0.25,  0.25]])
    """
    z = v.logits(logits)
    logp = _log_softmax(z)
    jac = -np.exp(logp)[..., None, :] + np.zeros(z.shape[-1:] * 2)
    # The diagonal 1 - p_i as -expm1(log p_i): at a logit gap of 40, 1 - p_0 = 4.2e-18 would round to 0.
    diagonal = np.arange(z.shape[-1])
    jac[..., diagonal, diagonal] = -np.expm1(logp)
    return np.where(np.isneginf(z)[..., :, None], 0.0, jac)
