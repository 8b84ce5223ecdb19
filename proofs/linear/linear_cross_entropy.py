r"""``linear_cross_entropy``: the definition and its machine-checked derivation.

**Definition.** For a kept target :math:`y_n \ne \mathtt{ignore\_index}` (:math:`m_n = 1`),

.. math:: \ell_n = \underbrace{(1-\varepsilon)\,w_{y_n}(-\log p_{n,y_n})
          + \frac{\varepsilon}{V}\sum_c w_c\,(-\log p_{n,c})}_{\text{cross\_entropy of } z_n}
          + \lambda\,\mathrm{LSE}_n^2 ,

the cross-entropy of ``proofs/classification/cross_entropy.py`` (PyTorch's weights and smoothing) plus PaLM's z-loss
(arXiv:2204.02311: an auxiliary :math:`10^{-4} \log^2 Z` that keeps the softmax normaliser :math:`\log Z`
near 0), with Gemma 2's soft cap applied to the head's logits (bias included) before the softmax, as
in Cut Cross-Entropy and Liger. Ignored rows contribute 0; ``"mean"`` divides by
:math:`W = \sum_n m_n w_{y_n}` (the z-loss is not class-weighted and shares this denominator: a convention,
stated in the function's docstring, where the peers differ when class weights are given).

**Gradient w.r.t. the logits.** With :math:`a_n` the cross-entropy coefficients
(:math:`\ell^{CE}_n = -\sum_c a_{n,c}\log p_{n,c}`), :math:`\partial \mathrm{LSE}_n/\partial z_{n,j} = p_{n,j}`
and :math:`\frac{d}{du}\, s\tanh(u/s) = 1 - \tanh^2(u/s)`:

.. math:: G_{n,j} = \frac{\partial \ell_n}{\partial u_{n,j}}
          = \Big(p_{n,j}\sum_c a_{n,c} - a_{n,j} + 2\lambda\,\mathrm{LSE}_n\, p_{n,j}\Big)\,
            \big(1 - \tanh^2(u_{n,j}/s)\big).

**Gradients of the head.** :math:`u` is bilinear in :math:`(e, c)` and affine in :math:`b`, so
:math:`\partial u_{n,v}/\partial e_{n,d} = c_{v,d}`, :math:`\partial u_{n,v}/\partial c_{v,d} = e_{n,d}`,
:math:`\partial u_{n,v}/\partial b_v = 1`, and

.. math:: \frac{\partial \ell}{\partial e} = G\,c, \qquad \frac{\partial \ell}{\partial c} = G^\top e,
          \qquad \frac{\partial \ell}{\partial b} = \textstyle\sum_n G_{n,\cdot}

(:math:`G` scaled by :math:`1/W` for ``"mean"``): the three products a chunked kernel computes block by
block without holding :math:`G` whole.

**Evaluation.** The cross-entropy part is :func:`refloss.cross_entropy_grad`'s leave-one-out form, so the
target component :math:`p_y - 1` keeps its digits at any logit gap. The cap's slope is evaluated as
:math:`4e^{-2|t|}/(1 + e^{-2|t|})^2` (:math:`t = u/s`), which keeps relative accuracy where
:math:`\tanh^2 t` rounds to 1 and gives 0 rather than NaN where :math:`t` overflows; where
:math:`|t| < 10^{-8}`, :math:`z = u` exactly (:math:`\tanh t = t` to float64 precision), so a cap of
:math:`10^{300}` does not push :math:`u/s` into the subnormals.

**Checked** (``_prove_linear_cross_entropy``): on a row of three symbolic logits, with symbolic weights,
smoothing and :math:`\lambda`, every target: :math:`\partial\ell_n/\partial z_j` is the bracket above; the
cap's derivative is :math:`1 - \tanh^2(u/s)` and its evaluation form equals it; and, on a symbolic head
(:math:`N = 2`, :math:`D = 2`, :math:`V = 3`, bias, cap, weights, smoothing, z-loss, ``"mean"``), SymPy's
derivatives of the whole definition w.r.t. every entry of :math:`e`, :math:`c` and :math:`b` equal
:math:`Gc`, :math:`G^\top e` and :math:`\sum_n G_n` at random rational points, 50 digits. Stress points:
logit gaps 15 to 80 through the head (target dominant, second, smallest), the same under caps of 30 and 20
with bias and z-loss, weights with smoothing and ``ignore_index`` equal to a valid class under ``"mean"``,
rows copied from the classifier (peaky softmax), ties, one row, one class, every target ignored, a cap of
:math:`10^{300}` on tiny logits and a cap of :math:`10^{-3}`.
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
from ..classification.cross_entropy import ce_class_target, ce_coefficients
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
    """One kept row's loss: cross-entropy of the (capped) logits plus the z-loss lambda LSE^2."""
    return ce_class_target(row, eps) + lam * row.lse() ** 2


