"""Distillation losses: identities between the objects and with the rest of refloss, each against an independent
computation (beyond the generic checks of tests/test_registry.py, which the oracle drives)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import log_softmax, logsumexp, softmax

import refloss
from refloss._cases import plain_strategy

RNG_SEED = 20250601


def _draw(name, data):
    return data.draw(plain_strategy(refloss.get(name), False))


def _rows(*arrays):
    return [np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1]) for a in arrays]


# -- kd_loss ------------------------------------------------------------------------------------------------


@given(data=st.data())
def test_kd_at_temperature_one_is_soft_target_cross_entropy_less_the_teachers_entropy(data):
    case = {**_draw("kd_loss", data), "temperature": 1.0, "reduction": "none"}
    s, t = case["student_logits"], case["teacher_logits"]
    q = refloss.softmax(t)
    expected = refloss.soft_target_cross_entropy(s, q, reduction="none") - refloss.softmax_entropy(t, reduction="none")
    got = refloss.kd_loss(**case)
    scale = refloss.soft_target_cross_entropy(s, q, reduction="none") + refloss.softmax_entropy(t, reduction="none")
    assert np.all(np.abs(got - expected) <= 1e-13 * (1.0 + scale))
    # the student's gradients agree: the teacher's entropy does not depend on the student
    np.testing.assert_allclose(refloss.kd_loss_grad(**case).student_logits,
                               refloss.soft_target_cross_entropy_grad(s, q, reduction="none"), rtol=1e-12, atol=1e-15)


@given(data=st.data())
def test_kd_is_t_squared_times_the_kl_of_the_scaled_logits(data):
    case = {**_draw("kd_loss", data), "reduction": "none"}
    s, t, temp = case["student_logits"], case["teacher_logits"], case["temperature"]
    assert np.array_equal(refloss.kd_loss(**case), temp**2 * refloss.kl_divergence_logits(t / temp, s / temp,
                                                                                           reduction="none"))


def test_kd_against_the_definition_written_out_and_pytorchs_reductions():
    rng = np.random.default_rng(RNG_SEED)
    s, t, temp = rng.normal(size=(4, 5)) * 3, rng.normal(size=(4, 5)) * 3, 2.5
    log_p, log_q = log_softmax(s / temp, axis=-1), log_softmax(t / temp, axis=-1)
    q, p = np.exp(log_q), np.exp(log_p)
    pointwise = temp**2 * q * (log_q - log_p)  # PyTorch's kl_div(log_p, log_q, log_target=True, "none") * T^2
    rows = pointwise.sum(axis=-1)
    kl = (q * (log_q - log_p)).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(refloss.kd_loss(s, t, temperature=temp, reduction="none"), rows, rtol=1e-13)
    for reduction, expected, den in (("batchmean", pointwise.sum() / 4, 4), ("mean", pointwise.mean(), 20),
                                     ("sum", pointwise.sum(), 1)):
        assert refloss.kd_loss(s, t, temperature=temp, reduction=reduction) == pytest.approx(expected, rel=1e-13)
        g = refloss.kd_loss_grad(s, t, temperature=temp, reduction=reduction)
        np.testing.assert_allclose(g.student_logits, temp * (p - q) / den, rtol=1e-12, atol=1e-16)
        np.testing.assert_allclose(g.teacher_logits, temp * q * (log_q - log_p - kl) / den, rtol=1e-11, atol=1e-16)
    assert refloss.kd_loss(s, t) == refloss.kd_loss(s, t, temperature=1.0, reduction="batchmean")  # the defaults


def test_kd_batchmean_and_mean_over_two_batch_axes():
    """"batchmean" divides by the number of rows N d (PyTorch's by N), "mean" by N d C."""
    rng = np.random.default_rng(RNG_SEED + 1)
    s, t = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    total = refloss.kd_loss(s, t, reduction="sum")
    assert refloss.kd_loss(s, t, reduction="batchmean") == pytest.approx(total / 6, rel=1e-15)
    assert refloss.kd_loss(s, t, reduction="mean") == pytest.approx(total / 24, rel=1e-15)
    assert refloss.kd_loss(s, t, reduction="none").shape == (2, 3)


def test_kd_masks_and_refusals():
    # a class the teacher masks contributes 0; the student masking a class the teacher weights: +inf
    assert refloss.kd_loss([[0.0, 1.0, -np.inf]], [[0.0, 1.0, -np.inf]]) == 0.0
    assert refloss.kd_loss([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]]) == np.inf
    with pytest.raises(refloss.RefLossError, match=r"\+inf"):
        refloss.kd_loss_grad([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]])
    with pytest.raises(refloss.RefLossError, match="temperature"):
        refloss.kd_loss([[1e308, 0.0]], [[0.0, 0.0]], temperature=0.5)
    with pytest.raises(refloss.RefLossError, match="reduction"):
        refloss.kd_loss([[0.0, 1.0]], [[0.0, 0.0]], reduction="elementwise")


