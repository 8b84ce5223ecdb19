"""``renyi_divergence``: the Renyi divergence of order alpha between two softmax distributions; value, closed-form
gradients, registration."""

from __future__ import annotations

import math
from functools import cached_property
from typing import NamedTuple

import numpy as np
import scipy.special
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import reduce, reduce_scale
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ...numerics import _log_softmax, logits_from_max, one_plus_xm1_expx
from ._common import (
    _BASE,
    _ORDER,
    _REDUCTION,
    _VAN_ERVEN,
    _kl_gradients,
    _kl_inputs,
    _kl_rows,
    _KLTerms,
    _lift_mode,
    _log_base,
    _log_mean_exp,
    _log_ratios,
    _logit_gaps,
    _mode_gradient,
    _p_expm1mx,
)

#: The orders every check covers (see ``renyi_entropy``); the first is the one the extreme inputs use.
_STRESS_ORDERS = (0.5, 0.0, 1.0 - 2.0**-30, 1.0, 1.0 + 2.0**-30, 2.0, 50.0, math.inf)


class RenyiDivergenceGrad(NamedTuple):
    """Gradients of :func:`renyi_divergence`, one per differentiable input."""

    p_logits: np.ndarray
    q_logits: np.ndarray


def _inputs(p_logits, q_logits, alpha, base, reduction):
    a, b = _kl_inputs(p_logits, q_logits, reduction)
    return a, b, v.scalar(alpha, _ORDER, "alpha"), _log_base(base)


