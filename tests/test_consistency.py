"""Consistency bounds of the comp-sum losses, checked by independent routes (beyond the registry's generic checks):
the closed-form transform against the exact transform T* found by optimisation (equal where tight, a lower bound
elsewhere, the documented exceptions shown), the inverse against the transform, and the bound itself on small
problems where every term is exact."""

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

import refloss
from refloss.losses.consistency import (
    exact_consistency_transform,
    surrogate_conditional_regret,
    zero_one_conditional_regret,
)

EPS = np.finfo(np.float64).eps
T = refloss.comp_sum_consistency_transform
GAMMA = refloss.h_consistency_bound


def _two_class(t, tau):
    """The closed form at n = 2 (its exact transform)."""
    return float(T(t, tau=tau, n=2))


# -- the closed form against T* ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("n", [2, 3])
def test_closed_form_is_tight_for_tau_up_to_one(tau, n):
    """T_tau = T* for tau in [0, 1]: at n = 2 exactly; at n = 3 inside the certified bracket [lower bound, value]."""
    for t in (0.1, 0.5, 0.9):
        exact = exact_consistency_transform(t, tau=tau, n=n)
        closed = float(T(t, tau=tau, n=n))
        assert exact.lower_bound_method == ("exact" if n == 2 else "certified")
        assert exact.lower_bound <= closed * (1 + 1e-12) and closed <= exact.value * (1 + 1e-12)
        assert exact.value - exact.lower_bound <= 1e-4 * exact.value
        assert closed == pytest.approx(exact.value, rel=1e-9)


@pytest.mark.parametrize("tau", [1.25, 1.5, 1.9])
def test_tau_between_one_and_two_is_tight_at_two_classes(tau):
    for t in (0.05, 0.3, 0.8):
        exact = exact_consistency_transform(t, tau=tau, n=2)
        assert exact.lower_bound_method == "exact"
        assert float(T(t, tau=tau, n=2)) == pytest.approx(exact.value, rel=1e-12)


@pytest.mark.parametrize("tau", [1.5, 1.9])
def test_tau_between_one_and_two_is_a_strict_lower_bound_at_three_classes(tau):
    """n = 3: the closed form lies below the certified lower bound of T*, by a margin (not tight); T* itself is the
    n = 2 formula there (the notes: between the n-formula and the n = 2 formula)."""
    for t in (0.1, 0.6):
        exact = exact_consistency_transform(t, tau=tau, n=3)
        closed = float(T(t, tau=tau, n=3))
        assert exact.lower_bound_method == "certified"
        assert closed <= exact.lower_bound
        assert exact.value - closed >= 0.05 * exact.value
        assert closed <= exact.value <= _two_class(t, tau) * (1 + 1e-9)


def test_the_search_beyond_three_classes():
    """n = 5: T* between the closed form and the n = 2 formula, nearer t/n as tau -> 2 (0.04555 and 0.04182 at t =
    0.2: the notes' SLSQP values); the lower bound is the closed form, flagged as not certified."""
    found = {tau: exact_consistency_transform(0.2, tau=tau, n=5) for tau in (1.8, 1.95)}
    assert found[1.8].value == pytest.approx(0.045551, abs=2e-6)
    assert found[1.95].value == pytest.approx(0.041824, abs=2e-6)
    for tau, exact in found.items():
        assert exact.lower_bound_method == "closed form (not certified)"
        assert exact.lower_bound == float(T(0.2, tau=tau, n=5)) < exact.value < _two_class(0.2, tau)
    assert found[1.95].value - 0.2 / 5 < found[1.8].value - 0.2 / 5


def test_tau_two_is_tight_only_up_to_one_over_n_minus_one():
    """MAE (tau = 2), n = 3: T* = t/3 for t <= 1/2; beyond, T* > t/n (0.2667 > 0.2 at t = 0.6), certified."""
    for t in (0.1, 0.3, 0.5):
        assert exact_consistency_transform(t, tau=2.0, n=3).value == pytest.approx(t / 3, rel=1e-9)
    exact = exact_consistency_transform(0.6, tau=2.0, n=3)
    assert exact.value == pytest.approx(4.0 / 15.0, rel=1e-9)  # 0.2667
    assert exact.lower_bound > float(T(0.6, tau=2.0, n=3)) + 0.06


