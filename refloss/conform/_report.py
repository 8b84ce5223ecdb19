"""The table ``refloss conform`` prints, and the compact form of a reproducer."""

from __future__ import annotations

import json
import math

import numpy as np

from ._judge import Row, digits_left


def _ulps(x: float) -> str:
    if not math.isfinite(x):
        return "inf" if x > 0 else "nan"
    return f"{x:.1f}" if x < 1e4 else f"{x:.1e}"


def verdict_text(row: Row) -> str:
    if row.verdict == "peer loses precision" and row.digits is not None:
        return f"peer loses precision ({row.digits:.1f} of 16 digits left)"
    if row.verdict == "convention":
        return "convention: " + "; ".join(row.conventions)
    return row.verdict


def _array(x) -> str:
    return json.dumps(x).replace('"', "")


def reproducer_text(rep: dict, who: str = "peer") -> str:
    """``name(inputs...)``: the worst case in one line, with the element, the exact value and the peer's."""
    args = ", ".join(f"{k}={_array(v)}" for k, v in rep["kwargs"].items() if v is not None)
    where = f"{rep['output']}{rep['index'] if rep['index'] else ''}" if "output" in rep else ""
    out = f"({args})"
    if where:
        out += f": {where} exact {rep['exact']!r}, {who} {rep['peer']!r}"
    return out + (f" ({rep['detail']})" if rep.get("detail") else "")


def format_table(rows: list[Row], framework: str, version: str, conventions: dict[str, str]) -> str:
    """One line per peer function, then the evidence for every row that is not "agree"."""
    width = max(len(r.function) for r in rows)
    head = (f"{'function':<{width}}  {'refloss entry':<34} {'cases':>6} {'refloss':>7} {'value':>8} {'grad':>8}  "
            "verdict")
    lines = [f"{framework} {version} against the 50-digit oracle (errors: worst, in ulps of the policy)", "",
             head, "-" * len(head)]
    for r in rows:
        cases = f"{r.cases}" + (f"+{r.skipped}s" if r.skipped else "")
        ran = r.verdict != "unavailable"
        errors = [_ulps(x) if ran else "-" for x in (r.refloss_ulps, r.value_ulps, r.grad_ulps)]
        lines.append(f"{r.function:<{width}}  {r.entry:<34} {cases if ran else '-':>6} {errors[0]:>7} "
                     f"{errors[1]:>8} {errors[2]:>8}  {verdict_text(r)}")
    lines += ["", "(refloss: refloss's own worst error on the same cases; value, grad: the framework's. "
              "+Ns: cases the function's API cannot express, not judged)"]
    for r in rows:
        if r.verdict == "agree":
            continue
        lines += ["", f"{r.function}: {verdict_text(r)}"]
        if r.verdict == "unavailable":
            lines.append(f"  {r.detail}")
        for key, count in r.conventions.items():
            lines.append(f"  convention '{key}' ({count} case{'s' if count != 1 else ''}): {conventions.get(key, '')}")
        if r.reproducer:
            lines.append(f"  worst case {r.reproducer['case']}: {reproducer_text(r.reproducer)}")
    counts = {v: sum(r.verdict == v for r in rows) for v in dict.fromkeys(r.verdict for r in rows)}
    lines += ["", ", ".join(f"{n} {v}" for v, n in counts.items())]
    return "\n".join(lines)


def as_json(rows: list[Row], framework: str, version: str, cases: int) -> dict:
    """The record of one run: what the docs page is generated from and the tests compare a new run with."""
    from . import explanations, probe_exact

    entries = sorted({r.entry for r in rows})
    return {"framework": framework, "version": version, "numpy": np.__version__, "cases": cases,
            "conventions": explanations(), "probes": {e: probe_exact(e) for e in entries},
            "rows": [r.as_dict() for r in rows]}


# -- the docs page ------------------------------------------------------------------------------------------


def _floats(x) -> np.ndarray:
    return np.array([float(v) for v in (x if isinstance(x, list) else [x])], dtype=np.float64)


def correct_digits(got, exact, scale) -> float:
    """:func:`~refloss.conform._judge.digits_left` of a record's numbers (a float, a list, "nan"/"inf")."""
    return digits_left(_floats(got), _floats(exact), _floats(scale))


def _number(x) -> str:
    values = x if isinstance(x, list) else [x]
    return "[" + ", ".join(f"{float(v):.17g}" for v in values) + "]" if isinstance(x, list) else f"{float(x):.17g}"


def _rst_table(header: list[str], rows: list[list[str]]) -> list[str]:
    empty = "\\"  # an empty cell of a list-table
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header] + rows:
        out.append("   * - " + (row[0] or empty))
        out.extend("     - " + (cell or empty) for cell in row[1:])
    return out + [""]


def _title(text: str, char: str) -> list[str]:
    return [text, char * len(text), ""]


def _literal(text: str) -> str:
    return f"``{text}``"


