r"""Discrete information measures of probability mass functions: definitions and machine-checked derivations.

Run the proofs with ``refloss prove entropy``.

Notation (as in ``refloss/info/discrete/``): probabilities :math:`p_j \ge 0` as given (not normalised), natural
logarithms. A definition sums over the outcomes whose probability is not exactly 0 (decided on the exact inputs,
``define(..., exact_inputs=...)``): :math:`0 \log 0 = 0` holds by construction, and the gradient, whose entry at such
an outcome would be :math:`\pm\infty`, is declared not to exist there (``gradient_undefined``).
"""
