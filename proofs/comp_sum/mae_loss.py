"""``mae_loss``: see the family's derivation (this package's docstring)."""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols, reduce, rows
from .comp_sum_loss import comp_sum


def mae(row):
    """1 - p_y: the mean absolute error of the softmax (half of ||p - e_y||_1)."""
    return 1 - row.p(row.y)


def mae_gradient(row, j):
    """The closed form of refloss.mae_loss_grad: p_y (p_j - delta_jy)."""
    return row.p(row.y) * (row.p(j) - row.delta(j, row.y))


def _prove_mae():
    prove_row_gradient(mae, mae_gradient, "mae_loss")
    z = logit_symbols(3)
    for y in range(3):
        row = Row(z, y)
        assert_identity(mae(row), comp_sum(row, 2), f"1 - p_y = comp-sum at tau = 2, target {y}", logits=z)
        l1 = sum(sp.Abs(row.p(c) - row.delta(c, y)) for c in range(3))
        # ||p - e_y||_1 = (1 - p_y) + sum_{c != y} p_c = 2 (1 - p_y); the absolute values resolve by sign.
        l1 = l1.subs({sp.Abs(row.p(y) - 1): 1 - row.p(y)}).subs({sp.Abs(row.p(c)): row.p(c) for c in range(3)})
        assert_identity(l1, 2 * mae(row), f"||p - e_y||_1 = 2 (1 - p_y), target {y}", logits=z)


define(
    "mae_loss",
    # the paper's defaults, which the signature must repeat: refloss's reduction convention
    defaults={"reduction": "mean"},
    build=lambda case: reduce(rows(case, mae), case["reduction"]),
    formula=lambda: ell(mae(GenericRow())),
    gradient_formula=lambda: partial(mae_gradient(GenericRow(), sp.Symbol("j"))),
    prove=_prove_mae,
)