@register(
    name="renyi_divergence",
    family="entropy",
    wrt=("p_logits", "q_logits"),
    params=(
        Param("p_logits", v.LOGITS),
        Param("q_logits", v.ArrayArg("logits of the second distribution, same shape as p_logits", "logits",
                                     class_axis=True)),
        Param("alpha", _ORDER, "the order; 1 is the KL divergence, 1/2 minus twice the log of the Bhattacharyya "
                               "coefficient, 0 minus the log of Q's mass on P's support, inf the log of max p/q"),
        Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True),
        _REDUCTION,
    ),
    paper=_VAN_ERVEN,
    strategy=lambda extreme: _divergence_cases(extreme),
    stress=lambda: _stress(),
    shift_invariant=("p_logits", "q_logits"),
    sample_weight=True,
)
def renyi_divergence(p_logits: ArrayLike, q_logits: ArrayLike, *, alpha: float, base: float | None = None,
                     reduction: str = "mean"):
    r"""Renyi divergence of order ``alpha``, :math:`D_\alpha(\mathrm{softmax}(a) \,\|\, \mathrm{softmax}(b))`, along
    the last axis.

    .. math:: D_\alpha(p\,\|\,q) = \frac{1}{\alpha - 1} \log \sum_j p_j^\alpha q_j^{1 - \alpha}, \qquad
              D_1 = \mathrm{KL}(p\,\|\,q), \qquad D_0 = -\log \sum_{j:\,p_j > 0} q_j, \qquad
              D_\infty = \log \max_{j:\,p_j > 0} \frac{p_j}{q_j}

    (van Erven & Harremoes 2014, Eq. (1), and its limits for the orders 0, 1 and :math:`\infty`, the last their
    Theorem 6), in nats or in ``base``. :math:`D_\infty` is :math:`\max_j (\log p_j - \log q_j)` over :math:`p`'s
    support, the log-ratios as below (+inf where ``q_logits`` masks a class of ``p``). Otherwise, with
    :math:`t = \alpha - 1` and :math:`u_j = \log(p_j / q_j)` from differences of logits (as
    :func:`kl_divergence_logits` takes it), refloss evaluates :math:`\frac1t\,\mathrm{log1p}(\sum_j q_j\,\psi(u_j))`
    where :math:`q_j \psi(u_j) = p_j^\alpha q_j^{1-\alpha} - \alpha p_j - (1 - \alpha) q_j` (equal because
    :math:`\sum_j p_j = \sum_j q_j = 1`) has the sign of :math:`t` in every class:
    :math:`t\,q_j\varphi(u_j) + p_j(e^{t u_j} - 1 - t u_j)` for :math:`\alpha > 1` and
    :math:`t\,q_j\varphi(\alpha u_j) - \alpha p_j \varphi(t u_j)` for :math:`\alpha < 1`, with KL's
    :math:`\varphi(u) = 1 + (u - 1)e^u \ge 0`. So the divergence of two nearly equal distributions
    (:math:`\approx \frac\alpha2 \sum_j q_j u_j^2`) keeps its digits, and the order 1 is the limit of the form (where
    refloss returns :func:`kl_divergence_logits` itself). Where the power sum is far from 1 (below 1/2, or beyond
    the float64 range) the logarithm is a log-sum-exp instead.

    Conventions: ``alpha`` in :math:`[0, \infty]` with no default (the paper names none); classes masked in
    ``p_logits`` contribute nothing (and lie outside
    :math:`p`'s support for the order 0). A class masked in ``q_logits`` where ``p`` has mass makes the divergence
    +inf for :math:`\alpha \ge 1` (as the KL divergence) but not below 1, where :math:`p_j^\alpha 0^{1-\alpha} = 0`:
    there it is +inf only when the two supports are disjoint. ``"mean"`` averages over rows. Gradients:
    :func:`renyi_divergence_grad` (a NamedTuple for both inputs).

    Args:
        p_logits: float array ``(..., C)``.
        q_logits: float array of the same shape.
        alpha: the order, >= 0; ``np.inf`` for :math:`\log \max_j p_j / q_j`.
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    >>> round(renyi_divergence([0.0, 0.0], [0.0, np.log(3.0)], alpha=2.0), 15)  # log((1/4)/(1/4) + (1/4)/(3/4))
    0.287682072451781
    >>> round(renyi_divergence([0.0, 0.0], [0.0, np.log(3.0)], alpha=1.0), 15)  # the KL divergence
    0.14384103622589
    >>> float(renyi_divergence([0.0, 0.0], [0.0, -np.inf], alpha=0.5))  # -2 log(sqrt(1/2)): finite below order 1
    0.6931471805599453
    >>> round(float(renyi_divergence([0.0, 0.0], [0.0, np.log(3.0)], alpha=np.inf)), 15)  # log((1/2)/(1/4))
    0.693147180559945
    """
    a, b, alpha, log_base = _inputs(p_logits, q_logits, alpha, base, reduction)
    (values,) = _passes(a, b, alpha, _value)
    return _reduced(a, values, reduction, log_base)


