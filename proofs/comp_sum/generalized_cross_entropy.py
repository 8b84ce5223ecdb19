"""``generalized_cross_entropy``: see the family's derivation (this package's docstring)."""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols, reduce, rows
from .comp_sum_loss import comp_sum


def generalized_cross_entropy(row, q):
    """Zhang & Sabuncu's L_q = (1 - p_y^q) / q."""
    return (1 - row.p(row.y) ** q) / q


def generalized_cross_entropy_gradient(row, j, q):
    """The closed form of refloss.generalized_cross_entropy_grad: p_y^q (p_j - delta_jy)."""
    return row.p(row.y) ** q * (row.p(j) - row.delta(j, row.y))


def _prove_generalized_cross_entropy():
    q = sp.Symbol("q", positive=True)
    prove_row_gradient(generalized_cross_entropy, generalized_cross_entropy_gradient, "generalized_cross_entropy",
                       params={"q": q}, domains={q: (sp.Rational(1, 16), 1)})
    z = logit_symbols(3)
    row = Row(z, 0)
    assert_identity(generalized_cross_entropy(row, q), comp_sum(row, 1 + q), "L_q = comp-sum at tau = 1 + q",
                    logits=z, domains={q: (sp.Rational(1, 16), 1)})
    p_y = sp.Symbol("p_y", positive=True)
    check_limit((1 - p_y**q) / q, q, 0, -sp.log(p_y), "L_q -> -log p_y as q -> 0")


define(
    "generalized_cross_entropy",
    # the paper's defaults, which the signature must repeat: Zhang & Sabuncu's q = 0.7 (their experiments)
    defaults={"q": 0.7, "reduction": "mean"},
    build=lambda case: reduce(rows(case, generalized_cross_entropy, params=("q",)), case["reduction"]),
    formula=lambda: ell(generalized_cross_entropy(GenericRow(), sp.Symbol("q"))),
    gradient_formula=lambda: partial(generalized_cross_entropy_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("q"))),
    prove=_prove_generalized_cross_entropy,
)