# -- soft_target_cross_entropy ------------------------------------------------------------------------------


@given(data=st.data())
def test_soft_target_cross_entropy_is_cross_entropy_with_the_same_real_target(data):
    case = _draw("soft_target_cross_entropy", data)
    assert np.array_equal(refloss.soft_target_cross_entropy(**case), refloss.cross_entropy(**case))
    assert np.array_equal(refloss.soft_target_cross_entropy_grad(**case), refloss.cross_entropy_grad(**case))


@pytest.mark.parametrize("xi", [0.5, 1.0, 1.5, 3.0])
def test_self_distillation_mixes_the_teachers_and_the_labels_losses_for_any_xi(xi):
    """xi l(q) + (1 - xi) l(e_y) = l(xi q + (1 - xi) e_y): the cross-entropy is linear in its target."""
    rng = np.random.default_rng(RNG_SEED + 2)
    z, q, y = rng.normal(size=(6, 4)) * 4, softmax(rng.normal(size=(6, 4)), axis=-1), rng.integers(0, 4, 6)
    target = xi * q + (1.0 - xi) * np.eye(4)[y]
    if xi > 1.0:
        assert (target < 0).any()  # it leaves the simplex
    mixed = refloss.soft_target_cross_entropy(z, target, reduction="none")
    parts = xi * refloss.soft_target_cross_entropy(z, q, reduction="none") + (1.0 - xi) * refloss.cross_entropy(
        z, y, reduction="none")
    np.testing.assert_allclose(mixed, parts, rtol=1e-12, atol=1e-12)
    log_p = log_softmax(z, axis=-1)
    np.testing.assert_allclose(mixed, -(target * log_p).sum(axis=-1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(refloss.soft_target_cross_entropy_grad(z, target, reduction="sum"),
                               target.sum(axis=-1, keepdims=True) * np.exp(log_p) - target, rtol=1e-12, atol=1e-14)


def test_soft_target_cross_entropy_conventions():
    z = [[0.0, -np.inf, 1.0]]
    assert refloss.soft_target_cross_entropy(z, [[0.5, 0.0, 0.5]]) == pytest.approx(np.log1p(np.e) - 0.5)
    assert refloss.soft_target_cross_entropy(z, [[0.5, 0.25, 0.25]]) == np.inf
    assert refloss.soft_target_cross_entropy(z, [[1.5, -0.25, -0.25]]) == -np.inf  # negative targets: unbounded
    with pytest.raises(refloss.RefLossError, match="undefined"):
        refloss.soft_target_cross_entropy([[0.0, -np.inf, -np.inf, 1.0]], [[0.5, 0.25, -0.25, 0.5]])
    with pytest.raises(refloss.RefLossError, match="cross_entropy"):  # class indices are not soft targets
        refloss.soft_target_cross_entropy([[0.0, 1.0]], [1])
    # targets summing to 0: the gradient is -a
    np.testing.assert_allclose(refloss.soft_target_cross_entropy_grad([[3.0, 0.0]], [[1.0, -1.0]]), [[-1.0, 1.0]],
                               rtol=1e-15)


# -- symmetric_consistency_loss -----------------------------------------------------------------------------


@given(data=st.data())
def test_symmetric_consistency_is_symmetric_and_the_entropies_and_divergences(data):
    case = {**_draw("symmetric_consistency_loss", data), "reduction": "none"}
    s, t = case["student_logits"], case["teacher_logits"]
    value = refloss.symmetric_consistency_loss(**case)
    assert np.array_equal(value, refloss.symmetric_consistency_loss(t, s, reduction="none"))
    g, swapped = refloss.symmetric_consistency_loss_grad(**case), refloss.symmetric_consistency_loss_grad(
        t, s, reduction="none")
    np.testing.assert_allclose(g.student_logits, swapped.teacher_logits, rtol=1e-13, atol=1e-300)
    parts = [refloss.softmax_entropy(s, reduction="none"), refloss.softmax_entropy(t, reduction="none"),
             refloss.kl_divergence_logits(s, t, reduction="none"), refloss.kl_divergence_logits(t, s, reduction="none")]
    assert np.all(np.abs(value - sum(parts) / 2) <= 1e-13 * (1.0 + sum(parts)))


def test_symmetric_consistency_is_the_authors_code_written_out():
    """-0.5 (q * log_softmax(s)).sum - 0.5 (p * log_softmax(t)).sum (rmt.py's softmax_entropy(x, x_ema)), averaged
    over the batch; its gradient through the student's two terms."""
    rng = np.random.default_rng(RNG_SEED + 3)
    s, t = rng.normal(size=(5, 6)) * 3, rng.normal(size=(5, 6)) * 3
    log_p, log_q = log_softmax(s, axis=-1), log_softmax(t, axis=-1)
    p, q = np.exp(log_p), np.exp(log_q)
    per_row = -0.5 * (q * log_p).sum(axis=-1) - 0.5 * (p * log_q).sum(axis=-1)
    assert refloss.symmetric_consistency_loss(s, t) == pytest.approx(per_row.mean(), rel=1e-14)
    centred = log_q - (p * log_q).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(refloss.symmetric_consistency_loss_grad(s, t, reduction="sum").student_logits,
                               0.5 * ((p - q) - p * centred), rtol=1e-12, atol=1e-16)


def test_symmetric_consistency_masks():
    assert refloss.symmetric_consistency_loss([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]]) == np.inf
    assert refloss.symmetric_consistency_loss([[0.0, -800.0, 1.0]], [[0.0, -np.inf, 1.0]]) == np.inf
    with pytest.raises(refloss.RefLossError, match=r"\+inf"):
        refloss.symmetric_consistency_loss_grad([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]])
    both = refloss.symmetric_consistency_loss([[0.0, -np.inf, 1.0]], [[2.0, -np.inf, 1.0]])
    assert both == refloss.symmetric_consistency_loss([[0.0, 1.0]], [[2.0, 1.0]])


