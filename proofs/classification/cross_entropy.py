r"""``cross_entropy``: the definition and its machine-checked derivation.

**Definition** (PyTorch's ``F.cross_entropy``). For a *class target* :math:`y_n`, with
:math:`m_n = [y_n \ne \mathtt{ignore\_index}]`, the smoothed, weighted negative log-likelihood is

.. math:: \ell_n = m_n\Big[(1-\varepsilon)\,w_{y_n}\,(-\log p_{n,y_n})
                   + \frac{\varepsilon}{C}\sum_c w_c\,(-\log p_{n,c})\Big]
          = -\sum_c a_{n,c} \log p_{n,c},
          \qquad a_n = m_n\Big[(1-\varepsilon)\,w_{y_n} e_{y_n} + \frac{\varepsilon}{C}\,w\Big].

The smoothing term weights class :math:`c` by :math:`w_c`, not by :math:`w_{y_n}` (PyTorch's rule). For a
*probability target* :math:`t_n` (a row of the logits' shape) the target is smoothed,
:math:`t'_n = (1-\varepsilon)\,t_n + \varepsilon/C`, and

.. math:: \ell_n = -\sum_c w_c\, t'_{n,c} \log p_{n,c} = -\sum_c a_{n,c} \log p_{n,c},
          \qquad a_n = w \odot \Big((1-\varepsilon)\,t_n + \frac{\varepsilon}{C}\Big).

So every mode is :math:`\ell = -\sum_c a_c \log p_c` with a real coefficient vector :math:`a` that does not
depend on :math:`z`. Nothing below asks :math:`a \ge 0` or :math:`\sum_c t_c = 1`: as in PyTorch, the target
is any real array of the logits' shape (rows that do not sum to 1, negative entries) and the class weights may
be negative. A masked class (:math:`\log p_c = -\infty`) with :math:`a_c \ne 0` makes the loss
:math:`-a_c \log 0`, :math:`+\infty` for :math:`a_c > 0` and :math:`-\infty` for :math:`a_c < 0`; a row, or a
reduction, with both is :math:`\infty - \infty`, undefined.

**Reductions.** ``"none"`` returns :math:`\ell_n` (0 at ignored targets); ``"sum"`` returns
:math:`\sum_n \ell_n`; ``"mean"`` divides that sum by

* :math:`W = \sum_n m_n\, w_{y_n}` for class targets: the total weight of the non-ignored targets, for
  *both* terms, although the smoothing term is weighted by all of :math:`w`. If :math:`W = 0` because every
  kept weight is 0 (or nothing is kept) the mean is :math:`0/0` = ``nan``, as in PyTorch, and its gradient is
  taken as PyTorch's backward computes it: 0. If :math:`W = 0` while a kept weight is not (signed weights
  that cancel) the weighted mean is undefined: refloss raises, and no stress point has it.
* :math:`N`, the number of rows, for probability targets: the weights are not in the denominator, whatever the
  rows sum to, and ``ignore_index`` must stay negative.

The definition's ``build`` applies the same rule, so the oracle checks the denominators too.

**Gradient.** For any coefficients :math:`a` independent of :math:`z`,

.. math:: \frac{\partial \ell}{\partial z_j} = -\sum_c a_c\,(\delta_{cj} - p_j) = p_j \sum_c a_c - a_j ,

times :math:`1/W`, :math:`1/N` or 1 for the reduction. Nothing requires :math:`\sum_c a_c = 1`: weights,
smoothing and unnormalised targets are all covered. Without weights and with :math:`\sum_c t_c = 1`,
:math:`\sum_c a_c = 1` and the gradient is :math:`p - t'`; with :math:`\varepsilon = 0` and a class target it
is :math:`w_y\,(p - e_y)`. Ignored targets have :math:`a_n = 0`, hence a zero gradient. With
:math:`\varepsilon = 0` and :math:`w = 1`, :math:`\ell = -\log p_y = \mathrm{LSE}(z) - z_y`.

**Evaluation of the gradient.** Splitting :math:`a_j` off the sum,

.. math:: p_j \sum_c a_c - a_j = p_j \sum_{c \ne j} a_c + a_j\,(p_j - 1)
          = p_j \sum_{c \ne j} a_c + a_j\,\mathrm{expm1}(\log p_j),

two terms that are each accurate to a few ulps: the leave-one-out sums :math:`\sum_{c \ne j} a_c` come from
prefix plus suffix sums (never a total minus one term, which would cancel when :math:`a_j` dominates), and
:math:`p_j - 1` follows the rule above. With a class target and no smoothing one of the two terms is 0, so the
target component :math:`w_y(p_y - 1)` keeps all its digits at any logit gap, where
:math:`p_y \sum_c a_c - a_y` returns 0 at a gap of 40. For signed :math:`a` (negative targets or weights) the
leave-one-out sums and the two terms may cancel, but only as the :math:`a_c` themselves do: the error is a few
ulps of :math:`p_j \sum_{c \ne j} |a_c| + |a_j|(1 - p_j)`, which the condition scale over the targets and
weights holds (:mod:`refloss.tolerance`), while the cancellation of :math:`p_j - 1` stays avoided.

Without class weights, smoothing adds the same :math:`\varepsilon/C` to every :math:`a_c`; that share of the
gradient, :math:`\frac{\varepsilon}{C}(C p_j - 1)`, is evaluated apart, as
:math:`\mathrm{expm1}(z_j - A)` with :math:`A = \log\frac1C\sum_k e^{z_k}
= r + \log\big(1 + \frac1C\sum_k (e^{z_k - r} - 1)\big)` for any :math:`r`
(:func:`refloss.numerics.softmax_over_uniform_minus_1`): its terms cancel near :math:`p_j = 1/C`, and where the
logits are near 0 their rounding is all of the result.

**Stability of the value.** :math:`\log p` comes from the log1p-based log-softmax, and for :math:`a \ge 0`
:math:`\ell` is a sum of non-negative terms :math:`-a_c \log p_c`, so it never cancels; for signed :math:`a`
its terms cancel only as much as the condition scale over the :math:`a_c` allows. Masked classes follow
:math:`0 \log 0 = 0` where :math:`a_c = 0`; a masked class with :math:`a_c \ne 0` (the target itself, or any
class under smoothing with :math:`w_c \ne 0`) gives :math:`\ell = \pm\infty`, whose gradient refloss refuses
to return. A finite logit more than :math:`1.8 \cdot 10^{308}` below its row's maximum has :math:`\log p_c`
beyond the float64 range, so a term (or, with signed :math:`a`, a partial sum) overflows while the loss may
not: such a row is summed again from :math:`\log p / 4` with :math:`a` scaled by powers of two.

**Checked** (``_prove_cross_entropy``): for :math:`C = 3`, each :math:`y`, symbolic real :math:`w` (of any
sign) and :math:`\varepsilon`: PyTorch's form equals :math:`-\sum_c a_c \log p_c`, :math:`\varepsilon = 0`
gives :math:`w_y(\mathrm{LSE} - z_y)`, and :math:`\partial\ell/\partial z_j = p_j\sum_c a_c - a_j`; the
same gradient for probability targets with symbolic real :math:`t` and :math:`w` (no :math:`\sum_c t_c = 1`,
no sign assumed), and its leave-one-out form :math:`p_j \sum_{c \ne j} a_c + a_j (p_j - 1)`; without weights,
for each :math:`y` and symbolic :math:`r`, the form with smoothing's share apart. Stress
points beyond ``softmax_stress``: weights with ``ignore_index=-100`` and :math:`\varepsilon = 0.1` under
``"mean"`` (denominator :math:`W`), :math:`\varepsilon = 10^{-10}`, ``ignore_index`` equal to a valid class,
probability targets (near one-hot, with a zero entry, with weights and :math:`\varepsilon = 0.2` under
``"mean"``), logits near 0 under full smoothing and under :math:`\varepsilon = 0.999` with probability
targets; real targets that are not probabilities (rows summing to 0.3 and 2.5, negative entries, a row
summing to 0, rows of zeros, with smoothing and signed weights under ``"mean"``, zero on masked classes, and
rows whose log-probabilities pass the float64 range); signed class weights under ``"mean"`` (:math:`W = 3`,
and :math:`W = -0.25` with ``ignore_index`` and smoothing) and on masked rows.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import GenericRow, Row, logit_symbols, reduce
from ._common import EPS, UNIT, C


def _weight(row):
    return row.w if "w" in getattr(row, "extra", {}) or isinstance(row, GenericRow) else (lambda c: sp.S.One)


def ce_class_target(row, eps):
    """PyTorch's smoothed, weighted NLL: (1-eps) w_y (-log p_y) + (eps/C) sum_c w_c (-log p_c)."""
    w = _weight(row)
    nll = (1 - eps) * w(row.y) * -row.log_p(row.y)
    if eps == 0:  # no smoothing term at all, also where a masked class would make it 0 * oo
        return nll
    return nll + eps / row.C * row.sum(lambda c: w(c) * -row.log_p(c))


