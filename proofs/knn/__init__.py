r"""k-nearest-neighbour estimators: definitions and machine-checked derivations.

Run the proofs with ``refloss prove kl_entropy ksg_mutual_information``.

Notation (as in ``refloss/info/knn/``): N points :math:`z_i`, :math:`\psi` the digamma function, natural
logarithms (nats). :math:`\epsilon_i` is the distance from point i to its k-th nearest other point; counts
:math:`n_i` are numbers of other points within a radius.

**How an estimator is defined and checked.** A sample-based estimator keeps one definition: its formula as a
function of exact neighbour statistics (distances, counts) and of N and k. The oracle computes those statistics
by brute force on the exact float64 points (``refloss.proofs._structured_views.Samples``: every distance a
rational, every comparison exact, equal distances ordered by index, so a count is an integer that cannot round),
and the digamma and log terms in ball arithmetic at 50 digits; the float64 estimate is then judged by the one
tolerance policy like any value. Its condition scale adds, to the scale of the inputs, the magnitudes of the
terms the estimate sums (:math:`|\psi(N)|`, :math:`|\psi(k)|`, the mean :math:`|\psi(n_i + 1)|`): each is rounded
once by any float64 implementation. Where an estimate is differentiable in the samples (Kozachenko-Leonenko's
mean log distance) its gradient is SymPy's derivative of the same definition, judged element by element; where
it is a function of counts only (KSG), the registry says that it has no gradient.
"""
