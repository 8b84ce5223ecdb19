r"""``linear_cross_entropy``: the definition and its machine-checked derivation.

**Layout.** Hidden states :math:`e` of shape ``(..., D)`` (any batch axes; none: one row), a classifier :math:`c`
of shape ``(V, D)`` or ``(d_1, ..., d_K, V, D)`` (PyTorch's K-dimensional loss: a ``(V, D)`` classifier per
position), a bias :math:`b` of shape ``c.shape[:-1]``; the head's logits
:math:`u_{i,k,v} = \sum_d e_{i,d}\, c_{k,v,d} + b_{k,v}` (batch index :math:`i`, position index :math:`k`)
have the shape ``e.shape[:-1] + c.shape[:-1]``. Each index :math:`n = (i, k)` of every axis but the last is a
*row* of logits, :math:`z_n = \mathrm{cap}(u_n)`, and the loss is a sum over rows.

**Definition.** With a *class target* :math:`y_n` (integers of shape ``u.shape[:-1]``), for a kept target
:math:`y_n \ne \mathtt{ignore\_index}` (:math:`m_n = 1`),

.. math:: \ell_n = \underbrace{(1-\varepsilon)\,w_{y_n}(-\log p_{n,y_n})
          + \frac{\varepsilon}{V}\sum_c w_c\,(-\log p_{n,c})}_{\text{cross\_entropy of } z_n}
          + \lambda\,\mathrm{LSE}_n^2 ,

the cross-entropy of ``proofs/classification/cross_entropy.py`` (PyTorch's weights and smoothing) plus PaLM's z-loss
(arXiv:2204.02311: an auxiliary :math:`10^{-4} \log^2 Z` that keeps the softmax normaliser :math:`\log Z`
near 0), with Gemma 2's soft cap applied to the head's logits (bias included) before the softmax, as
in Cut Cross-Entropy and Liger. Ignored rows contribute 0; ``"mean"`` divides by
:math:`W = \sum_n m_n w_{y_n}` (the z-loss is not class-weighted and shares this denominator: a convention,
stated in the function's docstring, where the peers differ when class weights are given).

With a *real target* :math:`t_n` of the logits' shape (PyTorch's probability targets: its dispatch on equal
shapes), every row is kept and

.. math:: \ell_n = -\sum_c w_c \Big((1-\varepsilon)\, t_{n,c} + \frac{\varepsilon}{V}\Big) \log p_{n,c}
          + \lambda\,\mathrm{LSE}_n^2 ,

for any real :math:`t` (rows need not sum to 1; a zero row leaves the z-loss and the smoothing term); ``"mean"``
divides by the number of rows :math:`M` (``u.size / V``, the elements of the ``"none"`` output), not by the
weights: PyTorch's rule, which ``F.linear_cross_entropy`` applies to ``F.cross_entropy`` of its logits. The
z-loss of every row shares that denominator, as it shares :math:`W` with class targets.

**Gradient w.r.t. the logits.** With :math:`a_n` the cross-entropy coefficients
(:math:`\ell^{CE}_n = -\sum_c a_{n,c}\log p_{n,c}`; :math:`a_n = w \odot ((1-\varepsilon) t_n + \varepsilon/V)`
for a real target), :math:`\partial \mathrm{LSE}_n/\partial z_{n,j} = p_{n,j}` and
:math:`\frac{d}{du}\, s\tanh(u/s) = 1 - \tanh^2(u/s)`:

.. math:: G_{n,j} = \frac{\partial \ell_n}{\partial u_{n,j}}
          = \Big(p_{n,j}\sum_c a_{n,c} - a_{n,j} + 2\lambda\,\mathrm{LSE}_n\, p_{n,j}\Big)\,
            \big(1 - \tanh^2(u_{n,j}/s)\big).

**Gradients of the head.** :math:`u` is bilinear in :math:`(e, c)` and affine in :math:`b`, so
:math:`\partial u_{i,k,v}/\partial e_{i,d} = c_{k,v,d}`, :math:`\partial u_{i,k,v}/\partial c_{k,v,d} = e_{i,d}`,
:math:`\partial u_{i,k,v}/\partial b_{k,v} = 1`, and

.. math:: \frac{\partial \ell}{\partial e_{i,d}} = \sum_{k,v} G_{i,k,v}\, c_{k,v,d}, \qquad
          \frac{\partial \ell}{\partial c_{k,v,d}} = \sum_i G_{i,k,v}\, e_{i,d}, \qquad
          \frac{\partial \ell}{\partial b_{k,v}} = \sum_i G_{i,k,v}

(:math:`G` scaled by :math:`1/W` or :math:`1/M` for ``"mean"``): for a classifier ``(V, D)`` and rows
``(N, D)``, :math:`G c`, :math:`G^\top e` and :math:`\sum_n G_n`, the three products a chunked kernel computes
block by block without holding :math:`G` whole; with batch and position axes, the same products of
:math:`G` flattened to (batch, position and class) and :math:`c` to (position and class, feature).

**Evaluation.** The cross-entropy part is :func:`refloss.cross_entropy_grad`'s leave-one-out form, so the
target component :math:`p_y - 1` keeps its digits at any logit gap. The cap's slope is evaluated as
:math:`4e^{-2|t|}/(1 + e^{-2|t|})^2` (:math:`t = u/s`), which keeps relative accuracy where
:math:`\tanh^2 t` rounds to 1 and gives 0 rather than NaN where :math:`t` overflows; where
:math:`|t| < 10^{-8}`, :math:`z = u` exactly (:math:`\tanh t = t` to float64 precision), so a cap of
:math:`10^{300}` does not push :math:`u/s` into the subnormals.

**Checked** (``_prove_linear_cross_entropy``): on a row of three symbolic logits, with symbolic weights,
smoothing and :math:`\lambda`, every class target and a symbolic real target (no sum, no sign assumed):
:math:`\partial\ell_n/\partial z_j` is the bracket above; the cap's derivative is :math:`1 - \tanh^2(u/s)` and
its evaluation form equals it; and, on symbolic heads with bias, cap, weights, smoothing, z-loss and ``"mean"``
(:math:`N = 2`, :math:`D = 2`, :math:`V = 3` with class targets; the same rows on a classifier per position,
K = 1 with two positions, with real targets, ``"mean"`` over the four rows; one unbatched row on a K = 2
classifier with class targets), SymPy's derivatives of the whole definition w.r.t. every entry of :math:`e`,
:math:`c` and :math:`b` equal the sums above at random rational points, 50 digits. Stress points: logit gaps 15
to 80 through the head (target dominant, second, smallest), the same under caps of 30 and 20 with bias and
z-loss, weights with smoothing and ``ignore_index`` equal to a valid class under ``"mean"``, rows copied from
the classifier (peaky softmax), ties, one row, one class, every target ignored, a cap of :math:`10^{300}` on
tiny logits and a cap of :math:`10^{-3}`; probability targets near one-hot at the gaps (also capped), rows
summing to 0.3 and 2.5, with a negative entry and a zero row under weights and smoothing (``"mean"`` over
:math:`N`), a zero row with bias, cap and z-loss; classifiers per position (K = 1: the gaps, bias with weights,
smoothing and ``ignore_index`` a valid class, probability targets with smoothing; K = 2: bias, cap, z-loss and an
ignored position, probability targets with weights), one unbatched row (class target with weights and smoothing;
probability targets with a z-loss on a K = 1 classifier) and hidden states with two batch axes.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from flint import ctx

from .._arb import to_mpf
from .._definitions import define, ell, partial
from .._oracle import intermediate_scales
from .._tactics import assert_identities_numerically, assert_identity
from .._views import GenericRow, Row, reduce, symbol_array
from ..classification.cross_entropy import ce_class_target, ce_coefficients, ce_prob_target
from ._common import (
    CAP,
    EPS,
    LAM,
    UNIT,
    _row_blocks,
    cap_slope,
    capped,
    exact_logits,
    head_logits,
    head_scales,
)


def linear_row(row, eps, lam):
    """One kept row's loss: cross-entropy of the (capped) logits, for the class target ``row.y`` or, where it is
    None, the real target ``row.t`` (PyTorch's probability targets), plus the z-loss lambda LSE^2."""
    ce = ce_prob_target(row, eps) if row.y is None else ce_class_target(row, eps)
    return ce + lam * row.lse() ** 2


def linear_logit_gradient(row, j, eps, lam):
    """d ell_n / d z_j: p_j sum_c a_c - a_j + 2 lambda LSE p_j (the bracket of G), for either kind of target."""
    a = ce_coefficients(row, eps)
    return row.p(j) * row.sum(a) - a(j) + 2 * lam * row.lse() * row.p(j)


def _probabilities(case, u) -> bool:
    """PyTorch's dispatch: a target of the logits' shape holds probabilities (real targets), else class indices."""
    return np.shape(case["target"]) == u.shape


def _build_on_logits(case, u):
    """The reduced loss from the head logits ``u`` (batch axes, position axes, classes): one row per index of every
    axis but the last, of the capped logits; PyTorch's weights, smoothing and mean (over the total weight of the
    kept class targets; over the number of rows for probability targets)."""
    cap, eps, lam = case["softcap"], case["label_smoothing"], case["z_loss"]
    weight, target = case.get("weight"), case["target"]
    per_class = {} if weight is None else {"w": list(weight)}
    probabilities = _probabilities(case, u)
    losses = np.empty(u.shape[:-1], dtype=object)
    total_weight = sp.S.Zero
    for index in np.ndindex(*u.shape[:-1]):
        z = [capped(x, cap) for x in u[index]]
        if probabilities:  # every row kept, ignore_index (negative) ignores nothing
            losses[index] = linear_row(Row(z, None, t=list(target[index]), **per_class), eps, lam)
            continue
        y = int(target[index])
        if y == case["ignore_index"]:
            losses[index] = sp.S.Zero
            continue
        losses[index] = linear_row(Row(z, y, **per_class), eps, lam)
        total_weight += 1 if weight is None else weight[y]
    return reduce(losses, case["reduction"], None if probabilities else total_weight)


def _build(case):
    """The reduced loss of a case (:func:`_build_on_logits` of its head logits)."""
    return _build_on_logits(case, head_logits(case["e"], case["c"], case.get("bias")))


def _logits(case) -> dict:
    return {"u": exact_logits(case["e"], case["c"], case.get("bias"))}


def _intermediate_scales(case, bits: int):
    """The head logits, and with a soft cap the capped logits, are rounded by every implementation
    (refloss.tolerance): the scales they add. The capped logits' scale of the gradient w.r.t. them reaches G
    through the cap's slope. An empty batch has no logits to round: no scale."""
    u = _logits(case)["u"]
    if u.size == 0:
        return 0, {"e": 0, "c": 0, "bias": 0}
    value_scale, scales = intermediate_scales(lambda x: _build_on_logits(case, x["u"]), {"u": u}, bits,
                                              _row_blocks({"u": u}))
    cap = case.get("softcap")
    if cap is not None:
        with ctx.workprec(bits):
            z = np.vectorize(lambda x: cap * (x / cap).tanh(), otypes=[object])(u)
            slope = np.vectorize(lambda x: to_mpf((x / cap).sech() ** 2), otypes=[object])(u)
        uncapped = {**case, "softcap": None}
        capped_scale, capped_scales = intermediate_scales(lambda x: _build_on_logits(uncapped, x["z"]), {"z": z},
                                                          bits, _row_blocks({"z": z}))
        value_scale = value_scale + capped_scale
        scales = {"u": scales["u"] + capped_scales["z"] * slope}
    heads = {"u": ("c", case["c"], case["e"], None if case.get("bias") is None else "bias")}
    return value_scale, head_scales(scales, heads)


def _generic_gradient():
    row, j = GenericRow("w"), sp.Symbol("j")
    return cap_slope(sp.IndexedBase("u")[j], CAP) * linear_logit_gradient(row, j, EPS, LAM)


def _prove_linear_cross_entropy():
    z = list(sp.symbols("z0:3", real=True))
    w = list(sp.symbols("w0:3", positive=True))
    t = list(sp.symbols("t0:3", real=True))  # real targets: no sum(t) = 1, no sign (PyTorch's probability targets)
    for y in [*range(3), None]:
        row = Row(z, y, w=w) if y is not None else Row(z, None, w=w, t=t)
        for j in range(3):
            assert_identity(sp.diff(linear_row(row, EPS, LAM), z[j]), linear_logit_gradient(row, j, EPS, LAM),
                            f"d ell / d z_{j} ({'probability targets' if y is None else f'target {y}'})",
                            logits=z, domains={EPS: UNIT})
    u = sp.Symbol("u", real=True)
    assert_identity(sp.diff(CAP * sp.tanh(u / CAP), u), cap_slope(u, CAP), "d/du s tanh(u/s)")
    assert_identity(sp.diff(capped(u, CAP), u), cap_slope(u, CAP), "SoftCap's derivative sech^2(u/s)")
    assert_identity(sp.diff(capped(u, CAP), CAP), sp.diff(CAP * sp.tanh(u / CAP), CAP), "SoftCap's d/ds")
    t = u / CAP
    assert_identity(4 * sp.exp(-2 * t) / (1 + sp.exp(-2 * t)) ** 2, cap_slope(u, CAP),
                    "1 - tanh^2 t = 4 e^{-2t} / (1 + e^{-2t})^2 (even in t, so |t| may replace t)")
    _prove_head_chain_rule()


def _prove_head_chain_rule():
    """d loss / d (e, c, b) = (G c, G^T e, sum over the batch of G) on symbolic heads under "mean": two rows of class
    targets on a classifier (V, D); two rows of real targets on a classifier per position (K = 1, two positions,
    "mean" over the four rows of logits); one unbatched row of class targets on a K = 2 classifier."""
    w = np.array(sp.symbols("w0:3", positive=True), dtype=object)
    common = {"weight": w, "ignore_index": -100, "label_smoothing": EPS, "z_loss": LAM, "softcap": CAP,
              "reduction": "mean"}
    e, c = symbol_array("e", (2, 2), real=True), symbol_array("c", (3, 2), real=True)
    target = np.array([0, 2])
    _assert_head_chain_rule({**common, "e": e, "c": c, "bias": symbol_array("b", (3,), real=True),
                             "target": target}, w[target[0]] + w[target[1]], "chain rule of the head")
    c = symbol_array("c", (2, 3, 2), real=True)
    _assert_head_chain_rule({**common, "e": e, "c": c, "bias": symbol_array("b", (2, 3), real=True),
                             "target": symbol_array("t", (2, 2, 3), real=True)}, 4,
                            "chain rule of a classifier per position, probability targets")
    c = symbol_array("c", (2, 1, 3, 2), real=True)
    target = np.array([[1], [2]])
    _assert_head_chain_rule({**common, "e": symbol_array("e", (2,), real=True), "c": c,
                             "bias": symbol_array("b", (2, 1, 3), real=True), "target": target},
                            w[1] + w[2], "chain rule of an unbatched row on a K = 2 classifier")


def _assert_head_chain_rule(case, denominator, what: str) -> None:
    """SymPy's derivatives of the definition at the symbolic ``case`` (e (..., D), c (d_1, ..., d_K, V, D)) against
    d/de[i, d] = sum_{k, v} G[i, k, v] c[k, v, d], d/dc[k, v, d] = sum_i G[i, k, v] e[i, d], d/db[k, v] =
    sum_i G[i, k, v], at random rational points, 50 digits."""
    e, c, b, target = case["e"], case["c"], case["bias"], case["target"]
    loss = _build(case)[()]
    u = head_logits(e, c, b)
    probabilities = _probabilities(case, u)
    g = np.empty(u.shape, dtype=object)
    for index in np.ndindex(*u.shape[:-1]):
        z = [capped(x, CAP) for x in u[index]]
        row = Row(z, None, w=list(case["weight"]), t=list(target[index])) if probabilities else \
            Row(z, int(target[index]), w=list(case["weight"]))
        for v in range(u.shape[-1]):
            g[index + (v,)] = linear_logit_gradient(row, v, EPS, LAM) * cap_slope(u[index + (v,)], CAP) / denominator
    batch, classes, features = e.shape[:-1], c.shape[:-1], range(e.shape[-1])
    pairs = [(sp.diff(loss, e[i + (d,)]), sum(g[i + k] * c[k + (d,)] for k in np.ndindex(*classes)),
              f"d loss / d e{list(i + (d,))}") for i in np.ndindex(*batch) for d in features]
    pairs += [(sp.diff(loss, c[k + (d,)]), sum(g[i + k] * e[i + (d,)] for i in np.ndindex(*batch)),
               f"d loss / d c{list(k + (d,))}") for k in np.ndindex(*classes) for d in features]
    pairs += [(sp.diff(loss, b[k]), sum(g[i + k] for i in np.ndindex(*batch)), f"d loss / d b{list(k)}")
              for k in np.ndindex(*classes)]
    assert_identities_numerically(pairs, what, domains={EPS: UNIT, CAP: (1, 4)}, points=3)


define(
    "linear_cross_entropy",
    # the paper's defaults, which the signature must repeat: PyTorch's F.cross_entropy on e c^T; no z-loss, no cap
    # (CCE's defaults)
    defaults={"bias": None, "weight": None, "ignore_index": -100, "label_smoothing": 0.0, "z_loss": 0.0,
              "softcap": None, "reduction": "mean"},
    build=_build,
    formula=lambda: ell(linear_row(GenericRow("w"), EPS, LAM)),
    gradient_formula=lambda: partial(_generic_gradient(), wrt="u_{j}"),
    prove=_prove_linear_cross_entropy,
    intermediate_values=_logits,
    intermediate_scales=_intermediate_scales,
)
