"""What the benchmark scripts share: one child process per variant, timing, and the Markdown table.

A script runs itself once per variant with ``--child VARIANT``; the child times the variant (``measure``)
and prints one JSON line on stdout (``emit``); the parent collects these lines (``spawn``) and prints a
Markdown table (``markdown_table``). Nothing here imports NumPy, torch or CuPy.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_ERROR_CHARS = 240
MAX_WARNINGS = 5


def use_repo_checkout() -> None:
    """Make ``accel`` and ``refloss`` importable from the checkout when they are not installed."""
    if str(REPO) not in sys.path:
        sys.path.append(str(REPO))


def describe(exc: BaseException) -> str:
    """One line naming the exception, short enough for a table cell."""
    text = " ".join(str(exc).split()) or "(no message)"
    line = f"{type(exc).__name__}: {text}"
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"


def _no_sync() -> None:
    pass


def measure(build, repeats: int, sync=_no_sync, after_warmup=_no_sync) -> tuple[dict, object]:
    """Build a variant, run it once as warm-up, then ``repeats`` timed runs; never raises.

    ``build()`` returns ``run`` (a callable with no arguments) or ``None`` for a variant that only
    allocates (a baseline). ``sync()`` waits for queued device work, before and after each timed run;
    ``after_warmup()`` is called between the warm-up and the timed runs (to reset a peak-memory counter).
    Returns the JSON-able record and the output of the last run (``None`` when it did not get that far).
    A failure while building or warming up is ``"unavailable"``; one in a timed run is ``"failed"``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run = build()
            output = run() if run is not None else None
            sync()
            after_warmup()
        except Exception as exc:  # noqa: BLE001 - any failure is reported in the table, never raised
            return {"status": "unavailable", "error": describe(exc)}, None
        times, cpu_times = [], []
        try:
            for _ in range(repeats if run is not None else 0):
                output = None  # let the previous run's outputs go before the next run allocates its own
                sync()
                start, cpu_start = time.perf_counter(), time.process_time()
                output = run()
                sync()
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu_start)
        except Exception as exc:  # noqa: BLE001
            return {"status": "failed", "error": describe(exc)}, None
    notes = sorted({describe(w.message) for w in caught})[:MAX_WARNINGS]
    record = {
        "status": "ok",
        "times_s": times,
        "median_s": statistics.median(times) if times else None,
        "cpu_times_s": cpu_times,  # all threads of the process: CPU / wall near 1 on a busy machine means contention
        "cpu_per_wall": sum(cpu_times) / sum(times) if times else None,
        "warnings": notes,
    }
    return record, output


def emit(record: dict) -> None:
    """The child's report: one JSON line on stdout (everything else a child says goes to stderr)."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def spawn(script: str, variant: str, child_args: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run ``script --child variant *child_args`` and return the JSON record it printed last."""
    command = [sys.executable, script, "--child", variant, *child_args]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        _relay(exc.stderr)
        return {"status": "failed", "error": f"timed out after {timeout:.0f} s"}
    _relay(done.stderr)
    record = _last_json_line(done.stdout)
    if record is None or done.returncode != 0:
        record = {"status": "failed", "error": _crash_reason(done)}
    record["child_wall_s"] = time.perf_counter() - start
    return record


def _relay(stderr: str | bytes | None) -> None:
    if isinstance(stderr, bytes):
        stderr = stderr.decode(errors="replace")
    for line in (stderr or "").splitlines():
        print(f"    | {line}", file=sys.stderr)


def _last_json_line(stdout: str) -> dict | None:
    for line in reversed(stdout.splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            return record
    return None


def _crash_reason(done: subprocess.CompletedProcess) -> str:
    if done.returncode < 0:
        reason = f"child killed by signal {-done.returncode}"
        return reason + (" (out of memory?)" if done.returncode == -9 else "")
    last = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
    return f"child exited {done.returncode}: {last[0][:MAX_ERROR_CHARS]}"


def thread_env(threads: int | None) -> dict | None:
    """The environment for children: unchanged, or every thread pool capped at ``threads``."""
    if threads is None:
        return None
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
    return {**os.environ, **dict.fromkeys(names, str(threads))}


def version(distribution: str) -> str | None:
    """Installed version of a distribution, without importing it."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def command_line() -> str:
    return shlex.join([Path(sys.executable).name, *sys.argv])


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cell(value) -> str:
    """A Markdown table cell: ``|`` escaped, no line breaks."""
    return " ".join(str(value).split()).replace("|", "\\|")


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def status_text(record: dict) -> str | None:
    """``"unavailable: why"`` / ``"failed: why"`` for a record that has no timing, else ``None``."""
    if record.get("status") == "ok":
        return None
    return f"{record.get('status', 'failed')}: {record.get('error', '?')}"


def ratio(record: dict, reference: dict | None) -> str:
    if record.get("median_s") is None or not reference or not reference.get("median_s"):
        return "—"
    return f"{record['median_s'] / reference['median_s']:.2f}"


def fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def write_json(path: str | None, report: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(report, indent=2) + "\n")
        progress(f"wrote {path}")


def resolve_sizes(presets: dict, preset: str, args) -> dict:
    """The preset's n, d, v, each overridden by ``--n``/``--d``/``--v`` when given; ``preset`` says which."""
    sizes = {**presets[preset], "preset": f"preset {preset}"}
    for key in ("n", "d", "v"):
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
            sizes["preset"] = f"preset {preset}, overridden"
    return sizes


def variant_names(args, variants: dict) -> list[str]:
    """The variants asked for with ``--variants`` (default: all), or exit naming the unknown ones."""
    names = args.variants.split(",") if args.variants else list(variants)
    unknown = [name for name in names if name not in variants]
    if unknown:
        sys.exit(f"unknown variant(s) {unknown}; known: {', '.join(variants)}")
    return names
