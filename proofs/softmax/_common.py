"""Shared parts of the family's definitions."""

from __future__ import annotations

C = 3  # the symbolic proofs are for C = 3 classes; nothing in them depends on the value of C