# -- plackett_luce_distillation -----------------------------------------------------------------------------


def _pld_naive(s, t, y, temperature=1.0, order=None):
    """The paper's App. C form, written out in O(C^2) per row: the teacher's logits sorted ascending (ties: index
    order reversed, so that the descending order keeps index order) with the target moved last, logcumsumexp of the
    student's logits in that order minus them, weighted by softmax(t / T) in that order, summed; the gradient of
    each choice's log-softmax over the classes not yet chosen."""
    losses, grads = [], []
    for row_s, row_t, yy in zip(*_rows(s, t), np.ravel(y)):
        n = len(row_s)
        rest = [c for c in range(n) if c != yy]
        ascending = sorted(rest, key=lambda c: (row_t[c], -c)) + [yy] if order is None else list(order)[::-1]
        weights = softmax(row_t / temperature)[ascending]
        x = row_s[ascending]
        lcse = np.array([logsumexp(x[:i + 1]) for i in range(n)])
        losses.append(float((weights * (lcse - x)).sum()))
        grad = np.zeros(n)
        for i in range(n):  # the choice at ascending position i is made among positions 0..i
            grad[ascending[:i + 1]] += weights[i] * softmax(x[:i + 1])
            grad[ascending[i]] -= weights[i]
        grads.append(grad)
    return np.array(losses), np.array(grads)


