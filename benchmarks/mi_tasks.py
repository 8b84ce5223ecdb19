"""The estimator-by-task table of "Beyond Normal" (Czyż et al., NeurIPS 2023): mean and standard deviation of each
kNN mutual-information estimator over seeds, on benchmark-mi's ground-truth tasks (``refloss.info.tasks``), with
the true value beside it. Every estimator sees the same samples, standardised per coordinate as benchmark-mi does
(an invertible map: the true MI is unchanged).

Columns: refloss's KSG variants 1 and 2 (k = 3), and the peers' KSG where installed: scikit-learn's
``mutual_info_regression`` (one feature and a one-dimensional target only, with its own scaling and noise),
NPEET's ``mi`` (its noise, from a seeded NumPy generator) and infomeasure's ``ksg``. benchmark-mi's own estimators
(KSG, CCA) are not run: no release of benchmark-mi installs beside the ``conform`` extra (``BMI_CONFLICT``).

    python benchmarks/mi_tasks.py                      # N = 5000, 5 seeds: the table
    python benchmarks/mi_tasks.py --json docs/benchmarks/mi_tasks.json   # also the record the docs plot
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
from _harness import use_repo_checkout

use_repo_checkout()

TASKS = [
    "1v1-normal-0.75", "normal_cdf-1v1-normal-0.75", "wiggly-1v1-normal-0.75", "half_cube-1v1-normal-0.75",
    "1v1-additive-0.1", "1v1-additive-0.75", "student-identity-1-1-1", "asinh-student-identity-1-1-1",
    "swissroll_x-normal_cdf-1v1-normal-0.75", "multinormal-dense-3-3-0.5", "multinormal-sparse-3-3-2-2.0",
    "student-identity-2-2-1", "spiral-multinormal-sparse-3-3-2-2.0", "half_cube-multinormal-sparse-3-3-2-2.0",
    "multinormal-dense-25-25-0.5",
]
K = 3

#: Why benchmark-mi's estimators have no column (checked with pip's resolver against the ``conform`` extra).
BMI_CONFLICT = ("not installable beside the conform extra: benchmark-mi 0.1.3 (the latest; 0.1.2 alike) requires "
                "jax>=0.4.8,<0.5, numpy<2, optax<0.2, pandas<2 and Python<3.13, where refloss[conform] pins "
                "jax==0.10.2 and optax==0.2.8 and runs NumPy 2")


def _standardised(a: np.ndarray) -> np.ndarray:
    return (a - a.mean(axis=0)) / a.std(axis=0)


def estimators() -> dict:
    """name -> (function of (x, y, seed) giving nats, or the reason it cannot run here)."""
    import refloss

    out = {
        "refloss KSG-1": lambda x, y, seed: refloss.ksg_mutual_information(x, y, k=K),
        "refloss KSG-2": lambda x, y, seed: refloss.ksg_mutual_information(x, y, k=K, variant=2),
    }
    try:
        from sklearn.feature_selection import mutual_info_regression

        def sklearn(x, y, seed):
            if x.shape[1] != 1 or y.shape[1] != 1:
                return math.nan  # per-feature MI only: not the joint I(X; Y)
            return float(mutual_info_regression(x, y[:, 0], n_neighbors=K, random_state=seed)[0])

        out["scikit-learn"] = sklearn
    except ImportError as exc:
        out["scikit-learn"] = f"not installed ({exc})"
    try:
        import npeet_plus

        def npeet(x, y, seed):
            np.random.seed(seed)  # NPEET draws its noise from NumPy's global generator
            return float(npeet_plus.mi(x, y, k=K, base=math.e))

        out["NPEET"] = npeet
    except ImportError as exc:
        out["NPEET"] = f"not installed ({exc})"
    try:
        import infomeasure

        out["infomeasure"] = lambda x, y, seed: float(infomeasure.mutual_information(x, y, approach="ksg", k=K))
    except ImportError as exc:
        out["infomeasure"] = f"not installed ({exc})"
    out["benchmark-mi"] = BMI_CONFLICT
    return out


def run(n: int, seeds: int, progress=sys.stderr) -> dict:
    from refloss.info import tasks

    methods = estimators()
    rows = []
    for t, name in enumerate(TASKS):
        task = tasks.task(name)
        samples = [task.sample(n, seed) for seed in range(seeds)]
        row = {"task": name, "dim_x": task.dim_x, "dim_y": task.dim_y, "true": task.mi, "estimates": {}}
        for method, fn in methods.items():
            if isinstance(fn, str):
                continue
            start = time.perf_counter()
            values = [fn(_standardised(x), _standardised(y), seed) for seed, (x, y) in enumerate(samples)]
            row["estimates"][method] = {"values": values, "seconds": time.perf_counter() - start}
        rows.append(row)
        if progress is not None:
            print(f"[{t + 1}/{len(TASKS)}] {name}", file=progress, flush=True)
    return {"n": n, "seeds": seeds, "k": K, "rows": rows,
            "unavailable": {m: fn for m, fn in methods.items() if isinstance(fn, str)}}


def _cell(values: list) -> str:
    a = np.asarray(values, dtype=np.float64)
    if np.isnan(a).all():
        return "n/a"
    return f"{np.mean(a):.3f} ± {np.std(a):.3f}"


def markdown(record: dict) -> str:
    methods = [m for m in record["rows"][0]["estimates"]]
    lines = [f"N = {record['n']}, {record['seeds']} seeds, k = {record['k']} (nats; mean ± standard deviation)", "",
             "| task | dims | true | " + " | ".join(methods) + " |",
             "|---|---|---|" + "---|" * len(methods)]
    for row in record["rows"]:
        cells = [_cell(row["estimates"][m]["values"]) for m in methods]
        dims = f"{row['dim_x']}x{row['dim_y']}"
        lines.append(f"| {row['task']} | {dims} | {row['true']:.3f} | " + " | ".join(cells) + " |")
    for method, why in record["unavailable"].items():
        lines.append(f"\n{method}: {why}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", help="also write the record (the docs' figure reads it)")
    args = parser.parse_args(argv)
    record = run(args.n, args.seeds)
    print(markdown(record))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
