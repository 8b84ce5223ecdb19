"""Cross-entropy, BCE and focal losses: PyTorch semantics pinned by hand-derived values.

The logits are logs of small integers, so every softmax is a vector of simple fractions and every
expected value below is worked out by hand from PyTorch's documented formulas (the arithmetic is in
the comments), never printed by refloss.
"""

import math

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import refloss
from refloss import RefLossError, RefLossWarning
from refloss._cases import plain_strategy as strategy


def ce_cases(extreme):
    return strategy(refloss.get("cross_entropy"), extreme)


def focal_cases(extreme):
    return strategy(refloss.get("focal_loss"), extreme)


def sigmoid_focal_cases(extreme):
    return strategy(refloss.get("sigmoid_focal_loss"), extreme)


LOG2 = math.log(2.0)
# Row 0: p = (1/4, 1/2, 1/4); row 1: p = (1/4, 1/4, 1/2); row 2 will be ignored.
LOGITS = np.log([[1.0, 2.0, 1.0], [1.0, 1.0, 2.0], [3.0, 1.0, 1.0]])
P = np.array([[0.25, 0.5, 0.25], [0.25, 0.25, 0.5], [0.6, 0.2, 0.2]])
WEIGHT = [1.0, 2.0, 3.0]


def test_class_targets_plain():
    # -log p_y: row 0 y=1 -> log 2; row 1 y=2 -> log 2; row 2 y=0 -> log(5/3)
    none = refloss.cross_entropy(LOGITS, [1, 2, 0], reduction="none")
    np.testing.assert_allclose(none, [LOG2, LOG2, math.log(5 / 3)], rtol=1e-15)
    assert refloss.cross_entropy(LOGITS, [1, 2, 0]) == pytest.approx((2 * LOG2 + math.log(5 / 3)) / 3, rel=1e-15)


def test_weights_ignore_index_and_label_smoothing_together():
    """PyTorch: l_n = m_n [(1-eps) w_y (-log p_y) + (eps/C) sum_c w_c (-log p_c)], mean divides by sum m_n w_y."""
    target = [1, 0, -100]
    eps = 0.3
    # row 0 (y=1): nll = 2 * log 2; smooth = 1*2log2 + 2*log2 + 3*2log2 = 10 log2 -> 0.7*2 + 0.1*10 = 2.4 log 2
    # row 1 (y=0): nll = 1 * 2log2; smooth = 1*2log2 + 2*2log2 + 3*log2 = 9 log2  -> 0.7*2 + 0.1*9  = 2.3 log 2
    # row 2: ignored -> 0; W = w_1 + w_0 = 3
    kwargs = dict(weight=WEIGHT, label_smoothing=eps)
    np.testing.assert_allclose(refloss.cross_entropy(LOGITS, target, reduction="none", **kwargs),
                               [2.4 * LOG2, 2.3 * LOG2, 0.0], rtol=1e-14)
    assert refloss.cross_entropy(LOGITS, target, reduction="sum", **kwargs) == pytest.approx(4.7 * LOG2, rel=1e-14)
    assert refloss.cross_entropy(LOGITS, target, **kwargs) == pytest.approx(4.7 * LOG2 / 3, rel=1e-14)
    # gradient: (1-eps) w_y (p - e_y) + (eps/C)(S_w p - w), S_w = 6, divided by W = 3
    # row 0: 1.4 (1/4, -1/2, 1/4) + 0.1 (1/2, 1, -3/2) = (0.4, -0.6, 0.2)
    # row 1: 0.7 (-3/4, 1/4, 1/2) + 0.1 (1/2, -1/2, 0) = (-0.475, 0.125, 0.35)
    np.testing.assert_allclose(refloss.cross_entropy_grad(LOGITS, target, **kwargs),
                               np.array([[0.4, -0.6, 0.2], [-0.475, 0.125, 0.35], [0.0, 0.0, 0.0]]) / 3,
                               rtol=1e-13, atol=1e-16)


