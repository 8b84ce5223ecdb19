"""Machine-checked derivations: one ``<family>.md`` + ``check_<family>.py`` pair per family (see README.md).

A regular package so that the check scripts can share :mod:`proofs._support` however they are loaded
(run as scripts, imported as ``proofs.check_<family>``, or loaded from their path by ``refloss audit``).
"""
