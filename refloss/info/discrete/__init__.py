r"""Discrete information measures of probability mass functions given as numbers (nats, or ``base=``).

Conventions every measure of the family follows:

* **Inputs** are the probabilities themselves: an array ``(..., C)`` of non-negative finite numbers, the outcomes
  on the last axis (a joint table of two variables: the last two axes; of k variables, the last k, ``variables=k``),
  one distribution per leading index. They are **not normalised**: the function is evaluated at the numbers given
  (:math:`-\sum_j p_j \log p_j` is defined for any non-negative :math:`p`). SciPy's ``scipy.stats.entropy``
  divides by the sum first; that is a declared convention of the conformance adapter, with its mapping
  :math:`H(p) = S\,H(p/S) - S \log S`, :math:`S = \sum_j p_j`.
* :math:`0 \log 0 = 0`: an outcome of probability 0 adds nothing.
* **Gradients** are with respect to the probabilities as independent numbers (not along the simplex). At an
  entry 0 the derivative of :math:`-p \log p` is :math:`+\infty` (one-sided): the gradient does not exist there,
  and the gradient function refuses with that reason; the value is defined.
"""
