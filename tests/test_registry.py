"""Generic properties, looped over every registry entry: adding an object adds its tests here."""

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import refloss
from refloss import golden, testing
from refloss._registry import Paper, register
from refloss.audit import find_proofs_dir, run_proof

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = refloss.catalogue()
WITH_GRAD = [e for e in ENTRIES if e.grad is not None]
WITH_MP = [e for e in ENTRIES if e.mp is not None]
SHIFT_INVARIANT = [e for e in ENTRIES if e.shift_invariant]


def ids(entry):
    return entry.name


def test_catalogue_holds_the_core_objects():
    assert {e.name for e in ENTRIES} >= {
        "logsumexp", "log_softmax", "cross_entropy", "binary_cross_entropy_with_logits", "softmax_entropy",
        "kl_divergence_logits", "focal_loss", "sigmoid_focal_loss",
    }


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_entry_is_complete(entry):
    assert entry.paper.title and entry.formula and entry.strategy is not None
    assert entry.fn.__doc__ and ">>>" in entry.fn.__doc__, "the value function needs a doctest"
    if entry.grad is not None:
        assert inspect.signature(entry.grad).parameters == inspect.signature(entry.fn).parameters, \
            "grad must take fn's arguments"
        assert entry.gradient and entry.grad.__doc__
        assert set(entry.wrt) <= set(inspect.signature(entry.fn).parameters)
    rel, check = entry.proof.split("::")
    assert rel == f"proofs/check_{entry.family}.py"
    script = ROOT / rel
    derivation = script.with_name(script.name.removeprefix("check_")).with_suffix(".md")
    assert script.is_file() and derivation.is_file()
    assert re.search(rf"^## {re.escape(entry.name)}\s*$", derivation.read_text(), re.M), \
        f"{derivation.name} has no '## {entry.name}' section"
    assert entry.name == check
    fn_params = inspect.signature(entry.fn).parameters
    assert all(p.name in fn_params for p in entry.params)


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_proof_check_passes(entry):
    run_proof(entry, find_proofs_dir(ROOT))


@pytest.mark.parametrize("entry", WITH_GRAD, ids=ids)
@given(data=st.data())
def test_gradient_matches_finite_differences(entry, data):
    case = data.draw(entry.strategy(False), label="case")
    assert testing.gradient_error(entry, case) <= testing.GRAD_TOL


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
@given(data=st.data())
def test_finite_on_extreme_inputs(entry, data):
    testing.assert_finite(entry, data.draw(entry.strategy(True), label="case"))


@pytest.mark.parametrize("entry", WITH_MP, ids=ids)
@given(data=st.data(), extreme=st.booleans())
def test_value_matches_mpmath(entry, data, extreme):
    case = data.draw(entry.strategy(extreme), label="case")
    assert testing.precision_error(entry, case) <= golden.PRECISION_RTOL


@pytest.mark.parametrize("entry", SHIFT_INVARIANT, ids=ids)
@given(data=st.data(), shift=st.sampled_from([-1000.0, -7.25, 3.5, 1000.0]))
def test_shift_invariance(entry, data, shift):
    case = data.draw(entry.strategy(False), label="case")
    assert testing.shift_error(entry, case, shift) <= 1e-10


def _broken_grad(logits):
    return -refloss.logsumexp_grad(logits)  # wrong sign: the audit must catch it


def test_the_checks_can_fail():
    """A registered object with a wrong gradient and a wrong twin fails both checks."""
    from refloss import _registry
    from refloss.audit import audit_entry

    def broken(logits):
        """>>> 0"""
        return refloss.logsumexp(logits)

    lse = refloss.get("logsumexp")
    try:
        register(name="broken_lse", family="test", grad=_broken_grad, wrt=("logits",), paper=Paper("none"),
                 formula="-", gradient="-", proof=lse.proof, strategy=lse.strategy,
                 mp=lambda logits: np.asarray(lse.mp(logits=logits), dtype=object) * 2)(broken)
        row = audit_entry(refloss.get("broken_lse"), examples=5, proofs_dir=None)
    finally:
        _registry._ENTRIES.pop("broken_lse", None)
    assert not row.ok
    kinds = {f.split(":")[0] for f in row.failures}
    assert {"gradient", "precision", "proof"} <= kinds


def test_register_rejects_inconsistent_entries():
    with pytest.raises(ValueError, match="wrt"):
        register(name="x", family="t", grad=None, wrt=("logits",), paper=Paper("p"), formula="", gradient="",
                 proof="proofs/x.py::x", strategy=None)
    with pytest.raises(ValueError, match="proof"):
        register(name="x", family="t", grad=None, paper=Paper("p"), formula="", gradient="", proof="proofs/x.py",
                 strategy=None)
    with pytest.raises(ValueError, match="twice"):
        register(name="logsumexp", family="t", grad=None, paper=Paper("p"), formula="", gradient="",
                 proof="proofs/x.py::x", strategy=None)(lambda: None)


def test_as_dict_is_json_ready():
    import json

    for e in ENTRIES:
        d = json.loads(json.dumps(e.as_dict()))
        assert {"name", "family", "paper", "proof", "accel"} <= set(d)
