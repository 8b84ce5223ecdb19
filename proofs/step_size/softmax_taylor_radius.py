r"""``softmax_taylor_radius``: the definition and its machine-checked derivation.

**Definition** (Sao, Def. 4.4 and Thm 4.6, Eqs. 11-12; Sec. 6.4 for :math:`T`). Per row,
:math:`\rho_a = \pi T / \Delta_a` with :math:`\Delta_a = \max_k a_k - \min_k a_k` over the unmasked classes
(:math:`+\infty` where :math:`\Delta_a = 0`); a batch's radius is the smallest, :math:`\pi T / \max_x \Delta_a(x)`
(Def. 4.7, Eq. 14).

**Gradient.** With :math:`i` the class of the largest and :math:`j` of the smallest :math:`a_k` (each attained
once), :math:`\partial \rho_a / \partial a_i = -\pi T / \Delta_a^2 = -\rho_a/\Delta_a` and
:math:`\partial \rho_a / \partial a_j = +\rho_a/\Delta_a`; every other component is 0.

**Why it bounds the radius** (Lemma 4.5, re-derived and checked numerically here). Write :math:`\tau = s + i u`.
The terms of :math:`F(\tau) = \sum_k e^{z_k + a_k s} e^{i a_k u}` have positive moduli and phases
:math:`a_k u`, which for :math:`|u| < \pi/\Delta_a` lie in an open arc of length :math:`|u| \Delta_a < \pi`: a sum of
such vectors is not 0. So every zero has :math:`|\mathrm{Im}\,\tau| \ge \pi/\Delta_a`, hence modulus at least that.
``tests/test_step_size.py`` finds the zeros of :math:`F` (a polynomial in :math:`e^{g\tau}` when the :math:`a_k` are
integer multiples of :math:`g`) with mpmath and checks that the nearest one is never inside :math:`\rho_a`, and that
for two classes it is at :math:`\sqrt{\delta^2 + \pi^2}/\Delta_a` (``binary_taylor_radius``).

**Checked** (``_prove``): SymPy's derivative of :math:`\pi T/(a_i - a_j)` is the closed form; the radius scales
with :math:`T` and is invariant under a common shift of the :math:`a_k` (a step that moves every logit equally does
not change the loss).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import exact_spread, extremes, radius, rows_of


def _rows(case, exact):
    """Per row (index, top, bottom, unique, equal)."""
    z, a = exact["logits"], exact["directional_derivatives"]
    out = []
    for index in rows_of(z):
        top, bottom, unique = extremes(z[index], a[index])
        out.append((index, top, bottom, unique, a[index][top] == a[index][bottom]))
    return out


def _build(case, exact):
    a, t = np.asarray(case["directional_derivatives"], dtype=object), case["temperature"]
    rows = _rows(case, exact)
    values = {index: radius(a[index], top, bottom, t, equal) for index, top, bottom, _, equal in rows}
    if case["batch"]:
        spreads = [exact_spread(exact["directional_derivatives"][index], top, bottom) for index, top, bottom, _, _
                   in rows]
        if not rows or max(spreads) == 0:
            return sp.oo
        return values[rows[int(np.argmax(spreads))][0]]
    out = np.empty(np.shape(a)[:-1], dtype=object)
    for index, value in values.items():
        out[index] = value
    return out


def _undefined(arguments: dict) -> str | None:
    z = np.asarray(arguments["logits"], dtype=np.float64)
    a = np.asarray(arguments["directional_derivatives"], dtype=np.float64)
    rows = _rows(None, {"logits": z, "directional_derivatives": a})
    if arguments["batch"]:
        if not rows:
            return "no rows: the batch's radius is +inf"
        spreads = [exact_spread(a[index], top, bottom) for index, top, bottom, _, _ in rows]
        widest = max(spreads)
        if spreads.count(widest) > 1:
            return "two rows share the batch's largest spread (a kink of the minimum)"
        rows = [rows[spreads.index(widest)]]
    if any(equal for *_, equal in rows):
        return "equal directional derivatives: the radius is +inf"
    if not all(unique for _, _, _, unique, _ in rows):
        return "a tied largest or smallest directional derivative (a kink of the max or min)"
    return None


def _prove():
    ai, aj, c = sp.symbols("a_i a_j c", real=True)
    t = sp.Symbol("T", positive=True)
    rho = sp.pi * t / (ai - aj)
    assert_identity(sp.diff(rho, ai), -rho / (ai - aj), "d rho / d a_i = -rho / Delta")
    assert_identity(sp.diff(rho, aj), rho / (ai - aj), "d rho / d a_j = +rho / Delta")
    assert_identity(rho.subs({ai: ai + c, aj: aj + c}, simultaneous=True), rho, "invariant under a common shift")
    assert_identity(rho.subs(t, 2 * t), 2 * rho, "proportional to T")



define(
    "softmax_taylor_radius",
    defaults={"temperature": 1.0, "batch": False},
    build=_build,
    formula=lambda: ell(sp.pi * sp.Symbol("T") / sp.Symbol(r"\Delta_{a}"), r"\rho_{a}"),
    gradient_formula=lambda: partial(-sp.pi * sp.Symbol("T") / sp.Symbol(r"\Delta_{a}") ** 2, wrt="a_{i}",
                                     of=r"\rho_{a}"),
    prove=_prove,
    exact_inputs=("logits", "directional_derivatives"),
    gradient_undefined=_undefined,
)