def ce_coefficients(row, eps):
    """a_c with ell = -sum_c a_c log p_c: class targets a = (1-eps) w_y e_y + (eps/C) w; probability targets
    a = w ((1-eps) t + eps/C)."""
    w = _weight(row)
    if row.y is None:
        return lambda c: w(c) * ((1 - eps) * row.t(c) + eps / row.C)
    return lambda c: (1 - eps) * w(row.y) * row.delta(c, row.y) + eps / row.C * w(c)


def ce_prob_target(row, eps):
    """-sum_c w_c t'_c log p_c with the smoothed target t' = (1-eps) t + eps/C."""
    a = ce_coefficients(row, eps)
    return -row.sum(lambda c: a(c) * row.log_p(c))


def ce_gradient(row, j, eps):
    """The closed form of refloss.cross_entropy_grad: p_j sum_c a_c - a_j."""
    a = ce_coefficients(row, eps)
    return row.p(j) * row.sum(a) - a(j)


def _prove_cross_entropy():
    z = logit_symbols(C)
    w = list(sp.symbols(f"w0:{C}", real=True))  # of any sign: PyTorch accepts negative class weights
    for y in range(C):
        row = Row(z, y, w=w)
        a = ce_coefficients(row, EPS)
        assert_identity(ce_class_target(row, EPS), -sum(a(c) * row.log_p(c) for c in range(C)),
                        f"class target {y}: smoothed weighted NLL = -sum_c a_c log p_c", logits=z, domains={EPS: UNIT})
        assert_identity(ce_class_target(row, 0), w[y] * (row.lse() - z[y]), "eps = 0: w_y (LSE - z_y)", logits=z)
    _prove_signed_row_gradient(ce_class_target, "cross_entropy, class targets", z, w)
    # the evaluation form: p_j sum_{c != j} a_c + a_j (p_j - 1), whose second term keeps the digits of p_j - 1
    row = Row(z, None, w=w, t=list(sp.symbols(f"t0:{C}", real=True)))
    a = ce_coefficients(row, EPS)
    for j in range(C):
        assert_identity(row.p(j) * sum(a(c) for c in range(C) if c != j) + a(j) * (row.p(j) - 1),
                        ce_gradient(row, j, EPS), f"leave-one-out form of d ell / d z_{j}", logits=z,
                        domains={EPS: UNIT})
    # without class weights, smoothing's share (eps / C)(C p_j - 1) apart, as expm1(z_j - A) with
    # A = r + log1p(mean_k expm1(z_k - r)) = log mean_k e^{z_k} for any r (numerics.softmax_over_uniform_minus_1)
    r = sp.Symbol("r", real=True)
    log_mean_exp = r + sp.log(1 + sum(sp.exp(z[k] - r) - 1 for k in range(C)) / C)
    for y in range(C):
        row = Row(z, y)
        for j in range(C):
            targeted = (1 - EPS) * (row.p(j) - 1 if j == y else row.p(j))
            assert_identity(targeted + EPS / C * (sp.exp(z[j] - log_mean_exp) - 1), ce_gradient(row, j, EPS),
                            f"target {y}, no class weights: d ell / d z_{j} with smoothing's share apart", logits=z,
                            domains={EPS: UNIT})
    # probability targets: the closed form holds for any real t and w (no sum(t) = 1, no sign)
    _prove_signed_row_gradient(ce_prob_target, "cross_entropy, probability targets", z, w,
                               t=list(sp.symbols(f"t0:{C}", real=True)))


