"""Machine check of proofs/classification.md: cross-entropy, BCE with logits, softmax and sigmoid focal losses.

Run ``python -m proofs.check_classification`` from the repository root.

Every objective below is written from its definition in terms of probabilities (``softmax`` and
``sigmoid`` as quotients of exponentials), never from refloss's evaluation formulas, and every closed
form is copied from the docstring of the matching ``*_grad`` function.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import refloss
from proofs._support import (
    assert_grad_close,
    assert_identity,
    assert_values_close,
    assign,
    check_limit,
    gradient,
    mp_eval,
    run,
    symbol_array,
)

C = 3  # classes in the symbolic proofs; the algebra does not depend on C
UNIT = (0, 1)  # sampling interval for labels, smoothing and alpha if an identity falls back to points

# -- definitions -----------------------------------------------------------------------------------


def softmax(z):
    s = sum(sp.exp(v) for v in z)
    return [sp.exp(v) / s for v in z]


def sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def ce_class_target(z, y, w, eps):
    """PyTorch's smoothed, weighted NLL: (1-eps) w_y (-log p_y) + (eps/C) sum_c w_c (-log p_c)."""
    log_p = [sp.log(pi) for pi in softmax(z)]
    n = len(z)
    return (1 - eps) * w[y] * -log_p[y] + eps / n * sum(w[c] * -log_p[c] for c in range(n))


def ce_prob_target(z, t, w, eps):
    """-sum_c w_c t'_c log p_c with the smoothed target t' = (1-eps) t + eps/C."""
    log_p = [sp.log(pi) for pi in softmax(z)]
    n = len(z)
    return -sum(w[c] * ((1 - eps) * t[c] + eps / n) * log_p[c] for c in range(n))


def bce(x, y, w, rho):
    """-w [rho y log sigma(x) + (1-y) log(1 - sigma(x))]."""
    return -w * (rho * y * sp.log(sigmoid(x)) + (1 - y) * sp.log(1 - sigmoid(x)))


def focal(z, y, gamma, alpha_y):
    """-alpha_y (1 - p_y)^gamma log p_y."""
    p_y = softmax(z)[y]
    return -alpha_y * (1 - p_y) ** gamma * sp.log(p_y)


def sigmoid_focal(x, y, alpha, gamma):
    """alpha_t (1 - p_t)^gamma BCE(x, y); alpha=None means alpha_t = 1."""
    p = sigmoid(x)
    p_t = p * y + (1 - p) * (1 - y)
    alpha_t = 1 if alpha is None else alpha * y + (1 - alpha) * (1 - y)
    return alpha_t * (1 - p_t) ** gamma * bce(x, y, 1, 1)


def reduced(losses: np.ndarray, reduction: str, denominator=None):
    """(the value refloss returns, scale): the reduced objective is ``scale * sum(losses)``.

    "none" returns the losses themselves; its gradient is that of their sum (scale 1).
    """
    if reduction == "none":
        return losses, sp.S.One
    scale = sp.S.One if reduction == "sum" else 1 / sp.sympify(losses.size if denominator is None else denominator)
    return scale * sum(losses.flat), scale


def _tie(what, values, losses, scale, variables, point, got_value, got_grad, dps=None):
    """refloss's float64 value and gradient against the 50-digit value and derivative of the math."""
    values = np.asarray(values, dtype=object)
    grad = gradient(losses, variables, scale)
    exact = mp_eval(np.concatenate([values.ravel(), grad.ravel()]), point, **({} if dps is None else {"dps": dps}))
    assert_values_close(got_value, exact[: values.size].reshape(values.shape), what)
    assert_grad_close(got_grad, exact[values.size:].reshape(grad.shape), what + ", gradient")


# -- cross_entropy ---------------------------------------------------------------------------------


