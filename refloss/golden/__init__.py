"""High-precision reference data: one checksummed file per registered object (:mod:`refloss.golden.dataset`).

The values come from each object's SymPy definition evaluated in ball arithmetic, every stored digit proven
unless the file says why not (the oracle of :mod:`refloss.proofs`); they are judged with the one tolerance
policy of :mod:`refloss.tolerance`.
"""
