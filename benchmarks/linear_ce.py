"""Linear cross-entropy on the CPU: wall time and peak memory of forward+backward, variant by variant.

The objective is the mean over rows of ``-log softmax(e @ c.T)[i, t_i]`` with its gradients with respect to
``e`` (n, d) and ``c`` (v, d), in float32.

Method. Each variant runs in a process of its own (this script, re-run with the hidden ``--child VARIANT``),
so that its peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``) is its own and no thread pool, JIT cache or
allocator state carries over from another variant. The child builds the inputs from
``numpy.random.default_rng(0)``: ``e`` standard normal, ``c`` standard normal times ``1/sqrt(d)`` (so the
logits are O(1)), targets uniform in ``[0, v)``; runs the variant once as warm-up (which also compiles any
Numba kernel) and then ``--repeats`` times; and prints one JSON line: the wall time of each timed run, their
median, the peak RSS and the loss. The parent prints a Markdown table. Two peaks are reported: ``peak RSS``
is ``ru_maxrss`` over the child's whole life (imports, inputs, warm-up and JIT compilation included); the
timed runs' peak is the kernel's high-water mark reset after the warm-up (``/proc/self/clear_refs``), which
leaves out one-off costs such as compiling. ``CPU/wall`` (process CPU time over wall time in the timed runs)
shows how many cores a row kept busy, and so whether another process was competing for them.

Reference rows. ``floor`` is the three GEMMs any forward+backward has to do (logits ``e @ c.T``; then, with
the logits standing in for the gradient of the logits, ``G @ c`` and ``G.T @ e``), into preallocated buffers;
``floor-forward`` is the forward GEMM alone. Forward+backward rows (``accel-numba-smoothed``: label
smoothing 0.1 without class weights, whose share of the gradient takes one more pass) are compared with
``floor``, forward-only rows (``accel-numba-forward``, ``accel-token-stats``) with ``floor-forward``, and
the distillation passes ``accel-linear-kl`` and ``accel-linear-kl-numpy`` (``accel.linear_kl`` of ``c``
against a teacher head drawn the same way, Numba and NumPy backends) with ``floor-kl``, the floor's three GEMMs
for each head. ``baseline``
imports NumPy and Numba and allocates and touches the inputs and the two gradients: the least RSS any variant
can have. ``baseline-torch`` does the same after importing torch: the least for the torch rows.
``baseline-accel`` does it with accel loaded and its Numba kernels run once on a tiny head (Numba's LLVM, SciPy's BLAS):
``accel-numba`` minus it is the working set of the call.

A variant whose dependency is missing (torch, torch's ``linear_cross_entropy``, an ``accel`` function)
is a row that says ``unavailable: <why>``; none is skipped silently.

Run it (the parent needs only the standard library; the children need NumPy, and torch/Numba/accel
for their rows)::

    python benchmarks/linear_ce.py --quick                # smoke test, a few seconds
    python benchmarks/linear_ce.py                        # n=2048 d=1024 v=32768
    python benchmarks/linear_ce.py --preset big-vocab --json big-vocab.json
    python benchmarks/linear_ce.py --variants floor,accel-numba --threads 1
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
from dataclasses import dataclass
from typing import Callable

import _harness as h

PRESETS = {
    "default": {"n": 2048, "d": 1024, "v": 32768},
    "big-vocab": {"n": 2048, "d": 1024, "v": 131072},
    "quick": {"n": 64, "d": 32, "v": 1000},
}


# ----------------------------------------------------------------------------------------------- child side
def make_inputs(n: int, d: int, v: int):
    import numpy as np

    rng = np.random.default_rng(0)
    e = rng.standard_normal((n, d), dtype=np.float32)
    c = rng.standard_normal((v, d), dtype=np.float32)
    c *= np.float32(1.0 / np.sqrt(d))
    targets = rng.integers(0, v, n)
    return e, c, targets


def loss_of(output) -> float | None:
    """The loss in a variant's output (a float, a tuple led by it, or a result with a ``loss`` field)."""
    import numpy as np

    if isinstance(output, tuple):
        output = getattr(output, "loss", None) if hasattr(output, "_fields") else output[0]
    if output is None:
        return None
    array = np.asarray(output)
    return float(array) if array.size == 1 else None