def test_tau_above_two_is_refused_and_t_star_is_not_convex():
    with pytest.raises(refloss.RefLossError, match="tau must lie in \\[0, 2\\].*no closed form"):
        T(0.5, tau=2.5, n=3)
    with pytest.raises(refloss.RefLossError, match="tau"):
        GAMMA(0.1, tau=3.0, n=3)
    # T* exists: t/(tau - 1) near 0, and T*(t)/t falls with t (a convex T with T(0) = 0 would have it rise)
    near = exact_consistency_transform(0.1, tau=2.5, n=3)
    far = exact_consistency_transform(0.3, tau=2.5, n=3)
    assert near.value == pytest.approx(0.1 / 1.5, rel=1e-9)
    assert far.value / 0.3 < near.value / 0.1 - 0.1


def test_the_certificate_re_evaluates():
    """The returned point is feasible (zero-one regret t with the prediction given) and has the value returned."""
    for tau, n, t in ((1.0, 3, 0.4), (1.5, 3, 0.2), (2.0, 3, 0.6), (1.8, 4, 0.3), (0.5, 2, 0.7)):
        exact = exact_consistency_transform(t, tau=tau, n=n)
        assert exact.conditional.sum() == pytest.approx(1.0, abs=1e-12) and (exact.conditional >= 0).all()
        assert float(zero_one_conditional_regret(exact.scores, exact.conditional, predicted=exact.predicted)) == \
            pytest.approx(t, abs=1e-12)
        assert float(surrogate_conditional_regret(exact.scores, exact.conditional, tau=tau)) == \
            pytest.approx(exact.value, rel=1e-9, abs=1e-15)


def test_the_inner_problem_against_slsqp():
    """The pooled closed form of min over softmaxes predicting class 1 matches SLSQP over the simplex."""
    from refloss.losses.consistency.exact_consistency_transform import inner_minimum

    rng = np.random.default_rng(3)
    for tau in (0.3, 1.0, 1.7):
        for _ in range(3):
            p = rng.dirichlet(np.ones(4))
            p[[0, 1]] = np.sort(p[[0, 1]])[::-1]  # class 1 below class 0: its prediction is a regret

            def risk(s):
                return float(np.dot(p, refloss.comp_sum_loss(np.log(np.tile(np.clip(s, 1e-12, 1), (4, 1))),
                                                             np.arange(4), tau=tau, reduction="none")))

            constraints = [{"type": "eq", "fun": lambda s: s.sum() - 1.0},
                           {"type": "ineq", "fun": lambda s: s[1] - np.delete(s, 1)}]
            result = minimize(risk, np.full(4, 0.25), method="SLSQP", bounds=[(1e-9, 1.0)] * 4,
                              constraints=constraints, options={"ftol": 1e-14, "maxiter": 500})
            assert inner_minimum(p, tau)[0] == pytest.approx(result.fun, rel=1e-6)
            assert inner_minimum(p, tau)[0] <= result.fun + 1e-12


# -- the transform's own properties ---------------------------------------------------------------------------------


def test_small_t_asymptotics():
    """T ~ k t^2 / (2 d): t^2/2 at tau = 1 (T_1 = t^2/2 + t^4/12 + ...), every digit at t = 1e-8."""
    t = np.array([1e-8, 1e-5, 1e-3])
    np.testing.assert_allclose(T(t, n=3) / (t**2 / 2), 1 + t**2 / 6 + t**4 / 15, rtol=4 * EPS)
    for tau, n in ((0.0, 3), (0.5, 4), (1.5, 3), (1.9, 6)):
        k = 1 / (2 - tau)
        d = 2 ** (tau - 1) if tau < 1 else n ** (tau - 1)
        np.testing.assert_allclose(T(1e-6, tau=tau, n=n) / (k * 1e-12 / (2 * d)), 1.0, rtol=1e-9)
    assert abs(T(1e-8, n=3) - 5e-17) <= 2 * EPS * 5e-17


