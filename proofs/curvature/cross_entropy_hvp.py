r"""``cross_entropy_hvp``: the definition and its machine-checked derivation.

**Definition.** Per row, :math:`(H v)_j = s \sum_k \frac{\partial^2 \ell}{\partial z_j \partial z_k} v_k` with
:math:`\ell = \mathrm{LSE}(z) - z_y` (SymPy's second derivatives: ``_common.row_hessian``) and :math:`s` the
loss_reduction's factor.

**Closed form.** :math:`\partial \ell / \partial z_j = p_j - \delta_{jy}` and
:math:`\partial p_j / \partial z_k = p_j(\delta_{jk} - p_k)`, so :math:`H = \mathrm{diag}(p) - p p^\top` and
:math:`H v = p \odot (v - \langle p, v\rangle)`.

**The form refloss evaluates.** :math:`p_j (v_j - \langle p, v\rangle)`, except at a class with :math:`p_j > 1/2`,
where :math:`v_j - \langle p, v\rangle = \sum_{k \ne j} p_k (v_j - v_k)` (using :math:`\sum_k p_k = 1`): the
terms carry only the rounding of :math:`v_j - v_k`, and the sum is accurate to a few
:math:`\epsilon \sum_{k \ne j} p_k (|v_j| + |v_k|)`, which is within the condition scale
:math:`p_j((1 - p_j)|v_j| + \sum_{k \ne j} p_k |v_k|)` of the entry; the subtraction would lose
:math:`\epsilon |v_j|`, about :math:`1/(1 - p_j)` times more. The Jacobian w.r.t. :math:`v` is :math:`H` itself.

**Checked** (``_prove``): for :math:`C = 3`, SymPy's second derivatives of the loss equal
:math:`p_j(\delta_{jk} - p_k)` for any target; :math:`Hv` in the evaluation forms (both) equals the definition;
:math:`H\mathbf{1} = 0`; :math:`H` is symmetric.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import Row, logit_symbols
from ._common import row_hessian, scale

C = 3


def hvp(z_row, v_row) -> list[sp.Expr]:
    h = row_hessian(z_row)
    return [sp.Add(*[h[j][k] * v_row[k] for k in range(len(z_row))]) for j in range(len(z_row))]


def _build(case):
    z, u = np.asarray(case["logits"], dtype=object), np.asarray(case["vector"], dtype=object)
    factor = scale(z.shape, case["loss_reduction"])
    out = np.empty(z.shape, dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        out[index] = [factor * x for x in hvp(z[index], u[index])]
    return out


def _prove():
    z = logit_symbols(C)
    v = list(sp.symbols(f"v0:{C}", real=True))
    row = Row(z)
    h = row_hessian(z)
    for y in range(C):
        loss = sp.log(sp.Add(*[sp.exp(x) for x in z])) - z[y]
        for j in range(C):
            for k in range(C):
                assert_identity(sp.diff(loss, z[j], z[k]), row.p(j) * (row.delta(j, k) - row.p(k)),
                                f"d2 l / dz_{j} dz_{k} = p_{j} (delta - p_{k}) (target {y})", logits=z)
    mean = sp.Add(*[row.p(k) * v[k] for k in range(C)])
    product = hvp(z, v)
    for j in range(C):
        assert_identity(product[j], row.p(j) * (v[j] - mean), f"(Hv)_{j} = p_{j} (v_{j} - <p, v>)", logits=z)
        others = sp.Add(*[row.p(k) * (v[j] - v[k]) for k in range(C) if k != j])
        assert_identity(product[j], row.p(j) * others, f"(Hv)_{j} = p_{j} sum_(k != {j}) p_k (v_{j} - v_k)",
                        logits=z)
        assert_identity(sp.Add(*h[j]), 0, f"row {j} of H sums to 0", logits=z)
        for k in range(C):
            assert_identity(h[j][k] - h[k][j], 0, f"H_{j}{k} = H_{k}{j}", logits=z)


def _formula():
    p, v, j = sp.IndexedBase("p"), sp.IndexedBase("v"), sp.Symbol("j")
    return ell(p[j] * (v[j] - sp.Symbol(r"\langle p, v \rangle")), "(Hv)_{j}")


define(
    "cross_entropy_hvp",
    defaults={"loss_reduction": "mean"},
    build=_build,
    formula=_formula,
    gradient_formula=lambda: partial(sp.IndexedBase("p")[sp.Symbol("j")]
                                     * (sp.KroneckerDelta(sp.Symbol("j"), sp.Symbol("k"))
                                        - sp.IndexedBase("p")[sp.Symbol("k")]), wrt="v_{k}", of="(Hv)_{j}"),
    prove=_prove,
)