def build_floor(e, c, t):
    import numpy as np

    logits = np.empty((e.shape[0], c.shape[0]), np.float32)
    grad_e, grad_c = np.empty_like(e), np.empty_like(c)

    def run():
        np.matmul(e, c.T, out=logits)
        np.matmul(logits, c, out=grad_e)  # the logits stand in for dL/dlogits
        np.matmul(logits.T, e, out=grad_c)

    return run


def build_floor_forward(e, c, t):
    import numpy as np

    logits = np.empty((e.shape[0], c.shape[0]), np.float32)

    def run():
        np.matmul(e, c.T, out=logits)

    return run


def build_numpy_naive(e, c, t):
    import numpy as np

    n = e.shape[0]
    rows = np.arange(n)

    def run():
        logits = e @ c.T
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_probs[rows, t].mean()
        grad_logits = np.exp(log_probs)
        grad_logits[rows, t] -= 1.0
        grad_logits /= n
        return float(loss), grad_logits @ c, grad_logits.T @ e

    return run


def _torch_run(loss_fn, e, c, t):
    """``run()`` for a torch loss on the NumPy inputs (shared memory): fresh gradients each call."""
    import torch

    e_t, c_t, t_t = torch.from_numpy(e).requires_grad_(), torch.from_numpy(c).requires_grad_(), torch.from_numpy(t)

    def run():
        e_t.grad = c_t.grad = None
        loss = loss_fn(e_t, c_t, t_t)
        loss.backward()
        return loss.item()

    return run


def build_torch_materialised(e, c, t):
    import torch.nn.functional as F

    return _torch_run(lambda e_t, c_t, t_t: F.cross_entropy(F.linear(e_t, c_t), t_t), e, c, t)


def build_torch_chunked(e, c, t):
    import torch
    import torch.nn.functional as F

    fused, options = F.linear_cross_entropy, torch.nn.LinearCrossEntropyOptions()
    return _torch_run(lambda e_t, c_t, t_t: fused(e_t, c_t, t_t, options=options), e, c, t)


def _accel(name: str):
    h.use_repo_checkout()
    import accel

    return getattr(accel, name)


def build_accel(backend: str, **options):
    def build(e, c, t):
        fn = _accel("linear_cross_entropy")
        return lambda: fn(e, c, t, backend=backend, **options)

    return build


def build_token_stats(e, c, t):
    fn = _accel("token_stats")
    return lambda: fn(e, c, t, k=5, backend="numba")


def _teacher(c):
    """A second head for the distillation rows, drawn as ``c`` is (its own seed)."""
    import numpy as np

    teacher = np.random.default_rng(1).standard_normal(c.shape, dtype=c.dtype)
    teacher *= c.dtype.type(1.0 / np.sqrt(c.shape[1]))
    return teacher


def build_floor_kl(e, c, t):
    """The six GEMMs of a distillation pass: both heads' logits, and each head's G @ c and G.T @ e."""
    one_head = build_floor(e, c, t)
    other_head = build_floor(e, _teacher(c), t)

    def run():
        one_head()
        other_head()

    return run


def build_linear_kl(backend: str):
    def build(e, c, t):
        fn, teacher = _accel("linear_kl"), _teacher(c)
        return lambda: fn(e, c, teacher, backend=backend)

    return build


def build_baseline(with_torch: bool):
    def build(e, c, t):
        import numba  # noqa: F401 - its import is part of the baseline
        import numpy as np

        if with_torch:
            import torch  # noqa: F401

        for gradient in (np.empty_like(e), np.empty_like(c)):
            gradient.fill(1.0)  # touch every page: ru_maxrss keeps the high-water mark after they are freed
        return None

    return build


def build_baseline_accel(e, c, t):
    """The baseline with accel loaded and ready: its Numba kernels (loaded from Numba's cache or compiled),
    SciPy's BLAS and threadpoolctl, all run once on a tiny head. accel-numba's peak minus this one is the
    working set of the call itself (the chunk buffer and BLAS's packing space)."""
    import numpy as np

    fn, stats = _accel("linear_cross_entropy"), _accel("token_stats")
    tiny = np.ones((2, 3), dtype=e.dtype), np.ones((4, 3), dtype=e.dtype), np.array([0, 1])
    fn(*tiny, backend="numba")
    fn(*tiny, backend="numba", gradients=False)
    stats(*tiny, backend="numba")
    return build_baseline(with_torch=False)(e, c, t)


