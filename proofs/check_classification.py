r"""Classification losses, cross-entropy, BCE, focal losses and Poly-1: definitions and machine-checked derivations.

Run the proofs with ``python -m refloss.proofs prove cross_entropy binary_cross_entropy_with_logits focal_loss
sigmoid_focal_loss poly1_loss``.

Notation (as in ``refloss/losses/classification.py``): logits :math:`z \in \mathbb{R}^C` (class axis last),
:math:`\log p = \mathrm{log\_softmax}(z)`, class weights :math:`w`, label smoothing :math:`\varepsilon`, the true
class :math:`y`, its one-hot vector :math:`e_y`. For binary losses, :math:`x` is a logit,
:math:`\sigma(x) = 1/(1 + e^{-x})` and :math:`\mathrm{softplus}(x) = \log(1 + e^x)`.

Every objective below is defined from its paper in terms of probabilities (softmax and sigmoid as quotients
of exponentials), never from refloss's evaluation formulas; every ``*_gradient`` function is the closed
form that the registered gradient implements, proved equal to SymPy's derivative of the definition.

**How this module is checked.** The symbolic proofs are the ``_prove_*`` functions, listed per object
below. Numerically, refloss's float64 value and every gradient component are checked generically, not
here: against the oracle of the definition (mpmath at the precision the definition needs, SymPy's
derivative of it, the condition scale of each element) at the entry's stress points and on drawn inputs,
under the one tolerance policy of :mod:`refloss.tolerance` (``refloss audit``). The softmax losses' stress
points are ``refloss._cases.softmax_stress`` (logit gaps of 15 to 80 with the target on the dominant class
and off it, ties, ``-inf`` masks, one dominant class, one class), over the parameter values each entry
lists; the binary losses' are logits from :math:`-80` to :math:`80` (and :math:`\pm 10^{-9}`) with hard and soft
labels.

One fact is used throughout: since :math:`\log p_c = z_c - \mathrm{LSE}(z)` (see ``check_softmax.py``),

.. math:: \frac{\partial \log p_c}{\partial z_j} = \delta_{cj} - p_j,
          \qquad
          \frac{\partial p_c}{\partial z_j} = p_c\,(\delta_{cj} - p_j).

And one evaluation rule: a component :math:`p_y - 1` is computed as :math:`\mathrm{expm1}(\log p_y)`, never by
subtraction. At a logit gap of 40 it is about :math:`-4.25\cdot 10^{-18}`; :math:`p_y` rounds to 1 and
``p_y - 1`` returns 0, while :math:`\log p_y` (from the log1p-based log-softmax) holds it to full relative
accuracy.

.. rubric:: cross_entropy

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

So every mode is :math:`\ell = -\sum_c a_c \log p_c` with a coefficient vector :math:`a \ge 0` that does not
depend on :math:`z`.

**Reductions.** ``"none"`` returns :math:`\ell_n` (0 at ignored targets); ``"sum"`` returns
:math:`\sum_n \ell_n`; ``"mean"`` divides that sum by

* :math:`W = \sum_n m_n\, w_{y_n}` for class targets: the total weight of the non-ignored targets, for
  *both* terms, although the smoothing term is weighted by all of :math:`w`. If :math:`W = 0` the mean is
  :math:`0/0` = ``nan``, as in PyTorch, and its gradient is taken as PyTorch's backward computes it: 0.
* :math:`N`, the number of rows, for probability targets: the weights are not in the denominator, and
  ``ignore_index`` must stay negative.

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

two terms that are each accurate to a few ulps: the leave-one-out sums :math:`\sum_{c \ne j} a_c` of
non-negative terms come from prefix plus suffix sums (never a total minus one term, which would cancel when
:math:`a_j` dominates), and :math:`p_j - 1` follows the rule above. With a class target and no smoothing one
of the two terms is 0, so the target component :math:`w_y(p_y - 1)` keeps all its digits at any logit gap,
where :math:`p_y \sum_c a_c - a_y` returns 0 at a gap of 40.

Without class weights, smoothing adds the same :math:`\varepsilon/C` to every :math:`a_c`; that share of the
gradient, :math:`\frac{\varepsilon}{C}(C p_j - 1)`, is evaluated apart, as
:math:`\mathrm{expm1}(z_j - A)` with :math:`A = \log\frac1C\sum_k e^{z_k}
= r + \log\big(1 + \frac1C\sum_k (e^{z_k - r} - 1)\big)` for any :math:`r`
(:func:`refloss.numerics.softmax_over_uniform_minus_1`): its terms cancel near :math:`p_j = 1/C`, and where the
logits are near 0 their rounding is all of the result.

**Stability of the value.** :math:`\log p` comes from the log1p-based log-softmax, and :math:`\ell` is a sum
of non-negative terms :math:`-a_c \log p_c`, so it never cancels. Masked classes follow
:math:`0 \log 0 = 0` where :math:`a_c = 0`; a masked class with :math:`a_c > 0` (the target itself, or any
class under smoothing with :math:`w_c > 0`) gives :math:`\ell = +\infty`, whose gradient refloss refuses to
return.

**Checked** (``_prove_cross_entropy``): for :math:`C = 3`, each :math:`y`, symbolic :math:`w` and
:math:`\varepsilon`: PyTorch's form equals :math:`-\sum_c a_c \log p_c`, :math:`\varepsilon = 0` gives
:math:`w_y(\mathrm{LSE} - z_y)`, and :math:`\partial\ell/\partial z_j = p_j\sum_c a_c - a_j`; the same
gradient for probability targets with symbolic :math:`t` (no :math:`\sum_c t_c = 1` assumed), and its
leave-one-out form :math:`p_j \sum_{c \ne j} a_c + a_j (p_j - 1)`; without weights, for each :math:`y` and
symbolic :math:`r`, the form with smoothing's share apart. Stress
points beyond ``softmax_stress``: weights with ``ignore_index=-100`` and :math:`\varepsilon = 0.1` under
``"mean"`` (denominator :math:`W`), :math:`\varepsilon = 10^{-10}`, ``ignore_index`` equal to a valid class,
probability targets (near one-hot, with a zero entry, with weights and :math:`\varepsilon = 0.2` under
``"mean"``), and logits near 0 under full smoothing and under :math:`\varepsilon = 0.999` with probability
targets.

.. rubric:: binary_cross_entropy_with_logits

**Definition** (PyTorch's ``F.binary_cross_entropy_with_logits``), elementwise, with labels
:math:`y \in [0, 1]` (soft labels allowed), ``weight`` :math:`w` and ``pos_weight`` :math:`\rho` (which
weights the positive term only):

.. math:: \ell = -w\,\big[\rho\, y \log \sigma(x) + (1-y) \log(1 - \sigma(x))\big].

**Stable form.** :math:`-\log\sigma(x) = \log(1 + e^{-x}) = \mathrm{softplus}(-x)` and
:math:`-\log(1 - \sigma(x)) = \mathrm{softplus}(x)`, so

.. math:: \ell = w\,\big[\rho\, y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)\big],

a sum of two non-negative terms. PyTorch's equal form
:math:`(1-y)\,x + (1 + (\rho-1)\,y)\,\mathrm{softplus}(-x)` (from
:math:`\mathrm{softplus}(x) = x + \mathrm{softplus}(-x)`) cancels for large negative :math:`x` with
:math:`y = 0`, where :math:`x + \mathrm{softplus}(-x) \approx e^{x}` is the difference of two numbers of size
:math:`|x|`.

**Gradient.** :math:`\frac{d}{dx}\log\sigma(x) = 1 - \sigma(x) = \sigma(-x)` and
:math:`\frac{d}{dx}\log(1 - \sigma(x)) = -\sigma(x)`, so

.. math:: \frac{\partial \ell}{\partial x} = w\,\big[(1-y)\,\sigma(x) - \rho\, y\, \sigma(-x)\big]
          = w\,\big[\sigma(x)\,(1 + (\rho-1)\,y) - \rho\, y\big].

refloss evaluates the first form, with :math:`\sigma(\pm x)` from ``expit``: for :math:`y = 1` and large
:math:`x` it is :math:`-w\rho\,\sigma(-x)`, tiny and accurate, where the second subtracts :math:`\rho` from
:math:`\rho\,\sigma(x) \approx \rho`. ``"mean"`` divides by the number of elements (weights are not in the
denominator).

**Checked** (``_prove_bce``): the gradient, the softplus form and PyTorch's form are the definition's
derivative and the definition itself, for symbolic :math:`x, y, w, \rho`. Stress points: hard positive,
hard negative and soft labels at logits from :math:`-80` to :math:`80`, and broadcast ``weight`` and
``pos_weight`` under ``"mean"``.

.. rubric:: focal_loss

**Definition** (Lin et al. 2017, Eq. 5, softmax form). With :math:`q = 1 - p_y`,

.. math:: \ell = -\alpha_y\, q^{\gamma} \log p_y ,

where :math:`\alpha_y` is the per-class ``alpha`` gathered at the target (a scalar ``alpha`` multiplies every
class alike; ``None`` means 1). ``"mean"`` divides by the number of elements, not by the alphas.
:math:`\gamma = 0` with :math:`\alpha_y = 1` is cross-entropy.

**Gradient.** From the fact above, :math:`\partial \log p_y/\partial z = e_y - p` and
:math:`\partial q/\partial z = -\partial p_y/\partial z = p_y\,(p - e_y)`. The product rule gives

.. math:: \frac{\partial \ell}{\partial z}
          = -\alpha_y\Big[\gamma\, q^{\gamma-1}\, p_y\,(p - e_y)\,\log p_y + q^{\gamma}\,(e_y - p)\Big]
          = \alpha_y\, q^{\gamma}\Big(1 - \gamma\, p_y\,\frac{\log p_y}{q}\Big)(p - e_y).

The gradient points along the cross-entropy gradient :math:`p - e_y`. Since :math:`-\log p \le 1/p - 1` (from
:math:`\log u \le u - 1`), :math:`0 < -p_y \log p_y / q \le 1`, so the factor lies between
:math:`\alpha_y q^\gamma` and :math:`\alpha_y q^\gamma (1 + \gamma)`.

**Stability.**

* :math:`q` is computed as :math:`-\mathrm{expm1}(\log p_y)`. Near :math:`p_y = 1`, ``1 - p_y`` loses all
  relative accuracy (its absolute error is an ulp of 1, :math:`1.1\cdot 10^{-16}`): at
  :math:`z = (30, 0, -2)`, :math:`y = 0`, :math:`q \approx 10^{-13}` and the loss would be off by about
  :math:`10^{-4}` relative. The target component of :math:`p - e_y` is :math:`p_y - 1 =
  \mathrm{expm1}(\log p_y)` by the rule above; the others are :math:`p_j = \exp(\log p_j)`.
* The naive derivative has :math:`q^{\gamma-1}`, which for :math:`\gamma < 1` overflows as :math:`q \to 0`
  (and is :math:`0^{\gamma-1} = \infty` times 0 when :math:`p_y` rounds to 1). The factored form only needs
  :math:`q^\gamma` and the ratio :math:`\log p_y / q`, which has a finite limit: by l'Hôpital,

  .. math:: \lim_{p \to 1^-} \frac{\log p}{1 - p} = \lim_{p \to 1^-} \frac{1/p}{-1} = -1 .

  refloss uses :math:`-1` where :math:`q = 0` in floating point, so the factor is
  :math:`\alpha_y\, 0^\gamma (1 + \gamma)`: 0 for :math:`\gamma > 0`, and :math:`\alpha_y` (cross-entropy's
  :math:`p - e_y`) for :math:`\gamma = 0`.

**Checked** (``_prove_focal``): for :math:`C = 3`, each :math:`y`, symbolic :math:`\gamma` and :math:`\alpha`,
the gradient above is the definition's derivative; :math:`\gamma = 0` equals cross-entropy; the limit
:math:`\log p/(1-p) \to -1` as :math:`p \to 1^-` (``sympy.limit``). Stress points: ``softmax_stress`` at
:math:`\gamma \in \{0, 0.5, 2\}`, and a per-class ``alpha`` vector.

.. rubric:: sigmoid_focal_loss

**Definition** (Lin et al. 2017, Sec. 3.1-3.2; ``torchvision.ops.sigmoid_focal_loss``), elementwise, with
:math:`p = \sigma(x)`, :math:`y \in [0, 1]`:

.. math:: \ell = \alpha_t\,(1 - p_t)^{\gamma}\,\mathrm{BCE}(x, y),\quad
          p_t = p\,y + (1-p)(1-y),\quad
          \alpha_t = \alpha\,y + (1-\alpha)(1-y),

with :math:`\mathrm{BCE}(x, y) = y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)`. ``alpha`` weights the
positive term (:math:`y = 1`) and :math:`1 - \alpha` the negative one, as in the paper and torchvision;
``alpha=None`` means :math:`\alpha_t = 1`. With :math:`\gamma = 0` and ``alpha=None`` this is BCE with logits.

**Gradient.** Write :math:`m = 1 - p_t = p\,(1-y) + (1-p)\,y`. With :math:`\sigma' = p(1-p)`,

.. math:: \frac{dm}{dx} = p(1-p)(1-y) - p(1-p)\,y = p(1-p)(1-2y),
          \qquad
          \frac{d\,\mathrm{BCE}}{dx} = p - y,

and :math:`\alpha_t` does not depend on :math:`x`, so

.. math:: \frac{\partial \ell}{\partial x}
          = \alpha_t\Big[\gamma\, m^{\gamma-1}\, p(1-p)(1-2y)\,\mathrm{BCE} + m^{\gamma}\,(p - y)\Big]
          = \alpha_t\, m^{\gamma}\Big[(p - y) + \gamma\,\mathrm{BCE}\,(1-2y)\,\frac{p(1-p)}{m}\Big].

**Why the ratio is safe.** Expanding,

.. math:: m - p(1-p) = (p - y)^2 + y(1-y) \ \ge 0 \quad\text{for } y \in [0, 1],

so :math:`0 \le p(1-p)/m \le 1`. :math:`m \to 0` only for hard labels (:math:`y = 1`, :math:`p \to 1` or
:math:`y = 0`, :math:`p \to 0`), and there the ratio is :math:`p` resp. :math:`1 - p`, which tends to 1.
refloss uses 1 where :math:`m = 0` in floating point; no negative power of :math:`m` is ever formed.
:math:`p` and :math:`1 - p` are both taken as :math:`\sigma(\pm x)`, so neither is a difference of numbers near
1; :math:`m = p(1-y) + (1-p)y` adds two non-negative terms, and :math:`p - y` is taken as
:math:`(1-y)\,p - y\,(1-p)`, exact for hard labels.

**Checked** (``_prove_sigmoid_focal``): the gradient is the definition's derivative, :math:`\gamma = 0` with
``alpha=None`` is BCE, the identity :math:`m - p(1-p) = (p-y)^2 + y(1-y)` (symbolic
:math:`x, y, \alpha, \gamma`), and the limits of :math:`p(1-p)/m` as :math:`x \to \pm\infty` for
:math:`y = 1`, :math:`y = 0`. Stress points: the binary ones without weights at :math:`\gamma \in \{0.5, 2\}`,
among them confident correct predictions :math:`x = \pm 40`, where :math:`m \approx 4\cdot 10^{-18}`.

.. rubric:: poly1_loss

**Definition** (Leng et al. 2022, PolyLoss, Poly-1). Cross-entropy expands as
:math:`-\log p_y = \sum_{j \ge 1} (1 - p_y)^j / j`; Poly-1 perturbs the leading coefficient by
:math:`\varepsilon` (``epsilon``):

.. math:: \ell = -\log p_y + \varepsilon\,(1 - p_y).

:math:`\varepsilon = 0` is cross-entropy. The domain :math:`\varepsilon \ge -1` is refloss's convention (it
keeps the coefficient :math:`1 + \varepsilon` of :math:`1 - p_y` non-negative; see the docstring of
:func:`refloss.poly1_loss`). ``"mean"`` divides by the number of elements.

**Gradient.** :math:`\partial(-\log p_y)/\partial z_j = p_j - \delta_{jy}` and
:math:`\partial(1 - p_y)/\partial z_j = -p_y(\delta_{jy} - p_j) = p_y\,(p_j - \delta_{jy})`, so

.. math:: \frac{\partial \ell}{\partial z_j} = (1 + \varepsilon\, p_y)\,(p_j - \delta_{jy}),

cross-entropy's gradient scaled by :math:`1 + \varepsilon p_y \ge 0`.

**Evaluation.** With :math:`s = \log p_y \le 0`, the value is a sum of two non-negative terms on each side of
:math:`\varepsilon = 0`:

.. math:: \ell = -s + \varepsilon\,\big(-\mathrm{expm1}(s)\big) \quad (\varepsilon \ge 0),
          \qquad
          \ell = (1 + \varepsilon)(-s) + (-\varepsilon)\,(e^s - 1 - s) \quad (-1 \le \varepsilon < 0),

with :math:`e^s - 1 - s` from ``refloss.numerics.expm1mx`` (a series near 0). The second form is the first
rearranged: :math:`(1+\varepsilon)(-s) - \varepsilon(e^s - 1 - s) = -s + \varepsilon(1 - e^s)`. At
:math:`\varepsilon = -1` the loss is :math:`e^s - 1 - s \approx s^2/2`, of second order in :math:`1 - p_y`, and
``-log p + eps (1 - p)`` as written loses every digit of it at a logit gap of 40. In the gradient the factor
:math:`1 + \varepsilon p_y` is :math:`1 + \varepsilon e^s` for :math:`\varepsilon \ge 0` and
:math:`(1 + \varepsilon) + (-\varepsilon)(1 - p_y)` for :math:`\varepsilon < 0` (two non-negative terms,
:math:`1 - p_y = -\mathrm{expm1}(s)`); the target component :math:`p_y - 1` is :math:`\mathrm{expm1}(s)`.

**Edge cases.** A masked target (:math:`s = -\infty`) gives :math:`\ell = +\infty`, whose gradient refloss
refuses to return; masked non-target classes have :math:`p_j = 0` and a zero gradient.

**Checked** (``_prove_poly1``): for :math:`C = 3`, each :math:`y` and symbolic :math:`\varepsilon`, the
gradient above is the definition's derivative; :math:`\varepsilon = 0` is cross-entropy; the
:math:`\varepsilon < 0` evaluation form equals the loss (in :math:`s`); and
:math:`(-\log(1-t) - t)/t^2 \to 1/2` as :math:`t \to 0`, the second-order behaviour at
:math:`\varepsilon = -1`. Stress points: ``softmax_stress`` at :math:`\varepsilon \in \{-1, -0.5, 0, 1, 2\}`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ._definitions import define, ell, partial
from ._tactics import assert_identity, check_limit, prove_row_gradient
from ._views import BinaryRow, GenericRow, Row, elementwise, logit_symbols, reduce, rows, sigmoid

C = 3  # classes in the symbolic proofs; the algebra does not depend on C
UNIT = (0, 1)  # sampling interval for labels, smoothing and alpha if an identity falls back to points
EPS = sp.Symbol("varepsilon", nonnegative=True)

# -- cross_entropy -----------------------------------------------------------------------------------------


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
    w = list(sp.symbols(f"w0:{C}", positive=True))
    for y in range(C):
        row = Row(z, y, w=w)
        a = ce_coefficients(row, EPS)
        assert_identity(ce_class_target(row, EPS), -sum(a(c) * row.log_p(c) for c in range(C)),
                        f"class target {y}: smoothed weighted NLL = -sum_c a_c log p_c", logits=z, domains={EPS: UNIT})
        assert_identity(ce_class_target(row, 0), w[y] * (row.lse() - z[y]), "eps = 0: w_y (LSE - z_y)", logits=z)
    prove_row_gradient(ce_class_target, ce_gradient, "cross_entropy, class targets", per_class=("w",),
                       params={"eps": EPS}, domains={EPS: UNIT})
    # the evaluation form: p_j sum_{c != j} a_c + a_j (p_j - 1), two terms that do not cancel each other's digits
    row = Row(z, None, w=w, t=list(sp.symbols(f"t0:{C}", positive=True)))
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
    # probability targets: the closed form holds without sum(t) = 1
    prove_row_gradient(ce_prob_target, ce_gradient, "cross_entropy, probability targets", targets=False,
                       per_class=("w", "t"), params={"eps": EPS}, domains={EPS: UNIT})


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

# -- binary_cross_entropy_with_logits --------------------------------------------------------------------


def bce(e, w=1, rho=1):
    """-w [rho y log sigma(x) + (1-y) log(1 - sigma(x))], with 1 - sigma(x) written sigma(-x) (the same
    number, and one mpmath can evaluate at x = 1.7e308, where 1 - sigma(x) needs 1e308 digits)."""
    return -w * (rho * e.y * sp.log(e.sigma(e.x)) + (1 - e.y) * sp.log(e.sigma(-e.x)))


def bce_gradient(e, w=1, rho=1):
    """The closed form of refloss.binary_cross_entropy_with_logits_grad."""
    return w * ((1 - e.y) * e.sigma(e.x) - rho * e.y * e.sigma(-e.x))


def _bce_element(e):
    return bce(e, getattr(e, "w", 1), getattr(e, "rho", 1))


def _prove_bce():
    x, y = sp.symbols("x y", real=True)
    w, rho = sp.symbols("w rho", positive=True)
    e = BinaryRow(x, y)
    domains = {y: UNIT}
    assert_identity(sp.diff(bce(e, w, rho), x), bce_gradient(e, w, rho), "d ell / d x", logits=[x], domains=domains)

    def softplus(v):
        return sp.log(1 + sp.exp(v))

    # refloss's sum of two non-negative terms, and PyTorch's form, are the same function.
    assert_identity(w * (rho * y * softplus(-x) + (1 - y) * softplus(x)), bce(e, w, rho), "softplus form",
                    logits=[x], domains=domains)
    assert_identity(w * ((1 - y) * x + (1 + (rho - 1) * y) * softplus(-x)), bce(e, w, rho), "PyTorch's form",
                    logits=[x], domains=domains)


def _bce_build(case):
    renamed = {**case, "w": case.get("weight"), "rho": case.get("pos_weight")}
    return reduce(elementwise(renamed, _bce_element, arrays=("w", "rho")), case["reduction"])


_BINARY = BinaryRow(sp.Symbol("x"), sp.Symbol("y"), generic=True)
define(
    "binary_cross_entropy_with_logits",
    # the paper's defaults, which the signature must repeat: PyTorch's F.binary_cross_entropy_with_logits
    defaults={"weight": None, "pos_weight": None, "reduction": "mean"},
    build=_bce_build,
    formula=lambda: ell(bce(_BINARY, sp.Symbol("w"), sp.Symbol("rho"))),
    gradient_formula=lambda: partial(bce_gradient(_BINARY, sp.Symbol("w"), sp.Symbol("rho")), "x"),
    prove=_prove_bce,
)

# -- focal_loss ------------------------------------------------------------------------------------------


def focal(row, gamma, alpha=1):
    """-alpha_y (1 - p_y)^gamma log p_y (alpha_y: the per-class alpha at the target, a scalar, or 1)."""
    return -alpha * (1 - row.p(row.y)) ** gamma * row.log_p(row.y)


def focal_gradient(row, j, gamma, alpha=1):
    """The closed form of refloss.focal_loss_grad."""
    p_y = row.p(row.y)
    q = 1 - p_y
    return alpha * q**gamma * (1 - gamma * p_y * row.log_p(row.y) / q) * (row.p(j) - row.delta(j, row.y))


def _prove_focal():
    gamma, alpha = sp.symbols("gamma alpha", positive=True)
    prove_row_gradient(focal, focal_gradient, "focal_loss", params={"gamma": gamma, "alpha": alpha})
    z = logit_symbols(C)
    for y in range(C):
        row = Row(z, y)
        assert_identity(focal(row, 0), ce_class_target(row, 0), "gamma = 0 is cross-entropy", logits=z)
    # The factor's only singular-looking piece, log(p_y) / q, has a finite limit as p_y -> 1 (q -> 0).
    p_y = sp.Symbol("p_y", positive=True)
    check_limit(sp.log(p_y) / (1 - p_y), p_y, 1, -1, "log p_y / (1 - p_y) as p_y -> 1", direction="-")


def _focal_build(case):
    z, target, alpha = case["logits"], case["target"], case.get("alpha")
    losses = np.empty(z.shape[:-1], dtype=object)
    for index in np.ndindex(*z.shape[:-1]):
        y = int(target[index])
        if alpha is None:
            a = 1
        elif isinstance(alpha, np.ndarray) and alpha.ndim == 1:
            a = alpha[y]  # per-class alpha gathered at the target
        else:
            a = alpha  # a scalar multiplies every class alike
        losses[index] = focal(Row(z[index], y), case["gamma"], a)
    return reduce(losses, case["reduction"])


define(
    "focal_loss",
    # the paper's defaults, which the signature must repeat: Lin et al.'s gamma = 2 (their best setting, Sec. 5.1); no
    # alpha weighting
    defaults={"gamma": 2.0, "alpha": None, "reduction": "mean"},
    build=_focal_build,
    formula=lambda: ell(focal(GenericRow(), sp.Symbol("gamma"), sp.IndexedBase("alpha")[sp.Symbol("y")])),
    gradient_formula=lambda: partial(focal_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("gamma"),
                                                    sp.IndexedBase("alpha")[sp.Symbol("y")])),
    prove=_prove_focal,
)

# -- sigmoid_focal_loss -----------------------------------------------------------------------------------


def sigmoid_focal(e, gamma, alpha=None):
    """alpha_t (1 - p_t)^gamma BCE(x, y), p_t = p y + (1 - p)(1 - y); alpha=None means alpha_t = 1.

    1 - p_t = (1 - p) y + p (1 - y) is written with 1 - p = sigma(-x), as in bce."""
    one_minus_p_t = e.sigma(-e.x) * e.y + e.sigma(e.x) * (1 - e.y)
    alpha_t = 1 if alpha is None else alpha * e.y + (1 - alpha) * (1 - e.y)
    return alpha_t * one_minus_p_t**gamma * bce(e)


def sigmoid_focal_gradient(e, gamma, alpha=None):
    """The closed form of refloss.sigmoid_focal_loss_grad, with m = 1 - p_t."""
    p = e.sigma(e.x)
    m = p * (1 - e.y) + (1 - p) * e.y
    alpha_t = 1 if alpha is None else alpha * e.y + (1 - alpha) * (1 - e.y)
    return alpha_t * m**gamma * ((p - e.y) + gamma * bce(e) * (1 - 2 * e.y) * p * (1 - p) / m)


def _prove_sigmoid_focal():
    x, y, alpha = sp.symbols("x y alpha", real=True)
    gamma = sp.Symbol("gamma", positive=True)
    e = BinaryRow(x, y)
    domains = {y: UNIT, alpha: UNIT}
    assert_identity(sp.diff(sigmoid_focal(e, gamma, alpha), x), sigmoid_focal_gradient(e, gamma, alpha),
                    "d ell / d x", logits=[x], domains=domains)
    assert_identity(sigmoid_focal(e, 0), bce(e), "gamma = 0, alpha = None is BCE", logits=[x], domains=domains)
    # Why p(1-p)/m is safe: m - p(1-p) = (p - y)^2 + y(1 - y) >= 0 for y in [0, 1], so the ratio is in
    # [0, 1]; m -> 0 only for hard labels, and there the ratio -> 1.
    p = sigmoid(x)
    m = p * (1 - y) + (1 - p) * y
    assert_identity(m - p * (1 - p), (p - y) ** 2 + y * (1 - y), "m - p(1-p) = (p-y)^2 + y(1-y)", logits=[x],
                    domains=domains)
    check_limit((p * (1 - p) / m).subs(y, 1), x, sp.oo, 1, "p(1-p)/m for y = 1 as x -> oo (m -> 0)")
    check_limit((p * (1 - p) / m).subs(y, 0), x, -sp.oo, 1, "p(1-p)/m for y = 0 as x -> -oo (m -> 0)")


define(
    "sigmoid_focal_loss",
    # the paper's defaults, which the signature must repeat: Lin et al., Sec. 5.1: gamma = 2, alpha = 0.25
    # (torchvision's defaults too)
    defaults={"gamma": 2.0, "alpha": 0.25, "reduction": "mean"},
    build=lambda case: reduce(elementwise(case, sigmoid_focal, params=("gamma", "alpha")), case["reduction"]),
    formula=lambda: ell(sigmoid_focal(_BINARY, sp.Symbol("gamma"), sp.Symbol("alpha"))),
    gradient_formula=lambda: partial(sigmoid_focal_gradient(_BINARY, sp.Symbol("gamma"), sp.Symbol("alpha")), "x"),
    prove=_prove_sigmoid_focal,
)

# -- poly1_loss ---------------------------------------------------------------------------------------------


def poly1(row, epsilon):
    """PolyLoss's Poly-1: -log p_y + epsilon (1 - p_y)."""
    return -row.log_p(row.y) + epsilon * (1 - row.p(row.y))


