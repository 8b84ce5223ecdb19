"""The refloss command: list, list --json, show, audit."""

import json

import pytest

import refloss
from refloss.audit import format_table, run_audit
from refloss.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(e.name in out for e in refloss.catalogue())


def test_list_json(capsys):
    assert main(["list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == [e.name for e in refloss.catalogue()]
    assert all({"name", "family", "paper", "proof", "accel"} <= set(r) for r in rows)


def test_audit_one_entry(capsys):
    assert main(["audit", "logsumexp", "--examples", "5", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "logsumexp" and row["ok"] and row["proof_ok"]
    assert row["stress_ulps"] <= refloss.tolerance.ULPS and row["golden_ulps"] <= refloss.tolerance.ULPS


def test_audit_unknown_name(capsys):
    assert main(["audit", "no_such_loss"]) == 2
    assert "no_such_loss" in capsys.readouterr().err


def test_audit_table_and_exit_status_on_failure(capsys, monkeypatch):
    import dataclasses

    from refloss import _registry

    entry = refloss.get("softmax_entropy")
    monkeypatch.setitem(_registry._ENTRIES, entry.name, dataclasses.replace(entry, formula="H = 0"))
    assert main(["audit", "softmax_entropy", "--examples", "3"]) == 1
    out = capsys.readouterr().out
    assert "0 passed, 1 failed" in out and "stored formula differs" in out


def test_audit_table_lists_every_column():
    table = format_table(run_audit([refloss.get("logsumexp")], examples=2, progress=None))
    assert all(col in table for col in ("complete", "proof", "stress", "golden", "drawn", "fd", "extreme", "shift",
                                        "fuzz"))
    assert "1 passed, 0 failed" in table


def test_audit_progress_goes_to_the_given_stream(capsys):
    import io

    stream = io.StringIO()
    run_audit([refloss.get("logsumexp")], examples=2, progress=stream)
    assert "1/1" in stream.getvalue()


def test_audit_default_tier_trusts_the_golden_file(capsys):
    assert main(["audit", "logsumexp", "--tier", "default", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["stress_ulps"] is None and row["golden_ulps"] is not None and row["complete_ok"] and row["ok"]


def test_show_names_formula_defaults_paper_and_files(capsys):
    assert main(["show", "generalized_cross_entropy"]) == 0
    out = capsys.readouterr().out
    entry = refloss.get("generalized_cross_entropy")
    assert entry.formula in out and entry.gradient in out
    assert "q: default 0.7" in out and "reduction: default 'mean'" in out
    assert "arXiv:1805.07836" in out and "defaults" in out
    assert "refloss/losses/comp_sum/generalized_cross_entropy.py" in out
    assert "proofs/comp_sum/generalized_cross_entropy.py" in out
    assert "refloss/golden/data/generalized_cross_entropy.json" in out


def test_show_unknown_name(capsys):
    assert main(["show", "no_such_loss"]) == 2
    assert "no_such_loss" in capsys.readouterr().err


def test_prove_runs_the_symbolic_proofs(capsys):
    assert main(["prove", "logsumexp", "mae_loss"]) == 0
    assert capsys.readouterr().out.split() == ["ok", "logsumexp", "ok", "mae_loss"]
    assert main(["prove", "no_such_loss"]) == 2


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["audit", "--examples", "0"], ["audit", "--examples", "-1"],
                                  ["audit", "--tier", "quick"], ["show"]])
def test_usage_errors(argv):
    with pytest.raises(SystemExit):
        main(argv)
