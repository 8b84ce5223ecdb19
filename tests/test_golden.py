"""Golden data: one file per object, regenerated from the definitions byte for byte, matched by refloss."""

import pytest

import refloss
from refloss import RefLossError
from refloss.golden import dataset

ENTRIES = refloss.catalogue()


def test_every_registered_object_has_its_own_file_and_nothing_else():
    stored = {p.name.removesuffix(".json") for p in dataset.DATA.glob("*.json")}
    assert stored == {e.name for e in ENTRIES}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_stored_file_is_the_oracle_output(entry):
    """Regenerating from the definition gives the stored file byte for byte (data and definitions agree)."""
    assert dataset.dumps(dataset.generate(entry.name)) == dataset.path_of(entry.name).read_text()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_refloss_matches_its_golden_cases(entry):
    cases = dataset.load(entry.name)
    assert [c.id for c in cases] == [f"{entry.name}__{k}" for k in entry.stress_cases()]
    for case in cases:
        assert dataset.case_error_ulps(case) <= entry.tolerance.ulps, case.id


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
