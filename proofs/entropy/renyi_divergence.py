r"""``renyi_divergence``: the definition and its machine-checked derivation.

**Definition** (van Erven & Harremoes 2014, Eq. (1), for finite alphabets; Renyi 1961). For
:math:`p = \mathrm{softmax}(a)`, :math:`q = \mathrm{softmax}(b)` and an order :math:`\alpha \ge 0`,

.. math:: D_\alpha(p\,\|\,q) = \frac{1}{\alpha - 1} \log \sum_j p_j^\alpha q_j^{1 - \alpha}
          \quad (\alpha \ne 0, 1), \qquad D_1 = \mathrm{KL}(p\,\|\,q), \qquad D_0 = -\log \sum_{j:\,p_j > 0} q_j ,

the orders 1 and 0 being the limits of the general form (van Erven & Harremoes; which of their results states
each limit was not checked here, the limits themselves are checked below), stated
as branches of the definition. The sum runs over the classes where :math:`p_j > 0` (the paper's convention
:math:`0^\alpha 0^{1-\alpha} = 0`, and :math:`x / 0 = \infty` for :math:`x > 0`): a class masked in :math:`q`
where :math:`p` has mass contributes :math:`p_j^\alpha \cdot 0 = 0` for :math:`\alpha < 1` and :math:`\infty` for
:math:`\alpha > 1`. So :math:`D_\alpha = +\infty` when :math:`\alpha \ge 1` and :math:`q` misses a class of :math:`p`,
or for any order when the two supports are disjoint. :math:`\alpha = 1/2` gives :math:`-2 \log \sum_j \sqrt{p_j q_j}`
(twice the Bhattacharyya distance), and :math:`D_\alpha` is non-decreasing in :math:`\alpha` (a result of the paper,
tested on random draws in ``tests/test_discrete_measures.py``), tending to
:math:`D_\infty = \log \max_{j:\,p_j > 0} p_j / q_j` as :math:`\alpha \to \infty` (van Erven & Harremoes,
Theorem 6), the order :math:`\infty` of the definition (a third branch; :math:`+\infty` where :math:`q` misses a class
of :math:`p`). The paper names no default order; refloss's signature has none either.

**The order** :math:`\infty` **and its ties.** The definition writes :math:`D_\infty = \sum_j g_j (\log p_j - \log
q_j)` with :math:`g_j = [j \in T] / |T|`, :math:`T` the modes of the ratio (the classes of :math:`p`'s support with the
largest :math:`a_j - b_j`, that is of :math:`p_j / q_j`), each indicator a product of :math:`\theta` of differences
with :math:`\theta(0) = 1`: the value :math:`\log \max_j p_j / q_j` everywhere, and the derivatives (the
:math:`\delta` terms of the indicators taken as 0) :math:`\partial D_\infty / \partial a_j = g_j - p_j`,
:math:`\partial D_\infty / \partial b_j = q_j - g_j`. For a unique mode these are the derivatives; at tied modes,
where :math:`D_\infty` has none, the convention is that **tied modes share equally** (the centre of the
subdifferential of the maximum, as for ``renyi_entropy`` at :math:`\infty`). It is not the limit
:math:`\alpha \to \infty` of the gradients at a tie, where the tilted distribution tends to :math:`q_j / Q(T)` on the
modes (:math:`= p_j / P(T)`, the ratio being equal there): the two agree where :math:`q` is equal on the tied modes
(as it always is for the entropy's modes), and otherwise the limit is another point of the subdifferential.

**Gradients.** With :math:`S = \sum_c p_c^\alpha q_c^{1-\alpha}` and the tilted distribution
:math:`w_j = p_j^\alpha q_j^{1-\alpha} / S`,

.. math:: \frac{\partial \log S}{\partial a_j} = \frac{1}{S}\sum_c \alpha p_c^\alpha q_c^{1-\alpha}(\delta_{cj} - p_j)
          = \alpha (w_j - p_j), \qquad \frac{\partial \log S}{\partial b_j} = (1 - \alpha)(w_j - q_j),

so :math:`\partial D_\alpha / \partial a_j = \frac{\alpha}{\alpha - 1}(w_j - p_j)` and
:math:`\partial D_\alpha / \partial b_j = q_j - w_j`. At :math:`\alpha = 1` these are KL's
:math:`p_j(\log p_j - \log q_j - \mathrm{KL})` and :math:`q_j - p_j`; at :math:`\alpha = \infty`,
:math:`g_j - p_j` and :math:`q_j - g_j` (above); at :math:`\alpha = 0`, with
:math:`A = \mathrm{supp}\,p` and :math:`Q(A) = \sum_{c \in A} q_c`, the gradient in :math:`a` is 0 (the support does
not move) and :math:`\partial D_0 / \partial b_j = q_j - [j \in A]\,q_j / Q(A)`.

**The value refloss evaluates.** With :math:`u_j = \log(p_j / q_j)` (KL's, from differences of logits),
:math:`t = \alpha - 1` and :math:`\sum_j p_j = \sum_j q_j = 1`,

.. math:: S - 1 = \sum_j q_j\,\psi_\alpha(u_j), \qquad \psi_\alpha(u) = e^{\alpha u} - \alpha e^u - (1 - \alpha),

and :math:`\psi_\alpha` has one sign: the convex :math:`s \mapsto e^{s u}` lies below its chord on :math:`[0, 1]`
(:math:`\alpha < 1`) and above it outside (:math:`\alpha > 1`). The gap below a chord is an integral of the second
derivative against a non-negative kernel; evaluated in closed form it splits into two terms of one sign,

.. math:: \psi_\alpha(u) = t\,\varphi(u) + e^{u}\,(e^{t u} - 1 - t u) \quad (\alpha > 1), \qquad
          \psi_\alpha(u) = t\,\varphi(\alpha u) - \alpha e^u \varphi(t u) \quad (\alpha < 1),

with KL's :math:`\varphi(u) = 1 + (u - 1)e^u \ge 0` (so :math:`q_j \varphi(u_j)` are the KL divergence's own
terms) and :math:`q_j e^{u_j} = p_j`. Then :math:`D_\alpha = \frac1t\,\mathrm{log1p}(\sum_j q_j \psi_\alpha(u_j))`,
a sum of terms of the sign of :math:`t` whose value :math:`\approx \frac{\alpha t}{2} \sum_j q_j u_j^2` keeps its digits
for nearly equal distributions, where :math:`\sum_j p_j\,\mathrm{expm1}(t u_j)` (terms of both signs) is rounding
noise; at :math:`t \to 0` it tends to :math:`\sum_j q_j \varphi(u_j) = \mathrm{KL}`. Where :math:`S < 1/2` or
:math:`S` passes the float64 range the logarithm is a log-sum-exp of :math:`\log q_j + \alpha u_j` instead.

**The gradients refloss evaluates.** :math:`w_j / p_j = e^{t u_j} / S = e^{t y_j}` with :math:`y_j = u_j - D_\alpha`.
With :math:`k` the class most probable under :math:`p` (of those where :math:`q` has mass) and
:math:`\varepsilon = u - u_k`, :math:`y_j = \varepsilon_j - \frac1t \log \sum_c p_c e^{t \varepsilon_c}`, where the
sum is :math:`1 + \sum_c p_c\,\mathrm{expm1}(t \varepsilon_c)`, close to 1 for a peaked :math:`p` (KL's logit form
:math:`e_j - \sum_c p_c e_c` at :math:`t = 0`). Then

.. math:: \frac{\partial D_\alpha}{\partial a_j} = \frac{\alpha}{t}\,p_j\,\mathrm{expm1}(t y_j), \qquad
          \frac{\partial D_\alpha}{\partial b_j} = q_j - w_j = -q_j\,\mathrm{expm1}(u_j + t y_j),

each taken as written (:math:`\frac{\alpha}{t}(w_j - p_j)`, :math:`q_j - w_j`) where the exponent passes 1 in size.

**The order** :math:`\infty` **as refloss evaluates it.** :math:`D_\infty = \max_j u_j` over :math:`p`'s support, with
KL's :math:`u_j = \log(p_j / q_j)` from differences of logits (``_log_ratios``: for nearly equal rows
:math:`u_j = e_j - \mathrm{log1p}(\sum_c q_c\,\mathrm{expm1}(e_c))`, which keeps the digits of a divergence of
:math:`10^{-9}`). The modes are decided exactly: :math:`a_j - b_j` is compared as the pair (its rounding, the
rounding's error) of ``two_sum`` on the halved logits (no overflow), which orders the exact differences. At a mode
:math:`g_j - p_j = \frac1m(\sum_{c \notin T} p_c + \sum_{c \in T}(p_c - p_j))` (and likewise for :math:`q`), so that
:math:`1 - p_k` keeps its digits for a peaked :math:`p`.

**Checked** (``_prove``): for :math:`C = 3`, both closed forms are SymPy's derivatives of the definition at a
symbolic order; at :math:`\alpha = 0` (the derivative of :math:`-\log \sum_j q_j` with every class in the support
is 0 and the closed form agrees); the two decompositions of :math:`\psi_\alpha`, :math:`S - 1 = \sum_j q_j \psi(u_j)`,
:math:`w_j = p_j e^{t y_j}` with the reference-class form of :math:`y_j`; the Bhattacharyya form at
:math:`\alpha = 1/2`; :math:`D_\alpha(p\,\|\,p) = 0`; the limits :math:`\alpha \to 1` (KL) and :math:`\alpha \to 0^+`
on two classes; at :math:`\alpha = \infty`, the value is :math:`\log \max_j p_j / q_j` and the oracle's derivative
(the :math:`\delta` terms taken as 0) is the closed form at random points and at ties of two and three modes of the
ratio, and the limit :math:`\alpha \to \infty` of the general gradients at a three-way tie where :math:`q` is equal
on the modes is the same :math:`g_j - p_j`, :math:`q_j - g_j`; the limit :math:`\alpha \to \infty` on two classes.
Stress points: KL's families (peaked against uniform and back, both peaked, near ties, masks), nearly equal rows
(logits :math:`10^{-9}` apart) and a class of :math:`p` that :math:`q` masks, at
:math:`\alpha \in \{1/2, 0, 1 - 2^{-30}, 1, 1 + 2^{-30}, 2, 50, \infty\}`; at :math:`\infty` also two and three
tied modes of the ratio and rows of one class.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identities_numerically, assert_identity, check_limit
from .._views import GenericRow, Row, logit_symbols, reduce
from ._common import C
from .kl_divergence_logits import _GenericPair, kl, kl_gradient_p, kl_gradient_q
from .renyi_entropy import mode_shares

ALPHA = sp.Symbol("alpha", positive=True)


def _in_support(row, j):
    return isinstance(row, GenericRow) or row.z(j) != -sp.oo


def _power_sum(p_row, q_row, alpha):
    """sum over p's support of p_j^alpha q_j^(1-alpha); oo where q misses a class of p and alpha > 1."""
    if not isinstance(p_row, GenericRow) and alpha.is_Number and alpha > 1 and any(
            _in_support(p_row, j) and q_row.z(j) == -sp.oo for j in p_row.classes):
        return sp.oo
    return p_row.sum(lambda j: p_row.p(j) ** alpha * q_row.p(j) ** (1 - alpha))


