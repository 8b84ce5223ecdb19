"""The entropy family's shared parts: the KL terms of two rows of logits and their gradients (also used by
``linear_kl`` and accel), the log of a base, the papers."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ... import _validate as v
from ..._reduce import check_reduction
from ..._registry import Paper, Param
from ...numerics import _log_softmax, expm1mx, one_plus_xm1_expx

_REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' over rows | 'sum' | 'none'")


_SHANNON = Paper("A Mathematical Theory of Communication", where="C. E. Shannon, Bell Syst. Tech. J. 27, 1948")


_KULLBACK = Paper("On Information and Sufficiency",
                  where="S. Kullback, R. A. Leibler, Ann. Math. Statist. 22(1), 1951")


_BASE = v.Interval(0.0, lo_open=True)


def _log_base(base) -> float:
    """log(base) for the unit of an information quantity: 1 (nats) for None, else base > 0, base != 1."""
    if base is None:
        return 1.0
    b = v.scalar(base, _BASE, "base")
    if b == 1.0:
        raise v.RefLossError("base must not be 1 (log 1 = 0 is no unit)")
    return math.log(b)


def _close_log_ratio(a, b, k, p, q, logp, logq, e_both, both, in_q, from_ends):
    """Where L = log(q_k / p_k) is better taken as log1p(S), S = sum_c q_c (e^{e_c} - 1) = q_k / p_k - 1, than
    as log q_k - log p_k (``from_ends``, rounded to about eps (|log q_k| + |log p_k|), all of it where p is close
    to q and L small): ``(close, log1p(S))``. The terms of S are differences of logits: q_c expm1(e_c) where
    |e_c| < 1 and p_c rho - q_c elsewhere (q_c e^{e_c} = p_c q_k / p_k, with rho = e^from_ends), so a class that
    carries little mass under both costs S little however far its logits are; log1p(S) is taken where its
    rounding, about eps sum_c err_c / (1 + S), is the smaller, with err_c = |term_c| (2 + |log q_c|) +
    p_c rho (|a_c - a_k| + |b_c - b_k|) for the first form and p_c rho (|log p_c| + the ends' rounding) +
    q_c (1 + |log q_c|) for the second; never where q has a class that p lacks."""
    rho = np.exp(from_ends)
    a_k, b_k = np.take_along_axis(a, k, -1), np.take_along_axis(b, k, -1)
    near = np.abs(e_both) < 1.0
    scaled = p * rho  # q_c e^{e_c}
    term = np.where(both, np.where(near, q * np.expm1(np.where(near, e_both, 0.0)), scaled - q), 0.0)
    total = term.sum(axis=-1, keepdims=True)
    ends = np.abs(np.take_along_axis(logq, k, -1)) + np.abs(np.take_along_axis(logp, k, -1))
    log_p, log_q = np.where(both, logp, 0.0), np.where(both, logq, 0.0)
    gaps = np.where(both, np.abs(a - a_k) + np.abs(b - b_k), 0.0)
    err = np.where(near, np.abs(term) * (2.0 + np.abs(log_q)) + scaled * gaps,
                   scaled * (np.abs(log_p) + ends) + q * (1.0 + np.abs(log_q)))
    err = np.where(both, err, 0.0).sum(axis=-1, keepdims=True)
    close = (both == in_q).all(axis=-1, keepdims=True) & (err < ends * (1.0 + total))
    return close, np.log1p(np.where(close, total, 0.0))


class _KLTerms(NamedTuple):
    p: np.ndarray
    q: np.ndarray
    log_ratio: np.ndarray  # u = log(p / q), -inf where p = 0
    p_e: np.ndarray  # p_c e_c, e = (a - a_k) - (b - b_k), k the most probable class under p; 0 where p = 0
    terms: np.ndarray  # q_c phi(u_c) >= 0, whose sum over the row is the KL
    kl: np.ndarray


def _kl_inputs(p_logits, q_logits, reduction) -> tuple[np.ndarray, np.ndarray]:
    a = v.logits(p_logits, "p_logits")
    b = v.logits(q_logits, "q_logits")
    v.same_shape(a, b, "p_logits", "q_logits")
    check_reduction(reduction)
    return a, b


def _kl_terms(p_logits, q_logits, reduction) -> _KLTerms:
    return _kl_rows(*_kl_inputs(p_logits, q_logits, reduction))


def _kl_rows(a: np.ndarray, b: np.ndarray) -> _KLTerms:
    """The terms of validated rows of logits (all of them, or a block)."""
    logp, logq = _log_softmax(a), _log_softmax(b)
    p, q = np.exp(logp), np.exp(logq)
    k = np.argmax(a, axis=-1)[..., None]
    with np.errstate(over="ignore", invalid="ignore"):  # masked classes (-inf - -inf), rows past float64: below
        e = (a - np.take_along_axis(a, k, -1)) - (b - np.take_along_axis(b, k, -1))
    # log p_c - log q_c = e_c - L, with L = log sum_c q_c e^{e_c} = log q_k - log p_k (the sum is q_k / p_k).
    in_q = ~np.isneginf(b)
    both = in_q & ~np.isneginf(a)
    e_both = np.where(both, e, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        from_ends = np.take_along_axis(logq, k, -1) - np.take_along_axis(logp, k, -1)
        close, near_zero = _close_log_ratio(a, b, k, p, q, logp, logq, e_both, both, in_q, from_ends)
    big_l = np.where(close, near_zero, from_ends)
    in_p = ~np.isneginf(a)
    # e_c - L subtracts terms as large as the logit gaps of both rows; log p_c - log q_c subtracts terms as
    # large as the log-probabilities. Each u_c is taken from the form whose terms are smaller: q peaked
    # away from p's mode makes e_c and L both ~ the gap of q while u_c is O(1) (p uniform, q = (e^-5318, 1):
    # the first form lost 12 digits of q_c - p_c; found by `refloss conform scipy`).
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf only in rows whose divergence is +inf
        from_gaps = e - big_l
        from_logs = logp - logq
        gap_terms = (np.abs(a - np.take_along_axis(a, k, -1)) + np.abs(b - np.take_along_axis(b, k, -1))
                     + np.abs(big_l))
        log_terms = np.abs(logp) + np.abs(logq)
        u = np.where(in_p & in_q, np.where(~close & (log_terms < gap_terms), from_logs, from_gaps), 0.0)
    # KL = sum_c p_c u_c = sum_c q_c phi(u_c), phi(u) = 1 + (u - 1) e^u >= 0 (using sum p = sum q = 1): a sum
    # of non-negative terms, with q_c phi(u_c) = q_c + (u_c - 1) p_c away from u = 0 (no 0 * inf where q
    # underflows), and q_c (the whole term) where p_c = 0.
    # p_c e_c, also where e_c itself is beyond the float64 range (a q logit 1.8e308 below q's at k) while
    # p_c e_c is not: then p_c (a_c - a_k) - p_c b_c + p_c b_k, whose large terms have the same sign.
    with np.errstate(over="ignore", invalid="ignore"):
        b_k = np.take_along_axis(b, k, -1)
        p_e = np.where(np.isinf(e) & (p > 0), p * (a - np.take_along_axis(a, k, -1)) - p * b + p * b_k, p * e)
    p_e = np.where(p > 0, p_e, 0.0)
    small = np.abs(u) < 1.0
    with np.errstate(invalid="ignore"):  # (u - 1) p = -inf * 0 where p underflows: that term is q below
        terms = np.where(small, q * one_plus_xm1_expx(np.where(small, u, 0.0)), q + p_e - (big_l + 1.0) * p)
    # p = 0 (masked, or beyond the float64 range): the term's limit q_c. The divergence is +inf exactly when
    # p_logits has a class that q_logits masks (decided on the masks, not on rounded probabilities).
    terms = np.where(p > 0, terms, q)
    kl = np.where((in_p & ~in_q).any(axis=-1), np.inf, terms.sum(axis=-1))
    return _KLTerms(p, q, np.where(in_p & in_q, u, -np.inf), p_e, terms, kl)


def _kl_gradients(t: _KLTerms) -> tuple[np.ndarray, np.ndarray]:
    """d KL / d a and d KL / d b per row, unreduced, in the evaluation forms of the docstring above."""
    if np.isinf(t.kl).any():
        raise v.RefLossError("kl_divergence_logits is +inf (q_logits is -inf where p has mass), "
                             "so its gradient is undefined")
    grad_p = t.p_e - t.p * t.p_e.sum(axis=-1, keepdims=True)
    u = t.log_ratio
    close = np.abs(u) < 1.0
    grad_q = np.where(close, -t.q * np.expm1(np.where(close, u, 0.0)), t.q - t.p)
    return grad_p, grad_q


# -- Renyi's measures (renyi_entropy, renyi_divergence) --------------------------------------------------------

_RENYI = Paper("On Measures of Entropy and Information",
               where="A. Renyi, Proc. 4th Berkeley Symp. Math. Statist. Probab. 1, 547-561 (1961); its equation "
                     "numbers not checked")

_VAN_ERVEN = Paper("Renyi Divergence and Kullback-Leibler Divergence", arxiv="1206.2459",
                   where="T. van Erven, P. Harremoes, IEEE Trans. Inf. Theory 60(7), 2014, Eq. (1) (Sec. I.A, finite "
                         "alphabets); the orders 0 and 1 as its limits")

_ORDER = v.Interval(0.0, with_inf=True)  # Renyi's order alpha in [0, inf], inf included (the min-entropy)


def _log_mean_exp(p: np.ndarray, logp: np.ndarray, x: np.ndarray, t: float, live: np.ndarray,
                  log_terms: np.ndarray | None = None) -> np.ndarray:
    r""":math:`\Delta = \log \sum_c p_c e^{t x_c}` over the ``live`` classes of each row (t != 0), shape (N, 1); the
    p_c of the live classes sum to 1, and :math:`\Delta / t` is the power mean of ``x`` (its mean as t -> 0).

    Near t = 0 (or where the sum stays near 1): :math:`\mathrm{log1p}(\sum_c p_c\,\mathrm{expm1}(t x_c))`, so that
    :math:`\Delta` keeps its digits however small it is; each term :math:`p_c\,\mathrm{expm1}(t x_c)`, or where
    :math:`t x_c > 1` (p_c may underflow while :math:`p_c e^{t x_c}` does not) :math:`e^{\log p_c + t x_c} - p_c`,
    two numbers a factor e apart. Where that sum is below -1/2 (log1p would amplify its rounding) or beyond the
    float64 range: the log-sum-exp of :math:`\log p_c + t x_c` with its maximum separated. ``x`` may be
    :math:`+\infty` where :math:`t < 0` (a class whose term is 0). ``log_terms``: :math:`\log p_c + t x_c` where the
    caller has a form of it with a smaller rounding error than the sum of the two (:math:`\alpha z'_c - \log S` for
    an entropy: :math:`\alpha z'_c` is exact where :math:`t x_c` carries an error of :math:`\epsilon |x_c|`)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # log 0 = -inf: no term (disjoint supports)
        tx = np.where(live, t * np.where(live, x, 0.0), 0.0)
        small = tx <= 1.0
        lp = np.where(live, logp, -np.inf)
        exponent = np.where(live, lp + tx if log_terms is None else log_terms, -np.inf)
        term = np.where(small, p * np.expm1(np.where(small, tx, 0.0)), np.exp(np.where(small, 0.0, exponent)) - p)
        total = np.where(live, term, 0.0).sum(axis=-1, keepdims=True)
        near = np.isfinite(total) & (total >= -0.5)
        out = np.log1p(np.where(near, total, 0.0))
        if near.all():
            return out
        top = np.max(exponent, axis=-1, keepdims=True)
        finite_top = np.where(np.isfinite(top), top, 0.0)
        far = top + np.log(np.exp(exponent - finite_top).sum(axis=-1, keepdims=True))
    return np.where(near, out, far)


def _p_expm1mx(logp: np.ndarray, y: np.ndarray) -> np.ndarray:
    """p (e^y - 1 - y) >= 0 with p = e^logp, without an overflow of e^y or an underflow of p before the product
    (+inf where the product itself passes the float64 range)."""
    small = y <= 1.0
    ys = np.where(small, 0.0, y)
    with np.errstate(over="ignore", invalid="ignore"):
        far = np.exp(logp + ys) * -np.expm1(np.log1p(ys) - ys)  # e^(logp + y) (1 - (1 + y) e^-y)
    return np.where(small, np.exp(logp) * expm1mx(np.where(small, y, 0.0)), far)


def _logit_gaps(a: np.ndarray, b: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log(p_j / q_j) - log(p_k / q_k) = (a_j - a_k) - (b_j - b_k) from the logits, taken as (a_j - b_j) - (a_k - b_k)
    where those terms are the smaller: for nearly equal logits a - b is exact (Sterbenz), while a_j - a_k and
    b_j - b_k round at the size of the logits (logits 1e-9 apart lost 7 digits of the divergence that way)."""
    at_k = np.take_along_axis
    a_k, b_k = at_k(a, k, -1), at_k(b, k, -1)
    with np.errstate(invalid="ignore", over="ignore"):
        within = (a - a_k) - (b - b_k)
        across = (a - b) - (a_k - b_k)
        smaller = np.abs(a - b) + np.abs(a_k - b_k) < np.abs(a - a_k) + np.abs(b - b_k)
        return np.where(smaller & np.isfinite(across), across, within)


def _log_ratios(a: np.ndarray, b: np.ndarray, logp: np.ndarray, logq: np.ndarray,
                kl_log_ratio: np.ndarray) -> np.ndarray:
    """u = log(p / q) of every class, -inf where p is masked, +inf where q masks a class of p.

    KL's (``_KLTerms.log_ratio``), but e_j - L with the gaps e of :func:`_logit_gaps` (from the class k most
    probable under p of those where q has mass) in two kinds of row: where q masks a class of p (the KL divergence is
    +inf there and its u is not taken; a Renyi divergence below the order 1 and the Jensen-Shannon divergence are
    finite), with L = log q_k - log p_k, or log p_j - log q_j where that adds the smaller terms (KL's rule); and
    where p and q are close (every gap below 1 in size), with L = log1p(sum_c q_c expm1(e_c)) = log(q_k / p_k), so
    that nearly equal logits keep the digits of their differences."""
    in_p, in_q = ~np.isneginf(a), ~np.isneginf(b)
    both = in_p & in_q
    u = kl_log_ratio
    beside = (in_p & ~in_q).any(axis=-1, keepdims=True)
    k = np.argmax(np.where(both, a, -np.inf), axis=-1)[..., None]
    e = _logit_gaps(a, b, k)
    at_k = np.take_along_axis
    with np.errstate(invalid="ignore", over="ignore"):
        close = ~beside & (np.where(both, np.abs(e), 0.0) < 1.0).all(axis=-1, keepdims=True)
        terms = np.where(in_q, np.exp(logq) * np.expm1(np.where(both, e, -np.inf)), 0.0)  # -q_c where p is masked
        total = terms.sum(axis=-1, keepdims=True)
        close &= total >= -0.5
        u = np.where(close, e - np.log1p(np.where(close, total, 0.0)), u)
        if beside.any():
            ends = at_k(logq, k, -1) - at_k(logp, k, -1)
            gaps = np.abs(a - at_k(a, k, -1)) + np.abs(b - at_k(b, k, -1)) + np.abs(ends)
            from_gaps = e - ends
            from_logs = logp - logq
            use_logs = ~np.isfinite(from_gaps) | (np.abs(logp) + np.abs(logq) < gaps)
            u = np.where(beside, np.where(use_logs, from_logs, from_gaps), u)
    return np.where(both, u, np.where(in_p, np.inf, -np.inf))


def _mode_gradient(p: np.ndarray, z: np.ndarray, modes: np.ndarray, live: np.ndarray) -> np.ndarray:
    """p_j - [j in T] / m over the ``live`` classes (0 elsewhere), T the row's ``modes`` and m = |T| >= 1, with p =
    softmax(z) (the min-entropy's gradient, and either side of the Renyi divergence of order inf). Off T it is p_j;
    at a mode j of T, 1/m - p_j = (sum_{c not in T} p_c + sum_{c in T} (p_c - p_j)) / m (the p's summing to 1),
    each p_c - p_j = d_c - d_j, d_c = p_c - p_r from the first mode r, as p_r expm1(z_c - z_r) where
    |z_c - z_r| < 1: no difference of nearly equal numbers (p_k - 1 for a peaked row, p_j - 1/2 at logits (40, 40, 0),
    where log p_j + log 2 rounds to 0)."""
    m = modes.sum(axis=-1, keepdims=True).astype(np.float64)
    r = np.argmax(modes, axis=-1)[..., None]
    p_r, z_r = np.take_along_axis(p, r, -1), np.take_along_axis(z, r, -1)
    with np.errstate(invalid="ignore", over="ignore"):
        gap = np.where(modes, z - z_r, 0.0)
        near = np.abs(gap) < 1.0
        d = np.where(modes, np.where(near, p_r * np.expm1(np.where(near, gap, 0.0)), p - p_r), 0.0)
    outside = np.where(live & ~modes, p, 0.0).sum(axis=-1, keepdims=True)
    spread = d.sum(axis=-1, keepdims=True) - m * d  # sum_{c in T} (p_c - p_j)
    at_mode = -(outside + spread) / np.maximum(m, 1.0)
    return np.where(live, np.where(modes, at_mode, p), 0.0) + 0.0


def _lift_mode(z: np.ndarray, key: np.ndarray | None = None) -> np.ndarray:
    """``z`` with the largest entry of ``key`` (default ``z``) in each row raised by 1 (and any other entry tied
    with it left below): the mode is then unique by a gap of 1 at least."""
    key = z if key is None else key
    k = np.argmax(key, axis=-1)[..., None]
    out = np.array(z, dtype=np.float64, copy=True)
    np.put_along_axis(out, k, np.take_along_axis(out, k, -1) + 1.0, axis=-1)
    return out
