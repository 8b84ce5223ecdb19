r"""``renyi_entropy``: the definition and its machine-checked derivation.

**Definition** (Renyi 1961; his equation numbers were not checked here). For
:math:`p = \mathrm{softmax}(z)` and an order :math:`\alpha \ge 0`,

.. math:: H_\alpha = \frac{1}{1 - \alpha} \log \sum_c p_c^\alpha \quad (\alpha \ne 0, 1), \qquad
          H_1 = -\sum_c p_c \log p_c, \qquad H_0 = \log |\{c : p_c > 0\}| ,

and at :math:`\alpha = \infty` the min-entropy :math:`H_\infty = -\log \max_c p_c = \mathrm{LSE}(z) - \max_c z_c`;
the orders 1, 0 and :math:`\infty` being the limits of the general form (Shannon's entropy, Hartley's log of the
support size, the min-entropy), stated as branches of the definition. A masked class (:math:`p_c = 0`) contributes
:math:`0^\alpha = 0` for :math:`\alpha > 0` and is outside the support at :math:`\alpha = 0` (the convention
:math:`0^0 = 0`, which makes :math:`H_0` the limit :math:`\alpha \to 0^+`). :math:`H_\alpha` is non-increasing in
:math:`\alpha`, from
:math:`\log |\mathrm{supp}\,p|` down to the min-entropy :math:`H_\infty = -\log \max_c p_c`, its limit as
:math:`\alpha \to \infty`; refloss's domain is :math:`[0, \infty]`, the order :math:`\infty` included.

**The order** :math:`\infty` **and its ties.** The definition writes the min-entropy as
:math:`H_\infty = -\sum_j g_j \log p_j` with :math:`g_j = [j \in T] / |T|`, :math:`T` the set of modes (the classes
of the largest logit), each indicator a product of :math:`\theta(z_j - z_c)` with :math:`\theta(0) = 1`: the same
value :math:`-\log \max_c p_c` everywhere, and a derivative (the :math:`\delta` terms of the indicators vanish
off a tie and are taken as 0 at it) :math:`\partial H_\infty / \partial z_j = p_j - g_j`. For a unique mode
:math:`k` that is :math:`p_j - [j = k]`, the derivative; at tied modes, where :math:`H_\infty` has no derivative,
it is the convention **tied modes share equally**: the centre of the subdifferential of :math:`\max` (the average of
the tied one-hot vectors), also the limit :math:`\alpha \to \infty` of the gradient of :math:`H_\alpha` (whose
escort distribution tends to the uniform one on the modes). SymPy's own derivative of ``Max`` is not used: it is
:math:`\theta(z_j - \max_{c \ne j} z_c)` with :math:`\theta(0) = 1/2`, which gives each of three tied modes 1/2.
The paper names no default order; refloss's signature has none either.

**Gradient.** :math:`\partial p_c / \partial z_j = p_c(\delta_{cj} - p_j)`, so with :math:`S = \sum_c p_c^\alpha`,

.. math:: \frac{\partial \log S}{\partial z_j} = \frac{1}{S}\sum_c \alpha p_c^{\alpha - 1} p_c (\delta_{cj} - p_j)
          = \alpha\,(w_j - p_j), \qquad w_j = \frac{p_j^\alpha}{S},

and :math:`\partial H_\alpha / \partial z_j = \frac{\alpha}{1 - \alpha}(w_j - p_j)` (the escort distribution
:math:`w` minus :math:`p`); Shannon's :math:`-p_j(\log p_j + H)` at :math:`\alpha = 1`, 0 at :math:`\alpha = 0` and
:math:`p_j - g_j` at :math:`\alpha = \infty`.
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

At :math:`\alpha = \infty` refloss takes :math:`H_\infty = \log \sum_c e^{z'_c} = \mathrm{log1p}(\sum_{c \ne k}
e^{z'_c})` (the sum over all classes but one mode :math:`k`: ``softmax_parts``), exact from the logits, and the
gradient :math:`p_j - g_j` as :math:`p_j` off the modes and :math:`\mathrm{expm1}(\log p_j + \log |T|)/|T|` at them
(where :math:`|\log p_j + \log |T|| < 1`; :math:`p_j - 1/|T|` elsewhere), so that :math:`p_k - 1` keeps its digits for
a peaked row; the modes are the classes with :math:`z_j = \max_c z_c` exactly, as the definition decides them.

**Checked** (``_prove``): for :math:`C = 3`, the closed form is SymPy's derivative of the definition at a symbolic
order and at :math:`\alpha = 1` (at :math:`\alpha = 0` both are 0); the value's form
:math:`\mathrm{LSE}(z) - M` and the gradient's :math:`-\alpha p_j y_j\,\mathrm{exprel}(t y_j)` equal the definition;
:math:`H_\alpha = \log(1 + (1 - \alpha) S_\alpha)/(1 - \alpha)` with Tsallis's :math:`S_\alpha`; the limits
:math:`\alpha \to 1` (Shannon), :math:`\alpha \to 0^+` (Hartley) and :math:`\alpha \to \infty` (min-entropy) on a row
of two classes; :math:`H_\alpha = \log C` at equal logits. At :math:`\alpha = \infty`: the definition's value is
:math:`-\log \max_c p_c` on rows with one, two and three tied modes, its derivative (the oracle's, the
:math:`\delta` terms taken as 0) is the closed form :math:`p_j - g_j` at random points and at ties of two and three
modes (:math:`g_j = 1/2, 1/3`), and the limit :math:`\alpha \to \infty` of the general gradient at a three-way tie
is the same :math:`p_j - 1/3`. Stress points: ``softmax_stress`` without targets at
:math:`\alpha \in \{1/2, 0, 1 - 2^{-30}, 1, 1 + 2^{-30}, 2, 50, \infty\}`, two in bits, and rows with two tied
modes at :math:`\infty`; the extreme inputs at :math:`\alpha = 1/2` and the huge orders :math:`10^{20}, 10^{300}`.
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


def mode_shares(row, key=None) -> dict:
    """g_j = [j is a mode] / #modes over the classes that are not masked, the modes being the classes of the largest
    ``key(j)`` (default the logit z_j): each indicator a product of theta(key_j - key_c) with theta(0) = 1, so that
    ties are decided on the exact inputs and g is constant between them (its derivative, DiracDelta terms, is 0
    off a tie and taken as 0 at one). At a tie of m modes each gets 1/m: the centre of max's subdifferential."""
    key = row.z if key is None else key
    live = [c for c in row.classes if row.z(c) != -sp.oo]
    marks = {j: sp.Mul(*[sp.Heaviside(key(j) - key(c), 1) for c in live if c != j]) for j in live}
    count = sp.Add(*marks.values())
    return {j: marks[j] / count for j in live}


