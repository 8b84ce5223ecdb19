r"""Distillation losses: a student's logits :math:`s` trained towards a teacher's :math:`t` (or towards soft
targets made from them), class axis last.

Notation: :math:`p = \mathrm{softmax}(s)` is the student's distribution and :math:`q = \mathrm{softmax}(t)` the
teacher's (each divided by a temperature where the object takes one). Every object here reads its teacher as
given: the teacher is a constant of the loss (an EMA teacher, a frozen network) unless its registry entry lists
``teacher_logits`` among the differentiable inputs, as :func:`refloss.kd_loss` and
:func:`refloss.symmetric_consistency_loss` do (a NamedTuple of both gradients).

* :func:`refloss.kd_loss`: Hinton et al.'s :math:`T^2\,\mathrm{KL}(q_T \,\|\, p_T)`, with PyTorch's
  ``"batchmean"`` and ``"mean"`` both available and told apart;
* :func:`refloss.soft_target_cross_entropy`: :math:`-\sum_c a_c \log p_c` for any real targets :math:`a`
  (self-distillation's :math:`\xi > 1` makes them leave the simplex);
* :func:`refloss.symmetric_consistency_loss`: the mean teacher's symmetric cross-entropy;
* :func:`refloss.plackett_luce_distillation`: the Plackett-Luce likelihood of the teacher-optimal ranking.

**Masks.** A ``-inf`` logit masks its class. A student class masked where the teacher (or the target) puts mass
makes a loss ``+inf``, decided on the masks (not on rounded probabilities) and with a gradient that raises; a class
masked in both contributes nothing. Each object's docstring states its own rule where it differs.
"""