def test_continuous_through_tau_one():
    """tau = 1 -+ 1e-12 differs from the tau = 1 branch by (-+1e-12) dT/dtau and no more (no jump between the forms):
    the one-sided dT/dtau from a difference at 1e-5 predicts it to a few ulps of T. (One-sided: T is continuous in tau
    at 1 but has a kink there, d_tau = 2^(tau-1) below and n^(tau-1) above.)"""
    t = np.array([1e-8, 1e-3, 0.2, 0.6, 0.95, 1 - 1e-9, 1.0])
    at_one = T(t, tau=1.0, n=4)
    for delta in (-1e-12, 1e-12):
        slope = (T(t, tau=1 + math.copysign(1e-5, delta), n=4) - at_one) / math.copysign(1e-5, delta)
        predicted = at_one + delta * slope
        assert np.all(np.abs(T(t, tau=1 + delta, n=4) - predicted) <= 8 * EPS * at_one + 1e-300)
    g = refloss.comp_sum_consistency_transform_grad(t[:-1], tau=1 + 1e-12, n=4)
    np.testing.assert_allclose(g, np.arctanh(t[:-1]), rtol=1e-10)


def test_endpoints_and_monotonicity():
    for tau, n in ((0.0, 2), (0.5, 3), (1.0, 3), (1.5, 5), (2 - 1e-9, 4), (2.0, 3)):
        grid = np.linspace(0.0, 1.0, 201)
        values = T(grid, tau=tau, n=n)
        assert values[0] == 0.0 and np.all(np.diff(values) > 0) and np.all(np.diff(values, 2) > -1e-15)
    assert T(1.0, tau=0.0, n=7) == 1.0 and T(1.0, n=2) == pytest.approx(math.log(2), rel=EPS)
    assert T(1.0, tau=2.0, n=4) == 0.25
    assert refloss.comp_sum_consistency_transform_grad(1.0, tau=1.5, n=3) == pytest.approx(
        2 ** -0.5 / (0.5 * 3**0.5), rel=4 * EPS)


def test_bad_inputs():
    with pytest.raises(refloss.RefLossError, match="t entries must lie in \\[0, 1\\]"):
        T([0.5, 1.5], n=3)
    with pytest.raises(refloss.RefLossError, match="n must be"):
        T(0.5, n=1)
    with pytest.raises(refloss.RefLossError, match="gradient does not exist"):
        refloss.comp_sum_consistency_transform_grad([0.5, 1.0], tau=0.5, n=3)
    with pytest.raises(refloss.RefLossError, match="gradient does not exist"):
        refloss.h_consistency_bound_grad([0.0, 0.1], n=3)
    with pytest.raises(refloss.RefLossError, match="non-negative"):
        GAMMA(-0.1, n=3)
    with pytest.raises(refloss.RefLossError, match="tau must lie in \\[0, 2\\)"):
        refloss.minimizability_gap([[0.5, 0.5]], 0.7, tau=2.0)


# -- the inverse -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [0.0, 0.5, 1 - 1e-12, 1.0, 1.5, 1.99, 2.0])
def test_gamma_inverts_t(tau):
    for n in (2, 7):
        t = np.array([1e-9, 1e-6, 0.01, 0.3, 0.9, 1 - 1e-9])
        np.testing.assert_allclose(GAMMA(T(t, tau=tau, n=n), tau=tau, n=n), t, rtol=64 * EPS)
        eps = T(t, tau=tau, n=n)
        np.testing.assert_allclose(T(GAMMA(eps, tau=tau, n=n), tau=tau, n=n), eps, rtol=64 * EPS)
    top = float(T(1.0, tau=tau, n=3))
    assert GAMMA(top * 1.5, tau=tau, n=3) == 1.0 and GAMMA(0.0, tau=tau, n=3) == 0.0