@gradient_of("renyi_divergence")
def renyi_divergence_grad(p_logits: ArrayLike, q_logits: ArrayLike, *, alpha: float, base: float | None = None,
                          reduction: str = "mean") -> RenyiDivergenceGrad:
    r"""Gradients of :func:`renyi_divergence` with respect to both inputs (closed forms below): with the tilted
    distribution :math:`w_j = p_j^\alpha q_j^{1-\alpha} / \sum_c p_c^\alpha q_c^{1-\alpha}`,
    :math:`\partial D_\alpha / \partial a_j = \frac{\alpha}{\alpha - 1}(w_j - p_j)` and
    :math:`\partial D_\alpha / \partial b_j = q_j - w_j`; KL's :math:`p_j(\log p_j - \log q_j - \mathrm{KL})` and
    :math:`q_j - p_j` at :math:`\alpha = 1` (refloss returns :func:`kl_divergence_logits_grad` there), and
    :math:`0` and :math:`q_j - [j \in \mathrm{supp}\,p]\,q_j / Q(\mathrm{supp}\,p)` at :math:`\alpha = 0`, and
    :math:`g_j - p_j` and :math:`q_j - g_j` at :math:`\alpha = \infty`, with :math:`g_j = [j \in T] / |T|` and
    :math:`T` the modes of the ratio :math:`p_j / q_j` over :math:`p`'s support (the largest :math:`a_j - b_j`, compared
    exactly). For a unique mode :math:`k` these are the derivatives :math:`[j = k] - p_j`, :math:`q_j - [j = k]`; at
    tied modes, where :math:`D_\infty` has none, the convention is that **tied modes share equally** (the centre of
    the subdifferential of the maximum, as in :func:`renyi_entropy_grad`; the limit :math:`\alpha \to \infty` of the
    gradients at a tie shares in proportion to :math:`q_j` instead, the same where :math:`q` is equal on the modes).
    At a mode, :math:`g_j - p_j =
    \frac{1}{|T|}(\sum_{c \notin T} p_c + \sum_{c \in T} (p_c - p_j))`, which keeps the digits of :math:`1 - p_k`.

    :math:`w_j = p_j e^{t y_j}` with :math:`y_j = u_j - D_\alpha`, and :math:`y_j = \varepsilon_j - \frac1t \log \sum_c
    p_c e^{t \varepsilon_c}` with :math:`\varepsilon = u - u_k` for the class :math:`k` most probable under :math:`p`
    (of those where :math:`q` has mass), so a peaked :math:`p` does not make :math:`u_k - D_\alpha` a difference
    of two nearly equal numbers. Then :math:`\partial D_\alpha / \partial a_j = \frac{\alpha}{t} p_j
    \,\mathrm{expm1}(t y_j)` where :math:`|t y_j| \le 1` and :math:`\frac{\alpha}{t}(w_j - p_j)` elsewhere, and
    :math:`q_j - w_j = -q_j\,\mathrm{expm1}(u_j + t y_j)` where :math:`|u_j + t y_j| < 1`.

    Raises:
        RefLossError: when the divergence is +inf (``p`` puts mass where ``q`` has none and :math:`\alpha \ge 1`,
        :math:`\infty` included, or the supports are disjoint).

    >>> g = renyi_divergence_grad([[0.0, 0.0]], [[0.0, np.log(3.0)]], alpha=2.0)  # w = (3/4, 1/4)
    >>> g.p_logits, g.q_logits
    (array([[ 0.5, -0.5]]), array([[-0.5,  0.5]]))
    """
    a, b, alpha, log_base = _inputs(p_logits, q_logits, alpha, base, reduction)
    return _scaled_grad(a, *_passes(a, b, alpha, _grad_p, _grad_q), reduction, log_base)


@value_and_grad_of("renyi_divergence")
def _renyi_divergence_value_and_grad(p_logits: ArrayLike, q_logits: ArrayLike, *, alpha: float,
                                     base: float | None = None, reduction: str = "mean"):
    """:func:`renyi_divergence` and :func:`renyi_divergence_grad` from one pass over each block of rows."""
    a, b, alpha, log_base = _inputs(p_logits, q_logits, alpha, base, reduction)
    values, grad_p, grad_q = _passes(a, b, alpha, _value, _grad_p, _grad_q)
    return _reduced(a, values, reduction, log_base), _scaled_grad(a, grad_p, grad_q, reduction, log_base)


def _reduced(a: np.ndarray, values: np.ndarray, reduction: str, log_base: float):
    if log_base != 1.0:
        values = values / log_base
    return reduce(values.reshape(a.shape[:-1]), reduction)


def _scaled_grad(a: np.ndarray, grad_p: np.ndarray, grad_q: np.ndarray, reduction: str,
                 log_base: float) -> RenyiDivergenceGrad:
    scale = reduce_scale(a.shape[:-1], reduction) / log_base
    return RenyiDivergenceGrad(p_logits=(grad_p * scale).reshape(a.shape), q_logits=(grad_q * scale).reshape(a.shape))


