"""Generic properties, looped over every registry entry: adding an object adds its tests here.

Each test is one check of :mod:`refloss.checks`, the same function ``refloss audit`` runs, so the audit and the
suite check the same things on the same drawn examples. The default tier compares every stress point with its
cached oracle (the golden file, ``check_golden``); the full tier (``--full``) also recomputes the oracle there.
The drawn checks take their example count from the hypothesis profile (5 in the default tier, 25 in the full).
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import settings

import refloss
from refloss import _registry, checks, testing
from refloss._oracle import definition_of
from refloss._registry import Paper, gradient_of, register
from refloss.audit import audit_entry

ENTRIES = refloss.catalogue()
WITH_GRAD = [e for e in ENTRIES if e.grad is not None]
SHIFT_INVARIANT = [e for e in ENTRIES if e.shift_invariant]
STRESS = [(e, case_id) for e in ENTRIES for case_id in e.stress_cases()]


def ids(entry):
    return entry.name


def examples() -> int:
    return settings().max_examples


def test_catalogue_holds_the_core_objects():
    assert {e.name for e in ENTRIES} >= {
        "logsumexp", "log_softmax", "cross_entropy", "binary_cross_entropy_with_logits", "softmax_entropy",
        "kl_divergence_logits", "focal_loss", "sigmoid_focal_loss",
    }


def test_public_api_is_generated_from_the_registry():
    for e in ENTRIES:
        assert getattr(refloss, e.fn.__name__) is e.fn and e.fn.__name__ in refloss.__all__
        if e.grad is not None:
            assert getattr(refloss, e.grad.__name__) is e.grad and e.grad.__name__ in refloss.__all__


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_entry_is_complete(entry):
    checks.check_complete(entry)


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_proof_and_stored_formula(entry):
    checks.check_proof(entry)


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_golden_file_is_fresh_and_matched(entry):
    """Every stress point against its cached oracle (value and every gradient component)."""
    checks.check_golden(entry)


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_stored_digits_lie_in_their_enclosures(entry):
    """Every stored digit (stress points and extreme inputs) against enclosures recomputed by another route."""
    checks.check_digits(entry)


@pytest.mark.full
@pytest.mark.parametrize("entry, case_id", STRESS, ids=[f"{e.name}-{c}" for e, c in STRESS])
def test_oracle_at_stress_point(entry, case_id):
    """Value and every gradient component within the tolerance policy of the 50-digit oracle, evaluated now."""
    assert testing.oracle_error(entry, entry.stress_cases()[case_id]) <= entry.tolerance.ulps


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_oracle_on_drawn_inputs(entry):
    checks.check_drawn(entry, examples())


@pytest.mark.parametrize("entry", WITH_GRAD, ids=ids)
def test_gradient_matches_finite_differences(entry):
    checks.check_fd(entry, examples())


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_finite_on_extreme_inputs(entry):
    checks.check_finite(entry, examples())


@pytest.mark.parametrize("entry", SHIFT_INVARIANT, ids=ids)
def test_shift_invariance(entry):
    checks.check_shift(entry, examples())


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_inputs_are_not_modified(entry):
    checks.check_unmodified(entry)


@pytest.mark.parametrize("entry", WITH_GRAD, ids=ids)
def test_value_and_grad_is_exactly_the_value_and_the_gradient(entry):
    assert checks.check_value_and_grad(entry) == len(entry.stress_cases())


def test_value_and_grad_takes_a_registered_value_function_or_its_name():
    assert refloss.value_and_grad("cross_entropy") is refloss.value_and_grad(refloss.cross_entropy)
    with pytest.raises(KeyError, match="cross_entropy_grad"):
        refloss.value_and_grad(refloss.cross_entropy_grad)


# -- the checks can fail: each planted bug is caught by the check named for it ----------------------------


def _planted(entry, **changes):
    """A copy of ``entry`` with some fields replaced, registered under its own name while the test runs."""
    return dataclasses.replace(entry, **changes)


@pytest.fixture
def swap():
    saved = dict(_registry._ENTRIES)

    def install(entry):
        _registry._ENTRIES[entry.name] = entry
        return entry

    yield install
    _registry._ENTRIES.clear()
    _registry._ENTRIES.update(saved)


def test_wrong_registered_grad_fails_the_oracle_through_the_entry(swap):
    """The oracle calls the gradient the entry holds: a valid proof next to a wrong grad does not pass."""
    ce = refloss.get("cross_entropy")
    wrong = swap(_planted(ce, grad=lambda *a, **k: 1.01 * ce.grad(*a, **k)))
    with pytest.raises(AssertionError, match="ulps"):
        checks.check_golden(wrong)
    with pytest.raises(AssertionError, match="gradient w.r.t. logits"):
        checks.check_drawn(wrong, 3)


def test_a_value_and_grad_that_differs_by_one_rounding_fails(swap):
    ce = refloss.get("cross_entropy")

    def nearly(*args, **kwargs):
        value, grad = ce.value_and_grad(*args, **kwargs)
        return np.nextafter(value, np.inf), grad

    with pytest.raises(AssertionError, match="value_and_grad differs"):
        checks.check_value_and_grad(swap(_planted(ce, value_and_grad=nearly)))


def test_wrong_component_fails(swap):
    """One wrong component (the target's p_y - 1 computed by subtraction) is caught at a logit gap of 40."""
    ce = refloss.get("cross_entropy")

    def cancelling_grad(logits, target, **kw):
        p = refloss.logsumexp_grad(logits)  # softmax
        g = p.copy()
        np.put_along_axis(g, np.asarray(target)[..., None], np.take_along_axis(p, np.asarray(target)[..., None], -1)
                          - 1.0, -1)
        return g

    wrong = swap(_planted(ce, grad=cancelling_grad))
    case = {"logits": np.array([[40.0, 0.0]]), "target": np.array([0]), "reduction": "sum"}
    with pytest.raises(AssertionError, match="ulps"):
        testing.oracle_error(wrong, case)


def test_wrong_latex_fails_the_proof_check(swap):
    focal = refloss.get("focal_loss")
    wrong = swap(_planted(focal, gradient=focal.gradient.replace(r"\gamma", r"2 \gamma", 1)))
    with pytest.raises(AssertionError, match="stored gradient differs"):
        checks.check_proof(wrong)


def test_value_off_by_one_part_in_1e9_fails(swap):
    lse = refloss.get("logsumexp")
    wrong = swap(_planted(lse, fn=lambda logits: refloss.logsumexp(logits) * (1 + 1e-9)))
    with pytest.raises(AssertionError, match="ulps"):
        checks.check_golden(wrong)


def test_audit_reports_every_planted_failure(swap):
    lse = refloss.get("logsumexp")
    wrong = swap(_planted(lse, grad=lambda logits: -refloss.logsumexp_grad(logits),
                          formula=lse.formula + " + 1"))
    row = audit_entry(wrong, examples=5)
    kinds = {f.split(":")[0] for f in row.failures}
    assert {"proof", "stress", "drawn", "fd", "golden", "fuzz"} <= kinds


def test_definitions_are_found_through_the_entry():
    for e in ENTRIES:
        assert definition_of(e).name == e.name


def test_a_wrong_default_fails_completeness_and_the_default_stress_point(swap):
    """The contributor's planted bug: the signature's default differs from the paper's (here gamma = 1 for 2),
    in value and gradient alike. No other check sees it; these two do."""
    focal = refloss.get("focal_loss")

    def focal_loss(logits, target, *, gamma=1.0, alpha=None, reduction="mean"):
        """>>> 0"""
        return focal.fn(logits, target, gamma=gamma, alpha=alpha, reduction=reduction)

    def focal_loss_grad(logits, target, *, gamma=1.0, alpha=None, reduction="mean"):
        return focal.grad(logits, target, gamma=gamma, alpha=alpha, reduction=reduction)

    wrong = swap(_planted(focal, fn=focal_loss, grad=focal_loss_grad))
    with pytest.raises(AssertionError, match=r"gamma=1.0, not 2.0"):
        checks.check_complete(wrong)
    with pytest.raises(AssertionError, match="focal_loss__defaults"):
        checks.check_golden(wrong)


def test_an_entry_without_a_default_stress_point_is_incomplete(swap):
    ce = refloss.get("cross_entropy")
    stress = {k: v for k, v in ce.stress_cases().items() if k != "defaults"}
    with pytest.raises(AssertionError, match="no stress point relies on the defaults"):
        checks.check_complete(swap(_planted(ce, stress=lambda: stress)))


def test_a_changed_stress_point_makes_the_golden_file_stale(swap):
    lse = refloss.get("logsumexp")
    stress = {**lse.stress_cases(), "ties": {"logits": np.array([[0.0, 0.0, 1e-9]])}}
    with pytest.raises(AssertionError, match="stale.*stress points changed.*make golden"):
        checks.check_golden(swap(_planted(lse, stress=lambda: stress)))


def test_a_changed_definition_makes_the_golden_file_stale(tmp_path, monkeypatch):
    import shutil

    from refloss.golden import dataset

    copy = tmp_path / "proofs"
    shutil.copytree(dataset._proofs_dir(), copy)
    source = copy / "softmax" / "logsumexp.py"
    source.write_text(source.read_text() + "\n# a changed definition\n")
    monkeypatch.setattr(dataset, "_proofs_dir", lambda: copy)
    assert dataset.stale("logsumexp") and "definition" in dataset.stale("logsumexp")[0]
    assert not dataset.stale("cross_entropy"), "another family's file is unaffected"
    assert "definition" in dataset.stale("log_softmax")[0], "log_softmax's definition imports logsumexp's"
    (copy / "_oracle.py").write_text((copy / "_oracle.py").read_text() + "\n")
    assert any("oracle engine" in r for r in dataset.stale("cross_entropy"))


def test_register_rejects_inconsistent_entries():
    with pytest.raises(ValueError, match="reason"):
        register(name="x", family="t", paper=Paper("p"), tolerance=refloss.tolerance.Tolerance(ulps=64))
    with pytest.raises(ValueError, match="no_gradient"):
        register(name="x", family="t", paper=Paper("p"))  # neither differentiable nor saying why not
    with pytest.raises(ValueError, match="no_gradient"):
        register(name="x", family="t", paper=Paper("p"), wrt=("logits",), no_gradient="both")
    with pytest.raises(ValueError, match="twice"):
        register(name="logsumexp", family="t", paper=Paper("p"), wrt=("logits",))(lambda: None)
    with pytest.raises(ValueError, match="register the value function first"):
        gradient_of("no_such_object")(lambda: None)


def test_as_dict_is_json_ready():
    import json

    for e in ENTRIES:
        d = json.loads(json.dumps(e.as_dict()))
        assert {"name", "family", "paper", "proof", "accel", "tolerance"} <= set(d)
