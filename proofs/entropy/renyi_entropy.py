r"""``renyi_entropy``: the definition and its machine-checked derivation.

**Definition** (Renyi 1961; his equation numbers were not checked here). For
:math:`p = \mathrm{softmax}(z)` and an order :math:`\alpha \ge 0`,

.. math:: H_\alpha = \frac{1}{1 - \alpha} \log \sum_c p_c^\alpha \quad (\alpha \ne 0, 1), \qquad
          H_1 = -\sum_c p_c \log p_c, \qquad H_0 = \log |\{c : p_c > 0\}| ,

the orders 1 and 0 being the limits of the general form (Shannon's entropy, and Hartley's log of the support
size), stated as branches of the definition. A masked class (:math:`p_c = 0`) contributes :math:`0^\alpha = 0`
for :math:`\alpha > 0` and is outside the support at :math:`\alpha = 0` (the convention :math:`0^0 = 0`, which
makes :math:`H_0` the limit :math:`\alpha \to 0^+`). :math:`H_\alpha` is non-increasing in :math:`\alpha`, from
:math:`\log |\mathrm{supp}\,p|` down to the min-entropy :math:`H_\infty = -\log \max_c p_c`, its limit as
:math:`\alpha \to \infty`; refloss's domain is :math:`[0, \infty)` (the order :math:`\infty` itself is not taken).
The paper names no default order; refloss's signature has none either.

**Gradient.** :math:`\partial p_c / \partial z_j = p_c(\delta_{cj} - p_j)`, so with :math:`S = \sum_c p_c^\alpha`,

.. math:: \frac{\partial \log S}{\partial z_j} = \frac{1}{S}\sum_c \alpha p_c^{\alpha - 1} p_c (\delta_{cj} - p_j)
          = \alpha\,(w_j - p_j), \qquad w_j = \frac{p_j^\alpha}{S},

and :math:`\partial H_\alpha / \partial z_j = \frac{\alpha}{1 - \alpha}(w_j - p_j)` (the escort distribution
:math:`w` minus :math:`p`); Shannon's :math:`-p_j(\log p_j + H)` at :math:`\alpha = 1` and 0 at :math:`\alpha = 0`.
Both vanish at equal logits (:math:`w = p`).

**The forms refloss evaluates.** With :math:`t = \alpha - 1`, :math:`z' = z - \max_c z_c \le 0` and the power mean
of the logits :math:`M = \frac1t \log \sum_c p_c e^{t z_c}`: since :math:`\sum_c p_c^\alpha
= e^{t M - t\,\mathrm{LSE}(z)}`,

.. math:: H_\alpha = \mathrm{LSE}(z) - M = \log \sum_c e^{z'_c} - M', \qquad
          M' = M - \max_c z_c = \frac1t \log \sum_c p_c e^{t z'_c} \le 0,

two non-negative terms (:math:`M'` is a power mean of numbers :math:`\le 0`), and
:math:`M' = \frac1t\,\mathrm{log1p}\big(\sum_c p_c\,\mathrm{expm1}(t z'_c)\big)`, whose sum has one sign in every
term (that of :math:`-t`) and tends to Shannon's :math:`\sum_c p_c z'_c` as :math:`t \to 0`: nothing cancels near
:math:`\alpha = 1`, where :math:`\log \sum_c p_c^\alpha / (1 - \alpha)` is a quotient of two vanishing numbers,
nor for a peaked row, where the power sum rounds to 1. The brief's form
:math:`\mathrm{log1p}(\sum_c p_c\,\mathrm{expm1}(t \log p_c))` is the same sum with :math:`\log p_c` for
:math:`z'_c`; it loses the power sum where that is far below 1 (:math:`\alpha = 50`, a nearly uniform row:
:math:`\sum_c p_c^{50} = 3^{-49}` rounds to :math:`-1 + 0`), while :math:`z'_c = 0` at the mode keeps it. Where
:math:`\sum_c p_c\,\mathrm{expm1}(t z'_c) < -1/2` refloss takes :math:`M'` as a log-sum-exp instead (``_power_mean``).

For the gradient, :math:`w_j / p_j = p_j^t / S = e^{t(z_j - M)}`, so with :math:`y_j = z_j - M = z'_j - M'`

.. math:: \frac{\partial H_\alpha}{\partial z_j} = \frac{\alpha}{1 - \alpha}\,p_j\,\mathrm{expm1}(t y_j)
          = -\alpha\,p_j\,y_j\,\mathrm{exprel}(t y_j),

Shannon's logit form :math:`-p_j (z'_j - \sum_c p_c z'_c)` at :math:`t = 0`; where :math:`|t y_j| > 1`,
:math:`\frac{\alpha}{1 - \alpha}(w_j - p_j)` with :math:`w_j = e^{\alpha z'_j - \log \sum e^{z'} - t M'}`, two
numbers a factor e apart. As :math:`\alpha \to \infty`, :math:`w` tends to the uniform distribution on the modes
and the gradient to :math:`p_j - [j \in \mathrm{modes}]/\#\mathrm{modes}`, the min-entropy's gradient
:math:`-(e_k - p)` for a unique mode :math:`k`.

**Checked** (``_prove``): for :math:`C = 3`, the closed form is SymPy's derivative of the definition at a symbolic
order and at :math:`\alpha = 1` (at :math:`\alpha = 0` both are 0); the value's form
:math:`\mathrm{LSE}(z) - M` and the gradient's :math:`-\alpha p_j y_j\,\mathrm{exprel}(t y_j)` equal the definition;
:math:`H_\alpha = \log(1 + (1 - \alpha) S_\alpha)/(1 - \alpha)` with Tsallis's :math:`S_\alpha`; the limits
:math:`\alpha \to 1` (Shannon), :math:`\alpha \to 0^+` (Hartley) and :math:`\alpha \to \infty` (min-entropy) on a row
of two classes; :math:`H_\alpha = \log C` at equal logits. Stress points: ``softmax_stress`` without targets at
:math:`\alpha \in \{1/2, 0, 1 - 2^{-30}, 1, 1 + 2^{-30}, 2, 50\}`, two in bits; the extreme inputs at
:math:`\alpha = 1/2` and the huge orders :math:`10^{20}, 10^{300}`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identities_numerically, assert_identity, check_limit, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols, reduce
from ._common import C, _rows_of
from .softmax_entropy import entropy, entropy_gradient
from .softmax_tsallis_entropy import softmax_tsallis_entropy

ALPHA = sp.Symbol("alpha", positive=True)


def support_size(row):
    """|{c : p_c > 0}|: the classes that are not masked (-oo); theta(p_c) summed for the reader."""
    if isinstance(row, GenericRow):
        return row.sum(lambda c: sp.Heaviside(row.p(c), 0))
    return sp.Integer(sum(1 for c in row.classes if row.z(c) != -sp.oo))


def _power_sum(row, alpha):
    return row.sum(lambda c: row.p(c) ** alpha)


def _general(row, alpha):
    return sp.log(_power_sum(row, alpha)) / (1 - alpha)


def _general_gradient(row, j, alpha):
    """alpha/(1 - alpha) (w_j - p_j), w_j = p_j^alpha / sum_c p_c^alpha."""
    return alpha / (1 - alpha) * (row.p(j) ** alpha / _power_sum(row, alpha) - row.p(j))


def _branch(alpha, hartley, shannon, general):
    """The order's branch: decided now for a number (the oracle's exact alpha), a Piecewise for a symbol."""
    alpha = sp.sympify(alpha)
    if alpha.is_Number:
        return hartley() if alpha == 0 else shannon() if alpha == 1 else general()
    return sp.Piecewise((hartley(), sp.Eq(alpha, 0)), (shannon(), sp.Eq(alpha, 1)), (general(), True))


def renyi_entropy(row, alpha):
    """log(sum_c p_c^alpha)/(1 - alpha); Shannon's entropy at alpha = 1, Hartley's log of the support at 0."""
    return _branch(alpha, lambda: sp.log(support_size(row)), lambda: entropy(row), lambda: _general(row, alpha))


def renyi_entropy_gradient(row, j, alpha):
    """The closed form of refloss.renyi_entropy_grad."""
    return _branch(alpha, lambda: sp.S.Zero, lambda: entropy_gradient(row, j),
                   lambda: _general_gradient(row, j, alpha))


def _exprel(x):
    return (sp.exp(x) - 1) / x


def _prove():
    domains = {ALPHA: (sp.Rational(1, 8), 3)}
    prove_row_gradient(_general, _general_gradient, "renyi_entropy (alpha symbolic)", targets=False,
                       params={"alpha": ALPHA}, domains=domains)
    prove_row_gradient(renyi_entropy, renyi_entropy_gradient, "renyi_entropy (alpha = 1)", targets=False,
                       params={"alpha": 1})
    z = logit_symbols(C)
    row = Row(z)
    t = ALPHA - 1
    top = z[0]  # the forms hold for any reference logit; refloss takes the row maximum
    shifted = [zc - top for zc in z]
    mean = sp.log(row.sum(lambda c: row.p(c) * sp.exp(t * shifted[c]))) / t  # M' = M - max
    log_total = sp.log(row.sum(lambda c: sp.exp(shifted[c])))
    pairs = [(_general(row, ALPHA), log_total - mean, "H = log sum e^{z'} - M'"),
             (mean, sp.log(1 + row.sum(lambda c: row.p(c) * (sp.exp(t * shifted[c]) - 1))) / t,
              "M' = log1p(sum p expm1(t z'))/t"),
             (_general(row, ALPHA), sp.log(1 + (1 - ALPHA) * softmax_tsallis_entropy(row, ALPHA).args[1][0])
              / (1 - ALPHA), "H = log(1 + (1 - alpha) S_alpha)/(1 - alpha) (Tsallis's S)")]
    for j in range(C):
        y = shifted[j] - mean
        pairs.append((_general_gradient(row, j, ALPHA), -ALPHA * row.p(j) * y * _exprel(t * y),
                      f"gradient {j} = -alpha p_j y_j exprel(t y_j)"))
        pairs.append((row.p(j) * sp.exp(t * y), sp.exp(ALPHA * shifted[j] - log_total - t * mean),
                      f"w_{j} = e^(alpha z'_j - log sum e^z' - t M')"))
    assert_identities_numerically(pairs, "renyi_entropy's evaluation forms", domains=domains, points=3)
    p = sp.Rational(1, 3)  # two classes, p = (1/3, 2/3)
    general = sp.log(p**ALPHA + (1 - p) ** ALPHA) / (1 - ALPHA)
    check_limit(general, ALPHA, 1, sp.simplify(-p * sp.log(p) - (1 - p) * sp.log(1 - p)), "H_alpha -> H as alpha -> 1")
    check_limit(general, ALPHA, 0, sp.log(2), "H_alpha -> log |supp p| as alpha -> 0+")
    check_limit(general, ALPHA, sp.oo, -sp.log(1 - p), "H_alpha -> -log max p as alpha -> oo")
    c = sp.Symbol("c", real=True)
    assert_identity(_general(Row([c] * C), ALPHA), sp.log(C), "equal logits: H_alpha = log C")


def _build(case):
    z = case["logits"]
    unit = 1 if case["base"] is None else sp.log(case["base"])  # nats, or the base's unit (SciPy's base)
    losses = np.empty(z.shape[:-1], dtype=object)
    for index, row in _rows_of(z):
        losses[index] = renyi_entropy(row, case["alpha"]) / unit
    return reduce(losses, case["reduction"])


define(
    "renyi_entropy",
    # no default order in the paper, and none in the signature; nats (base None) and the family's reduction
    defaults={"base": None, "reduction": "mean"},
    build=_build,
    formula=lambda: ell(renyi_entropy(GenericRow(y=False), sp.Symbol("alpha")), r"H_{\alpha}"),
    gradient_formula=lambda: partial(renyi_entropy_gradient(GenericRow(y=False), sp.Symbol("j"), sp.Symbol("alpha")),
                                     of=r"H_{\alpha}"),
    prove=_prove,
)