class _Block:
    """A block's terms (those of the KL divergence, and both log-softmaxes), its value and its two gradients, each
    computed once when first asked for."""

    def __init__(self, a: np.ndarray, b: np.ndarray, alpha: float):
        self.alpha, self.t = alpha, alpha - 1.0
        self.kl: _KLTerms = _kl_rows(a, b)
        self.a, self.b = a, b
        self.logp, self.logq = _log_softmax(a), _log_softmax(b)
        self.in_p, self.in_q = ~np.isneginf(a), ~np.isneginf(b)
        self.both = self.in_p & self.in_q
        # u = log(p / q) from logit differences; +inf where q masks a class of p, -inf where p is masked
        self.u = _log_ratios(a, b, self.logp, self.logq, self.kl.log_ratio)

    @cached_property
    def modes(self) -> np.ndarray:
        """The modes of p_j / q_j over the classes where both have mass: the largest a_j - b_j, compared exactly as
        two_sum's pair (rounding, error) of a/2 - b/2 (halved: no overflow), which orders the exact differences."""
        with np.errstate(invalid="ignore"):
            x, y = np.where(self.both, 0.5 * self.a, 0.0), np.where(self.both, -0.5 * self.b, 0.0)
            hi = x + y
            back = hi - x
            lo = (x - (hi - back)) + (y - back)
        hi = np.where(self.both, hi, -np.inf)
        top = hi == hi.max(axis=-1, keepdims=True)
        lo = np.where(top & self.both, lo, -np.inf)
        return top & self.both & (lo == lo.max(axis=-1, keepdims=True))

    @cached_property
    def value(self) -> np.ndarray:
        alpha, t = self.alpha, self.t
        if alpha == 1.0:
            return self.kl.kl
        if alpha == math.inf:  # max_j u_j over the ratio's modes; +inf where q masks a class of p
            infinite = (self.in_p & ~self.in_q).any(axis=-1)
            top = np.where(self.modes, self.u, -np.inf).max(axis=-1, initial=-np.inf)
            return np.where(infinite, np.inf, top)
        if alpha == 0.0:
            return self._order_zero()[0]
        if t > 0.0:
            infinite = (self.in_p & ~self.in_q).any(axis=-1)
            with np.errstate(invalid="ignore", over="ignore"):
                tu = np.where(self.both, t * self.u, 0.0)
                # q psi(u) = t q phi(u) + p (e^{tu} - 1 - tu) >= 0; q phi(u) are KL's terms (q where p = 0)
                spread = np.where(self.both, _p_expm1mx(np.where(self.both, self.logp, 0.0), tu), 0.0)
                # q phi(u) by its series where |u| < 1, with this u (KL's own u is rounder for nearly equal logits)
                small = self.both & (np.abs(self.u) < 1.0)
                q_phi = np.where(small, self.kl.q * one_plus_xm1_expx(np.where(small, self.u, 0.0)), self.kl.terms)
                total = (t * q_phi + spread).sum(axis=-1, keepdims=True)
        else:
            infinite = ~self.both.any(axis=-1)
            total = self._below_one_terms().sum(axis=-1, keepdims=True)
        near = np.isfinite(total) & (total >= -0.5)
        out = np.log1p(np.where(near, total, 0.0)) / t
        if not near.all():
            out = np.where(near, out, self._log_power_sum() / t)
        return np.where(infinite, np.inf, out[..., 0])

    def _below_one_terms(self) -> np.ndarray:
        """q_j psi(u_j) = t q_j phi(alpha u_j) - alpha p_j phi(t u_j) <= 0 for alpha < 1, from logs where phi's
        argument is large: q phi(x) = q + (x - 1) p^alpha q^(1-alpha) with x = alpha u (and likewise for p)."""
        alpha, t, both = self.alpha, self.t, self.both
        with np.errstate(invalid="ignore", over="ignore"):
            u = np.where(both, self.u, 0.0)
            tilted = np.exp(self._log_tilted)  # p^alpha q^(1-alpha)
            au, tu = alpha * u, t * u
            big_a, big_t = au >= 1.0, tu >= 1.0
            q_phi = np.where(big_a, self.kl.q + (au - 1.0) * tilted,
                             self.kl.q * one_plus_xm1_expx(np.where(big_a, 0.0, au)))
            p_phi = np.where(big_t, self.kl.p + (tu - 1.0) * tilted,
                             self.kl.p * one_plus_xm1_expx(np.where(big_t, 0.0, tu)))
        # masked in p: q phi(-inf) = q and no p term; masked in q (p has mass): no q term, p phi(-inf) = p
        q_phi = np.where(both, q_phi, np.where(self.in_p, 0.0, self.kl.q))
        p_phi = np.where(both, p_phi, np.where(self.in_p, self.kl.p, 0.0))
        return t * q_phi - alpha * p_phi

    def _log_power_sum(self) -> np.ndarray:
        """log sum_j p_j^alpha q_j^(1-alpha) (N, 1) by its log-sum-exp over p's classes (a class that q masks
        contributes 0 below the order 1)."""
        live = self.in_p & np.isfinite(self.logp)
        return _log_mean_exp(self.kl.p, self.logp, self.u, self.t, live, self._log_tilted)

    @cached_property
    def _log_tilted(self) -> np.ndarray:
        """log(p^alpha q^(1-alpha)) = log p + t u = log q + alpha u, whichever adds the smaller terms (the first
        near the order 1, the second near 0: the rounding of log p or log q is not multiplied by a large u);
        -inf where p or q is masked."""
        with np.errstate(invalid="ignore", over="ignore"):
            u = np.where(self.both, self.u, 0.0)
            from_p, from_q = self.logp + self.t * u, self.logq + self.alpha * u
            use_p = np.abs(self.logp) + np.abs(self.t * u) <= np.abs(self.logq) + np.abs(self.alpha * u)
            return np.where(self.both, np.where(use_p, from_p, from_q), -np.inf)

    def _order_zero(self) -> tuple[np.ndarray, np.ndarray]:
        """D_0 = -log Q(supp p) (N,) and Q(outside supp p) / Q(supp p) (N, 1), from sums of q or log-sum-exps."""
        outside = np.where(self.in_p, 0.0, self.kl.q).sum(axis=-1, keepdims=True)
        with np.errstate(divide="ignore"):
            log_in = scipy.special.logsumexp(np.where(self.in_p, self.logq, -np.inf), axis=-1, keepdims=True)
            log_out = scipy.special.logsumexp(np.where(self.in_p, -np.inf, self.logq), axis=-1, keepdims=True)
        value = np.where(outside <= 0.5, -np.log1p(-outside), -log_in)
        with np.errstate(invalid="ignore"):
            ratio = np.exp(log_out - log_in)
        return value[..., 0], ratio

    @cached_property
    def gradients(self) -> tuple[np.ndarray, np.ndarray]:
        alpha, t = self.alpha, self.t
        if alpha == 1.0:
            return _kl_gradients(self.kl)
        if np.isinf(self.value).any():
            raise v.RefLossError(f"renyi_divergence of order {alpha!r} is +inf (q_logits is -inf where p has mass, "
                                 "or the two supports are disjoint), so its gradient is undefined")
        q = self.kl.q
        if alpha == math.inf:  # g - p and q - g, g the modes' equal shares
            return -_mode_gradient(self.kl.p, self.a, self.modes, self.in_p) + 0.0, _mode_gradient(
                q, self.b, self.modes, self.in_q)
        if alpha == 0.0:
            _, ratio = self._order_zero()
            return np.zeros_like(q), np.where(self.in_p, -q * ratio, q) + 0.0
        live = self.in_p & np.isfinite(self.logp)
        live_q = self.in_q & np.isfinite(self.logq)
        p = self.kl.p
        with np.errstate(invalid="ignore", over="ignore"):
            # w = softmax(alpha a + (1 - alpha) b), from the logits (their rounding is that of the logits)
            mixed = np.where(self.both, alpha * logits_from_max(self.a) + (1.0 - alpha) * logits_from_max(self.b),
                             -np.inf)
            tilted = np.exp(_log_softmax(mixed))
            # e = (a - a_k) - (b - b_k) from the mode k of w; then w_j / p_j = e^{t y_j} with
            # t y_j = t e_j - log sum_c p_c e^{t e_c} = t e_j + log(w_k / p_k), and w_j / q_j = e^{v_j} with
            # v_j = alpha e_j - log sum_c q_c e^{alpha e_c} = alpha e_j + log(w_k / q_k): no term larger than the
            # logits' distances (from p's mode, the sum would pass e^{t e_k} for a large order)
            e = self._from_reference(mixed, live | live_q)
            ty = np.where(live, t * e - _log_mean_exp(p, self.logp, e, t, live), 0.0)
            v_q = np.where(live_q, alpha * e - _log_mean_exp(q, self.logq, e, alpha, live_q), 0.0)
            small = np.abs(ty) <= 1.0
            grad_p = np.where(small, (alpha / t) * p * np.expm1(np.where(small, ty, 0.0)), (alpha / t) * (tilted - p))
            close = np.abs(v_q) < 1.0
            grad_q = np.where(close, -q * np.expm1(np.where(close, v_q, 0.0)), q - tilted)
        grad_p = np.where(live, grad_p, 0.0) + 0.0
        grad_q = np.where(self.both, grad_q, np.where(self.in_q, q, 0.0)) + 0.0  # w = 0 where p is masked
        return grad_p, grad_q

    def _from_reference(self, logits: np.ndarray, live: np.ndarray) -> np.ndarray:
        """log(p_j / q_j) - log(p_k / q_k) = (a_j - a_k) - (b_j - b_k) over the ``live`` classes (0 elsewhere), k the
        largest of ``logits`` where both have mass; from u = log(p / q) where a difference of logits passes the
        float64 range; +inf where q masks a class of p, -inf where p masks a class of q."""
        k = np.argmax(np.where(self.both & live, logits, -np.inf), axis=-1)[..., None]
        gaps = _logit_gaps(self.a, self.b, k)
        with np.errstate(invalid="ignore", over="ignore"):
            from_u = self.u - np.take_along_axis(self.u, k, -1)
            return np.where(live, np.where(self.both & np.isfinite(gaps), gaps, from_u), 0.0)


