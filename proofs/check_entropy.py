"""Machine check of proofs/entropy.md: entropy and KL divergence of softmax distributions.

Run ``python -m proofs.check_entropy`` from the repository root.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import refloss
from proofs._support import (
    assert_grad_close,
    assert_identity,
    assert_values_close,
    check_limit,
    gradient,
    mp_eval,
    run,
    symbol_array,
)

C = 3  # classes in the symbolic proofs; the algebra does not depend on C

# -- definitions -----------------------------------------------------------------------------------


def softmax(z):
    s = sum(sp.exp(v) for v in z)
    return [sp.exp(v) / s for v in z]


def entropy(z):
    """-sum_j p_j log p_j over the classes given (masked classes are left out: 0 log 0 = 0)."""
    return -sum(pj * sp.log(pj) for pj in softmax(z))


def kl(a, b, support=None):
    """sum_{j in support} p_j (log p_j - log q_j), p = softmax(a over the support), q = softmax(b).

    ``support`` lists the indices of b that a's entries belong to (default: all); classes outside it have
    p_j = 0 and contribute 0 log(0 / q_j) = 0.
    """
    support = range(len(b)) if support is None else support
    q = softmax(b)
    return sum(pj * (sp.log(pj) - sp.log(q[j])) for pj, j in zip(softmax(a), support))


def _reduce(losses: np.ndarray, reduction: str):
    """(value refloss returns, scale): "mean" averages over rows, "none" is differentiated as a sum."""
    if reduction == "none":
        return losses, sp.S.One
    scale = sp.S.One if reduction == "sum" else sp.Rational(1, losses.size)
    return scale * sum(losses.flat), scale


def _rows(name: str, x: np.ndarray):
    """Symbols (n_rows, C) for x, the unmasked ones per row, and the point giving them x's values."""
    x2 = x.reshape(-1, x.shape[-1])
    Z = symbol_array(name, x2.shape, real=True)
    rows = [[j for j in range(x2.shape[1]) if np.isfinite(x2[n, j])] for n in range(x2.shape[0])]
    point = {Z[n, j]: x2[n, j] for n, j in np.ndindex(*x2.shape) if np.isfinite(x2[n, j])}
    return Z, rows, point


def _compare(what, values, grads, point, got_value, got_grads, dps):
    """One 50-digit evaluation of value and gradients, then the float64 comparisons."""
    values = np.asarray(values, dtype=object)
    flat = np.concatenate([values.ravel()] + [g.ravel() for g in grads])
    exact = mp_eval(flat, point, **({} if dps is None else {"dps": dps}))
    assert_values_close(got_value, exact[: values.size].reshape(values.shape), what)
    start = values.size
    for (label, got), g in zip(got_grads, grads):
        assert_grad_close(np.asarray(got).reshape(g.shape), exact[start:start + g.size].reshape(g.shape),
                          f"{what}, gradient w.r.t. {label}")
        start += g.size


# -- softmax_entropy -------------------------------------------------------------------------------


def check_softmax_entropy() -> None:
    z = sp.symbols(f"z0:{C}", real=True)
    p = softmax(z)
    H = entropy(z)
    for j in range(C):
        assert_identity(sp.diff(H, z[j]), -p[j] * (sp.log(p[j]) + H), f"d H / d z_{j}", logits=z)
    # The same function as LSE(z) - sum_j p_j z_j; refloss does not evaluate it that way (see entropy.md).
    assert_identity(sp.log(sum(sp.exp(v) for v in z)) - sum(pj * v for pj, v in zip(p, z)), H,
                    "H = LSE - sum p z", logits=z)
    c = sp.Symbol("c", real=True)
    assert_identity(entropy([c] * C), sp.log(C), "equal logits: H = log C")
    # 0 log 0 = 0 is the limit, and the gradient entry of a vanishing class vanishes with it.
    t, h = sp.Symbol("p", positive=True), sp.Symbol("H", real=True)
    check_limit(t * sp.log(t), t, 0, 0, "p log p as p -> 0+")
    check_limit(-t * (sp.log(t) + h), t, 0, 0, "-p (log p + H) as p -> 0+")

    rng = np.random.default_rng(6)

    def case(x, reduction, dps=None):
        Z, rows, point = _rows("z", x)
        losses = np.array([entropy([Z[n, j] for j in r]) for n, r in enumerate(rows)], dtype=object)
        values, scale = _reduce(losses, reduction)
        if reduction == "none":
            values = values.reshape(x.shape[:-1])
        _compare(f"softmax_entropy ({x.tolist() if x.size <= 6 else x.shape}, {reduction})", values,
                 [gradient(losses, Z, scale)], point, refloss.softmax_entropy(x, reduction=reduction),
                 [("logits", refloss.softmax_entropy_grad(x, reduction=reduction))], dps)

    case(rng.uniform(-5, 5, (3, 4)), "mean")
    case(rng.uniform(-5, 5, (2, 2, 3)), "sum")
    case(rng.uniform(-5, 5, 4), "none")
    case(np.array([[2.0, -np.inf, 0.5], [-np.inf, -np.inf, 1.0]]), "none")  # masked classes; one sure class
    # Peaked: H = e^-30 (31 + ...) = 2.9e-12, of which LSE - sum p z would keep about 3 digits. The
    # reference evaluates log p_0 = log(e^30 / (e^30 + 1)) as written, cancelling 13 digits.
    case(np.array([[30.0, 0.0], [0.0, -40.0]]), "none", dps=80)

    # Equal logits, every C, in refloss: log C (exactly 0 for one class).
    for n_classes in range(1, 6):
        assert_values_close(refloss.softmax_entropy(np.full(n_classes, 0.7), reduction="none"),
                            mp_eval(sp.log(n_classes), {}), f"softmax_entropy of {n_classes} equal logits")


