"""Registry-driven fuzzing: every entry, bad inputs and extreme finite inputs derived from its parameters.

The cases come from :mod:`refloss._fuzz` (see there) and the checks from :mod:`refloss.checks`, which
``refloss audit`` runs too (its *fuzz* column). Each case is its own test here, so a failure names it.

The suite runs with RuntimeWarning as an error (pyproject.toml), so no warning escapes either. Every object
registered later gets these checks from its parameter domains, with nothing to write.
"""

import numpy as np
import pytest

import refloss
from refloss import RefLossError, _fuzz, checks, testing

ENTRIES = refloss.catalogue()
BAD = [pytest.param(e, name, case, id=f"{e.name}-{case_id}") for e in ENTRIES
       for case_id, name, case in _fuzz.bad_cases(e)]
ORACLE = [pytest.param(e, case, id=f"{e.name}-{case_id}") for e in ENTRIES
          for case_id, case in _fuzz.oracle_cases(e).items()]


@pytest.mark.parametrize("entry, name, case", BAD)
def test_bad_input_raises_a_reflosserror_naming_the_argument(entry, name, case):
    checks.bad_input_raises(entry, name, case)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_extreme_finite_inputs_match_the_cached_oracle(entry):
    """Logits to 1.7e308, a mean whose sum overflows, huge parameters (gamma = 1e20, where (1 - p)^gamma
    rounded 1 - p to 1), a masked target (+inf and a gradient that raises, or finite: comp-sum at tau > 1),
    against the oracle's answers that the fresh golden file stores."""
    checks.check_extreme_oracle(entry, live=False)


@pytest.mark.full
@pytest.mark.parametrize("entry, case", ORACLE)
def test_extreme_finite_inputs_match_the_oracle(entry, case):
    """The same inputs, the oracle evaluated now."""
    assert testing.oracle_error(entry, case) <= entry.tolerance.ulps


def test_every_entry_gets_the_extreme_cases():
    for e in ENTRIES:  # the derived ones, or the entry's own (samples, covariances): at least one either way
        assert ("extreme_finite" in _fuzz.oracle_cases(e)) if e.extreme is None else _fuzz.oracle_cases(e)
    assert {"huge_gamma_1e+20", "mean_whose_sum_overflows", "masked_target"} <= set(
        _fuzz.oracle_cases(refloss.get("focal_loss")))


def test_a_check_that_accepts_bad_input_fails():
    ce = refloss.get("cross_entropy")
    case = {**ce.stress_cases()["defaults"], "label_smoothing": 2.0}
    with pytest.raises(AssertionError, match="accepted a bad label_smoothing"):
        checks.bad_input_raises(ce, "label_smoothing", {**case, "label_smoothing": 0.5})
    with pytest.raises(RefLossError):
        ce.fn(**case)


def test_scalars_of_other_frameworks_are_accepted():
    class Scalar:  # what a 0-d torch or JAX array offers
        def __init__(self, x):
            self.x = x

        def __float__(self):
            return float(self.x)

        def __index__(self):
            return int(self.x)

    logits, target = [[0.0, 1.0], [2.0, 0.0]], [1, 0]
    assert refloss.focal_loss(logits, target, gamma=Scalar(2.0)) == refloss.focal_loss(logits, target, gamma=2.0)
    assert refloss.cross_entropy(logits, target, ignore_index=Scalar(-100), label_smoothing=np.array(0.1)) == \
        refloss.cross_entropy(logits, target, label_smoothing=0.1)


def test_a_jacobian_too_large_to_hold_is_refused_up_front():
    with pytest.raises(RefLossError, match=r"logits of shape \(1000000,\).*J v"):
        refloss.log_softmax_grad(np.zeros(10**6))