def test_gamma_square_root_growth_and_gradient():
    """Gamma_1(eps) <= sqrt(2 eps), ~ sqrt(2 eps) near 0; Gamma_2 = n eps; Gamma' = 1/T'(Gamma)."""
    eps = np.array([1e-12, 1e-6, 1e-3, 0.1, 0.4])  # below T_1.5(1; 4) = 0.414, where Gamma saturates
    assert np.all(GAMMA(eps, n=3) <= np.sqrt(2 * eps))
    assert GAMMA(1e-12, n=3) == pytest.approx(math.sqrt(2e-12), rel=1e-6)
    np.testing.assert_array_equal(GAMMA([0.01, 0.02], tau=2.0, n=5), [0.05, 0.1])
    g = refloss.h_consistency_bound_grad(eps, tau=1.5, n=4)
    slope = refloss.comp_sum_consistency_transform_grad(GAMMA(eps, tau=1.5, n=4), tau=1.5, n=4)
    np.testing.assert_allclose(g.surrogate_excess, 1 / slope, rtol=1e-12)


# -- the bound on small problems where both sides are exact -------------------------------------------------------


_MARGINAL = np.array([0.5, 0.3, 0.2])
_SCALES = np.array([1.0, 2.0, -1.0])  # h(x) = c_x w: symmetric and complete at each x, coupled across x


def _conditional_risks(w, p, tau):
    """C_l(c_x w, x) for each x, from refloss.comp_sum_loss (the registered loss, not this family's Psi)."""
    n = p.shape[-1]
    out = []
    for c, row in zip(_SCALES, p):
        losses = refloss.comp_sum_loss(np.tile(c * w, (n, 1)), np.arange(n), tau=tau, reduction="none")
        out.append(float(np.dot(row, losses)))
    return np.array(out)


def _zero_one(w, p):
    predictions = [int(np.argmax(c * w)) for c in _SCALES]
    return float(np.dot(_MARGINAL, [1.0 - row[y] for row, y in zip(p, predictions)]))


def _best_zero_one(p):
    """R*_01(H) exactly: a prediction pair (argmax w for c > 0, argmin w for c < 0), any pair of distinct classes, or
    class 0 everywhere (constant w, the tie broken to the lowest index)."""
    n = p.shape[-1]
    pairs = [(i, j) for i, j in itertools.product(range(n), repeat=2) if i != j] + [(0, 0)]
    return min(float(np.dot(_MARGINAL, [1.0 - row[i if c > 0 else j] for c, row in zip(_SCALES, p)]))
               for i, j in pairs)


def _best_surrogate(p, tau, grid):
    """R*_l(H) = inf_w sum_x p(x) C_l(c_x w, x): the least over the grid, refined by a local minimiser."""
    n = p.shape[-1]

    def risk(v):
        return float(np.dot(_MARGINAL, _conditional_risks(np.concatenate([[0.0], v]), p, tau)))

    start = min(grid, key=lambda w: risk(w[1:] - w[0]))
    if n == 2:
        result = minimize_scalar(lambda u: risk(np.array([u])), bracket=(start[1] - start[0] - 0.5,
                                                                         start[1] - start[0] + 0.5), tol=1e-12)
        best = result.fun
    else:
        best = minimize(risk, start[1:] - start[0], method="BFGS", options={"gtol": 1e-12}).fun
    return min(best, min(risk(w[1:] - w[0]) for w in grid))


@pytest.mark.parametrize("tau,n", [(0.5, 2), (1.0, 2), (1.5, 2), (1.0, 3), (0.5, 3)])
def test_the_bound_holds_on_an_exhaustive_problem(tau, n):
    """X = 3 points, H = {x -> c_x w} with c = (1, 2, -1): every term exact (the zero-one optimum by enumerating
    predictions, the surrogate one by a 1-D or convex 2-D minimisation, the pointwise infima in closed form), and
    R01(h) - R01* <= Gamma(R_l(h) - R_l* + M_l) - M_01 for every hypothesis of a finite grid."""
    # class 1 is the Bayes class at every point; the third (c = -1) predicts argmin w, and a constant w predicts class
    # 0 everywhere (the tie broken to the lowest index): H cannot be right everywhere, so both gaps are positive
    p = np.array([[0.3, 0.7], [0.4, 0.6], [0.2, 0.8]]) if n == 2 else \
        np.array([[0.3, 0.5, 0.2], [0.35, 0.4, 0.25], [0.25, 0.6, 0.15]])
    axis = np.linspace(-3.0, 3.0, 13 if n == 2 else 7) + 0.0137  # off ties
    grid = [np.concatenate([[0.0], v]) for v in itertools.product(axis, repeat=n - 1)]
    best_l, best_01 = _best_surrogate(p, tau, grid), _best_zero_one(p)
    gap_l = refloss.minimizability_gap(p, best_l, marginal=_MARGINAL, tau=tau)
    gap_01 = best_01 - float(np.dot(_MARGINAL, 1.0 - p.max(axis=-1)))
    assert gap_l > 1e-3 and gap_01 > 1e-3
    informative = 0
    for w in grid:
        excess_l = float(np.dot(_MARGINAL, _conditional_risks(w, p, tau))) - best_l
        excess_01 = _zero_one(w, p) - best_01
        bound = GAMMA(max(excess_l, 0.0), tau=tau, n=n, surrogate_gap=gap_l, zero_one_gap=gap_01)
        assert excess_01 <= bound + 1e-9, (w, excess_01, bound)
        informative += bound < 1.0 - gap_01
    assert informative > 0