# -- kl_divergence_logits --------------------------------------------------------------------------


def check_kl_divergence_logits() -> None:
    a = sp.symbols(f"a0:{C}", real=True)
    b = sp.symbols(f"b0:{C}", real=True)
    p, q = softmax(a), softmax(b)
    KL = kl(a, b)
    for j in range(C):
        assert_identity(sp.diff(KL, a[j]), p[j] * (sp.log(p[j]) - sp.log(q[j]) - KL), f"d KL / d a_{j}",
                        logits=a + b)
        assert_identity(sp.diff(KL, b[j]), q[j] - p[j], f"d KL / d b_{j}", logits=a + b)
    # KL(p || p) = 0, and p = q is a stationary point in both arguments.
    same = dict(zip(b, a))
    assert_identity(KL.xreplace(same), 0, "KL(p || p) = 0", logits=a)
    for j in range(C):
        for v in (a[j], b[j]):
            assert_identity(sp.diff(KL, v).xreplace(same), 0, f"d KL / d {v} at p = q", logits=a)
    # Edge conventions: a class p does not reach contributes 0; q -> 0 under p's mass is +inf.
    pj, qj = sp.symbols("p q", positive=True)
    check_limit(pj * sp.log(pj / qj), pj, 0, 0, "p log(p / q) as p -> 0+")
    check_limit(pj * sp.log(pj / qj), qj, 0, sp.oo, "p log(p / q) as q -> 0+")

    rng = np.random.default_rng(7)

    def case(xa, xb, reduction, dps=None):
        A, rows_a, point_a = _rows("a", xa)
        B, rows_b, point_b = _rows("b", xb)
        losses = np.array([kl([A[n, j] for j in ra], [B[n, j] for j in rb], [rb.index(j) for j in ra])
                           for n, (ra, rb) in enumerate(zip(rows_a, rows_b))], dtype=object)
        values, scale = _reduce(losses, reduction)
        if reduction == "none":
            values = values.reshape(xa.shape[:-1])
        g = refloss.kl_divergence_logits_grad(xa, xb, reduction=reduction)
        _compare(f"kl_divergence_logits ({xa.tolist() if xa.size <= 6 else xa.shape}, {reduction})", values,
                 [gradient(losses, A, scale), gradient(losses, B, scale)], {**point_a, **point_b},
                 refloss.kl_divergence_logits(xa, xb, reduction=reduction),
                 [("p_logits", g.p_logits), ("q_logits", g.q_logits)], dps)

    case(rng.uniform(-5, 5, (3, 3)), rng.uniform(-5, 5, (3, 3)), "mean")
    case(rng.uniform(-5, 5, (2, 1, 3)), rng.uniform(-5, 5, (2, 1, 3)), "sum")
    case(rng.uniform(-5, 5, 3), rng.uniform(-5, 5, 3), "none")
    # Row 0: p has no mass on class 1 (its term is 0, its q-gradient is q_1). Row 1: both masked at class 2.
    case(np.array([[0.5, -np.inf, 1.0], [1.0, -0.5, -np.inf]]),
         np.array([[-1.0, 2.0, 0.0], [0.3, 0.2, -np.inf]]), "none")

    x = rng.uniform(-5, 5, (2, 4))
    g = refloss.kl_divergence_logits_grad(x, x, reduction="sum")
    if not (refloss.kl_divergence_logits(x, x, reduction="sum") == 0 and not g.p_logits.any() and not g.q_logits.any()):
        raise AssertionError(f"kl_divergence_logits(x, x) should be exactly 0 with zero gradients, got "
                             f"{refloss.kl_divergence_logits(x, x, reduction='sum')}, {g}")


CHECKS = {"softmax_entropy": check_softmax_entropy, "kl_divergence_logits": check_kl_divergence_logits}

if __name__ == "__main__":
    run(CHECKS, __file__)