def check_cross_entropy() -> None:
    z = sp.symbols(f"z0:{C}", real=True)
    w = sp.symbols(f"w0:{C}", positive=True)
    t = sp.symbols(f"t0:{C}", real=True)  # the closed form holds without sum(t) = 1
    eps = sp.Symbol("epsilon", nonnegative=True)
    p = softmax(z)
    domains = {eps: UNIT}

    def closed(a, j):  # docstring: d ell / d z_j = p_j sum_c a_c - a_j
        return p[j] * sum(a) - a[j]

    for y in range(C):
        a = [(1 - eps) * w[y] * int(c == y) + eps / C * w[c] for c in range(C)]
        assert_identity(ce_class_target(z, y, w, eps), -sum(a[c] * sp.log(p[c]) for c in range(C)),
                        f"class target {y}: smoothed weighted NLL = -sum_c a_c log p_c", logits=z, domains=domains)
        for j in range(C):
            assert_identity(sp.diff(ce_class_target(z, y, w, eps), z[j]), closed(a, j),
                            f"class target {y}: d ell / d z_{j}", logits=z, domains=domains)
        # Without smoothing: ell = w_y (LSE(z) - z_y), and with unit weights ell = -log p_y.
        lse = sp.log(sum(sp.exp(v) for v in z))
        assert_identity(ce_class_target(z, y, w, 0), w[y] * (lse - z[y]), "eps = 0: w_y (LSE - z_y)", logits=z)
        assert_identity(ce_class_target(z, y, [1] * C, 0), -sp.log(p[y]), "eps = 0, w = 1: -log p_y", logits=z)
    a = [w[c] * ((1 - eps) * t[c] + eps / C) for c in range(C)]
    for j in range(C):
        assert_identity(sp.diff(ce_prob_target(z, t, w, eps), z[j]), closed(a, j),
                        f"probability targets: d ell / d z_{j}", logits=z, domains=domains)

    rng = np.random.default_rng(2)
    E = sp.Symbol("eps")
    W = symbol_array("w", (3,), positive=True)

    def class_case(x, target, weight, ignore_index, label_smoothing, reduction):
        Z = symbol_array("z", x.shape, real=True)
        w_expr = W if weight is not None else [sp.S.One] * x.shape[-1]
        kept = [n for n in range(x.shape[0]) if target[n] != ignore_index]
        losses = np.array([ce_class_target(Z[n], target[n], w_expr, E) if n in kept else sp.S.Zero
                           for n in range(x.shape[0])], dtype=object)
        # PyTorch's "mean": divide by the total weight of the non-ignored targets, for both terms.
        values, scale = reduced(losses, reduction, sum(w_expr[target[n]] for n in kept))
        point = {**assign(Z, x), E: label_smoothing, **(assign(W, weight) if weight is not None else {})}
        kw = dict(weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)
        what = f"cross_entropy (class targets {target}, {kw})"
        _tie(what, values, losses, scale, Z, point, refloss.cross_entropy(x, target, **kw),
             refloss.cross_entropy_grad(x, target, **kw))

    weight = rng.uniform(0.5, 2.0, 3)
    class_case(rng.uniform(-5, 5, (4, 3)), np.array([2, -100, 0, 2]), weight, -100, 0.1, "mean")
    class_case(rng.uniform(-5, 5, (3, 3)), np.array([1, 0, 2]), weight, 1, 0.25, "sum")  # a class id ignored
    class_case(rng.uniform(-5, 5, (2, 3)), np.array([0, 1]), None, -100, 0.0, "none")  # plain -log p_y

    def prob_case(x, target, weight, label_smoothing, reduction):
        Z = symbol_array("z", x.shape, real=True)
        T = symbol_array("t", x.shape, real=True)
        w_expr = W if weight is not None else [sp.S.One] * x.shape[-1]
        losses = np.empty(x.shape[:-1], dtype=object)
        for index in np.ndindex(*x.shape[:-1]):
            losses[index] = ce_prob_target(Z[index], T[index], w_expr, E)
        values, scale = reduced(losses, reduction)  # "mean" divides by the number of rows N
        point = {**assign(Z, x), **assign(T, target), E: label_smoothing,
                 **(assign(W, weight) if weight is not None else {})}
        kw = dict(weight=weight, label_smoothing=label_smoothing, reduction=reduction)
        what = f"cross_entropy (probability targets, shape {x.shape}, {kw})"
        _tie(what, values, losses, scale, Z, point, refloss.cross_entropy(x, target, **kw),
             refloss.cross_entropy_grad(x, target, **kw))

    prob_case(rng.uniform(-5, 5, (2, 2, 3)), rng.dirichlet(np.ones(3), (2, 2)), weight, 0.2, "mean")
    prob_case(rng.uniform(-5, 5, (2, 3)), rng.dirichlet(np.ones(3), 2), None, 0.0, "none")


