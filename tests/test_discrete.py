"""softmax_entropy and kl_divergence_logits: hand-derived values, limits, masks, errors."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import refloss
from refloss import RefLossError
from refloss._cases import strategy


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
