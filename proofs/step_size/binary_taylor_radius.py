r"""``binary_taylor_radius``: the definition and its machine-checked derivation.

**Definition** (Sao, Thm 4.3, Eq. 10; top-2 form Eq. 13; Sec. 6.4 for :math:`T`). For the pair of classes
:math:`y` and :math:`c` (a binary row's two classes, or :math:`y` and its strongest competitor
:math:`c = \arg\max_{k \ne y} z_k`, the first of equals: our reading of "top-2"),
:math:`\rho^* = \sqrt{\delta^2 + \pi^2 T^2} / |\Delta|` with :math:`\delta = z_y - z_c`, :math:`\Delta = a_y - a_c`;
:math:`+\infty` where :math:`\Delta = 0` or there is no competitor.

**Derivation.** Under linearised logits, :math:`F(\tau) = e^{z_y + a_y\tau} + e^{z_c + a_c\tau}
= e^{z_c + a_c \tau}(1 + e^{\delta + \Delta\tau})` vanishes exactly where :math:`e^{\delta + \Delta\tau} = -1`, i.e.
:math:`\tau_k = (-\delta + i\pi(2k+1))/\Delta`; the nearest to 0 are :math:`k = 0, -1`, of modulus
:math:`\sqrt{\delta^2 + \pi^2}/|\Delta|`. With the temperature, :math:`\delta/T` and :math:`\Delta/T` replace
:math:`\delta` and :math:`\Delta`.

**Gradient.** :math:`\partial\rho^*/\partial z_y = -\partial\rho^*/\partial z_c = \delta/(\sqrt{\delta^2 +
\pi^2T^2}\,|\Delta|)` and :math:`\partial\rho^*/\partial a_y = -\partial\rho^*/\partial a_c = -\rho^*/\Delta`; the
sign of :math:`\Delta` is decided on the exact inputs, so the definition is smooth where it is differentiated.

**Checked** (``_prove``): SymPy's derivatives are the closed forms for either sign of :math:`\Delta`;
:math:`F` vanishes at :math:`\tau_0` (exactly, symbolically); :math:`\rho^* = |\tau_0|`; :math:`\rho^* \ge
\pi T/|\Delta|` with equality at :math:`\delta = 0`; the temperature form equals the radius of the scaled inputs.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import rows_of


def radius(z, a, y: int, c: int, temperature, sign: int) -> sp.Expr:
    """sqrt((z_y - z_c)^2 + pi^2 T^2) / (sign (a_y - a_c)), sign that of a_y - a_c."""
    return sp.sqrt((z[y] - z[c]) ** 2 + sp.pi**2 * temperature**2) / (sign * (a[y] - a[c]))


def _pairs(case, exact):
    """Per row (index, y, c or None, sign of a_y - a_c, the competitor unique)."""
    z, a = exact["logits"], exact["directional_derivatives"]
    target = case.get("target")
    out = []
    for index in rows_of(z):
        y = 0 if target is None else int(np.asarray(target)[index])
        others = [k for k in range(z.shape[-1]) if k != y and np.isfinite(z[index][k])]
        if not others:
            out.append((index, y, None, 0, True))
            continue
        best = max(z[index][k] for k in others)
        c = next(k for k in others if z[index][k] == best)
        unique = sum(z[index][k] == best for k in others) == 1
        slope = Fraction(float(a[index][y])) - Fraction(float(a[index][c]))
        out.append((index, y, c, (slope > 0) - (slope < 0), unique))
    return out


def _radii(case, exact):
    z, a = np.asarray(case["logits"], dtype=object), np.asarray(case["directional_derivatives"], dtype=object)
    return {index: sp.oo if c is None or sign == 0 else radius(z[index], a[index], y, c, case["temperature"], sign)
            for index, y, c, sign, _ in _pairs(case, exact)}


def _exact_radius(case, exact, index, y, c, sign):
    """The radius at the exact inputs, to decide the batch's bottleneck (ties resolved exactly)."""
    if c is None or sign == 0:
        return sp.oo
    z, a = exact["logits"][index], exact["directional_derivatives"][index]
    rational = [sp.Rational(*float(x).as_integer_ratio()) for x in (z[y], z[c], a[y], a[c])]
    t = sp.Rational(*float(case["temperature"]).as_integer_ratio())
    return sp.sqrt((rational[0] - rational[1]) ** 2 + sp.pi**2 * t**2) / (sign * (rational[2] - rational[3]))


