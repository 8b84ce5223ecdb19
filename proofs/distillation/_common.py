"""Shared parts of the family's definitions."""

from __future__ import annotations

import sympy as sp

from .._views import GenericRow

C = 3  # classes in the symbolic proofs; the algebra does not depend on C

TEMP = sp.Symbol("T", positive=True)


def generic_pair():
    """The student's row (``p``) and the teacher's (``q``) a reader sees."""
    student, teacher = GenericRow(y=False), GenericRow(y=False)
    teacher._z, teacher._p = sp.IndexedBase("t"), sp.IndexedBase("q")
    student._z = sp.IndexedBase("s")
    return student, teacher
