r"""Comp-sum losses (Mao, Mohri & Zhong 2023): definitions and machine-checked derivations.

Run ``python -m refloss.proofs.check_comp_sum``.

**Definition.** For :math:`\tau \ge 0`, with :math:`u = \sum_{y' \ne y} e^{z_{y'} - z_y}`,
:math:`\ell_\tau = \Phi^\tau(u)`, :math:`\Phi^1(u) = \log(1 + u)`,
:math:`\Phi^\tau(u) = ((1 + u)^{1-\tau} - 1)/(1 - \tau)`. Since :math:`1 + u = \sum_c e^{z_c} / e^{z_y} = 1/p_y`,
:math:`\ell_\tau = (p_y^{\tau-1} - 1)/(1 - \tau)` and :math:`\ell_1 = -\log p_y`; both forms are proved equal
below, and the definitions are written in :math:`p_y`.

**Gradient.** :math:`\partial \ell_\tau / \partial p_y = -p_y^{\tau - 2}` for every :math:`\tau` (also
:math:`\tau = 1`: :math:`-1/p_y`), and :math:`\partial p_y / \partial z_j = p_y(\delta_{jy} - p_j)`, so

.. math:: \frac{\partial \ell_\tau}{\partial z_j} = p_y^{\tau-1}\,(p_j - \delta_{jy}),

cross-entropy's gradient rescaled by :math:`p_y^{\tau-1}`: :math:`\tau < 1` weights hard examples
(small :math:`p_y`) up, :math:`\tau > 1` down.

**Members.** :math:`\tau = 0`: :math:`1/p_y - 1 = u`, the sum-exponential loss. :math:`\tau = 1 + q`,
:math:`q \in (0, 1]`: :math:`(1 - p_y^q)/q`, the generalized cross-entropy of Zhang & Sabuncu (2018), which
tends to :math:`-\log p_y` as :math:`q \to 0`. :math:`\tau = 2`: :math:`1 - p_y`, the mean absolute error
(half of :math:`\lVert p - e_y \rVert_1 = 2(1 - p_y)`). Each is checked below as an identity.

**Stability.** With :math:`s = \log p_y`, :math:`\ell_\tau = -s\,(e^{(\tau-1)s} - 1)/((\tau - 1)s)
= -s\,\mathrm{exprel}((\tau-1)s)`, proved below; exprel is 1 at 0, which is the :math:`\tau = 1` branch.
"""

from __future__ import annotations

import sympy as sp

from ._definitions import define, ell, partial
from ._tactics import assert_identity, check_limit, prove_row_gradient
from ._views import GenericRow, Row, logit_symbols, reduce, rows

TAU = sp.Symbol("tau", nonnegative=True)


def comp_sum(row, tau):
    """(p_y^(tau-1) - 1)/(1 - tau), and -log p_y at tau = 1; at p_y = 0 (a masked target) its limits,
    +oo for tau <= 1 and 1/(tau - 1) above."""
    p_y = row.p(row.y)
    if p_y == 0:
        return sp.Piecewise((sp.oo, tau <= 1), (1 / (tau - 1), True))
    return sp.Piecewise((-sp.log(p_y), sp.Eq(tau, 1)), ((p_y ** (tau - 1) - 1) / (1 - tau), True))


def comp_sum_gradient(row, j, tau):
    """The closed form that refloss.comp_sum_loss_grad implements."""
    return row.p(row.y) ** (tau - 1) * (row.p(j) - row.delta(j, row.y))


def _prove_comp_sum():
    z = logit_symbols(3)
    for y in range(3):
        row = Row(z, y)
        u = sum(sp.exp(z[c] - z[y]) for c in range(3) if c != y)
        # Phi^tau(u) = Psi_tau(p_y): the paper's form and the one in p_y are the same function.
        assert_identity(((1 + u) ** (1 - TAU) - 1) / (1 - TAU), (row.p(y) ** (TAU - 1) - 1) / (1 - TAU),
                        f"Phi^tau(u) = (p_y^(tau-1) - 1)/(1 - tau), target {y}", logits=z)
        assert_identity(sp.log(1 + u), -sp.log(row.p(y)), f"Phi^1(u) = -log p_y, target {y}", logits=z)
    for tau in (TAU, 1):  # the general branch, and tau = 1 on its own
        prove_row_gradient(lambda r, t=tau: comp_sum(r, t), lambda r, j, t=tau: comp_sum_gradient(r, j, t),
                           f"comp_sum (tau = {tau})", domains={TAU: (0, 3)})
    s, t = sp.symbols("s t", negative=True)
    exprel = (sp.exp(t) - 1) / t
    assert_identity((sp.exp((TAU - 1) * s) - 1) / (1 - TAU), -s * exprel.subs(t, (TAU - 1) * s),
                    "(p_y^(tau-1) - 1)/(1 - tau) = -s exprel((tau - 1) s)")
    check_limit(exprel, t, 0, 1, "exprel(t) -> 1 as t -> 0 (the tau = 1 branch)")


