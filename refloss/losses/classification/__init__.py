r"""Cross-entropy and focal losses on logits.

Notation (shared by every docstring, proof and test): logits :math:`z \in \mathbb{R}^C` (class axis last),
:math:`\log p = \mathrm{log\_softmax}(z)`, class weights :math:`w`, label smoothing :math:`\varepsilon`,
the true class :math:`y`, one-hot :math:`e_y`.

Softmax cross-entropy in every mode is written as :math:`\ell = -\sum_c a_c \log p_c` with a real
coefficient vector :math:`a` (class targets, probability targets of any sign and row sum, class weights of
either sign and smoothing only change :math:`a`), so one gradient serves them all:

.. math:: \frac{\partial \ell}{\partial z_j} = p_j \sum_c a_c - a_j
          = p_j \sum_{c \ne j} a_c + a_j\,(p_j - 1),

evaluated in the second form: two terms that are each accurate to a few ulps, with
:math:`p_j - 1 = \mathrm{expm1}(\log p_j)` and the leave-one-out sums :math:`\sum_{c \ne j} a_c` (prefix plus
suffix sums, never a total minus one term). At a logit gap of 40 the target component
:math:`p_y - 1 = -4.25\cdot10^{-18}` keeps all its digits where :math:`p_y \sum_c a_c - a_y` returns 0. For
signed :math:`a` the sums and the two terms cancel only as much as the :math:`a_c` themselves do, which the
condition scale over the targets and weights covers.

Without class weights, label smoothing adds the same :math:`u = \varepsilon / C` to every :math:`a_c`, and
that part of the gradient, :math:`u\,(C p_j - 1)`, is kept apart: near :math:`p_j = 1/C` its two terms
cancel, and where the logits are near 0 nothing in the condition scale excuses the error of one rounding of
them; :func:`refloss.numerics.softmax_over_uniform_minus_1` computes it from differences of logits. With class
weights the scale contains the weights' own sensitivity, which covers that rounding.
"""
