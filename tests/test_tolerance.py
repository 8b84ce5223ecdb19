"""The one tolerance policy, shown both ways: a few ulps of the element's own scale pass, real errors fail."""

import math

import numpy as np
import pytest

import refloss
from refloss import testing
from refloss.numerics import _log_softmax
from refloss.tolerance import EPS, TINY, ULPS, error_ulps, worst_ulps


def test_units():
    assert worst_ulps([1.0 + 4 * EPS], [1.0], [0.0]) == pytest.approx(4.0)
    # the scale, not the value, sets the unit where the value is the small result of a cancellation
    assert worst_ulps([1e-17], [0.0], [1.0]) == pytest.approx(1e-17 / EPS)
    # below the normal range: k subnormal spacings
    assert worst_ulps([3 * 5e-324], [0.0], [0.0]) == pytest.approx(3 * 5e-324 / (EPS * TINY))


def test_infinities_and_nan():
    assert worst_ulps([math.inf], [math.inf], [0.0]) == 0.0
    assert worst_ulps([1e308], [math.inf], [0.0]) == math.inf
    assert worst_ulps([math.nan], [1.0], [0.0]) == math.inf
    assert worst_ulps([-math.inf], [math.inf], [0.0]) == math.inf


def test_elementwise_never_normwise():
    """The golden failure of the old normwise check: a peaked row next to a uniform row. Each element is
    judged against its own scale, so the uniform row's rounding residue is not measured in units of the
    peaked row's tiny entries, and the peaked row's tiny entries are not excused by the uniform row."""
    ref = np.array([[-5.25e-25, 5.25e-25, 0.0], [0.0, 0.0, 0.0]])
    scale = np.array([[3.2e-23, 3.2e-23, 0.0], [0.37, 0.37, 0.37]])
    got = ref + np.array([[0.0, 0.0, 0.0], [7.4e-17, -3.7e-17, -3.7e-17]])
    assert worst_ulps(got, ref, scale) < 2
    got_peaked_lost = ref * np.array([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    assert worst_ulps(got_peaked_lost, ref, scale) > 1e6


@pytest.mark.parametrize("ulps", [1.0, 3.0, ULPS * 0.9])
def test_perturbations_of_a_few_ulps_of_their_own_scale_pass(ulps):
    entry = refloss.get("cross_entropy")
    case = entry.stress_cases()["gaps__target_dominant__label_smoothing_0"]
    ref = testing.reference(entry, case)
    from refloss._oracle import float64

    g, s = float64(ref.grads["logits"]), float64(ref.grad_scales["logits"])
    perturbed = g + ulps * EPS * (np.abs(g) + s) * np.sign(np.sin(np.arange(g.size))).reshape(g.shape)
    assert worst_ulps(perturbed, g, s) <= ulps + 0.1  # + the rounding of the perturbed result


def test_injected_errors_fail():
    entry = refloss.get("cross_entropy")
    case = {"logits": np.array([[40.0, 0.0, -3.0], [20.0, 0.0, 1.0]]), "target": np.array([0, 0]),
            "reduction": "none"}
    ref = testing.reference(entry, case)
    from refloss._oracle import float64

    g, s = float64(ref.grads["logits"]), float64(ref.grad_scales["logits"])
    good = refloss.cross_entropy_grad(**case)
    assert worst_ulps(good, g, s) <= ULPS
    assert worst_ulps(good * (1 + 1e-9), g, s) > ULPS  # a relative error of 1e-9
    wrong = good.copy()
    wrong[1, 2] *= 1.001  # one wrong component
    assert worst_ulps(wrong, g, s) > ULPS
    # a dropped expm1: p_y - 1 by subtraction instead of expm1(log p_y)
    logp = _log_softmax(case["logits"])
    dropped = good.copy()
    dropped[:, 0] = np.exp(logp[:, 0]) - 1.0
    assert worst_ulps(dropped, g, s) > ULPS
    errors = error_ulps(dropped, g, s)
    assert errors[0, 0] > 1e12 and errors[0, 1] <= ULPS  # the failure is the target component, and only it


def test_intermediate_scales_by_rows_equal_the_whole():
    """The oracle takes a head's logit scales row by row (proofs._oracle.intermediate_scales' blocks): the
    same numbers as varying every logit at once, since a row's loss involves that row's logits alone."""
    from refloss.proofs._oracle import intermediate_scales
    from refloss.proofs.linear import _common, linear_kl

    from refloss._oracle import float64

    rng = np.random.default_rng(3)
    case = {"e": rng.standard_normal((2, 2)), "c_student": rng.standard_normal((3, 2)),
            "c_teacher": rng.standard_normal((3, 2)), "temperature": 1.5, "reduction": "mean"}
    logits = linear_kl._kl_logits(case)

    def outputs(x):
        return linear_kl._kl_on_logits(case, x["t"], x["s"])

    whole = intermediate_scales(outputs, logits, 200)
    by_rows = intermediate_scales(outputs, logits, 200, _common._row_blocks(logits))
    np.testing.assert_allclose(float64(by_rows[0]), float64(whole[0]), rtol=1e-12)
    for name in logits:
        assert float64(whole[1][name]).min() > 0
        np.testing.assert_allclose(float64(by_rows[1][name]), float64(whole[1][name]), rtol=1e-12)


def test_the_oracle_counts_a_tiny_scalar_parameter_in_its_starting_precision():
    """q = 5e-324 enters the definition as an exact constant: (1 - 2^-q)/q = log 2 - q log(2)^2/2 + ... needs
    about 340 digits before 1 - 2^-q is not 0. An oracle that sized its precision by the array inputs alone
    returned 0 here, agreeing with itself at two precisions (found by the full tier's drawn examples)."""
    from refloss._oracle import float64

    entry = refloss.get("generalized_cross_entropy")
    ref = testing.reference(entry, {"logits": np.array([0.0, 0.0]), "target": np.array(0), "q": 5e-324})
    assert float64(ref.value) == math.log(2.0)
