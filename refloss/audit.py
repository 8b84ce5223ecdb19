"""``refloss audit``: verify every registry entry with the three layers of verification.

For each entry, all against its one definition (``proofs/check_<family>.py``, shipped as
:mod:`refloss.proofs`) and under the one tolerance policy (:mod:`refloss.tolerance`):

* **proof**: the definition's symbolic proofs pass (SymPy's derivative of the definition equals the closed
  form the gradient implements, identities, limits), and the registered ``formula`` and ``gradient`` LaTeX
  are exactly what the definition generates;
* **stress**: at every named stress point of the entry, the value and every gradient component (called
  through the entry) are within the policy of the 50-digit oracle; the column shows the worst, in ulps;
* **drawn**: the same on hypothesis-drawn moderate inputs of small shape;
* **fd**: the closed-form gradient against five-point finite differences of the float64 value, on drawn
  moderate inputs of any shape (error <= :data:`refloss.testing.GRAD_TOL`), independent of the definition;
* **extreme**: no NaN, and finite values and gradients wherever the entry cannot overflow, on drawn inputs
  with logits up to 1e4 and ``-inf`` masks;
* **golden**: the entry's stored golden file (:mod:`refloss.golden.dataset`) matches, under the policy.

Hypothesis runs derandomized (a fixed seed derived from each check), so an audit is reproducible and a
failure prints the falsifying example.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field

from . import _cases, testing
from ._progress import progress_bar
from ._registry import Entry
from .golden import dataset


@dataclass
class AuditRow:
    name: str
    family: str
    proof_ok: bool | None = None
    stress_ulps: float | None = None
    drawn_ulps: float | None = None
    grad_error: float | None = None
    extreme_ok: bool | None = None
    golden_ulps: float | None = None
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def _run_property(strategy, check, max_examples: int) -> float:
    """Run ``check(case)`` on drawn cases; returns the largest value it returned, raises on failure."""
    from hypothesis import HealthCheck, given, settings

    worst = [0.0]

    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(case):
        worst[0] = max(worst[0], check(case))

    prop()
    return worst[0]


def _failure_text(exc: BaseException) -> str:
    notes = "; ".join(getattr(exc, "__notes__", []))
    return f"{type(exc).__name__}: {exc}" + (f" [{notes}]" if notes else "")


def check_proof(entry: Entry) -> None:
    """The definition's symbolic proofs, and the registered LaTeX against the generated one."""
    from .proofs._support import definition_of, latex

    definition = definition_of(entry)
    for field_name, generated in (("formula", definition.formula()), ("gradient", definition.gradient_formula())):
        expected = latex(generated) if generated is not None else ""
        if getattr(entry, field_name) != expected:
            raise AssertionError(f"the registered {field_name} differs from the definition's; it should read "
                                 f"r\"{expected}\" (python -m refloss.proofs latex {entry.name})")
    definition.prove()


def check_stress(entry: Entry) -> float:
    """The worst policy error over the entry's stress points (raises naming the first failing one)."""
    worst = 0.0
    for case_id, case in entry.stress_cases().items():
        try:
            worst = max(worst, testing.oracle_error(entry, case))
        except AssertionError as exc:
            raise AssertionError(f"stress point {case_id}: {exc}") from None
    return worst


def check_golden(entry: Entry) -> float:
    worst = 0.0
    for case in dataset.load(entry.name):
        err = dataset.case_error_ulps(case)
        if not err <= entry.tolerance.ulps:
            raise AssertionError(f"{case.id}: {err:.3g} ulps > {entry.tolerance.ulps:g}")
        worst = max(worst, err)
    return worst


def _check_gradient(entry: Entry, case: dict) -> float:
    err = testing.gradient_error(entry, case)
    if not err <= testing.GRAD_TOL:
        raise AssertionError(f"gradient error {err:.3g} > {testing.GRAD_TOL:g}")
    return err


def _check_extreme(entry: Entry, case: dict) -> float:
    testing.assert_finite(entry, case)
    return 0.0


def audit_entry(entry: Entry, examples: int) -> AuditRow:
    row = AuditRow(entry.name, entry.family)
    start = time.perf_counter()

    def attempt(label, check):
        try:
            return check()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a row, the audit goes on
            row.failures.append(f"{label}: {_failure_text(exc)}")
            return None

    row.proof_ok = attempt("proof", lambda: check_proof(entry) or True) is True
    row.stress_ulps = attempt("stress", lambda: check_stress(entry))

    def drawn():
        with _cases.small_shapes():
            return _run_property(_cases.strategy(entry, False), lambda c: testing.oracle_error(entry, c),
                                 max(1, examples // 3))

    row.drawn_ulps = attempt("drawn", drawn)
    if entry.grad is not None:
        row.grad_error = attempt("fd", lambda: _run_property(_cases.strategy(entry, False),
                                                             lambda c: _check_gradient(entry, c), examples))
    row.extreme_ok = attempt("extreme", lambda: _run_property(_cases.strategy(entry, True),
                                                              lambda c: _check_extreme(entry, c), examples)) == 0.0
    row.golden_ulps = attempt("golden", lambda: check_golden(entry))
    row.seconds = time.perf_counter() - start
    return row


def run_audit(entries: list[Entry], examples: int = 30, progress=sys.stderr) -> list[AuditRow]:
    rows = []
    for i, entry in enumerate(entries):
        if progress is not None:
            progress_bar(i, len(entries), entry.name, progress)
        rows.append(audit_entry(entry, examples))
    if progress is not None:
        progress_bar(len(entries), len(entries), "done", progress)
    return rows


def _fmt(x, kind: str) -> str:
    if x is None:
        return "-"
    if kind == "ok":
        return "ok" if x else "FAIL"
    return f"{x:.1f}" if kind == "ulps" else f"{x:.1e}"


def format_table(rows: list[AuditRow], entries: list[Entry] | None = None) -> str:
    head = (f"{'name':<34} {'family':<15} {'proof':>5} {'stress':>7} {'drawn':>7} {'fd':>8} {'extreme':>7} "
            f"{'golden':>7} {'time':>6}  status")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.name:<34} {r.family:<15} {_fmt(r.proof_ok, 'ok'):>5} {_fmt(r.stress_ulps, 'ulps'):>7} "
                     f"{_fmt(r.drawn_ulps, 'ulps'):>7} {_fmt(r.grad_error, 'e'):>8} {_fmt(r.extreme_ok, 'ok'):>7} "
                     f"{_fmt(r.golden_ulps, 'ulps'):>7} {r.seconds:>5.1f}s  {'ok' if r.ok else 'FAIL'}")
    failed = [r for r in rows if not r.ok]
    from .tolerance import ULPS

    lines.append("")
    lines.append(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    lines.append(f"(stress, drawn, golden: worst error in ulps of max(|exact| + condition scale, tiny), "
                 f"tolerance {ULPS}; fd: finite-difference error, tolerance {testing.GRAD_TOL:g})")
    for e in entries or []:
        if e.tolerance.reason:
            lines.append(f"  {e.name}: tolerance {e.tolerance.ulps:g} ulps: {e.tolerance.reason}")
    for r in failed:
        for f in r.failures:
            lines.append(f"  {r.name}: {f}")
    return "\n".join(lines)