define(
    "comp_sum_loss",
    # the paper's defaults, which the signature must repeat: tau = 1, the logistic loss (Mao, Mohri & Zhong's family
    # member named first)
    defaults={"tau": 1.0, "reduction": "mean"},
    build=lambda case: reduce(rows(case, comp_sum, params=("tau",)), case["reduction"]),
    formula=lambda: ell(comp_sum(GenericRow(), sp.Symbol("tau"))),
    gradient_formula=lambda: partial(comp_sum_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("tau"))),
    prove=_prove_comp_sum,
)


def sum_exponential(row):
    """sum_{y' != y} e^{z_y' - z_y}: the sum the comp-sum losses compose with Phi^tau."""
    return row.sum(lambda c: (1 - row.delta(c, row.y)) * sp.exp(row.z(c) - row.z(row.y)))


def sum_exponential_gradient(row, j):
    """The closed form of refloss.sum_exponential_loss_grad: (p_j - delta_jy) / p_y."""
    return (row.p(j) - row.delta(j, row.y)) / row.p(row.y)


def _prove_sum_exponential():
    prove_row_gradient(sum_exponential, sum_exponential_gradient, "sum_exponential_loss")
    z = logit_symbols(3)
    for y in range(3):
        row = Row(z, y)
        assert_identity(sum_exponential(row), 1 / row.p(y) - 1, f"sum_exp = 1/p_y - 1, target {y}", logits=z)
        assert_identity(sum_exponential(row), comp_sum(row, 0), f"sum_exp = comp-sum at tau = 0, target {y}",
                        logits=z)


define(
    "sum_exponential_loss",
    # the paper's defaults, which the signature must repeat: refloss's reduction convention
    defaults={"reduction": "mean"},
    build=lambda case: reduce(rows(case, sum_exponential), case["reduction"]),
    formula=lambda: ell(sum_exponential(GenericRow())),
    gradient_formula=lambda: partial(sum_exponential_gradient(GenericRow(), sp.Symbol("j"))),
    prove=_prove_sum_exponential,
)


def generalized_cross_entropy(row, q):
    """Zhang & Sabuncu's L_q = (1 - p_y^q) / q."""
    return (1 - row.p(row.y) ** q) / q


def generalized_cross_entropy_gradient(row, j, q):
    """The closed form of refloss.generalized_cross_entropy_grad: p_y^q (p_j - delta_jy)."""
    return row.p(row.y) ** q * (row.p(j) - row.delta(j, row.y))


def _prove_generalized_cross_entropy():
    q = sp.Symbol("q", positive=True)
    prove_row_gradient(generalized_cross_entropy, generalized_cross_entropy_gradient, "generalized_cross_entropy",
                       params={"q": q}, domains={q: (sp.Rational(1, 16), 1)})
    z = logit_symbols(3)
    row = Row(z, 0)
    assert_identity(generalized_cross_entropy(row, q), comp_sum(row, 1 + q), "L_q = comp-sum at tau = 1 + q",
                    logits=z, domains={q: (sp.Rational(1, 16), 1)})
    p_y = sp.Symbol("p_y", positive=True)
    check_limit((1 - p_y**q) / q, q, 0, -sp.log(p_y), "L_q -> -log p_y as q -> 0")


define(
    "generalized_cross_entropy",
    # the paper's defaults, which the signature must repeat: Zhang & Sabuncu's q = 0.7 (their experiments)
    defaults={"q": 0.7, "reduction": "mean"},
    build=lambda case: reduce(rows(case, generalized_cross_entropy, params=("q",)), case["reduction"]),
    formula=lambda: ell(generalized_cross_entropy(GenericRow(), sp.Symbol("q"))),
    gradient_formula=lambda: partial(generalized_cross_entropy_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("q"))),
    prove=_prove_generalized_cross_entropy,
)


def mae(row):
    """1 - p_y: the mean absolute error of the softmax (half of ||p - e_y||_1)."""
    return 1 - row.p(row.y)


def mae_gradient(row, j):
    """The closed form of refloss.mae_loss_grad: p_y (p_j - delta_jy)."""
    return row.p(row.y) * (row.p(j) - row.delta(j, row.y))


def _prove_mae():
    prove_row_gradient(mae, mae_gradient, "mae_loss")
    z = logit_symbols(3)
    for y in range(3):
        row = Row(z, y)
        assert_identity(mae(row), comp_sum(row, 2), f"1 - p_y = comp-sum at tau = 2, target {y}", logits=z)
        l1 = sum(sp.Abs(row.p(c) - row.delta(c, y)) for c in range(3))
        # ||p - e_y||_1 = (1 - p_y) + sum_{c != y} p_c = 2 (1 - p_y); the absolute values resolve by sign.
        l1 = l1.subs({sp.Abs(row.p(y) - 1): 1 - row.p(y)}).subs({sp.Abs(row.p(c)): row.p(c) for c in range(3)})
        assert_identity(l1, 2 * mae(row), f"||p - e_y||_1 = 2 (1 - p_y), target {y}", logits=z)


define(
    "mae_loss",
    # the paper's defaults, which the signature must repeat: refloss's reduction convention
    defaults={"reduction": "mean"},
    build=lambda case: reduce(rows(case, mae), case["reduction"]),
    formula=lambda: ell(mae(GenericRow())),
    gradient_formula=lambda: partial(mae_gradient(GenericRow(), sp.Symbol("j"))),
    prove=_prove_mae,
)
