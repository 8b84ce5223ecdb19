r"""Closed forms for jointly normal variables given by one covariance matrix (nats, or ``base=``).

Conventions every object of the family follows:

* **The covariance** ``cov`` is a float (d, d) array, *exactly* symmetric and positive definite. A matrix that is
  not symmetric is refused, never symmetrised silently (pass ``(a + a.T) / 2`` if that is what you mean); a matrix
  whose Cholesky factorisation fails (singular, indefinite, or singular within float64's reach) is refused with
  that reason: a degenerate Gaussian has no density, and its entropy is :math:`-\infty`.
* **Index sets** (``x``, ``y``, ``z``; the transfer entropy's ``source``, ``target``, ``target_past``) select
  variables (rows and columns of ``cov``): integer indices in ``[0, d)``, a sequence or one int, no index repeated,
  the sets pairwise disjoint; their order does not change the value. ``x`` and ``y`` must be non-empty; the
  conditioning set ``z`` (and ``target_past``) may be empty (then :math:`I(X; Y \mid \emptyset) = I(X; Y)`).
  Variables in no set play no part; their gradient entries are 0.
* **Gradients** are :math:`\partial/\partial\Sigma` with every entry :math:`\Sigma_{ij}` an independent variable
  (the two triangles separately). At a symmetric matrix this gives a symmetric gradient (that of a
  log-determinant is :math:`\Sigma^{-1}`), and the derivative along a symmetric perturbation of an off-diagonal
  pair is :math:`2 g_{ij}`. Frameworks that differentiate one triangle (a Cholesky that reads only the lower
  triangle) return :math:`2 g_{ij}` there and 0 in the other: the same numbers on every symmetric direction.
* **Stable forms.** Every quantity is computed from Cholesky factors of the blocks, never from a difference of
  log-determinants: a mutual information near independence (:math:`\approx \tfrac12 \sum_i s_i^2` for small
  canonical correlations :math:`s_i`) keeps its digits, and so does a gradient whose terms would cancel.
* **Scale.** Each variable is first scaled by a power of two (exactly) to a variance in [1/2, 2), and the
  gradient scaled back (exactly), so variances from the subnormal range to 1e308 lose no digit. A gradient entry
  of order :math:`1/\Sigma_{ii}` beyond the float64 range (a variance below ~1e-308) is returned as +-inf, its
  correct rounding; values stay finite.
"""
