r"""Shared parts of the consistency family's definitions: the comp-sum loss of a probability (the comp-sum family's
own definition, reused), the transform :math:`T_\tau(t; n)` and its closed-form derivative, branch by branch, and
their evaluation in mpmath for the oracle's root finding.

``transform(t, tau, n)`` with a SymPy symbol ``tau`` is the Piecewise a reader sees; with a number it is the
branch of that number. The one exception to "as written" is :math:`(1 - t)\log(1 - t)` at :math:`t = 1`, whose
value the convention :math:`0 \log 0 = 0` fixes: the evaluated form holds it as a Piecewise on :math:`t = 1`
(Arb's :math:`\log 0` is NaN, not :math:`-\infty`), the displayed one does not.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from ..comp_sum.comp_sum_loss import comp_sum

TAU = sp.Symbol("tau", nonnegative=True)
T = sp.Symbol("t", nonnegative=True)
N = sp.Symbol("n", positive=True, integer=True)
EPS = sp.Symbol("varepsilon", nonnegative=True)


class _Probability:
    """The one thing :func:`proofs.comp_sum.comp_sum_loss.comp_sum` reads of a row: the target's probability."""

    y = 0

    def __init__(self, s):
        self._s = s

    def p(self, j):
        return self._s


def psi(s, tau):
    r""":math:`\Psi_\tau(s) = (s^{\tau-1} - 1)/(1 - \tau)` (:math:`-\log s` at :math:`\tau = 1`): the comp-sum loss
    as a function of the softmax probability of the label, from the comp-sum family's definition itself."""
    return comp_sum(_Probability(s), tau)


def _xlogx(u, display: bool):
    """u log u, 0 at u = 0 (a Piecewise there unless ``display``)."""
    return u * sp.log(u) if display else sp.Piecewise((sp.S.Zero, sp.Eq(u, 0)), (u * sp.log(u), True))


def _k(tau):
    return 1 / (2 - tau)


def power_mean(t, tau):
    r""":math:`M_\tau(t) = \big(((1+t)^k + (1-t)^k)/2\big)^{2-\tau}`, :math:`k = 1/(2 - \tau)`: the power mean of
    order :math:`k` of :math:`1 \pm t`."""
    k = _k(tau)
    return (((1 + t) ** k + (1 - t) ** k) / 2) ** (2 - tau)


def scale(tau, n):
    r""":math:`d_\tau`: :math:`2^{\tau - 1}` below 1, :math:`n^{\tau - 1}` from 1 on."""
    return 2 ** (tau - 1) if tau < 1 else n ** (tau - 1)


def _below(t, tau):
    return 2 ** (1 - tau) / (1 - tau) * (1 - power_mean(t, tau))


def _cross_entropy(t, display):
    return (1 + t) / 2 * sp.log(1 + t) + _xlogx(1 - t, display) / 2


def _above(t, tau, n):
    return (power_mean(t, tau) - 1) / ((tau - 1) * n ** (tau - 1))


def transform(t, tau, n, display: bool = False):
    r"""The notes' transform :math:`T_\tau(t; n)` (reconstructed, not confirmed): below 1
    :math:`2^{1-\tau}(1 - M_\tau)/(1 - \tau)`, at 1 :math:`\tfrac{1+t}{2}\log(1+t) + \tfrac{1-t}{2}\log(1-t)`, in
    (1, 2) :math:`(M_\tau - 1)/((\tau - 1) n^{\tau - 1})`, at 2 :math:`t/n`. ``display``: the form a reader sees
    (:math:`(1-t)\log(1-t)` without its Piecewise at :math:`t = 1`)."""
    if isinstance(tau, sp.Symbol):
        return sp.Piecewise((_below(t, tau), tau < 1), (_cross_entropy(t, display), sp.Eq(tau, 1)),
                            (_above(t, tau, n), tau < 2), (t / n, True))
    tau = sp.sympify(tau)
    if tau < 1:
        return _below(t, tau)
    if tau == 1:
        return _cross_entropy(t, display)
    if tau < 2:
        return _above(t, tau, n)
    if tau == 2:
        return t / n
    raise ValueError("the transform has no closed form for tau > 2")