@dataclass(frozen=True)
class Variant:
    kind: str  # "fwd+bwd", "fwd", "kl fwd+bwd" (a distillation pass: two heads) or "memory"
    build: Callable


VARIANTS = {
    "floor": Variant("fwd+bwd", build_floor),
    "numpy-naive": Variant("fwd+bwd", build_numpy_naive),
    "torch-materialised": Variant("fwd+bwd", build_torch_materialised),
    "torch-chunked": Variant("fwd+bwd", build_torch_chunked),
    "accel-numpy": Variant("fwd+bwd", build_accel("numpy")),
    "accel-numba": Variant("fwd+bwd", build_accel("numba")),
    "accel-numba-smoothed": Variant("fwd+bwd", build_accel("numba", label_smoothing=0.1)),
    "floor-forward": Variant("fwd", build_floor_forward),
    "accel-numba-forward": Variant("fwd", build_accel("numba", gradients=False)),
    "accel-token-stats": Variant("fwd", build_token_stats),
    "floor-kl": Variant("kl fwd+bwd", build_floor_kl),
    "accel-linear-kl": Variant("kl fwd+bwd", build_linear_kl("numba")),
    "accel-linear-kl-numpy": Variant("kl fwd+bwd", build_linear_kl("numpy")),
    "baseline": Variant("memory", build_baseline(with_torch=False)),
    "baseline-torch": Variant("memory", build_baseline(with_torch=True)),
    "baseline-accel": Variant("memory", build_baseline_accel),
}
FLOOR_OF = {"fwd+bwd": "floor", "fwd": "floor-forward", "kl fwd+bwd": "floor-kl"}


def thread_counts() -> dict:
    """The thread pools this child ended up with (only those of libraries it imported)."""
    counts = {}
    if "torch" in sys.modules:
        counts["torch"] = sys.modules["torch"].get_num_threads()
    if "numba" in sys.modules:
        counts["numba"] = sys.modules["numba"].config.NUMBA_NUM_THREADS
    return counts


class PeakRss:
    """The child's peak RSS over its whole life (``ru_maxrss``) and over the timed runs alone.

    ``reset()``, called after the warm-up, lowers the kernel's high-water mark (VmHWM) to the current RSS by
    writing 5 to /proc/self/clear_refs (Linux); that lowers ``ru_maxrss`` too, so the peak before it is kept.
    """

    def __init__(self):
        self.before_reset_kib = 0
        self.was_reset = False

    @staticmethod
    def _maxrss_kib() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def reset(self) -> None:
        self.before_reset_kib = self._maxrss_kib()
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
            self.was_reset = True
        except OSError:
            pass

    def whole_life_mib(self) -> float:
        return max(self.before_reset_kib, self._maxrss_kib()) / 1024

    def timed_runs_mib(self) -> float | None:
        return self._maxrss_kib() / 1024 if self.was_reset else None


def child(args: argparse.Namespace) -> None:
    if args.threads is not None and args.child in ("torch-materialised", "torch-chunked", "baseline-torch"):
        import torch

        torch.set_num_threads(args.threads)
    e, c, t = make_inputs(args.n, args.d, args.v)
    peak = PeakRss()
    record, output = h.measure(lambda: VARIANTS[args.child].build(e, c, t), args.repeats, after_warmup=peak.reset)
    record.update(
        loss=loss_of(output),
        peak_rss_mib=peak.whole_life_mib(),
        timed_peak_rss_mib=peak.timed_runs_mib() if record.get("times_s") else None,
        threads=thread_counts(),
    )
    h.emit(record)


# ---------------------------------------------------------------------------------------------- parent side
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas() -> str:
    """NumPy's BLAS as its build configuration names it (NumPy >= 1.26), else ``"?"``."""
    try:
        import numpy as np

        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info.get('name', '?')} {info.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older NumPy prints instead of returning a dict
        return "?"


def machine_info() -> dict:
    import os

    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": h.version("numpy"),
        "blas": blas(),
        "numba": h.version("numba"),
        "torch": h.version("torch"),
        "load_average": os.getloadavg(),
    }


