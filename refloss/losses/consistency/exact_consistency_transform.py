r"""``exact_consistency_transform``: the tight error transform :math:`T^*` of a comp-sum loss, by optimisation, with
a certificate: the feasible point found (an upper bound anyone can re-evaluate) and a lower bound that says how it
was obtained. Not a registry entry (an optimiser's output has no closed-form gradient); the tests and
``benchmarks/consistency_sweep.py`` compare it with :func:`refloss.comp_sum_consistency_transform`.

**Definition.** For the comp-sum loss :math:`\ell_\tau` (any :math:`\tau \ge 0`) and :math:`n` classes,

.. math:: T^*(t) = \inf\{\Delta C_\ell(h, p) : p \in \Delta_n,\ h \in \mathbb R^n,\ \Delta C_{0-1}(h, p) = t\},

with :math:`\Delta C_\ell(h, p) = \sum_y p_y \Psi_\tau(s_y) - \inf_{h'} \sum_y p_y \Psi_\tau(s'_y)`,
:math:`s = \mathrm{softmax}(h)`, and :math:`\Delta C_{0-1} = \max_y p_y - p_{\hat y}` for the predicted class
:math:`\hat y = \arg\max_y h_y`. It is the largest function for which :math:`T(\Delta C_{0-1}) \le \Delta C_\ell`
holds pointwise (this is Mao, Mohri & Zhong's tightness notion as we reconstruct it, not confirmed against the
theorem text).

**Reduction (ours, exact).** By symmetry the largest probability is class 0 and the prediction class 1, so
:math:`p_1 = p_0 - t`. For a given :math:`p` the inner problem, :math:`\min_s \sum_y p_y \Psi_\tau(s_y)` over the
softmaxes that predict class 1 (:math:`s_1 \ge s_j`; its infimum over ties broken toward class 1), is solved in
closed form: for :math:`\tau < 2` (:math:`\Psi` convex) its KKT conditions pool class 1 with every class whose
probability exceeds the pool's average, and the minimum is the unconstrained
:math:`C^*(\tilde p)` of the pooled :math:`\tilde p` (the pool's entries replaced by their average); for
:math:`\tau \ge 2` (:math:`\Psi` linear or concave) it lies at a vertex, uniform on class 1 and the :math:`m - 1`
most probable others. So :math:`T^*(t) = \min_p D(p)`, :math:`D(p) = V(p) - C^*(p)`, over an :math:`(n-2)`-dimensional
polytope of :math:`p`: exact for :math:`n = 2` (one point), a one-dimensional search for :math:`n = 3`, multi-start
SLSQP (seeded) beyond.

**Lower bounds.** :math:`V` and :math:`C^*` are both concave in :math:`p` (minima of functions linear in
:math:`p`), so on a segment of :math:`p` :math:`D \ge \min(V(\text{ends})) - \max C^*`, and :math:`\max C^*` is at most
the tangent bound :math:`C^*(m) + |C^{*\prime}(m)|\,w/2` at the midpoint. For :math:`n = 3` a branch-and-bound over
segments of :math:`p_0` gives a lower bound that is certified up to float64 rounding (a relative margin of
:math:`10^{-12}` is subtracted; not interval arithmetic). For :math:`n = 2` the value is exact and is the lower bound.
For :math:`n \ge 4` the lower bound is the closed form :math:`T_\tau` where the project's numerics found it valid
(:math:`\tau \le 2`), **not certified**, and 0 for :math:`\tau > 2`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from ... import _validate as v
from ..comp_sum._common import _comp_sum_values
from ._common import transform_values
from .minimizability_gap import conditional_best_risk, optimal_log_softmax


class ExactTransform(NamedTuple):
    """The result of :func:`exact_consistency_transform`.

    ``value``: the smallest surrogate conditional regret found at zero-one regret ``t`` (an upper bound of
    :math:`T^*(t)`, attained at the point below); ``conditional`` and ``scores``: that point (:math:`p` and logits
    :math:`h`, classes ordered so that class 0 is the most probable and class 1 the predicted one); ``predicted``: 1,
    the class the scores predict once their tie with class 0 (the infimum sits on it) is broken toward it;
    ``lower_bound`` and ``lower_bound_method``: a lower bound of :math:`T^*(t)` and how it was obtained
    (``"exact"``, ``"certified"``, ``"closed form (not certified)"`` or ``"trivial"``)."""

    value: float
    conditional: np.ndarray
    scores: np.ndarray
    predicted: int
    lower_bound: float
    lower_bound_method: str


def _psi(s: np.ndarray, tau: float) -> np.ndarray:
    """Psi_tau(s) elementwise, s in [0, 1] (+inf at 0 for tau <= 1, 1/(tau - 1) above)."""
    with np.errstate(divide="ignore"):
        return _comp_sum_values(np.log(s), tau - 1.0)


def _weighted(p: np.ndarray, values: np.ndarray) -> np.ndarray:
    """sum_y p_y values_y with 0 * inf = 0."""
    with np.errstate(invalid="ignore"):
        return np.where(p > 0, p * values, 0.0).sum(axis=-1)


def bayes_risk(p: np.ndarray, tau: float) -> np.ndarray:
    r""":math:`C^*(p) = \inf_h \sum_y p_y \Psi_\tau(\mathrm{softmax}(h)_y)` per row: the closed form for
    :math:`\tau < 2` (:func:`conditional_best_risk`), :math:`(1 - \max_y p_y)\Psi_\tau(0)` for :math:`\tau \ge 2`
    (the concave risk's infimum at a vertex)."""
    p = np.asarray(p, dtype=np.float64)
    if tau < 2.0:
        return conditional_best_risk(p, tau)
    return (p.sum(axis=-1) - p.max(axis=-1)) / (tau - 1.0)


def surrogate_conditional_regret(scores, conditional, *, tau: float = 1.0) -> np.ndarray:
    r""":math:`\Delta C_\ell(h, p) = \sum_y p_y \Psi_\tau(\mathrm{softmax}(h)_y) - C^*(p)` per row (class axis last).

    >>> round(float(surrogate_conditional_regret([0.0, 0.0], [0.8, 0.2])), 12)  # log 2 - H(0.8): T_1(0.6)
    0.192744757022
    """
    h = v.real_array(scores, "scores", allow_neg_inf=True)  # -inf: a class of softmax 0 (a certificate's)
    p = v.real_array(conditional, "conditional")
    tau = v.scalar(tau, v.NONNEGATIVE, "tau")
    logs = h - np.max(h, axis=-1, keepdims=True)
    logs = logs - np.log(np.exp(logs).sum(axis=-1, keepdims=True))
    return _weighted(p, _comp_sum_values(logs, tau - 1.0)) - bayes_risk(p, tau)


def zero_one_conditional_regret(scores, conditional, *, predicted=None) -> np.ndarray:
    r""":math:`\Delta C_{0-1} = \max_y p_y - p_{\hat y}` per row; :math:`\hat y` is ``predicted`` if given (an int per
    row), else ``argmax(scores)`` with ties to the lowest index (NumPy's rule).

    >>> float(zero_one_conditional_regret([0.0, 0.0], [0.8, 0.2], predicted=1))
    0.6000000000000001
    """
    p = v.real_array(conditional, "conditional")
    h = v.real_array(scores, "scores", allow_neg_inf=True)
    y = np.argmax(h, axis=-1) if predicted is None else np.asarray(predicted)
    return p.max(axis=-1) - np.take_along_axis(p, np.asarray(y)[..., None], axis=-1)[..., 0]


# -- the inner problem: min over the softmaxes that predict class 1 ------------------------------------------------


def _pooled(p: np.ndarray) -> np.ndarray:
    """Rows of p with class 1 pooled with every class above the pool's running average (the KKT pool of
    s_1 >= s_j: joining in decreasing order while the next class exceeds the average), the pool's entries replaced by
    its average."""
    p = np.atleast_2d(np.asarray(p, dtype=np.float64))
    others = np.delete(p, 1, axis=-1)
    index = np.delete(np.arange(p.shape[-1]), 1)
    order = np.argsort(-others, axis=-1, kind="stable")
    total, count = p[:, 1].copy(), np.ones(p.shape[0])
    joining = np.ones(p.shape[0], dtype=bool)
    member = np.zeros(p.shape, dtype=bool)
    member[:, 1] = True
    for m in range(others.shape[-1]):
        j = index[order[:, m]]
        value = p[np.arange(p.shape[0]), j]
        joining &= value > total / count
        total, count = total + np.where(joining, value, 0.0), count + joining
        member[np.arange(p.shape[0]), j] |= joining
    return np.where(member, (total / count)[:, None], p)


def _inner_values(p: np.ndarray, tau: float) -> np.ndarray:
    """V(p) = min over s with s_1 >= s_j of sum_y p_y Psi(s_y), per row: C* of the pooled p for tau < 2, the best
    vertex (uniform on class 1 and the m - 1 most probable others) for tau >= 2."""
    p = np.atleast_2d(np.asarray(p, dtype=np.float64))
    if tau < 2.0:
        return bayes_risk(_pooled(p), tau)
    others = -np.sort(-np.delete(p, 1, axis=-1), axis=-1)
    inside = p[:, 1:2] + np.concatenate([np.zeros((p.shape[0], 1)), np.cumsum(others, axis=-1)], axis=-1)
    m = np.arange(1, p.shape[-1] + 1)
    values = inside * _psi(1.0 / m, tau) + (p.sum(axis=-1, keepdims=True) - inside) / (tau - 1.0)
    return values.min(axis=-1)


def inner_minimum(p: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
    """(V(p), the minimiser's log-softmax) for one p (class 1 the prediction)."""
    p = np.asarray(p, dtype=np.float64)
    n = p.size
    if tau < 2.0:
        pooled = _pooled(p)[0]
        return float(bayes_risk(pooled, tau)), optimal_log_softmax(pooled, tau)
    order = [1] + [j for j in np.argsort(-p, kind="stable") if j != 1]
    best, best_logs = math.inf, None
    for m in range(1, n + 1):
        s = np.zeros(n)
        s[order[:m]] = 1.0 / m
        value = float(_weighted(p, _psi(s, tau)))
        if value < best:
            with np.errstate(divide="ignore"):
                best, best_logs = value, np.log(s)
    return best, best_logs


def _regret(p: np.ndarray, tau: float) -> np.ndarray:
    """D(p) = V(p) - C*(p) >= 0 per row (a rounding below 0 is 0)."""
    p = np.atleast_2d(np.asarray(p, dtype=np.float64))
    return np.maximum(_inner_values(p, tau) - bayes_risk(p, tau), 0.0)


# -- the outer problem ------------------------------------------------------------------------------------------


def _family(a: np.ndarray, t: float, n: int, m: int) -> np.ndarray:
    """Rows p = (a, a - t, r/m repeated m times, 0 ...), r = 1 - 2a + t: the rest split evenly over m classes."""
    a = np.asarray(a, dtype=np.float64)
    rest = np.maximum((1.0 + t) - 2.0 * a, 0.0) / m  # exactly 0 at a = (1 + t)/2, its float included
    out = np.zeros(a.shape + (n,))
    out[..., 0], out[..., 1] = a, a - t
    out[..., 2:2 + m] = rest[..., None]
    return out


def _family_range(t: float, m: int) -> tuple[float, float]:
    """a with p_0 = a the largest (r/m <= a) and p_1 = a - t >= 0: [max(t, (1+t)/(m+2)), (1+t)/2]."""
    return max(t, (1.0 + t) / (m + 2.0)), (1.0 + t) / 2.0


def _bayes_slope(p: np.ndarray, tau: float) -> np.ndarray:
    """d/da C*(p(a)) along p(a) = (a, a - t, 1 - 2a + t), per row (Danskin: Psi(s*_0) + Psi(s*_1) - 2 Psi(s*_2) for
    tau < 2; -Psi(0) for tau >= 2, where C* = (1 - a) Psi(0))."""
    if tau >= 2.0:
        return np.full(p.shape[0], -1.0 / (tau - 1.0))
    terms = _psi(np.exp(optimal_log_softmax(p, tau)), tau)
    return terms[:, 0] + terms[:, 1] - 2.0 * terms[:, 2]


def _branch_and_bound(t: float, tau: float, cells: int = 64, rounds: int = 60, tolerance: float = 1e-9):
    """n = 3: (best value, its p, certified lower bound) over p(a) = (a, a - t, 1 - 2a + t), a in its range, by
    branch and bound on segments of a. On [a1, a2], V and C* are concave along the segment, so V lies above its
    chord and C* below its tangent at any x of the segment, and D above the chord minus the tangent: a line, least at
    an end. The best of x = a1, the midpoint, a2 is taken (near a2 = (1+t)/2, where p_2 = 0, C*'s slope is infinite
    for tau <= 1). The bound's slack is quadratic in the segment's width.
    A segment is split while its bound is below the best value found minus the
    tolerance and it is wider than 1e-14 of the range; the lower bound is the least bound over the leaves."""
    lo, hi = _family_range(t, 1)
    if hi - lo <= 0.0:
        p = _family(np.array([lo]), t, 3, 1)
        value = float(_regret(p, tau)[0])
        return value, p[0], value
    edges = np.linspace(lo, hi, cells + 1)
    a1, a2 = edges[:-1], edges[1:]
    best, best_p = math.inf, None
    settled = math.inf  # the least bound of the leaves no longer split
    bound = np.array([])
    for _ in range(rounds):
        mid = 0.5 * (a1 + a2)
        ends = _family(np.concatenate([a1, mid, a2]), t, 3, 1)
        values = _regret(ends, tau)
        k = int(np.argmin(values))
        if values[k] < best:
            best, best_p = float(values[k]), ends[k]
        v1, v2 = _inner_values(_family(a1, t, 3, 1), tau), _inner_values(_family(a2, t, 3, 1), tau)
        bound = np.full(a1.shape, -np.inf)
        for x in (a1, mid, a2):
            point = _family(x, t, 3, 1)
            with np.errstate(invalid="ignore", over="ignore"):
                slope, at = _bayes_slope(point, tau), bayes_risk(point, tau)
                # V above its chord, C* below its tangent at x: D is above the chord minus the tangent, a line, whose
                # least value on the segment is at an end
                line = np.minimum(v1 - (at + slope * (a1 - x)), v2 - (at + slope * (a2 - x)))
            bound = np.maximum(bound, np.where(np.isfinite(line), line, -np.inf))
        bound = bound - 1e-12 * (np.abs(v1) + np.abs(v2) + 1.0)  # float64 rounding of the terms
        bound = np.where(np.isfinite(bound), bound, -np.inf)
        split = (bound < best - tolerance * max(best, 1e-12)) & (a2 - a1 > 1e-14 * (hi - lo))
        if (~split).any():
            settled = min(settled, float(bound[~split].min()))
        if not split.any() or 2 * split.sum() > 20000:
            bound = bound[split]
            break
        a1, a2, mid = a1[split], a2[split], mid[split]
        a1, a2 = np.concatenate([a1, mid]), np.concatenate([mid, a2])
        bound = np.array([])
    lower = min(settled, float(bound.min()) if bound.size else math.inf, best)
    return best, best_p, max(lower, 0.0)


def _search(t: float, tau: float, n: int, restarts: int, rng) -> tuple[float, np.ndarray]:
    """n >= 4: the rest split evenly over m classes (each m, a dense grid of a, then the best refined), seeded random
    feasible points, and SLSQP from the best ``restarts`` of them, over x = (a, p_2, ..., p_{n-1})."""
    candidates = []
    for m in range(1, n - 1):
        lo, hi = _family_range(t, m)
        grid = _family(np.linspace(lo, hi, 2001), t, n, m)
        values = _regret(grid, tau)
        k = int(np.argmin(values))
        step = (hi - lo) / 2000
        fine = _family(np.linspace(max(lo, grid[k, 0] - step), min(hi, grid[k, 0] + step), 2001), t, n, m)
        candidates.append(fine)
    lo, hi = max(t, (1.0 + t) / n), (1.0 + t) / 2.0
    a = rng.uniform(lo, hi, 4000)
    rest = rng.dirichlet(np.full(n - 2, 0.5), 4000) * (1.0 - 2.0 * a + t)[:, None]
    random = np.concatenate([a[:, None], (a - t)[:, None], rest], axis=-1)
    candidates.append(random[(rest <= a[:, None]).all(axis=-1)])
    points = np.concatenate(candidates)
    values = _regret(points, tau)
    order = np.argsort(values)
    best, best_p = float(values[order[0]]), points[order[0]]

    def objective(x):
        return float(_regret(np.concatenate([[x[0], x[0] - t], np.clip(x[1:], 0.0, None)]), tau)[0])

    constraints = [{"type": "eq", "fun": lambda x: 2.0 * x[0] - t + x[1:].sum() - 1.0},
                   {"type": "ineq", "fun": lambda x: x[0] - x[1:]}]
    bounds = [(t, (1.0 + t) / 2.0)] + [(0.0, 1.0)] * (n - 2)
    for start in points[order[:restarts]]:
        result = minimize(objective, np.concatenate([[start[0]], start[2:]]), method="SLSQP", bounds=bounds,
                          constraints=constraints, options={"ftol": 1e-15, "maxiter": 300})
        x = result.x
        p = np.concatenate([[x[0], x[0] - t], np.clip(x[1:], 0.0, None)])
        p = p / p.sum()  # onto the simplex (SLSQP's equality holds to its tolerance), then p_1 = p_0 - t again
        p[1] = p[0] - t
        if p[1] < 0 or (p[2:] > p[0]).any() or abs(p.sum() - 1.0) > 1e-12:
            continue
        value = float(_regret(p, tau)[0])
        if value < best:
            best, best_p = value, p
    return best, best_p


def exact_consistency_transform(t: float, *, tau: float = 1.0, n: int, restarts: int = 20,
                                seed: int = 0) -> ExactTransform:
    r"""The tight transform :math:`T^*_\tau(t; n)` of the comp-sum loss, by optimisation, with its certificate.

    See the module docstring for the definition and the exact reduction to :math:`\min_p D(p)`. :math:`n = 2`: exact
    (:math:`p = ((1+t)/2, (1-t)/2)`, the tie); :math:`n = 3`: a branch and bound over :math:`p_0`, whose value is the
    best point found and whose lower bound is certified up to float64 rounding; :math:`n \ge 4`: ``restarts``
    a search over the families where the rest of :math:`p` is split evenly over :math:`m` classes (a dense grid of
    :math:`p_0` for each :math:`m`), seeded random feasible points, and ``restarts`` SLSQP runs from the best of them;
    the lower bound is the closed form :math:`T_\tau` (:math:`\tau \le 2`; validated numerically by the project, not
    certified) or 0 (:math:`\tau > 2`).

    Args:
        t: the zero-one conditional regret, in :math:`[0, 1]`.
        tau: :math:`\tau \ge 0`, any comp-sum loss (:math:`\tau > 2` included: :math:`T^*` exists where no closed
            form does).
        n: the number of classes, :math:`n \ge 2`.
        restarts: SLSQP runs for :math:`n \ge 4` (from the best points of the search).
        seed: the random starts' seed (the result is a function of it).

    Returns:
        :class:`ExactTransform`: the value found, the point that attains it, and a lower bound with its method.

    >>> r = exact_consistency_transform(0.6, tau=2.0, n=3)  # beyond t = 1/(n - 1): T* > t/n = 0.2
    >>> round(r.value, 4), r.lower_bound_method, bool(r.lower_bound <= r.value)
    (0.2667, 'certified', True)
    >>> round(float(surrogate_conditional_regret(r.scores, r.conditional, tau=2.0)), 4)  # re-evaluate the point
    0.2667

    Reference: Mao, Mohri & Zhong (2023), arXiv:2304.07288 (the tightness of the comp-sum bounds, as we reconstruct
    it; not confirmed against the theorem text).
    """
    t = v.scalar(t, v.UNIT_INTERVAL, "t")
    tau = v.scalar(tau, v.NONNEGATIVE, "tau")
    n = v.integer_in(n, v.Integers(2), "n")
    restarts = v.integer_in(restarts, v.Integers(1), "restarts")
    if n == 2:
        p = np.array([(1.0 + t) / 2.0, (1.0 - t) / 2.0])
        value = float(_regret(p, tau)[0])
        return ExactTransform(value, p, inner_minimum(p, tau)[1], 1, value, "exact")
    if n == 3:
        value, p, lower = _branch_and_bound(t, tau)
        return ExactTransform(value, p, inner_minimum(p, tau)[1], 1, min(lower, value), "certified")
    value, p = _search(t, tau, n, restarts, np.random.default_rng(seed))
    if tau <= 2.0:
        # not clipped to the value found: a closed form above it would be an invalid bound, which the caller must see
        lower = float(transform_values(np.array(t), tau, n))
        return ExactTransform(value, p, inner_minimum(p, tau)[1], 1, lower, "closed form (not certified)")
    return ExactTransform(value, p, inner_minimum(p, tau)[1], 1, 0.0, "trivial")