def test_weighted_mean_divides_by_the_target_weights():
    # no smoothing: (w_1 log 2 + w_2 log 2) / (w_1 + w_2) = log 2, whatever the weights
    assert refloss.cross_entropy(LOGITS[:2], [1, 2], weight=WEIGHT) == pytest.approx(LOG2, rel=1e-15)


def test_ignore_index_may_be_a_valid_class():
    # ignore_index=0 drops row 2 (y=0): mean over rows 0 and 1 = log 2
    assert refloss.cross_entropy(LOGITS, [1, 2, 0], ignore_index=0) == pytest.approx(LOG2, rel=1e-15)


def test_all_ignored_mean_is_nan_with_a_warning_and_zero_gradient():
    with pytest.warns(RefLossWarning, match="0/0"):
        assert math.isnan(refloss.cross_entropy(LOGITS, [-100, -100, -100], label_smoothing=0.1))
    assert refloss.cross_entropy(LOGITS, [-100, -100, -100], reduction="sum") == 0.0
    np.testing.assert_array_equal(refloss.cross_entropy(LOGITS, [-100] * 3, reduction="none"), 0.0)
    np.testing.assert_array_equal(refloss.cross_entropy_grad(LOGITS, [-100, -100, -100]), 0.0)


def test_probability_targets_with_smoothing_and_weights():
    """PyTorch: t' = (1-eps) t + eps/C; l_n = -sum_c w_c t'_c log p_c; mean divides by N (not weights)."""
    target = [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]
    # row 0: t' = (0.45, 0.45, 0.1): 0.45*2log2 + 2*0.45*log2 + 3*0.1*2log2 = 2.4 log 2
    # row 1: t' = (0.1, 0.1, 0.8):   0.1*2log2 + 2*0.1*2log2 + 3*0.8*log2  = 3.0 log 2
    kwargs = dict(weight=WEIGHT, label_smoothing=0.3)
    np.testing.assert_allclose(refloss.cross_entropy(LOGITS[:2], target, reduction="none", **kwargs),
                               [2.4 * LOG2, 3.0 * LOG2], rtol=1e-14)
    assert refloss.cross_entropy(LOGITS[:2], target, **kwargs) == pytest.approx(2.7 * LOG2, rel=1e-14)
    # gradient row 0: p * sum(w t') - w t' = 1.65 (1/4, 1/2, 1/4) - (0.45, 0.9, 0.3), over N = 2
    np.testing.assert_allclose(refloss.cross_entropy_grad(LOGITS[:2], target, **kwargs)[0],
                               np.array([-0.0375, -0.075, 0.1125]) / 2, rtol=1e-13)


def test_one_hot_probability_targets_equal_class_targets():
    one_hot = np.eye(3)[[1, 2, 0]]
    assert refloss.cross_entropy(LOGITS, one_hot) == pytest.approx(refloss.cross_entropy(LOGITS, [1, 2, 0]),
                                                                   rel=1e-15)


def test_full_smoothing_is_the_mean_negative_log_probability():
    # eps = 1: l = (1/C) sum_c -log p_c; row 0: (2 log2 + log2 + 2 log2) / 3 = 5/3 log 2
    assert refloss.cross_entropy(LOGITS[:1], [0], label_smoothing=1.0) == pytest.approx(5 / 3 * LOG2, rel=1e-15)


def test_shapes_one_dimensional_and_spatial():
    assert refloss.cross_entropy(np.log([1.0, 3.0]), 1) == pytest.approx(math.log(4 / 3), rel=1e-15)
    spatial = np.broadcast_to(LOGITS[0], (2, 2, 3))  # (N, d1, C), class axis last
    assert refloss.cross_entropy(spatial, [[1, 1], [1, 1]], reduction="none").shape == (2, 2)
    assert refloss.cross_entropy(spatial, [[1, 1], [1, 1]]) == pytest.approx(LOG2, rel=1e-15)


