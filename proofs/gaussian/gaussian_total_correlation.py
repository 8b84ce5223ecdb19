r"""``gaussian_total_correlation``: the definition and its machine-checked derivation.

**Definition** (Watanabe 1960: :math:`\mathrm{TC} = \sum_j h(X_j) - h(X_1, \ldots, X_d)`; with the entropies of
``gaussian_entropy`` the :math:`\log(2\pi e)` terms cancel; research/seeds_B.md, *Factorized MI*):

.. math:: \mathrm{TC} = \tfrac12 \log\frac{\prod_j \Sigma_{jj}}{|\Sigma|} = -\tfrac12 \log|R|, \qquad
          R = \mathrm{diag}(\Sigma)^{-1/2}\, \Sigma\, \mathrm{diag}(\Sigma)^{-1/2}.

For d = 2 it is the mutual information of the two variables, :math:`-\tfrac12 \log(1 - \rho^2)`; for d = 1, 0.

**Gradient** (independent entries): :math:`\partial \log \Sigma_{jj} / \partial \Sigma_{ij} = \delta_{ij} /
\Sigma_{ii}` and :math:`\partial \log|\Sigma| / \partial \Sigma_{ij} = (\Sigma^{-1})_{ji}`, so

.. math:: G = \tfrac12\big(\mathrm{diag}(\Sigma)^{-1} - \Sigma^{-\top}\big).

**Evaluation.** With :math:`\Sigma = L L^\top` and :math:`\tilde L = \mathrm{diag}(\Sigma)^{-1/2} L` (the
Cholesky factor of R, rows of unit norm: :math:`\Sigma_{jj} = \sum_k L_{jk}^2`), :math:`|R| = \prod_j \tilde
L_{jj}^2` and :math:`\tilde L_{jj}^2 = 1 - c_j`, :math:`c_j = \sum_{k<j} \tilde L_{jk}^2`, the squared multiple
correlation of :math:`X_j` on :math:`X_{<j}`. So

.. math:: \mathrm{TC} = -\tfrac12 \sum_j \mathrm{log1p}(-c_j) = \sum_j I(X_j; X_{<j}),

non-negative terms; near independence :math:`c_j \approx \sum_{k<j} \rho_{jk}^2` keeps its digits, where
:math:`\sum_j \log \Sigma_{jj} - \log|\Sigma|` cancels to rounding noise. Where :math:`c_j > 1/2` refloss takes
:math:`2 \log \tilde L_{jj}` (no :math:`1 - c_j` by subtraction). The gradient's off-diagonal entries are
:math:`-\tfrac12 (\Sigma^{-1})_{ij} = -P_{ij} / (2\sqrt{\Sigma_{ii}\Sigma_{jj}})` with :math:`P = R^{-1}`
from :math:`\tilde L`; its diagonal, :math:`\tfrac12(1/\Sigma_{ii} - (\Sigma^{-1})_{ii})`, a difference of two
numbers of order :math:`1/\Sigma_{ii}` near independence, is taken as

.. math:: G_{ii} = \frac{1}{2\Sigma_{ii}} \sum_{j \ne i} P_{ij} R_{ij}
          \qquad \big((P R)_{ii} = 1,\ P_{ii} = (\Sigma^{-1})_{ii}\,\Sigma_{ii}\big),

whose terms are :math:`\approx -R_{ij}^2` there.

**Checked** (``_prove``): the derivative of the definition equals the closed form for d = 3 and d = 4
(independent symbols), symmetric at a symmetric matrix; at :math:`\Sigma = L L^\top` (symbolic L, d = 3, 4):
:math:`1 - c_j = \tilde L_{jj}^2` and :math:`\prod_j (1 - c_j) = |\Sigma| / \prod_j \Sigma_{jj}`; at a symmetric
:math:`\Sigma` (d = 3, 4) the diagonal form :math:`\sum_{j \ne i} P_{ij} R_{ij} / (2\Sigma_{ii}) = \tfrac12(1 /
\Sigma_{ii} - (\Sigma^{-1})_{ii})` (with :math:`P_{ij} R_{ij} = (\Sigma^{-1})_{ij} \Sigma_{ij}`); d = 2 gives
:math:`-\tfrac12\log(1 - \rho^2)`.
"""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from ._common import (
    assert_gradient,
    assert_symmetric_at_symmetric,
    assert_zero,
    concrete,
    det,
    generic,
    independent,
    inverse,
    log_det_gradient,
    lower,
    scalar,
    symmetric_symbols,
    unit,
)


def total_correlation(view):
    """1/2 log(prod_j Sigma_jj / |Sigma|)."""
    if isinstance(view.d, sp.Symbol):  # the generic view
        j = sp.Symbol("j", integer=True)
        variances = sp.Product(view.matrix[j, j], (j, 1, view.d))
    else:
        variances = sp.Mul(*[view.matrix[j, j] for j in range(view.d)])
    return sp.log(variances / det(view)) / 2


def total_correlation_gradient(s: sp.Matrix) -> sp.Matrix:
    """The closed form (independent entries): 1/2 (diag(Sigma)^{-1} - Sigma^{-T})."""
    d = s.shape[0]
    return (sp.diag(*[1 / s[j, j] for j in range(d)]) - log_det_gradient(s, list(range(d)))) / 2


class _Matrix:
    def __init__(self, m: sp.Matrix):
        self.matrix, self.d = m, m.shape[0]


def _prove():
    for d in (3, 4):
        s = independent(d)
        closed = total_correlation_gradient(s)
        assert_gradient(total_correlation(_Matrix(s)), s, closed, f"gaussian total correlation (d = {d})")
        assert_symmetric_at_symmetric(closed, f"gaussian total correlation's gradient (d = {d})")
        L = lower(d)
        sigma = L * L.T
        c = [sum(L[j, k] ** 2 for k in range(j)) / sigma[j, j] for j in range(d)]
        for j in range(d):
            assert_zero(1 - c[j] - L[j, j] ** 2 / sigma[j, j], f"1 - c_{j} = tilde L_{j}{j}^2 (d = {d})")
        assert_zero(sp.prod([1 - cj for cj in c]) - sigma.det() / sp.prod([sigma[j, j] for j in range(d)]),
                    f"prod (1 - c_j) = |Sigma| / prod Sigma_jj (d = {d})")
        sym = symmetric_symbols(d)
        inv = inverse(sym)
        at_symmetric = total_correlation_gradient(sym)
        for i in range(d):
            form = sum(inv[i, j] * sym[i, j] for j in range(d) if j != i) / (2 * sym[i, i])
            assert_zero(form - at_symmetric[i, i], f"G_ii = sum_(j != i) P_ij R_ij / (2 Sigma_ii) (d = {d})")
    a, b, c2 = sp.symbols("a b c", positive=True)
    two = sp.Matrix([[a, c2], [c2, b]])
    rho = c2 / sp.sqrt(a * b)
    assert_zero(sp.exp(2 * total_correlation(_Matrix(two))) - 1 / (1 - rho**2), "d = 2: -log(1 - rho^2) / 2")


def _build(case):
    return scalar(total_correlation(concrete(case)) / unit(case))


define(
    "gaussian_total_correlation",
    defaults={"base": None},  # nats
    build=_build,
    formula=lambda: ell(total_correlation(generic()), r"\mathrm{TC}"),
    gradient_formula=lambda: partial(
        sp.MatMul(sp.S.Half, sp.MatAdd(sp.MatrixSymbol(r"\mathrm{diag}(\Sigma)", generic().d, generic().d).I,
                                       -generic().matrix.I)), r"\Sigma", r"\mathrm{TC}"),
    prove=_prove,
)
