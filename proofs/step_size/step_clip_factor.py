r"""``step_clip_factor``: the definition and its machine-checked derivation.

**Definition** (Sao, Prop. 5.2, Eq. 19). :math:`s = \min(1, \rho_a/\tau)` with the batch's
:math:`\rho_a = \pi T/\max_x \Delta_a(x)`; 1 at :math:`\tau = 0` or where every row has spread 0. Where it clips
(:math:`r = \tau/\rho_a > 1`), :math:`s = \pi T/(\tau \Delta_a)` of the bottleneck row.

**Gradient.** 0 where :math:`r < 1`; where it clips, :math:`\mp s/\Delta_a` at the largest and smallest
:math:`a_k` of the bottleneck row.

**Checked** (``_prove``): SymPy's derivative of the clipping branch; the clipped step has :math:`r = 1`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import exact_spread, extremes, rows_of


def _widest(exact):
    z, a = exact["logits"], exact["directional_derivatives"]
    rows = []
    for index in rows_of(z):
        top, bottom, unique = extremes(z[index], a[index])
        rows.append((index, top, bottom, unique, exact_spread(a[index], top, bottom)))
    return rows


def _clip_ratio(case, width):
    """r = tau Delta / (pi T) at the exact inputs, as a SymPy number."""
    tau = sp.Rational(*float(case["step_size"]).as_integer_ratio())
    t = sp.Rational(*float(case["temperature"]).as_integer_ratio())
    return tau * sp.Rational(width.numerator, width.denominator) / (sp.pi * t)


def _build(case, exact):
    rows = _widest(exact)
    if not rows:
        return sp.S.One
    index, top, bottom, _, width = max(rows, key=lambda r: r[4])
    if width == 0 or float(case["step_size"]) == 0.0 or _clip_ratio(case, width) <= 1:
        return sp.S.One
    a = np.asarray(case["directional_derivatives"], dtype=object)[index]
    return sp.pi * case["temperature"] / (case["step_size"] * (a[top] - a[bottom]))


def _undefined(arguments: dict) -> str | None:
    exact = {name: np.asarray(arguments[name], dtype=np.float64) for name in ("logits", "directional_derivatives")}
    rows = _widest(exact)
    if not rows or float(arguments["step_size"]) == 0.0:
        return None
    widest = max(r[4] for r in rows)
    if widest == 0:
        return None
    ratio = _clip_ratio(arguments, widest)
    if ratio == 1:
        return "r = 1: the kink of min(1, 1/r)"
    if ratio < 1:
        return None
    if sum(r[4] == widest for r in rows) > 1 or not next(r[3] for r in rows if r[4] == widest):
        return "a tied bottleneck row or extreme directional derivative"
    return None


def _prove():
    ai, aj = sp.symbols("a_i a_j", real=True)
    t, tau = sp.Symbol("T", positive=True), sp.Symbol("tau", positive=True)
    s = sp.pi * t / (tau * (ai - aj))
    assert_identity(sp.diff(s, ai), -s / (ai - aj), "d s / d a_i = -s / Delta")
    assert_identity(sp.diff(s, aj), s / (ai - aj), "d s / d a_j = +s / Delta")
    assert_identity(s * tau * (ai - aj) / (sp.pi * t), 1, "the clipped step s tau has r = 1")


define(
    "step_clip_factor",
    defaults={"temperature": 1.0},
    build=_build,
    formula=lambda: ell(sp.Min(1, sp.Symbol(r"\rho_{a}") / sp.Symbol("tau")), "s"),
    gradient_formula=lambda: partial(-sp.Symbol("s") / sp.Symbol(r"\Delta_{a}"), wrt="a_{i}", of="s"),
    prove=_prove,
    exact_inputs=("logits", "directional_derivatives"),
    gradient_undefined=_undefined,
)
