"""The reference at the size people validate: every registered object's value and gradient on a realistic batch,
beside the peer that computes the same thing, time and working set.

For each registry entry whose inputs this script can build from its parameters (logits ``(N, C)``, class targets,
labels or a second row of logits of the same shape; for an estimator N points of two dimensions per sample
argument; for a Gaussian closed form a covariance of min(N, 512) variables; for a discrete measure positive
probabilities of the logits' shape; the other parameters at their defaults), a child process
(this script, re-run with the hidden ``--child VARIANT``) builds the inputs from ``numpy.random.default_rng(0)``
(logits standard normal times 3, targets uniform), records its resident set size, runs value and gradient once as
warm-up and then ``--repeats`` times, and prints one JSON line: the wall times, their median, and the working
set: the peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``) above the RSS with the inputs built, in multiples of the
logits' size. refloss computes both with :func:`refloss.value_and_grad`, as a script that wants both would. A new
object joins through the registry; one whose inputs cannot be built is a row that says why.

Peers (torch float64 with autograd, where torch computes the same objective): ``cross_entropy``
(``F.cross_entropy``), ``binary_cross_entropy_with_logits`` (``F.binary_cross_entropy_with_logits`` on the same
bytes, an ``(N, C)`` array of logits and labels), ``logsumexp`` (``torch.logsumexp``, the gradient of the rows'
sum), ``log_softmax`` (value only: its registered gradient is the Jacobian, ``N C^2`` numbers),
``softmax_entropy`` and ``kl_divergence_logits`` (their formulas in torch). The time ratio is refloss over the
peer in the same run.

Run it (the parent needs only the standard library)::

    python benchmarks/reference_scale.py --quick                    # 64 x 1000, a few seconds
    python benchmarks/reference_scale.py                            # 4096 x 32000 float64 (1000 MiB of logits)
    python benchmarks/reference_scale.py --names cross_entropy --rows 8192 --classes 128256 --repeats 1
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys

import _harness as h

REALISTIC = {"rows": 4096, "classes": 32000}
QUICK = {"rows": 64, "classes": 1000}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def build_case(entry, rows: int, classes: int, rng):
    """The entry's arguments at ``rows`` x ``classes``, or a string saying why they cannot be built."""
    import numpy as np

    params = {p.name: p for p in entry.params}
    if "cov" in params:  # a Gaussian closed form: a well-conditioned covariance of min(N, 512) variables, in thirds
        d = min(rows, 512)
        a = rng.standard_normal((d, d))
        cov = a @ a.T / d + np.eye(d)
        first, second, rest = np.arange(d // 3), np.arange(d // 3, 2 * (d // 3)), np.arange(2 * (d // 3), d)
        thirds = {"x": first, "y": second, "z": rest, "source": first, "target": second, "target_past": rest}
        return {"cov": cov, **{name: index for name, index in thirds.items() if name in params}}
    samples = [name for name, p in params.items() if getattr(p.domain, "kind", "") == "samples"]
    if samples:  # a sample-based estimator: ``rows`` points, two dimensions per variable, correlated
        base = rng.standard_normal((rows, 2))
        return {name: 0.6 * base + 0.8 * rng.standard_normal((rows, 2)) for name in samples}
    if "counts" in params:  # a histogram: integer counts per bin
        return {"counts": rng.integers(0, 20, (rows, classes))}
    if "best_risk" in params:  # a minimizability gap: a table p(y | x) of ``rows`` points, the caller's best risk
        p = rng.uniform(0.01, 1.0, (rows, classes))
        return {"conditional": p / p.sum(axis=-1, keepdims=True), "best_risk": float(np.log(classes))}
    scalars = [name for name, p in params.items() if getattr(p.domain, "kind", "") in ("unit_interval", "nonnegative")]
    if scalars:  # a consistency transform or bound: elementwise over an array of regrets or excess errors
        return {scalars[0]: rng.uniform(0.0, 1.0, (rows, classes))}
    labels = {"target": rng.integers(0, classes, rows)} if getattr(params.get("target"), "domain", None) is not None \
        and getattr(params["target"].domain, "kind", "") == "class_targets" else {}
    pmfs = [name for name, p in params.items() if getattr(p.domain, "kind", "") == "pmf"]
    if pmfs:  # discrete measures: rows of positive probabilities summing to 1 (a joint table: the last two axes)
        def normalised(a):
            return a / a.sum(axis=-1, keepdims=True) if len(pmfs) > 1 or "pk" in pmfs or labels else a / a.sum()

        return {name: normalised(rng.uniform(0.01, 1.0, (rows, classes))) for name in pmfs} | labels
    if "direction" in params or entry.name == "cross_entropy_hessian":
        return (f"inputs {', '.join(list(params)[:3])} are not built here: the Hessian's blocks hold N C^2 numbers, "
                "the Gauss-Newton product is a linear head's (cross_entropy_hvp is the product at this size)")
    z = rng.standard_normal((rows, classes)) * 3.0
    if set(params) >= {"student_logits", "teacher_logits"}:
        return {"student_logits": z, "teacher_logits": rng.standard_normal((rows, classes)) * 3.0} | labels
    if "directional_derivatives" in params:  # a step's directional logit derivatives a = J v
        a = rng.standard_normal((rows, classes))
        pair = {"target": rng.integers(0, classes, rows)} if "target" in params else {}  # the top-2 form's classes
        return {"logits": z, "directional_derivatives": a} | pair
    if "vector" in params:
        return {"logits": z, "vector": rng.standard_normal((rows, classes))}
    if set(params) >= {"p_logits", "q_logits"}:
        return {"p_logits": z, "q_logits": rng.standard_normal((rows, classes)) * 3.0}
    if "log_q" in params:  # elementwise KL terms: log-inputs and probabilities of the same shape
        return {"log_q": z, "target": rng.uniform(0.0, 1.0, (rows, classes))}
    if "logits" not in params:
        return f"inputs {', '.join(list(params)[:3])} are not built here (accel's benchmarks cover the linear heads)"
    if "target" not in params:
        return {"logits": z}
    stressed = next(iter(entry.stress_cases().values()))["target"]  # class indices or labels, as the entry takes
    if stressed.dtype.kind in "iu":
        return {"logits": z, "target": rng.integers(0, classes, rows)}
    return {"logits": z, "target": rng.uniform(0.0, 1.0, (rows, classes))}  # elementwise labels: the same bytes


def _required_parameters(entry, case: dict) -> dict:
    """Parameters without a default that the built case lacks (a Renyi order, a temperature): the value of the
    first stress point that gives one."""
    import inspect

    required = [n for n, p in inspect.signature(entry.fn).parameters.items()
                if p.default is inspect.Parameter.empty and n not in case]
    return {n: next(c[n] for c in entry.stress_cases().values() if n in c) for n in required}


def refloss_run(entry, case: dict):
    """Value and gradient from one call, :func:`refloss.value_and_grad` (the value alone where the gradient is a
    Jacobian)."""
    import refloss

    if entry.grad is None or entry.grad_kind == "jacobian":
        return lambda: (entry.fn(**case), None)
    both = refloss.value_and_grad(entry.fn)
    return lambda: both(**case)


def torch_run(name: str, case: dict):
    import torch
    import torch.nn.functional as F

    tensors = {k: torch.from_numpy(v) for k, v in case.items()}
    z = tensors.get("logits", tensors.get("p_logits"))

    def loss(x):
        if name == "cross_entropy":
            return F.cross_entropy(x, tensors["target"])
        if name == "binary_cross_entropy_with_logits":
            return F.binary_cross_entropy_with_logits(x, tensors["target"])
        if name == "logsumexp":
            return torch.logsumexp(x, dim=-1).sum()
        if name == "softmax_entropy":
            logp = F.log_softmax(x, dim=-1)
            return -(logp.exp() * logp).sum(-1).mean()
        if name == "kl_divergence_logits":  # KL(p || q), gradient w.r.t. p's logits as refloss's first input
            logp, logq = F.log_softmax(x, dim=-1), F.log_softmax(tensors["q_logits"], dim=-1)
            return (logp.exp() * (logp - logq)).sum(-1).mean()
        raise KeyError(name)

    if name == "log_softmax":
        return lambda: F.log_softmax(z, dim=-1)

    def run():
        x = z.detach().requires_grad_(True)
        out = loss(x)
        out.backward()
        return out.item(), x.grad
    return run


PEERS = ("cross_entropy", "binary_cross_entropy_with_logits", "logsumexp", "log_softmax", "softmax_entropy",
         "kl_divergence_logits")


def child(variant: str, rows: int, classes: int, repeats: int) -> None:
    import numpy as np

    h.use_repo_checkout()
    import refloss

    side, name = variant.split(":")
    entry = refloss.get(name)
    case = build_case(entry, rows, classes, np.random.default_rng(0))
    if isinstance(case, str):
        h.emit({"status": "unavailable", "error": case})
        return
    case = {**case, **_required_parameters(entry, case)}  # the arrays first: the first is the unit of the working set
    input_bytes = next(iter(case.values())).nbytes  # the first argument: logits, p_logits, log_q
    if side == "torch":
        import torch  # noqa: F401 - its import is not the call's working set
    before = _rss_bytes()
    record, _ = h.measure(lambda: refloss_run(entry, case) if side == "refloss" else torch_run(name, case), repeats)
    record["working_set"] = (_peak_bytes() - before) / input_bytes
    h.emit(record)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int)
    parser.add_argument("--classes", type=int)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--names", help="comma-separated registry names (default: every entry)")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else REALISTIC)
    sizes.update({k: getattr(args, k) for k in ("rows", "classes") if getattr(args, k) is not None})
    if args.child:
        child(args.child, sizes["rows"], sizes["classes"], args.repeats)
        return 0
    h.use_repo_checkout()
    import refloss

    names = args.names.split(",") if args.names else [e.name for e in refloss.catalogue()]
    child_args = ["--rows", str(sizes["rows"]), "--classes", str(sizes["classes"]), "--repeats", str(args.repeats)]
    rows, report = [], {"command": h.command_line(), "sizes": sizes, "machine": platform.processor() or
                        platform.machine(), "numpy": h.version("numpy"), "torch": h.version("torch"), "rows": {}}
    for name in names:
        records = {}
        for side in ("refloss",) + (() if args.no_peers or name not in PEERS else ("torch",)):
            h.progress(f"{side}:{name}")
            records[side] = h.spawn(__file__, f"{side}:{name}", child_args, timeout=1800)
        report["rows"][name] = records
        mine, peer = records["refloss"], records.get("torch")
        rows.append([name, h.status_text(mine) or h.fmt(mine.get("median_s"), ".3f"),
                     h.fmt(mine.get("working_set"), ".2f"),
                     "—" if peer is None else (h.status_text(peer) or h.fmt(peer.get("median_s"), ".3f")),
                     "—" if peer is None else h.fmt(peer.get("working_set"), ".2f"), h.ratio(mine, peer)])
    print(f"{sizes['rows']} x {sizes['classes']} float64, value + gradient, median of {args.repeats} "
          f"(`{h.command_line()}`)\n")
    print(h.markdown_table(["object", "refloss s", "refloss working set (x input)", "torch float64 s",
                            "torch working set (x input)", "time ratio"], rows))
    h.write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