@pytest.mark.parametrize("n_classes", [1, 2, 3, 5, 8, 13])
def test_pld_is_the_papers_ascending_logcumsumexp_form(n_classes):
    rng = np.random.default_rng(RNG_SEED + n_classes)
    s, t = rng.normal(size=(4, n_classes)) * 4, rng.normal(size=(4, n_classes)) * 2
    y = rng.integers(0, n_classes, 4)
    for temp in (0.5, 1.0, 4.0):
        losses, grads = _pld_naive(s, t, y, temp)
        np.testing.assert_allclose(refloss.plackett_luce_distillation(s, t, y, temperature=temp, reduction="none"),
                                   losses, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(refloss.plackett_luce_distillation_grad(s, t, y, temperature=temp,
                                                                           reduction="none"), grads, atol=1e-14)


def test_pld_equal_teacher_logits_keep_the_order_of_their_indices():
    s, t = np.array([[0.5, 2.0, -1.0, 3.0]]), np.array([[1.0, 0.0, 1.0, 1.0]])
    # target 1, then the tied 0, 2, 3 in index order
    losses, grads = _pld_naive(s, t, [1], order=[1, 0, 2, 3])
    assert refloss.plackett_luce_distillation(s, t, [1]) == pytest.approx(losses[0], rel=1e-15)
    np.testing.assert_allclose(refloss.plackett_luce_distillation_grad(s, t, [1]), grads, atol=1e-16)
    other, _ = _pld_naive(s, t, [1], order=[1, 3, 2, 0])  # the same ties in another order: another loss
    assert abs(other[0] - losses[0]) > 1e-3


def test_pld_with_the_teachers_weight_on_the_target_alone_is_the_cross_entropy():
    s = np.array([[2.0, -1.0, 0.5], [40.0, 0.0, -3.0]])
    t = np.array([[0.0, -1e4, -1e4], [-1e4, 0.0, -1e4]])  # alpha = e_1 in float64: the other weights underflow
    y = np.array([0, 1])
    np.testing.assert_allclose(refloss.plackett_luce_distillation(s, t, y, reduction="none"),
                               refloss.cross_entropy(s, y, reduction="none"), rtol=1e-15)
    np.testing.assert_allclose(refloss.plackett_luce_distillation_grad(s, t, y, reduction="none"),
                               refloss.cross_entropy_grad(s, y, reduction="none"), rtol=1e-15, atol=1e-300)


def test_pld_keeps_its_digits_where_one_class_dominates_its_suffix():
    """A first choice whose class leads the rest by 80: its cost log1p(2 e^-80), which LSE(x) - x rounds to 0, and
    the complement of its probability, 2 e^-80 / (1 + 2 e^-80), which 1 - p rounds to 0."""
    s, t = np.array([[0.0, 0.0, 80.0]]), np.array([[-np.inf, -np.inf, 0.0]])  # alpha = (1, 0, 0), pi = (2, 0, 1)
    tiny = np.exp(-80.0)
    assert refloss.plackett_luce_distillation(s, t, [2]) == pytest.approx(2 * tiny, rel=1e-15)
    np.testing.assert_allclose(refloss.plackett_luce_distillation_grad(s, t, [2]), [[tiny, tiny, -2 * tiny]],
                               rtol=1e-15)
    # the student's mode chosen last: each earlier choice gives it a probability 1 - O(e^-80); its component is
    # alpha_0 + alpha_1 to the last bit (a prefix sum in log space would round at 80 eps of it)
    t = np.array([[2.0, 1.0, 0.0]])
    q = softmax(t[0])
    g = refloss.plackett_luce_distillation_grad(s, t, [0])[0]
    assert abs(g[2] - (q[0] + q[1])) <= 2 * np.finfo(float).eps * (q[0] + q[1])


def test_pld_masks():
    # the student masking a class the teacher weights: +inf; a class the teacher masks: weight 0, still chosen from
    assert refloss.plackett_luce_distillation([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]], [0]) == np.inf
    with pytest.raises(refloss.RefLossError, match=r"\+inf"):
        refloss.plackett_luce_distillation_grad([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]], [0])
    s, t = np.array([[0.0, 3.0, 2.0]]), np.array([[0.0, -np.inf, 1.0]])
    losses, grads = _pld_naive(s, np.where(np.isinf(t), -1e300, t), [0])  # weight e^-1e300 = 0: the same loss
    assert refloss.plackett_luce_distillation(s, t, [0]) == pytest.approx(losses[0], rel=1e-15)
    np.testing.assert_allclose(refloss.plackett_luce_distillation_grad(s, t, [0]), grads, atol=1e-16)
    # a target the teacher masks has weight 0
    assert refloss.plackett_luce_distillation([[-np.inf, 1.0, 0.0]], [[-np.inf, 0.0, 2.0]], [0]) == pytest.approx(
        softmax([0.0, 2.0])[1] * np.log1p(np.e), rel=1e-15)


def test_pld_many_classes_against_a_vectorised_logcumsumexp():
    rng = np.random.default_rng(RNG_SEED + 7)
    s, t = rng.normal(size=(3, 3000)) * 3, rng.normal(size=(3, 3000))
    y = np.array([0, 17, 2999])
    losses = refloss.plackett_luce_distillation(s, t, y, reduction="none")
    for n in range(3):
        order = np.argsort(np.where(np.arange(3000) == y[n], -np.inf, -t[n]), kind="stable")
        x, alpha = s[n, order], softmax(t[n])[order]
        suffix = np.logaddexp.accumulate(x[::-1])[::-1]
        assert losses[n] == pytest.approx((alpha * (suffix - x)).sum(), rel=1e-11)
    assert np.abs(refloss.plackett_luce_distillation_grad(s, t, y, reduction="none").sum(axis=-1)).max() < 1e-14


def test_the_family_is_registered_with_its_differentiable_inputs():
    entries = {e.name: e for e in refloss.catalogue() if e.family == "distillation"}
    assert set(entries) == {"kd_loss", "soft_target_cross_entropy", "symmetric_consistency_loss",
                            "plackett_luce_distillation"}
    assert entries["kd_loss"].wrt == ("student_logits", "teacher_logits")
    assert entries["symmetric_consistency_loss"].wrt == ("student_logits", "teacher_logits")
    assert entries["plackett_luce_distillation"].wrt == ("student_logits",)
    assert refloss.KDLossGrad is type(refloss.kd_loss_grad([[0.0, 1.0]], [[1.0, 0.0]]))
