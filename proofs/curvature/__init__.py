r"""The curvature of softmax cross-entropy: definitions and machine-checked derivations.

Run the proofs with ``refloss prove cross_entropy_hvp``.

The definitions differentiate the loss itself: the Hessian's entries are SymPy's second derivatives of a row's
cross-entropy :math:`\mathrm{LSE}(z) - z_y` (the target drops out), so that the closed forms of
``refloss/losses/curvature/`` are checked against the derivative, not against another closed form.
"""