# -- binary_cross_entropy_with_logits --------------------------------------------------------------


def check_binary_cross_entropy_with_logits() -> None:
    x, y = sp.symbols("x y", real=True)
    w, rho = sp.symbols("w rho", positive=True)
    domains = {y: UNIT}
    closed = w * ((1 - y) * sigmoid(x) - rho * y * sigmoid(-x))
    assert_identity(sp.diff(bce(x, y, w, rho), x), closed, "d ell / d x", logits=[x], domains=domains)

    def softplus(v):
        return sp.log(1 + sp.exp(v))

    # refloss's sum of two non-negative terms, and PyTorch's form, are the same function.
    assert_identity(w * (rho * y * softplus(-x) + (1 - y) * softplus(x)), bce(x, y, w, rho),
                    "softplus form", logits=[x], domains=domains)
    assert_identity(w * ((1 - y) * x + (1 + (rho - 1) * y) * softplus(-x)), bce(x, y, w, rho),
                    "PyTorch's form", logits=[x], domains=domains)

    rng = np.random.default_rng(3)

    def case(logits, target, weight, pos_weight, reduction):
        X, Y = symbol_array("x", logits.shape, real=True), symbol_array("y", logits.shape, real=True)
        Wt, R = symbol_array("w", logits.shape, positive=True), symbol_array("r", logits.shape, positive=True)
        losses = np.vectorize(bce, otypes=[object])(X, Y, Wt, R)
        values, scale = reduced(losses, reduction)  # "mean" divides by the number of elements
        ones = np.ones(logits.shape)
        point = {**assign(X, logits), **assign(Y, target), **assign(Wt, ones if weight is None else weight),
                 **assign(R, ones if pos_weight is None else pos_weight)}
        kw = dict(weight=weight, pos_weight=pos_weight, reduction=reduction)
        _tie(f"binary_cross_entropy_with_logits (shape {logits.shape}, {kw})", values, losses, scale, X, point,
             refloss.binary_cross_entropy_with_logits(logits, target, **kw),
             refloss.binary_cross_entropy_with_logits_grad(logits, target, **kw))

    soft = np.array([[0.0, 0.3, 1.0], [1.0, 0.0, 0.7]])
    case(rng.uniform(-5, 5, (2, 3)), soft, rng.uniform(0.5, 2, 3), rng.uniform(0.5, 3, 3), "mean")
    case(rng.uniform(-5, 5, 4), np.array([1.0, 0.0, 0.5, 1.0]), None, None, "sum")
    case(rng.uniform(-5, 5, (2, 3)), soft, rng.uniform(0.5, 2, (2, 3)), None, "none")


# -- focal_loss ------------------------------------------------------------------------------------


