r"""Classification losses, cross-entropy, BCE, focal losses and Poly-1: definitions and machine-checked derivations.

Run the proofs with ``refloss prove cross_entropy binary_cross_entropy_with_logits focal_loss
sigmoid_focal_loss poly1_loss``.

Notation (as in ``refloss/losses/classification/``): logits :math:`z \in \mathbb{R}^C` (class axis last),
:math:`\log p = \mathrm{log\_softmax}(z)`, class weights :math:`w`, label smoothing :math:`\varepsilon`, the true
class :math:`y`, its one-hot vector :math:`e_y`. For binary losses, :math:`x` is a logit,
:math:`\sigma(x) = 1/(1 + e^{-x})` and :math:`\mathrm{softplus}(x) = \log(1 + e^x)`.

Every objective below is defined from its paper in terms of probabilities (softmax and sigmoid as quotients
of exponentials), never from refloss's evaluation formulas; every ``*_gradient`` function is the closed
form that the registered gradient implements, proved equal to SymPy's derivative of the definition.

**How this module is checked.** The symbolic proofs are the ``_prove_*`` functions, listed per object
below. Numerically, refloss's float64 value and every gradient component are checked generically, not
here: against the oracle of the definition (ball arithmetic at the precision the definition needs, SymPy's
derivative of it, the condition scale of each element) at the entry's stress points and on drawn inputs,
under the one tolerance policy of :mod:`refloss.tolerance` (``refloss audit``). The softmax losses' stress
points are ``refloss._cases.softmax_stress`` (logit gaps of 15 to 80 with the target on the dominant class
and off it, ties, ``-inf`` masks, one dominant class, one class), over the parameter values each entry
lists; the binary losses' are logits from :math:`-80` to :math:`80` (and :math:`\pm 10^{-9}`) with hard and soft
labels.

One fact is used throughout: since :math:`\log p_c = z_c - \mathrm{LSE}(z)` (see ``proofs/softmax/``),

.. math:: \frac{\partial \log p_c}{\partial z_j} = \delta_{cj} - p_j,
          \qquad
          \frac{\partial p_c}{\partial z_j} = p_c\,(\delta_{cj} - p_j).

And one evaluation rule: a component :math:`p_y - 1` is computed as :math:`\mathrm{expm1}(\log p_y)`, never by
subtraction. At a logit gap of 40 it is about :math:`-4.25\cdot 10^{-18}`; :math:`p_y` rounds to 1 and
``p_y - 1`` returns 0, while :math:`\log p_y` (from the log1p-based log-softmax) holds it to full relative
accuracy.
"""
