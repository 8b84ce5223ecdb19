"""The entropy family (softmax_entropy, kl_divergence_logits, softmax_tsallis_entropy): hand-derived values,
limits, masks, errors."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import refloss
from refloss import RefLossError
from refloss._cases import plain_strategy as strategy


def kl_cases(extreme):
    return strategy(refloss.get("kl_divergence_logits"), extreme)


def logits_cases(extreme):
    return strategy(refloss.get("logsumexp"), extreme)



def test_entropy_hand_values():
    # p = (1/4, 1/2, 1/4): H = 2 * (1/4) log 4 + (1/2) log 2 = (3/2) log 2
    assert refloss.softmax_entropy([0.0, math.log(2.0), 0.0]) == pytest.approx(1.5 * math.log(2.0), rel=1e-15)
    assert refloss.softmax_entropy([[1.0, 1.0, 1.0]], reduction="none")[0] == pytest.approx(math.log(3.0), rel=1e-15)
    assert refloss.softmax_entropy([[5.0]]) == 0.0
    # a masked class is a class with probability 0: the entropy is that of the rest
    assert refloss.softmax_entropy([0.0, -np.inf, 0.0]) == pytest.approx(math.log(2.0), rel=1e-15)
    assert refloss.softmax_entropy([[0.0, 0.0], [5.0, 5.0]], reduction="sum") == pytest.approx(2 * math.log(2.0))


def test_entropy_of_a_peaked_distribution_is_accurate():
    # H(e^-k) for logits (k, 0): q (1 + k) + O(q^2) with q = e^-k; LSE - sum p z would give 0 or noise.
    k = 60.0
    q = math.exp(-k)
    assert refloss.softmax_entropy([k, 0.0]) == pytest.approx(q * (1.0 + k), rel=1e-12)


def test_entropy_gradient_hand_values():
    # p = (1/4, 3/4), H = (1/4) log 4 + (3/4) log(4/3); dH/dz = -p (log p + H)
    p = np.array([0.25, 0.75])
    h = -(p * np.log(p)).sum()
    np.testing.assert_allclose(refloss.softmax_entropy_grad([0.0, math.log(3.0)]), -p * (np.log(p) + h), rtol=1e-14)


@given(data=st.data())
def test_entropy_between_zero_and_log_of_support(data):
    logits = data.draw(logits_cases(True))["logits"]
    h = refloss.softmax_entropy(logits, reduction="none")
    support = np.isfinite(logits).sum(axis=-1)
    assert (h >= 0).all() and (h <= np.log(support) * (1 + 1e-12) + 1e-300).all()


def test_kl_hand_values():
    # p = (1/2, 1/2), q = (1/4, 3/4): KL = (1/2) log 2 + (1/2) log(2/3)
    assert refloss.kl_divergence_logits([0.0, 0.0], [0.0, math.log(3.0)]) == pytest.approx(
        math.log(2.0) - 0.5 * math.log(3.0), rel=1e-15)
    g = refloss.kl_divergence_logits_grad([[0.0, 0.0]], [[0.0, math.log(3.0)]], reduction="sum")
    kl = math.log(2.0) - 0.5 * math.log(3.0)
    np.testing.assert_allclose(g.q_logits, [[-0.25, 0.25]], rtol=1e-15)
    np.testing.assert_allclose(g.p_logits, [[0.5 * (math.log(2.0) - kl), 0.5 * (math.log(2.0 / 3.0) - kl)]],
                               rtol=1e-14)


def test_kl_masks():
    # p masked where q is not: the class contributes 0
    assert refloss.kl_divergence_logits([0.0, -np.inf], [0.0, 0.0]) == pytest.approx(math.log(2.0), rel=1e-15)
    # q masked where p has mass: +inf, and no gradient
    assert refloss.kl_divergence_logits([0.0, 0.0], [0.0, -np.inf]) == np.inf
    with pytest.raises(RefLossError, match=r"\+inf"):
        refloss.kl_divergence_logits_grad([0.0, 0.0], [0.0, -np.inf])


@given(data=st.data())
def test_kl_is_nonnegative_and_zero_on_equal_inputs(data):
    case = data.draw(kl_cases(True))
    assert (refloss.kl_divergence_logits(case["p_logits"], case["q_logits"], reduction="none") >= 0).all()
    same = refloss.kl_divergence_logits(case["p_logits"], case["p_logits"], reduction="none")
    np.testing.assert_array_equal(same, 0.0)
    g = refloss.kl_divergence_logits_grad(case["p_logits"], case["p_logits"])
    np.testing.assert_allclose(g.p_logits, 0.0, atol=1e-15)
    np.testing.assert_allclose(g.q_logits, 0.0, atol=1e-15)


def test_kl_errors():
    with pytest.raises(RefLossError, match="q_logits"):
        refloss.kl_divergence_logits([[0.0, 0.0]], [[0.0, 0.0, 0.0]])
    with pytest.raises(RefLossError, match="p_logits contains NaN"):
        refloss.kl_divergence_logits([np.nan, 0.0], [0.0, 0.0])
    with pytest.raises(RefLossError, match="reduction"):
        refloss.softmax_entropy([0.0, 0.0], reduction="batchmean")


# -- softmax_tsallis_entropy ---------------------------------------------------------------------------------


def test_tsallis_order_two_is_the_gini_simpson_index():
    # p = (1/4, 3/4): 1 - 1/16 - 9/16
    assert refloss.softmax_tsallis_entropy([0.0, math.log(3.0)]) == pytest.approx(0.375, rel=1e-15)
    # equal logits: (1 - C^(1-q)) / (q - 1)
    for q in (0.5, 2.0, 3.0):
        assert refloss.softmax_tsallis_entropy(np.zeros(5), q=q) == pytest.approx((1 - 5 ** (1 - q)) / (q - 1),
                                                                                  rel=1e-14)


@pytest.mark.parametrize("logits", [[0.3, -1.2, 2.0], [40.0, 0.0, -3.0], [1e-9, 0.0, 0.0], [0.0, -np.inf, 1.0]])
def test_tsallis_tends_to_shannon_as_q_tends_to_one(logits):
    """The limit q -> 1 is a test of the float64 forms, not a comment: both sides of q = 1 approach Shannon's
    value and gradient at the rate |q - 1|, and q = 1 is Shannon's exactly."""
    h, g = refloss.softmax_entropy(logits), refloss.softmax_entropy_grad(logits)
    assert refloss.softmax_tsallis_entropy(logits, q=1.0) == pytest.approx(h, rel=1e-14)
    np.testing.assert_allclose(refloss.softmax_tsallis_entropy_grad(logits, q=1.0), g, rtol=1e-13, atol=1e-300)
    for dq in (1e-6, -1e-6, 1e-12, -1e-12):
        tolerance = 50 * abs(dq) * max(1.0, abs(math.log(max(h, 1e-300))))
        assert refloss.softmax_tsallis_entropy(logits, q=1 + dq) == pytest.approx(h, rel=tolerance)
        np.testing.assert_allclose(refloss.softmax_tsallis_entropy_grad(logits, q=1 + dq), g, rtol=tolerance,
                                   atol=tolerance * np.abs(g).max())


def test_tsallis_keeps_what_p_to_the_q_keeps_when_p_underflows():
    """q = 0.01 at logits (0, -1000): p_1 = e^-1000 is 0 in float64, p_1^q = e^-10 is not, and
    S_q = (1 - p_0^q - p_1^q) / (q - 1) with p_0^q = (1 - e^-1000)^q = 1 in every digit."""
    assert refloss.softmax_tsallis_entropy([0.0, -1000.0], q=0.01) == pytest.approx(math.exp(-10.0) / 0.99, rel=1e-13)


def test_tsallis_naive_form_loses_what_refloss_keeps():
    """At a logit gap of 40 and q = 2, 1 - sum p^2 rounds to 0; the exact value is 2 e^-40 (1 + O(e^-40))."""
    p = np.exp(refloss.log_softmax([40.0, 0.0]))
    assert 1.0 - (p**2).sum() == 0.0
    assert refloss.softmax_tsallis_entropy([40.0, 0.0]) == pytest.approx(2 * math.exp(-40.0), rel=1e-15)
