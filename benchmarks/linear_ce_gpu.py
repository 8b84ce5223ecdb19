"""Linear cross-entropy on a CUDA GPU: wall time, peak device memory and accuracy of forward+backward.

The objective is the mean over rows of ``-log softmax(e @ c.T)[i, t_i]`` with its gradients with respect to
``e`` (n, d) and ``c`` (v, d); default sizes n=8192, d=2304, v=256000 (a Gemma-2-like head), float32 unless
``--dtype bfloat16``.

Method. Each variant runs in a process of its own (this script re-run with the hidden ``--child VARIANT``), so
that its peak memory and CUDA context are its own. The child makes the inputs on the GPU with
``torch.manual_seed(0)``: ``e = randn(n, d)``, ``c = randn(v, d) / sqrt(d)`` (logits O(1)), targets uniform
in ``[0, v)``, cast to ``--dtype``; the CuPy variant sees the same memory through DLPack. It runs the variant
once as warm-up (compiling Triton kernels and ``torch.compile`` graphs), then ``--repeats`` times, each run
timed with wall clock between two device synchronisations, and prints one JSON line. The parent prints a
Markdown table.

Peak memory is that of the timed runs: ``torch.cuda.max_memory_allocated()`` with its counter reset after the
warm-up, so the inputs (and the warm-up's outputs, freed before the first timed run) are included, while the
one-off allocations of compiling and autotuning are not; the JSON keeps the warm-up's peak as
``warmup_peak_mem_mib``. ``accel-cupy`` reports the torch-held inputs plus the high-water mark of bytes handed
out by CuPy's memory pool (a ``cupy.cuda.MemoryHook``, reset in the same way); ``pool.total_bytes()`` (held,
cached blocks included) goes to the JSON under ``reserved_mib``.

Accuracy (skip with ``--no-check``): after timing, each child recomputes loss and both gradients in float64
from its own (``--dtype``) inputs, in row blocks so the float64 logits never exist whole, and reports the max
abs difference of its loss, grad_e and grad_c from that reference. In float32 note that Triton kernels
(cut-cross-entropy, Liger) use TF32 in ``tl.dot`` by default, while torch and CuPy GEMMs do not unless
``--tf32`` is given.

Variants. ``floor``: the three GEMMs any forward+backward has to do (logits, then ``G @ c`` and ``G.T @ e``
with the logits standing in for G) into preallocated buffers; every row's ratio is to it.
``torch-materialised``: ``F.linear`` then ``F.cross_entropy``, ``backward()``; ``torch-compile``: the same
under ``torch.compile``; ``torch-chunked``: ``F.linear_cross_entropy(..., options=LinearCrossEntropyOptions())``
(torch >= 2.13). ``cce``: cut-cross-entropy's ``linear_cross_entropy`` with its defaults (gradient filtering
on); ``cce-exact``: its ``impl="cce_exact"`` where the installed version has one (25.1.1 has only ``cce`` and
``torch_compile``); ``cce-nofilter``: ``filter_eps=None``, no gradient filtering. ``liger``: Liger's fused
linear cross-entropy, arguments ordered by the installed signature. ``accel-cupy``:
``accel.linear_cross_entropy(..., backend="cupy")`` on DLPack views of the same tensors; ``accel-cupy-1024``:
the same with 1024 threads per row instead of 256 (more loads in flight per row: a test of whether the row
step's passes wait on memory latency). A variant whose
package, function or implementation is missing, or that fails to compile, is a row that says
``unavailable: <why>``; each child's wall time goes to stderr, with the total.

Run it (on the GPU machine, offline: install the wheels kept in ``.whl/`` first)::

    python -m pip install --no-index --no-deps .whl/*.whl
    python benchmarks/linear_ce_gpu.py --quick                  # smoke test
    python benchmarks/linear_ce_gpu.py --json gpu.json          # n=8192 d=2304 v=256000, float32
    python benchmarks/linear_ce_gpu.py --dtype bfloat16 --variants floor,torch-materialised,cce,liger
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
import time
from typing import Callable

import _harness as h

PRESETS = {
    "default": {"n": 8192, "d": 2304, "v": 256000},
    "quick": {"n": 256, "d": 128, "v": 4096},
}
PACKAGES = (
    "torch",
    "triton",
    "cupy",
    "cupy-cuda12x",
    "cupy-cuda13x",
    "numba-cuda",
    "cut-cross-entropy",
    "liger-kernel",
)
WHEELS_HINT = "offline: python -m pip install --no-index --no-deps .whl/*.whl"
REFERENCE_BLOCK_BYTES = 2**31  # float64 logits per block of the reference


class Unavailable(RuntimeError):
    """The installed package lacks what the variant needs."""


# ----------------------------------------------------------------------------------------------- child side
def make_inputs(n: int, d: int, v: int, dtype: str, device: str):
    import torch

    torch.manual_seed(0)
    e = torch.randn(n, d, device=device)
    c = torch.randn(v, d, device=device).mul_(1.0 / math.sqrt(d))
    t = torch.randint(0, v, (n,), device=device)
    e, c = e.to(getattr(torch, dtype)), c.to(getattr(torch, dtype))
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return e, c, t


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        cupy.cuda.Device().synchronize()


def _import(module: str, hint: str = WHEELS_HINT):
    """Import ``module``; a missing package says how to get it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise Unavailable(f"{exc} ({hint})") from exc