def min_entropy(row):
    """H_inf = -log max_c p_c, written -sum_j g_j log p_j with the modes' shares g (the same value)."""
    if isinstance(row, GenericRow):
        return -sp.log(sp.Symbol(r"\max_{c} p_{c}", positive=True))
    shares = mode_shares(row)
    return -sp.Add(*[g * row.log_p(j) for j, g in shares.items()])


def min_entropy_gradient(row, j):
    """p_j - g_j: p_j - [j = k] for a unique mode k, tied modes sharing equally."""
    if isinstance(row, GenericRow):
        return row.p(j) - sp.Indexed(sp.IndexedBase(r"\bar{\delta}"), j)  # the tied modes' one-hots averaged
    return row.p(j) - mode_shares(row).get(j, row.p(j))


def _branch(alpha, hartley, shannon, general, infinite):
    """The order's branch: decided now for a number (the oracle's exact alpha, oo included), a Piecewise for a
    symbol."""
    alpha = sp.sympify(alpha)
    if alpha is sp.oo:
        return infinite()
    if alpha.is_Number:
        return hartley() if alpha == 0 else shannon() if alpha == 1 else general()
    return sp.Piecewise((hartley(), sp.Eq(alpha, 0)), (shannon(), sp.Eq(alpha, 1)), (infinite(), sp.Eq(alpha, sp.oo)),
                        (general(), True))


def renyi_entropy(row, alpha):
    """log(sum_c p_c^alpha)/(1 - alpha); Shannon's entropy at alpha = 1, Hartley's log of the support at 0, the
    min-entropy -log max_c p_c at oo."""
    return _branch(alpha, lambda: sp.log(support_size(row)), lambda: entropy(row), lambda: _general(row, alpha),
                   lambda: min_entropy(row))


def renyi_entropy_gradient(row, j, alpha):
    """The closed form of refloss.renyi_entropy_grad."""
    return _branch(alpha, lambda: sp.S.Zero, lambda: entropy_gradient(row, j),
                   lambda: _general_gradient(row, j, alpha), lambda: min_entropy_gradient(row, j))


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
    _prove_infinite_order()


def _derivative(expr, x):
    """SymPy's derivative with the DiracDelta terms taken as 0, as the oracle takes it."""
    return sp.diff(expr, x).replace(sp.DiracDelta, lambda *_: sp.S.Zero)


def _prove_infinite_order():
    """alpha = oo: the value is -log max p at one, two and three modes; the oracle's derivative of it is the closed
    form p_j - g_j at random points (a unique mode) and at ties of 2 and 3 modes; the general gradient's limit
    alpha -> oo at a three-way tie is that same p_j - 1/3."""
    z = logit_symbols(4)
    row = Row(z)
    value = renyi_entropy(row, sp.oo)
    pairs = [(_derivative(value, z[j]), renyi_entropy_gradient(row, j, sp.oo), f"H_inf: dH/dz_{j} = p_j - g_j")
             for j in range(4)]
    assert_identities_numerically(pairs, "renyi_entropy at alpha = oo (a unique mode)", points=3)
    one = sp.Rational(1, 3)
    for point, modes in (((2, -1, one, 0), (0,)), ((1, 1, 0, -2), (0, 1)), ((one, one, -1, one), (0, 1, 3))):
        at = dict(zip(z, point))
        exact = Row(list(point))
        top = sp.exp(max(point)) / exact.sum(lambda c: sp.exp(point[c]))
        assert_identity(value.subs(at), -sp.log(top), f"H_inf = -log max p at {point}")
        for j in range(4):
            expected = exact.p(j) - (sp.Rational(1, len(modes)) if j in modes else 0)
            assert_identity(_derivative(value, z[j]).subs(at), expected, f"dH_inf/dz_{j} at {point}: p_j - g_j")
            assert_identity(renyi_entropy_gradient(exact, j, sp.oo), expected, f"closed form at {point}, class {j}")
    # p = (2, 2, 2, 1)/7: the escort tends to (1, 1, 1, 0)/3 and the gradient to p_j - 1/3 at the modes
    tied = [sp.Rational(2, 7)] * 3 + [sp.Rational(1, 7)]
    power = sum(x**ALPHA for x in tied)
    for j in (0, 3):
        general = ALPHA / (1 - ALPHA) * (tied[j] ** ALPHA / power - tied[j])
        check_limit(general, ALPHA, sp.oo, tied[j] - (one if j < 3 else 0),
                    f"three tied modes: the gradient's limit alpha -> oo at class {j}")


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
