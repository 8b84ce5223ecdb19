"""Definitions and machine checks of proofs/classification.md: cross-entropy, BCE, focal losses, PolyLoss.

Run ``python -m refloss.proofs.check_classification``.

Every objective below is written from its definition in terms of probabilities (softmax and sigmoid as
quotients of exponentials), never from refloss's evaluation formulas; every ``*_gradient`` function is the
closed form that the registered gradient implements, proved equal to SymPy's derivative of the definition.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ._support import (
    BinaryRow,
    GenericRow,
    Row,
    assert_identity,
    check_limit,
    define,
    elementwise,
    ell,
    logit_symbols,
    partial,
    prove_row_gradient,
    reduce,
    rows,
    sigmoid,
)

C = 3  # classes in the symbolic proofs; the algebra does not depend on C
UNIT = (0, 1)  # sampling interval for labels, smoothing and alpha if an identity falls back to points
EPS = sp.Symbol("varepsilon", nonnegative=True)

# -- cross_entropy -----------------------------------------------------------------------------------------


def _weight(row):
    return row.w if "w" in getattr(row, "extra", {}) or isinstance(row, GenericRow) else (lambda c: sp.S.One)


def ce_class_target(row, eps):
    """PyTorch's smoothed, weighted NLL: (1-eps) w_y (-log p_y) + (eps/C) sum_c w_c (-log p_c)."""
    w = _weight(row)
    nll = (1 - eps) * w(row.y) * -row.log_p(row.y)
    if eps == 0:  # no smoothing term at all, also where a masked class would make it 0 * oo
        return nll
    return nll + eps / row.C * row.sum(lambda c: w(c) * -row.log_p(c))


def ce_coefficients(row, eps):
    """a_c with ell = -sum_c a_c log p_c: class targets a = (1-eps) w_y e_y + (eps/C) w; probability targets
    a = w ((1-eps) t + eps/C)."""
    w = _weight(row)
    if row.y is None:
        return lambda c: w(c) * ((1 - eps) * row.t(c) + eps / row.C)
    return lambda c: (1 - eps) * w(row.y) * row.delta(c, row.y) + eps / row.C * w(c)


def ce_prob_target(row, eps):
    """-sum_c w_c t'_c log p_c with the smoothed target t' = (1-eps) t + eps/C."""
    a = ce_coefficients(row, eps)
    return -row.sum(lambda c: a(c) * row.log_p(c))


def ce_gradient(row, j, eps):
    """The closed form of refloss.cross_entropy_grad: p_j sum_c a_c - a_j."""
    a = ce_coefficients(row, eps)
    return row.p(j) * row.sum(a) - a(j)


def _prove_cross_entropy():
    z = logit_symbols(C)
    w = list(sp.symbols(f"w0:{C}", positive=True))
    for y in range(C):
        row = Row(z, y, w=w)
        a = ce_coefficients(row, EPS)
        assert_identity(ce_class_target(row, EPS), -sum(a(c) * row.log_p(c) for c in range(C)),
                        f"class target {y}: smoothed weighted NLL = -sum_c a_c log p_c", logits=z, domains={EPS: UNIT})
        assert_identity(ce_class_target(row, 0), w[y] * (row.lse() - z[y]), "eps = 0: w_y (LSE - z_y)", logits=z)
    prove_row_gradient(ce_class_target, ce_gradient, "cross_entropy, class targets", per_class=("w",),
                       params={"eps": EPS}, domains={EPS: UNIT})
    # probability targets: the closed form holds without sum(t) = 1
    prove_row_gradient(ce_prob_target, ce_gradient, "cross_entropy, probability targets", targets=False,
                       per_class=("w", "t"), params={"eps": EPS}, domains={EPS: UNIT})


def _ce_build(case):
    z, target, eps = case["logits"], case["target"], case["label_smoothing"]
    weight = case.get("weight")
    per_class = {} if weight is None else {"w": list(weight)}
    losses = np.empty(z.shape[:-1], dtype=object)
    if isinstance(target, np.ndarray) and target.dtype == object:  # probability targets
        for index in np.ndindex(*z.shape[:-1]):
            losses[index] = ce_prob_target(Row(z[index], None, t=list(target[index]), **per_class), eps)
        return reduce(losses, case["reduction"])  # "mean" divides by the number of rows N
    total_weight = sp.S.Zero
    for index in np.ndindex(*z.shape[:-1]):
        y = int(target[index])
        if y == case["ignore_index"]:
            losses[index] = sp.S.Zero
            continue
        row = Row(z[index], y, **per_class)
        losses[index] = ce_class_target(row, eps)
        total_weight += _weight(row)(y)
    # PyTorch's "mean": divide by the total weight of the non-ignored targets, for both terms.
    return reduce(losses, case["reduction"], total_weight)