def _prove_signed_row_gradient(value_fn, what: str, z, w, t=None) -> None:
    """d value_fn(row) / d z_j == ce_gradient(row, j) for every j (and every target y, without ``t``), with real
    symbols for the weights (and the targets ``t``) that may take either sign."""
    for y in ([None] if t is not None else range(C)):
        row = Row(z, y, w=w, **({} if t is None else {"t": t}))
        value = value_fn(row, EPS)
        for j in range(C):
            assert_identity(sp.diff(value, z[j]), ce_gradient(row, j, EPS),
                            f"{what}: d ell / d z_{j}" + ("" if y is None else f" (target {y})"), logits=z,
                            domains={EPS: UNIT})


def _ce_build(case):
    z, target, eps = case["logits"], case["target"], case["label_smoothing"]
    weight = case.get("weight")
    per_class = {} if weight is None else {"w": list(weight)}
    losses = np.empty(z.shape[:-1], dtype=object)
    if isinstance(target, np.ndarray) and target.dtype == object:  # probability targets
        for index in np.ndindex(*z.shape[:-1]):
            losses[index] = ce_prob_target(Row(z[index], None, t=list(target[index]), **per_class), eps)
        return reduce(losses, case["reduction"])  # "mean" divides by the number of rows N
    total_weight = sp.S.Zero
    for index in np.ndindex(*z.shape[:-1]):
        y = int(target[index])
        if y == case["ignore_index"]:
            losses[index] = sp.S.Zero
            continue
        row = Row(z[index], y, **per_class)
        losses[index] = ce_class_target(row, eps)
        total_weight += _weight(row)(y)
    # PyTorch's "mean": divide by the total weight of the non-ignored targets, for both terms.
    return reduce(losses, case["reduction"], total_weight)


define(
    "cross_entropy",
    # the paper's defaults, which the signature must repeat: PyTorch's F.cross_entropy
    defaults={"weight": None, "ignore_index": -100, "label_smoothing": 0.0, "reduction": "mean"},
    build=_ce_build,
    formula=lambda: ell(ce_class_target(GenericRow("w"), EPS)),
    gradient_formula=lambda: partial(ce_gradient(GenericRow("w"), sp.Symbol("j"), EPS)),
    prove=_prove_cross_entropy,
)
