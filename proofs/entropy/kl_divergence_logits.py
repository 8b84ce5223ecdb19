r"""``kl_divergence_logits``: the definition and its machine-checked derivation.

**Definition** (Kullback & Leibler 1951).
:math:`\mathrm{KL}(p\,\|\,q) = \sum_j p_j (\log p_j - \log q_j)` with :math:`p = \mathrm{softmax}(a)`,
:math:`q = \mathrm{softmax}(b)`. In PyTorch this is ``F.kl_div(log_q, log_p, log_target=True,
reduction="batchmean")``: the *input* is the model's :math:`\log q`, the *target* :math:`\log p`.

**Gradient in** :math:`a`. Write :math:`\mathrm{KL} = \sum_i p_i \log p_i - \sum_i p_i \log q_i`; both sums
depend on :math:`a` only through :math:`p`, and :math:`\frac{\partial}{\partial p_i}` of the summand is
:math:`\log p_i - \log q_i + 1`:

.. math:: \frac{\partial\,\mathrm{KL}}{\partial a_j}
          = \sum_i (\log p_i - \log q_i + 1)\, p_i\,(\delta_{ij} - p_j)
          = p_j\,(\log p_j - \log q_j + 1) - p_j\,(\mathrm{KL} + 1)
          = p_j\,(\log p_j - \log q_j - \mathrm{KL}).

**Gradient in** :math:`b`. Only :math:`-\sum_i p_i \log q_i` depends on :math:`b`:

.. math:: \frac{\partial\,\mathrm{KL}}{\partial b_j} = -\sum_i p_i\,(\delta_{ij} - q_j) = q_j - p_j
          \qquad \Big(\sum_i p_i = 1\Big).

At :math:`a = b` (so :math:`p = q`): :math:`\mathrm{KL} = 0` and both gradients vanish.

**Logit differences.** Let :math:`k` be the class most probable under :math:`p` and
:math:`e = (a - a_k) - (b - b_k)`, so :math:`e_k = 0`. Then
:math:`u_j = \log(p_j / q_j) = (a_j - \mathrm{LSE}(a)) - (b_j - \mathrm{LSE}(b)) = e_j - L` with a constant
:math:`L` per row, and :math:`\sum_j p_j = 1` fixes it: :math:`L = \log \sum_c q_c e^{e_c}`. refloss takes
:math:`L = \mathrm{log1p}(\sum_c q_c\,\mathrm{expm1}(e_c))` while that sum is small (:math:`p` close to
:math:`q`, :math:`L` close to 0), else as a log-sum-exp of :math:`\log q + e`; :math:`u = e - L` keeps its
relative accuracy when :math:`p` is close to :math:`q`, where :math:`\log p_j - \log q_j` of two log-softmaxes
would be rounding noise.

**Evaluation of the gradients.** Since :math:`\mathrm{KL} = \sum_c p_c u_c = \sum_c p_c e_c - L`,

.. math:: \frac{\partial\,\mathrm{KL}}{\partial a_j} = p_j\,\Big(e_j - \sum_c p_c e_c\Big),

free of :math:`L`; when :math:`p` is peaked on :math:`k`, :math:`\log p_j - \log q_j - \mathrm{KL}` subtracts two
numbers close to :math:`\log p_k - \log q_k`, while :math:`e_k - \sum_c p_c e_c = -\sum_{c \ne k} p_c e_c` does
not. The gradient in :math:`b` is

.. math:: q_j - p_j = -q_j\,(e^{u_j} - 1) = -q_j\,\mathrm{expm1}(u_j)

where :math:`|u_j| < 1` (two close probabilities are not subtracted), and :math:`q_j - p_j` as written
elsewhere (there :math:`p_j/q_j \notin (e^{-1}, e)`, so at most a small factor cancels).

**Evaluation of the value.** With :math:`q_j e^{u_j} = p_j` and :math:`\sum_j p_j = \sum_j q_j = 1`,

.. math:: \mathrm{KL} = \sum_j p_j u_j = \sum_j q_j\,\big(1 + u_j e^{u_j} - e^{u_j}\big)
          = \sum_j q_j\,\varphi(u_j), \qquad \varphi(u) = 1 + (u - 1)e^u \ge 0,

since :math:`\varphi(0) = 0` and :math:`\varphi'(u) = u e^u` changes sign at 0 only. A sum of non-negative
terms, so the divergence of two nearly equal distributions
(:math:`\mathrm{KL} \approx \tfrac12 \sum_j q_j u_j^2`) keeps its digits, where the definition's sum of terms
of both signs returns rounding noise. Each term is :math:`q_j\,\varphi(u_j)` with
:math:`\varphi(u) = \sum_{k \ge 2} (k - 1) u^k / k!` (Horner, 19 terms) for :math:`|u| < 1`,
:math:`q_j + (u_j - 1)p_j` elsewhere (no :math:`0 \cdot \infty` where :math:`q_j`
underflows), and :math:`q_j` where :math:`p_j = 0` (:math:`\varphi(-\infty) = 1`).

**Edge cases.**

* :math:`p_j = 0` (``p_logits`` masked at :math:`j`): :math:`\lim_{p\to 0^+} p\log(p/q) = 0` for every
  :math:`q > 0`, and also when :math:`q_j = 0` (:math:`0\log(0/0) = 0` by convention), so the term is 0. Its
  gradients are :math:`\partial/\partial a_j = 0` and :math:`\partial/\partial b_j = q_j`.
* :math:`q_j = 0` where :math:`p_j > 0`: :math:`\lim_{q\to 0^+} p\log(p/q) = +\infty`. The divergence is
  ``+inf`` and its gradient is undefined; refloss raises rather than return one.

**Checked** (``_prove_kl``): for :math:`C = 3`, both closed-form gradients are the definition's derivatives;
:math:`\mathrm{KL}(p\,\|\,p) = 0`; the limits :math:`p\log(p/q) \to 0` as :math:`p \to 0^+` and :math:`\to
+\infty` as :math:`q \to 0^+`; and the evaluation forms: :math:`\log p_j - \log q_j - \mathrm{KL} = e_j - \sum_c
p_c e_c`, :math:`q_j - p_j = -q_j\,\mathrm{expm1}(u_j)`, :math:`\mathrm{KL} = \sum_j q_j \varphi(u_j)`, and the
Taylor series of :math:`\varphi` to its first omitted term. The oracle checks the value and every component of
both gradients that refloss returns, at the stress points: peaked :math:`p` against uniform :math:`q` and the
reverse, both peaked, near ties, masks (in :math:`p` where :math:`q` is not, and in both at the same class), and
``"mean"``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity, check_limit
from .._views import GenericRow, Row, logit_symbols, reduce
from ._common import C


def kl(p_row, q_row):
    """sum_j p_j (log p_j - log q_j); a class p does not reach contributes 0 log(0 / q_j) = 0."""
    return p_row.sum(lambda j: p_row.p(j) * (p_row.log_p(j) - q_row.log_p(j)))


def kl_gradient_p(p_row, q_row, j):
    """d KL / d a_j = p_j (log p_j - log q_j - KL), the closed form of refloss.kl_divergence_logits_grad."""
    return p_row.p(j) * (p_row.log_p(j) - q_row.log_p(j) - kl(p_row, q_row))


def kl_gradient_q(p_row, q_row, j):
    """d KL / d b_j = q_j - p_j."""
    return q_row.p(j) - p_row.p(j)


class _Pair:
    """Two rows side by side, for proofs that differentiate by either."""

    def __init__(self, a, b):
        self.a, self.b = Row(a), Row(b)


def _prove_kl():
    a, b = logit_symbols(C, "a"), logit_symbols(C, "b")
    pair = _Pair(a, b)
    value = kl(pair.a, pair.b)
    for j in range(C):
        assert_identity(sp.diff(value, a[j]), kl_gradient_p(pair.a, pair.b, j), f"d KL / d a_{j}", logits=a + b)
        assert_identity(sp.diff(value, b[j]), kl_gradient_q(pair.a, pair.b, j), f"d KL / d b_{j}", logits=a + b)
    same = dict(zip(b, a))
    assert_identity(value.xreplace(same), 0, "KL(p || p) = 0", logits=a)
    # The evaluation forms of refloss.kl_divergence_logits(_grad), with k = 0 as the reference class.
    p_row, q_row = pair.a, pair.b
    e = [(a[j] - a[0]) - (b[j] - b[0]) for j in range(C)]
    u = [p_row.log_p(j) - q_row.log_p(j) for j in range(C)]
    phi = [1 + (u[j] - 1) * sp.exp(u[j]) for j in range(C)]
    assert_identity(sum(q_row.p(j) * phi[j] for j in range(C)), value, "KL = sum_j q_j phi(u_j)", logits=a + b)
    for j in range(C):
        assert_identity(e[j] - sum(p_row.p(c) * e[c] for c in range(C)), u[j] - value,
                        f"log p_{j} - log q_{j} - KL = e_{j} - sum_c p_c e_c", logits=a + b)
        assert_identity(-q_row.p(j) * (sp.exp(u[j]) - 1), kl_gradient_q(p_row, q_row, j),
                        f"q_{j} - p_{j} = -q_{j} expm1(u_{j})", logits=a + b)
        # the terms of L = log1p(S) (refloss.info.entropy._common._close_log_ratio)
        assert_identity(q_row.p(j) * sp.exp(e[j]), p_row.p(j) * q_row.p(0) / p_row.p(0),
                        f"q_{j} e^(e_{j}) = p_{j} q_k / p_k", logits=a + b)
    assert_identity(sp.log(1 + sum(q_row.p(j) * (sp.exp(e[j]) - 1) for j in range(C))),
                    q_row.log_p(0) - p_row.log_p(0), "log1p(sum_c q_c expm1(e_c)) = log q_k - log p_k", logits=a + b)
    t = sp.Symbol("u", real=True)
    series = sum((k - 1) * t**k / sp.factorial(k) for k in range(2, 21))
    assert_identity(sp.series(1 + (t - 1) * sp.exp(t), t, 0, 21).removeO(), series, "phi's Taylor series to u^20")
    pj, qj = sp.symbols("p q", positive=True)
    check_limit(pj * sp.log(pj / qj), pj, 0, 0, "p log(p / q) as p -> 0+")
    check_limit(pj * sp.log(pj / qj), qj, 0, sp.oo, "p log(p / q) as q -> 0+")


def _kl_build(case):
    a, b = case["p_logits"], case["q_logits"]
    unit = 1 if case["base"] is None else sp.log(case["base"])  # nats, or the base's unit (SciPy's base)
    losses = np.empty(a.shape[:-1], dtype=object)
    for index in np.ndindex(*a.shape[:-1]):
        losses[index] = kl(Row(a[index]), Row(b[index])) / unit
    return reduce(losses, case["reduction"])


class _GenericPair:
    def __init__(self):
        self.a, self.b = GenericRow(y=False), GenericRow(y=False)
        self.b._p = sp.IndexedBase("q")


define(
    "kl_divergence_logits",
    # the paper's defaults, which the signature must repeat: nats (base None), refloss's reduction convention
    defaults={"base": None, "reduction": "mean"},
    build=_kl_build,
    formula=lambda: ell(kl(_GenericPair().a, _GenericPair().b), r"\mathrm{KL}(p \| q)"),
    gradient_formula=lambda: sp.Tuple(
        partial(kl_gradient_p(_GenericPair().a, _GenericPair().b, sp.Symbol("j")), "a_{j}", r"\mathrm{KL}"),
        partial(kl_gradient_q(_GenericPair().a, _GenericPair().b, sp.Symbol("j")), "b_{j}", r"\mathrm{KL}")),
    prove=_prove_kl,
)
