"""The comp-sum transforms T_tau (our reconstruction of Mao, Mohri & Zhong 2023, not confirmed against the theorem
text) against the exact transform T* found by optimisation, over a grid of tau x n x t: the table behind the claims
"tight for tau in [0, 1] and for tau in (1, 2) at n = 2, a lower bound elsewhere, tau = 2 tight only up to
t = 1/(n - 1)".

Columns: the closed form T_tau(t; n); T* (``refloss.losses.consistency.exact_consistency_transform``: exact at
n = 2, a certified branch and bound at n = 3, a seeded search with SLSQP at n >= 4); their ratio; T*'s lower bound
and how it was obtained; the verdict: "tight" (closed form within 1e-6 of T*), "lower bound" (below T*, and below
T*'s certified lower bound where there is one), "INVALID" (above T*: the closed form is not a bound there) or "-"
(tau > 2: no closed form). Not a test: a table for the record (a few seconds to a minute).

    python benchmarks/consistency_sweep.py              # the full grid
    python benchmarks/consistency_sweep.py --quick      # n = 2, 3 and three t
    python benchmarks/consistency_sweep.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _harness import use_repo_checkout

use_repo_checkout()

TAUS = (0.0, 0.5, 1.0, 1.25, 1.5, 1.75, 1.9, 2.0, 2.5)
CLASSES = (2, 3, 4, 5)
TS = (0.05, 0.2, 0.5, 0.8)


def verdict(closed: float | None, exact, tolerance: float = 1e-6) -> str:
    if closed is None:
        return "-"
    if abs(closed - exact.value) <= tolerance * max(exact.value, 1e-300):
        return "tight"
    if closed > exact.value:
        return "INVALID"
    if exact.lower_bound_method in ("exact", "certified") and closed > exact.lower_bound:
        return "tight?"  # inside the certified bracket but not within the tolerance of the value
    return "lower bound"


def sweep(taus, classes, ts, restarts: int, seed: int) -> list[dict]:
    import refloss
    from refloss.losses.consistency import exact_consistency_transform

    rows = []
    for tau in taus:
        for n in classes:
            for t in ts:
                start = time.perf_counter()
                exact = exact_consistency_transform(t, tau=tau, n=n, restarts=restarts, seed=seed)
                closed = float(refloss.comp_sum_consistency_transform(t, tau=tau, n=n)) if tau <= 2.0 else None
                rows.append({"tau": tau, "n": n, "t": t, "closed": closed, "exact": exact.value,
                             "ratio": None if closed is None else closed / exact.value,
                             "lower_bound": exact.lower_bound, "method": exact.lower_bound_method,
                             "verdict": verdict(closed, exact), "seconds": time.perf_counter() - start})
            print(f"  tau = {tau:g}, n = {n}: done", file=sys.stderr, flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| tau | n | t | T_tau (closed) | T* | ratio | T* lower bound | how | verdict |",
             "|---:|---:|---:|---:|---:|---:|---:|:---|:---|"]
    for r in rows:
        closed = "-" if r["closed"] is None else f"{r['closed']:.6g}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.4f}"
        lines.append(f"| {r['tau']:g} | {r['n']} | {r['t']:g} | {closed} | {r['exact']:.6g} | {ratio} | "
                     f"{r['lower_bound']:.6g} | {r['method']} | {r['verdict']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 2, 3 and t = 0.05, 0.5, 0.8")
    parser.add_argument("--restarts", type=int, default=20, help="SLSQP runs for n >= 4")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    classes, ts = ((2, 3), (0.05, 0.5, 0.8)) if args.quick else (CLASSES, TS)
    start = time.perf_counter()
    rows = sweep(TAUS, classes, ts, args.restarts, args.seed)
    print(table(rows))
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("tight", "tight?", "lower bound", "INVALID", "-")}
    print(f"\n{len(rows)} cells in {time.perf_counter() - start:.1f} s: " +
          ", ".join(f"{k} {c}" for k, c in counts.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows}, f, indent=1)
    return 1 if counts["INVALID"] else 0


if __name__ == "__main__":
    sys.exit(main())