def test_extreme_logits_keep_relative_accuracy():
    # -log p_0 for logits (100, 0) is log1p(e^-100) = e^-100 to 1e-44 relative
    assert refloss.cross_entropy([[100.0, 0.0]], [0]) == pytest.approx(math.exp(-100.0), rel=1e-15)
    assert refloss.cross_entropy([[1e4, -1e4]], [1]) == pytest.approx(2e4, rel=1e-15)


def test_masked_logits():
    assert refloss.cross_entropy([[0.0, -np.inf, 0.0]], [0]) == pytest.approx(LOG2, rel=1e-15)
    np.testing.assert_allclose(refloss.cross_entropy_grad([[0.0, -np.inf, 0.0]], [0]), [[-0.5, 0.0, 0.5]])
    assert refloss.cross_entropy([[0.0, -np.inf]], [1]) == np.inf  # -log 0
    with pytest.raises(RefLossError, match=r"\+inf"):
        refloss.cross_entropy_grad([[0.0, -np.inf]], [1])


def test_probability_targets_need_not_be_normalised_nor_non_negative():
    """PyTorch accepts any real target of the logits' shape: l = -sum_c a_c log p_c, grad p sum_c a_c - a."""
    target = [[1.5, -0.5, 0.3], [0.0, 0.0, 0.0]]  # row sums 1.3 and 0
    # row 0 (p = 1/4, 1/2, 1/4): 1.5 * 2 log 2 - 0.5 * log 2 + 0.3 * 2 log 2 = 3.1 log 2; row 1: 0
    np.testing.assert_allclose(refloss.cross_entropy(LOGITS[:2], target, reduction="none"), [3.1 * LOG2, 0.0],
                               rtol=1e-15)
    assert refloss.cross_entropy(LOGITS[:2], target) == pytest.approx(3.1 * LOG2 / 2, rel=1e-15)  # "mean": / N
    # gradient row 0: 1.3 (1/4, 1/2, 1/4) - (1.5, -0.5, 0.3); row 1: 0
    np.testing.assert_allclose(refloss.cross_entropy_grad(LOGITS[:2], target, reduction="sum"),
                               [[-1.175, 1.15, 0.025], [0.0, 0.0, 0.0]], rtol=1e-14, atol=1e-16)
    # signed class weights (1, -2, 3) make a = (1.5, 1.0, 0.9): (3 + 1 + 1.8) log 2; gradient 3.4 p - a
    kwargs = dict(weight=[1.0, -2.0, 3.0], reduction="sum")
    assert refloss.cross_entropy(LOGITS[:1], target[:1], **kwargs) == pytest.approx(5.8 * LOG2, rel=1e-15)
    np.testing.assert_allclose(refloss.cross_entropy_grad(LOGITS[:1], target[:1], **kwargs),
                               [[-0.65, 0.7, -0.05]], rtol=1e-14)


def test_signed_class_weights_mean_divides_by_their_sum():
    # rows 0 and 1, targets 1 and 2, weights w_1 = -2, w_2 = 3: (-2 log 2 + 3 log 2) / (-2 + 3) = log 2
    kwargs = dict(weight=[1.0, -2.0, 3.0])
    assert refloss.cross_entropy(LOGITS[:2], [1, 2], **kwargs) == pytest.approx(LOG2, rel=1e-15)
    # w_y (p - e_y) / W: -2 (1/4, -1/2, 1/4) and 3 (1/4, 1/4, -1/2), W = 1
    np.testing.assert_allclose(refloss.cross_entropy_grad(LOGITS[:2], [1, 2], **kwargs),
                               [[-0.5, 1.0, -0.5], [0.75, 0.75, -1.5]], rtol=1e-15)
    # W = -2 + 3 - 2 = -1 with row 2 (target 1, p_1 = 1/5): (log 2 - 2 log 5) / -1
    assert refloss.cross_entropy(LOGITS, [1, 2, 1], **kwargs) == pytest.approx(2 * math.log(5) - LOG2, rel=1e-14)


