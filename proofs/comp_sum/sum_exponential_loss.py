"""``sum_exponential_loss``: see the family's derivation (this package's docstring)."""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols, reduce, rows
from .comp_sum_loss import comp_sum


def sum_exponential(row):
    """sum_{y' != y} e^{z_y' - z_y}: the sum the comp-sum losses compose with Phi^tau."""
    return row.sum(lambda c: (1 - row.delta(c, row.y)) * sp.exp(row.z(c) - row.z(row.y)))


def sum_exponential_gradient(row, j):
    """The closed form of refloss.sum_exponential_loss_grad: (p_j - delta_jy) / p_y."""
    return (row.p(j) - row.delta(j, row.y)) / row.p(row.y)


def _prove_sum_exponential():
    prove_row_gradient(sum_exponential, sum_exponential_gradient, "sum_exponential_loss")
    z = logit_symbols(3)
    for y in range(3):
        row = Row(z, y)
        assert_identity(sum_exponential(row), 1 / row.p(y) - 1, f"sum_exp = 1/p_y - 1, target {y}", logits=z)
        assert_identity(sum_exponential(row), comp_sum(row, 0), f"sum_exp = comp-sum at tau = 0, target {y}",
                        logits=z)


define(
    "sum_exponential_loss",
    # the paper's defaults, which the signature must repeat: refloss's reduction convention
    defaults={"reduction": "mean"},
    build=lambda case: reduce(rows(case, sum_exponential), case["reduction"]),
    formula=lambda: ell(sum_exponential(GenericRow())),
    gradient_formula=lambda: partial(sum_exponential_gradient(GenericRow(), sp.Symbol("j"))),
    prove=_prove_sum_exponential,
)
