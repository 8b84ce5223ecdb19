"""Machine check of proofs/softmax.md: log-sum-exp and log-softmax.

Run ``python -m proofs.check_softmax`` from the repository root.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import refloss
from proofs._support import (
    assert_grad_close,
    assert_identity,
    assert_values_close,
    gradient,
    mp_eval,
    run,
    symbol_array,
)

C = 3  # the symbolic proofs are for C = 3 classes; nothing in them depends on the value of C

# -- the definitions, written once -----------------------------------------------------------------


def lse(z):
    """log sum_j e^{z_j}, the definition (no shift)."""
    return sp.log(sum(sp.exp(v) for v in z))


def softmax(z):
    s = sum(sp.exp(v) for v in z)
    return [sp.exp(v) / s for v in z]


def shifted_lse(z, k):
    """The registry's evaluation formula m + log(1 + sum_{j != k} e^{z_j - m}) with m = z_k."""
    m = z[k]
    return m + sp.log(1 + sum(sp.exp(v - m) for j, v in enumerate(z) if j != k))


def _rows(x: np.ndarray):
    """Symbols for the unmasked entries of x, row by row: a masked class (-inf) is simply absent."""
    x2 = x.reshape(-1, x.shape[-1])
    Z = symbol_array("z", x2.shape, real=True)
    rows = [[Z[n, j] for j in range(x2.shape[1]) if np.isfinite(x2[n, j])] for n in range(x2.shape[0])]
    point = {Z[n, j]: x2[n, j] for n, j in np.ndindex(*x2.shape) if np.isfinite(x2[n, j])}
    return Z, rows, point


def _test_points():
    rng = np.random.default_rng(1)
    return {
        "batch (3, 4)": rng.uniform(-5, 5, (3, 4)),
        "vector (5,)": rng.uniform(-5, 5, 5),
        "leading dims (2, 2, 3)": rng.uniform(-5, 5, (2, 2, 3)),
        "masked classes": np.array([[1.5, -np.inf, 0.25], [-np.inf, 2.0, -1.0]]),
    }


# -- logsumexp -----------------------------------------------------------------------------------


def check_logsumexp() -> None:
    z = sp.symbols(f"z0:{C}", real=True)
    p = softmax(z)
    for j in range(C):
        assert_identity(sp.diff(lse(z), z[j]), p[j], f"d LSE / d z_{j} = p_{j}", logits=z)
    # The shifted form is an identity for every k; taking z_k = max z is what makes it stable.
    for k in range(C):
        assert_identity(shifted_lse(z, k), lse(z), f"LSE = z_{k} + log(1 + sum_(j!={k}) e^(z_j - z_{k}))",
                        logits=z)

    for label, x in _test_points().items():
        Z, rows, point = _rows(x)
        values = np.array([lse(r) for r in rows], dtype=object)
        # Rows are independent, so the gradient of each row's LSE is also that of their sum.
        expected_grad = gradient(values, Z)
        assert_values_close(refloss.logsumexp(x), mp_eval(values, point).reshape(x.shape[:-1]),
                            f"logsumexp, {label}")
        assert_grad_close(refloss.logsumexp_grad(x), mp_eval(expected_grad, point).reshape(x.shape),
                          f"logsumexp_grad, {label}")

    # Where the naive sum overflows (e^1000), the value is still 1000 + log 2 to full accuracy.
    assert_values_close(refloss.logsumexp([1000.0, 1000.0]), mp_eval(1000 + sp.log(2), {}),
                        "logsumexp([1000, 1000])")


# -- log_softmax ---------------------------------------------------------------------------------


def check_log_softmax() -> None:
    z = sp.symbols(f"z0:{C}", real=True)
    p = softmax(z)
    log_p = [sp.log(pi) for pi in p]
    for i in range(C):
        for j in range(C):
            assert_identity(sp.diff(log_p[i], z[j]), int(i == j) - p[j], f"d log p_{i} / d z_{j} = delta - p_{j}",
                            logits=z)
        # The registry's formula: (z_i - m) - log(1 + sum_{j != k} e^{z_j - m}), m = z_k.
        assert_identity((z[i] - z[0]) - (shifted_lse(z, 0) - z[0]), log_p[i], f"log p_{i}, shifted form",
                        logits=z)

    for label, x in _test_points().items():
        Z, rows, point = _rows(x)
        n_rows, n_classes = Z.shape
        finite = np.isfinite(x.reshape(n_rows, n_classes))
        values = np.full((n_rows, n_classes), sp.S.Zero, dtype=object)
        jacobian = np.full((n_rows, n_classes, n_classes), sp.S.Zero, dtype=object)
        for n, r in enumerate(rows):
            log_p_row = iter(sp.log(pi) for pi in softmax(r))
            for i in np.flatnonzero(finite[n]):
                values[n, i] = next(log_p_row)
                # Masked outputs are the constant -inf: their row of the Jacobian stays 0. Masked inputs
                # do not occur in any expression, so their column comes out 0 by itself.
                jacobian[n, i] = [sp.diff(values[n, i], Z[n, j]) for j in range(n_classes)]
        got = np.asarray(refloss.log_softmax(x)).reshape(n_rows, n_classes)
        if not np.all(got[~finite] == -np.inf):
            raise AssertionError(f"log_softmax, {label}: masked classes give {got[~finite]}, expected -inf")
        assert_values_close(got[finite], mp_eval(values[finite], point), f"log_softmax, {label}")
        assert_grad_close(np.asarray(refloss.log_softmax_grad(x)).reshape(jacobian.shape),
                          mp_eval(jacobian, point), f"log_softmax_grad (Jacobian), {label}")

    # The largest entry, close to 0, keeps its relative accuracy: log p_0 = -log1p(e^-100) = -3.72e-44.
    # The definition log(e^100 / (e^100 + 1)) cancels 44 digits, so the reference needs 50 + 44 of them.
    z100 = sp.symbols("a b", real=True)
    assert_values_close(refloss.log_softmax([100.0, 0.0]),
                        mp_eval([sp.log(pi) for pi in softmax(z100)], {z100[0]: 100.0, z100[1]: 0.0}, dps=100),
                        "log_softmax([100, 0])")


CHECKS = {"logsumexp": check_logsumexp, "log_softmax": check_log_softmax}

if __name__ == "__main__":
    run(CHECKS, __file__)
