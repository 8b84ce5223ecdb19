r"""The step-size geometry of softmax cross-entropy (Sao, *Ghosts of Softmax*): how far a step along a direction
can go before the Taylor series of the loss in the step size stops converging.

Conventions every member follows:

* **Inputs** are a batch's logits :math:`z` ``(..., C)`` (``-inf`` masks a class) and the directional derivatives
  of the logits along the step direction :math:`v`, :math:`a = J_z v` ``(..., C)`` (one Jacobian-vector product per
  sample), of the same shape. Along the step the logits are linearised, :math:`z(\tau) = z + \tau a`, and the
  loss of a row is :math:`\log F(\tau) - z_y - a_y \tau` with :math:`F(\tau) = \sum_k e^{z_k + a_k \tau}`: its
  Taylor series in :math:`\tau` converges up to the nearest complex zero of :math:`F` (the paper's Prop. 4.2).
  A masked class contributes nothing to :math:`F`; its :math:`a_k` is ignored.
* ``temperature=T`` divides the logits and hence :math:`a` by :math:`T` (the paper's Sec. 6.4): every radius is
  multiplied by :math:`T`.
* ``batch=False`` gives one number per row; ``batch=True`` the batch's, set by its bottleneck row (Def. 4.7).
* A row whose :math:`F` has no zero (one unmasked class, or equal :math:`a_k` on the unmasked classes) has radius
  :math:`+\infty` and normalised step 0. Gradients exist where the extreme classes (and the bottleneck row) are
  unique; at a tie the gradient is refused (the function is not differentiable there).
"""
