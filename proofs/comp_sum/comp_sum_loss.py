"""``comp_sum_loss``: see the family's derivation (this package's docstring)."""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols, reduce, rows
from ._common import TAU


def comp_sum(row, tau):
    """(p_y^(tau-1) - 1)/(1 - tau), and -log p_y at tau = 1; at p_y = 0 (a masked target) its limits,
    +oo for tau <= 1 and 1/(tau - 1) above."""
    p_y = row.p(row.y)
    if p_y == 0:
        return sp.Piecewise((sp.oo, tau <= 1), (1 / (tau - 1), True))
    return sp.Piecewise((-sp.log(p_y), sp.Eq(tau, 1)), ((p_y ** (tau - 1) - 1) / (1 - tau), True))


def comp_sum_gradient(row, j, tau):
    """The closed form that refloss.comp_sum_loss_grad implements."""
    return row.p(row.y) ** (tau - 1) * (row.p(j) - row.delta(j, row.y))


def _prove_comp_sum():
    z = logit_symbols(3)
    for y in range(3):
        row = Row(z, y)
        u = sum(sp.exp(z[c] - z[y]) for c in range(3) if c != y)
        # Phi^tau(u) = Psi_tau(p_y): the paper's form and the one in p_y are the same function.
        assert_identity(((1 + u) ** (1 - TAU) - 1) / (1 - TAU), (row.p(y) ** (TAU - 1) - 1) / (1 - TAU),
                        f"Phi^tau(u) = (p_y^(tau-1) - 1)/(1 - tau), target {y}", logits=z)
        assert_identity(sp.log(1 + u), -sp.log(row.p(y)), f"Phi^1(u) = -log p_y, target {y}", logits=z)
    for tau in (TAU, 1):  # the general branch, and tau = 1 on its own
        prove_row_gradient(lambda r, t=tau: comp_sum(r, t), lambda r, j, t=tau: comp_sum_gradient(r, j, t),
                           f"comp_sum (tau = {tau})", domains={TAU: (0, 3)})
    s, t = sp.symbols("s t", negative=True)
    exprel = (sp.exp(t) - 1) / t
    assert_identity((sp.exp((TAU - 1) * s) - 1) / (1 - TAU), -s * exprel.subs(t, (TAU - 1) * s),
                    "(p_y^(tau-1) - 1)/(1 - tau) = -s exprel((tau - 1) s)")
    check_limit(exprel, t, 0, 1, "exprel(t) -> 1 as t -> 0 (the tau = 1 branch)")


define(
    "comp_sum_loss",
    # the paper's defaults, which the signature must repeat: tau = 1, the logistic loss (Mao, Mohri & Zhong's family
    # member named first)
    defaults={"tau": 1.0, "reduction": "mean"},
    build=lambda case: reduce(rows(case, comp_sum, params=("tau",)), case["reduction"]),
    formula=lambda: ell(comp_sum(GenericRow(), sp.Symbol("tau"))),
    gradient_formula=lambda: partial(comp_sum_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("tau"))),
    prove=_prove_comp_sum,
)