def _autograd_run(loss_fn: Callable, e, c, t):
    """``run()`` for a torch loss: fresh gradients each call, returns (loss, grad_e, grad_c)."""
    e.requires_grad_()
    c.requires_grad_()

    def run():
        e.grad = c.grad = None
        loss = loss_fn(e, c, t)
        loss = getattr(loss, "loss", loss)  # a result object with a loss field
        loss = loss[0] if isinstance(loss, tuple) else loss
        loss.backward()
        return loss.detach(), e.grad, c.grad

    return run


def _materialised(e, c, t):
    import torch.nn.functional as F

    return F.cross_entropy(F.linear(e, c), t)


def build_floor(e, c, t):
    import torch

    logits = torch.empty(e.shape[0], c.shape[0], dtype=e.dtype, device=e.device)
    grad_e, grad_c = torch.empty_like(e), torch.empty_like(c)

    def run():
        torch.matmul(e, c.T, out=logits)
        torch.matmul(logits, c, out=grad_e)  # the logits stand in for dL/dlogits
        torch.matmul(logits.T, e, out=grad_c)

    return run


def build_torch_materialised(e, c, t):
    return _autograd_run(_materialised, e, c, t)


def build_torch_compile(e, c, t):
    import torch

    return _autograd_run(torch.compile(_materialised), e, c, t)


def build_torch_chunked(e, c, t):
    import torch
    import torch.nn.functional as F

    fused, options = F.linear_cross_entropy, torch.nn.LinearCrossEntropyOptions()
    return _autograd_run(lambda e_, c_, t_: fused(e_, c_, t_, options=options), e, c, t)


def build_cce(impl: str | None = None, exact_gradients: bool = False):
    """cut-cross-entropy's ``linear_cross_entropy``: its default, a named ``impl``, or no gradient filter."""

    def build(e, c, t):
        cce = _import("cut_cross_entropy")
        fn = cce.linear_cross_entropy
        parameters = inspect.signature(fn).parameters
        kwargs = {}
        if impl is not None:
            names = [member.name.lower() for member in getattr(cce, "LinearCrossEntropyImpl", [])]
            if "impl" not in parameters or impl not in names:
                raise Unavailable(f"cut-cross-entropy {h.version('cut-cross-entropy')} has no impl {impl!r} ({names})")
            kwargs["impl"] = impl
        if exact_gradients:
            if "filter_eps" not in parameters:
                raise Unavailable(f"cut-cross-entropy {h.version('cut-cross-entropy')} has no filter_eps")
            kwargs["filter_eps"] = None
        return _autograd_run(lambda e_, c_, t_: fn(e_, c_, t_, **kwargs), e, c, t)

    return build


LIGER_ROLES = {"input": "e", "_input": "e", "x": "e", "weight": "c", "lin_weight": "c", "target": "t"}


def _liger_function():
    """Liger's functional API if present, else its autograd Function; with the signature to inspect."""
    try:
        functional = _import("liger_kernel.transformers.functional")
        return functional.liger_fused_linear_cross_entropy, functional.liger_fused_linear_cross_entropy
    except (Unavailable, ImportError, AttributeError):
        ops = _import("liger_kernel.ops.fused_linear_cross_entropy")
        function = ops.LigerFusedLinearCrossEntropyFunction
        return function.apply, function.forward


