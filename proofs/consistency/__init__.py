r"""The consistency family's definitions: error transforms, H-consistency bounds and minimizability gaps of the
comp-sum losses (Mao, Mohri & Zhong 2023, arXiv:2304.07288).

**Status.** The paper's theorem text could not be read (only its abstract); every transform here is our
reconstruction, validated numerically against the exact transform :math:`T^*` computed by optimisation, and marked
so in every docstring. The minimizability gap of the bounded hypothesis set with deterministic labels is derived
here, not confirmed.

**Notation.** :math:`p` a conditional distribution over :math:`n` classes, :math:`s = \mathrm{softmax}(h)` the
scores' probabilities, :math:`\Psi_\tau(s) = (s^{\tau-1} - 1)/(1 - \tau)` the comp-sum loss of a label of
probability :math:`s` (:math:`-\log s` at :math:`\tau = 1`; the comp-sum family's own definition, reused),
:math:`C_\ell(s, p) = \sum_y p_y \Psi_\tau(s_y)` the conditional risk, :math:`t = \max_y p_y - p_{\hat y}` the
zero-one conditional regret of the prediction :math:`\hat y = \arg\max s`. :math:`k = 1/(2 - \tau)`.

**Facts the objects share.** For :math:`\tau < 2`, :math:`\Psi_\tau` is strictly convex and decreasing, so
:math:`\inf_s C_\ell(s, p) = (\sum_y p_y^k)^{2-\tau} - 1)/(1 - \tau)` at :math:`s \propto p^k` (the entropy at
:math:`\tau = 1`); the transform :math:`T_\tau` (``comp_sum_consistency_transform``) is convex and increasing on
[0, 1], so its inverse :math:`\Gamma_\tau` (``h_consistency_bound``) is concave and increasing, and Jensen's
inequality turns a pointwise bound :math:`T_\tau(\Delta C_{0-1}) \le \Delta C_\ell` into the bound on the expected
regrets.
"""