def linear_logit_gradient(row, j, eps, lam):
    """d ell_n / d z_j: p_j sum_c a_c - a_j + 2 lambda LSE p_j (the bracket of G)."""
    a = ce_coefficients(row, eps)
    return row.p(j) * row.sum(a) - a(j) + 2 * lam * row.lse() * row.p(j)


def _build_on_logits(case, u):
    """The reduced loss from the head logits ``u`` (N, V): rows of the capped logits, PyTorch's weights,
    smoothing and mean."""
    cap, eps, lam = case["softcap"], case["label_smoothing"], case["z_loss"]
    weight = case.get("weight")
    per_class = {} if weight is None else {"w": list(weight)}
    losses = np.empty(u.shape[:1], dtype=object)
    total_weight = sp.S.Zero
    for n in range(u.shape[0]):
        y = int(case["target"][n])
        if y == case["ignore_index"]:
            losses[n] = sp.S.Zero
            continue
        row = Row([capped(x, cap) for x in u[n]], y, **per_class)
        losses[n] = linear_row(row, eps, lam)
        total_weight += 1 if weight is None else weight[y]
    return reduce(losses, case["reduction"], total_weight)


def _build(case):
    """The reduced loss of a case (:func:`_build_on_logits` of its head logits)."""
    return _build_on_logits(case, head_logits(case["e"], case["c"], case.get("bias")))


def _logits(case) -> dict:
    return {"u": exact_logits(case["e"], case["c"], case.get("bias"))}


def _intermediate_scales(case, bits: int):
    """The head logits, and with a soft cap the capped logits, are rounded by every implementation
    (refloss.tolerance): the scales they add. The capped logits' scale of the gradient w.r.t. them reaches G
    through the cap's slope."""
    u = _logits(case)["u"]
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
    for y in range(3):
        row = Row(z, y, w=w)
        for j in range(3):
            assert_identity(sp.diff(linear_row(row, EPS, LAM), z[j]), linear_logit_gradient(row, j, EPS, LAM),
                            f"d ell / d z_{j} (target {y})", logits=z, domains={EPS: UNIT})
    u = sp.Symbol("u", real=True)
    assert_identity(sp.diff(CAP * sp.tanh(u / CAP), u), cap_slope(u, CAP), "d/du s tanh(u/s)")
    assert_identity(sp.diff(capped(u, CAP), u), cap_slope(u, CAP), "SoftCap's derivative sech^2(u/s)")
    assert_identity(sp.diff(capped(u, CAP), CAP), sp.diff(CAP * sp.tanh(u / CAP), CAP), "SoftCap's d/ds")
    t = u / CAP
    assert_identity(4 * sp.exp(-2 * t) / (1 + sp.exp(-2 * t)) ** 2, cap_slope(u, CAP),
                    "1 - tanh^2 t = 4 e^{-2t} / (1 + e^{-2t})^2 (even in t, so |t| may replace t)")
    _prove_head_chain_rule()


def _prove_head_chain_rule():
    """d loss / d (e, c, b) = (G c, G^T e, sum_n G_n) on a symbolic head, "mean" over two kept rows."""
    e, c, b = symbol_array("e", (2, 2), real=True), symbol_array("c", (3, 2), real=True), \
        symbol_array("b", (3,), real=True)
    w = np.array(sp.symbols("w0:3", positive=True), dtype=object)
    target = np.array([0, 2])
    case = {"e": e, "c": c, "bias": b, "target": target, "weight": w, "ignore_index": -100,
            "label_smoothing": EPS, "z_loss": LAM, "softcap": CAP, "reduction": "mean"}
    loss = _build(case)[()]
    u = head_logits(e, c, b)
    total = w[target[0]] + w[target[1]]
    g = np.empty(u.shape, dtype=object)
    for n in range(2):
        row = Row([capped(x, CAP) for x in u[n]], int(target[n]), w=list(w))
        for v in range(3):
            g[n, v] = linear_logit_gradient(row, v, EPS, LAM) * cap_slope(u[n, v], CAP) / total
    pairs = [(sp.diff(loss, x), sum(g[n, v] * c[v, d] for v in range(3)), f"d loss / d e[{n},{d}]")
             for (n, d), x in np.ndenumerate(e)]
    pairs += [(sp.diff(loss, x), sum(g[n, v] * e[n, d] for n in range(2)), f"d loss / d c[{v},{d}]")
              for (v, d), x in np.ndenumerate(c)]
    pairs += [(sp.diff(loss, x), g[0, v] + g[1, v], f"d loss / d b[{v}]") for (v,), x in np.ndenumerate(b)]
    assert_identities_numerically(pairs, "chain rule of the head", domains={EPS: UNIT, CAP: (1, 4)}, points=3)


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
