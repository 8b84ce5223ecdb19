"""The ``refloss`` command: ``refloss list [--json]``, ``refloss audit [--json] [--examples N] [NAME ...]`` and
``refloss conform FRAMEWORK [--json] [--cases N]``."""

from __future__ import annotations

import argparse
import json
import sys

from ._registry import catalogue


def _cmd_list(args) -> int:
    entries = catalogue()
    if args.json:
        for e in entries:
            print(json.dumps(e.as_dict()))
        return 0
    width = max(len(e.name) for e in entries)
    for e in entries:
        print(f"{e.name:<{width}}  {e.family:<15} {e.paper.title}")
    return 0


def _cmd_audit(args) -> int:
    from .audit import format_table, run_audit

    entries = catalogue()
    if args.names:
        unknown = sorted(set(args.names) - {e.name for e in entries})
        if unknown:
            print(f"refloss audit: unknown name(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        entries = [e for e in entries if e.name in args.names]
    try:
        import hypothesis  # noqa: F401
        import mpmath  # noqa: F401
        import sympy  # noqa: F401
    except ImportError as exc:
        print(f"refloss audit needs the 'audit' extra ({exc.name} is missing): pip install 'refloss[audit]'",
              file=sys.stderr)
        return 2
    rows = run_audit(entries, examples=args.examples, progress=None if args.json else sys.stderr)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=1))
    else:
        print(format_table(rows, entries))
    return 0 if all(r.ok for r in rows) else 1


def _cmd_conform(args) -> int:
    from . import conform
    from .conform._report import as_json, format_table

    try:
        import hypothesis  # noqa: F401
        import mpmath  # noqa: F401
        import sympy  # noqa: F401
    except ImportError as exc:
        print(f"refloss conform needs the 'audit' extra ({exc.name} is missing): pip install 'refloss[audit]'",
              file=sys.stderr)
        return 2
    try:
        rows = conform.run(args.framework, cases=args.cases, progress=None if args.json else sys.stderr)
        version = conform.versions(args.framework)
    except conform.FrameworkMissing as exc:
        print(f"refloss conform: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(as_json(rows, args.framework, version, args.cases), indent=1))
    else:
        print(format_table(rows, args.framework, version, conform.explanations()))
    return 1 if any(r.verdict == "mismatch" for r in rows) else 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="refloss", description="Reference implementations of training objectives.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="list the registered objects")
    p_list.add_argument("--json", action="store_true", help="one JSON object per entry")
    p_list.set_defaults(func=_cmd_list)
    p_audit = sub.add_parser("audit", help="verify gradients, proofs and precision of every registered object")
    p_audit.add_argument("names", nargs="*", help="audit only these entries")
    p_audit.add_argument("--json", action="store_true", help="print the results as JSON")
    p_audit.add_argument("--examples", type=_positive_int, default=30,
                         help="hypothesis examples per check (default 30; the oracle check draws a third)")
    p_audit.set_defaults(func=_cmd_audit)
    from .conform import DEFAULT_CASES, FRAMEWORKS

    p_conform = sub.add_parser("conform", help="judge a framework's own functions against the 50-digit oracle")
    p_conform.add_argument("framework", choices=sorted(FRAMEWORKS))
    p_conform.add_argument("--json", action="store_true", help="print the rows as JSON")
    p_conform.add_argument("--cases", type=_positive_int, default=DEFAULT_CASES,
                           help=f"drawn cases per refloss entry, besides its golden cases (default {DEFAULT_CASES})")
    p_conform.set_defaults(func=_cmd_conform)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