def build_liger(e, c, t):
    fn, signature_of = _liger_function()
    names = [name for name in inspect.signature(signature_of).parameters if name != "ctx"][:3]
    roles = [LIGER_ROLES.get(name) for name in names]
    if sorted(roles, key=str) != ["c", "e", "t"]:
        raise Unavailable(f"liger-kernel {h.version('liger-kernel')}: leading parameters {names} not understood")
    return _autograd_run(lambda e_, c_, t_: fn(*({"e": e_, "c": c_, "t": t_}[role] for role in roles)), e, c, t)


def _start_pool_high_water():
    """A CuPy memory hook, entered: ``.peak`` is the most bytes the memory pool has handed out at once."""
    import cupy

    class HighWater(cupy.cuda.MemoryHook):
        name = "benchmark-high-water"

        def __init__(self):
            self.current = self.peak = 0

        def malloc_postprocess(self, **kwargs):
            self.current += kwargs["mem_size"]
            self.peak = max(self.peak, self.current)

        def free_postprocess(self, **kwargs):
            self.current -= kwargs["mem_size"]

    hook = HighWater()
    hook.__enter__()
    return hook


MEMORY: dict = {}  # the CuPy pool and its hook (accel-cupy only), the warm-up peak


def build_accel_cupy(threads: int | None = None):
    """``accel.linear_cross_entropy(..., backend="cupy")``; ``threads``: the row step's threads per block, set
    before its kernels compile (default: accel's own)."""

    def build(e, c, t):
        cupy = _import("cupy", "the gpu extra: pip install 'refloss[gpu]'")
        h.use_repo_checkout()
        import accel
        from accel import _cupy_kernels

        if threads is not None:
            _cupy_kernels._THREADS = threads
        fn = accel.linear_cross_entropy
        MEMORY["pool"] = cupy.get_default_memory_pool()
        MEMORY["high_water"] = _start_pool_high_water()
        e_cp, c_cp, t_cp = (cupy.from_dlpack(x) for x in (e, c, t))
        return lambda: fn(e_cp, c_cp, t_cp, backend="cupy")

    return build


VARIANTS = {
    "floor": build_floor,
    "torch-materialised": build_torch_materialised,
    "torch-compile": build_torch_compile,
    "torch-chunked": build_torch_chunked,
    "cce": build_cce(),
    "cce-exact": build_cce(impl="cce_exact"),
    "cce-nofilter": build_cce(exact_gradients=True),
    "liger": build_liger,
    "accel-cupy": build_accel_cupy(),
    "accel-cupy-1024": build_accel_cupy(threads=1024),
}


def _peak_bytes() -> int:
    """The most device memory held at once since the last reset: torch's allocator plus CuPy's pool."""
    import torch

    return torch.cuda.max_memory_allocated() + (MEMORY["high_water"].peak if "high_water" in MEMORY else 0)


def reset_peak() -> None:
    """Called after the warm-up: keep its peak, then restart both counters from what is held now."""
    import torch

    if not torch.cuda.is_available():
        return
    MEMORY["warmup_peak"] = _peak_bytes()
    torch.cuda.reset_peak_memory_stats()
    if "high_water" in MEMORY:
        MEMORY["high_water"].peak = MEMORY["high_water"].current


def memory_record() -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"peak_mem_mib": None, "reserved_mib": None, "cupy": False}
    reserved = torch.cuda.max_memory_reserved() + (MEMORY["pool"].total_bytes() if "pool" in MEMORY else 0)
    return {
        "peak_mem_mib": _peak_bytes() / 2**20,
        "warmup_peak_mem_mib": MEMORY.get("warmup_peak", 0) / 2**20,
        "reserved_mib": reserved / 2**20,
        "cupy": "pool" in MEMORY,
    }


def _as_torch(value):
    import torch

    if torch.is_tensor(value):
        return value
    if hasattr(value, "__dlpack__"):
        return torch.from_dlpack(value)
    return torch.tensor(float(value))