def poly1_gradient(row, j, epsilon):
    """The closed form of refloss.poly1_loss_grad: (1 + epsilon p_y)(p - e_y)."""
    return (1 + epsilon * row.p(row.y)) * (row.p(j) - row.delta(j, row.y))


def _prove_poly1():
    epsilon = sp.Symbol("epsilon", real=True)
    prove_row_gradient(poly1, poly1_gradient, "poly1_loss", params={"epsilon": epsilon})
    z = logit_symbols(C)
    s = sp.Symbol("s", negative=True)
    for y in range(C):
        row = Row(z, y)
        assert_identity(poly1(row, 0), ce_class_target(row, 0), "epsilon = 0 is cross-entropy", logits=z)
    # The evaluation forms: two non-negative terms on each side of epsilon = 0 (s = log p_y <= 0).
    loss = -s + epsilon * (1 - sp.exp(s))
    assert_identity((1 + epsilon) * -s - epsilon * (sp.exp(s) - 1 - s), loss, "epsilon < 0 form")
    # -log p + eps (1 - p) = sum_j (1 - p)^j / j + eps (1 - p): Poly-1 is PolyLoss with alpha_1 = 1 + eps.
    t = sp.Symbol("t", positive=True)
    check_limit((-sp.log(1 - t) - t) / t**2, t, 0, sp.Rational(1, 2), "-log p - (1 - p) ~ (1 - p)^2 / 2 as p -> 1")


define(
    "poly1_loss",
    # the paper's defaults, which the signature must repeat: optax's poly_loss_cross_entropy (epsilon = 2 is the
    # paper's ImageNet choice; 1 is the peers' default)
    defaults={"epsilon": 1.0, "reduction": "mean"},
    build=lambda case: reduce(rows(case, poly1, params=("epsilon",)), case["reduction"]),
    formula=lambda: ell(poly1(GenericRow(), sp.Symbol("epsilon"))),
    gradient_formula=lambda: partial(poly1_gradient(GenericRow(), sp.Symbol("j"), sp.Symbol("epsilon"))),
    prove=_prove_poly1,
)
