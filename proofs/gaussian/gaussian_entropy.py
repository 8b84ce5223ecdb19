r"""``gaussian_entropy``: the definition and its machine-checked derivation.

**Definition** (Cover & Thomas, *Elements of Information Theory*, Thm 8.4.1). The differential entropy of
:math:`\mathcal{N}(\mu, \Sigma)` in :math:`\mathbb{R}^d` is

.. math:: h = \tfrac12 \log\big((2\pi e)^d |\Sigma|\big) = \tfrac d2 \log(2\pi e) + \tfrac12 \log|\Sigma|,

independent of the mean; in another unit, divided by :math:`\log(\mathrm{base})`.

**Gradient.** With every entry an independent variable, :math:`\partial |\Sigma| / \partial \Sigma_{ij}` is the
cofactor :math:`C_{ij} = \mathrm{adj}(\Sigma)_{ji}` (expansion along row i), so

.. math:: \frac{\partial h}{\partial \Sigma_{ij}} = \frac{\mathrm{adj}(\Sigma)_{ji}}{2 |\Sigma|}
          = \tfrac12 (\Sigma^{-1})_{ji} = \tfrac12 (\Sigma^{-1})_{ij}

at a symmetric :math:`\Sigma`: the gradient is :math:`\tfrac12 \Sigma^{-1}`.

**Evaluation.** :math:`\Sigma = L L^\top` (Cholesky) gives :math:`|\Sigma| = \prod_i L_{ii}^2`, so
:math:`\tfrac12 \log|\Sigma| = \sum_i \log L_{ii}`; refloss factors :math:`2^{-k}\Sigma 2^{-k}` (each variable
scaled by a power of two, exactly, to a variance in [1/2, 2)), multiplies the mantissas of the :math:`L_{ii}` and
adds their binary exponents and :math:`\sum_i k_i` exactly, so that variances of :math:`10^{-150}` and
:math:`10^{150}` cancel without the rounding of two logarithms of 172 (which alone exceeds the policy's allowance
when the entropy is of order 1). The gradient is :math:`\tfrac12 \Sigma^{-1}` from two triangular solves with
:math:`L` per column (``cho_solve``), never an explicit inverse, scaled back by the same powers of two. Where
:math:`\Sigma = I / (2\pi e)` the two terms cancel and :math:`h = 0`; the condition scale there is :math:`d/2`,
which covers the rounding of :math:`\tfrac d2 \log(2\pi e)`.

**Edge cases.** A singular or indefinite :math:`\Sigma` has no density (:math:`h = -\infty` as it becomes
singular): refloss refuses it, as it refuses a matrix that is not exactly symmetric. :math:`d = 0`: :math:`h = 0`.

**Checked** (``_prove``): for d = 3 and d = 4 with independent symbols, the derivative of the definition w.r.t.
every entry is the closed form :math:`\tfrac12 (\Sigma^{-1})_{ji}`, symmetric at a symmetric matrix;
:math:`|L L^\top| = \prod_i L_{ii}^2`; :math:`h(c\Sigma) = h(\Sigma) + \tfrac d2 \log c`; and the one-dimensional
case :math:`\tfrac12 \log(2\pi e \sigma^2)`.
"""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from ._common import (
    LOG_2PIE,
    assert_gradient,
    assert_symmetric_at_symmetric,
    assert_zero,
    concrete,
    det,
    generic,
    independent,
    log_det_gradient,
    lower,
    scalar,
    unit,
)


def entropy(view):
    """d/2 log(2 pi e) + 1/2 log|Sigma|."""
    return view.d * LOG_2PIE / 2 + sp.log(det(view)) / 2


def entropy_gradient(s: sp.Matrix) -> sp.Matrix:
    """d h / d Sigma_ij = (Sigma^{-1})_ji / 2, independent entries (refloss.gaussian_entropy_grad)."""
    return log_det_gradient(s, list(range(s.shape[0]))) / 2


class _Matrix:
    """A view of a plain SymPy matrix (for the proofs)."""

    def __init__(self, m: sp.Matrix):
        self.matrix, self.d = m, m.shape[0]


def _prove():
    for d in (3, 4):
        s = independent(d)
        closed = entropy_gradient(s)
        assert_gradient(entropy(_Matrix(s)), s, closed, f"gaussian entropy (d = {d})")
        assert_symmetric_at_symmetric(closed, f"gaussian entropy's gradient (d = {d})")
        L = lower(d)
        assert_zero((L * L.T).det() - sp.prod([L[i, i] ** 2 for i in range(d)]), f"|L L^T| = prod L_ii^2 (d = {d})")
    s, c = independent(3), sp.Symbol("c", positive=True)
    scaled = sp.expand_log(entropy(_Matrix(c * s)) - entropy(_Matrix(s)) - sp.Rational(3, 2) * sp.log(c), force=True)
    assert_zero(sp.simplify(scaled), "h(c Sigma) = h(Sigma) + d/2 log c")
    sigma = sp.Symbol("sigma", positive=True)
    one = entropy(_Matrix(sp.Matrix([[sigma**2]]))) - sp.log(2 * sp.pi * sp.E * sigma**2) / 2
    assert_zero(sp.expand_log(one, force=True), "h = log(2 pi e sigma^2) / 2 for d = 1")


def _build(case):
    return scalar(entropy(concrete(case)) / unit(case))


define(
    "gaussian_entropy",
    defaults={"base": None},  # nats
    build=_build,
    formula=lambda: ell(entropy(generic()), "h"),
    gradient_formula=lambda: partial(sp.MatMul(sp.S.Half, generic().matrix.I), r"\Sigma", "h"),
    prove=_prove,
)
