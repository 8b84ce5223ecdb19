"""Where the generated data lives, and the one piece of it the core reads: each object's formula.

``make golden`` writes ``golden/data/<name>.json`` (:mod:`refloss.golden.dataset`): the oracle's cache and the
LaTeX of the definition. Registration appends that LaTeX to the docstrings, so the registry reads it here,
with nothing of the verification layer imported.
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).with_name("golden") / "data"


def path_of(name: str) -> Path:
    return DATA / f"{name}.json"


def stored_formulas(name: str) -> tuple[str, str]:
    """The generated LaTeX of the definition (value, gradient) stored in ``name``'s golden file, or empty
    strings where there is no file yet (a new object before ``make golden``)."""
    path = path_of(name)
    if not path.is_file():
        return "", ""
    payload = json.loads(path.read_text())
    return payload.get("formula", ""), payload.get("gradient", "")
