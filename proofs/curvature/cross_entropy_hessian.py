r"""``cross_entropy_hessian``: the definition and its machine-checked derivation.

**Definition.** Per row, :math:`H_{jk} = s\,\partial^2 \ell / \partial z_j \partial z_k` with
:math:`\ell = \mathrm{LSE}(z) - z_y` (SymPy's second derivatives: ``_common.row_hessian``) and :math:`s` the
loss_reduction's factor; the closed form :math:`p_j(\delta_{jk} - p_k)` is proved in ``cross_entropy_hvp``'s module.

**The form refloss evaluates.** Off the diagonal :math:`-p_j p_k`; on it :math:`p_j (1 - p_j)` with
:math:`1 - p_j = -\mathrm{expm1}(\log p_j)` (as ``softmax``'s Jacobian, whose derivation page says why).

**Checked** (``_prove``): the diagonal in the evaluation form equals the second derivative.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell
from .._tactics import assert_identity
from .._views import Row, logit_symbols
from ._common import row_hessian, scale

C = 3


def _build(case):
    z = np.asarray(case["logits"], dtype=object)
    factor = scale(z.shape, case["loss_reduction"])
    out = np.empty(z.shape + (z.shape[-1],), dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        h = row_hessian(z[index])
        for j in range(z.shape[-1]):
            out[index + (j,)] = [factor * x for x in h[j]]
    return out


def _prove():
    z = logit_symbols(C)
    row = Row(z)
    h = row_hessian(z)
    for j in range(C):
        assert_identity(h[j][j], row.p(j) * -(sp.exp(row.log_p(j)) - 1), f"H_{j}{j} = p_{j} (-expm1(log p_{j}))",
                        logits=z)


define(
    "cross_entropy_hessian",
    defaults={"loss_reduction": "mean"},
    build=_build,
    formula=lambda: ell(sp.IndexedBase("p")[sp.Symbol("j")] * (sp.KroneckerDelta(sp.Symbol("j"), sp.Symbol("k"))
                        - sp.IndexedBase("p")[sp.Symbol("k")]), "H_{jk}"),
    gradient_formula=lambda: None,
    prove=_prove,
)