define(
    "cross_entropy",
    build=_ce_build,
    formula=lambda: ell(ce_class_target(GenericRow("w"), EPS)),
    gradient_formula=lambda: partial(ce_gradient(GenericRow("w"), sp.Symbol("j"), EPS)),
    prove=_prove_cross_entropy,
)

# -- binary_cross_entropy_with_logits --------------------------------------------------------------------


def bce(e, w=1, rho=1):
    """-w [rho y log sigma(x) + (1-y) log(1 - sigma(x))]."""
    return -w * (rho * e.y * sp.log(e.sigma(e.x)) + (1 - e.y) * sp.log(1 - e.sigma(e.x)))


def bce_gradient(e, w=1, rho=1):
    """The closed form of refloss.binary_cross_entropy_with_logits_grad."""
    return w * ((1 - e.y) * e.sigma(e.x) - rho * e.y * e.sigma(-e.x))


def _bce_element(e):
    return bce(e, getattr(e, "w", 1), getattr(e, "rho", 1))


def _prove_bce():
    x, y = sp.symbols("x y", real=True)
    w, rho = sp.symbols("w rho", positive=True)
    e = BinaryRow(x, y)
    domains = {y: UNIT}
    assert_identity(sp.diff(bce(e, w, rho), x), bce_gradient(e, w, rho), "d ell / d x", logits=[x], domains=domains)

    def softplus(v):
        return sp.log(1 + sp.exp(v))

    # refloss's sum of two non-negative terms, and PyTorch's form, are the same function.
    assert_identity(w * (rho * y * softplus(-x) + (1 - y) * softplus(x)), bce(e, w, rho), "softplus form",
                    logits=[x], domains=domains)
    assert_identity(w * ((1 - y) * x + (1 + (rho - 1) * y) * softplus(-x)), bce(e, w, rho), "PyTorch's form",
                    logits=[x], domains=domains)


def _bce_build(case):
    renamed = {**case, "w": case.get("weight"), "rho": case.get("pos_weight")}
    return reduce(elementwise(renamed, _bce_element, arrays=("w", "rho")), case["reduction"])


_BINARY = BinaryRow(sp.Symbol("x"), sp.Symbol("y"), generic=True)
define(
    "binary_cross_entropy_with_logits",
    build=_bce_build,
    formula=lambda: ell(bce(_BINARY, sp.Symbol("w"), sp.Symbol("rho"))),
    gradient_formula=lambda: partial(bce_gradient(_BINARY, sp.Symbol("w"), sp.Symbol("rho")), "x"),
    prove=_prove_bce,
)

# -- focal_loss ------------------------------------------------------------------------------------------


def focal(row, gamma, alpha=1):
    """-alpha_y (1 - p_y)^gamma log p_y (alpha_y: the per-class alpha at the target, a scalar, or 1)."""
    return -alpha * (1 - row.p(row.y)) ** gamma * row.log_p(row.y)


def focal_gradient(row, j, gamma, alpha=1):
    """The closed form of refloss.focal_loss_grad."""
    p_y = row.p(row.y)
    q = 1 - p_y
    return alpha * q**gamma * (1 - gamma * p_y * row.log_p(row.y) / q) * (row.p(j) - row.delta(j, row.y))


def _prove_focal():
    gamma, alpha = sp.symbols("gamma alpha", positive=True)
    prove_row_gradient(focal, focal_gradient, "focal_loss", params={"gamma": gamma, "alpha": alpha})
    z = logit_symbols(C)
    for y in range(C):
        row = Row(z, y)
        assert_identity(focal(row, 0), ce_class_target(row, 0), "gamma = 0 is cross-entropy", logits=z)
    # The factor's only singular-looking piece, log(p_y) / q, has a finite limit as p_y -> 1 (q -> 0).
    p_y = sp.Symbol("p_y", positive=True)
    check_limit(sp.log(p_y) / (1 - p_y), p_y, 1, -1, "log p_y / (1 - p_y) as p_y -> 1", direction="-")


def _focal_build(case):
    z, target, alpha = case["logits"], case["target"], case.get("alpha")
    losses = np.empty(z.shape[:-1], dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        y = int(target[index])
        if alpha is None:
            a = 1
        elif isinstance(alpha, np.ndarray) and alpha.ndim == 1:
            a = alpha[y]  # per-class alpha gathered at the target
        else:
            a = alpha  # a scalar multiplies every class alike
        losses[index] = focal(Row(z[index], y), case["gamma"], a)
    return reduce(losses, case["reduction"])


define(
    "focal_loss",
    build=_focal_build,
    formula=lambda: ell(focal(GenericRow(), sp.Symbol("gamma"), sp.IndexedBase("alpha")[sp.Symbol("y")])),
    gradient_formula=lambda: partial(focal_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("gamma"),
                                                    sp.IndexedBase("alpha")[sp.Symbol("y")])),
    prove=_prove_focal,
)

# -- sigmoid_focal_loss -----------------------------------------------------------------------------------