def _general(p_row, q_row, alpha):
    total = _power_sum(p_row, q_row, alpha)
    if total == 0 or total is sp.oo:  # disjoint supports (alpha < 1), or q misses p's mass (alpha > 1)
        return sp.oo
    return sp.log(total) / (alpha - 1)


def _order_zero(p_row, q_row):
    """-log Q(supp p); theta(p_j) marks the support for the reader."""
    if isinstance(p_row, GenericRow):
        return -sp.log(p_row.sum(lambda j: sp.Heaviside(p_row.p(j), 0) * q_row.p(j)))
    total = sp.Add(*[q_row.p(j) for j in p_row.classes if _in_support(p_row, j)])
    return sp.oo if total == 0 else -sp.log(total)


def _branch(alpha, zero, one, general, infinite):
    alpha = sp.sympify(alpha)
    if alpha is sp.oo:
        return infinite()
    if alpha.is_Number:
        return zero() if alpha == 0 else one() if alpha == 1 else general()
    return sp.Piecewise((zero(), sp.Eq(alpha, 0)), (one(), sp.Eq(alpha, 1)), (infinite(), sp.Eq(alpha, sp.oo)),
                        (general(), True))


def _ratio_shares(p_row, q_row) -> dict:
    """g_j = [j is a mode of p_j / q_j] / #modes over p's support: the modes of a_j - b_j, decided exactly."""
    return mode_shares(p_row, key=lambda j: p_row.z(j) - q_row.z(j))


