"""Definitions and machine checks of proofs/entropy.md: entropy and KL divergence of softmax distributions.

Run ``python -m refloss.proofs.check_entropy``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ._support import (
    GenericRow,
    Row,
    assert_identity,
    check_limit,
    define,
    ell,
    logit_symbols,
    partial,
    prove_row_gradient,
    reduce,
)

C = 3  # classes in the symbolic proofs; the algebra does not depend on C


def entropy(row):
    """H = -sum_j p_j log p_j (masked classes: 0 log 0 = 0)."""
    return -row.sum(lambda j: row.p(j) * row.log_p(j))


def entropy_gradient(row, j):
    """The closed form of refloss.softmax_entropy_grad: -p_j (log p_j + H) = -p_j (z_j - sum_c p_c z_c)."""
    return -row.p(j) * (row.z(j) - row.sum(lambda c: row.p(c) * row.z(c)))


def _prove_entropy():
    z = logit_symbols(C)
    row = Row(z)
    prove_row_gradient(entropy, entropy_gradient, "softmax_entropy", targets=False)
    for j in range(C):  # the textbook form of the gradient, and the one without log p + H
        assert_identity(-row.p(j) * (row.log_p(j) + entropy(row)), entropy_gradient(row, j),
                        f"-p_{j} (log p_{j} + H) = -p_{j} (z_{j} - sum p z)", logits=z)
    assert_identity(row.lse() - sum(row.p(j) * z[j] for j in range(C)), entropy(row), "H = LSE - sum p z", logits=z)
    c = sp.Symbol("c", real=True)
    assert_identity(entropy(Row([c] * C)), sp.log(C), "equal logits: H = log C")
    t, h = sp.Symbol("p", positive=True), sp.Symbol("H", real=True)
    check_limit(t * sp.log(t), t, 0, 0, "p log p as p -> 0+")
    check_limit(-t * (sp.log(t) + h), t, 0, 0, "-p (log p + H) as p -> 0+")


def _rows_of(z):
    return [(index, Row(z[index])) for index in np.ndindex(*z.shape[:-1])]


def _entropy_build(case):
    z = case["logits"]
    losses = np.empty(z.shape[:-1], dtype=object)
    for index, row in _rows_of(z):
        losses[index] = entropy(row)
    return reduce(losses, case["reduction"])


define(
    "softmax_entropy",
    build=_entropy_build,
    formula=lambda: ell(entropy(GenericRow(y=False)), "H"),
    gradient_formula=lambda: partial(entropy_gradient(GenericRow(y=False), sp.Symbol("j")), of="H"),
    prove=_prove_entropy,
)

# -- kl_divergence_logits ----------------------------------------------------------------------------------


def kl(p_row, q_row):
    """sum_j p_j (log p_j - log q_j); a class p does not reach contributes 0 log(0 / q_j) = 0."""
    return p_row.sum(lambda j: p_row.p(j) * (p_row.log_p(j) - q_row.log_p(j)))


def kl_gradient_p(p_row, q_row, j):
    """d KL / d a_j = p_j (log p_j - log q_j - KL), the closed form of refloss.kl_divergence_logits_grad."""
    return p_row.p(j) * (p_row.log_p(j) - q_row.log_p(j) - kl(p_row, q_row))


def kl_gradient_q(p_row, q_row, j):
    """d KL / d b_j = q_j - p_j."""
    return q_row.p(j) - p_row.p(j)


class _Pair:
    """Two rows side by side, for proofs that differentiate by either."""

    def __init__(self, a, b):
        self.a, self.b = Row(a), Row(b)


def _prove_kl():
    a, b = logit_symbols(C, "a"), logit_symbols(C, "b")
    pair = _Pair(a, b)
    value = kl(pair.a, pair.b)
    for j in range(C):
        assert_identity(sp.diff(value, a[j]), kl_gradient_p(pair.a, pair.b, j), f"d KL / d a_{j}", logits=a + b)
        assert_identity(sp.diff(value, b[j]), kl_gradient_q(pair.a, pair.b, j), f"d KL / d b_{j}", logits=a + b)
    same = dict(zip(b, a))
    assert_identity(value.xreplace(same), 0, "KL(p || p) = 0", logits=a)
    pj, qj = sp.symbols("p q", positive=True)
    check_limit(pj * sp.log(pj / qj), pj, 0, 0, "p log(p / q) as p -> 0+")
    check_limit(pj * sp.log(pj / qj), qj, 0, sp.oo, "p log(p / q) as q -> 0+")


def _kl_build(case):
    a, b = case["p_logits"], case["q_logits"]
    losses = np.empty(a.shape[:-1], dtype=object)
    for index in np.ndindex(*a.shape[:-1]):
        losses[index] = kl(Row(a[index]), Row(b[index]))
    return reduce(losses, case["reduction"])


class _GenericPair:
    def __init__(self):
        self.a, self.b = GenericRow(y=False), GenericRow(y=False)
        self.b._p = sp.IndexedBase("q")


define(
    "kl_divergence_logits",
    build=_kl_build,
    formula=lambda: ell(kl(_GenericPair().a, _GenericPair().b), r"\mathrm{KL}(p \| q)"),
    gradient_formula=lambda: sp.Tuple(
        partial(kl_gradient_p(_GenericPair().a, _GenericPair().b, sp.Symbol("j")), "a_{j}", r"\mathrm{KL}"),
        partial(kl_gradient_q(_GenericPair().a, _GenericPair().b, sp.Symbol("j")), "b_{j}", r"\mathrm{KL}")),
    prove=_prove_kl,
)
