"""The CPU benchmark script runs: its ``--quick`` preset, each accel row and its floor, each in its own process.

Timings are not judged here (they are measured by the script itself, side by side, never by a test); what is
checked is that every row ran and that accel's rows report the loss of the naive NumPy computation.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "linear_ce.py"
ROWS = ["floor", "numpy-naive", "accel-numpy", "accel-numba", "accel-numba-smoothed", "floor-forward",
        "accel-numba-forward", "accel-token-stats", "floor-kl", "accel-linear-kl", "accel-linear-kl-numpy",
        "baseline-accel"]


@pytest.mark.skipif(not SCRIPT.exists(), reason="the benchmarks/ folder is not part of an installed package")
def test_quick_preset_runs_every_accel_row(tmp_path):
    out = tmp_path / "quick.json"
    subprocess.run([sys.executable, str(SCRIPT), "--quick", "--variants", ",".join(ROWS), "--json", str(out)],
                   check=True, capture_output=True, timeout=600)
    results = json.loads(out.read_text())["results"]
    assert {name: results[name]["status"] for name in ROWS} == dict.fromkeys(ROWS, "ok")
    naive = results["numpy-naive"]["loss"]
    for name in ("accel-numpy", "accel-numba", "accel-numba-forward"):
        assert results[name]["loss"] == pytest.approx(naive, rel=1e-5), name  # float32 inputs


SCALE = SCRIPT.with_name("reference_scale.py")


@pytest.mark.skipif(not SCALE.exists(), reason="the benchmarks/ folder is not part of an installed package")
def test_reference_scale_runs_every_entry_it_can_build_and_each_peer(tmp_path):
    """Every registry entry with softmax-shaped inputs and each torch peer runs at the quick size (64 x 1000);
    the linear heads, the Hessian's blocks and the Gauss-Newton product say why they are not built; the working set
    is measured for each."""
    import refloss

    out = tmp_path / "scale.json"
    subprocess.run([sys.executable, str(SCALE), "--quick", "--repeats", "1", "--json", str(out)], check=True,
                   capture_output=True, timeout=600)
    rows = json.loads(out.read_text())["rows"]
    assert set(rows) == {e.name for e in refloss.catalogue()}
    for name, records in rows.items():
        if refloss.get(name).family == "linear" or name in {"cross_entropy_hessian", "cross_entropy_gauss_newton_vp"}:
            assert records["refloss"]["status"] == "unavailable" and "not built" in records["refloss"]["error"]
            continue
        for side, record in records.items():
            assert record["status"] == "ok" and record["working_set"] >= 0, (name, side, record)
    assert {name for name, records in rows.items() if "torch" in records} == {
        "cross_entropy", "binary_cross_entropy_with_logits", "logsumexp", "log_softmax", "softmax_entropy",
        "kl_divergence_logits"}


MI_TASKS = SCRIPT.with_name("mi_tasks.py")


@pytest.mark.skipif(not MI_TASKS.exists(), reason="the benchmarks/ folder is not part of an installed package")
def test_mi_tasks_prints_every_task_with_its_true_value(tmp_path):
    """The estimator-by-task table at a tiny size: every task, its true MI, refloss's two variants finite, the
    peers run where installed (scikit-learn only on one-dimensional pairs)."""
    out = tmp_path / "mi.json"
    run = subprocess.run([sys.executable, str(MI_TASKS), "--n", "200", "--seeds", "1", "--json", str(out)],
                         check=True, capture_output=True, text=True, timeout=600)
    record = json.loads(out.read_text())
    names = [row["task"] for row in record["rows"]]
    assert len(names) == 15 and all(f"| {name} |" in run.stdout for name in names)
    for row in record["rows"]:
        assert row["true"] > 0
        for method in ("refloss KSG-1", "refloss KSG-2"):
            assert np.isfinite(row["estimates"][method]["values"]).all(), (row["task"], method)
        if "scikit-learn" in row["estimates"] and (row["dim_x"], row["dim_y"]) != (1, 1):
            assert np.isnan(row["estimates"]["scikit-learn"]["values"]).all()
