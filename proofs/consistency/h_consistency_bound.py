r"""``h_consistency_bound``: the definition and its machine-checked derivation.

**Definition** (the bound's shape is the abstract's; the transform is our reconstruction, not confirmed against
the theorem text of Mao, Mohri & Zhong 2023). With :math:`\varepsilon` the surrogate's estimation error,
:math:`M_\ell` and :math:`M_{0-1}` the two minimizability gaps, the bound on the zero-one estimation error is
:math:`B = \Gamma_\tau(\varepsilon + M_\ell) - M_{0-1}`, where :math:`\Gamma_\tau(u) = T_\tau^{-1}(u)` for
:math:`u < T_\tau(1)` and 1 from :math:`T_\tau(1)` on (a zero-one regret is at most 1), :math:`T_\tau` the
definition of ``comp_sum_consistency_transform``.

**Why it is a bound** (the argument, given the pointwise transform). If
:math:`T_\tau(\Delta C_{0-1}(h, x)) \le \Delta C_\ell(h, x)` for every :math:`x`, Jensen's inequality for the convex
:math:`T_\tau` gives :math:`T_\tau(\mathbb E_x \Delta C_{0-1}) \le \mathbb E_x \Delta C_\ell`, and
:math:`\mathbb E_x \Delta C = R(h) - R^*(\mathcal H) + M(\mathcal H)` for either loss; :math:`\Gamma_\tau` is the
increasing inverse. The tests check the resulting inequality on small problems where every term is exact.

**Gradient.** By the inverse function theorem, :math:`T_\tau(\Gamma_\tau(u)) = u` gives
:math:`T'_\tau(\Gamma_\tau(u))\,\Gamma'_\tau(u) = 1`, so :math:`\partial B/\partial\varepsilon = \partial B/\partial
M_\ell = 1/T'_\tau(\Gamma_\tau(\varepsilon + M_\ell))` below the saturation point, 0 beyond it, and
:math:`\partial B/\partial M_{0-1} = -1`. At :math:`u = 0` the slope is :math:`1/T'(0) = +\infty` for
:math:`\tau < 2`; at :math:`u = T_\tau(1)` it is :math:`1/T'(1) = 0` from the left for :math:`\tau \le 1` (no kink)
and :math:`1/T'(1) > 0` for :math:`\tau \in (1, 2]` (a kink: no gradient there).

**The oracle** (no closed form for the inverse). At the exact input :math:`u_0 = \varepsilon + M_\ell` (a sum of
two floats, exact as a rational) the root :math:`g_0` of :math:`T_\tau(g) = u_0` is located in mpmath (bisection,
then Newton; at a working precision that covers the definition's cancellation of :math:`M - 1`), and the
definition evaluated is the inverse's expansion of order 2 around :math:`g_0`,
:math:`g_0 + w/(T' + T'' w/(2T'))` with :math:`w = u - T_\tau(g_0)` and :math:`T_\tau(g_0)`, :math:`T'`, :math:`T''`
the definition's value and numerical derivatives at :math:`g_0` (not refloss's closed form), all as exact
rationals: its value at :math:`u_0` is the root to far more than the stored digits (the error is quadratic in
:math:`g_0`'s), its derivative is :math:`1/T'(g_0)`, the inverse function theorem's, and its second derivative
:math:`-T''/T'^3` (the inverse's own, which sets the gradient's condition scale). Its digits are proven relative
to :math:`g_0`, not by an enclosure of the root.

**Checked** (``_prove``): the inverse function theorem for a generic increasing :math:`T`; the Newton form's value
and derivative; at :math:`\tau \in \{1/2, 1, 3/2\}`, :math:`T(\Gamma(u)) = u` and the difference quotient of
:math:`\Gamma` against :math:`1/T'(\Gamma)` at 40 digits; :math:`\Gamma_2(u) = n u`; and
:math:`\Gamma_1(u) \le \sqrt{2u}` (:math:`T_1(t) \ge t^2/2`: the derivative of :math:`T_1(t) - t^2/2` is
:math:`\operatorname{atanh} t - t`, whose derivative :math:`t^2/(1 - t^2)` is non-negative).
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import EPS, T, exact_rational, inverse_mp, transform, transform_mp, working_digits

_GAP, _GAP01 = sp.Symbol(r"M_{\ell}", nonnegative=True), sp.Symbol(r"M_{0-1}", nonnegative=True)
_NAMES = ("surrogate_excess", "surrogate_gap", "zero_one_gap")


def _totals(arguments: dict) -> tuple[np.ndarray, np.ndarray]:
    """(u, M_01) per element of the broadcast shape, exactly: u = excess + surrogate gap as a Fraction. A gap left
    out is 0 (None in the arguments, NaN among the oracle's float64 exact inputs, which hold None as NaN)."""
    arrays = [np.zeros(()) if arguments.get(name) is None else np.asarray(arguments[name], dtype=np.float64)
              for name in _NAMES]
    arrays = [np.where(np.isnan(a), 0.0, a) for a in arrays]
    excess, gap, gap01 = np.broadcast_arrays(*arrays)
    total = np.empty(excess.shape, dtype=object)
    for index in np.ndindex(*excess.shape):
        total[index] = Fraction(float(excess[index])) + Fraction(float(gap[index]))
    return total, gap01


def _top(tau, n):
    """T_tau(1) in mpmath at 60 digits."""
    with mpmath.workdps(60):
        return transform_mp(mpmath.mpf(1), tau, n)


def _saturated(u: Fraction, tau, n) -> bool:
    """u >= T_tau(1): exact for tau = 2 (1/n) and tau = 0 (1); T(1) is irrational otherwise, so 60 digits decide."""
    if tau == 2:
        return u * n >= 1
    if tau == 0:
        return u >= 1
    with mpmath.workdps(60):
        return mpmath.mpf(u.numerator) / u.denominator >= _top(tau, n)


def _element(u: Fraction, tau, n, total_symbol, gap01_symbol):
    """The definition at one element: the saturated constant, the exact line of tau = 2, or the Newton form."""
    minus = -gap01_symbol
    if _saturated(u, tau, n):
        return sp.S.One + minus
    if tau == 2:
        return n * total_symbol + minus
    if u == 0:
        return sp.S.Zero * total_symbol + minus  # Gamma(0) = 0; its slope is +inf (the gradient is refused)
    rational = sp.Rational(u.numerator, u.denominator)
    dps = working_digits(rational, tau)
    with mpmath.workdps(dps):
        g0 = inverse_mp(rational, tau, n)
        value = transform_mp(g0, tau, n)
        slope = mpmath.diff(lambda x: transform_mp(x, tau, n), g0)
        curvature = mpmath.diff(lambda x: transform_mp(x, tau, n), g0, 2)
        g0, value, slope, curvature = (exact_rational(x) for x in (g0, value, slope, curvature))
    w = total_symbol - value
    # second order in w = u - T(g0): Gamma' = 1/T' and Gamma'' = -T''/T'^3 at g0, so that the gradient's condition
    # scale |u Gamma''| is the inverse's own, not the 0 of a straight line; the Pade form w/(T' + T'' w/(2T')) holds no
    # square, whose ball around w = 0 Arb's power would make NaN
    return g0 + w / (slope + curvature / (2 * slope) * w) + minus


def _build(case, exact):
    tau, n = case["tau"], case["n"]
    symbols = [case[name] if case.get(name) is not None else sp.S.Zero for name in _NAMES]
    arrays = [s if isinstance(s, np.ndarray) else np.array(s, dtype=object) for s in symbols]
    excess, gap, gap01 = np.broadcast_arrays(*arrays)
    totals, _ = _totals(exact)
    out = np.empty(excess.shape, dtype=object)
    for index in np.ndindex(*excess.shape):
        out[index] = _element(totals[index], tau, n, excess[index] + gap[index], gap01[index])
    return out


def _no_slope(arguments: dict) -> str | None:
    tau = sp.Rational(*float(arguments["tau"]).as_integer_ratio())
    n = int(arguments["n"])
    totals, _ = _totals(arguments)
    if tau < 2 and any(u == 0 for u in totals.flat):
        return "excess + surrogate gap = 0 at tau < 2: Gamma'(0) = +inf"
    if tau == 2 and any(u * n == 1 for u in totals.flat):
        return "excess + surrogate gap = 1/n at tau = 2: the kink where Gamma_2 saturates"
    return None


def _prove():
    # the inverse function theorem, for a generic T: d/du T(G(u)) = 1 gives G' = 1/T'(G)
    u = sp.Symbol("u", positive=True)
    generic, inverse = sp.Function("T"), sp.Function("G")
    slope = sp.Symbol("G'")
    chain = sp.diff(generic(inverse(u)), u).subs(sp.Derivative(inverse(u), u), slope)
    (solved,) = sp.solve(sp.Eq(chain, 1), slope)
    assert_identity(solved, 1 / sp.Subs(sp.Derivative(generic(T), T), T, inverse(u)).doit(),
                    "inverse function theorem: G'(u) = 1/T'(G(u))")
    # the oracle's form: value g0, slope 1/T' and curvature -T''/T'^3 where u = T(g0), the inverse's own
    g0, t1, t2 = sp.symbols("g_0 T' T''", positive=True)
    w = u - generic(g0)
    pade = g0 + w / (t1 + t2 / (2 * t1) * w)
    at = {u: generic(g0)}
    assert_identity(pade.subs(at), g0, "the oracle's form is g0 at u = T(g0)")
    assert_identity(sp.diff(pade, u).subs(at), 1 / t1, "its slope there is 1/T'(g0)")
    assert_identity(sp.diff(pade, u, 2).subs(at), -t2 / t1**3, "its curvature there is -T''/T'^3")
    second = sp.Symbol("G''")
    chain2 = sp.diff(generic(inverse(u)), u, 2).subs(sp.Derivative(inverse(u), (u, 2)), second)
    chain2 = chain2.subs(sp.Derivative(inverse(u), u), solved)
    (curvature,) = sp.solve(sp.Eq(chain2, 0), second)
    t_of = sp.Subs(sp.Derivative(generic(T), T), T, inverse(u)).doit()
    t2_of = sp.Subs(sp.Derivative(generic(T), (T, 2)), T, inverse(u)).doit()
    assert_identity(curvature, -t2_of / t_of**3, "d^2/du^2 T(G(u)) = 0 gives G'' = -T''/T'^3")
    # on the definition itself: T(Gamma(u)) = u and Gamma' = 1/T'(Gamma), by differences at 40 digits
    for tau in (sp.Rational(1, 2), sp.S.One, sp.Rational(3, 2)):
        for u0 in (sp.Rational(1, 1000), sp.Rational(1, 10)):
            with mpmath.workdps(working_digits(u0, tau, 40)):
                root = inverse_mp(u0, tau, 3, dps=40)
                if abs(transform_mp(root, tau, 3) - mpmath.mpf(u0.p) / u0.q) > mpmath.mpf(10) ** -38 * u0:
                    raise AssertionError(f"T(Gamma(u)) != u at tau = {tau}, u = {u0}")
                h = sp.Rational(1, 10**12)
                quotient = (inverse_mp(u0 + h, tau, 3, dps=40) - inverse_mp(u0 - h, tau, 3, dps=40)) / (2 * (
                    mpmath.mpf(h.p) / h.q))
                expected = 1 / mpmath.diff(lambda x: transform_mp(x, tau, 3), root)
                if abs(quotient - expected) > mpmath.mpf(10) ** -15 * expected:
                    raise AssertionError(f"Gamma'(u) != 1/T'(Gamma(u)) at tau = {tau}, u = {u0}")
    # tau = 2: the inverse of t/n; tau = 1: Gamma_1(u) <= sqrt(2u) since T_1(t) >= t^2/2
    assert_identity(transform(EPS * 3, 2, 3), EPS, "Gamma_2(u) = n u inverts T_2")
    difference = transform(T, 1, 3, display=True) - T**2 / 2
    unit = {T: (sp.Rational(1, 64), sp.Rational(63, 64))}
    assert_identity(sp.diff(difference, T), sp.atanh(T) - T, "d/dt (T_1 - t^2/2) = atanh t - t", domains=unit)
    assert_identity(sp.diff(sp.atanh(T) - T, T), T**2 / (1 - T**2), "d/dt (atanh t - t) = t^2/(1 - t^2) >= 0",
                    domains=unit)
    assert_identity(difference.subs(T, 0), 0, "T_1(0) - 0 = 0")


def _formula():
    u = EPS + _GAP
    gamma = sp.Function(r"T_{\tau}^{-1}")(u)
    return ell(sp.Piecewise((gamma - _GAP01, u < sp.Function(r"T_{\tau}")(1)), (1 - _GAP01, True)), "B")


def _gradient_formula():
    u = EPS + _GAP
    slope = 1 / sp.Function(r"T_{\tau}'")(sp.Function(r"T_{\tau}^{-1}")(u))
    return partial(sp.Piecewise((slope, u < sp.Function(r"T_{\tau}")(1)), (0, True)), wrt=r"\varepsilon", of="B")


define(
    "h_consistency_bound",
    # no paper default: tau = 1 (cross-entropy) as comp_sum_loss; a gap left out is 0 (H = all measurable functions)
    defaults={"tau": 1.0, "surrogate_gap": None, "zero_one_gap": None},
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove,
    exact_inputs=_NAMES,
    gradient_undefined=_no_slope,
)
