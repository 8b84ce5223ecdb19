r"""``js_divergence``: the definition and its machine-checked derivation.

**Definition** (Lin 1991, the divergence with weights :math:`\pi_1 = \pi_2 = 1/2`, written as the KL divergences
from the midpoint; the paper's equation numbers were not checked here). For
:math:`p = \mathrm{softmax}(a)`, :math:`q = \mathrm{softmax}(b)` and :math:`m = \frac12(p + q)`,

.. math:: \mathrm{JS}(p, q) = \tfrac12 \sum_j p_j \log\frac{p_j}{m_j} + \tfrac12 \sum_j q_j \log\frac{q_j}{m_j}
          = H(m) - \tfrac12\big(H(p) + H(q)\big),

with :math:`0 \log 0 = 0`: a class masked in one distribution contributes :math:`\frac12 x \log 2` through the other's
mass :math:`x` there, so the divergence is finite for any masks, :math:`0 \le \mathrm{JS} \le \log 2` (each class's
two terms are :math:`m_j g(u_j)` with :math:`0 \le g \le \log 2`, below), 0 exactly when :math:`p = q` and
:math:`\log 2` when the supports are disjoint.

**Gradients.** :math:`\partial p_c / \partial a_j = p_c(\delta_{cj} - p_j)` and :math:`\partial m_c / \partial a_j =
\frac12 p_c(\delta_{cj} - p_j)`; from the entropy form, :math:`\partial(\frac12 p \log p)/\partial p = \frac12(\log
p + 1)` and :math:`\partial(-m \log m)/\partial m = -(\log m + 1)`, so

.. math:: \frac{\partial\,\mathrm{JS}}{\partial a_j} = \frac12 \sum_c \log\frac{p_c}{m_c}\, p_c (\delta_{cj} - p_j)
          = \frac12 p_j \Big(\log\frac{p_j}{m_j} - \mathrm{KL}(p\,\|\,m)\Big),

and the same with :math:`q` and :math:`b`. Both vanish at :math:`p = q` (:math:`m = p`).

**The value refloss evaluates.** With :math:`u_j = \log(p_j/q_j)` (from differences of logits, as the KL
divergence takes it), :math:`p_j / m_j = 2\sigma(u_j)` and :math:`q_j / m_j = 2\sigma(-u_j)`, so the two terms of
class :math:`j` are :math:`m_j\,g(u_j)` with

.. math:: g(u) = \sigma(u)\log 2\sigma(u) + \sigma(-u)\log 2\sigma(-u) = \log 2 - H_2(\sigma(u))
          = \tfrac12\big(\varphi(r(u)) + \varphi(r(-u))\big), \qquad r(u) = \log 2\sigma(u),

the last form being KL's :math:`\sum_i \pi_i \varphi(\log(\sigma_i/\pi_i))` for the binary distribution
:math:`(\sigma(u), \sigma(-u))` against :math:`(\frac12, \frac12)`, with :math:`\varphi(x) = 1 + (x - 1)e^x \ge 0`.
Every term is non-negative, :math:`g(u) \approx u^2/8` near 0 and :math:`g(\pm\infty) = \log 2`; :math:`r(u) =
-\mathrm{log1p}(\mathrm{expm1}(-u)/2)` keeps its relative accuracy near 0. The entropy form subtracts numbers of size
:math:`\log C` to get a divergence that is second order in :math:`p - q`; at logits :math:`10^{-9}` apart it returns
noise of :math:`10^{-16}` for a value of :math:`10^{-19}`, where :math:`\sum_j m_j g(u_j)` keeps every digit.

**The gradients refloss evaluates.** :math:`\rho_j = \log(p_j / m_j) = r(u_j)` and
:math:`\rho_j - \mathrm{KL}(p\,\|\,m) = d_j - \sum_c p_c d_c` with :math:`d_j = \rho_j - \rho_k` from :math:`p`'s mode
:math:`k`, and

.. math:: d_j = \log\frac{\sigma(u_j)}{\sigma(u_k)} = \log\frac{1 + e^{-u_k}}{1 + e^{-u_j}}
          = \mathrm{log1p}\Big(\frac{-\mathrm{expm1}(-g_j)}{e^{u_k} + e^{-g_j}}\Big),
          \qquad g_j = u_j - u_k = (a_j - a_k) - (b_j - b_k),

with no exponential of :math:`u_j` itself: :math:`\sigma(-u_j)\,\mathrm{expm1}(g_j)`, equal, multiplies the rounding
of a large :math:`u_j` by :math:`e^{g_j}` (6 ulps at a logit gap of 36). Where :math:`p` is spread over classes whose
:math:`\rho` differ by O(1), the direct :math:`\rho_j - \sum_c p_c \rho_c` adds smaller terms and is taken instead
(per row, by the size of the terms).

**Checked** (``_prove``): for :math:`C = 3`, both closed forms are SymPy's derivatives of the definition; the
entropy form; symmetry; :math:`\mathrm{JS}(p, p) = 0`; the per-class form :math:`m_j g(u_j)` and the
:math:`\varphi` form of :math:`g`; :math:`d_j`'s form; :math:`g \to \log 2` as :math:`u \to \infty`. Stress points: KL's
families, nearly equal rows (:math:`10^{-9}` apart), equal rows (0 exactly), masks in either distribution and in
both, disjoint supports (:math:`\log 2`).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identities_numerically, assert_identity, check_limit
from .._views import GenericRow, Row, logit_symbols, reduce
from ._common import C
from .kl_divergence_logits import _GenericPair
from .softmax_entropy import entropy


def _mid(p_row, q_row, j):
    return (p_row.p(j) + q_row.p(j)) / 2


def _log_mid(p_row, q_row, j):
    if isinstance(p_row, GenericRow):
        return sp.log(_mid(p_row, q_row, j))
    return sp.log(_mid(p_row, q_row, j)) if (p_row.z(j) != -sp.oo or q_row.z(j) != -sp.oo) else -sp.oo


def _kl_from_mid(p_row, q_row):
    """sum_j p_j log(p_j / m_j) (a class p does not reach contributes 0)."""
    return p_row.sum(lambda j: p_row.p(j) * (p_row.log_p(j) - _log_mid(p_row, q_row, j)))


def js_divergence(p_row, q_row):
    """(1/2) KL(p || m) + (1/2) KL(q || m), m = (p + q)/2."""
    return (_kl_from_mid(p_row, q_row) + _kl_from_mid(q_row, p_row)) / 2


def js_gradient_p(p_row, q_row, j):
    """The closed form of refloss.js_divergence_grad(...).p_logits: (1/2) p_j (log(p_j / m_j) - KL(p || m))."""
    return p_row.p(j) * (p_row.log_p(j) - _log_mid(p_row, q_row, j) - _kl_from_mid(p_row, q_row)) / 2


def js_gradient_q(p_row, q_row, j):
    """(1/2) q_j (log(q_j / m_j) - KL(q || m))."""
    return js_gradient_p(q_row, p_row, j)


def _phi(x):
    return 1 + (x - 1) * sp.exp(x)


def _sigma(x):
    return 1 / (1 + sp.exp(-x))


def _prove():
    a, b = logit_symbols(C, "a"), logit_symbols(C, "b")
    p_row, q_row = Row(a), Row(b)
    value = js_divergence(p_row, q_row)
    pairs = []
    for j in range(C):
        pairs.append((sp.diff(value, a[j]), js_gradient_p(p_row, q_row, j), f"d JS / d a_{j}"))
        pairs.append((sp.diff(value, b[j]), js_gradient_q(p_row, q_row, j), f"d JS / d b_{j}"))
    mid_row = [sp.log(_mid(p_row, q_row, j)) for j in range(C)]  # log m_j as logits: m is a distribution
    pairs.append((value, entropy(Row(mid_row)) - (entropy(p_row) + entropy(q_row)) / 2, "JS = H(m) - (H(p) + H(q))/2"))
    pairs.append((value, js_divergence(q_row, p_row), "JS(p, q) = JS(q, p)"))
    u = [p_row.log_p(j) - q_row.log_p(j) for j in range(C)]
    g = [(_phi(sp.log(2 * _sigma(u[j]))) + _phi(sp.log(2 * _sigma(-u[j])))) / 2 for j in range(C)]
    pairs.append((value, sum(_mid(p_row, q_row, j) * g[j] for j in range(C)), "JS = sum_j m_j g(u_j)"))
    rho = [p_row.log_p(j) - sp.log(_mid(p_row, q_row, j)) for j in range(C)]
    for j in range(C):
        e_j = (a[j] - a[0]) - (b[j] - b[0])
        pairs.append((rho[j] - rho[0], sp.log(1 - (sp.exp(-e_j) - 1) / (sp.exp(u[0]) + sp.exp(-e_j))),
                      f"d_{j} = log1p(-expm1(-g)/(e^u_k + e^-g))"))
    assert_identities_numerically(pairs, "js_divergence: gradients and evaluation forms", points=3)
    x = sp.Symbol("u", real=True)
    s = _sigma(x)
    assert_identity(s * sp.log(2 * s) + (1 - s) * sp.log(2 * (1 - s)), (_phi(sp.log(2 * s)) + _phi(sp.log(2 * (1 - s))))
                    / 2, "g(u) = (phi(r(u)) + phi(r(-u)))/2")
    assert_identity(js_divergence(p_row, Row(a)), 0, "JS(p, p) = 0", logits=a)
    check_limit(s * sp.log(2 * s) + (1 - s) * sp.log(2 * (1 - s)), x, sp.oo, sp.log(2), "g(u) -> log 2 as u -> oo")


def _build(case):
    a, b = case["p_logits"], case["q_logits"]
    unit = 1 if case["base"] is None else sp.log(case["base"])
    losses = np.empty(a.shape[:-1], dtype=object)
    for index in np.ndindex(*a.shape[:-1]):
        losses[index] = js_divergence(Row(a[index]), Row(b[index])) / unit
    return reduce(losses, case["reduction"])


define(
    "js_divergence",
    defaults={"base": None, "reduction": "mean"},
    build=_build,
    formula=lambda: ell(js_divergence(_GenericPair().a, _GenericPair().b), r"\mathrm{JS}(p, q)"),
    gradient_formula=lambda: sp.Tuple(
        partial(js_gradient_p(_GenericPair().a, _GenericPair().b, sp.Symbol("j")), "a_{j}", r"\mathrm{JS}"),
        partial(js_gradient_q(_GenericPair().a, _GenericPair().b, sp.Symbol("j")), "b_{j}", r"\mathrm{JS}")),
    prove=_prove,
)
