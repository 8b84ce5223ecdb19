r"""Softmax primitives, log-sum-exp, log-softmax and softmax: definitions and machine-checked derivations.

Run the proofs with ``refloss prove logsumexp log_softmax softmax``.

Notation: logits :math:`z \in \mathbb{R}^C` (the class axis is the last axis),
:math:`p = \mathrm{softmax}(z)` with :math:`p_j = e^{z_j} / \sum_i e^{z_i}`, and
:math:`m = z_k = \max_j z_j` for some maximal index :math:`k`. A masked class has :math:`z_j = -\infty`, so
:math:`e^{z_j} = 0` and :math:`p_j = 0`.

**How this module is checked.** The row functions of this module are the definitions, written once: the
same code gives the registered LaTeX, the expressions of the symbolic proofs (the ``_prove_*`` functions)
and the oracle. Numerically, refloss's float64 value and every gradient (Jacobian) component are checked
generically, not here: against the oracle of the definition (ball arithmetic at the precision the definition needs,
SymPy's derivative of it, the condition scale of each element) at the entry's stress points and on drawn
inputs, under the one tolerance policy of :mod:`refloss.tolerance` (``refloss audit``). The stress points of
all three objects are ``refloss._cases.softmax_stress``: logit gaps of 15 to 80, near-ties and exact ties,
``-inf`` masks, one dominant class, one class.
"""