def _bottleneck(case, exact):
    """(index of the smallest radius, whether it is unique), comparing the exact radii."""
    pairs = _pairs(case, exact)
    values = [_exact_radius(case, exact, index, y, c, sign) for index, y, c, sign, _ in pairs]
    best = min(range(len(values)), key=lambda i: values[i])  # SymPy decides the order of exact radii
    ties = sum(1 for x in values if sp.simplify(x - values[best]) == 0) if values[best] != sp.oo else len(values)
    return pairs[best][0], ties == 1


def _build(case, exact):
    radii = _radii(case, exact)
    if case["batch"]:
        if not radii:
            return sp.oo
        index, _ = _bottleneck(case, exact)
        return radii[index]
    out = np.empty(np.shape(case["logits"])[:-1], dtype=object)
    for index, value in radii.items():
        out[index] = value
    return out


def _undefined(arguments: dict) -> str | None:
    exact = {name: np.asarray(arguments[name], dtype=np.float64) for name in ("logits", "directional_derivatives")}
    case = {"target": arguments.get("target"), "temperature": arguments["temperature"]}
    pairs = _pairs(case, exact)
    if arguments["batch"]:
        if not pairs:
            return "no rows: the batch's radius is +inf"
        index, alone = _bottleneck(case, exact)
        if not alone:
            return "two rows share the batch's smallest radius (a kink of the minimum)"
        pairs = [p for p in pairs if p[0] == index]
    if any(c is None or sign == 0 for _, _, c, sign, _ in pairs):
        return "a_y = a_c (or no competitor): the radius is +inf"
    if not all(unique for *_, unique in pairs):
        return "the target's strongest competitor is tied (a kink of the argmax)"
    return None


def _prove():
    zy, zc, ay, ac = sp.symbols("z_y z_c a_y a_c", real=True)
    t = sp.Symbol("T", positive=True)
    z, a = {0: zy, 1: zc}, {0: ay, 1: ac}
    h = sp.sqrt((zy - zc) ** 2 + sp.pi**2 * t**2)
    for sign in (1, -1):
        rho = radius(z, a, 0, 1, t, sign)
        assert_identity(sp.diff(rho, zy), (zy - zc) / (h * sign * (ay - ac)), f"d rho / d z_y (sign {sign})")
        assert_identity(sp.diff(rho, zc), -(zy - zc) / (h * sign * (ay - ac)), f"d rho / d z_c (sign {sign})")
        assert_identity(sp.diff(rho, ay), -rho / (ay - ac), f"d rho / d a_y (sign {sign})")
        assert_identity(sp.diff(rho, ac), rho / (ay - ac), f"d rho / d a_c (sign {sign})")
    d, slope = sp.Symbol("delta", real=True), sp.Symbol("Delta", positive=True)
    tau0 = (-d + sp.I * sp.pi) / slope
    assert_identity(sp.expand_complex(1 + sp.exp(d + slope * tau0)), 0, "F vanishes at (-delta + i pi) / Delta")
    assert_identity(sp.sqrt(sp.re(tau0) ** 2 + sp.im(tau0) ** 2), sp.sqrt(d**2 + sp.pi**2) / slope, "rho = |tau_0|")
    assert_identity(radius({0: d, 1: 0}, {0: slope, 1: 0}, 0, 1, 1, 1).subs(d, 0), sp.pi / slope,
                    "delta = 0: the lower bound pi / Delta")
    assert_identity(radius({0: d / t, 1: 0}, {0: slope / t, 1: 0}, 0, 1, 1, 1),
                    radius({0: d, 1: 0}, {0: slope, 1: 0}, 0, 1, t, 1), "the temperature: z / T and a / T")


define(
    "binary_taylor_radius",
    defaults={"target": None, "temperature": 1.0, "batch": False},
    build=_build,
    formula=lambda: ell(sp.sqrt(sp.Symbol(r"\delta") ** 2 + sp.pi**2 * sp.Symbol("T") ** 2)
                        / sp.Abs(sp.Symbol(r"\Delta")), r"\rho^{*}"),
    gradient_formula=lambda: partial(-sp.Symbol(r"\rho^{*}") / sp.Symbol(r"\Delta"), wrt="a_{y}", of=r"\rho^{*}"),
    prove=_prove,
    exact_inputs=("logits", "directional_derivatives"),
    gradient_undefined=_undefined,
)
