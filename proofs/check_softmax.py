"""Definitions and machine checks of proofs/softmax.md: log-sum-exp and log-softmax.

Run ``python -m refloss.proofs.check_softmax``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ._support import GenericRow, Row, assert_identity, define, ell, logit_symbols, partial, prove_row_gradient

C = 3  # the symbolic proofs are for C = 3 classes; nothing in them depends on the value of C


def lse(row):
    """log sum_j e^{z_j}, the definition (no shift)."""
    return row.lse()


def lse_gradient(row, j):
    """The closed form of refloss.logsumexp_grad: softmax."""
    return row.p(j)


def log_softmax(row, i):
    """log p_i = z_i - LSE(z)."""
    return row.z(i) - row.lse() if row.z(i) != -sp.oo else -sp.oo


def log_softmax_jacobian(row, i, j):
    """The closed form of refloss.log_softmax_grad: d log p_i / d z_j = delta_ij - p_j."""
    return row.delta(i, j) - row.p(j)


def shifted_lse(z, k):
    """The evaluation formula m + log(1 + sum_{j != k} e^{z_j - m}) with m = z_k."""
    m = z[k]
    return m + sp.log(1 + sum(sp.exp(v - m) for j, v in enumerate(z) if j != k))


def _prove_logsumexp():
    z = logit_symbols(C)
    prove_row_gradient(lse, lse_gradient, "logsumexp", targets=False)
    # The shifted form is an identity for every k; taking z_k = max z is what makes it stable.
    for k in range(C):
        assert_identity(shifted_lse(z, k), lse(Row(z)), f"LSE = z_{k} + log(1 + sum_(j!={k}) e^(z_j - z_{k}))",
                        logits=z)


def _prove_log_softmax():
    z = logit_symbols(C)
    row = Row(z)
    for i in range(C):
        for j in range(C):
            assert_identity(sp.diff(log_softmax(row, i), z[j]), log_softmax_jacobian(row, i, j),
                            f"d log p_{i} / d z_{j} = delta - p_{j}", logits=z)
        assert_identity((z[i] - z[0]) - (shifted_lse(z, 0) - z[0]), sp.log(row.p(i)), f"log p_{i}, shifted form",
                        logits=z)


def _log_softmax_values(case):
    z = case["logits"]
    out = np.empty(z.shape, dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        row = Row(z[index])
        for i in range(z.shape[-1]):
            out[index + (i,)] = log_softmax(row, i)
    return out


def _lse_values(case):
    z = case["logits"]
    out = np.empty(z.shape[:-1], dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        out[index] = lse(Row(z[index]))
    return out


define(
    "logsumexp",
    build=_lse_values,
    formula=lambda: ell(lse(GenericRow(y=False)), r"\mathrm{LSE}(z)"),
    gradient_formula=lambda: partial(lse_gradient(GenericRow(y=False), sp.Symbol("j")), of=r"\mathrm{LSE}"),
    prove=_prove_logsumexp,
)

define(
    "log_softmax",
    build=_log_softmax_values,
    formula=lambda: ell(log_softmax(GenericRow(y=False), sp.Symbol("i")), r"\log p_i"),
    gradient_formula=lambda: partial(log_softmax_jacobian(GenericRow(y=False), sp.Symbol("i"), sp.Symbol("j")),
                                     of=r"\log p_i"),
    prove=_prove_log_softmax,
)