def test_signed_weights_that_cancel_leave_no_mean():
    """W = 0 while a kept target's weight is not 0: the weighted mean is undefined (an error naming it); W = 0
    because every kept weight is 0 stays PyTorch's 0/0 = nan with a warning."""
    kwargs = dict(weight=[2.0, -2.0, 1.0])  # targets 0 and 1: W = 2 - 2 = 0
    message = "the weights of the kept targets sum to 0: the weighted mean is undefined"
    for fn in (refloss.cross_entropy, refloss.cross_entropy_grad, refloss.value_and_grad(refloss.cross_entropy)):
        with pytest.raises(RefLossError, match=message):
            fn(LOGITS, [0, 1, -100], **kwargs)
    with pytest.raises(RefLossError, match=message):  # with smoothing too: W counts the targets' weights only
        refloss.cross_entropy(LOGITS[:2], [0, 1], label_smoothing=0.1, **kwargs)
    # "sum" and "none" need no denominator: row 0 2 * 2 log 2, row 1 -2 * 2 log 2
    assert refloss.cross_entropy(LOGITS[:2], [0, 1], reduction="sum", **kwargs) == pytest.approx(0.0, abs=1e-15)
    # every kept weight 0 (the others signed): 0/0 = nan, the gradient 0
    zero = dict(weight=[0.0, -1.0, 2.0])
    with pytest.warns(RefLossWarning, match="0/0"):
        assert math.isnan(refloss.cross_entropy(LOGITS, [0, 0, -100], **zero))
    np.testing.assert_array_equal(refloss.cross_entropy_grad(LOGITS, [0, 0, -100], **zero), 0.0)


def test_negative_target_weight_on_a_masked_class():
    """-a log 0 is -inf for a < 0 (+inf for a > 0): the gradient raises; both in one row (or one sum) raise."""
    assert refloss.cross_entropy([[0.0, -np.inf, 0.0]], [[0.5, -0.5, 0.5]], reduction="sum") == -np.inf
    assert refloss.cross_entropy([[0.0, -np.inf]], [1], weight=[1.0, -1.0], reduction="sum") == -np.inf
    assert refloss.cross_entropy([[0.0, -np.inf]], [1], weight=[1.0, -1.0]) == np.inf  # "mean": -inf / W, W = -1
    for call in (lambda: refloss.cross_entropy_grad([[0.0, -np.inf, 0.0]], [[0.5, -0.5, 0.5]]),
                 lambda: refloss.cross_entropy_grad([[0.0, -np.inf]], [1], weight=[1.0, -1.0])):
        with pytest.raises(RefLossError, match="is -inf .*negative target weight"):
            call()
    with pytest.raises(RefLossError, match=r"undefined.*positive and of negative target weight"):
        refloss.cross_entropy([[-np.inf, -np.inf, 0.0]], [[1.0, -0.5, 0.0]], reduction="none")
    rows, target = [[0.0, -np.inf], [0.0, -np.inf]], [[0.0, 1.0], [0.0, -1.0]]
    np.testing.assert_array_equal(refloss.cross_entropy(rows, target, reduction="none"), [np.inf, -np.inf])
    for reduction in ("sum", "mean"):
        with pytest.raises(RefLossError, match=f"both \\+inf and -inf, so their {reduction} is undefined"):
            refloss.cross_entropy(rows, target, reduction=reduction)


def test_real_targets_whose_log_probabilities_pass_the_float64_range():
    # log p = (0, -3.4e308, -3.4e308) (beyond the range, -inf in float64): -0.5 log p_1 + 0.25 log p_2 = 0.85e308
    got = refloss.cross_entropy([[1.7e308, -1.7e308, -1.7e308]], [[0.0, 0.5, -0.25]], reduction="none")
    assert got[0] == pytest.approx(0.5 * 1.7e308, rel=1e-15)
    np.testing.assert_allclose(refloss.cross_entropy_grad([[1.7e308, -1.7e308, -1.7e308]], [[0.0, 0.5, -0.25]]),
                               [[0.25, -0.5, 0.25]], rtol=1e-15)