def sigmoid_focal(e, gamma, alpha=None):
    """alpha_t (1 - p_t)^gamma BCE(x, y); alpha=None means alpha_t = 1."""
    p = e.sigma(e.x)
    p_t = p * e.y + (1 - p) * (1 - e.y)
    alpha_t = 1 if alpha is None else alpha * e.y + (1 - alpha) * (1 - e.y)
    return alpha_t * (1 - p_t) ** gamma * bce(e)


def sigmoid_focal_gradient(e, gamma, alpha=None):
    """The closed form of refloss.sigmoid_focal_loss_grad, with m = 1 - p_t."""
    p = e.sigma(e.x)
    m = p * (1 - e.y) + (1 - p) * e.y
    alpha_t = 1 if alpha is None else alpha * e.y + (1 - alpha) * (1 - e.y)
    return alpha_t * m**gamma * ((p - e.y) + gamma * bce(e) * (1 - 2 * e.y) * p * (1 - p) / m)


def _prove_sigmoid_focal():
    x, y, alpha = sp.symbols("x y alpha", real=True)
    gamma = sp.Symbol("gamma", positive=True)
    e = BinaryRow(x, y)
    domains = {y: UNIT, alpha: UNIT}
    assert_identity(sp.diff(sigmoid_focal(e, gamma, alpha), x), sigmoid_focal_gradient(e, gamma, alpha),
                    "d ell / d x", logits=[x], domains=domains)
    assert_identity(sigmoid_focal(e, 0), bce(e), "gamma = 0, alpha = None is BCE", logits=[x], domains=domains)
    # Why p(1-p)/m is safe: m - p(1-p) = (p - y)^2 + y(1 - y) >= 0 for y in [0, 1], so the ratio is in
    # [0, 1]; m -> 0 only for hard labels, and there the ratio -> 1.
    p = sigmoid(x)
    m = p * (1 - y) + (1 - p) * y
    assert_identity(m - p * (1 - p), (p - y) ** 2 + y * (1 - y), "m - p(1-p) = (p-y)^2 + y(1-y)", logits=[x],
                    domains=domains)
    check_limit((p * (1 - p) / m).subs(y, 1), x, sp.oo, 1, "p(1-p)/m for y = 1 as x -> oo (m -> 0)")
    check_limit((p * (1 - p) / m).subs(y, 0), x, -sp.oo, 1, "p(1-p)/m for y = 0 as x -> -oo (m -> 0)")


define(
    "sigmoid_focal_loss",
    build=lambda case: reduce(elementwise(case, sigmoid_focal, params=("gamma", "alpha")), case["reduction"]),
    formula=lambda: ell(sigmoid_focal(_BINARY, sp.Symbol("gamma"), sp.Symbol("alpha"))),
    gradient_formula=lambda: partial(sigmoid_focal_gradient(_BINARY, sp.Symbol("gamma"), sp.Symbol("alpha")), "x"),
    prove=_prove_sigmoid_focal,
)

# -- poly1_loss ---------------------------------------------------------------------------------------------


def poly1(row, epsilon):
    """PolyLoss's Poly-1: -log p_y + epsilon (1 - p_y)."""
    return -row.log_p(row.y) + epsilon * (1 - row.p(row.y))


def poly1_gradient(row, j, epsilon):
    """The closed form of refloss.poly1_loss_grad: (1 + epsilon p_y)(p - e_y)."""
    return (1 + epsilon * row.p(row.y)) * (row.p(j) - row.delta(j, row.y))


def _prove_poly1():
    epsilon = sp.Symbol("epsilon", real=True)
    prove_row_gradient(poly1, poly1_gradient, "poly1_loss", params={"epsilon": epsilon})
    z = logit_symbols(C)
    s = sp.Symbol("s", negative=True)
    for y in range(C):
        row = Row(z, y)
        assert_identity(poly1(row, 0), ce_class_target(row, 0), "epsilon = 0 is cross-entropy", logits=z)
    # The evaluation forms: two non-negative terms on each side of epsilon = 0 (s = log p_y <= 0).
    loss = -s + epsilon * (1 - sp.exp(s))
    assert_identity((1 + epsilon) * -s - epsilon * (sp.exp(s) - 1 - s), loss, "epsilon < 0 form")
    # -log p + eps (1 - p) = sum_j (1 - p)^j / j + eps (1 - p): Poly-1 is PolyLoss with alpha_1 = 1 + eps.
    t = sp.Symbol("t", positive=True)
    check_limit((-sp.log(1 - t) - t) / t**2, t, 0, sp.Rational(1, 2), "-log p - (1 - p) ~ (1 - p)^2 / 2 as p -> 1")


define(
    "poly1_loss",
    build=lambda case: reduce(rows(case, poly1, params=("epsilon",)), case["reduction"]),
    formula=lambda: ell(poly1(GenericRow(), sp.Symbol("epsilon"))),
    gradient_formula=lambda: partial(poly1_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("epsilon"))),
    prove=_prove_poly1,
)
