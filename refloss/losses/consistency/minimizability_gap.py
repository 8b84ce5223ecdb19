"""``minimizability_gap``: the comp-sum loss's minimizability gap M = R*(H) - E_x[inf over the box of the conditional
risk], from a conditional distribution table; value, closed-form gradients, registration."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import logsumexp

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ...numerics import _log_softmax
from ..comp_sum._common import _comp_sum_values
from ._common import COMP_SUM_BOUNDS, shaped

#: tau in [0, 2): at tau = 2 the conditional risk is linear in the softmax, its minimiser over the box is a vertex,
#: not unique where probabilities tie.
_TAU = v.Interval(0.0, 2.0, hi_open=True)
_BOUND = v.Interval(0.0, with_inf=True)

_CONDITIONAL = v.ArrayArg("non-negative table p(y|x) of shape (..., X, n): the points x on the second-to-last axis, "
                          "the classes last; rows need not be normalised (the conditional risk is linear in them)",
                          "pmf")
_MARGINAL = v.ArrayArg("None (uniform, 1/X each) or non-negative weights p(x) broadcastable to (..., X)", "pmf")
_BEST = v.ArrayArg("float best-in-class surrogate risk R*_l(H), broadcastable to the batch shape "
                   "conditional.shape[:-2]", "real")


class MinimizabilityGapGrad(NamedTuple):
    """Gradients of :func:`minimizability_gap`, one per differentiable input (None for a marginal left out)."""

    conditional: np.ndarray
    best_risk: np.ndarray
    marginal: np.ndarray | None


class _Inputs(NamedTuple):
    w: np.ndarray  # (..., X, n)
    best: np.ndarray
    marginal: np.ndarray | None
    weights: np.ndarray  # the marginal used, broadcast to (..., X)
    tau: float
    bound: float


def _inputs(conditional, best_risk, marginal, tau, score_bound) -> _Inputs:
    w = v.real_array(conditional, "conditional")
    if w.ndim < 2 or w.shape[-1] == 0 or w.shape[-2] == 0:
        raise v.RefLossError(f"conditional must be a table (..., X, n) with X >= 1 points and n >= 1 classes, got "
                             f"shape {w.shape}")
    if w.size and w.min() < 0:
        raise v.RefLossError(f"conditional has a negative entry ({w.min()!r}): probabilities are non-negative")
    best = v.real_array(best_risk, "best_risk")
    batch = w.shape[:-2]
    try:
        fits = np.broadcast_shapes(best.shape, batch) == batch
    except ValueError:
        fits = False
    if not fits:
        raise v.RefLossError(f"best_risk of shape {best.shape} must broadcast to the batch shape {batch} "
                             "(conditional.shape[:-2])")
    m = None
    if marginal is None:
        weights = np.full(w.shape[:-1], 1.0 / w.shape[-2])
    else:
        m = v.real_array(marginal, "marginal")
        if m.ndim == 0 or m.shape[-1] != w.shape[-2]:
            raise v.RefLossError(f"marginal must have one weight per point x: shape (..., {w.shape[-2]}), got "
                                 f"{m.shape}")
        if m.size and m.min() < 0:
            raise v.RefLossError(f"marginal has a negative entry ({m.min()!r}): a marginal is non-negative")
        try:
            weights = np.broadcast_to(m, w.shape[:-1])
        except ValueError:
            raise v.RefLossError(f"marginal of shape {m.shape} does not broadcast to {w.shape[:-1]}") from None
    tau = v.scalar(tau, v.NONNEGATIVE, "tau")
    if tau >= 2.0:
        raise v.RefLossError(f"tau must lie in [0, 2), got {tau!r}: from tau = 2 on the conditional risk is linear or "
                             "concave in the softmax, its minimiser over the box is a vertex that is not unique where "
                             "probabilities tie, and the gradient does not exist there (not implemented)")
    return _Inputs(w, best, m, weights, tau, v.scalar(score_bound, _BOUND, "score_bound"))


_SIGN = np.int64(-0x8000000000000000)
_LN2 = math.log(2.0)


def _key(x: np.ndarray) -> np.ndarray:
    """float64 -> int64 in the same order (-0.0 and 0.0 alike): bisection over it ends in 64 steps at any range."""
    bits = np.asarray(x, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, _SIGN - bits, bits)


def _float(key: np.ndarray) -> np.ndarray:
    return np.where(key < 0, _SIGN - key, key).astype(np.int64).view(np.float64)


def _log_ratio_to_max(w: np.ndarray) -> np.ndarray:
    """log(w / max w) along the last axis, -inf at 0: the log of the mantissas' quotient (in (1/2, 2)) plus the
    exponents' exact difference times log 2, so that neither the quotient's underflow (5e-324 / 1e300) nor the
    difference of two rounded logs near 690 loses digits."""
    m, e = np.frexp(w)
    top = np.argmax(w, axis=-1)[..., None]
    m_top, e_top = np.take_along_axis(m, top, axis=-1), np.take_along_axis(e, top, axis=-1)
    with np.errstate(divide="ignore"):
        return np.where(w > 0, np.log(m / m_top) + (e - e_top).astype(np.float64) * _LN2, -np.inf)


def optimal_log_softmax(w: np.ndarray, tau: float, bound: float = math.inf) -> np.ndarray:
    r"""The log-softmax :math:`\log s^*` of the minimiser of :math:`\sum_y w_y \Psi_\tau(s_y(h))` over
    :math:`h \in [-\Lambda, \Lambda]^n`, for every row of ``w`` (..., n) (non-negative, not normalised).

    Unconstrained (:math:`\Lambda = \infty`, or a box that holds it): :math:`s^* \propto w^k`, :math:`k = 1/(2-\tau)`
    (classes of weight 0 get :math:`s = 0`, :math:`\log s = -\infty`). Otherwise the minimiser is
    :math:`h = \mathrm{clip}(c + k \log w, -\Lambda, \Lambda)` for one scalar :math:`c`, the softmax of :math:`p^k`
    clipped to the box (``proofs/consistency/minimizability_gap.py``): the :math:`c` where
    :math:`A = \sum_y w_y s_y^{\tau-1}` equals :math:`B = (e^c/Z)^{\tau-2}` (every interior class then has
    :math:`w_j s_j^{\tau-2} = B`, a zero derivative, and every clipped class the sign its bound needs: the KKT
    conditions of a convex problem). :math:`A - B` increases along :math:`c`, also across stretches where every
    class is clipped (there the objective is flat and its derivative says nothing), so :math:`c` is found by
    bisection on its sign. The box is
    shifted to :math:`[-2\Lambda, 0]` (the softmax does not see a shift), so that :math:`c` stays of the size of
    :math:`k \log w` whatever :math:`\Lambda`, and the bisection runs over the ordered float64 values (64 steps at
    any range). The value at the minimiser is flat in :math:`c`, so its error is quadratic in :math:`c`'s. A row of
    zeros gets the uniform softmax (its risk is 0 whatever it is).
    """
    w = np.asarray(w, dtype=np.float64)
    k = 1.0 / (2.0 - tau)
    positive = w > 0
    empty = ~positive.any(axis=-1, keepdims=True)
    w = np.where(empty, 1.0, w)  # a row of zeros: the uniform softmax
    positive = w > 0
    lw = _log_ratio_to_max(w)  # log(w / max w) <= 0 from mantissas and exponents: no rounded log of 1e300 subtracted
    top = np.zeros(lw.shape[:-1] + (1,))
    low = np.where(positive, lw, np.inf).min(axis=-1, keepdims=True)
    d = k * lw  # each class's score below the top class's on the unclipped curve (-inf for weight 0)
    with np.errstate(over="ignore"):
        width = 2.0 * bound  # inf past 8.9e307: the floor is then -inf, its class's softmax 0
    # the unconstrained minimiser fits the box: s ~ w^k (the top at +Lambda). A class of weight 0 sits at -Lambda
    # then, which is the minimiser only where its mass e^(-2 Lambda) is 0 in float64 (2 Lambda > 1600); otherwise it
    # pulls the others up and the bisection below finds them
    out = _log_softmax(np.clip(d, -width, 0.0))
    spread_fits = (k * (top - low) <= width)[..., 0]
    fits = (spread_fits & (positive.all(axis=-1) | (width > 1600.0))) | empty[..., 0]
    if fits.all():
        return out
    rows = ~fits
    d_b, lw_b, w_b = d[rows], lw[rows], w[rows]
    positive_b = w_b > 0
    # u = the top class's score: from the floor to where the smallest positive class reaches the top
    lo, hi = _key(np.full(low[rows].shape, -width)), _key(-k * low[rows])
    for _ in range(66):
        mid = lo // 2 + hi // 2 + (lo % 2 + hi % 2) // 2
        u = _float(mid)
        logs = _log_softmax(np.clip(u + d_b, -width, 0.0))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # A = sum_y w_y s_y^(tau-1) and B = theta^(tau-2), theta = e^c / Z with c = u - k log max w: the optimum
            # is where A = B, and A - B increases along u (also where every class is clipped and the curve is flat);
            # both divided by max w: log B / max w = (2 - tau) log sum_y e^(clip(d_y, -2 Lambda - u, -u))
            log_a = logsumexp(np.where(positive_b, lw_b + (tau - 1.0) * logs, -np.inf), axis=-1, keepdims=True)
            log_b = (2.0 - tau) * logsumexp(np.clip(d_b, -width - u, -u), axis=-1, keepdims=True)
        right = ~(log_a > log_b)  # A <= B: the minimiser lies right of u (ties: right)
        lo, hi = np.where(right, mid, lo), np.where(right, hi, mid)
    out[rows] = _log_softmax(np.clip(_float(hi) + d_b, -width, 0.0))
    return out


def _terms(w: np.ndarray, logs: np.ndarray, tau: float) -> np.ndarray:
    """Psi_tau(s_y) per class (from log s: -log s exprel((tau - 1) log s), the comp-sum family's form)."""
    return _comp_sum_values(logs, tau - 1.0)


def conditional_best_risk(w: np.ndarray, tau: float, bound: float = math.inf) -> np.ndarray:
    r""":math:`C^*_\Lambda(w) = \inf_{h \in [-\Lambda, \Lambda]^n} \sum_y w_y \Psi_\tau(\mathrm{softmax}(h)_y)` of every
    row (..., n); unconstrained it is :math:`((\sum_y w_y^k)^{2-\tau} - \sum_y w_y)/(1 - \tau)` (the entropy
    :math:`-\sum_y w_y \log(w_y / W)` at :math:`\tau = 1`), and with deterministic labels
    :math:`\Phi^\tau((n-1) e^{-2\Lambda})`."""
    logs = optimal_log_softmax(w, tau, bound)
    with np.errstate(invalid="ignore"):
        return np.where(w > 0, w * _terms(w, logs, tau), 0.0).sum(axis=-1)


@register(
    name="minimizability_gap",
    family="consistency",
    wrt=("conditional", "best_risk", "marginal"),
    params=(Param("conditional", _CONDITIONAL), Param("best_risk", _BEST),
            Param("marginal", _MARGINAL, "the marginal p(x); None: uniform over the X points", optional=True),
            Param("tau", _TAU, "the comp-sum loss: 0 sum-exponential, 1 cross-entropy, 1 + q GCE (q < 1)"),
            Param("score_bound", _BOUND, "Lambda: the scores lie in [-Lambda, Lambda]; inf: unbounded")),
    paper=COMP_SUM_BOUNDS,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
)
def minimizability_gap(conditional: ArrayLike, best_risk: ArrayLike, *, marginal: ArrayLike = None, tau: float = 1.0,
                       score_bound: float = math.inf):
    r"""The minimizability gap of the comp-sum loss :math:`\ell_\tau` for scores bounded by :math:`\Lambda`:

    .. math:: M_{\ell_\tau}(\mathcal H) = R^*_{\ell_\tau}(\mathcal H)
              - \sum_x p(x) \inf_{h \in [-\Lambda, \Lambda]^n} \sum_y p(y \mid x)\, \Psi_\tau(\mathrm{softmax}(h)_y),
              \qquad \Psi_\tau(s) = \frac{s^{\tau-1} - 1}{1 - \tau}\ (-\log s \text{ at } \tau = 1),

    the best-in-class risk :math:`R^*_\ell(\mathcal H)` (``best_risk``, which only the caller can compute: it depends
    on :math:`\mathcal H`) minus the expected best conditional risk over the scores :math:`\mathcal H` can reach at
    each :math:`x` (the box; :math:`\Lambda = \infty`: all of :math:`\mathbb R^n`). It is :math:`\ge 0` when
    ``best_risk`` is right, and 0 when :math:`\mathcal H` holds a pointwise minimiser at every :math:`x`.

    **The inner infimum, exactly.** For :math:`\tau < 2`, :math:`\Psi_\tau` is strictly convex, and the minimiser's
    softmax is :math:`s \propto p^{1/(2-\tau)}` (value :math:`((\sum_y p_y^k)^{2-\tau} - 1)/(1 - \tau)`, the entropy
    at :math:`\tau = 1`) when it fits the box, else the same softmax with the scores clipped to
    :math:`[-\Lambda, \Lambda]`, :math:`h = \mathrm{clip}(c + k\log p, -\Lambda, \Lambda)` for the one :math:`c`
    that makes the derivative along that curve vanish (found by bisection; derived and checked in
    ``proofs/consistency/minimizability_gap.py``). **Deterministic labels** (:math:`p(\cdot \mid x)` one-hot) give
    :math:`\inf = \Phi^\tau((n-1)e^{-2\Lambda})`, so :math:`M = R^*_\ell(\mathcal H) - \Phi^\tau((n-1) e^{-2\Lambda})`:
    **derived here, not confirmed** against the paper (Mao, Mohri & Zhong 2023, arXiv:2304.07288, which analyses
    these gaps; our reconstruction, not confirmed against the theorem text).

    **Accuracy.** Every result is within the policy's 16 ulps at the stress points and extreme inputs. One limit is
    known: a class whose minimiser's score lies far below the top class's inside the box carries the absolute
    rounding of that score (about :math:`|k \log(w_j/w_{\max})|\,\epsilon`), so the gradient's entries that are
    tiny differences (:math:`\Psi` at the top class, :math:`\approx 1 - s_{\mathrm{top}}`, when every other class is
    below :math:`10^{-20}` of it; :math:`\Psi` at such a class for :math:`\tau < 1`) keep that relative accuracy, not
    16 ulps.

    **Conventions (ours).** Rows of ``conditional`` need not be normalised (the risk is linear in them), and a row of
    zeros adds 0. ``marginal`` None is uniform, :math:`1/X` per point. :math:`\tau \ge 2` raises (the minimiser is a
    vertex of the box, not unique at ties). Gradient: :func:`minimizability_gap_grad`.

    Args:
        conditional: :math:`p(y \mid x)`, non-negative, shape ``(..., X, n)``.
        best_risk: :math:`R^*_\ell(\mathcal H)`, broadcastable to the batch shape ``conditional.shape[:-2]``.
        marginal: :math:`p(x)`, non-negative, broadcastable to ``(..., X)``; None: uniform.
        tau: :math:`\tau \in [0, 2)` (default 1, cross-entropy).
        score_bound: :math:`\Lambda \in [0, \infty]` (default :math:`\infty`: unbounded scores).

    Returns:
        The gap, of the batch shape (a float for one table).

    >>> p = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]  # deterministic labels, n = 3
    >>> gap = minimizability_gap(p, 0.5, score_bound=2.0)  # 0.5 - log(1 + 2 e^-4)
    >>> round(gap, 12), round(float(0.5 - np.log1p(2 * np.exp(-4.0))), 12)
    (0.464023700252, 0.464023700252)
    >>> round(minimizability_gap([[0.5, 0.5]], 0.7), 12)  # 0.7 - log 2 (H unbounded: the entropy)
    0.006852819440
    """
    inputs = _inputs(conditional, best_risk, marginal, tau, score_bound)
    risk = conditional_best_risk(inputs.w, inputs.tau, inputs.bound)
    return shaped(inputs.best - (inputs.weights * risk).sum(axis=-1))


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """The derivative of a sum over a broadcast shape w.r.t. an input of ``shape``: summed over the broadcast axes."""
    g = np.asarray(g, dtype=np.float64)
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(shape)


@gradient_of("minimizability_gap")
def minimizability_gap_grad(conditional: ArrayLike, best_risk: ArrayLike, *, marginal: ArrayLike = None,
                            tau: float = 1.0, score_bound: float = math.inf) -> MinimizabilityGapGrad:
    r"""Gradients of :func:`minimizability_gap` (of the sum over the batch) w.r.t. each input, in its shape:

    .. math:: \frac{\partial M}{\partial p(y \mid x)} = -p(x)\, \Psi_\tau(s^*_{x, y}), \qquad
              \frac{\partial M}{\partial R^*} = 1, \qquad
              \frac{\partial M}{\partial p(x)} = -\inf_h \sum_y p(y \mid x) \Psi_\tau(s_y),

    the first by Danskin's theorem (the derivative of an infimum is the partial derivative at the minimiser, which is
    unique for :math:`\tau < 2`), with :math:`s^*` the minimiser's softmax. A class of weight 0 with unbounded scores
    and :math:`\tau \le 1` has :math:`\Psi(0) = +\infty` there, and a row of zeros has no unique minimiser: the
    gradient raises for either (the value exists). A marginal left out has the gradient None.

    >>> g = minimizability_gap_grad([[0.25, 0.75]], 0.6)  # -p(x) Psi(s*) = log s*, s* = p at tau = 1, p(x) = 1
    >>> g.conditional, float(g.best_risk)
    (array([[-1.38629436, -0.28768207]]), 1.0)
    """
    inputs = _inputs(conditional, best_risk, marginal, tau, score_bound)
    w, tau, bound = inputs.w, inputs.tau, inputs.bound
    if w.size and (~(w > 0).any(axis=-1)).any():
        raise v.RefLossError("conditional has a row of zeros, where the infimum has no unique minimiser: the gradient "
                             "does not exist there (the value does)")
    if math.isinf(bound) and tau <= 1.0 and w.size and (w == 0).any():
        raise v.RefLossError("conditional has an entry 0 with unbounded scores at tau <= 1: the minimiser puts "
                             "probability 0 there, where Psi_tau(0) = +inf, and the gradient does not exist (the value "
                             "does)")
    logs = optimal_log_softmax(w, tau, bound)
    terms = _terms(w, logs, tau)
    risk = np.where(w > 0, w * terms, 0.0).sum(axis=-1)
    batch = w.shape[:-2]
    return MinimizabilityGapGrad(
        -inputs.weights[..., None] * terms,
        _sum_to(np.ones(batch), inputs.best.shape),
        None if inputs.marginal is None else _sum_to(-risk, inputs.marginal.shape))


def _stress() -> dict:
    from ..._cases import value_label

    mixed = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [1.0 / 3, 1.0 / 3, 1.0 / 3]])
    peaked = np.array([[1.0 - 1e-9, 6e-10, 4e-10], [0.999, 0.001, 0.0], [0.0, 0.0, 1.0]])
    out = {"unbounded__cross_entropy": {"conditional": mixed, "best_risk": np.array(1.0), "tau": 1.0}}
    for tau in (0.0, 0.5, 1.0 - 1e-12, 1.0, 1.0 + 1e-12, 1.5, 1.9, 2.0 - 1e-9):
        label = value_label(tau)
        if tau < 1.95:  # unbounded near tau = 2 the top class's Psi(s*) is e^(-k ...), below what the oracle resolves
            out[f"unbounded__tau_{label}"] = {"conditional": mixed, "best_risk": np.array(1.2), "tau": tau,
                                              "marginal": np.array([0.5, 0.3, 0.2])}
        for bound in (0.0, 0.5, 3.0):  # every score at 0; a box that clips the minimiser; one that holds it
            out[f"bounded__tau_{label}__score_bound_{value_label(bound)}"] = {
                "conditional": np.concatenate([mixed, peaked]), "best_risk": np.array(2.0), "tau": tau,
                "score_bound": bound, "marginal": np.array([0.1, 0.2, 0.3, 0.2, 0.1, 0.1])}
    deterministic = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]])
    out["deterministic_labels__tau_1_5"] = {"conditional": deterministic, "best_risk": np.array([0.3, 0.1]),
                                            "tau": 1.5, "score_bound": 2.0}
    out["deterministic_labels__tau_0"] = {"conditional": deterministic, "best_risk": np.array(0.2), "tau": 0.0,
                                          "score_bound": 1.0}
    out["unnormalised"] = {"conditional": np.array([[2.0, 1.0], [0.5, 3.0]]), "best_risk": np.array(3.0),
                           "tau": 0.5, "marginal": np.array([1.0, 2.0]), "score_bound": 0.25}
    out["unbounded_with_zeros__tau_1_5"] = {"conditional": peaked, "best_risk": np.array(0.5), "tau": 1.5}
    out["unbounded_with_zeros__tau_1"] = {"conditional": peaked, "best_risk": np.array(0.5), "tau": 1.0}  # no grad
    out["defaults"] = {"conditional": mixed[:2], "best_risk": np.array(0.9)}
    return out


