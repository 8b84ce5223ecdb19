r"""The step-size geometry of softmax cross-entropy: definitions and machine-checked derivations.

Run the proofs with ``refloss prove softmax_taylor_radius``.

Notation (as in ``refloss/losses/step_size/``): logits :math:`z` (``-inf`` masks a class), directional derivatives
:math:`a = J v`, temperature :math:`T`. A definition decides on the exact inputs (``define(..., exact_inputs=...)``)
which classes are unmasked, which :math:`a_k` are the largest and smallest, and which row is a batch's bottleneck:
those choices are piecewise constant, and the radius is a smooth function of the two :math:`a_k` they select.
"""