def transform_gradient(t, tau, n):
    r"""The closed form of :math:`T'_\tau(t)`: :math:`((1+t)^{k-1} - (1-t)^{k-1})\, B^{1-\tau} / (2(\tau - 1)
    d_\tau)` with :math:`B = ((1+t)^k + (1-t)^k)/2`, :math:`\operatorname{atanh} t` at 1, :math:`1/n` at 2."""
    def general(d):
        k = _k(tau)
        base = ((1 + t) ** k + (1 - t) ** k) / 2
        return ((1 + t) ** (k - 1) - (1 - t) ** (k - 1)) * base ** (1 - tau) / (2 * (tau - 1) * d)

    ce = (sp.log(1 + t) - sp.log(1 - t)) / 2
    if isinstance(tau, sp.Symbol):
        return sp.Piecewise((general(2 ** (tau - 1)), tau < 1), (ce, sp.Eq(tau, 1)),
                            (general(n ** (tau - 1)), tau < 2), (1 / n, True))
    tau = sp.sympify(tau)
    if tau == 1:
        return ce
    if tau == 2:
        return 1 / sp.sympify(n)
    return general(scale(tau, n))


# -- mpmath, for the roots the oracle of the inverse needs ------------------------------------------------------


def transform_mp(t, tau, n):
    """T_tau(t; n) in mpmath at the working precision (``tau`` a SymPy Rational, ``t`` an mpf)."""
    tau = mpmath.mpf(sp.Rational(tau).p) / sp.Rational(tau).q
    if tau == 2:
        return t / n
    if tau == 1:
        return (1 + t) / 2 * mpmath.log(1 + t) + (0 if t == 1 else (1 - t) / 2 * mpmath.log(1 - t))
    k = 1 / (2 - tau)
    m = (((1 + t) ** k + (1 - t) ** k) / 2) ** (2 - tau)
    d = mpmath.mpf(2) ** (tau - 1) if tau < 1 else mpmath.mpf(n) ** (tau - 1)
    return (m - 1) / ((tau - 1) * d)


def exact_rational(x) -> sp.Rational:
    """An mpf as the SymPy Rational of exactly its value. (The oracle's constants are written as Rationals: a SymPy
    Float constant reaches its ball through ``mpmath.mpf``, rounded at mpmath's current precision, and
    ``ball(mpf)`` reads ``man_exp``, whose mantissa is unsigned, so a negative Float would lose its sign.)"""
    sign, man, exp, _ = x._mpf_
    value = sp.Integer(man) * sp.Integer(2) ** exp if exp >= 0 else sp.Rational(man, 2 ** (-exp))
    return -value if sign else value


def working_digits(eps, tau, dps: int = 100) -> int:
    """Digits that leave ``dps`` correct ones in T near its root at ``eps``: the definition's M - 1 cancels about
    log10(1/g^2) digits at a root g (g^2 ~ eps), and (M - 1)/(tau - 1) log10(1/|tau - 1|) more near tau = 1."""
    small = max(0.0, -float(mpmath.log10(mpmath.mpf(eps.p) / eps.q))) if eps != 0 else 0.0
    near_one = max(0.0, -float(mpmath.log10(abs(mpmath.mpf(tau.p) / tau.q - 1)))) if tau != 1 else 0.0
    return dps + 30 + int(small) + int(near_one)


def inverse_mp(eps, tau, n, dps: int = 100):
    """The root g of T_tau(g; n) = eps in (0, 1) (0 < eps < T_tau(1)) as an mpf, to ``dps`` digits at the working
    precision of :func:`working_digits` (the caller evaluates T there too): a bracket around the quadratic leading
    term sqrt(2 d eps / k), bisection to a relative width of 2^-(3.4 dps), then Newton steps on the convex,
    increasing T from the right end. ``eps``, ``tau``: SymPy Rationals."""
    target = mpmath.mpf(eps.p) / eps.q
    tau_mp = mpmath.mpf(tau.p) / tau.q
    if tau_mp == 2:
        return target * n
    d = mpmath.mpf(2) ** (tau_mp - 1) if tau_mp < 1 else mpmath.mpf(n) ** (tau_mp - 1)
    guess = mpmath.sqrt(2 * d * target * (2 - tau_mp))
    lo, hi = guess / 4, min(4 * guess, mpmath.mpf(1))
    while transform_mp(lo, tau, n) > target:
        lo /= 4
    while hi < 1 and transform_mp(hi, tau, n) < target:
        hi = min(4 * hi, mpmath.mpf(1))
    for _ in range(int(3.4 * dps)):
        mid = (lo + hi) / 2
        if transform_mp(mid, tau, n) > target:
            hi = mid
        else:
            lo = mid
    g = hi
    for _ in range(2):
        g = g - (transform_mp(g, tau, n) - target) / mpmath.diff(lambda u: transform_mp(u, tau, n), g)
    return g if lo <= g <= hi else (lo + hi) / 2
