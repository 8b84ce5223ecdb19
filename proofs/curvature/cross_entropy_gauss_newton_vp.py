r"""``cross_entropy_gauss_newton_vp``: the definition and its machine-checked derivation.

**Definition** (Schraudolph 2002, for a linear head). :math:`G\Delta = s \sum_n J_n^\top H_n J_n \Delta` with
:math:`u_n = c\,e_n + b`, :math:`J_n \Delta = \Delta e_n` and :math:`H_n` the second derivatives of the row's loss
:math:`\mathrm{LSE}(u_n) - u_{n,y}` in its logits (``_common.row_hessian``).

**Checked** (``_prove``): for a linear head :math:`G` is the Hessian of the loss w.r.t. the classifier: for one row,
two classes and two dimensions, SymPy's second derivatives of the loss w.r.t. :math:`c` applied to
:math:`\Delta` equal the definition.

**Condition.** Every implementation rounds the logits :math:`u` and :math:`\Delta u = e\Delta^\top` before the
rows' products: their scales are added (``intermediate_scales``, as for ``linear_cross_entropy``).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell
from .._oracle import intermediate_scales
from .._tactics import assert_identity
from ..linear._common import exact_logits, head_logits
from ._common import row_hessian, scale


def _gn_on(u, du, e, factor) -> np.ndarray:
    """s sum_n (H(u_n) du_n) e_n^T from the logits u (N, V), their change du (N, V) and e (N, D)."""
    n, classes = u.shape
    out = np.empty((classes, e.shape[1]), dtype=object)
    products = []
    for i in range(n):
        h = row_hessian(list(u[i]))
        products.append([sp.Add(*[h[j][k] * du[i, k] for k in range(classes)]) for j in range(classes)])
    for j in range(classes):
        for d in range(e.shape[1]):
            out[j, d] = factor * sp.Add(*[products[i][j] * e[i, d] for i in range(n)])
    return out


def _build(case):
    e, c, d = (np.asarray(case[k], dtype=object) for k in ("e", "c", "direction"))
    u = head_logits(e, c, case.get("bias"))
    du = head_logits(e, d, None)
    return _gn_on(u, du, e, scale(e.shape, case["loss_reduction"]))


def _exact_direction_logits(case) -> np.ndarray:
    return exact_logits(case["e"], case["direction"])


def _intermediate_scales(case, bits: int):
    e = np.asarray(case["e"], dtype=np.float64)
    if e.shape[0] == 0:
        return 0, {}
    u, du = exact_logits(case["e"], case["c"], case.get("bias")), _exact_direction_logits(case)
    exact_e = np.vectorize(lambda x: sp.Rational(*float(x).as_integer_ratio()), otypes=[object])(e)
    factor = scale(e.shape, case["loss_reduction"])
    value_scale, _ = intermediate_scales(lambda x: _gn_on(x["u"], x["du"], exact_e, factor), {"u": u, "du": du},
                                         bits)
    return value_scale, {}


def _prove():
    c = np.array([[sp.Symbol(f"c{j}{d}", real=True) for d in range(2)] for j in range(2)], dtype=object)
    delta = np.array([[sp.Symbol(f"D{j}{d}", real=True) for d in range(2)] for j in range(2)], dtype=object)
    e = np.array([[sp.Symbol(f"e{d}", real=True) for d in range(2)]], dtype=object)
    u = head_logits(e, c, None)
    loss = sp.log(sp.exp(u[0, 0]) + sp.exp(u[0, 1])) - u[0, 0]
    flat_c, flat_d = list(c.flat), list(delta.flat)
    hess_delta = [sp.Add(*[sp.diff(loss, a, b) * db for b, db in zip(flat_c, flat_d)]) for a in flat_c]
    gn = _gn_on(u, head_logits(e, delta, None), e, 1)
    for k, value in enumerate(gn.flat):
        assert_identity(value - hess_delta[k], 0, f"(G Delta)_{k} is the loss's Hessian in c times Delta",
                        points=3)


define(
    "cross_entropy_gauss_newton_vp",
    defaults={"bias": None, "loss_reduction": "mean"},
    build=_build,
    formula=lambda: ell(sp.Symbol("s") * sp.Sum(sp.Symbol(r"J_{n}^{\top} H_{n} J_{n} \Delta"),
                                                (sp.Symbol("n"), 1, sp.Symbol("N"))), r"G \Delta"),
    gradient_formula=lambda: None,
    prove=_prove,
    intermediate_scales=_intermediate_scales,
)
