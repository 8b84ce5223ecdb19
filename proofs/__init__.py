r"""Machine-checked definitions: one module per object, ``proofs/<family>/<name>.py``, its definition and derivation.

Installed with the package as :mod:`refloss.proofs`. An object's module defines it once, from its paper, as
SymPy row functions registered with ``define(name, defaults=..., build=..., formula=..., gradient_formula=...,
prove=...)``; its module docstring is the derivation a person reads (definition, gradient step by step, the
evaluation forms and why they are stable, edge cases, what is checked), and the family package's docstring the
notation and facts its objects share, both rendered on the documentation's *Derivations* pages. A registry
entry names its definition in its ``proof`` field (``proofs/<family>/<name>.py::<name>``, the default), so no
central file lists objects.

A definition is three things at once: the LaTeX a reader sees (``sympy.latex`` of it, stored in the golden
file by ``make golden`` and appended to the docstrings), the symbolic proofs of its ``prove`` function
(SymPy's derivative of the definition equals the closed form the registered gradient implements; identities
and limits), and the oracle that judges refloss's float64 results (the definition itself evaluated in ball
arithmetic at the precision that proves its digits, with SymPy's derivative and the condition scale of every
element).

The engine, one concern a module, none of which imports refloss's core:

* ``_views.py``: how a definition sees its inputs (rows of logits, binary elements) and a case's symbols;
  ``_structured_views.py``: critic matrices, covariance matrices, samples (exact neighbour ranks and counts)
  and per-token sequences, for the families that need them;
* ``_definitions.py``: :func:`define`, the :class:`Definition` record and its lookup by entry;
* ``_arb.py``: SymPy expressions evaluated on Arb balls (python-flint), forward-mode derivatives, proven decimal
  digits;
* ``_oracle.py``: the oracle, proven digits and condition scales (refloss reaches it through
  ``refloss._oracle`` only); ``_check.py``: the stored digits checked by a second route (forward mode);
* ``_tactics.py``: the proof tactics. An identity is proved exactly in log coordinates :math:`z = \log u`,
  else by ``sympy.simplify``, and only if neither decides, at random rational points in 60-digit ball arithmetic.

Commands (they need SymPy, mpmath and python-flint: ``pip install 'refloss[audit]'``)::

    refloss prove [NAME ...]   # run the symbolic proofs (default: every registered object)
    refloss show NAME          # the stored formula and gradient, defaults, stress points, files

To add an object, ``refloss new NAME --family FAMILY`` writes both of its modules as stubs
(``docs/verification.rst``, *Adding an object*).
"""