@given(data=st.data())
def test_zero_smoothing_and_unit_weights_change_nothing(data):
    case = data.draw(ce_cases(False))
    base = {**case, "weight": None, "label_smoothing": 0.0}
    again = {**base, "weight": np.ones(np.shape(case["logits"])[-1])}
    np.testing.assert_allclose(refloss.cross_entropy(**again), refloss.cross_entropy(**base), rtol=1e-14)


@pytest.mark.parametrize("call, message", [
    (lambda: refloss.cross_entropy(LOGITS, [0, 1]), r"target .*shape must be logits.shape\[:-1\]"),
    (lambda: refloss.cross_entropy(LOGITS, [0, 1, 3]), "target has class index 3 out of range"),
    (lambda: refloss.cross_entropy(LOGITS, [0, 1, -1]), "out of range"),
    (lambda: refloss.cross_entropy(LOGITS, [0.0, 1.0, 1.0]), "target must be integer class indices"),
    (lambda: refloss.cross_entropy([[np.nan, 0.0]], [0]), "logits contains NaN"),
    (lambda: refloss.cross_entropy(LOGITS[:1], [[0.5, np.nan, 0.5]]), "target contains NaN"),
    (lambda: refloss.cross_entropy(LOGITS[:1], [[0.5, np.inf, 0.5]]), r"target contains \+inf"),
    (lambda: refloss.cross_entropy(LOGITS[:1], [[0, 1, 0]]), "must be floating point"),
    (lambda: refloss.cross_entropy(LOGITS[:1], [[0.0, 1.0, 0.0]], ignore_index=0), "ignore_index"),
    (lambda: refloss.cross_entropy(LOGITS, [0, 1, 2], reduction="avg"), "reduction must be one of"),
    (lambda: refloss.cross_entropy(LOGITS, [0, 1, 2], label_smoothing=1.5), r"label_smoothing must lie in \[0, 1\]"),
    (lambda: refloss.cross_entropy(LOGITS, [0, 1, 2], weight=[1.0, 2.0]), r"weight must have shape \(3,\)"),
    (lambda: refloss.cross_entropy(LOGITS, [0, 1, 2], weight=[1.0, -np.inf, 1.0]), "weight contains -inf"),
    (lambda: refloss.focal_loss(LOGITS, [0, 1, 2], alpha=[1.0, -2.0, 1.0]), "alpha must be non-negative"),
    (lambda: refloss.cross_entropy(LOGITS, [0, 1, 2], ignore_index=1.5), "ignore_index must be an integer"),
    (lambda: refloss.focal_loss(LOGITS, [0, 1, 2], gamma=-1.0), "gamma must lie in"),
    (lambda: refloss.focal_loss(LOGITS, [0, 1, 2], alpha=[1.0, 1.0]), "alpha"),
    (lambda: refloss.focal_loss(LOGITS, [0, 1, 5]), "out of range"),
    (lambda: refloss.sigmoid_focal_loss([0.0], [1.0], gamma=-0.5), "gamma"),
    (lambda: refloss.sigmoid_focal_loss([0.0], [1.0], alpha=1.5), "alpha"),
    (lambda: refloss.sigmoid_focal_loss([0.0], [2.0]), r"target entries must lie in \[0, 1\]"),
    (lambda: refloss.binary_cross_entropy_with_logits([0.0, 1.0], [1.0]), "target must have the shape of logits"),
    (lambda: refloss.binary_cross_entropy_with_logits([0.0, 1.0], [1.0, 0.0], pos_weight=[1.0, 2.0, 3.0]),
     "pos_weight"),
    (lambda: refloss.binary_cross_entropy_with_logits([-np.inf], [0.0]), "logits contains -inf"),
    (lambda: refloss.binary_cross_entropy_with_logits([0.0], [np.inf]), r"target contains \+inf"),
    (lambda: refloss.binary_cross_entropy_with_logits([0.0], [1.0], pos_weight=[np.nan]), "pos_weight contains NaN"),
    (lambda: refloss.sigmoid_focal_loss([0.0], [-0.5]), r"target entries must lie in \[0, 1\]"),
])
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(RefLossError, match=message):
        call()