def header(args, machine: dict, sizes: dict) -> str:
    threads = f"{args.threads} (thread-pool variables set)" if args.threads else "as is"
    inputs_mib = 4 * (sizes["n"] * sizes["d"] + sizes["v"] * sizes["d"]) * 2 / 2**20
    return "\n".join(
        [
            "## Linear cross-entropy, CPU, float32",
            "",
            f"- machine: {machine['cpu']}, os.cpu_count() = {machine['cpu_count']}, {machine['platform']}; "
            f"Python {machine['python']}; numpy {machine['numpy']} (BLAS: {machine['blas']}); "
            f"numba {machine['numba'] or 'not installed'}; torch {machine['torch'] or 'not installed'}; "
            "load average at the end: " + ", ".join(f"{load:.2f}" for load in machine["load_average"]),
            f"- sizes: n={sizes['n']}, d={sizes['d']}, v={sizes['v']} ({sizes['preset']}); median of "
            f"{args.repeats} timed run(s) after 1 warm-up, each variant in its own process; threads: {threads}",
            f"- inputs + gradients: {inputs_mib:.1f} MiB (4·(n·d + v·d)·2 bytes); compare peak RSS with it and "
            "with the `baseline` rows",
            "- CPU/wall: process CPU time over wall time in the timed runs, the threads kept busy; well under "
            "the core count on a multi-threaded row means another process shared the cores",
            f"- command: `{h.command_line()}`",
        ]
    )


def table(results: dict[str, dict]) -> str:
    rows = []
    for name, record in results.items():
        kind = VARIANTS[name].kind
        status = h.status_text(record)
        if status:
            rows.append([name, kind, status, "", "", "", "", "", ""])
            continue
        time_cell = h.fmt(record.get("median_s"), ".4g")
        ratio = h.ratio(record, results.get(FLOOR_OF.get(kind, "")))
        ratio = f"{ratio} (vs {FLOOR_OF[kind]})" if ratio != "—" else ratio
        notes = "; ".join(record.get("warnings", []))
        rows.append(
            [
                name,
                kind,
                time_cell,
                ratio,
                h.fmt(record.get("peak_rss_mib"), ".0f"),
                h.fmt(record.get("timed_peak_rss_mib"), ".0f"),
                h.fmt(record.get("cpu_per_wall"), ".2f"),
                h.fmt(record.get("loss"), ".6f"),
                notes,
            ]
        )
    headers = ["variant", "pass", "median time (s)", "ratio to floor", "peak RSS (MiB)", "timed runs' peak RSS (MiB)"]
    headers += ["CPU/wall", "loss", "notes"]
    return h.markdown_table(headers, rows)


def parent(args: argparse.Namespace) -> None:
    names = h.variant_names(args, VARIANTS)
    args.repeats = args.repeats or (1 if args.quick else 3)
    sizes = h.resolve_sizes(PRESETS, "quick" if args.quick else args.preset, args)
    child_args = [f"--n={sizes['n']}", f"--d={sizes['d']}", f"--v={sizes['v']}", f"--repeats={args.repeats}"]
    if args.threads:
        child_args.append(f"--threads={args.threads}")
    results = {}
    for index, name in enumerate(names, 1):
        h.progress(f"[{index}/{len(names)}] {name} ...")
        record = h.spawn(__file__, name, child_args, args.timeout, h.thread_env(args.threads))
        results[name] = record
        timing = f"median {h.fmt(record.get('median_s'), '.4g')} s, " if record.get("median_s") else ""
        summary = h.status_text(record) or f"{timing}peak RSS {record['peak_rss_mib']:.0f} MiB"
        h.progress(f"[{index}/{len(names)}] {name}: {summary} (child {record.get('child_wall_s', 0):.1f} s)")
    machine = machine_info()
    print(header(args, machine, sizes) + "\n\n" + table(results))
    h.write_json(
        args.json,
        {
            "command": h.command_line(),
            "machine": machine,
            "sizes": sizes,
            "repeats": args.repeats,
            "threads": args.threads,
            "results": results,
        },
    )


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=["default", "big-vocab"], default="default")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (n=64 d=32 v=1000), 1 repeat: a smoke test")
    parser.add_argument("--n", type=int, help="rows (overrides the preset)")
    parser.add_argument("--d", type=int, help="hidden size (overrides the preset)")
    parser.add_argument("--v", type=int, help="vocabulary size (overrides the preset)")
    parser.add_argument("--repeats", type=int, help="timed runs per variant (default 3; 1 with --quick)")
    parser.add_argument("--variants", help=f"comma-separated subset of: {', '.join(VARIANTS)}")
    parser.add_argument("--threads", type=int, help="cap every thread pool (default: leave them as they are)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per child (default 900)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
