r"""``comp_sum_consistency_transform``: the definition and its machine-checked derivation.

**Definition** (our reconstruction of the transforms of Mao, Mohri & Zhong 2023, not confirmed against the theorem
text). With :math:`k = 1/(2-\tau)` and :math:`M_\tau(t) = (((1+t)^k + (1-t)^k)/2)^{2-\tau}`:
:math:`T_\tau = 2^{1-\tau}(1 - M_\tau)/(1 - \tau)` for :math:`\tau \in [0, 1)`,
:math:`\tfrac{1+t}{2}\log(1+t) + \tfrac{1-t}{2}\log(1-t)` at 1, :math:`(M_\tau - 1)/((\tau-1) n^{\tau-1})` on
:math:`(1, 2)` and :math:`t/n` at 2. Both power branches are :math:`(M_\tau - 1)/((\tau - 1) d_\tau)` with
:math:`d_\tau = 2^{\tau-1}` below 1 and :math:`n^{\tau-1}` above.

**Where it comes from.** For :math:`n = 2` it is the exact transform: with :math:`p = ((1+t)/2, (1-t)/2)` and a
score that predicts the second class, the surrogate's conditional regret is smallest at the tie
:math:`s = (1/2, 1/2)` (the conditional risk is convex in :math:`s`), so
:math:`T^*(t) = \Psi_\tau(1/2) - \min_s \sum_y p_y \Psi_\tau(s_y)`, the minimum at :math:`s \propto p^k`; this
identity is checked below with :math:`\Psi_\tau` taken from the comp-sum family's own definition. For
:math:`n > 2` the :math:`\tau \in (1, 2)` branch replaces :math:`2^{\tau-1}` by :math:`n^{\tau-1}` (the tie at
:math:`s = 1/n` instead of 1/2): a valid but not tight lower bound (the tests show it).

**Gradient.** :math:`\partial M_\tau/\partial t = B^{1-\tau}((1+t)^{k-1} - (1-t)^{k-1})/2` with
:math:`B = ((1+t)^k + (1-t)^k)/2`, so :math:`T' = B^{1-\tau}((1+t)^{k-1} - (1-t)^{k-1}) / (2(\tau-1)d_\tau)`;
:math:`\operatorname{atanh} t` at :math:`\tau = 1`, :math:`1/n` at 2. At :math:`t = 1`: :math:`(1-t)^{k-1}` is
infinite for :math:`k < 1` (:math:`\tau < 1`), :math:`\operatorname{atanh} 1 = \infty`, and 0 for :math:`k > 1`:
no gradient there for :math:`\tau \le 1`.

**The forms refloss evaluates** (``refloss/losses/consistency/_common.py``). With :math:`x = \operatorname{atanh}
t` (so :math:`1 \pm t = e^{\pm x}/\cosh x`), :math:`\log M_\tau = (\tau - 1) R`,
:math:`R = (\log\cosh kx - k\log\cosh x)/(k - 1)`, and :math:`T = R\,\mathrm{exprel}((\tau-1)R)/d_\tau`; with
:math:`h = (k - 1)x`, :math:`\log\cosh kx - \log\cosh x = \log(1 + 2\sinh^2(h/2) + \tanh x \sinh h)` and
:math:`\log\cosh y = y - \log 2 + \log(1 + e^{-2y})`; at :math:`k = 1`, :math:`R = x\tanh x - \log\cosh x = T_1`.
For :math:`x \ge 1`, :math:`R = \log 2 + (l(kx) - k\,l(x))/(k - 1)`, :math:`l(y) = \log(1 + e^{-2y})`, with
:math:`l(x + h) - l(x) = \log(1 + q\,(e^{-2h} - 1))`, :math:`q = 1/(e^{2x} + 1)`. The derivative is
:math:`T' = M_\tau\,k\,2x\,\mathrm{exprel}(-2h) / ((1+t)(1 + e^{-2kx}) d_\tau)`, with
:math:`1/(1 + t) = (1 + e^{-2x})/2`. Each identity is checked below at random points in 60-digit ball arithmetic.

**Checked** (``_prove``): SymPy's derivative of every branch equals the closed form (symbolic :math:`\tau` on
(0, 1) and (1, 2), exactly at 1 and 2); the evaluation forms above; the branches meet :math:`T_1` as
:math:`\tau \to 1` from both sides and :math:`t/n` as :math:`\tau \to 2` (at 40 digits, :math:`\tau = 1 \pm
10^{-30}`, :math:`2 - 10^{-30}`); :math:`\tau = 0` is :math:`1 - \sqrt{1 - t^2}`; the Taylor coefficient
:math:`T \approx k t^2/(2 d_\tau)` (:math:`t^2/2` at :math:`\tau = 1`); the values at :math:`t = 1`; and the
:math:`n = 2` identity with the comp-sum loss.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identities_numerically, assert_identity
from ._common import TAU, T, power_mean, psi, scale, transform, transform_gradient, transform_mp

_BELOW = {TAU: (sp.Rational(1, 16), sp.Rational(15, 16)), T: (sp.Rational(1, 64), sp.Rational(63, 64))}
_ABOVE = {TAU: (sp.Rational(17, 16), sp.Rational(31, 16)), T: (sp.Rational(1, 64), sp.Rational(63, 64))}


def _build(case):
    t = case["t"] if isinstance(case["t"], np.ndarray) else np.array(case["t"], dtype=object)  # a scalar's symbol
    out = np.empty(np.shape(t), dtype=object)
    for index in np.ndindex(*np.shape(t)):
        out[index] = transform(t[index], case["tau"], case["n"])
    return out


def _no_slope(arguments: dict) -> str | None:
    if float(arguments["tau"]) <= 1.0 and (np.asarray(arguments["t"]) == 1.0).any():
        return "t = 1 at tau <= 1: T'(1) = +inf"
    return None


def _logcosh(y):
    return sp.log(sp.cosh(y))


def _ell(y):
    """l(y) = log(1 + e^-2y): log cosh y = y - log 2 + l(y)."""
    return sp.log(1 + sp.exp(-2 * y))


def _exprel(y):
    return (sp.exp(y) - 1) / y


def _prove():
    n = 3
    # the derivative of the power form (both power branches): symbolic tau on (0, 1) and on (1, 2)
    for domains in (_BELOW, _ABOVE):
        d = 2 ** (TAU - 1) if domains is _BELOW else n ** (TAU - 1)
        value = (power_mean(T, TAU) - 1) / ((TAU - 1) * d)
        k = 1 / (2 - TAU)
        closed = ((1 + T) ** (k - 1) - (1 - T) ** (k - 1)) * (((1 + T) ** k + (1 - T) ** k) / 2) ** (1 - TAU) / (
            2 * (TAU - 1) * d)
        assert_identities_numerically([(sp.diff(value, T), closed, "dT/dt")], f"T_tau on {domains[TAU]}",
                                      domains=domains, points=4)
    assert_identity(sp.diff(transform(T, 1, n, display=True), T), transform_gradient(T, 1, n), "dT_1/dt = atanh t")
    assert_identity(sp.diff(transform(T, 2, n), T), transform_gradient(T, 2, n), "dT_2/dt = 1/n")
    # the registered branches (at given tau) are the power form, and their derivatives the closed form
    for tau, domains in ((sp.Rational(1, 3), _BELOW), (sp.Rational(3, 2), _ABOVE)):
        assert_identities_numerically(
            [(transform(T, tau, n), (power_mean(T, tau) - 1) / ((tau - 1) * scale(tau, n)), "(M - 1)/((tau-1) d)"),
             (sp.diff(transform(T, tau, n), T), transform_gradient(T, tau, n), "dT/dt")],
            f"T at tau = {tau}", domains={T: domains[T]}, points=3)
    _prove_evaluation_forms(n)
    _prove_limits(n)
    _prove_two_classes()


def _prove_evaluation_forms(n):
    """The forms of refloss.losses.consistency._common, at random points of both sides of tau = 1."""
    x = (sp.log(1 + T) - sp.log(1 - T)) / 2  # atanh t (Arb has log, not atanh)
    for domains in (_BELOW, _ABOVE):
        tau = TAU
        k = 1 / (2 - tau)
        d = 2 ** (tau - 1) if domains is _BELOW else n ** (tau - 1)
        h = (k - 1) * x
        r = (_logcosh(k * x) - k * _logcosh(x)) / (k - 1)
        value = (power_mean(T, tau) - 1) / ((tau - 1) * d)
        slope = ((1 + T) ** (k - 1) - (1 - T) ** (k - 1)) * (((1 + T) ** k + (1 - T) ** k) / 2) ** (1 - tau) / (
            2 * (tau - 1) * d)
        y = sp.Symbol("y", positive=True)
        pairs = [
            (sp.log(power_mean(T, tau)), (tau - 1) * r, "log M = (tau - 1) R"),
            (value, r * _exprel((tau - 1) * r) / d, "T = R exprel((tau - 1) R) / d"),
            (_logcosh(k * x) - _logcosh(x), sp.log(1 + 2 * sp.sinh(h / 2) ** 2 + sp.tanh(x) * sp.sinh(h)),
             "log cosh kx - log cosh x = log1p(2 sinh^2(h/2) + tanh x sinh h)"),
            (_logcosh(y), y - sp.log(2) + sp.log(1 + sp.exp(-2 * y)), "log cosh y = y - log 2 + log1p(e^-2y)"),
            (_logcosh(y), sp.log(1 + 2 * sp.sinh(y / 2) ** 2), "log cosh y = log1p(2 sinh^2(y/2))"),
            (slope, sp.exp((tau - 1) * r) * k * 2 * x * _exprel(-2 * h) / ((1 + T) * (1 + sp.exp(-2 * k * x)) * d),
             "T' = M k 2x exprel(-2h) / ((1 + t)(1 + e^-2kx) d)"),
            (1 / (1 + T), (1 + sp.exp(-2 * x)) / 2, "1/(1 + t) = (1 + e^-2x)/2"),
            (r, sp.log(2) + (_ell(k * x) - k * _ell(x)) / (k - 1), "R = log 2 + (l(kx) - k l(x))/(k - 1), x >= 1"),
            (_ell(x + h) - _ell(x), sp.log(1 + (sp.exp(-2 * h) - 1) / (sp.exp(2 * x) + 1)),
             "l(x + h) - l(x) = log1p(q expm1(-2h)), q = 1/(e^2x + 1)"),
        ]
        assert_identities_numerically(pairs, "the evaluation forms", domains={**domains, y: (sp.Rational(1, 8), 6)},
                                      points=3)
    # tau = 1 (k = 1, h = 0): R is x tanh x - log cosh x, which is T_1
    assert_identities_numerically([(x * sp.tanh(x) - _logcosh(x), transform(T, 1, n, display=True), "R(k=1) = T_1"),
                                   (x, transform_gradient(T, 1, n), "T_1' = atanh t")],
                                  "tau = 1", domains=_BELOW, points=3)


def _prove_limits(n):
    """The branches meet at tau = 1 and tau = 2; tau = 0; small t; t = 1."""

    # the branches' own formulas in mpmath at 80 digits (SymPy's exact powers of rationals with 10^30 in the
    # exponent's denominator would take minutes): tau = 1 -+ 1e-30 meets T_1, 2 - 1e-30 meets t/n
    with mpmath.workdps(80):
        for t in (mpmath.mpf(1) / 1000, mpmath.mpf(1) / 3, mpmath.mpf(9) / 10):
            at_one = transform_mp(t, sp.S.One, n)
            for tau in (1 - sp.Rational(1, 10**30), 1 + sp.Rational(1, 10**30)):
                near = transform_mp(t, tau, n)
                if abs(near - at_one) > mpmath.mpf(10) ** -25 * at_one:
                    raise AssertionError(f"T_tau does not meet T_1 as tau -> 1 at t = {t}: {near} vs {at_one}")
            near_two = transform_mp(t, 2 - sp.Rational(1, 10**30), n)
            if abs(near_two - t / n) > mpmath.mpf(10) ** -25:
                raise AssertionError(f"T_tau does not meet t/n as tau -> 2 at t = {t}: {near_two}")
    assert_identity(transform(T, 0, n), 1 - sp.sqrt(1 - T**2), "tau = 0: T = 1 - sqrt(1 - t^2)")
    for tau in (0, sp.Rational(1, 2), 1, sp.Rational(3, 2), sp.Rational(7, 4)):
        k = 1 / (2 - sp.sympify(tau))
        coefficient = sp.series(transform(T, tau, n, display=True), T, 0, 3).removeO().coeff(T, 2)
        assert_identity(coefficient, k / (2 * scale(sp.sympify(tau), n)), f"T ~ k t^2 / (2 d) at tau = {tau}")
        at_one = (2 ** (sp.sympify(tau) - 1) - 1) / ((sp.sympify(tau) - 1) * scale(sp.sympify(tau), n)) if tau != 1 \
            else sp.log(2)
        assert_identity(transform(sp.S.One, tau, n), at_one, f"T(1) at tau = {tau}")


def _prove_two_classes():
    """n = 2: T_tau(t) = Psi(1/2) - min_s sum_y p_y Psi(s_y), p = ((1+t)/2, (1-t)/2), the minimum at s ~ p^k, with
    Psi_tau the comp-sum family's own definition: the exact transform of two classes."""
    for tau, domains in ((sp.Rational(1, 3), _BELOW), (sp.Rational(3, 2), _ABOVE), (sp.S.One, _BELOW)):
        p = [(1 + T) / 2, (1 - T) / 2]
        k = 1 / (2 - tau)
        total = p[0] ** k + p[1] ** k
        s = [p[0] ** k / total, p[1] ** k / total]
        regret = psi(sp.Rational(1, 2), tau) - sum(py * psi(sy, tau) for py, sy in zip(p, s))
        assert_identities_numerically([(transform(T, tau, 2, display=True), regret, "T(t; 2) = regret at the tie")],
                                      f"n = 2, tau = {tau}", domains={T: domains[T]}, points=3)


define(
    "comp_sum_consistency_transform",
    # no paper default: tau = 1 (cross-entropy, the family member the paper names first) as comp_sum_loss has it
    defaults={"tau": 1.0},
    build=_build,
    formula=lambda: ell(transform(T, sp.Symbol("tau"), sp.Symbol("n"), display=True), r"T_{\tau}(t)"),
    gradient_formula=lambda: partial(transform_gradient(T, sp.Symbol("tau"), sp.Symbol("n")), wrt="t",
                                     of=r"T_{\tau}"),
    prove=_prove,
    gradient_undefined=_no_slope,
)