def test_bce_hand_values():
    # x = 0: softplus(0) = log 2. y = 1 with pos_weight 3: 3 log 2; y = 0: log 2; weights (2, 1)
    got = refloss.binary_cross_entropy_with_logits([0.0, 0.0], [1.0, 0.0], weight=[2.0, 1.0], pos_weight=3.0,
                                                   reduction="none")
    np.testing.assert_allclose(got, [6 * LOG2, LOG2], rtol=1e-15)
    # mean divides by the number of elements, not by the weights
    assert refloss.binary_cross_entropy_with_logits([0.0, 0.0], [1.0, 0.0], weight=[2.0, 1.0], pos_weight=3.0) \
        == pytest.approx(3.5 * LOG2, rel=1e-15)
    # soft label y = 1/4 at x = log 3 (sigma = 3/4): -(1/4) log(3/4) - (3/4) log(1/4)
    assert refloss.binary_cross_entropy_with_logits([math.log(3.0)], [0.25]) == pytest.approx(
        -0.25 * math.log(0.75) - 0.75 * math.log(0.25), rel=1e-15)
    # gradient w[(1 - y) sigma(x) - rho y sigma(-x)] at x = 0: (2 * (-3/2), 1/2)
    np.testing.assert_allclose(refloss.binary_cross_entropy_with_logits_grad(
        [0.0, 0.0], [1.0, 0.0], weight=[2.0, 1.0], pos_weight=3.0, reduction="sum"), [-3.0, 0.5], rtol=1e-15)
    # large |x|: softplus(-40) = log1p(e^-40), kept to full relative accuracy
    assert refloss.binary_cross_entropy_with_logits([40.0], [1.0]) == pytest.approx(math.log1p(math.exp(-40.0)),
                                                                                    rel=1e-15)


def test_pos_weight_is_per_class_along_the_last_axis():
    got = refloss.binary_cross_entropy_with_logits(np.zeros((2, 2)), np.ones((2, 2)), pos_weight=[1.0, 4.0],
                                                   reduction="none")
    np.testing.assert_allclose(got, [[LOG2, 4 * LOG2]] * 2, rtol=1e-15)


def test_bce_labels_outside_the_unit_interval_and_signed_weights():
    """PyTorch accepts any real label and weights of either sign: w [rho y softplus(-x) + (1 - y) softplus(x)]."""
    # x = 0: 1.7 log 2 - 0.7 log 2 = log 2; y = -0.5, rho = -2, w = -1: -[(-2)(-0.5) log 2 + 1.5 log 2] = -2.5 log 2
    got = refloss.binary_cross_entropy_with_logits([0.0, 0.0], [1.7, -0.5], weight=[1.0, -1.0],
                                                   pos_weight=[1.0, -2.0], reduction="none")
    np.testing.assert_allclose(got, [LOG2, -2.5 * LOG2], rtol=1e-15)
    # gradient w [(1 - y) sigma(x) - rho y sigma(-x)] at x = 0: (-0.7 - 1.7) / 2 and -(1.5 - 1) / 2
    np.testing.assert_allclose(refloss.binary_cross_entropy_with_logits_grad(
        [0.0, 0.0], [1.7, -0.5], weight=[1.0, -1.0], pos_weight=[1.0, -2.0], reduction="sum"), [-1.2, -0.25],
        rtol=1e-15)
    # x = log 3, y = 2: 2 log(4/3) - log 4 = log(4/9); gradient -(3/4) - 2 (1/4)
    assert refloss.binary_cross_entropy_with_logits([math.log(3.0)], [2.0]) == pytest.approx(math.log(4 / 9),
                                                                                           rel=1e-14)
    assert refloss.binary_cross_entropy_with_logits_grad([math.log(3.0)], [2.0]) == pytest.approx(-1.25, rel=1e-15)
    # y = 1e8 at x = 1e-9: softplus(x) - y x = log 2 + 5e-10 - 0.1 (+ 1e-19), from terms of 7e7 that cancel
    assert refloss.binary_cross_entropy_with_logits([1e-9], [1e8]) == pytest.approx(LOG2 - 0.1 + 5e-10, rel=1e-15)