def _order_infinity(p_row, q_row):
    """log max_j p_j / q_j over p's support (oo where q misses a class of p), as sum_j g_j (log p_j - log q_j)."""
    if isinstance(p_row, GenericRow):
        return sp.log(sp.Symbol(r"\max_{j} p_{j} / q_{j}", positive=True))
    if any(_in_support(p_row, j) and q_row.z(j) == -sp.oo for j in p_row.classes):
        return sp.oo
    return sp.Add(*[g * (p_row.log_p(j) - q_row.log_p(j)) for j, g in _ratio_shares(p_row, q_row).items()])


def _share(p_row, q_row, j):
    """g_j (a symbol for the reader, 0 outside p's support)."""
    if isinstance(p_row, GenericRow):
        return sp.Indexed(sp.IndexedBase(r"\bar{\delta}"), j)  # the tied modes' one-hots averaged
    return _ratio_shares(p_row, q_row).get(j, sp.S.Zero)


def renyi_divergence(p_row, q_row, alpha):
    """log(sum_j p_j^alpha q_j^(1-alpha))/(alpha - 1); KL at alpha = 1, -log Q(supp p) at alpha = 0, log max_j p_j / q_j
    at oo."""
    alpha = sp.sympify(alpha)
    return _branch(alpha, lambda: _order_zero(p_row, q_row), lambda: kl(p_row, q_row),
                   lambda: _general(p_row, q_row, alpha), lambda: _order_infinity(p_row, q_row))


