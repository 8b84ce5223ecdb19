"""``refloss audit``: every check the test suite runs on a registry entry, for any entry, on demand.

For each entry, all against its one definition (``proofs/<family>/<name>.py``, shipped as
:mod:`refloss.proofs`) and under the one tolerance policy (:mod:`refloss.tolerance`); each column is one
function of :mod:`refloss.checks`, the same that ``tests/test_registry.py`` and ``tests/test_fuzz.py`` run:

* **complete**: a doctest, the generated formulas in the docstrings, keyword-only parameters, the
  definition's (the paper's) defaults equal to the signature's and a stress point that relies on them;
* **proof**: the definition's symbolic proofs pass (SymPy's derivative of the definition equals the closed
  form the gradient implements, identities, limits), and the stored LaTeX is what the definition generates;
* **stress**: at every named stress point, the value and every gradient component (called through the entry)
  are within the policy of the 50-digit oracle, evaluated now; the column shows the worst, in ulps;
* **golden**: the entry's golden file is fresh and refloss matches every stored case;
* **certified**: every stored digit agrees with an enclosure of the exact value recomputed by an independent route
  (:func:`refloss.checks.check_digits`); the column shows how many stored values and gradient components are
  certified (proven digits) out of all (``--json``: the integer fields ``certified`` and ``uncertified``);
* **drawn**: the oracle on hypothesis-drawn moderate inputs of small shape;
* **fd**: the closed-form gradient against five-point finite differences of the float64 value, on drawn
  moderate inputs of any shape (error <= :data:`refloss.checks.GRAD_TOL`), independent of the definition;
* **extreme**: no NaN, and finite values and gradients wherever the entry cannot overflow, on drawn inputs
  with logits up to 1e4 and ``-inf`` masks;
* **shift**: invariance under a constant added to each row, for entries that declare it;
* **fuzz**: bad inputs raise :class:`~refloss.RefLossError` naming the argument, and the oracle at extreme
  finite inputs (logits to 1.7e308, a mean whose sum overflows, huge parameters, a masked target), the
  inputs are not modified, and :func:`refloss.value_and_grad` gives exactly the separate value and gradient at
  every stress point.

The two tiers of the test suite are the audit's too (:data:`refloss.checks.TIERS`): ``--tier full`` (the
default) recomputes the oracle at every stress point and draws 25 examples per property; ``--tier default``
trusts the fresh golden file for the stress points (the golden column still checks it) and draws 5. Hypothesis
runs derandomized with the seed of :func:`refloss.checks.run_property`, so the audit draws the same examples as
the tests of the same tier, is reproducible, and a failure prints the falsifying example.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field

from . import checks
from ._progress import progress_bar
from ._registry import Entry


@dataclass
class AuditRow:
    name: str
    family: str
    complete_ok: bool | None = None
    proof_ok: bool | None = None
    stress_ulps: float | None = None
    golden_ulps: float | None = None
    certified: int | None = None
    uncertified: int | None = None
    drawn_ulps: float | None = None
    grad_error: float | None = None
    extreme_ok: bool | None = None
    shift_error: float | None = None
    fuzz_ulps: float | None = None
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def _failure_text(exc: BaseException) -> str:
    notes = "; ".join(getattr(exc, "__notes__", []))
    return f"{type(exc).__name__}: {exc}" + (f" [{notes}]" if notes else "")


def _fuzz(entry: Entry, live: bool) -> float:
    checks.check_bad_input(entry)
    checks.check_unmodified(entry)
    checks.check_value_and_grad(entry)
    return checks.check_extreme_oracle(entry, live)


def audit_entry(entry: Entry, tier: str = "full", examples: int | None = None) -> AuditRow:
    """Every check of ``tier`` on ``entry`` (``examples`` overrides the tier's count of drawn examples)."""
    examples = checks.TIERS[tier] if examples is None else examples
    row = AuditRow(entry.name, entry.family)
    start = time.perf_counter()

    def attempt(label, check):
        try:
            return check()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a row, the audit goes on
            row.failures.append(f"{label}: {_failure_text(exc)}")
            return None

    row.complete_ok = attempt("complete", lambda: checks.check_complete(entry) or True) is True
    row.proof_ok = attempt("proof", lambda: checks.check_proof(entry) or True) is True
    if tier == "full":
        row.stress_ulps = attempt("stress", lambda: checks.check_stress(entry))
    row.golden_ulps = attempt("golden", lambda: checks.check_golden(entry))
    row.certified, row.uncertified = attempt("certified", lambda: checks.check_digits(entry)) or (None, None)
    row.drawn_ulps = attempt("drawn", lambda: checks.check_drawn(entry, examples))
    row.grad_error = attempt("fd", lambda: checks.check_fd(entry, examples))
    row.extreme_ok = attempt("extreme", lambda: checks.check_finite(entry, examples)) is True
    row.shift_error = attempt("shift", lambda: checks.check_shift(entry, examples))
    row.fuzz_ulps = attempt("fuzz", lambda: _fuzz(entry, live=tier == "full"))
    row.seconds = time.perf_counter() - start
    return row


def run_audit(entries: list[Entry], tier: str = "full", examples: int | None = None,
              progress=sys.stderr) -> list[AuditRow]:
    rows = []
    for i, entry in enumerate(entries):
        if progress is not None:
            progress_bar(i, len(entries), entry.name, progress)
        rows.append(audit_entry(entry, tier, examples))
    if progress is not None:
        progress_bar(len(entries), len(entries), "done", progress)
    return rows


def _fmt(x, kind: str) -> str:
    if x is None:
        return "-"
    if kind == "ok":
        return "ok" if x else "FAIL"
    return f"{x:.1f}" if kind == "ulps" else f"{x:.1e}"


def _certified(row: AuditRow) -> str:
    return "-" if row.certified is None else f"{row.certified}/{row.certified + row.uncertified}"


def format_table(rows: list[AuditRow], entries: list[Entry] | None = None) -> str:
    head = (f"{'name':<34} {'family':<15} {'complete':>8} {'proof':>5} {'stress':>7} {'golden':>7} {'certified':>11} "
            f"{'drawn':>7} "
            f"{'fd':>8} {'extreme':>7} {'shift':>8} {'fuzz':>7} {'time':>6}  status")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.name:<34} {r.family:<15} {_fmt(r.complete_ok, 'ok'):>8} {_fmt(r.proof_ok, 'ok'):>5} "
                     f"{_fmt(r.stress_ulps, 'ulps'):>7} {_fmt(r.golden_ulps, 'ulps'):>7} "
                     f"{_certified(r):>11} "
                     f"{_fmt(r.drawn_ulps, 'ulps'):>7} "
                     f"{_fmt(r.grad_error, 'e'):>8} {_fmt(r.extreme_ok, 'ok'):>7} {_fmt(r.shift_error, 'e'):>8} "
                     f"{_fmt(r.fuzz_ulps, 'ulps'):>7} {r.seconds:>5.1f}s  {'ok' if r.ok else 'FAIL'}")
    failed = [r for r in rows if not r.ok]
    from .tolerance import ULPS

    lines.append("")
    lines.append(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    lines.append(f"(stress, golden, drawn, fuzz: worst error in ulps of max(|exact| + condition scale, tiny), "
                 f"tolerance {ULPS}; certified: stored values and gradient components whose digits are proven, "
                 f"of all; fd: finite-difference error, tolerance {checks.GRAD_TOL:g}; shift: relative change)")
    for e in entries or []:
        if e.tolerance.reason:
            lines.append(f"  {e.name}: tolerance {e.tolerance.ulps:g} ulps: {e.tolerance.reason}")
    for r in failed:
        for f in r.failures:
            lines.append(f"  {r.name}: {f}")
    return "\n".join(lines)
