"""The cancellations the verification issue found, each pinned against the 50-digit oracle.

Every case here had a gradient component (or a value) that the earlier formulas lost: p_y - 1 computed by
subtraction, log p + H, log p - log q - KL, q - p, and through two heads G^s c_s + G^t c_t. The expected
numbers come from the oracle of each object's definition, never from refloss; the policy is
refloss.tolerance's.
"""

import numpy as np
import pytest

import refloss
from refloss import testing
from refloss._oracle import definition_of, float64
from refloss.tolerance import ULPS, error_ulps

CASES = [
    ("cross_entropy", {"logits": np.array([[40.0, 0.0]]), "target": np.array([0]), "reduction": "sum"}),
    ("cross_entropy", {"logits": np.array([[20.0, 0.0], [36.0, 0.0]]), "target": np.array([0, 0]),
                       "reduction": "none"}),
    ("cross_entropy", {"logits": np.array([[36.0, 0.0, -3.0]]), "target": np.array([0]), "reduction": "sum"}),
    ("focal_loss", {"logits": np.array([[40.0, 0.0], [36.0, 0.0]]), "target": np.array([0, 0]), "gamma": 0.5,
                    "reduction": "none"}),
    ("kl_divergence_logits", {"p_logits": np.array([0.0, -30.0]), "q_logits": np.array([0.0, 0.0]),
                              "reduction": "sum"}),
    ("kl_divergence_logits", {"p_logits": np.array([0.0, -40.0]), "q_logits": np.array([0.0, -50.0]),
                              "reduction": "sum"}),
    ("kl_divergence_logits", {"p_logits": np.array([0.0, 1e-3, 0.0]), "q_logits": np.array([0.0, 0.0, 0.0]),
                              "reduction": "sum"}),
    # p and q agree on the classes that carry their mass, not on a tail class: L = log(q_k / p_k) taken as
    # log q_k - log p_k lost 268 ulps of q - p
    ("kl_divergence_logits", {"p_logits": np.array([0.0, 0.0, -15.0]), "q_logits": np.array([0.0, 1e-3, -20.0]),
                              "reduction": "sum"}),
    ("softmax_entropy", {"logits": np.array([1e-9, 0.0]), "reduction": "sum"}),
    ("log_softmax", {"logits": np.array([40.0, 0.0])}),
    ("poly1_loss", {"logits": np.array([[30.0, 0.0]]), "target": np.array([0]), "epsilon": -1.0, "reduction": "sum"}),
]


@pytest.mark.parametrize("name, case", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_every_component_keeps_its_digits(name, case):
    entry = refloss.get(name)
    ref = testing.reference(entry, case)
    assert np.max(error_ulps(entry.fn(**case), float64(ref.value), float64(ref.value_scale))) <= ULPS
    for wrt, got in testing.gradient_components(entry, entry.grad(**case)).items():
        errors = error_ulps(got, float64(ref.grads[wrt]), float64(ref.grad_scales[wrt]))
        assert np.max(errors) <= ULPS, (wrt, got, float64(ref.grads[wrt]))


def test_the_issue_example_has_both_components():
    # exact: (-e^-40 / (1 + e^-40), e^-40 / (1 + e^-40)); the earlier formula returned (0, 4.25e-18)
    g = refloss.cross_entropy_grad([[40.0, 0.0]], [0], reduction="sum")
    np.testing.assert_allclose(g, [[-4.248354255291589e-18, 4.248354255291589e-18]], rtol=4e-16)
    q = refloss.kl_divergence_logits_grad([0.0, -40.0], [0.0, -50.0], reduction="sum").q_logits
    assert q[0] != 0.0 and q[0] == pytest.approx(np.exp(-40.0) - np.exp(-50.0), rel=1e-14)


@pytest.mark.parametrize("case_id", ["ties", "gaps_student_close__temperature_1"])
def test_linear_kl_keeps_the_digits_of_nearly_equal_heads_where_its_logits_are_exact(case_id, monkeypatch):
    """grad_e = (G^s + G^t) c_s + G^t (c_t - c_s), the form whose terms are smaller, where the direct
    G^s c_s + G^t c_t cancels. The policy's allowance for rounded logits (refloss.tolerance) would excuse
    the direct form here, but these heads' products are exact or nearly so, and the split form keeps the
    digits: checked against the oracle without that allowance (the direct form: 1.9e8 and 2.7e3 ulps)."""
    entry = refloss.get("linear_kl")
    monkeypatch.setattr(definition_of(entry), "intermediate_scales", None)
    case = entry.stress_cases()[case_id]
    ref = testing.reference(entry, case)
    got = entry.grad(**case).e
    assert np.max(error_ulps(got, float64(ref.grads["e"]), float64(ref.grad_scales["e"]))) <= ULPS
