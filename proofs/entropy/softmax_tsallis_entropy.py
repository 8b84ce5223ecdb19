r"""``softmax_tsallis_entropy``: the definition and its machine-checked derivation.

**Definition** (Tsallis 1988, Eq. 1, with :math:`k = 1`). For :math:`q > 0`, :math:`q \ne 1`, and
:math:`p = \mathrm{softmax}(z)`,

.. math:: S_q = \frac{1 - \sum_c p_c^q}{q - 1}, \qquad S_1 = \lim_{q \to 1} S_q = -\sum_c p_c \log p_c = H,

the limit being Shannon's entropy (Tsallis's Eq. 2); the definition states :math:`q = 1` as its own branch.
:math:`q = 2` is the Gini-Simpson index :math:`1 - \sum_c p_c^2`. The paper states no default order; refloss's
is :math:`q = 2` (its convention, the member most used as an impurity). Masked classes (:math:`p_c = 0`)
contribute :math:`0^q = 0`; :math:`q \le 0` is outside the domain, since :math:`0^q` is then not 0.

**Gradient.** :math:`\partial p_c / \partial z_j = p_c(\delta_{cj} - p_j)`, so for :math:`q \ne 1`

.. math:: \frac{\partial S_q}{\partial z_j} = -\frac{q}{q-1} \sum_c p_c^{q-1} p_c (\delta_{cj} - p_j)
          = \frac{q}{q-1}\, p_j \Big(\sum_c p_c^q - p_j^{q-1}\Big),

and at :math:`q = 1` Shannon's :math:`-p_j(\log p_j + H)`. Both vanish at equal logits.

**The forms refloss evaluates.** With :math:`t = q - 1`, :math:`l_c = \log p_c` and
:math:`\mathrm{exprel}(x) = (e^x - 1)/x` (1 at 0):

* the value, using :math:`\sum_c p_c = 1`, as a sum of non-negative terms,

  .. math:: S_q = \sum_c p_c\,\frac{1 - p_c^{t}}{t} = \sum_c p_c\,(-l_c)\,\mathrm{exprel}(t\,l_c),

  which is Shannon's :math:`-\sum_c p_c l_c` at :math:`t = 0` and never cancels: :math:`1 - \sum_c p_c^q` loses
  every digit near :math:`q = 1` (at :math:`q = 1 + 10^{-9}` the difference is :math:`10^{-9} H`) and for a
  peaked row (at a logit gap of 40, :math:`\sum_c p_c^2` rounds to 1). Where :math:`t\,l_c > 1`
  (:math:`q < 1`, :math:`p_c` small), :math:`p_c\,e^{t l_c}` would overflow before it is multiplied out;
  there the term is :math:`p_c^q\,(-\mathrm{expm1}(-t\,l_c))/(1 - q)`.
* the gradient, with :math:`M = \frac1t \log \sum_c p_c e^{t z_c}` (a power mean of the logits, the mean
  :math:`r = \sum_c p_c z_c` at :math:`t = 0`): since :math:`\sum_c p_c^q / p_j^{q-1} = e^{t(M - z_j)}`,

  .. math:: \frac{\partial S_q}{\partial z_j} = \frac{q}{t}\, p_j^q\, \mathrm{expm1}\big(t\,(M - z_j)\big)
            = q\, p_j^q\, D_j\, \mathrm{exprel}(t D_j), \qquad D_j = M - z_j = (M - r) - (z_j - r).

  :math:`z_j - r` is Shannon's logit form (``softmax_entropy``: the log-sum-exps cancel exactly, the logits
  measured from their maximum), and :math:`M - r = \frac1t \log\big(1 + t w\big)` with
  :math:`w = \frac1t \sum_c p_c\,(e^{t(z_c - r)} - 1 - t(z_c - r))`, the second form because
  :math:`\sum_c p_c (z_c - r) = 0`: every term of :math:`w` has the sign of :math:`t` (``expm1mx`` is
  non-negative), so nothing cancels, and :math:`M - r = w \cdot \log(1 + tw)/(tw) \to 0` as :math:`t \to 0`.
  Where :math:`t D_j > 1` the product is taken as :math:`\frac{q}{t} e^{q l_j + t D_j}(-\mathrm{expm1}(-t D_j))`,
  whose exponential is at most :math:`p_j` and cannot overflow.

**Checked** (``_prove``): for :math:`C = 3`, the closed form is SymPy's derivative of the definition at a
symbolic :math:`q` and at :math:`q = 1` exactly; the value's and the gradient's evaluation forms equal the
definition; :math:`S_q \to H` as :math:`q \to 1`; :math:`S_2 = 1 - \sum p_c^2`; :math:`S_q = (1 - C^{1-q})/(q-1)` at
equal logits. Stress points: ``softmax_stress`` without targets at :math:`q \in \{10^{-3}, 1/2, 1, 1 + 2^{-40}, 2, 5\}`.
"""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identities_numerically, assert_identity, check_limit, prove_row_gradient
from .._views import GenericRow, Row, logit_symbols, reduce, rows
from ._common import C
from .softmax_entropy import entropy, entropy_gradient