def _tilted(p_row, q_row, j, alpha):
    return p_row.p(j) ** alpha * q_row.p(j) ** (1 - alpha) / _power_sum(p_row, q_row, alpha)


def _support_mass(p_row, q_row):
    if isinstance(p_row, GenericRow):
        return p_row.sum(lambda c: sp.Heaviside(p_row.p(c), 0) * q_row.p(c))
    return sp.Add(*[q_row.p(c) for c in p_row.classes if _in_support(p_row, c)])


def _general_gradient_p(p_row, q_row, j, alpha):
    return alpha / (alpha - 1) * (_tilted(p_row, q_row, j, alpha) - p_row.p(j))


def _general_gradient_q(p_row, q_row, j, alpha):
    return q_row.p(j) - _tilted(p_row, q_row, j, alpha)


def gradient_p(p_row, q_row, j, alpha):
    """The closed form of refloss.renyi_divergence_grad(...).p_logits: alpha/(alpha - 1) (w_j - p_j)."""
    alpha = sp.sympify(alpha)
    return _branch(alpha, lambda: sp.S.Zero, lambda: kl_gradient_p(p_row, q_row, j),
                   lambda: _general_gradient_p(p_row, q_row, j, alpha),
                   lambda: _share(p_row, q_row, j) - p_row.p(j))


def gradient_q(p_row, q_row, j, alpha):
    """The closed form of refloss.renyi_divergence_grad(...).q_logits: q_j - w_j."""
    alpha = sp.sympify(alpha)
    theta = sp.Heaviside(p_row.p(j), 0) if isinstance(p_row, GenericRow) else int(_in_support(p_row, j))
    return _branch(alpha, lambda: q_row.p(j) - theta * q_row.p(j) / _support_mass(p_row, q_row),
                   lambda: kl_gradient_q(p_row, q_row, j),
                   lambda: _general_gradient_q(p_row, q_row, j, alpha),
                   lambda: q_row.p(j) - _share(p_row, q_row, j))


def _phi(x):
    return 1 + (x - 1) * sp.exp(x)


