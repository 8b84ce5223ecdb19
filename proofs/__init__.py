r"""Machine-checked definitions: one ``check_<family>.py`` per family, holding its definitions and derivations.

Installed with the package as :mod:`refloss.proofs`. Each family module defines every object of the family
once, from its paper, as SymPy row functions registered with ``define(name, defaults=..., build=...,
formula=..., gradient_formula=..., prove=...)``; its module docstring is the derivation a person reads
(definition, gradient step by step, the evaluation forms and why they are stable, edge cases, what is
checked), rendered on the documentation's *Derivations* pages. A registry entry names its definition in its
``proof`` field (``proofs/check_<family>.py::<name>``, the default), so no central file lists objects.

A definition is three things at once: the LaTeX a reader sees (``sympy.latex`` of it, stored in the golden
file by ``make golden`` and appended to the docstrings), the symbolic proofs of its ``prove`` function
(SymPy's derivative of the definition equals the closed form the registered gradient implements; identities
and limits), and the oracle that judges refloss's float64 results (the definition itself evaluated by mpmath
at the precision it needs, with SymPy's derivative and the condition scale of every element).

The engine, one concern a module, none of which imports refloss's core:

* ``_views.py``: how a definition sees its inputs (rows of logits, binary elements) and a case's symbols;
* ``_definitions.py``: :func:`define`, the :class:`Definition` record and its lookup by entry;
* ``_oracle.py``: the 50-digit evaluation with condition scales (refloss reaches it through
  ``refloss._oracle`` only);
* ``_tactics.py``: the proof tactics. An identity is proved exactly in log coordinates :math:`z = \log u`,
  else by ``sympy.simplify``, and only if neither decides, at random rational points with 50-digit arithmetic.

Commands (they need SymPy and mpmath: ``pip install 'refloss[audit]'``)::

    python -m refloss.proofs prove [NAME ...]   # run the symbolic proofs (default: every registered object)
    python -m refloss.proofs latex NAME ...     # print the LaTeX the definition generates

To add an object: write its row functions, a ``_prove_<name>`` function and the ``define(...)`` call in the
family's module, and its derivation in that module's docstring.
"""