def check_focal_loss() -> None:
    z = sp.symbols(f"z0:{C}", real=True)
    gamma, alpha = sp.symbols("gamma alpha", positive=True)
    p = softmax(z)
    for y in range(C):
        q = 1 - p[y]
        factor = alpha * q**gamma * (1 - gamma * p[y] * sp.log(p[y]) / q)
        for j in range(C):
            assert_identity(sp.diff(focal(z, y, gamma, alpha), z[j]), factor * (p[j] - int(j == y)),
                            f"target {y}: d ell / d z_{j}", logits=z)
        # gamma = 0, alpha = 1 is cross-entropy.
        assert_identity(focal(z, y, 0, 1), ce_class_target(z, y, [1] * C, 0), "gamma = 0 is cross-entropy",
                        logits=z)
    # The factor's only singular-looking piece, log(p_y) / q, has a finite limit as p_y -> 1 (q -> 0).
    p_y = sp.Symbol("p_y", positive=True)
    check_limit(sp.log(p_y) / (1 - p_y), p_y, 1, -1, "log p_y / (1 - p_y) as p_y -> 1", direction="-")

    rng = np.random.default_rng(4)
    G, A = sp.Symbol("gamma"), symbol_array("alpha", (3,), positive=True)

    def case(x, target, gamma_value, alpha_value, reduction, dps=None):
        Z = symbol_array("z", x.shape, real=True)
        if alpha_value is None:
            alpha_y, alpha_point = [sp.S.One] * len(target), {}
        elif np.ndim(alpha_value) == 0:  # a scalar alpha multiplies every class alike
            alpha_y, alpha_point = [A[0]] * len(target), {A[0]: alpha_value}
        else:
            alpha_y, alpha_point = [A[t] for t in target], assign(A, alpha_value)
        losses = np.array([focal(Z[n], target[n], G, alpha_y[n]) for n in range(len(target))], dtype=object)
        values, scale = reduced(losses, reduction)
        point = {**assign(Z, x), G: gamma_value, **alpha_point}
        kw = dict(gamma=gamma_value, alpha=alpha_value, reduction=reduction)
        _tie(f"focal_loss (logits {x.tolist() if x.size < 4 else x.shape}, {kw})", values, losses, scale, Z, point,
             refloss.focal_loss(x, target, **kw), refloss.focal_loss_grad(x, target, **kw), dps)

    case(rng.uniform(-5, 5, (3, 3)), np.array([0, 2, 1]), 2.0, rng.uniform(0.1, 1, 3), "mean")
    case(rng.uniform(-5, 5, (2, 3)), np.array([2, 0]), 0.5, 0.25, "sum")
    case(rng.uniform(-5, 5, (2, 3)), np.array([1, 2]), 1.5, None, "none")
    # p_y -> 1: 1 - p_y = 1.1e-13 must come from -expm1(log p_y), not 1 - p_y (the definition, evaluated
    # as written, cancels 13 digits; hence the extra digits for the reference).
    case(np.array([[30.0, 0.0, -2.0]]), np.array([0]), 0.5, None, "none", dps=80)

    # gamma = 0 and alpha = None: refloss's focal loss and cross-entropy agree with the same exact value.
    x, target = rng.uniform(-5, 5, (3, 3)), np.array([1, 0, 2])
    Z = symbol_array("z", x.shape, real=True)
    mean, _ = reduced(np.array([-sp.log(softmax(Z[n])[target[n]]) for n in range(3)], dtype=object), "mean")
    exact = mp_eval(mean, assign(Z, x))
    assert_values_close(refloss.focal_loss(x, target, gamma=0.0), exact, "focal_loss(gamma=0) = cross-entropy")
    assert_values_close(refloss.cross_entropy(x, target), exact, "cross_entropy, the gamma = 0 reference")
    assert_grad_close(refloss.focal_loss_grad(x, target, gamma=0.0), refloss.cross_entropy_grad(x, target),
                      "focal_loss_grad(gamma=0) = cross_entropy_grad")


# -- sigmoid_focal_loss ----------------------------------------------------------------------------


