"""refloss new: the stubs it writes for a new object, where it writes them, and what it refuses."""

import ast

import pytest

from refloss import cli, scaffold


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    (tmp_path / "proofs").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "refloss" / "losses" / "classification").mkdir(parents=True)
    monkeypatch.setattr(scaffold, "_root", lambda: tmp_path)
    return tmp_path


@pytest.mark.parametrize("kind, params", [("row", ["gamma=2.0"]), ("logits", []), ("row", ["q=0.7", "m=1"])])
def test_first_run_writes_both_homes_as_marked_stubs_that_parse(checkout, capsys, kind, params):
    assert scaffold.run("my_loss", "classification", kind=kind, params=params) == 1
    source = checkout / "refloss" / "losses" / "classification" / "my_loss.py"
    proof = checkout / "proofs" / "classification" / "my_loss.py"
    for path in (source, proof):
        text = path.read_text()
        ast.parse(text)
        assert scaffold.MARKER in text and max(len(line) for line in text.splitlines()) <= 120
    assert 'name="my_loss"' in source.read_text() and 'define(\n    "my_loss"' in proof.read_text()
    out = capsys.readouterr().out
    assert "Fill in every TODO(refloss new)" in out and "Accuracy traps" in out


def test_a_second_run_keeps_what_was_written(checkout):
    scaffold.run("my_loss", "classification")
    source = checkout / "refloss" / "losses" / "classification" / "my_loss.py"
    source.write_text(source.read_text() + "# the contributor's work\n")
    assert scaffold.run("my_loss", "classification") == 1
    assert source.read_text().endswith("# the contributor's work\n")


def test_a_new_family_needs_its_pillar_and_gets_both_packages(checkout):
    with pytest.raises(SystemExit, match="--pillar"):
        scaffold.run("renyi", "spectral")
    assert scaffold.run("renyi", "spectral", pillar="info", kind="logits", params=["alpha=2.0"]) == 1
    for path in ("refloss/info/spectral/__init__.py", "proofs/spectral/__init__.py", "refloss/info/spectral/renyi.py"):
        assert (checkout / path).is_file()


@pytest.mark.parametrize("args", [["Bad-Name", "--family", "x"], ["x", "--family", "classification", "--param", "q"]])
def test_bad_names_and_parameters_are_refused(checkout, args):
    with pytest.raises(SystemExit):
        cli.main(["new", *args])
