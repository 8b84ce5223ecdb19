"""Golden data: one file per object, fresh (its fingerprint matches), regenerated from the definitions byte for
byte in the full tier, matched by refloss (tests/test_registry.py::test_golden_file_is_fresh_and_matched)."""

import pytest

import refloss
from refloss import RefLossError
from refloss.golden import dataset

ENTRIES = refloss.catalogue()


def test_every_registered_object_has_its_own_file_and_nothing_else():
    stored = {p.name.removesuffix(".json") for p in dataset.DATA.glob("*.json")}
    assert stored == {e.name for e in ENTRIES}


@pytest.mark.full
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_stored_file_is_the_oracle_output(entry):
    """Regenerating from the definition gives the stored file byte for byte (data and definitions agree)."""
    assert dataset.dumps(dataset.generate(entry.name)) == dataset.path_of(entry.name).read_text()


def test_every_file_is_fresh():
    stale = {e.name: dataset.stale(e.name) for e in ENTRIES}
    assert not any(stale.values()), f"stale golden files (run make golden): { {k: v for k, v in stale.items() if v} }"


def test_the_stored_formula_is_in_the_docstrings():
    for e in ENTRIES:
        formula, gradient = dataset.stored_formulas(e.name)
        assert formula and formula == e.formula and formula in e.fn.__doc__
        assert gradient == e.gradient and (not gradient or gradient in e.grad.__doc__)


def test_no_case_id_collides_and_tau_1_is_its_own_case():
    """Parameter values that print alike under %g (tau = 1 and 1 + 2^-40) get distinct case ids."""
    stress = refloss.get("comp_sum_loss").stress_cases()
    assert "gaps__target_dominant__tau_1" in stress and "gaps__target_dominant__tau_1.0000000000009095" in stress
    assert stress["gaps__target_dominant__tau_1"]["tau"] == 1.0
    ids = [c.id for c in dataset.load("comp_sum_loss")]
    assert len(ids) == len(set(ids)) == len(stress)


def test_tampered_golden_data_is_refused(tmp_path):
    source = dataset.path_of("logsumexp")
    copy = tmp_path / source.name
    text = source.read_text()
    value = text.index('"value"')
    digit = next(i for i in range(value, len(text)) if text[i].isdigit())
    copy.write_text(text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1:])  # one digit of one value
    (tmp_path / (source.name + ".sha256")).write_text(source.with_name(source.name + ".sha256").read_text())
    with pytest.raises(RefLossError, match="checksum"):
        dataset.load("logsumexp", copy)


def test_missing_golden_data_names_the_generator(tmp_path):
    with pytest.raises(RefLossError, match="python -m refloss.golden.dataset"):
        dataset.load("logsumexp", tmp_path / "absent.json")
