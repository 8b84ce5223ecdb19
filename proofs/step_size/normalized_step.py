r"""``normalized_step``: the definition and its machine-checked derivation.

**Definition** (Sao, Def. 5.1, Eq. 17; Def. 4.7; Sec. 6.4). Per row :math:`r = \tau / \rho_a = \tau (\max_k a_k -
\min_k a_k)/(\pi T)` over the unmasked classes (0 where they are equal); a batch's value is the largest,
:math:`\tau \max_x \Delta_a(x)/(\pi T)`.

**Gradient.** :math:`\pm\tau/(\pi T)` at the classes of the largest and smallest :math:`a_k` (each attained once).

**Checked** (``_prove``): SymPy's derivative; :math:`r = \tau/\rho_a` with ``softmax_taylor_radius``'s
definition; the clip :math:`s = \min(1, \rho_a/\tau)` gives :math:`s\,r \le 1` with equality when it clips.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from ._common import exact_spread, extremes, rows_of


def _rows(exact):
    z, a = exact["logits"], exact["directional_derivatives"]
    out = []
    for index in rows_of(z):
        top, bottom, unique = extremes(z[index], a[index])
        out.append((index, top, bottom, unique, a[index][top] == a[index][bottom]))
    return out


def normalized(a, top: int, bottom: int, step, temperature) -> sp.Expr:
    return step * (a[top] - a[bottom]) / (sp.pi * temperature)


def _build(case, exact):
    a = np.asarray(case["directional_derivatives"], dtype=object)
    rows = _rows(exact)
    values = {index: normalized(a[index], top, bottom, case["step_size"], case["temperature"])
              for index, top, bottom, _, _ in rows}
    if case["batch"]:
        if not rows:
            return sp.S.Zero
        spreads = [exact_spread(exact["directional_derivatives"][index], top, bottom) for index, top, bottom, _, _
                   in rows]
        return values[rows[int(np.argmax(spreads))][0]]
    out = np.empty(np.shape(a)[:-1], dtype=object)
    for index, value in values.items():
        out[index] = value
    return out


def _undefined(arguments: dict) -> str | None:
    exact = {name: np.asarray(arguments[name], dtype=np.float64) for name in ("logits", "directional_derivatives")}
    rows = _rows(exact)
    if arguments["batch"]:
        if not rows:
            return "no rows"
        spreads = [exact_spread(exact["directional_derivatives"][index], top, bottom) for index, top, bottom, _, _
                   in rows]
        if spreads.count(max(spreads)) > 1:
            return "two rows share the batch's largest spread (a kink of the maximum)"
        rows = [rows[spreads.index(max(spreads))]]
    if not all(unique and not equal for _, _, _, unique, equal in rows):
        return "a tied largest or smallest directional derivative (a kink of the max or min)"
    return None


def _prove():
    ai, aj, tau = sp.symbols("a_i a_j tau", real=True)
    t = sp.Symbol("T", positive=True)
    r = normalized({0: ai, 1: aj}, 0, 1, tau, t)
    assert_identity(sp.diff(r, ai), tau / (sp.pi * t), "d r / d a_i = tau / (pi T)")
    assert_identity(sp.diff(r, aj), -tau / (sp.pi * t), "d r / d a_j = -tau / (pi T)")
    assert_identity(r, tau / (sp.pi * t / (ai - aj)), "r = tau / rho_a")
    rho, big = sp.Symbol("rho", positive=True), sp.Symbol("tau", positive=True)
    assert_identity((rho / big) * (big / rho), 1, "a clipped step s tau with s = rho_a / tau has r = 1")


define(
    "normalized_step",
    defaults={"temperature": 1.0, "batch": False},
    build=_build,
    formula=lambda: ell(sp.Symbol("tau") * sp.Symbol(r"\Delta_{a}") / (sp.pi * sp.Symbol("T")), "r"),
    gradient_formula=lambda: partial(sp.Symbol("tau") / (sp.pi * sp.Symbol("T")), wrt="a_{i}", of="r"),
    prove=_prove,
    exact_inputs=("logits", "directional_derivatives"),
    gradient_undefined=_undefined,
)