def _extreme() -> dict:
    return {
        "tiny_probabilities": {"conditional": np.array([[1.0, 1e-300, 5e-324], [1e-6, 1.0, 1e-300]]),
                               "best_risk": np.array(0.0), "tau": 1.5, "score_bound": 400.0},
        "tiny_probabilities__tau_0_5_bounded": {"conditional": np.array([[1.0, 1e-300, 5e-324]]),
                                                "best_risk": np.array(1.0), "tau": 0.5, "score_bound": 10.0},
        "huge_weights": {"conditional": np.array([[1e300, 3e300], [1e-300, 1.0]]), "best_risk": np.array(1e300),
                         "tau": 1.0, "marginal": np.array([1.0, 1e300]), "score_bound": 5.0},
        "tau_next_below_two": {"conditional": np.array([[0.6, 0.3, 0.1]]), "best_risk": np.array(0.5),
                               "tau": 2.0 - 2.0**-52, "score_bound": 1.0},
        "huge_score_bound": {"conditional": np.array([[1.0, 0.0], [0.3, 0.7]]), "best_risk": np.array(0.5),
                             "tau": 1.0, "score_bound": 1e300},
        "one_class": {"conditional": np.array([[2.0], [0.5]]), "best_risk": np.array(0.25), "tau": 0.5},
        "empty_batch": {"conditional": np.zeros((0, 2, 3)), "best_risk": np.zeros(0), "tau": 1.0},
    }