def test_focal_hand_values():
    # p_y = 1/2, gamma = 2: (1/2)^2 log 2; alpha vector gathered at the target (0.9 for class 1)
    assert refloss.focal_loss([[0.0, 0.0]], [1], gamma=2.0, alpha=[0.1, 0.9]) == pytest.approx(0.9 * 0.25 * LOG2,
                                                                                               rel=1e-15)
    # p_y = 3/4, gamma = 1: (1/4) log(4/3); a scalar alpha scales every class
    assert refloss.focal_loss([[0.0, math.log(3.0)]], [1], gamma=1.0, alpha=0.5) == pytest.approx(
        0.5 * 0.25 * math.log(4 / 3), rel=1e-15)
    # gradient at p = (1/4, 3/4), y = 1, gamma = 1: [q - p_y log p_y] (p - e_y) with q = 1/4
    factor = 0.25 - 0.75 * math.log(0.75)
    np.testing.assert_allclose(refloss.focal_loss_grad([[0.0, math.log(3.0)]], [1], gamma=1.0),
                               [[0.25 * factor, -0.25 * factor]], rtol=1e-14)


def test_focal_near_certainty_small_gamma():
    # gamma < 1 and p_y -> 1: (1 - p)^(gamma - 1) alone overflows; the gradient stays finite and -> 0
    g = refloss.focal_loss_grad([[800.0, 0.0]], [0], gamma=0.5)
    assert np.isfinite(g).all() and np.abs(g).max() < 1e-300


@given(data=st.data())
def test_focal_with_gamma_zero_is_cross_entropy(data):
    case = {**data.draw(focal_cases(False)), "gamma": 0.0, "alpha": None}
    ce = {k: case[k] for k in ("logits", "target", "reduction")}
    np.testing.assert_allclose(refloss.focal_loss(**case), refloss.cross_entropy(**ce), rtol=1e-13, atol=0)
    np.testing.assert_allclose(refloss.focal_loss_grad(**case), refloss.cross_entropy_grad(**ce), rtol=1e-12,
                               atol=1e-15)


@given(data=st.data())
def test_focal_is_at_most_cross_entropy_when_alpha_is_one(data):
    case = {**data.draw(focal_cases(False)), "alpha": None, "reduction": "none"}
    ce = refloss.cross_entropy(case["logits"], case["target"], reduction="none")
    assert (refloss.focal_loss(**case) <= ce * (1 + 1e-14)).all()


def test_sigmoid_focal_alpha_weights_positives():
    # x = 0 (p = 1/2), gamma = 2: positives get alpha, negatives 1 - alpha (Lin et al. Sec. 3.1)
    got = refloss.sigmoid_focal_loss([0.0, 0.0], [1.0, 0.0], alpha=0.25, reduction="none")
    np.testing.assert_allclose(got, [0.25 * 0.25 * LOG2, 0.75 * 0.25 * LOG2], rtol=1e-15)
    # x = log 3 (p = 3/4), y = 1, gamma = 1, no alpha: (1/4) * log(4/3)
    assert refloss.sigmoid_focal_loss([math.log(3.0)], [1.0], alpha=None, gamma=1.0) == pytest.approx(
        0.25 * math.log(4 / 3), rel=1e-15)


@given(data=st.data())
def test_sigmoid_focal_with_gamma_zero_is_bce(data):
    case = {**data.draw(sigmoid_focal_cases(False)), "gamma": 0.0, "alpha": None}
    bce = {k: case[k] for k in ("logits", "target", "reduction")}
    np.testing.assert_allclose(refloss.sigmoid_focal_loss(**case),
                               refloss.binary_cross_entropy_with_logits(**bce), rtol=1e-14, atol=0)
    np.testing.assert_allclose(refloss.sigmoid_focal_loss_grad(**case),
                               refloss.binary_cross_entropy_with_logits_grad(**bce), rtol=1e-13, atol=1e-300)