def test_the_bound_needs_a_complete_hypothesis_set():
    """A finite symmetric H, not complete: scores (e, 0) and (0, e) at one point. Predicting the wrong class costs a
    zero-one regret 0.2 while the surrogate's regret against the best of H is tiny: the inequality fails, as it may
    (completeness is a hypothesis of the theorem)."""
    p = np.array([[0.6, 0.4]])
    e = 1e-3
    risks = [float(np.dot(p[0], refloss.comp_sum_loss(np.tile(h, (2, 1)), [0, 1], reduction="none")))
             for h in ([e, 0.0], [0.0, e])]
    surrogate_regret = risks[1] - min(risks)  # one point: the gaps of H are 0
    assert GAMMA(surrogate_regret, n=2) < 0.2 - 0.1


# -- the minimizability gap -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.5])
def test_gap_with_deterministic_labels(tau):
    """M = R* - Phi^tau((n - 1) e^(-2 Lambda)) (derived, not confirmed), with Phi from comp_sum_loss at the corner of
    the box (scores Lambda for the label, -Lambda for the others)."""
    for n, bound in ((2, 0.5), (3, 2.0), (5, 1.0)):
        labels = np.eye(n)[[0, n - 1, 1]]
        corner = np.full(n, -bound)
        corner[0] = bound
        phi = float(refloss.comp_sum_loss(corner[None], [0], tau=tau))
        assert refloss.minimizability_gap(labels, 0.8, tau=tau, score_bound=bound) == pytest.approx(0.8 - phi,
                                                                                                     rel=1e-13)


def test_gap_against_a_direct_minimisation():
    """The clipped softmax of p^k against L-BFGS-B over the box; unbounded at tau = 1: the entropy."""
    rng = np.random.default_rng(11)
    for tau, bound in ((0.5, 0.4), (1.0, 1.0), (1.6, 0.7), (1.9, 2.0)):
        p = rng.dirichlet(np.ones(4) * 0.7)

        def risk(h):
            return float(np.dot(p, refloss.comp_sum_loss(np.tile(h, (4, 1)), np.arange(4), tau=tau,
                                                         reduction="none")))

        direct = min(minimize(risk, rng.uniform(-bound, bound, 4), method="L-BFGS-B", bounds=[(-bound, bound)] * 4,
                              options={"ftol": 1e-15, "gtol": 1e-12}).fun for _ in range(4))
        gap = refloss.minimizability_gap(p[None], 2.0, tau=tau, score_bound=bound)
        assert 2.0 - gap == pytest.approx(direct, rel=1e-9)
        assert 2.0 - gap <= direct + 1e-12
    p = np.array([[0.2, 0.3, 0.5]])
    entropy = -float(np.sum(p * np.log(p)))
    assert refloss.minimizability_gap(p, 1.0) == pytest.approx(1.0 - entropy, rel=1e-14)
    everywhere_zero = refloss.minimizability_gap(p, 0.0, tau=1.5, score_bound=0.0)  # h = 0: Psi(1/3)
    assert everywhere_zero == pytest.approx(-(1 - 3 ** -0.5) / 0.5, rel=1e-14)
