r"""Entropy and KL divergence of softmax distributions: definitions and machine-checked derivations.

Run the proofs with ``refloss prove softmax_entropy kl_divergence_logits``.

Notation (as in ``refloss/info/entropy/``): logits along the last axis, :math:`p = \mathrm{softmax}(a)` (or
of :math:`z`), :math:`q = \mathrm{softmax}(b)`, natural logarithms (nats). ``"mean"`` averages over rows
(PyTorch's ``"batchmean"``). Used throughout (see ``proofs/softmax/``):

.. math:: \frac{\partial p_i}{\partial z_j} = p_i\,(\delta_{ij} - p_j),
          \qquad
          \frac{\partial \log p_i}{\partial z_j} = \delta_{ij} - p_j .

**How this module is checked.** The symbolic proofs are the ``_prove_*`` functions, listed per object
below. Numerically, refloss's float64 value and every gradient component are checked generically, not
here: against the oracle of the definition (ball arithmetic at the precision the definition needs, SymPy's
derivative of it, the condition scale of each element) at the entry's stress points and on drawn inputs,
under the one tolerance policy of :mod:`refloss.tolerance` (``refloss audit``).
"""
