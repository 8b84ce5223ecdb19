"""``softmax_tsallis_entropy``: the Tsallis entropy of softmax(z); value, closed-form gradient, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.special
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Paper, Param, gradient_of, register, value_and_grad_of
from ...numerics import expm1mx, softmax_parts
from ._common import _REDUCTION

_TSALLIS = Paper("Possible generalization of Boltzmann-Gibbs statistics",
                 where="C. Tsallis, J. Stat. Phys. 52, 479-487 (1988), Eqs. 1-2 (k = 1)")
_ORDER = v.Interval(0.0, lo_open=True)


def _logits_and_order(logits, q, reduction):
    z = v.logits(logits)
    check_reduction(reduction)
    return z, v.scalar(q, _ORDER, "q")


def _tsallis_terms(logp: np.ndarray, q: float) -> np.ndarray:
    """p_c (1 - p_c^(q-1)) / (q - 1) >= 0 per class: p (-log p) exprel((q-1) log p), or, where (q-1) log p > 1
    (q < 1, p small: p e^{(q-1) log p} would overflow first, or p underflow before p^q does),
    p^q (-expm1(-(q-1) log p)) / (1 - q). Masked classes (log p = -inf) give 0."""
    t = q - 1.0
    live = np.isfinite(logp)
    lp = np.where(live, logp, 0.0)
    x = t * lp
    small = x <= 1.0
    near = np.exp(lp) * -lp * scipy.special.exprel(np.where(small, x, 0.0))
    far = np.exp(q * lp) * -np.expm1(-np.where(small, 0.0, x)) / (-t if t < 0.0 else 1.0)
    return np.where(live, np.where(small, near, far), 0.0)


def _p_times_expm1mx(logp: np.ndarray, y: np.ndarray) -> np.ndarray:
    """p (e^y - 1 - y) with p = e^logp, without an overflow of e^y or an underflow of p before the product."""
    small = y <= 1.0
    ys = np.where(small, 0.0, y)
    return np.where(small, np.exp(logp) * expm1mx(np.where(small, y, 0.0)),
                    np.exp(logp + ys) * (1.0 - (1.0 + ys) * np.exp(-ys)))


@register(
    name="softmax_tsallis_entropy",
    family="entropy",
    wrt=("logits",),
    params=(
        Param("logits", v.LOGITS),
        Param("q", _ORDER, "the order; q = 1 is Shannon's entropy, q = 2 the Gini-Simpson index"),
        _REDUCTION,
    ),
    paper=_TSALLIS,
    stress=lambda: cases.softmax_stress(targets=False, q=(1e-3, 0.5, 1.0, 1.0 + 2.0**-40, 2.0, 5.0)),
    shift_invariant=("logits",),
    sample_weight=True,
)
def softmax_tsallis_entropy(logits: ArrayLike, *, q: float = 2.0, reduction: str = "mean"):
    r"""Tsallis entropy of order ``q`` of :math:`p = \mathrm{softmax}(z)` along the last axis.

    .. math:: S_q = \frac{1 - \sum_c p_c^q}{q - 1}, \qquad S_1 = -\sum_c p_c \log p_c

    (Tsallis 1988, Eqs. 1-2, with :math:`k = 1`). Evaluated as the sum of non-negative terms
    :math:`p_c\,(-\log p_c)\,\mathrm{exprel}((q-1)\log p_c)`, which is continuous through :math:`q = 1` and keeps
    its digits where :math:`1 - \sum_c p_c^q` cancels (near :math:`q = 1`, and for a peaked row). Conventions:
    :math:`q > 0` (a masked class contributes :math:`0^q = 0`); the default order :math:`q = 2` is refloss's
    (the paper names none); ``"mean"`` averages over rows; a row with one class has :math:`S_q = 0`.
    Gradient: :func:`softmax_tsallis_entropy_grad`; derivation: ``proofs/entropy/softmax_tsallis_entropy.py``.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        q: the order, > 0 (default 2).
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"`` (shape ``logits.shape[:-1]``).

    >>> float(softmax_tsallis_entropy([0.0, 0.0, 0.0, 0.0]))  # 1 - 4 (1/4)^2
    0.75
    >>> round(softmax_tsallis_entropy([0.0, 0.0], q=1.0), 15)  # Shannon: log 2
    0.693147180559945
    >>> softmax_tsallis_entropy([[40.0, 0.0]], reduction="none")  # 2 e^-40, where 1 - sum p^2 returns 0
    array([8.49670851e-18])
    """
    z, q = _logits_and_order(logits, q, reduction)
    (rows,) = _passes(z, _entropy_with(q))
    return reduce(rows.reshape(z.shape[:-1]), reduction)


@gradient_of("softmax_tsallis_entropy")
def softmax_tsallis_entropy_grad(logits: ArrayLike, *, q: float = 2.0, reduction: str = "mean"):
    r"""Gradient of :func:`softmax_tsallis_entropy` (closed form below; :math:`-p_j(\log p_j + H)` at q = 1).

    Evaluated as :math:`q\,p_j^q\,D_j\,\mathrm{exprel}((q-1) D_j)` with :math:`D_j = (M - r) - (z_j - r)`,
    :math:`r = \sum_c p_c z_c` and :math:`M - r` from a sum of terms of one sign (the derivation page says
    why): nothing of size :math:`\log C` is subtracted, so a nearly uniform row keeps its digits, and the
    form is continuous through :math:`q = 1`. Masked classes get 0.

    >>> softmax_tsallis_entropy_grad([[0.0, 0.0]])  # the uniform distribution is a stationary point
    array([[0., 0.]])
    >>> softmax_tsallis_entropy_grad([[np.log(3.0), 0.0]], reduction="sum")  # 2 p0 p1 (p1 - p0), p = (3/4, 1/4)
    array([[-0.1875,  0.1875]])
    """
    z, q = _logits_and_order(logits, q, reduction)
    (grad,) = _passes(z, _gradient_with(q))
    return _scaled(z, grad, reduction)


@value_and_grad_of("softmax_tsallis_entropy")
def _softmax_tsallis_entropy_value_and_grad(logits: ArrayLike, *, q: float = 2.0, reduction: str = "mean"):
    """:func:`softmax_tsallis_entropy` and its gradient from one log-softmax per block of rows."""
    z, q = _logits_and_order(logits, q, reduction)
    rows, grad = _passes(z, _entropy_with(q), _gradient_with(q))
    return reduce(rows.reshape(z.shape[:-1]), reduction), _scaled(z, grad, reduction)


class _TsallisTerms(NamedTuple):
    """The terms of a block of rows (N, C)."""

    shifted: np.ndarray  # z - max
    logp: np.ndarray


def _tsallis_rows(z: np.ndarray) -> _TsallisTerms:
    """The log-softmax of validated rows (all of them, or a block), and their logits from the row maximum."""
    shifted, _, log_total, _ = softmax_parts(z)
    return _TsallisTerms(shifted, shifted - log_total)


def _passes(z: np.ndarray, *outputs):
    return outputs_by_rows(_tsallis_rows, outputs, as_rows(z))


def _entropy_with(q: float):
    """S_q of each row of a block (N,)."""
    return lambda t: _tsallis_terms(t.logp, q).sum(axis=-1)


def _gradient_with(q: float):
    """The unreduced gradient of a block's rows (N, C)."""
    return lambda t: _rows_gradient(t.shifted, t.logp, q)


