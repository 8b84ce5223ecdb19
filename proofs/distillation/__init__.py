r"""Distillation losses: definitions and machine-checked derivations.

Run the proofs with ``refloss prove kd_loss soft_target_cross_entropy symmetric_consistency_loss
plackett_luce_distillation``.

Notation (as in ``refloss/losses/distillation/``): the student's logits :math:`s` and the teacher's :math:`t`
along the last axis, :math:`p = \mathrm{softmax}(s)` and :math:`q = \mathrm{softmax}(t)` (each divided by a
temperature where the object has one), natural logarithms (nats). Used throughout (``proofs/softmax/``):

.. math:: \frac{\partial p_i}{\partial s_j} = p_i\,(\delta_{ij} - p_j),
          \qquad
          \frac{\partial \log p_i}{\partial s_j} = \delta_{ij} - p_j .

**How this module is checked.** The symbolic proofs are each object's ``_prove`` function. Numerically,
refloss's float64 value and every gradient component are checked generically, not here: against the oracle of
the definition (ball arithmetic at the precision the definition needs, SymPy's derivative of it, the condition
scale of each element) at the entry's stress points, extreme inputs and drawn inputs, under the one tolerance
policy of :mod:`refloss.tolerance` (``refloss audit``).
"""
