"""Golden data: one file per object, fresh (its fingerprint matches), regenerated from the definitions byte for
byte in the full tier, matched by refloss (tests/test_registry.py::test_golden_file_is_fresh_and_matched)."""

import inspect
import json

import numpy as np
import pytest

import refloss
from refloss import RefLossError, checks
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


def _with_one_digit_changed(tmp_path, name: str, case_index: int, field: str, element: int):
    """A copy of the golden file with the last digit of one stored element moved by one unit, and its checksum
    recomputed (what an edit by hand, or a faulty generator, would leave)."""
    payload = json.loads(dataset.path_of(name).read_text())
    case = payload["cases"][case_index]
    data = (case["value"] if field == "value" else case["grads"][field])["data"]
    mantissa, e, exponent = data[element].partition("e")
    data[element] = mantissa[:-1] + str((int(mantissa[-1]) + 1) % 10) + e + exponent
    copy = tmp_path / dataset.path_of(name).name
    copy.write_text(dataset.dumps(payload))
    copy.with_name(copy.name + ".sha256").write_text(f"{dataset._digest(copy.read_text())}  {copy.name}\n")
    return copy, case["id"]


@pytest.mark.parametrize("name, case_index, field, element", [("logsumexp", 0, "value", 2),
                                                              ("focal_loss", 3, "logits", 4),
                                                              ("linear_cross_entropy", 1, "c", 0)])
def test_a_changed_stored_digit_fails_naming_the_file_and_the_case(tmp_path, name, case_index, field, element):
    copy, case_id = _with_one_digit_changed(tmp_path, name, case_index, field, element)
    with pytest.raises(AssertionError, match=f"{copy.name}, case {case_id}: .*{field}\\[{element}\\]"):
        checks.check_digits(refloss.get(name), copy)


def test_almost_every_stored_digit_is_certified_and_each_exception_says_why():
    """Issue 28's bar: at least 95% of all stored values and gradient components are proven; an unproven one
    names its reason, and none is a value within float64's range stored as 0."""
    certified = uncertified = 0
    for entry in ENTRIES:
        for section in ("cases", "extreme"):
            for case in dataset.load(entry.name, section=section):
                proven, unproven = case.counts()
                certified, uncertified = certified + proven, uncertified + unproven
                for field, reasons in case.uncertified.items():
                    for index, why in reasons.items():
                        assert why, (case.id, field, index)
                        if case.texts[field][int(index)] == "0.0":  # an unproven 0 is proven below float64's range
                            assert "0 is its float64 rounding" in why, (case.id, field, index, why)
    assert certified / (certified + uncertified) >= 0.95, (certified, uncertified)


def test_values_below_the_float64_range_are_stored_exactly():
    """The tiny softcap's slopes sech^2(u / s) of 1e-435 to 1e-1738 are stored with their digits (issue 28)."""
    case = next(c for c in dataset.load("linear_cross_entropy") if c.id.endswith("tiny_softcap"))
    tiny = [t for t in case.texts["c"] if t != "0.0" and int(t.partition("e")[2] or 0) < -400]
    assert tiny and not case.uncertified


def _differs(value, default) -> bool:
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return default is None or not np.array_equal(value, default)
    return value != default or type(value) is not type(default)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_option_takes_a_non_default_value_in_a_golden_case(entry):
    stored = [c.kwargs for section in ("cases", "extreme") for c in dataset.load(entry.name, section=section)]
    for name, parameter in inspect.signature(entry.fn).parameters.items():
        if parameter.kind is parameter.KEYWORD_ONLY:
            assert any(name in case and _differs(case[name], parameter.default) for case in stored), name


@pytest.mark.parametrize("name, together", [
    ("linear_cross_entropy", {"z_loss", "weight"}), ("linear_cross_entropy", {"z_loss", "bias", "softcap"}),
    ("cross_entropy", {"weight", "label_smoothing"}),
    ("linear_cross_entropy", {"weight", "ignore_index", "label_smoothing"}), ("focal_loss", {"alpha", "gamma"}),
    ("sigmoid_focal_loss", {"alpha", "gamma"}), ("binary_cross_entropy_with_logits", {"weight", "pos_weight"})])
def test_options_that_interact_appear_together(name, together):
    defaults = {n: p.default for n, p in inspect.signature(refloss.get(name).fn).parameters.items()}
    assert any(all(k in c.kwargs and _differs(c.kwargs[k], defaults[k]) for k in together)
               for c in dataset.load(name)), together


@pytest.mark.parametrize("name", ["cross_entropy", "linear_cross_entropy"])
def test_a_mean_over_zero_total_weight_is_stored_as_nan_with_a_zero_gradient(name):
    cases = [c for c in dataset.load(name) if c.kwargs.get("reduction") == "mean" and np.isnan(c.value).all()]
    assert cases and all(not c.uncertified for c in cases)
    assert all(np.all(g == 0) for c in cases for g in c.grads.values())