def rst_page(records: list[dict]) -> str:
    """The page "Where frameworks depart from the math", from the records of ``refloss conform F --json``."""
    lines = _title("Where frameworks depart from the math", "=")
    lines += [
        "``refloss conform FRAMEWORK`` runs a framework's own implementations on refloss's golden cases and on",
        "drawn inputs and judges each against the 50-digit oracle of the matching refloss definition, with",
        "refloss judged alongside (:mod:`refloss.conform`). This page is generated from the records in",
        "``docs/conformance/`` (``make conformance`` writes them); the tests check that a fresh run gives the",
        "same verdicts. Verdicts: **agree** (every element within the tolerance policy); **convention** (a",
        "declared difference, listed at the end with its mapping); **peer loses precision** (small next to",
        "the terms it is computed from, or NaN/inf where the exact result is finite: the digits left are",
        "quoted); **mismatch** (anything else); **unavailable** (cannot run here, with the reason).",
        "",
        "Versions: " + "; ".join(f"{r['framework']} {r['version']}" for r in records)
        + f" (NumPy {records[0]['numpy']})." if records else "No records.",
        "",
    ]
    lines += _title("Summary", "-")
    summary = []
    for rec in records:
        for row in rec["rows"]:
            verdict = row["verdict"]
            if verdict == "peer loses precision" and row["digits"] is not None:
                verdict += f" ({row['digits']:.1f} digits left)"
            if row["conventions"]:
                verdict += "; convention: " + ", ".join(row["conventions"])
            summary.append([_literal(row["function"]), _literal(row["entry"]), str(row["cases"]), verdict])
    lines += _rst_table(["function", "refloss entry", "cases", "verdict"], summary)

    lines += _title("One input, every framework's answer", "-")
    lines += ["Each probe is one row where a float64 formula is known to lose digits "
              "(:mod:`refloss.conform.probes`). Digits: correct significant digits of the worst element, "
              "relative to the magnitude of the exact value plus its condition scale.", ""]
    probes: dict[tuple[str, str], dict] = {}
    for rec in records:
        for entry, labels in rec["probes"].items():
            for label, exact in labels.items():
                probes.setdefault((entry, label), {"exact": exact, "answers": []})
        for row in rec["rows"]:
            for label, answer in row.get("probes", {}).items():
                probes[(row["entry"], label)]["answers"].append((row["function"], answer))
    for (entry, label), probe in sorted(probes.items()):
        exact = probe["exact"]
        lines += _title(f"{entry}: {label}", "~")
        args = ", ".join(f"{k}={json.dumps(v).replace(chr(34), '')}" for k, v in exact["kwargs"].items())
        lines += [f"Exact ``{entry}({args})``: value {_literal(_number(exact['value']))}"
                  + "".join(f", gradient w.r.t. {k} {_literal(_number(g))}" for k, g in exact["grads"].items())
                  + ".", ""]
        rows = []
        for function, answer in probe["answers"]:
            if "error" in answer:
                rows.append([_literal(function), answer["error"], "", "", ""])
                continue
            value_digits = correct_digits(answer["value"], exact["value"], exact["value_scale"])
            grads = [(k, g) for k, g in answer["grads"].items() if k in exact["grads"]]
            grad_text = "; ".join(_number(g) for _, g in grads)
            grad_digits = min((correct_digits(g, exact["grads"][k], exact["grad_scales"][k]) for k, g in grads),
                              default=None)
            rows.append([_literal(function), _literal(_number(answer["value"])), f"{value_digits:.1f}",
                         _literal(grad_text) if grads else "(no gradient)",
                         "" if grad_digits is None else f"{grad_digits:.1f}"])
        lines += _rst_table(["function", "value", "digits", "gradient", "digits"], rows)

    lines += _title("Findings, function by function", "-")
    for rec in records:
        for row in rec["rows"]:
            if row["verdict"] == "agree":
                continue
            lines += _title(row["function"], "~")
            text = row["verdict"]
            if row["verdict"] == "peer loses precision" and row["digits"] is not None:
                text += f": {row['digits']:.1f} of 16 digits left at the worst case"
            lines += [f"{text.capitalize()} ({row['cases']} cases; refloss entry :func:`refloss.{row['entry']}`).", ""]
            if row["verdict"] == "unavailable":
                lines += [row["detail"], ""]
            for key, count in row["conventions"].items():
                lines += [f"- convention *{key}*: {count} case{'s' if count != 1 else ''}", ""]
            if row["reproducer"]:
                lines += ["Minimal reproducer (worst case found):", "", ".. code-block:: text", "",
                          "   " + _literal(row["reproducer"]["case"]).strip("`"),
                          "   " + reproducer_text(row["reproducer"]), ""]
    lines += _title("Declared conventions", "-")
    declared = {}
    for rec in records:
        declared.update(rec["conventions"])
    for key, text in sorted(declared.items()):
        lines += [f"**{key}**", f"   {text}", ""]
    lines += _title("How each framework is called", "-")
    lines += ["Every mapping between a framework's API and refloss's conventions is written once, in its "
              "adapter:", ""]
    for rec in records:
        lines += [f".. automodule:: refloss.conform.{rec['framework']}_peer", ""]
    lines += _title("API", "-")
    lines += [".. automodule:: refloss.conform", "   :members: run, PeerFunction, Convention, Output, Row", "",
              ".. automodule:: refloss.conform.conventions", "",
              ".. automodule:: refloss.conform.probes", "",
              ".. autofunction:: refloss.testing.assert_matches_reference", "",
              ".. autofunction:: refloss.testing.strategy", "",
              ".. autofunction:: refloss.testing.golden_cases", ""]
    return "\n".join(lines)
