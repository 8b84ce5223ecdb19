r"""The curvature of softmax cross-entropy: its Hessian in the logits, Hessian-vector products without forming the
Hessian, and the Gauss-Newton product of a linear head, as ground truth for second-order code (autodiff's
``hvp``/``jvp`` of a loss, K-FAC and GGN implementations).

Conventions every member follows: the loss is the cross-entropy of class-index targets, whose Hessian in the logits
does not depend on the target (it is the log-sum-exp's), per row :math:`H = \mathrm{diag}(p) - p p^\top` with
:math:`p = \mathrm{softmax}(z)` (for probability targets of row sum :math:`S`, the Hessian is :math:`S H`).
``loss_reduction`` is the reduction of the loss (it scales the curvature; the output is never reduced): ``"mean"``
over the rows divides every row's block by the number of rows, ``"sum"`` and ``"none"`` (each row's own loss) do
not. A masked class (``-inf`` logit) has :math:`p = 0`: its row and column
of :math:`H` are 0. A row with one class has :math:`H = 0`.
"""
