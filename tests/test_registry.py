"""Generic properties, looped over every registry entry: adding an object adds its tests here.

Every entry is checked against its one definition (``proofs/check_<family>.py``): the symbolic proofs, the
registered LaTeX, the oracle at every stress point and on drawn inputs, finite differences, finiteness on
extreme inputs, shift invariance, and its golden file (``test_golden.py``).
"""

import dataclasses
import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from refloss.proofs._support import definition_of

import refloss
from refloss import _cases, _registry, testing
from refloss._registry import Paper, gradient_of, register
from refloss.audit import audit_entry, check_proof, check_stress

ENTRIES = refloss.catalogue()
WITH_GRAD = [e for e in ENTRIES if e.grad is not None]
SHIFT_INVARIANT = [e for e in ENTRIES if e.shift_invariant]
STRESS = [(e, case_id) for e in ENTRIES for case_id in e.stress_cases()]


def ids(entry):
    return entry.name


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
    assert entry.paper.title and entry.formula
    assert entry.fn.__doc__ and ">>>" in entry.fn.__doc__, "the value function needs a doctest"
    assert entry.formula in entry.fn.__doc__, "the registered formula is appended to the docstring"
    signature = inspect.signature(entry.fn).parameters
    arrays = [p for p in signature.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert all(p.default is inspect.Parameter.empty for p in arrays), "parameters after the arrays are keyword-only"
    assert all(p.name in signature for p in entry.params)
    if entry.grad is not None:
        assert inspect.signature(entry.grad).parameters == signature, "grad must take fn's arguments"
        assert entry.gradient in entry.grad.__doc__
        assert set(entry.wrt) <= set(signature)
    assert entry.stress_cases(), "every entry declares stress points"
    assert entry.proof == f"proofs/check_{entry.family}.py::{entry.name}"


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_proof_and_registered_formula(entry):
    check_proof(entry)


@pytest.mark.parametrize("entry, case_id", STRESS, ids=[f"{e.name}-{c}" for e, c in STRESS])
def test_oracle_at_stress_point(entry, case_id):
    """Value and every gradient component within the tolerance policy of the 50-digit oracle."""
    assert testing.oracle_error(entry, entry.stress_cases()[case_id]) <= entry.tolerance.ulps


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
@given(data=st.data())
def test_oracle_on_drawn_inputs(entry, data):
    with _cases.small_shapes():
        case = data.draw(_cases.strategy(entry, False), label="case")
    assert testing.oracle_error(entry, case) <= entry.tolerance.ulps


@pytest.mark.parametrize("entry", WITH_GRAD, ids=ids)
@given(data=st.data())
def test_gradient_matches_finite_differences(entry, data):
    case = data.draw(_cases.strategy(entry, False), label="case")
    assert testing.gradient_error(entry, case) <= testing.GRAD_TOL


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
@given(data=st.data())
def test_finite_on_extreme_inputs(entry, data):
    testing.assert_finite(entry, data.draw(_cases.strategy(entry, True), label="case"))


@pytest.mark.parametrize("entry", SHIFT_INVARIANT, ids=ids)
@given(data=st.data(), shift=st.sampled_from([-1000.0, -7.25, 3.5, 1000.0]))
def test_shift_invariance(entry, data, shift):
    case = data.draw(_cases.strategy(entry, False), label="case")
    assert testing.shift_error(entry, case, shift) <= 1e-10


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_inputs_are_not_modified(entry):
    for case in list(entry.stress_cases().values())[:3]:
        before = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in case.items()}
        entry.fn(**case)
        if entry.grad is not None:
            entry.grad(**case)
        for k, v in before.items():
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(case[k], v)


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
    with pytest.raises(AssertionError, match="gradient"):
        check_stress(wrong)


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
    with pytest.raises(AssertionError, match="registered gradient differs"):
        check_proof(wrong)


def test_value_off_by_one_part_in_1e9_fails(swap):
    lse = refloss.get("logsumexp")
    wrong = swap(_planted(lse, fn=lambda logits: refloss.logsumexp(logits) * (1 + 1e-9)))
    with pytest.raises(AssertionError, match="value"):
        check_stress(wrong)


def test_audit_reports_every_planted_failure(swap):
    lse = refloss.get("logsumexp")
    wrong = swap(_planted(lse, grad=lambda logits: -refloss.logsumexp_grad(logits),
                          formula=lse.formula + " + 1"))
    row = audit_entry(wrong, examples=5)
    kinds = {f.split(":")[0] for f in row.failures}
    assert {"proof", "stress", "drawn", "fd", "golden"} <= kinds


def test_definitions_are_found_through_the_entry():
    for e in ENTRIES:
        assert definition_of(e).name == e.name


def test_register_rejects_inconsistent_entries():
    with pytest.raises(ValueError, match="gradient"):
        register(name="x", family="t", wrt=("logits",), paper=Paper("p"), formula="f")
    with pytest.raises(ValueError, match="reason"):
        register(name="x", family="t", paper=Paper("p"), formula="f",
                 tolerance=refloss.tolerance.Tolerance(ulps=64))
    with pytest.raises(ValueError, match="twice"):
        register(name="logsumexp", family="t", paper=Paper("p"), formula="f")(lambda: None)
    with pytest.raises(ValueError, match="register the value function first"):
        gradient_of("no_such_object")(lambda: None)


def test_as_dict_is_json_ready():
    import json

    for e in ENTRIES:
        d = json.loads(json.dumps(e.as_dict()))
        assert {"name", "family", "paper", "proof", "accel", "tolerance"} <= set(d)