def check_sigmoid_focal_loss() -> None:
    x, y, alpha = sp.symbols("x y alpha", real=True)
    gamma = sp.Symbol("gamma", positive=True)
    domains = {y: UNIT, alpha: UNIT}
    p = sigmoid(x)
    m = p * (1 - y) + (1 - p) * y  # 1 - p_t
    ce = bce(x, y, 1, 1)
    alpha_t = alpha * y + (1 - alpha) * (1 - y)
    closed = alpha_t * m**gamma * ((p - y) + gamma * ce * (1 - 2 * y) * p * (1 - p) / m)
    assert_identity(sp.diff(sigmoid_focal(x, y, alpha, gamma), x), closed, "d ell / d x", logits=[x],
                    domains=domains)
    assert_identity(sigmoid_focal(x, y, None, 0), bce(x, y, 1, 1), "gamma = 0, alpha = None is BCE", logits=[x],
                    domains=domains)
    # Why p(1-p)/m is safe: m - p(1-p) = (p - y)^2 + y(1 - y) >= 0 for y in [0, 1], so the ratio is in
    # [0, 1]; m -> 0 only for hard labels, and there the ratio -> 1.
    assert_identity(m - p * (1 - p), (p - y) ** 2 + y * (1 - y), "m - p(1-p) = (p-y)^2 + y(1-y)", logits=[x],
                    domains=domains)
    check_limit((p * (1 - p) / m).subs(y, 1), x, sp.oo, 1, "p(1-p)/m for y = 1 as x -> oo (m -> 0)")
    check_limit((p * (1 - p) / m).subs(y, 0), x, -sp.oo, 1, "p(1-p)/m for y = 0 as x -> -oo (m -> 0)")

    rng = np.random.default_rng(5)
    A, G = sp.symbols("alpha gamma")

    def case(logits, target, alpha_value, gamma_value, reduction, dps=None):
        X, Y = symbol_array("x", logits.shape, real=True), symbol_array("y", logits.shape, real=True)
        losses = np.vectorize(lambda xi, yi: sigmoid_focal(xi, yi, None if alpha_value is None else A, G),
                              otypes=[object])(X, Y)
        values, scale = reduced(losses, reduction)
        point = {**assign(X, logits), **assign(Y, target), G: gamma_value,
                 **({} if alpha_value is None else {A: alpha_value})}
        kw = dict(alpha=alpha_value, gamma=gamma_value, reduction=reduction)
        _tie(f"sigmoid_focal_loss (shape {logits.shape}, {kw})", values, losses, scale, X, point,
             refloss.sigmoid_focal_loss(logits, target, **kw),
             refloss.sigmoid_focal_loss_grad(logits, target, **kw), dps)

    case(rng.uniform(-5, 5, (2, 3)), np.array([[0.0, 1.0, 0.3], [1.0, 0.8, 0.0]]), 0.25, 2.0, "mean")
    case(rng.uniform(-5, 5, 5), np.array([1.0, 0.0, 0.0, 1.0, 1.0]), None, 0.5, "sum")
    case(rng.uniform(-5, 5, (2, 2)), np.array([[0.5, 1.0], [0.0, 0.2]]), 0.75, 1.5, "none")
    # m = 1 - p_t ~ 4e-18 for confident correct predictions; gamma < 1, where m^(gamma-1) alone overflows
    # as m -> 0. The reference cancels 18 digits in 1 - sigma(40), hence the extra digits.
    case(np.array([40.0, -40.0]), np.array([1.0, 0.0]), 0.25, 0.5, "none", dps=80)

    # gamma = 0, alpha = None: the sigmoid focal loss is BCE with logits, in refloss too.
    logits, target = rng.uniform(-5, 5, (2, 3)), np.array([[0.0, 1.0, 0.4], [1.0, 0.6, 0.0]])
    X, Y = symbol_array("x", logits.shape, real=True), symbol_array("y", logits.shape, real=True)
    exact = mp_eval(reduced(np.vectorize(lambda a, b: bce(a, b, 1, 1), otypes=[object])(X, Y), "mean")[0],
                    {**assign(X, logits), **assign(Y, target)})
    assert_values_close(refloss.sigmoid_focal_loss(logits, target, alpha=None, gamma=0.0), exact,
                        "sigmoid_focal_loss(gamma=0, alpha=None) = BCE")
    assert_values_close(refloss.binary_cross_entropy_with_logits(logits, target), exact,
                        "binary_cross_entropy_with_logits, the gamma = 0 reference")
    assert_grad_close(refloss.sigmoid_focal_loss_grad(logits, target, alpha=None, gamma=0.0),
                      refloss.binary_cross_entropy_with_logits_grad(logits, target),
                      "sigmoid_focal_loss_grad(gamma=0, alpha=None) = BCE gradient")


CHECKS = {
    "cross_entropy": check_cross_entropy,
    "binary_cross_entropy_with_logits": check_binary_cross_entropy_with_logits,
    "focal_loss": check_focal_loss,
    "sigmoid_focal_loss": check_sigmoid_focal_loss,
}

if __name__ == "__main__":
    run(CHECKS, __file__)