def reference64(e, c, t):
    """Loss, grad_e and grad_c in float64, a block of rows at a time."""
    import torch

    e64, c64 = e.detach().double(), c.detach().double()
    n, v = e.shape[0], c.shape[0]
    grad_e, grad_c = torch.empty_like(e64), torch.zeros_like(c64)
    total = torch.zeros((), dtype=torch.float64, device=e.device)
    block = max(1, REFERENCE_BLOCK_BYTES // (8 * v))
    for start in range(0, n, block):
        rows, targets = slice(start, start + block), t[start : start + block]
        logits = e64[rows] @ c64.T
        lse = torch.logsumexp(logits, dim=1)
        total += (lse - logits.gather(1, targets[:, None])[:, 0]).sum()
        grad_logits = logits.sub_(lse[:, None]).exp_()
        grad_logits[torch.arange(len(targets), device=e.device), targets] -= 1.0
        grad_logits /= n
        grad_e[rows] = grad_logits @ c64
        grad_c.addmm_(grad_logits.T, e64[rows])
    return total / n, grad_e, grad_c


def _max_abs_diff(value, reference, block: int = 4096) -> float:
    value = value.reshape(reference.shape)
    return max(
        float((value[i : i + block].double() - reference[i : i + block]).abs().max())
        for i in range(0, max(1, reference.shape[0]), block)
    )


def accuracy(output, e, c, t) -> dict:
    """Max abs differences of (loss, grad_e, grad_c) from the float64 reference, and the reference's scale."""
    loss, grad_e, grad_c = (_as_torch(value) for value in tuple(output)[:3])
    ref_loss, ref_e, ref_c = reference64(e, c, t)
    return {
        "loss": float(loss),
        "ref_loss": float(ref_loss),
        "diff_loss": abs(float(loss) - float(ref_loss)),
        "diff_grad_e": _max_abs_diff(grad_e, ref_e),
        "diff_grad_c": _max_abs_diff(grad_c, ref_c),
        "ref_max_grad_e": float(ref_e.abs().max()),
        "ref_max_grad_c": float(ref_c.abs().max()),
    }


def device_record() -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"name": "no CUDA device (smoke test)", "capability": "-", "memory_gib": 0, "cuda": None, "tf32": False}
    props = torch.cuda.get_device_properties(0)
    return {
        "name": props.name,
        "capability": f"{props.major}.{props.minor}",
        "memory_gib": props.total_memory / 2**30,
        "cuda": torch.version.cuda,
        "tf32": torch.get_float32_matmul_precision() != "highest",
    }


def child(args: argparse.Namespace) -> None:
    import torch

    if args.tf32:
        torch.set_float32_matmul_precision("high")
    e, c, t = make_inputs(args.n, args.d, args.v, args.dtype, args.device)
    record, output = h.measure(lambda: VARIANTS[args.child](e, c, t), args.repeats, sync, after_warmup=reset_peak)
    record.update(memory_record(), dtype=args.dtype, device=device_record())
    if output is not None and args.check:
        try:
            record["accuracy"] = accuracy(output, e, c, t)
        except Exception as exc:  # noqa: BLE001 - the timing stands; say why the check did not
            record["accuracy_error"] = h.describe(exc)
    h.emit(record)


# ---------------------------------------------------------------------------------------------- parent side
def header(args, sizes: dict, results: dict) -> str:
    device = next((r["device"] for r in results.values() if "device" in r), None)
    device_text = (
        f"{device['name']} (sm {device['capability']}, {device['memory_gib']:.0f} GiB), CUDA {device['cuda']}, "
        f"TF32 matmul {'on' if device['tf32'] else 'off'}"
        if device
        else "no child reached the device"
    )
    packages = ", ".join(f"{name} {h.version(name)}" for name in PACKAGES if h.version(name))
    itemsize = 2 if args.dtype == "bfloat16" else 4
    inputs_mib = itemsize * (sizes["n"] * sizes["d"] + sizes["v"] * sizes["d"]) * 2 / 2**20
    scales = next((r["accuracy"] for r in results.values() if "accuracy" in r), None)
    scale_text = (
        f"; reference loss {scales['ref_loss']:.6f}, max|grad_e| {scales['ref_max_grad_e']:.3g}, "
        f"max|grad_c| {scales['ref_max_grad_c']:.3g}"
        if scales
        else ""
    )
    return "\n".join(
        [
            f"## Linear cross-entropy, GPU, {args.dtype}",
            "",
            f"- device: {device_text}; Python {sys.version.split()[0]}; {packages}",
            f"- sizes: n={sizes['n']}, d={sizes['d']}, v={sizes['v']} ({sizes['preset']}); median of "
            f"{args.repeats} timed run(s) after 1 warm-up, each variant in its own process",
            f"- inputs + gradients: {inputs_mib:.1f} MiB ({itemsize}·(n·d + v·d)·2 bytes); peak GPU memory is that "
            "of the timed runs, inputs included († : torch-held inputs + CuPy pool high-water)",
            "- Δ: max abs difference from a float64 recomputation on the same inputs" + scale_text,
            f"- command: `{h.command_line()}`",
        ]
    )


