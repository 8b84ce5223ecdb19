r"""``minimizability_gap``: the definition and its machine-checked derivation.

**Definition** (the gap is the paper's notion; the closed forms below are derived here, not confirmed against the
theorem text of Mao, Mohri & Zhong 2023). For a comp-sum loss :math:`\ell_\tau`, :math:`\tau \in [0, 2)`, scores
bounded by :math:`\Lambda` and a finite :math:`X`,

.. math:: M = R^* - \sum_x p(x)\, C^*_\Lambda(p(\cdot \mid x)), \qquad
          C^*_\Lambda(w) = \inf_{h \in [-\Lambda, \Lambda]^n} \sum_y w_y \Psi_\tau(\mathrm{softmax}(h)_y),

:math:`\Psi_\tau` the comp-sum family's definition (reused), :math:`R^*` the best-in-class risk the caller gives.

**The infimum without a box.** :math:`\Psi_\tau'(s) = -s^{\tau-2}` and :math:`\Psi_\tau''(s) = (2-\tau)s^{\tau-3} > 0`:
the conditional risk is strictly convex on the simplex, and the Lagrange condition :math:`w_y \Psi'(s_y) = -\lambda`
gives :math:`s_y \propto w_y^k`, :math:`k = 1/(2-\tau)`. With :math:`S = \sum_y w_y^k`, :math:`W = \sum_y w_y`:
:math:`\sum_y w_y s_y^{\tau-1} = S^{2-\tau}` (since :math:`1 + k(\tau - 1) = k`), so
:math:`C^*_\infty(w) = (S^{2-\tau} - W)/(1 - \tau)`, :math:`W \log W - \sum_y w_y \log w_y` at :math:`\tau = 1`. It
holds in a box too when the box holds the minimiser (:math:`k \log(w_{\max}/w_{\min}) \le 2\Lambda`).

**With a box.** The scores a box reaches are, up to a shift, the softmaxes with :math:`s_i \le e^{2\Lambda} s_j`: a
polytope, on which the risk is convex; a point that meets the KKT conditions is the minimiser. The derivative is
:math:`\partial F/\partial h_j = s_j A - w_j s_j^{\tau-1}`, :math:`A = \sum_y w_y s_y^{\tau-1}`. On the curve
:math:`h(c) = \mathrm{clip}(c + k \log w, -\Lambda, \Lambda)` every interior class has :math:`s_j = \theta w_j^k`
(:math:`\theta = e^c/Z`) and so :math:`w_j s_j^{\tau-2} = \theta^{\tau-2} =: B`, the same for all; a class clipped at
:math:`+\Lambda` has :math:`s_j \le \theta w_j^k`, hence :math:`w_j s_j^{\tau-2} \ge B`, and one at :math:`-\Lambda`
has :math:`w_j s_j^{\tau-2} \le B`. Where :math:`A = B` every interior derivative vanishes, the top class's is
:math:`\le 0` and the floor's :math:`\ge 0`: the KKT conditions. So the minimiser is the clipped softmax of
:math:`p^k` at the :math:`c` where :math:`A = B`; refloss finds it by bisection, so does this oracle (in mpmath, at
60 digits, as a separate program).

**Deterministic labels** (:math:`w = e_y`): :math:`h = \Lambda e_y - \Lambda(1 - e_y)` meets the KKT conditions
(:math:`\partial F/\partial h_y = s_y^{\tau} - s_y^{\tau-1} \le 0`, the others :math:`s_j A \ge 0`), so
:math:`C^*_\Lambda = \Psi_\tau(1/(1 + (n-1)e^{-2\Lambda})) = \Phi^\tau((n-1)e^{-2\Lambda})` and
:math:`M = R^* - \Phi^\tau((n-1)e^{-2\Lambda})`: the project notes' formula, derived, not confirmed.

**Gradient.** Danskin: :math:`\partial C^*/\partial w_y = \Psi_\tau(s^*_y)` at the (unique) minimiser, so
:math:`\partial M/\partial p(y \mid x) = -p(x)\Psi_\tau(s^*_{x,y})`, :math:`\partial M/\partial p(x) = -C^*(p(\cdot\mid
x))`, :math:`\partial M/\partial R^* = 1`.

**The oracle.** Where the box holds the minimiser (or there is none), the closed form above in the table's symbols;
otherwise the objective at the minimiser located in mpmath (scores as exact rationals, :math:`\Psi` at them as
exact rationals), linear in the table: its value is the infimum to second order in the minimiser's error (far
below the stored digits), its derivative Danskin's. Its digits are proven relative to that minimiser.

**Checked** (``_prove``): the Lagrange condition and the value of :math:`s \propto w^k`; Danskin's derivative of
the closed form; :math:`\Psi'' > 0`; the limit at :math:`\tau = 1`; the derivative along the scores; the common
:math:`w_j s_j^{\tau-2}` of interior classes on the clipped curve; the KKT signs and the value
:math:`\Phi^\tau((n-1)e^{-2\Lambda})` for deterministic labels, with :math:`\Phi^\tau` the comp-sum definition's.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identities_numerically, assert_identity
from .._views import Row
from ..comp_sum.comp_sum_loss import comp_sum
from ._common import TAU, exact_rational, psi

_DPS = 60


def closed_form(w: list, tau) -> sp.Expr:
    """C*_inf(w) = (S^(2-tau) - W)/(1 - tau), S = sum w^k; W log W - sum w log w at tau = 1 (0 log 0 = 0)."""
    total = sp.Add(*w)
    if sp.sympify(tau) == 1:
        def xlogx(u):
            return sp.Piecewise((sp.S.Zero, sp.Eq(u, 0)), (u * sp.log(u), True))
        return xlogx(total) - sp.Add(*[xlogx(u) for u in w])
    k = 1 / (2 - sp.sympify(tau))
    return (sp.Add(*[u**k for u in w]) ** (2 - tau) - total) / (1 - tau)


def _fits(values: np.ndarray, tau, bound) -> bool:
    if math.isinf(bound):
        return True
    if not (values > 0).all():
        return False
    k = 1 / (2 - mpmath.mpf(tau.p) / tau.q)
    with mpmath.workdps(_DPS):
        spread = k * (mpmath.log(mpmath.mpf(float(values.max()))) - mpmath.log(mpmath.mpf(float(values.min()))))
        return spread <= 2 * mpmath.mpf(bound)


def _digits(values: np.ndarray, tau, bound: float) -> int:
    """Digits for the boxed minimiser: the smallest class's share of the softmax, e^-(2 Lambda) at worst, must stay
    visible next to 1 (its Psi near the top class is 1 - s), so 60 more than log10 of its inverse (at most 400)."""
    k = 1 / (2 - float(tau))
    positive = values[values > 0]
    spread = k * math.log(float(positive.max()) / float(positive.min())) if positive.size else 0.0
    return _DPS + 20 + int(min(2 * float(bound), spread, 800.0) / math.log(10))


def boxed_minimiser(values: np.ndarray, tau, bound: float) -> list:
    """The log-softmax of the minimiser over the box, in mpmath (scores shifted to [-2 Lambda, 0]): the clipped
    curve's c where A = B, by bisection on c (A - B increases along it), from the largest class at the floor to the
    smallest positive one at the top; at the working precision of :func:`_digits`, which the caller sets."""
    tau_mp = mpmath.mpf(tau.p) / tau.q
    k = 1 / (2 - tau_mp)
    width = 2 * mpmath.mpf(bound)
    w = [mpmath.mpf(float(x)) for x in values]
    lw = [mpmath.log(x) if x > 0 else None for x in w]
    logs_positive = [x for x in lw if x is not None]
    lo, hi = -width - k * max(logs_positive), -k * min(logs_positive)

    def log_softmax(c):
        h = [(-width if x is None else min(max(c + k * x, -width), mpmath.mpf(0))) for x in lw]
        top = max(h)
        total = top + mpmath.log(mpmath.fsum(mpmath.exp(x - top) for x in h))
        return [x - total for x in h], total

    for _ in range(int(3.4 * mpmath.mp.dps) + 40):
        c = (lo + hi) / 2
        logs, log_z = log_softmax(c)
        a = mpmath.fsum(wy * mpmath.exp((tau_mp - 1) * ly) for wy, ly in zip(w, logs) if wy > 0)
        b = mpmath.exp((tau_mp - 2) * (c - log_z))
        if a <= b:
            lo = c
        else:
            hi = c
    return log_softmax((lo + hi) / 2)[0]


def _row_value(symbols: list, values: np.ndarray, tau, bound: float):
    if _fits(values, tau, bound) or not (values > 0).any():
        return closed_form(symbols, tau)
    with mpmath.workdps(_digits(values, tau, bound)):
        logs = boxed_minimiser(values, tau, bound)
        # Psi_tau at the minimiser's softmax, from the comp-sum definition: constants, so the derivative in the table
        # is Danskin's
        terms = [psi(sp.exp(exact_rational(x)), tau) for x in logs]
    return sp.Add(*[u * t for u, t in zip(symbols, terms)])


def _build(case, exact):
    tau, bound = case["tau"], float(case["score_bound"])
    w, values = case["conditional"], exact["conditional"]
    batch, points = w.shape[:-2], w.shape[-2]
    marginal = case["marginal"]
    weights = (np.full(w.shape[:-1], sp.Rational(1, points), dtype=object) if marginal is None
               else np.broadcast_to(np.asarray(marginal, dtype=object), w.shape[:-1]))
    best = np.broadcast_to(np.asarray(case["best_risk"], dtype=object), batch)
    out = np.empty(batch, dtype=object)
    for index in np.ndindex(*batch):
        risk = sp.Add(*[weights[index + (x,)] * _row_value(list(w[index + (x,)]), values[index + (x,)], tau, bound)
                        for x in range(points)])
        out[index] = best[index] - risk
    return out


def _no_gradient(arguments: dict) -> str | None:
    w = np.asarray(arguments["conditional"], dtype=np.float64)
    if w.size and (~(w > 0).any(axis=-1)).any():
        return "a row of zeros: its infimum has no unique minimiser"
    if math.isinf(float(arguments["score_bound"])) and float(arguments["tau"]) <= 1.0 and (w == 0).any():
        return "an entry 0 with unbounded scores at tau <= 1: Psi(0) = +inf at the minimiser"
    return None


def _prove():
    n = 3
    w = list(sp.symbols("w0:3", positive=True))
    s_sym = sp.Symbol("s", positive=True)
    k = 1 / (2 - TAU)
    total_k = sp.Add(*[u**k for u in w])
    s_star = [u**k / total_k for u in w]
    below, above = {TAU: (sp.Rational(1, 16), sp.Rational(15, 16))}, {TAU: (sp.Rational(17, 16), sp.Rational(31, 16))}
    unit = {u: (sp.Rational(1, 20), 2) for u in w}
    for domain in (below, above):
        pairs = [(w[y] * sp.diff(psi(s_sym, TAU), s_sym).subs(s_sym, s_star[y]), -total_k ** (2 - TAU),
                  f"Lagrange: w_{y} Psi'(s*_{y}) = -S^(2-tau)") for y in range(n)]
        pairs.append((sp.Add(*[u * psi(sy, TAU) for u, sy in zip(w, s_star)]), closed_form(w, TAU),
                      "sum_y w_y Psi(s*_y) = (S^(2-tau) - W)/(1-tau)"))
        pairs += [(sp.diff(closed_form(w, TAU), w[y]), psi(s_star[y], TAU), f"Danskin: dC*/dw_{y} = Psi(s*_{y})")
                  for y in range(n)]
        assert_identities_numerically(pairs, "the unconstrained infimum", domains={**domain, **unit}, points=3)
    assert_identity(sp.diff(psi(s_sym, TAU), s_sym, 2), (2 - TAU) * s_sym ** (TAU - 3), "Psi'' = (2 - tau) s^(tau-3)")
    point = [sp.Rational(1, 5), sp.Rational(3, 10), sp.Rational(1, 2)]
    with mpmath.workdps(80):
        for tau in (1 - sp.Rational(1, 10**30), 1 + sp.Rational(1, 10**30)):
            near = sp.N(closed_form(point, TAU).subs(TAU, tau), 60)
            if abs(near - sp.N(closed_form(point, 1), 60)) > sp.Float(10) ** -25:
                raise AssertionError(f"C*_inf does not meet the entropy as tau -> 1: {near}")
    _prove_box(n)


def _prove_box(n):
    h = list(sp.symbols("h0:3", real=True))
    w = list(sp.symbols("w0:3", positive=True))
    z = sp.Add(*[sp.exp(x) for x in h])
    s = [sp.exp(x) / z for x in h]
    for tau in (sp.Rational(1, 2), sp.Rational(3, 2)):
        risk = sp.Add(*[u * psi(sy, tau) for u, sy in zip(w, s)])
        a = sp.Add(*[u * sy ** (tau - 1) for u, sy in zip(w, s)])
        pairs = [(sp.diff(risk, h[j]), s[j] * a - w[j] * s[j] ** (tau - 1), f"dF/dh_{j} = s_j A - w_j s_j^(tau-1)")
                 for j in range(n)]
        assert_identities_numerically(pairs, f"the derivative along the scores, tau = {tau}",
                                      domains={**{x: (-2, 2) for x in h}, **{u: (sp.Rational(1, 20), 2) for u in w}})
        theta = sp.Symbol("theta", positive=True)
        k = 1 / (2 - tau)
        assert_identity(w[0] * (theta * w[0] ** k) ** (tau - 2), theta ** (tau - 2),
                        f"interior classes share w_j s_j^(tau-2) = theta^(tau-2), tau = {tau}")
        # deterministic labels: h = (L, -L, -L) meets the KKT signs, and its value is Phi^tau((n-1) e^(-2L))
        lam = sp.Symbol("Lambda", positive=True)
        corner = [lam, -lam, -lam]
        zc = sp.Add(*[sp.exp(x) for x in corner])
        sc = [sp.exp(x) / zc for x in corner]
        ac = sc[0] ** (tau - 1)
        assert_identity(sc[0] * ac - sc[0] ** (tau - 1), sc[0] ** (tau - 1) * (sc[0] - 1),
                        "deterministic labels: the top class's derivative s^(tau-1)(s - 1) <= 0")
        phi = ((1 + (n - 1) * sp.exp(-2 * lam)) ** (1 - tau) - 1) / (1 - tau)
        assert_identity(comp_sum(Row(corner, 0), tau), phi, f"C* = Phi^tau((n-1) e^(-2 Lambda)), tau = {tau}",
                        logits=[lam])
        assert_identity(psi(sc[0], tau), phi, "Psi(s_top) = Phi^tau((n-1) e^(-2 Lambda))", logits=[lam])
    lam = sp.Symbol("Lambda", positive=True)
    corner = [lam, -lam, -lam]
    assert_identity(comp_sum(Row(corner, 0), 1), sp.log(1 + 2 * sp.exp(-2 * lam)), "tau = 1: log(1 + (n-1)e^(-2L))",
                    logits=[lam])


def _formula():
    x, y = sp.symbols("x y", integer=True)
    conditional = sp.Symbol(r"p(y \mid x)")
    inner = sp.Sum(conditional * sp.Function(r"\Psi_{\tau}")(sp.Symbol(r"\mathrm{softmax}(h)_{y}")),
                   (y, 1, sp.Symbol("n")))
    infimum = sp.Function(r"\inf_{h \in [-\Lambda, \Lambda]^{n}}")(inner)
    return ell(sp.Symbol(r"R^{*}_{\ell}") - sp.Sum(sp.Function("p")(x) * infimum, (x, 1, sp.Symbol("X"))), "M")


def _gradient_formula():
    return partial(-sp.Function("p")(sp.Symbol("x")) * sp.Function(r"\Psi_{\tau}")(sp.Symbol("s^{*}_{x y}")),
                   wrt=r"p(y \mid x)", of="M")


define(
    "minimizability_gap",
    # no paper default: tau = 1 (cross-entropy) as comp_sum_loss; unbounded scores and a uniform marginal are ours
    defaults={"marginal": None, "tau": 1.0, "score_bound": math.inf},
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove,
    exact_inputs=("conditional",),
    gradient_undefined=_no_gradient,
)