def _prove():
    a, b = logit_symbols(C, "a"), logit_symbols(C, "b")
    p_row, q_row = Row(a), Row(b)
    domains = {ALPHA: (sp.Rational(1, 8), 3)}
    value = _general(p_row, q_row, ALPHA)
    pairs = []
    for j in range(C):
        pairs.append((sp.diff(value, a[j]), _general_gradient_p(p_row, q_row, j, ALPHA), f"d D / d a_{j}"))
        pairs.append((sp.diff(value, b[j]), _general_gradient_q(p_row, q_row, j, ALPHA), f"d D / d b_{j}"))
    # the evaluation forms (reference class k = 0)
    t = ALPHA - 1
    u = [p_row.log_p(j) - q_row.log_p(j) for j in range(C)]
    psi_sum = sum(q_row.p(j) * (sp.exp(ALPHA * u[j]) - ALPHA * sp.exp(u[j]) - (1 - ALPHA)) for j in range(C))
    pairs.append((_power_sum(p_row, q_row, ALPHA) - 1, psi_sum, "S - 1 = sum_j q_j psi(u_j)"))
    eps = [u[j] - u[0] for j in range(C)]
    log_mean = sp.log(sum(p_row.p(c) * sp.exp(t * eps[c]) for c in range(C)))
    for j in range(C):
        ty = t * eps[j] - log_mean
        pairs.append((_tilted(p_row, q_row, j, ALPHA), p_row.p(j) * sp.exp(ty), f"w_{j} = p_{j} e^(t y_{j})"))
        pairs.append((ty, t * (u[j] - value), f"t y_{j} = t (u_{j} - D), by the reference class"))
        v = ALPHA * (u[j] - u[1]) - sp.log(sum(q_row.p(c) * sp.exp(ALPHA * (u[c] - u[1])) for c in range(C)))
        pairs.append((_tilted(p_row, q_row, j, ALPHA), q_row.p(j) * sp.exp(v), f"w_{j} = q_{j} e^(v_{j}), q's side"))
    assert_identities_numerically(pairs, "renyi_divergence: gradients and evaluation forms", domains=domains, points=3)
    x = sp.Symbol("u", real=True)
    above = t * _phi(x) + sp.exp(x) * (sp.exp(t * x) - 1 - t * x)
    below = t * _phi(ALPHA * x) - ALPHA * sp.exp(x) * _phi(t * x)
    for lo, hi, form, label in ((sp.Rational(9, 8), 3, above, "> 1"),
                                (sp.Rational(1, 8), sp.Rational(7, 8), below, "< 1")):
        assert_identity(sp.exp(ALPHA * x) - ALPHA * sp.exp(x) - (1 - ALPHA), form, f"psi's form for alpha {label}",
                        domains={ALPHA: (lo, hi)})
    assert_identity(_general(p_row, q_row, sp.Rational(1, 2)),
                    -2 * sp.log(sum(sp.sqrt(p_row.p(j) * q_row.p(j)) for j in range(C))),
                    "D_(1/2) = -2 log(Bhattacharyya coefficient)", logits=a + b)
    assert_identity(_general(p_row, Row(a), ALPHA), 0, "D_alpha(p || p) = 0", logits=a)
    # order 0 with every class in the support: D_0 = -log 1 = 0 and its gradients
    for j in range(C):
        assert_identity(gradient_q(p_row, q_row, j, 0), 0, f"D_0 full support: d / d b_{j} = 0", logits=a + b)
    pa, qa = sp.Rational(1, 3), sp.Rational(3, 4)  # two classes: p = (1/3, 2/3), q = (3/4, 1/4)
    two = sp.log(pa**ALPHA * qa ** (1 - ALPHA) + (1 - pa) ** ALPHA * (1 - qa) ** (1 - ALPHA)) / (ALPHA - 1)
    check_limit(two, ALPHA, 1, sp.simplify(pa * sp.log(pa / qa) + (1 - pa) * sp.log((1 - pa) / (1 - qa))),
                "D_alpha -> KL as alpha -> 1")
    check_limit(two, ALPHA, 0, 0, "D_alpha -> -log Q(supp p) = 0 as alpha -> 0+")
    check_limit(two, ALPHA, sp.oo, sp.log((1 - pa) / (1 - qa)), "D_alpha -> log max p/q as alpha -> oo")
    _prove_infinite_order()


def _derivative(expr, x):
    """SymPy's derivative with the DiracDelta terms taken as 0, as the oracle takes it."""
    return sp.diff(expr, x).replace(sp.DiracDelta, lambda *_: sp.S.Zero)


