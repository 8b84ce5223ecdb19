"""``python -m refloss.proofs latex NAME ...``: print the LaTeX that a definition generates (what ``make golden``
stores with the object's golden data).

``python -m refloss.proofs prove [NAME ...]``: run the symbolic proofs (default: every registered object).
"""

from __future__ import annotations

import sys

import refloss

from ._definitions import definition_of, latex


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("latex", "prove"):
        print(__doc__, file=sys.stderr)
        return 2
    names = argv[1:] or [e.name for e in refloss.catalogue()]
    failed = 0
    for name in names:
        definition = definition_of(refloss.get(name))
        if argv[0] == "latex":
            gradient = definition.gradient_formula()
            print(f"{name}:\n    formula: {latex(definition.formula())}")
            print(f"    gradient: {latex(gradient) if gradient is not None else ''}")
            continue
        try:
            definition.prove()
            print(f"ok {name}")
        except AssertionError as exc:
            failed += 1
            print(f"FAIL {name}: {exc}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
