r"""k-nearest-neighbour estimators of entropy and mutual information from samples (nats, or ``base=``).

Conventions every estimator of the family follows (``docs/conventions.rst``, *Sample-based estimators*):

* **Samples** are an ``(N, d)`` array, one point per row; ``(N,)`` is N points in one dimension.
* **Distances** are the max-norm :math:`\|u\|_\infty = \max_c |u_c|` unless an estimator takes ``norm=``; in a
  joint space :math:`\|(x, y)\| = \max(\|x\|, \|y\|)` (Kraskov et al. 2004).
* **Neighbours and counts are exact.** The k-th neighbour of point i is the k-th of the other points ordered by
  their exact distance from it (the distances of float64 points compared without rounding), equal distances
  ordered by index; a count "within :math:`\epsilon`" is strict (:math:`<`, Kraskov's) unless the estimator says
  otherwise. The fast path (``scipy.spatial.cKDTree``) decides every comparison it can in float64 and settles the
  float64 ties exactly, so its counts are the brute-force oracle's, integer for integer.
* **No clipping**: an estimate is returned as it is, negative included; ``clip_at_zero=True`` is the user's choice.
* **Ties are data.** Duplicate points and equal distances are valid input with a defined result; scikit-learn's
  tie-breaking noise is reproduced on request (``jitter=``), never added silently.
"""
