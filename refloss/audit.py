"""``refloss audit``: verify every registry entry with the three layers of verification.

For each entry:

* **gradient**: the closed-form gradient against five-point finite differences on hypothesis-drawn
  moderate inputs (error <= :data:`refloss.testing.GRAD_TOL`);
* **extreme**: value and gradient are finite on drawn extreme inputs (logits up to 1e4, -inf masks);
* **proof**: the entry's SymPy check ``proofs/check_<family>.py::<name>`` passes;
* **precision**: where the entry has an mpmath twin, the value agrees with it at 50 digits to
  :data:`refloss.golden.PRECISION_RTOL` on drawn moderate and extreme inputs;
* **golden**: values and gradients match the stored golden cases of the entry (if any) to
  :data:`refloss.golden.dataset.GOLDEN_ULPS` ulps.

Hypothesis runs derandomized (a fixed seed derived from each test), so an audit is reproducible and
a failure prints the falsifying example.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import golden, testing
from ._registry import Entry
from .golden import dataset


@dataclass
class AuditRow:
    name: str
    family: str
    grad_error: float | None = None
    extreme_ok: bool | None = None
    proof_ok: bool | None = None
    precision_error: float | None = None
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
        err = check(case)
        worst[0] = max(worst[0], err)

    prop()
    return worst[0]


def _failure_text(exc: BaseException) -> str:
    notes = "; ".join(getattr(exc, "__notes__", []))
    return f"{type(exc).__name__}: {exc}" + (f" [{notes}]" if notes else "")


def find_proofs_dir(start: Path | None = None) -> Path | None:
    """The ``proofs/`` folder of the source tree: searched from ``start`` (cwd) and from the package up."""
    candidates = [start or Path.cwd(), Path(__file__).resolve().parent]
    for base in candidates:
        for folder in (base, *base.parents):
            if (folder / "proofs").is_dir() and (folder / "refloss").is_dir():
                return folder / "proofs"
    return None


_PROOF_MODULES: dict[Path, object] = {}


def run_proof(entry: Entry, proofs_dir: Path) -> None:
    """Run the SymPy check named by ``entry.proof`` (``proofs/check_x.py::name``); raises on failure."""
    rel, check_name = entry.proof.split("::")
    path = proofs_dir.parent / rel
    if not path.is_file():
        raise AssertionError(f"proof script {rel} not found")
    if path not in _PROOF_MODULES:
        root = str(proofs_dir.parent)
        if root not in sys.path:  # the scripts import the ``proofs`` package (their shared helpers)
            sys.path.append(root)
        spec = importlib.util.spec_from_file_location(f"refloss_proof_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _PROOF_MODULES[path] = module
    checks = getattr(_PROOF_MODULES[path], "CHECKS", {})
    if check_name not in checks:
        raise AssertionError(f"{rel} has no check named {check_name!r}")
    checks[check_name]()


def _check_gradient(entry: Entry, case: dict) -> float:
    err = testing.gradient_error(entry, case)
    if not err <= testing.GRAD_TOL:
        raise AssertionError(f"gradient error {err:.3g} > {testing.GRAD_TOL:g}")
    return err


def _check_finite(entry: Entry, case: dict) -> float:
    testing.assert_finite(entry, case)
    return 0.0


def _check_precision(entry: Entry, case: dict) -> float:
    err = testing.precision_error(entry, case)
    if not err <= golden.PRECISION_RTOL:
        raise AssertionError(f"precision error {err:.3g} > {golden.PRECISION_RTOL:g}")
    return err


def audit_entry(entry: Entry, examples: int, proofs_dir: Path | None) -> AuditRow:
    row = AuditRow(entry.name, entry.family)
    start = time.perf_counter()
    if entry.strategy is None:
        row.failures.append("no hypothesis strategy registered")
    else:
        if entry.grad is not None:
            try:
                row.grad_error = _run_property(entry.strategy(False), lambda c: _check_gradient(entry, c), examples)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a row, the audit goes on
                row.grad_error = float("nan")
                row.failures.append("gradient: " + _failure_text(exc))
        try:
            _run_property(entry.strategy(True), lambda c: _check_finite(entry, c), examples)
            row.extreme_ok = True
        except Exception as exc:  # noqa: BLE001
            row.extreme_ok = False
            row.failures.append("extreme: " + _failure_text(exc))
        if entry.mp is not None:
            try:
                row.precision_error = max(
                    _run_property(entry.strategy(extreme), lambda c: _check_precision(entry, c), examples)
                    for extreme in (False, True)
                )
            except Exception as exc:  # noqa: BLE001
                row.precision_error = float("nan")
                row.failures.append("precision: " + _failure_text(exc))
    cases = [c for c in dataset.load() if c.name == entry.name]
    if cases:
        row.golden_ulps = max(dataset.case_error_ulps(c) for c in cases)
        if not row.golden_ulps <= dataset.GOLDEN_ULPS:
            row.failures.append(f"golden: {row.golden_ulps:.1f} ulps > {dataset.GOLDEN_ULPS}")
    if proofs_dir is None:
        row.proof_ok = False
        row.failures.append("proof: no proofs/ folder found (run from the source tree)")
    else:
        try:
            run_proof(entry, proofs_dir)
            row.proof_ok = True
        except Exception as exc:  # noqa: BLE001
            row.proof_ok = False
            row.failures.append("proof: " + _failure_text(exc))
    row.seconds = time.perf_counter() - start
    return row


def _progress(i: int, n: int, name: str, stream) -> None:
    width = 30
    done = int(width * i / n)
    end = "\n" if (i == n or not stream.isatty()) else ""
    stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {i}/{n} {name:<40}{end}")
    stream.flush()


def run_audit(entries: list[Entry], examples: int = 30, proofs_dir: Path | None = None,
              progress=sys.stderr) -> list[AuditRow]:
    proofs_dir = proofs_dir or find_proofs_dir()
    rows = []
    for i, entry in enumerate(entries):
        if progress is not None:
            _progress(i, len(entries), entry.name, progress)
        rows.append(audit_entry(entry, examples, proofs_dir))
    if progress is not None:
        _progress(len(entries), len(entries), "done", progress)
    return rows


def _fmt_err(x: float | None) -> str:
    return "-" if x is None else f"{x:.1e}"


def _fmt_ok(x: bool | None) -> str:
    return "-" if x is None else ("ok" if x else "FAIL")


def format_table(rows: list[AuditRow]) -> str:
    head = (f"{'name':<34} {'family':<15} {'grad err':>9} {'extreme':>7} {'proof':>5} {'precision':>9} "
            f"{'golden':>7} {'time':>6}  status")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.name:<34} {r.family:<15} {_fmt_err(r.grad_error):>9} {_fmt_ok(r.extreme_ok):>7} "
                     f"{_fmt_ok(r.proof_ok):>5} {_fmt_err(r.precision_error):>9} "
                     f"{'-' if r.golden_ulps is None else f'{r.golden_ulps:.1f}ulp':>7} {r.seconds:>5.1f}s  "
                     f"{'ok' if r.ok else 'FAIL'}")
    failed = [r for r in rows if not r.ok]
    lines.append("")
    lines.append(f"{len(rows) - len(failed)} passed, {len(failed)} failed "
                 f"(grad tol {testing.GRAD_TOL:g}, precision tol {golden.PRECISION_RTOL:g}, "
                 f"golden tol {dataset.GOLDEN_ULPS} ulps)")
    for r in failed:
        for f in r.failures:
            lines.append(f"  {r.name}: {f}")
    return "\n".join(lines)