def _scaled(z: np.ndarray, grad: np.ndarray, reduction: str) -> np.ndarray:
    grad *= reduce_scale(z.shape[:-1], reduction)
    return grad.reshape(z.shape)


def _rows_gradient(shifted: np.ndarray, logp: np.ndarray, q: float) -> np.ndarray:
    """The unreduced gradient of validated rows (all of them, or a block), from their logits less the row maximum
    and their log-softmax."""
    t = q - 1.0
    live = np.isfinite(logp)  # not masked (p^q may matter for a small q where p itself underflows)
    lp = np.where(live, logp, -np.inf)
    p = np.exp(lp)
    zm = np.where(live, shifted, 0.0)  # logits from the row maximum
    centred = zm - (p * zm).sum(axis=-1, keepdims=True)
    # t D_j = log sum_c p_c^q - (q - 1) log p_j = (LSE_c(q z'_c) - q z'_j) + log p_j with z' = z - max: finite for
    # any q, and exact in q (q - 1 rounds once q passes 2^53)
    lse_q = scipy.special.logsumexp(np.where(live, q * zm, -np.inf), axis=-1, keepdims=True)
    far_x = np.where(live, (lse_q - q * zm) + np.where(live, logp, 0.0), 0.0)
    if t == 0.0:
        d = -centred  # D_j = r - z_j: Shannon's logit form
    else:
        # rows whose t (z_c - r) stay within the exponent range: M - r from terms of one sign; the others take
        # D_j from the log-sum-exp, whose rounding is then relative to the distances
        in_range = np.abs(t * centred).max(axis=-1, keepdims=True, initial=0.0) <= 700.0
        y = np.where(in_range, t * centred, 0.0)
        w = _p_times_expm1mx(lp, y).sum(axis=-1, keepdims=True) / t  # every term has the sign of t
        tw = t * w  # >= 0
        d = np.where(in_range, np.where(tw > 0, w * np.log1p(tw) / np.where(tw > 0, tw, 1.0), w) - centred,
                     far_x / t)
    x = t * d
    small = x <= 1.0
    log_power_sum = scipy.special.logsumexp(np.where(live, q * lp, -np.inf), axis=-1, keepdims=True)
    near = q * np.exp(q * np.where(live, logp, 0.0)) * d * scipy.special.exprel(np.where(small, x, 0.0))
    # (q/t) e^{q log p_j + t D_j} (-expm1(-t D_j)), the exponent log p_j + log sum_c p_c^q <= log p_j
    far = q / (t if t != 0.0 else 1.0) * np.exp(np.where(live, logp, 0.0) + log_power_sum) \
        * -np.expm1(-np.where(small, 0.0, far_x))
    return np.where(live, np.where(small, near, far), 0.0)
