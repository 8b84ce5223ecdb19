"""The curvature of cross-entropy: the Hessian and its products against finite differences of refloss's own
closed-form gradients (an independent route: first derivatives, differenced), and the digits of confident rows."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import refloss
from refloss import RefLossError


def _rows(seed, n=4, c=5, scale=3.0):
    rng = np.random.default_rng(seed)
    return rng.normal(scale=scale, size=(n, c)), rng.normal(size=(n, c)), rng.integers(0, c, size=n)


@pytest.mark.parametrize("loss_reduction", ["mean", "sum"])
def test_hvp_is_the_difference_of_cross_entropy_gradients(loss_reduction):
    z, v, y = _rows(0)
    h = 1e-5
    numeric = (refloss.cross_entropy_grad(z + h * v, y, reduction=loss_reduction)
               - refloss.cross_entropy_grad(z - h * v, y, reduction=loss_reduction)) / (2 * h)
    np.testing.assert_allclose(refloss.cross_entropy_hvp(z, v, loss_reduction=loss_reduction), numeric, rtol=1e-7,
                               atol=1e-10)


def test_hessian_blocks_are_the_hvp_jacobian_symmetric_psd_with_zero_row_sums():
    z, v, _ = _rows(1)
    hess = refloss.cross_entropy_hessian(z, loss_reduction="none")
    np.testing.assert_array_equal(hess, refloss.cross_entropy_hvp_grad(z, v, loss_reduction="none"))
    np.testing.assert_allclose(np.einsum("njk,nk->nj", hess, v), refloss.cross_entropy_hvp(z, v, loss_reduction="none"),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(hess, np.swapaxes(hess, -1, -2))
    assert (np.linalg.eigvalsh(hess) > -1e-15).all()
    np.testing.assert_allclose(hess.sum(axis=-1), 0.0, atol=1e-16)


def test_a_confident_row_keeps_every_digit():
    z = np.array([40.0, 0.0, -3.0])
    with mpmath.workdps(50):
        e = [mpmath.exp(mpmath.mpf(x)) for x in z]
        p = [x / sum(e) for x in e]
        exact_diag = float(p[0] * (1 - p[0]))
        v = [7.0, 7.0 + 2.0**-40, 6.0]
        mean = sum(pk * vk for pk, vk in zip(p, v))
        exact_hvp = float(p[0] * (v[0] - mean))
    assert refloss.cross_entropy_hessian(z, loss_reduction="sum")[0, 0] == pytest.approx(exact_diag, rel=4e-16)
    got = refloss.cross_entropy_hvp(z, np.array(v), loss_reduction="sum")[0]
    assert got == pytest.approx(exact_hvp, rel=1e-14)
    p_float = refloss.softmax(z)  # the textbook form loses it: p (v - <p, v>) rounds the mean to v_0
    assert abs(p_float[0] * (v[0] - p_float @ np.array(v)) - exact_hvp) > 1e3 * abs(got - exact_hvp)


def test_masks_one_class_and_constant_vectors():
    z = np.array([[2.0, -np.inf, 0.0]])
    hess = refloss.cross_entropy_hessian(z, loss_reduction="sum")[0]
    assert not hess[1].any() and not hess[:, 1].any()
    assert refloss.cross_entropy_hvp(z, np.array([[1.0, 1e300, -1.0]]), loss_reduction="sum")[0, 1] == 0.0
    assert not refloss.cross_entropy_hessian(np.array([[3.0], [1.0]])).any()
    constant = refloss.cross_entropy_hvp(np.array([0.3, -2.0, 5.0]), np.full(3, 4.5), loss_reduction="sum")
    assert (np.abs(constant) <= 4 * np.finfo(float).eps * 4.5 * refloss.softmax(np.array([0.3, -2.0, 5.0]))).all()


def test_gauss_newton_of_a_linear_head_is_the_difference_of_its_classifier_gradients():
    rng = np.random.default_rng(2)
    e, c, delta = rng.normal(size=(6, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    bias, y = rng.normal(size=4), rng.integers(0, 4, size=6)
    h = 1e-5
    numeric = (refloss.linear_cross_entropy_grad(e, c + h * delta, y, bias=bias).c
               - refloss.linear_cross_entropy_grad(e, c - h * delta, y, bias=bias).c) / (2 * h)
    got = refloss.cross_entropy_gauss_newton_vp(e, c, delta, bias=bias)
    np.testing.assert_allclose(got, numeric, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(refloss.cross_entropy_gauss_newton_vp(e, c, delta, bias=bias, loss_reduction="sum"),
                               6 * got, rtol=1e-14)


@pytest.mark.parametrize("call, match", [
    (lambda: refloss.cross_entropy_hvp([0.0, 1.0], [1.0]), "vector must have the shape"),
    (lambda: refloss.cross_entropy_hvp([0.0, 1.0], [1.0, np.inf]), "vector contains \\+inf"),
    (lambda: refloss.cross_entropy_hessian([0.0, np.nan]), "logits contains NaN"),
    (lambda: refloss.cross_entropy_hessian([0.0, 1.0], loss_reduction="max"), "loss_reduction"),
    (lambda: refloss.cross_entropy_gauss_newton_vp(np.ones((2, 3)), np.ones((4, 2)), np.ones((4, 2))), "same D"),
    (lambda: refloss.cross_entropy_gauss_newton_vp(np.ones((2, 3)), np.ones((4, 3)), np.ones((4, 2))),
     "direction must have the shape"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(RefLossError, match=match):
        call()