Q = sp.Symbol("q", positive=True)


def _branch(q, shannon, general):
    """Shannon's form at q = 1: decided now for a number (the oracle's exact q), a Piecewise for a symbol."""
    q = sp.sympify(q)
    if q.is_Number:
        return shannon() if q == 1 else general()
    return sp.Piecewise((shannon(), sp.Eq(q, 1)), (general(), True))


def softmax_tsallis_entropy(row, q):
    """(1 - sum_c p_c^q)/(q - 1), and Shannon's -sum_c p_c log p_c at q = 1."""
    return _branch(q, lambda: entropy(row), lambda: (1 - row.sum(lambda c: row.p(c) ** q)) / (q - 1))


def softmax_tsallis_entropy_gradient(row, j, q):
    """The closed form of refloss.softmax_tsallis_entropy_grad: q/(q-1) p_j (sum_c p_c^q - p_j^(q-1))."""
    return _branch(q, lambda: entropy_gradient(row, j),
                   lambda: q / (q - 1) * row.p(j) * (row.sum(lambda c: row.p(c) ** q) - row.p(j) ** (q - 1)))


def _exprel(x):
    return (sp.exp(x) - 1) / x


def _prove():
    domains = {Q: (sp.Rational(1, 8), 3)}
    for q in (Q, 1):
        prove_row_gradient(softmax_tsallis_entropy, softmax_tsallis_entropy_gradient,
                           f"softmax_tsallis_entropy (q = {q})", targets=False, params={"q": q}, domains=domains)
    z = logit_symbols(C)
    row = Row(z)
    t = Q - 1
    value_form = row.sum(lambda c: row.p(c) * (-row.log_p(c)) * _exprel(t * row.log_p(c)))
    r = row.sum(lambda c: row.p(c) * row.z(c))
    w = row.sum(lambda c: row.p(c) * (sp.exp(t * (row.z(c) - r)) - 1 - t * (row.z(c) - r))) / t
    m = r + sp.log(1 + t * w) / t
    pairs = [((1 - row.sum(lambda c: row.p(c) ** Q)) / t, value_form, "value = sum p (-log p) exprel(t log p)")]
    for j in range(C):
        d = m - z[j]
        pairs.append((softmax_tsallis_entropy_gradient(row, j, Q).args[1][0], Q * row.p(j) ** Q * d * _exprel(t * d),
                      f"gradient {j} = q p^q D exprel(t D), D = M - z_{j}"))
        pairs.append((m, sp.log(row.sum(lambda c: row.p(c) * sp.exp(t * row.z(c)))) / t, "M - r from w"))
    assert_identities_numerically(pairs, "softmax_tsallis_entropy's evaluation forms", domains=domains, points=3)
    p = sp.Symbol("p", positive=True)
    two_class = Row([sp.log(p), sp.log(1 - p)])  # p and 1 - p
    check_limit(((1 - p**Q - (1 - p) ** Q) / (Q - 1)).subs(p, sp.Rational(1, 3)), Q, 1,
                sp.simplify(entropy(two_class).subs(p, sp.Rational(1, 3))), "S_q -> H as q -> 1")
    assert_identity(softmax_tsallis_entropy(row, 2), 1 - row.sum(lambda c: row.p(c) ** 2), "S_2 = 1 - sum p^2",
                    logits=z)
    c = sp.Symbol("c", real=True)
    assert_identity(softmax_tsallis_entropy(Row([c] * C), Q).args[1][0], (1 - sp.Integer(C) ** (1 - Q)) / (Q - 1),
                    "equal logits: S_q = (1 - C^(1-q))/(q-1)")


define(
    "softmax_tsallis_entropy",
    # no default order in the paper: q = 2 (the Gini-Simpson index) is refloss's convention, stated in the
    # docstring; the reduction is the family's
    defaults={"q": 2.0, "reduction": "mean"},
    build=lambda case: reduce(rows(case, softmax_tsallis_entropy, target=None, params=("q",)), case["reduction"]),
    formula=lambda: ell(softmax_tsallis_entropy(GenericRow(y=False), sp.Symbol("q")), "S_{q}"),
    gradient_formula=lambda: partial(softmax_tsallis_entropy_gradient(GenericRow(y=False), sp.Symbol("j"),
                                                                      sp.Symbol("q")), of="S_{q}"),
    prove=_prove,
)