_DRAWS = settings(max_examples=1000, database=None, derandomize=True, phases=[Phase.generate])  # no shrinking


@pytest.mark.parametrize("name, what, found", [
    ("cross_entropy", "signed class weights under a class-target mean",
     lambda c: c["weight"] is not None and (c["weight"] < 0).any() and np.asarray(c["target"]).dtype.kind == "i"
     and c["reduction"] == "mean"),
    ("cross_entropy", "unnormalised probability targets with negative entries",
     lambda c: np.asarray(c["target"]).dtype.kind == "f" and (c["target"] < 0).any()
     and (np.abs(c["target"].sum(axis=-1) - 1.0) > 1e-3).any()),
    ("binary_cross_entropy_with_logits", "labels outside [0, 1] with weights of both signs",
     lambda c: ((c["target"] < 0) | (c["target"] > 1)).any() and c["weight"] is not None and (c["weight"] < 0).any()
     and c["pos_weight"] is not None and (c["pos_weight"] < 0).any()),
])
def test_drawn_cases_reach_the_domains_pytorch_accepts(name, what, found):
    """The strategies (which the property tests, the audit and refloss conform draw from) reach the inputs of
    issue 19, not only the stress points."""
    find(strategy(refloss.get(name), False), found, settings=_DRAWS)


def test_sigmoid_focal_hard_label_far_side():
    # y = 1, x = 800: m = 1 - p underflows to 0; the ratio p(1-p)/m -> 1 keeps the gradient at 0, not NaN
    g = refloss.sigmoid_focal_loss_grad([800.0, -800.0], [1.0, 0.0], gamma=0.5)
    np.testing.assert_array_equal(g, [0.0, 0.0])


@given(data=st.data())
def test_poly1_with_epsilon_zero_is_cross_entropy(data):
    case = {**data.draw(strategy(refloss.get("poly1_loss"), False)), "epsilon": 0.0}
    ce = {k: case[k] for k in ("logits", "target", "reduction")}
    np.testing.assert_allclose(refloss.poly1_loss(**case), refloss.cross_entropy(**ce), rtol=1e-14, atol=0)
    np.testing.assert_allclose(refloss.poly1_loss_grad(**case), refloss.cross_entropy_grad(**ce), rtol=1e-13,
                               atol=1e-300)


def test_poly1_at_epsilon_minus_one_keeps_every_digit():
    # eps = -1: p - 1 - log p = e^s - 1 - s with s = log p_0 = -log1p(e^-30 + e^-33); the loss is s^2/2 + s^3/6
    # + ... ~ 5.2e-27, which -log p + eps (1 - p) evaluated as written returns as 0 or noise.
    s = -math.log1p(math.exp(-30.0) + math.exp(-33.0))
    expected = s * s / 2 + s**3 / 6
    assert refloss.poly1_loss([[30.0, 0.0, -3.0]], [0], epsilon=-1.0) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("epsilon", [-1.0, -0.5, 0.0, 2.0])
def test_poly1_is_non_increasing_in_the_target_probability_for_epsilon_at_least_minus_one(epsilon):
    # d ell / d p_y = -1/p_y - epsilon <= 0 when epsilon >= -1 (the docstring's reason for the domain)
    logits = np.stack([np.linspace(-20.0, 40.0, 301), np.zeros(301), np.full(301, -3.0)], axis=-1)
    losses = refloss.poly1_loss(logits, np.zeros(301, dtype=np.int64), epsilon=epsilon, reduction="none")
    assert (np.diff(losses) <= 0).all()


def test_a_zero_weight_on_a_loss_beyond_the_float64_range_is_zero_not_nan():
    """2 softplus(1e308) exceeds the float64 range: +inf, correctly rounded and without a warning; times a weight of
    0 it is exactly 0 (inf * 0 would be a silent NaN)."""
    losses = refloss.binary_cross_entropy_with_logits([-1e308, -1e308], [1.0, 1.0], pos_weight=2.0,
                                                      weight=[0.0, 1.0], reduction="none")
    assert losses[0] == 0.0 and losses[1] == np.inf
