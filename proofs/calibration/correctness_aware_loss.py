r"""``correctness_aware_loss``: the definition and its machine-checked derivation.

**Definition** (Liu et al. 2024, arXiv:2404.13016, as the official code computes it; the paper's text was not
available, so its own equation is **not confirmed**). Over a batch of :math:`n` rows of logits :math:`z_i` with
targets :math:`y_i`: :math:`p_i = \mathrm{softmax}(z_i)`, the predicted class :math:`\hat y_i` (the first maximal
logit), its confidence :math:`\hat p_i = p_{i \hat y_i}`, the correctness :math:`c_i = [\hat y_i = y_i]`, the
accuracy :math:`a = \frac1n \sum_i c_i`, the class-balancing weights :math:`\omega_i = 1 - a` where
:math:`c_i = 1` and :math:`a` where :math:`c_i = 0`, and

.. math:: L = \frac{\sum_i \omega_i (\hat p_i - c_i)^2}{\sum_i \omega_i}, \qquad
          \sum_i \omega_i = n_c (1 - a) + n_w a = \frac{2 n_c n_w}{n},

with :math:`n_c` correct and :math:`n_w = n - n_c` wrong predictions: the two groups carry equal total weight
:math:`n_c n_w / n`. ``"sum"`` is the numerator, ``"none"`` its terms; ``"mean"`` over :math:`\sum_i \omega_i = 0`
(every prediction right, or every one wrong) is 0/0, ``nan``.

**Gradient.** :math:`\hat y_i`, :math:`c_i`, :math:`a` and :math:`\omega_i` are piecewise constant in the logits;
where the row's maximum is unique, :math:`\hat p_i = p_{i \hat y_i}` is smooth, with
:math:`\partial p_{ik} / \partial z_{ij} = p_{ik}(\delta_{jk} - p_{ij})`, so

.. math:: \frac{\partial L}{\partial z_{ij}} = \frac{2\,\omega_i\,(\hat p_i - c_i)\,\hat p_i\,
          (\delta_{j \hat y_i} - p_{ij})}{\sum_k \omega_k}.

At a tie of the largest logits the maximum has a kink: the definition takes the piece of the first maximal class
(as PyTorch's ``max`` does), and the oracle differentiates that piece.

**Evaluation.** :math:`\log \hat p_i = -\log S_i` (the row's log-softmax at its maximum), and both
:math:`\hat p_i - 1` (a correct prediction) and :math:`1 - \hat p_i` (the factor :math:`\delta - p` on the predicted
class) are :math:`\mathrm{expm1}(\log \hat p_i)`, never differences: a confident correct row keeps its
:math:`(\hat p_i - 1)^2 \approx e^{-2g}` at a logit gap :math:`g`.

**Checked** (``_prove``): for :math:`C = 3` symbolic logits and each class :math:`k` as the predicted one, SymPy's
derivative of :math:`\omega (p_k - c)^2` equals the closed form for :math:`c \in \{0, 1\}` and symbolic
:math:`\omega`; the weights sum to :math:`2 n_c n_w / n` and give both groups the same total for every
:math:`0 \le n_c \le n \le 8`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import assert_identity
from .._views import Row, logit_symbols, reduce
from ._common import exact_value

C = 3


def first_maximal(values: list[float]) -> int:
    """The first index of the largest value (NumPy's argmax; -inf for a masked class)."""
    return max(range(len(values)), key=lambda k: (values[k], -k))


def ca_term(row: Row, predicted: int, correct: bool, weight):
    """omega (p_hat - c)^2 of one row, p_hat = p_predicted."""
    return weight * (row.p(predicted) - (sp.S.One if correct else sp.S.Zero)) ** 2


def ca_gradient(row: Row, predicted: int, correct: bool, weight, j):
    """The closed form: 2 omega (p_hat - c) p_hat (delta_j,predicted - p_j), before the denominator."""
    p_hat = row.p(predicted)
    return 2 * weight * (p_hat - (sp.S.One if correct else sp.S.Zero)) * p_hat * (row.delta(j, predicted) - row.p(j))


def weights(n_correct: int, n: int) -> tuple:
    """(omega of a correct sample, omega of a wrong one): 1 - a and a, a = n_correct / n."""
    a = sp.Rational(n_correct, n)
    return 1 - a, a


def _prove():
    z = logit_symbols(C)
    w = sp.Symbol("omega", nonnegative=True)
    for predicted in range(C):
        row = Row(z, None)
        for correct in (True, False):
            value = ca_term(row, predicted, correct, w)
            for j in range(C):
                assert_identity(sp.diff(value, z[j]), ca_gradient(row, predicted, correct, w, j),
                                f"d/dz_{j} of omega (p_{predicted} - {int(correct)})^2", logits=z)
    for n in range(1, 9):
        for n_correct in range(n + 1):
            right, wrong = weights(n_correct, n)
            total = n_correct * right + (n - n_correct) * wrong
            assert total == sp.Rational(2 * n_correct * (n - n_correct), n), "sum of the weights"
            assert n_correct * right == (n - n_correct) * wrong, "correct and wrong carry equal weight"


def _build(case, exact):
    z = np.asarray(case["logits"], dtype=object)
    rows = z.reshape(-1, z.shape[-1])
    target = np.asarray(case["target"]).reshape(-1)
    n = rows.shape[0]
    predicted = [first_maximal([exact_value(x, exact["logits"]) for x in row]) for row in rows]
    correct = [k == int(t) for k, t in zip(predicted, target)]
    n_correct = sum(correct)
    right, wrong = weights(n_correct, n) if n else (sp.S.Zero, sp.S.Zero)
    terms = np.empty(n, dtype=object)
    for i, row in enumerate(rows):
        terms[i] = ca_term(Row(list(row)), predicted[i], correct[i], right if correct[i] else wrong)
    denominator = sp.Rational(2 * n_correct * (n - n_correct), n) if n else 0
    return reduce(terms.reshape(z.shape[:-1]), case["reduction"], denominator)


def _generic():
    i, j, n = sp.Symbol("i", integer=True), sp.Symbol("j"), sp.Symbol("n", integer=True, positive=True)
    omega, p_hat, c, p = (sp.IndexedBase(name) for name in (r"\omega", r"\hat{p}", "c", "p"))
    y_hat = sp.IndexedBase(r"\hat{y}")
    denominator = sp.Sum(omega[i], (i, 1, n))
    return i, j, n, omega, p_hat, c, p, y_hat, denominator


def _formula():
    i, _, n, omega, p_hat, c, _, _, denominator = _generic()
    return ell(sp.Sum(omega[i] * (p_hat[i] - c[i]) ** 2, (i, 1, n)) / denominator, "L")


def _gradient_formula():
    i, j, _, omega, p_hat, c, p, y_hat, denominator = _generic()
    closed = 2 * omega[i] * (p_hat[i] - c[i]) * p_hat[i] * (sp.KroneckerDelta(j, y_hat[i]) - p[i, j]) / denominator
    return partial(closed, wrt="z_{ij}", of="L")


define(
    "correctness_aware_loss",
    defaults={"reduction": "mean"},  # the code's loss: the weighted sum over the weights' sum
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove,
    exact_inputs=("logits",),
)