def _prove_infinite_order():
    """alpha = oo: the value is log max p/q; the oracle's derivatives of it are the closed forms g_j - p_j and
    q_j - g_j at random points (a unique mode of the ratio) and at ties of 2 and 3 modes; the general gradients'
    limits alpha -> oo at a three-way tie are the same where q is equal on the modes (elsewhere the limit shares
    in proportion to q)."""
    n = 4
    a, b = logit_symbols(n, "a"), logit_symbols(n, "b")
    p_row, q_row = Row(a), Row(b)
    value = renyi_divergence(p_row, q_row, sp.oo)
    pairs = []
    for j in range(n):
        pairs.append((_derivative(value, a[j]), gradient_p(p_row, q_row, j, sp.oo), f"D_inf: d / d a_{j}"))
        pairs.append((_derivative(value, b[j]), gradient_q(p_row, q_row, j, sp.oo), f"D_inf: d / d b_{j}"))
    assert_identities_numerically(pairs, "renyi_divergence at alpha = oo (a unique mode)", points=3)
    third = sp.Rational(1, 3)
    q_point = (0, 1, -1, third)
    for shift, modes in (((2, -1, third, 0), (0,)), ((1, 1, 0, -2), (0, 1)), ((third, third, -1, third), (0, 1, 3))):
        a_point = tuple(x + y for x, y in zip(shift, q_point))  # a - b = shift: its modes are the ratio's
        at = {**dict(zip(a, a_point)), **dict(zip(b, q_point))}
        pe, qe = Row(list(a_point)), Row(list(q_point))
        top = max(range(n), key=lambda j: shift[j])
        assert_identity(value.subs(at), pe.log_p(top) - qe.log_p(top), f"D_inf = log max p/q at a - b = {shift}")
        for j in range(n):
            g = sp.Rational(1, len(modes)) if j in modes else 0
            for x, closed, expected in ((a[j], gradient_p(pe, qe, j, sp.oo), g - pe.p(j)),
                                        (b[j], gradient_q(pe, qe, j, sp.oo), qe.p(j) - g)):
                assert_identity(_derivative(value, x).subs(at), expected, f"dD_inf/d{x} at a - b = {shift}")
                assert_identity(closed, expected, f"closed form d/d{x} at a - b = {shift}")
    # p = (2, 2, 2, 1)/7, q = (1, 1, 1, 1)/4: the tilted distribution tends to (1, 1, 1, 0)/3
    p_t, q_t = [sp.Rational(2, 7)] * 3 + [sp.Rational(1, 7)], [sp.Rational(1, 4)] * 4
    power = sum(x**ALPHA * y ** (1 - ALPHA) for x, y in zip(p_t, q_t))
    for j in (0, 3):
        w = p_t[j] ** ALPHA * q_t[j] ** (1 - ALPHA) / power
        g = third if j < 3 else 0
        check_limit(ALPHA / (ALPHA - 1) * (w - p_t[j]), ALPHA, sp.oo, g - p_t[j], f"tied: d/d a_{j} as alpha -> oo")
        check_limit(q_t[j] - w, ALPHA, sp.oo, q_t[j] - g, f"tied: d/d b_{j} as alpha -> oo")


def _build(case):
    a, b = case["p_logits"], case["q_logits"]
    unit = 1 if case["base"] is None else sp.log(case["base"])
    losses = np.empty(a.shape[:-1], dtype=object)
    for index in np.ndindex(*a.shape[:-1]):
        losses[index] = renyi_divergence(Row(a[index]), Row(b[index]), case["alpha"]) / unit
    return reduce(losses, case["reduction"])


define(
    "renyi_divergence",
    # no default order in the paper, and none in the signature; nats (base None) and the family's reduction
    defaults={"base": None, "reduction": "mean"},
    build=_build,
    formula=lambda: ell(renyi_divergence(_GenericPair().a, _GenericPair().b, sp.Symbol("alpha")),
                        r"D_{\alpha}(p \| q)"),
    gradient_formula=lambda: sp.Tuple(
        partial(gradient_p(_GenericPair().a, _GenericPair().b, sp.Symbol("j"), sp.Symbol("alpha")), "a_{j}",
                r"D_{\alpha}"),
        partial(gradient_q(_GenericPair().a, _GenericPair().b, sp.Symbol("j"), sp.Symbol("alpha")), "b_{j}",
                r"D_{\alpha}")),
    prove=_prove,
)
