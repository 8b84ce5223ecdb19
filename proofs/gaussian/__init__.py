r"""Gaussian closed forms (entropy, mutual information, conditional mutual information, total correlation):
definitions and machine-checked derivations.

Run the proofs with ``refloss prove gaussian_entropy gaussian_mutual_information``.

Notation (as in ``refloss/info/gaussian/``): :math:`\Sigma` is a d x d covariance matrix, symmetric and positive
definite; for an index set X, :math:`\Sigma_X` is its block on X x X and :math:`\Sigma_{XY}` the block on X x Y;
:math:`|\cdot|` is the determinant; natural logarithms (nats). :math:`\Sigma_{Y|X} = \Sigma_Y - \Sigma_{YX}
\Sigma_X^{-1} \Sigma_{XY}` is the conditional covariance (a Schur complement). Cholesky factors are lower
triangular with a positive diagonal.

**The differentiation convention.** A definition is written on a matrix of :math:`d^2` independent symbols
:math:`\Sigma_{ij}` (the two triangles separately: ``symbolize`` names ``cov[i,j]`` and ``cov[j,i]`` apart), and
its gradient is the derivative with respect to each of them, evaluated at a symmetric matrix. For a log-determinant
this is :math:`\partial \log|\Sigma| / \partial \Sigma_{ij} = (\Sigma^{-1})_{ji}`, the cofactor over the
determinant, which at a symmetric :math:`\Sigma` is :math:`(\Sigma^{-1})_{ij}`: every gradient of the family is a
symmetric matrix, and the derivative along a symmetric perturbation of an off-diagonal pair is :math:`g_{ij} +
g_{ji} = 2 g_{ij}`. (Implementations that differentiate one triangle, with :math:`\Sigma_{ji}` a copy of
:math:`\Sigma_{ij}`, return :math:`2 g_{ij}` below the diagonal and 0 above; the two conventions agree on every
symmetric direction.)

**How the evaluation forms are proved.** Where refloss evaluates a stable form built from Cholesky factors, the
proofs substitute :math:`\Sigma = L L^\top` with a symbolic lower-triangular :math:`L` (positive diagonal): the
factors of every block taken in that order are then sub-blocks of :math:`L`, and the identities between the
definition's closed form and the evaluation form become identities of rational functions of the entries of
:math:`L`, decided exactly (numerator expanded to 0). A factor in another order is the same statement for the
permuted matrix, which is proved by proving it for every block size.

**How this family is checked numerically.** As every family: refloss's float64 value and every gradient
component against the oracle of the definition (the determinants of the blocks of the very float64 input,
evaluated in ball arithmetic, SymPy's derivative, the condition scale of each element under relative
perturbations of every entry), at the stress points and the extreme inputs of each entry and on drawn inputs.
"""