def table(results: dict[str, dict]) -> str:
    rows = []
    for name, record in results.items():
        status = h.status_text(record)
        if status:
            rows.append([name, record.get("dtype", ""), status, "", "", "", "", "", ""])
            continue
        acc = record.get("accuracy", {})
        memory = h.fmt(record.get("peak_mem_mib"), ".0f") + (" †" if record.get("cupy") else "")
        notes = "; ".join(
            record.get("warnings", []) + ([record["accuracy_error"]] if "accuracy_error" in record else [])
        )
        rows.append(
            [
                name,
                record.get("dtype", ""),
                h.fmt(record.get("median_s"), ".4g"),
                h.ratio(record, results.get("floor")),
                memory,
                h.fmt(acc.get("diff_loss"), ".2e"),
                h.fmt(acc.get("diff_grad_e"), ".2e"),
                h.fmt(acc.get("diff_grad_c"), ".2e"),
                notes,
            ]
        )
    headers = ["variant", "dtype", "median time (s)", "ratio to floor", "peak GPU mem (MiB)"]
    headers += ["Δloss", "max Δgrad_e", "max Δgrad_c", "notes"]
    return h.markdown_table(headers, rows)


def parent(args: argparse.Namespace) -> None:
    import os

    names = h.variant_names(args, VARIANTS)
    args.repeats = args.repeats or (1 if args.quick else 3)
    sizes = h.resolve_sizes(PRESETS, "quick" if args.quick else "default", args)
    child_args = [f"--n={sizes['n']}", f"--d={sizes['d']}", f"--v={sizes['v']}", f"--repeats={args.repeats}"]
    child_args += (
        [f"--dtype={args.dtype}", f"--device={args.device}"]
        + ["--tf32"] * args.tf32
        + ["--no-check"] * (not args.check)
    )
    env = {**os.environ, "CUPY_TF32": "1"} if args.tf32 else None
    started, results = time.perf_counter(), {}
    for index, name in enumerate(names, 1):
        h.progress(f"[{index}/{len(names)}] {name} ...")
        record = h.spawn(__file__, name, child_args, args.timeout, env)
        results[name] = record
        summary = h.status_text(record) or (
            f"median {h.fmt(record.get('median_s'), '.4g')} s, peak {h.fmt(record.get('peak_mem_mib'), '.0f')} MiB"
        )
        h.progress(f"[{index}/{len(names)}] {name}: {summary} (child {record.get('child_wall_s', 0):.1f} s)")
    h.progress(f"all children: {time.perf_counter() - started:.0f} s")
    print(header(args, sizes, results) + "\n\n" + table(results))
    report = {"command": h.command_line(), "sizes": sizes, "dtype": args.dtype, "repeats": args.repeats}
    h.write_json(args.json, {**report, "tf32": args.tf32, "results": results})


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (n=256 d=128 v=4096), 1 repeat")
    parser.add_argument("--n", type=int, help="rows (default 8192)")
    parser.add_argument("--d", type=int, help="hidden size (default 2304)")
    parser.add_argument("--v", type=int, help="vocabulary size (default 256000)")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--repeats", type=int, help="timed runs per variant (default 3; 1 with --quick)")
    parser.add_argument("--variants", help=f"comma-separated subset of: {', '.join(VARIANTS)}")
    parser.add_argument("--tf32", action="store_true", help="let torch and CuPy float32 GEMMs use TF32")
    parser.add_argument("--no-check", dest="check", action="store_false", help="skip the float64 accuracy check")
    parser.add_argument("--timeout", type=float, default=150, help="seconds per child (default 150)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--device", default="cuda", help="'cpu' only to smoke-test this script without a GPU")
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
