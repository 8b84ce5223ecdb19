r"""Entropy and KL divergence of softmax distributions given by logits (nats, class axis last).

Both are sums of :math:`p \log(\cdot)` terms; masked classes (``-inf`` logits, :math:`p = 0`) follow
the convention :math:`0 \log 0 = 0`. ``"mean"`` averages over the rows, i.e. divides the sum by
``prod(shape[:-1])``. PyTorch's ``kl_div(..., reduction="batchmean")`` divides by ``input.size(0)``
instead: the two agree for 2-D input ``(N, C)`` only (for ``(N, d, C)`` batchmean divides by N, refloss by
N d; for 1-D input batchmean divides by C, refloss by 1). PyTorch's elementwise ``"mean"`` divides by
``numel`` and agrees with neither.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .. import _cases as cases
from .. import _validate as v
from .._reduce import check_reduction, reduce, reduce_scale
from .._registry import Paper, Param, gradient_of, register
from ..numerics import _log_softmax, logits_from_max, one_plus_xm1_expx, plogq

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


def _entropy_parts(logits, reduction):
    z = v.logits(logits)
    check_reduction(reduction)
    logp = _log_softmax(z)
    p = np.exp(logp)
    return p, logp, -plogq(p, logp).sum(axis=-1)


@register(
    name="softmax_entropy",
    family="entropy",
    wrt=("logits",),
    params=(Param("logits", v.LOGITS), Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True),
            _REDUCTION),
    paper=_SHANNON,
    strategy=lambda extreme: _entropy_cases(extreme),
    stress=lambda: {**cases.softmax_stress(targets=False),
                    **{f"{k}__base_2": {**c, "base": 2.0} for k, c in cases.softmax_stress(targets=False).items()
                       if k in ("gaps__target_dominant", "ties")}},
    shift_invariant=("logits",),
)
def softmax_entropy(logits: ArrayLike, *, base: float | None = None, reduction: str = "mean"):
    r"""Shannon entropy of :math:`p = \mathrm{softmax}(z)` along the last axis, in nats (or in ``base``).

    .. math:: H = -\sum_j p_j \log p_j

    Evaluated as a sum of non-negative terms :math:`-p_j \log p_j` with an accurate log-softmax,
    not as :math:`\mathrm{LSE}(z) - \sum_j p_j z_j`, which cancels when the distribution is peaked.
    Gradient: :func:`softmax_entropy_grad`.

    ``base`` sets the unit, as in :func:`scipy.stats.entropy`: ``None`` for nats, 2 for bits; the value (and
    the gradient) is then divided by :math:`\log(\mathrm{base})`.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"`` (shape ``logits.shape[:-1]``).

    >>> round(softmax_entropy([0.0, 0.0, 0.0, 0.0]), 15)  # log 4
    1.386294361119891
    >>> float(softmax_entropy([0.0, 0.0, 0.0, 0.0], base=2))  # log2 4: two bits
    2.0
    >>> softmax_entropy([[30.0, 0.0]], reduction="none")  # ~ 31 e^-30, not lost to cancellation
    array([2.90086312e-12])
    """
    log_base = _log_base(base)
    return reduce(_entropy_parts(logits, reduction)[2] / log_base, reduction)


@gradient_of("softmax_entropy")
def softmax_entropy_grad(logits: ArrayLike, *, base: float | None = None, reduction: str = "mean"):
    r"""Gradient of :func:`softmax_entropy` (closed form below).

    :math:`-p_j(\log p_j + H)` cancels when :math:`p` is nearly uniform (:math:`\log p_j \approx -H`);
    refloss evaluates the equal :math:`-p_j\,(z_j - \sum_c p_c z_c)` with the logits measured from their
    maximum, which cancels only as much as the logits themselves differ. Masked classes get 0.

    >>> softmax_entropy_grad([[0.0, 0.0]])  # the uniform distribution is a stationary point
    array([[0., 0.]])
    """
    z = v.logits(logits)
    check_reduction(reduction)
    log_base = _log_base(base)
    p = np.exp(_log_softmax(z))
    # z - max, with 0 where p = 0 (masked, or beyond the float64 range): those terms are p_j * (...) = 0.
    zm = np.where(p > 0, logits_from_max(z), 0.0)
    centred = zm - (p * zm).sum(axis=-1, keepdims=True)
    return -reduce_scale(z.shape[:-1], reduction) / log_base * p * centred


class KLDivergenceGrad(NamedTuple):
    """Gradients of :func:`kl_divergence_logits`, one per differentiable input."""

    p_logits: np.ndarray
    q_logits: np.ndarray


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


def _kl_terms(p_logits, q_logits, reduction) -> _KLTerms:
    a = v.logits(p_logits, "p_logits")
    b = v.logits(q_logits, "q_logits")
    v.same_shape(a, b, "p_logits", "q_logits")
    check_reduction(reduction)
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


@register(
    name="kl_divergence_logits",
    family="entropy",
    wrt=("p_logits", "q_logits"),
    params=(
        Param("p_logits", v.LOGITS),
        Param("q_logits", v.ArrayArg("logits of the second distribution, same shape as p_logits")),
        _REDUCTION,
    ),
    paper=_KULLBACK,
    strategy=lambda extreme: _kl_cases(extreme),
    stress=lambda: _kl_stress(),
    shift_invariant=("p_logits", "q_logits"),
)
def kl_divergence_logits(p_logits: ArrayLike, q_logits: ArrayLike, *, reduction: str = "mean"):
    r"""KL divergence :math:`\mathrm{KL}(\mathrm{softmax}(a) \,\|\, \mathrm{softmax}(b))` along the last axis.

    .. math:: \mathrm{KL}(p\,\|\,q) = \sum_j p_j(\log p_j - \log q_j) = \sum_j q_j\,\varphi(u_j),
              \quad u_j = \log\frac{p_j}{q_j},\ \varphi(u) = 1 + (u - 1)e^u \ge 0

    in nats. The right-hand form (equal because :math:`\sum_j p_j = \sum_j q_j = 1`) adds non-negative
    terms, with :math:`u` from differences of logits, so the divergence of two nearly equal distributions
    (:math:`\mathrm{KL} \approx \tfrac12 \sum_j q_j u_j^2`) keeps its digits where the left-hand sum of
    terms of both signs returns rounding noise. Classes masked in ``p_logits``
    contribute 0; a class masked in ``q_logits`` but not in ``p_logits`` makes the divergence +inf.
    PyTorch's ``F.kl_div(log_q, log_p, log_target=True, reduction="batchmean")`` is this with ``"mean"``
    for 2-D input only (module docstring: the denominators differ otherwise). Gradients:
    :func:`kl_divergence_logits_grad` (a NamedTuple for both inputs).

    Args:
        p_logits: float array ``(..., C)``.
        q_logits: float array of the same shape.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    >>> round(kl_divergence_logits([0.0, 0.0], [0.0, np.log(3.0)]), 15)  # log 2 - (1/2) log 3
    0.143841036225890
    """
    return reduce(_kl_terms(p_logits, q_logits, reduction).kl, reduction)


@gradient_of("kl_divergence_logits")
def kl_divergence_logits_grad(p_logits: ArrayLike, q_logits: ArrayLike, *, reduction: str = "mean") -> KLDivergenceGrad:
    r"""Gradients of :func:`kl_divergence_logits` with respect to both inputs (closed forms below).

    :math:`\log p_j - \log q_j - \mathrm{KL}` equals :math:`e_j - \sum_c p_c e_c` for the logit
    differences :math:`e = (a - a_k) - (b - b_k)` taken from the class :math:`k` that is most probable under
    :math:`p`; refloss evaluates that form, which does not cancel when :math:`p` is peaked (where the first
    subtracts two numbers close to :math:`\log p_k - \log q_k`). :math:`q_j - p_j` is taken as
    :math:`-q_j\,\mathrm{expm1}(u_j)` with :math:`u_j = \log(p_j/q_j)` from logit differences where
    :math:`|u_j| < 1`, so that two close probabilities are not subtracted.

    Raises:
        RefLossError: when the divergence is +inf (p puts mass where q has none).

    >>> g = kl_divergence_logits_grad([[0.0, 0.0]], [[0.0, np.log(3.0)]])
    >>> g.q_logits
    array([[-0.25,  0.25]])
    """
    t = _kl_terms(p_logits, q_logits, reduction)
    grad_p, grad_q = _kl_gradients(t)
    scale = reduce_scale(t.kl.shape, reduction)
    return KLDivergenceGrad(p_logits=scale * grad_p, q_logits=scale * grad_q)


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


def _entropy_cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, _ = cases.draw_logits(draw, extreme)
        return {"logits": z, "base": draw(st.sampled_from([None, 2.0, 10.0, 0.5])),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()


def _kl_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        a, mask = cases.draw_logits(draw, extreme)
        b = draw(hnp.arrays(np.float64, a.shape, elements=cases.floats(cases.EXTREME if extreme else cases.MODERATE)))
        # q may be masked only where p is: otherwise KL(p || q) = +inf.
        q_mask = mask & draw(hnp.arrays(np.bool_, a.shape))
        return {"p_logits": a, "q_logits": np.where(q_mask, -np.inf, b),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()


def _kl_stress():
    gaps, zeros = cases.GAP_ROWS, np.zeros_like(cases.GAP_ROWS)
    near = cases.TIE_ROWS
    return {
        "peaked_p__uniform_q": {"p_logits": gaps, "q_logits": zeros, "reduction": "none"},
        "uniform_p__peaked_q": {"p_logits": zeros, "q_logits": gaps, "reduction": "none"},
        "both_peaked": {"p_logits": gaps, "q_logits": gaps[::-1] * 0.5, "reduction": "none"},
        "near_ties": {"p_logits": near, "q_logits": near[::-1], "reduction": "none"},
        "masked": {"p_logits": cases.MASKED_ROWS, "q_logits": np.array([[1.0, 2.0, 0.0], [0.0, 0.5, -np.inf],
                                                                         [-1.0, 0.0, 4.0]]), "reduction": "none"},
        "reduction_mean": {"p_logits": gaps[:3], "q_logits": zeros[:3], "reduction": "mean"},
        "defaults": {"p_logits": gaps[:3], "q_logits": near[:3]},
        # q's mode thousands above p's: logit gaps far larger than the log-ratios they produce
        "uniform_p__q_peaked_by_thousands": {"p_logits": np.array([[-0.99999, -0.99999], [0.0, 0.0]]),
                                             "q_logits": np.array([[2684.6121123613884, 8002.959790530334],
                                                                   [-3000.7, 0.2]]), "reduction": "none"},
        # p and q agree on the classes that carry their mass and differ on a tail class 5 logits apart:
        # L = log(q_k / p_k) = 5e-4 from a sum over the classes, not from two logs of about -0.69
        "close_but_a_far_tail": {"p_logits": np.array([[0.0, 0.0, -15.0]]),
                                 "q_logits": np.array([[0.0, 0.001, -20.0]]), "reduction": "sum"},
    }
