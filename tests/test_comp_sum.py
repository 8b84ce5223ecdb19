"""Comp-sum losses: identities between the members and with cross-entropy (beyond the generic checks)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import refloss
from refloss._cases import plain_strategy


def _cases(name="comp_sum_loss"):
    return plain_strategy(refloss.get(name), False)


def _plain(case):
    return {k: case[k] for k in ("logits", "target", "reduction")}


@given(data=st.data())
def test_tau_one_is_cross_entropy(data):
    case = {**data.draw(_cases()), "tau": 1.0}
    np.testing.assert_allclose(refloss.comp_sum_loss(**case), refloss.cross_entropy(**_plain(case)), rtol=1e-14)
    np.testing.assert_allclose(refloss.comp_sum_loss_grad(**case), refloss.cross_entropy_grad(**_plain(case)),
                               rtol=1e-13, atol=1e-300)


@given(data=st.data(), tau=st.floats(0.0, 3.0))
def test_value_is_phi_tau_of_the_sum_over_other_classes(data, tau):
    """Phi^tau(u), u = sum_{y' != y} e^{z_y' - z_y}: the paper's form, evaluated directly on unmasked rows."""
    case = data.draw(_cases())
    z, y = np.atleast_2d(case["logits"]), np.atleast_1d(case["target"])
    z = z.reshape(-1, z.shape[-1])
    u = np.array([np.exp(row - row[t]).sum() - 1.0 for row, t in zip(z, y.ravel())])
    phi = np.log1p(u) if tau == 1.0 else np.expm1((1.0 - tau) * np.log1p(u)) / (1.0 - tau)
    got = np.ravel(refloss.comp_sum_loss(z, y.ravel(), tau=tau, reduction="none"))
    np.testing.assert_allclose(got, phi, rtol=1e-9, atol=1e-15)  # the float64 form here is the less accurate one


def test_continuous_through_tau_one():
    z, y = np.array([[2.0, 0.5, -1.0], [30.0, 0.0, -3.0]]), np.array([1, 0])
    at_one = refloss.comp_sum_loss(z, y, tau=1.0, reduction="none")
    for eps in (1e-6, 1e-10, 1e-14):
        for tau in (1.0 - eps, 1.0 + eps):
            np.testing.assert_allclose(refloss.comp_sum_loss(z, y, tau=tau, reduction="none"), at_one,
                                       rtol=4 * eps * max(1.0, float(np.max(at_one))))


def test_hand_values():
    # p = (1/4, 3/4), target 1: tau = 0.5 gives (p^-1/2 - 1)/(1/2) = 2 (2/sqrt(3) - 1)
    assert refloss.comp_sum_loss([[0.0, math.log(3.0)]], [1], tau=0.5) == pytest.approx(
        2 * (2 / math.sqrt(3) - 1), rel=1e-15)
    # gradient p_y^(tau-1) (p - e_y) at tau = 3: (9/16) (1/4, -1/4)
    np.testing.assert_allclose(refloss.comp_sum_loss_grad([[0.0, math.log(3.0)]], [1], tau=3.0),
                               [[9 / 64, -9 / 64]], rtol=1e-15)


def test_masked_target():
    assert refloss.comp_sum_loss([[0.0, -np.inf]], [1], tau=1.0) == np.inf
    assert refloss.comp_sum_loss([[0.0, -np.inf]], [1], tau=1.5) == pytest.approx(2.0)  # p_y = 0: 1/(tau - 1)
    with pytest.raises(refloss.RefLossError, match=r"\+inf"):
        refloss.comp_sum_loss_grad([[0.0, -np.inf]], [1], tau=0.5)
    np.testing.assert_array_equal(refloss.comp_sum_loss_grad([[0.0, -np.inf]], [1], tau=1.5), [[0.0, 0.0]])


def test_bad_tau():
    with pytest.raises(refloss.RefLossError, match="tau"):
        refloss.comp_sum_loss([[0.0, 1.0]], [0], tau=-0.5)


@given(data=st.data())
def test_sum_exponential_is_comp_sum_at_tau_zero(data):
    case = data.draw(_cases("sum_exponential_loss"))
    np.testing.assert_allclose(refloss.sum_exponential_loss(**case), refloss.comp_sum_loss(**case, tau=0.0),
                               rtol=1e-14)
    np.testing.assert_allclose(refloss.sum_exponential_loss_grad(**case), refloss.comp_sum_loss_grad(**case, tau=0.0),
                               rtol=1e-14, atol=1e-300)


@given(data=st.data(), q=st.sampled_from([1e-3, 0.25, 0.7, 1.0]))
def test_generalized_cross_entropy_is_comp_sum_at_one_plus_q(data, q):
    case = data.draw(_cases("generalized_cross_entropy"))
    case = {**_plain(case), "q": q}
    plain = _plain(case)
    np.testing.assert_allclose(refloss.generalized_cross_entropy(**case), refloss.comp_sum_loss(**plain, tau=1 + q),
                               rtol=1e-13)
    np.testing.assert_allclose(refloss.generalized_cross_entropy_grad(**case),
                               refloss.comp_sum_loss_grad(**plain, tau=1 + q), rtol=1e-13, atol=1e-300)


def test_generalized_cross_entropy_tends_to_cross_entropy():
    z, y = np.array([[2.0, 0.5, -1.0], [30.0, 0.0, -3.0], [0.0, 8.0, 0.0]]), np.array([1, 0, 0])
    ce = refloss.cross_entropy(z, y, reduction="none")
    for q in (1e-4, 1e-8, 1e-12):
        # L_q = -s exprel(q s) = -s (1 + q s / 2 + ...): the relative gap to -s is about q |s| / 2
        got = refloss.generalized_cross_entropy(z, y, q=q, reduction="none")
        np.testing.assert_allclose(got, ce, rtol=q * np.max(ce))
        assert np.all(got <= ce)  # (1 - p^q)/q increases to -log p as q decreases


@given(data=st.data())
def test_mae_is_comp_sum_at_tau_two_and_gce_at_q_one(data):
    case = data.draw(_cases("mae_loss"))
    for other in (refloss.comp_sum_loss(**case, tau=2.0), refloss.generalized_cross_entropy(**case, q=1.0)):
        np.testing.assert_allclose(refloss.mae_loss(**case), other, rtol=1e-14)
    np.testing.assert_allclose(refloss.mae_loss_grad(**case), refloss.comp_sum_loss_grad(**case, tau=2.0),
                               rtol=1e-14, atol=1e-300)


@given(data=st.data())
def test_mae_is_half_the_l1_distance_of_softmax_to_one_hot(data):
    case = {**data.draw(_cases("mae_loss")), "reduction": "none"}
    z, y = np.asarray(case["logits"]), np.asarray(case["target"])
    p = refloss.logsumexp_grad(z)
    one_hot = np.zeros_like(p)
    np.put_along_axis(one_hot, y[..., None], 1.0, axis=-1)
    np.testing.assert_allclose(2 * refloss.mae_loss(**case), np.abs(p - one_hot).sum(axis=-1), rtol=1e-12,
                               atol=1e-15)