def _passes(a: np.ndarray, b: np.ndarray, alpha: float, *outputs):
    return outputs_by_rows(lambda x, y: _Block(x, y, alpha), outputs, as_rows(a), as_rows(b))


def _value(block: _Block) -> np.ndarray:
    return block.value


def _grad_p(block: _Block) -> np.ndarray:
    return block.gradients[0]


def _grad_q(block: _Block) -> np.ndarray:
    return block.gradients[1]


def _divergence_cases(extreme):
    st, hnp = cases.hyp()
    # orders up to 3: beyond, the finite differences of the gradient check (steps of 1e-3 |z|) lose their accuracy;
    # the order 50 and the huge ones are stress points and extreme inputs
    # and inf, the ratio's mode lifted 1 above the rest (finite differences must not cross a tie; ties are stress
    # points)
    orders = st.sampled_from([0.0, 0.5, 1.0, 1.0 - 1e-6, 1.0 + 1e-6, 2.0, 3.0, math.inf]) | st.floats(0.0, 3.0)

    @st.composite
    def draw_case(draw):
        a, mask = cases.draw_logits(draw, extreme)
        bound = cases.EXTREME if extreme else cases.MODERATE
        b = draw(hnp.arrays(np.float64, a.shape, elements=cases.floats(bound)))
        if draw(st.booleans()):  # nearly equal distributions, where the divergence is second order in b - a
            b = np.where(mask, 0.0, a) + 1e-3 * b / bound
        alpha = draw(orders)
        if alpha == math.inf and not extreme:
            a = _lift_mode(a, np.where(mask, -np.inf, a - b))
        # q masks only classes that p masks, as for the KL divergence: where q misses a class of p (finite below the
        # order 1) the option where= could leave q no class (a stress point covers it)
        q_mask = mask & draw(hnp.arrays(np.bool_, a.shape))
        return {"p_logits": a, "q_logits": np.where(q_mask, -np.inf, b), "alpha": alpha,
                "base": draw(st.sampled_from([None, 2.0, 10.0, 0.5])),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()


def _pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(p_logits, q_logits) of the stress families: KL's, nearly equal rows, a class of p that q masks."""
    gaps, zeros, near = cases.GAP_ROWS, np.zeros_like(cases.GAP_ROWS), cases.TIE_ROWS
    base = np.array([[0.3, -1.2, 2.0], [15.0, 0.0, -3.0], [1e-9, 0.0, 0.0], [40.0, 39.0, 0.0]])
    return {
        "peaked_p__uniform_q": (gaps, zeros),
        "uniform_p__peaked_q": (zeros, gaps),
        "both_peaked": (gaps, gaps[::-1] * 0.5),
        "near_ties": (near, near[::-1]),
        "masked": (cases.MASKED_ROWS, np.array([[1.0, 2.0, 0.0], [0.0, 0.5, -np.inf], [-1.0, 0.0, 4.0]])),
        # logits 1e-9 apart: the divergence is ~ alpha/2 sum q u^2 ~ 1e-19
        "nearly_equal": (base, base + np.array([[1e-9, -2e-9, 0.0], [0.0, 1e-9, 0.0], [0.0, 0.0, 1e-9],
                                                [-1e-9, 0.0, 0.0]])),
        # q masks a class where p has mass: finite below the order 1, +inf from it on
        "q_masks_a_class_of_p": (np.array([[0.0, 1.0, 2.0], [5.0, 0.0, -1.0]]),
                                 np.array([[0.0, -np.inf, 1.0], [-np.inf, 0.0, 0.0]])),
    }


def _stress():
    out = {}
    for alpha in _STRESS_ORDERS:
        for label, (a, b) in _pairs().items():
            out[f"{label}__alpha_{cases.value_label(alpha)}"] = {"p_logits": a, "q_logits": b, "alpha": alpha,
                                                                  "reduction": "none"}
    gaps, near = cases.GAP_ROWS, cases.TIE_ROWS
    out["reduction_mean"] = {"p_logits": gaps[:3], "q_logits": near[:3], "alpha": 0.5, "reduction": "mean"}
    out["reduction_sum"] = {"p_logits": gaps[:3], "q_logits": near[:3], "alpha": 2.0, "reduction": "sum"}
    out["defaults"] = {"p_logits": gaps[:3], "q_logits": near[:3], "alpha": 2.0}  # alpha has no default
    # the order inf at ties of the ratio's mode: a - b = (1, 1, 0, -2) + const and (1/3, 1/3, -1, 1/3) (two and three
    # modes, a mode beside a class masked in both), and rows of one class
    q4 = np.array([[0.0, 1.0, -1.0, 0.5], [3.0, 0.0, -2.0, 1.0], [0.0, 1.0, -np.inf, 0.5]])
    out["tied_ratio_modes__alpha_inf"] = {
        "p_logits": q4 + np.array([[1.0, 1.0, 0.0, -2.0], [1 / 3, 1 / 3, -1.0, 1 / 3], [2.0, 2.0, -np.inf, 0.0]]),
        "q_logits": q4, "alpha": math.inf, "reduction": "none"}
    out["one_class__alpha_inf"] = {"p_logits": np.array([[3.0], [-700.0]]), "q_logits": np.array([[0.0], [5.0]]),
                                   "alpha": math.inf, "reduction": "none"}
    out["base_2__peaked_p__alpha_2"] = {"p_logits": gaps, "q_logits": np.zeros_like(gaps), "alpha": 2.0, "base": 2.0,
                                        "reduction": "none"}
    return out
