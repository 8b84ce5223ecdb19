"""Machine-checked definitions: one ``check_<family>.py`` per family (and its ``<family>.md`` derivation).

Installed with the package as :mod:`refloss.proofs`; ``refloss audit`` imports the module an entry names in
its ``proof`` field. ``python -m refloss.proofs latex NAME`` prints the LaTeX a definition generates.
"""
