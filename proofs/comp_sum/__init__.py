r"""Comp-sum losses (Mao, Mohri & Zhong 2023): definitions and machine-checked derivations.

Run the proofs with ``refloss prove comp_sum_loss sum_exponential_loss generalized_cross_entropy mae_loss``.

**Definition.** For :math:`\tau \ge 0`, with :math:`u = \sum_{y' \ne y} e^{z_{y'} - z_y}`,
:math:`\ell_\tau = \Phi^\tau(u)`, :math:`\Phi^1(u) = \log(1 + u)`,
:math:`\Phi^\tau(u) = ((1 + u)^{1-\tau} - 1)/(1 - \tau)`. Since :math:`1 + u = \sum_c e^{z_c} / e^{z_y} = 1/p_y`,
:math:`\ell_\tau = (p_y^{\tau-1} - 1)/(1 - \tau)` and :math:`\ell_1 = -\log p_y`; both forms are proved equal
below, and the definitions are written in :math:`p_y`.

**Gradient.** :math:`\partial \ell_\tau / \partial p_y = -p_y^{\tau - 2}` for every :math:`\tau` (also
:math:`\tau = 1`: :math:`-1/p_y`), and :math:`\partial p_y / \partial z_j = p_y(\delta_{jy} - p_j)`, so

.. math:: \frac{\partial \ell_\tau}{\partial z_j} = p_y^{\tau-1}\,(p_j - \delta_{jy}),

cross-entropy's gradient rescaled by :math:`p_y^{\tau-1}`: :math:`\tau < 1` weights hard examples
(small :math:`p_y`) up, :math:`\tau > 1` down.

**Members.** :math:`\tau = 0`: :math:`1/p_y - 1 = u`, the sum-exponential loss. :math:`\tau = 1 + q`,
:math:`q \in (0, 1]`: :math:`(1 - p_y^q)/q`, the generalized cross-entropy of Zhang & Sabuncu (2018), which
tends to :math:`-\log p_y` as :math:`q \to 0`. :math:`\tau = 2`: :math:`1 - p_y`, the mean absolute error
(half of :math:`\lVert p - e_y \rVert_1 = 2(1 - p_y)`). Each is checked below as an identity.

**Stability.** With :math:`s = \log p_y`, :math:`\ell_\tau = -s\,(e^{(\tau-1)s} - 1)/((\tau - 1)s)
= -s\,\mathrm{exprel}((\tau-1)s)`, proved below; exprel is 1 at 0, which is the :math:`\tau = 1` branch.
"""
