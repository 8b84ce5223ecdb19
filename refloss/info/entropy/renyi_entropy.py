"""``renyi_entropy``: the Renyi entropy of order alpha of softmax(z); value, closed-form gradient, registration."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ...numerics import plogq, softmax_parts
from ._common import _BASE, _ORDER, _REDUCTION, _RENYI, _lift_mode, _log_base, _log_mean_exp, _mode_gradient

#: The orders every check covers: the ends of the domain (0: Hartley; inf: the min-entropy), Shannon's 1 and its
#: two neighbours 2^-30 away (the removable singularity), the collision entropy 2, and an order far out (50), where
#: the power sum underflows for any row that is not nearly uniform. The first is the one the extreme inputs use.
_STRESS_ORDERS = (0.5, 0.0, 1.0 - 2.0**-30, 1.0, 1.0 + 2.0**-30, 2.0, 50.0, math.inf)


def _inputs(logits, alpha, base, reduction):
    z = v.logits(logits)
    check_reduction(reduction)
    return z, v.scalar(alpha, _ORDER, "alpha"), _log_base(base)


@register(
    name="renyi_entropy",
    family="entropy",
    wrt=("logits",),
    params=(
        Param("logits", v.LOGITS),
        Param("alpha", _ORDER, "the order; 0 is Hartley's log of the support size, 1 Shannon's entropy, 2 the "
                               "collision entropy, inf the min-entropy -log max p"),
        Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True),
        _REDUCTION,
    ),
    paper=_RENYI,
    strategy=lambda extreme: _renyi_cases(extreme),
    stress=lambda: _stress(),
    shift_invariant=("logits",),
    sample_weight=True,
)
def renyi_entropy(logits: ArrayLike, *, alpha: float, base: float | None = None, reduction: str = "mean"):
    r"""Renyi entropy of order ``alpha`` of :math:`p = \mathrm{softmax}(z)` along the last axis, in nats (or ``base``).

    .. math:: H_\alpha = \frac{1}{1 - \alpha} \log \sum_c p_c^\alpha, \qquad
              H_1 = -\sum_c p_c \log p_c, \qquad H_0 = \log |\{c : p_c > 0\}|, \qquad
              H_\infty = -\log \max_c p_c

    (Renyi 1961); the orders 0, 1 and :math:`\infty` are the limits of the general form, taken exactly as branches
    of the definition. :math:`H_\infty` (the min-entropy) is :math:`\mathrm{LSE}(z) - \max_c z_c
    = \mathrm{log1p}(\sum_{c \ne k} e^{z_c - z_k})` for a mode :math:`k`, exact from the logits. Otherwise evaluated
    as the sum of two non-negative terms, :math:`H_\alpha = \log \sum_c e^{z'_c} - M_t`, with :math:`z' = z - \max z`,
    :math:`t = \alpha - 1` and the power mean :math:`M_t = \frac1t \log \sum_c p_c e^{t z'_c} \le 0` (of numbers
    :math:`z'_c \le 0`), which is :math:`\frac1t\,\mathrm{log1p}(\sum_c p_c\,\mathrm{expm1}(t z'_c))`: one sign in every
    term, continuous through :math:`\alpha = 1`, nothing subtracted from :math:`\log C`. Where that sum is below
    :math:`-1/2` (a large order, the power sum far below 1) the power mean is a log-sum-exp instead.

    Conventions: ``alpha`` in :math:`[0, \infty]` with no default (the paper names none); a masked class
    (``-inf``) is outside the support, also for the order 0, while a class whose probability merely underflows is in
    it; ``base`` as :func:`scipy.stats.entropy`; ``"mean"`` averages over rows; a row of one class has
    :math:`H_\alpha = 0`. Gradient: :func:`renyi_entropy_grad`; derivation: ``proofs/entropy/renyi_entropy.py``.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        alpha: the order, >= 0; ``np.inf`` for the min-entropy.
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"`` (shape ``logits.shape[:-1]``).

    >>> round(renyi_entropy([0.0, np.log(3.0)], alpha=2.0), 15)  # -log(1/16 + 9/16)
    0.470003629245736
    >>> float(renyi_entropy([5.0, -np.inf, 0.0, -700.0], alpha=0.0))  # Hartley: three classes in the support
    1.0986122886681098
    >>> renyi_entropy([[40.0, 0.0]], alpha=2.0, reduction="none")  # 2 e^-40, where log(sum p^2) rounds to 0
    array([8.49670851e-18])
    >>> round(float(renyi_entropy([0.0, np.log(3.0)], alpha=np.inf)), 15)  # -log(3/4)
    0.287682072451781
    """
    z, alpha, log_base = _inputs(logits, alpha, base, reduction)
    (rows,) = _passes(z, _entropy_with(alpha))
    return _reduced(z, rows, reduction, log_base)


@gradient_of("renyi_entropy")
def renyi_entropy_grad(logits: ArrayLike, *, alpha: float, base: float | None = None, reduction: str = "mean"):
    r"""Gradient of :func:`renyi_entropy` (closed form below): with the escort distribution
    :math:`w_j = p_j^\alpha / \sum_c p_c^\alpha`,
    :math:`\partial H_\alpha / \partial z_j = \frac{\alpha}{1-\alpha}(w_j - p_j)`;
    Shannon's :math:`-p_j(\log p_j + H)` at :math:`\alpha = 1` and 0 at :math:`\alpha = 0`.

    :math:`w_j - p_j = p_j\,\mathrm{expm1}(t y_j)` with :math:`y_j = z'_j - M_t` (the logit's distance from the power
    mean of the value), so refloss evaluates :math:`-\alpha\,p_j\,y_j\,\mathrm{exprel}(t y_j)`: no difference of two
    nearly equal probabilities near :math:`\alpha = 1`, and Shannon's logit form :math:`-p_j(z'_j - \sum_c p_c z'_c)`
    at :math:`\alpha = 1`. Where :math:`|t y_j| > 1`, :math:`w_j` and :math:`p_j` differ by a factor e at least and
    :math:`\frac{\alpha}{1-\alpha}(w_j - p_j)` is taken as written, :math:`w_j = e^{\log p_j + t y_j}` (a class whose
    probability underflows while :math:`p_j^\alpha` does not keeps its share). For a large order the gradient tends
    to that of the min-entropy :math:`-\log \max_c p_c`, :math:`p_j - [j = k]` for a unique mode :math:`k`; modes that
    tie exactly share the escort weight equally. Masked classes get 0.

    At :math:`\alpha = \infty`: :math:`p_j - g_j` with :math:`g_j = [j \in T] / |T|`, :math:`T` the modes (the classes
    whose logit equals the row's maximum exactly). For a unique mode that is the derivative :math:`p_j - [j = k]`; at
    tied modes, where the min-entropy is not differentiable, the convention is that **tied modes share equally**
    (the centre of the subdifferential of :math:`\max`, and the limit :math:`\alpha \to \infty` of the gradient
    above). At the modes it is taken as :math:`-\frac{1}{|T|}\sum_{c \notin T} p_c`, so that :math:`p_k - 1` keeps its
    digits for a peaked row (and :math:`p_j - 1/2 \approx -e^{-40}/4` at logits (40, 40, 0)).

    >>> renyi_entropy_grad([[0.0, 0.0]], alpha=2.0)  # the uniform distribution is a stationary point
    array([[0., 0.]])
    >>> renyi_entropy_grad([[np.log(3.0), 0.0]], alpha=2.0, reduction="sum")  # 2 (w - p), w = (9, 1)/10, p = (3, 1)/4
    array([[-0.3,  0.3]])
    >>> renyi_entropy_grad([[1.0, 1.0, -np.inf]], alpha=np.inf)  # two tied modes share: p - (1/2, 1/2, 0)
    array([[0., 0., 0.]])
    """
    z, alpha, log_base = _inputs(logits, alpha, base, reduction)
    (grad,) = _passes(z, _gradient_with(alpha))
    return _scaled(z, grad, reduction, log_base)


@value_and_grad_of("renyi_entropy")
def _renyi_entropy_value_and_grad(logits: ArrayLike, *, alpha: float, base: float | None = None,
                                  reduction: str = "mean"):
    """:func:`renyi_entropy` and :func:`renyi_entropy_grad` from one log-softmax per block of rows."""
    z, alpha, log_base = _inputs(logits, alpha, base, reduction)
    rows, grad = _passes(z, _entropy_with(alpha), _gradient_with(alpha))
    return _reduced(z, rows, reduction, log_base), _scaled(z, grad, reduction, log_base)


class _RenyiTerms(NamedTuple):
    """The terms of a block of rows (N, C)."""

    shifted: np.ndarray  # z' = z - max (-inf where masked)
    log_total: np.ndarray  # log sum_c e^{z'_c} = -log p_k (N, 1)
    logp: np.ndarray
    p: np.ndarray
    live: np.ndarray  # log p finite: the classes whose p^alpha may count


def _renyi_rows(z: np.ndarray) -> _RenyiTerms:
    shifted, _, log_total, _ = softmax_parts(z)
    logp = shifted - log_total
    return _RenyiTerms(shifted, log_total, logp, np.exp(logp), np.isfinite(logp))


def _passes(z: np.ndarray, *outputs):
    return outputs_by_rows(_renyi_rows, outputs, as_rows(z))


def _log_mean(t: _RenyiTerms, alpha: float) -> np.ndarray:
    """log sum_c p_c e^{t z'_c}, t = alpha - 1 (N, 1): t times the power mean of z' (alpha != 0, 1)."""
    with np.errstate(invalid="ignore"):  # alpha (-inf) at the masked classes, which are not live
        log_terms = np.where(t.live, alpha * t.shifted, 0.0) - t.log_total  # log(p_c e^{t z'_c}) = alpha z'_c - log S
    return _log_mean_exp(t.p, t.logp, t.shifted, alpha - 1.0, t.live, log_terms)


def _entropy_with(alpha: float):
    """H_alpha of each row of a block (N,), in nats."""

    def entropy(t: _RenyiTerms) -> np.ndarray:
        if alpha == 0.0:  # Hartley: the masks decide the support, not the rounded probabilities
            return np.log(np.count_nonzero(~np.isneginf(t.shifted), axis=-1).astype(np.float64))
        if alpha == 1.0:  # Shannon's -sum p log p, as softmax_entropy evaluates it
            return -plogq(t.p, t.logp).sum(axis=-1)
        if alpha == math.inf:  # the min-entropy -log p_k = log1p(sum over all but one mode of e^{z'})
            return t.log_total[..., 0].copy()
        # log sum_c e^{z'_c} - M' with the power mean M' = log_mean / t <= 0: two terms >= 0
        return (t.log_total - _log_mean(t, alpha) / (alpha - 1.0))[..., 0]

    return entropy


def _gradient_with(alpha: float):
    """The unreduced gradient of a block's rows (N, C), in nats."""

    def gradient(t: _RenyiTerms) -> np.ndarray:
        if alpha == 0.0:
            return np.zeros_like(t.p)
        if alpha == 1.0:  # Shannon's -p_j (z'_j - sum_c p_c z'_c)
            zm = np.where(t.live, t.shifted, 0.0)
            return -t.p * (zm - (t.p * zm).sum(axis=-1, keepdims=True)) + 0.0  # (no -0.0)
        if alpha == math.inf:
            return _min_entropy_gradient(t)
        tm1 = alpha - 1.0
        log_mean = _log_mean(t, alpha)
        with np.errstate(over="ignore", invalid="ignore"):
            ty = np.where(t.live, tm1 * t.shifted - log_mean, 0.0)  # t y_j = t (z_j - M)
            small = np.abs(ty) <= 1.0
            near = (-alpha / tm1) * t.p * np.expm1(np.where(small, ty, 0.0))
            # w_j = p_j e^{t y_j} = e^{alpha z'_j - log S - log_mean}
            escort = np.exp(np.where(t.live & ~small, alpha * t.shifted, -np.inf) - t.log_total - log_mean)
            far = (-alpha / tm1) * (escort - t.p)
        return np.where(t.live, np.where(small, near, far), 0.0) + 0.0

    return gradient


def _min_entropy_gradient(t: _RenyiTerms) -> np.ndarray:
    """p_j - g_j, g the modes' equal shares (the modes: z'_j = 0 exactly)."""
    return _mode_gradient(t.p, t.shifted, t.live & (t.shifted == 0.0), t.live)


def _reduced(z: np.ndarray, rows: np.ndarray, reduction: str, log_base: float):
    if log_base != 1.0:
        rows = rows / log_base
    return reduce(rows.reshape(z.shape[:-1]), reduction)


def _scaled(z: np.ndarray, grad: np.ndarray, reduction: str, log_base: float) -> np.ndarray:
    grad *= reduce_scale(z.shape[:-1], reduction) / log_base
    return grad.reshape(z.shape)


def _renyi_cases(extreme):
    st, _ = cases.hyp()
    # orders up to 3: beyond, the finite differences of the gradient check (steps of 1e-3 |z|) lose their accuracy;
    # the order 50 and the huge ones are stress points and extreme inputs
    # the order inf too, its mode lifted 1 above the rest (the finite differences of steps 1e-3 |z| must not cross
    # a tie, where the min-entropy has no derivative; ties are stress points)
    orders = st.sampled_from([0.0, 1.0, 1.0 - 1e-6, 1.0 + 1e-6, 2.0, 3.0, math.inf]) | st.floats(0.0, 3.0)

    @st.composite
    def draw_case(draw):
        z, _ = cases.draw_logits(draw, extreme)
        alpha = draw(orders)
        if alpha == math.inf and not extreme:
            z = _lift_mode(z)
        return {"logits": z, "alpha": alpha, "base": draw(st.sampled_from([None, 2.0, 10.0, 0.5])),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()


def _stress():
    out = cases.softmax_stress(targets=False, alpha=_STRESS_ORDERS)
    # two tied modes (three: the rows of ``ties__alpha_inf``), a mode tied beside a masked class
    out["two_tied_modes__alpha_inf"] = {"logits": np.array([[2.0, 2.0, -1.0], [0.0, 0.0, -np.inf], [-3.0, 7.0, 7.0],
                                                            [40.0, 40.0, 0.0]]),
                                        "alpha": math.inf, "reduction": "none"}
    out["defaults"] = {**out["defaults"], "alpha": 2.0}  # alpha has no default: the case gives it, and no other
    for key in ("gaps__target_dominant__alpha_2", "ties__alpha_0.5"):
        out[f"{key}__base_2"] = {**out[key], "base": 2.0}
    return out