def _draws(extreme: bool):
    from ... import _cases as cases

    st, hnp = cases.hyp()

    @st.composite
    def draw(drawn):
        batch = drawn(st.sampled_from([(), (2,)]))
        x, n = drawn(st.integers(1, 3)), drawn(st.integers(2, 4))
        # moderate: entries of 0.05 and more (a finite difference of 1e-3 stays positive); extreme: down to 1e-300
        low = 1e-300 if extreme else 0.05
        w = drawn(hnp.arrays(np.float64, batch + (x, n), elements=st.floats(low, 1.0)))
        if drawn(st.booleans()):
            w = w / w.sum(axis=-1, keepdims=True)
            w = np.maximum(w, low)
        marginal = drawn(st.none() | hnp.arrays(np.float64, (x,), elements=st.floats(0.05, 1.0)))
        tau = drawn(st.sampled_from([0.0, 0.5, 1.0, 1.0 + 2.0**-40, 1.5, 1.9]) | st.floats(0.0, 1.95))
        # moderate: no box, every score at 0, or a box that holds the minimiser with room (the value is smooth; a
        # box that clips it is smooth too, but where a finite difference would cross a change of the clipped classes
        # it is C1 only: the stress points and the tests cover clipping)
        spread = float(np.log(w.max() / w.min())) / (2.0 - tau)
        bound = drawn(st.sampled_from([math.inf, 0.0, 0.5 * spread + 1.0])) if not extreme else drawn(
            st.sampled_from([math.inf, 0.0, 0.3, 1.0, 2.5, 1e300]) | st.floats(0.0, 5.0))
        best = drawn(hnp.arrays(np.float64, batch, elements=st.floats(0.0, 3.0)))
        return {"conditional": w, "best_risk": best, "marginal": marginal, "tau": tau, "score_bound": bound}

    return draw()
