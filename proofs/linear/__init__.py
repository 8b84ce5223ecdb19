r"""Losses of a linear head, computed from hidden states: definitions and machine-checked derivations.

Run the proofs with ``refloss prove linear_cross_entropy linear_kl``.

Notation (as in ``refloss/losses/linear/``): hidden states :math:`e \in \mathbb{R}^{N \times D}`, classifier
:math:`c \in \mathbb{R}^{V \times D}`, bias :math:`b \in \mathbb{R}^V`, head logits
:math:`u_{n,v} = \sum_d e_{n,d} c_{v,d} + b_v`, soft cap :math:`s`, logits :math:`z = s \tanh(u/s)` (or
:math:`z = u` without a cap), :math:`p_n = \mathrm{softmax}(z_n)`, :math:`\mathrm{LSE}_n = \log\sum_v e^{z_{n,v}}`.
"""
