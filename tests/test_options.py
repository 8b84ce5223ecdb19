"""The options every entry of a kind takes (refloss._options): axis=, where=, sample_weight=; the empty batch; and
SciPy's b= / return_sign= and base=, each against an independent computation (the arrays moved by hand, a subset
sliced by hand, scikit-learn's and SciPy's own functions, hand-derived values). The oracle judges every option at
the stress points of refloss._cases.option_stress (tests/test_registry.py, tests/test_golden.py)."""

import warnings

import numpy as np
import pytest

import refloss
from refloss import RefLossError, RefLossWarning, _cases, value_and_grad

AXIS_ENTRIES = [e for e in refloss.catalogue() if e.class_axis]
WEIGHTED_ENTRIES = [e for e in refloss.catalogue() if e.sample_weight]


def _outputs(fn, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefLossWarning)
        out = fn(**case)
    return [np.asarray(x) for x in (out if isinstance(out, tuple) else (out,))]


def _multi_row_case(entry):
    """The entry's first stress point of several rows without options (of one axis, for an elementwise loss that has
    no other)."""
    plain = [c for c in entry.stress_cases().values() if not {"axis", "where", "sample_weight"} & set(c)]
    return next((c for c in plain if np.ndim(c[entry.params[0].name]) >= 2), plain[0])


@pytest.mark.parametrize("entry", AXIS_ENTRIES, ids=lambda e: e.name)
def test_the_class_axis_elsewhere_gives_the_same_numbers_in_that_layout(entry):
    """Moving the class axis of every class-axis argument to 0 and passing axis=0 gives exactly the numbers of the
    last-axis call, with the gradient's (or a vector output's, or a Jacobian's output) class axis at 0."""
    case = _multi_row_case(entry)
    z = np.asarray(case[entry.params[0].name])
    moved = _cases.class_axis_at(entry, case, 0)
    for fn in (entry.fn, entry.grad):
        last, first = _outputs(fn, case), _outputs(fn, moved)
        for a, b in zip(last, first):
            if a.shape == z.shape:  # a gradient or a vector output: the class axis at 0
                a = np.moveaxis(a, -1, 0)
            elif a.shape == z.shape + z.shape[-1:]:  # a Jacobian: its output index at 0
                a = np.moveaxis(a, -2, 0)
            assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), fn.__name__


def test_axis_refuses_an_axis_the_array_does_not_have_and_entries_without_a_class_axis_refuse_it():
    with pytest.raises(RefLossError, match="axis 2 is out of range"):
        refloss.log_softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(TypeError, match="axis"):
        refloss.binary_cross_entropy_with_logits([0.0], [1.0], axis=0)


def test_where_is_the_function_on_the_kept_classes_alone():
    """optax's own test of ``where``: the loss over the classes a mask keeps equals the loss of the sliced arrays."""
    rng = np.random.default_rng(5)
    z, t = rng.normal(size=7), rng.dirichlet(np.ones(7))
    keep = np.array([True, False, True, True, False, True, True])
    for fn, args in ((refloss.poly1_loss, (z, t)), (refloss.softmax_entropy, (z,)), (refloss.logsumexp, (z,)),
                     (refloss.focal_loss, (z, t))):
        sliced = fn(*(a[keep] for a in args))
        assert np.isclose(fn(*args, where=keep), sliced, rtol=1e-15, atol=0), fn.__name__
    log_p = refloss.log_softmax(z, where=keep)
    assert np.all(np.isneginf(log_p[~keep])) and np.allclose(log_p[keep], refloss.log_softmax(z[keep]), rtol=1e-15)


def test_a_loss_row_with_no_kept_class_is_left_out():
    """0 in "none", nothing in "sum", not counted by "mean", a zero gradient row: as if the row were not there."""
    z = np.array([[2.0, 0.0, -1.0], [0.0, 5.0, 1.0], [1.0, 1.0, 3.0]])
    y = np.array([0, 1, 2])
    keep_rows = np.array([True, False, True])
    none = refloss.focal_loss(z, y, where=keep_rows, reduction="none")
    assert none[1] == 0.0 and np.array_equal(none[[0, 2]], refloss.focal_loss(z[[0, 2]], y[[0, 2]], reduction="none"))
    assert refloss.focal_loss(z, y, where=keep_rows) == refloss.focal_loss(z[[0, 2]], y[[0, 2]])
    grad = refloss.focal_loss_grad(z, y, where=keep_rows)
    assert np.all(grad[1] == 0) and np.array_equal(grad[[0, 2]], refloss.focal_loss_grad(z[[0, 2]], y[[0, 2]]))


def test_where_refuses_what_is_not_a_boolean_mask_of_the_logits_or_the_batch():
    with pytest.raises(RefLossError, match="where must be a boolean mask"):
        refloss.softmax_entropy(np.zeros((2, 3)), where=np.ones((2, 3)))
    with pytest.raises(RefLossError, match="where of shape"):
        refloss.softmax_entropy(np.zeros((2, 3)), where=np.ones((2, 4), dtype=bool))


def test_sample_weight_is_scikit_learns_weighted_mean():
    """sklearn's log_loss with sample_weight, from probabilities: refloss's focal loss at gamma = 0 on their logs."""
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 3))
    y = np.array([0, 1, 2, 0, 1, 2])
    w = np.array([1.0, 2.0, 0.5, 3.0, 1.0, 0.0])
    p = np.exp(refloss.log_softmax(z))
    expected = sklearn_metrics.log_loss(y, p, sample_weight=w, labels=[0, 1, 2])
    assert np.isclose(refloss.focal_loss(z, y, gamma=0.0, sample_weight=w), expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("entry", WEIGHTED_ENTRIES, ids=lambda e: e.name)
def test_sample_weight_scales_each_elements_loss_and_gradient(entry):
    case = {k: v for k, v in _multi_row_case(entry).items() if k != "reduction"}
    losses = entry.fn(**case, reduction="none")
    s = np.linspace(2.0, -0.5, losses.size).reshape(losses.shape)
    grads = entry.grad(**case, reduction="none")
    assert np.array_equal(entry.fn(**case, reduction="none", sample_weight=s), s * losses)
    assert np.isclose(entry.fn(**case, reduction="mean", sample_weight=s), np.sum(s * losses) / np.sum(s),
                      rtol=1e-14, atol=0)
    got = entry.grad(**case, reduction="mean", sample_weight=s)
    for g, g_none in zip(got if isinstance(got, tuple) else (got,), grads if isinstance(grads, tuple) else (grads,)):
        per_element = s if g.shape == s.shape else s[..., None]  # an elementwise loss, or one per row
        assert np.allclose(g, g_none * (per_element / np.sum(s)), rtol=1e-14, atol=0)


def test_weights_of_both_signs_that_cancel_leave_no_mean_and_all_zero_weights_give_the_documented_nan():
    z, y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([0, 1])
    with pytest.raises(RefLossError, match="weights of sample_weight sum to 0"):
        refloss.poly1_loss(z, y, sample_weight=[1.5, -1.5])
    with pytest.raises(RefLossError, match="weights of sample_weight sum to 0"):
        refloss.poly1_loss_grad(z, y, sample_weight=[1.5, -1.5])
    with pytest.warns(RefLossWarning, match="zero total weight"):
        assert np.isnan(refloss.poly1_loss(z, y, sample_weight=[0.0, 0.0]))
    assert np.array_equal(refloss.poly1_loss_grad(z, y, sample_weight=[0.0, 0.0]), np.zeros((2, 2)))


@pytest.mark.parametrize("entry", [e for e in refloss.catalogue() if "reduction" in {p.name for p in e.params}],
                         ids=lambda e: e.name)
def test_an_empty_batch_is_the_empty_sum(entry):
    """No rows: "none" an empty array, "sum" 0, "mean" 0/0 = NaN with the RefLossWarning, a gradient of the input's
    (empty) shape. The oracle judges the same cases (refloss._fuzz.oracle_cases: empty_batch__*)."""
    case = refloss._fuzz._empty_batch_cases(entry)
    assert set(case) == {"empty_batch__none", "empty_batch__sum", "empty_batch__mean"}
    assert entry.fn(**case["empty_batch__none"]).size == 0
    assert entry.fn(**case["empty_batch__sum"]) == 0.0
    with pytest.warns(RefLossWarning):
        assert np.isnan(entry.fn(**case["empty_batch__mean"]))


def test_no_classes_and_rows_with_every_class_masked_have_no_softmax():
    with pytest.raises(RefLossError, match="no classes"):
        refloss.log_softmax(np.zeros((2, 0)))
    with pytest.raises(RefLossError, match="all -inf"):
        refloss.softmax_entropy([[-np.inf, -np.inf]])


# -- logsumexp: SciPy's b= and return_sign=, the empty sum ---------------------------------------------------


def test_logsumexp_with_b_and_the_sign_is_scipys():
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(11)
    z = rng.normal(size=(5, 4)) * 3
    for b in (rng.normal(size=(5, 4)), np.array([1.0, -2.0, 0.0, 0.5]), rng.uniform(0.1, 2.0, size=(5, 1))):
        value, sign = refloss.logsumexp(z, b=b, return_sign=True)
        expected, expected_sign = special.logsumexp(z, axis=-1, b=b, return_sign=True)
        assert np.allclose(value, expected, rtol=1e-13, atol=0) and np.array_equal(sign, expected_sign)


def test_logsumexp_of_negated_b_is_the_same_value_with_the_opposite_sign():
    z, b = np.array([[0.0, 1e-12, -1.0], [3.0, 0.0, 1.0]]), np.array([[1.0, -1.0, 1e-30], [2.0, -1.0, 0.5]])
    value, sign = refloss.logsumexp(z, b=b, return_sign=True)
    flipped, flipped_sign = refloss.logsumexp(z, b=-b, return_sign=True)
    assert np.array_equal(value, flipped) and np.array_equal(sign, -flipped_sign)
    assert np.array_equal(refloss.logsumexp_grad(z, b=b), refloss.logsumexp_grad(z, b=-b))


def test_logsumexp_refuses_a_negative_sum_without_the_sign_and_the_gradient_of_an_exact_cancellation():
    with pytest.raises(RefLossError, match="negative in a row.*return_sign"):
        refloss.logsumexp([0.0, 1.0], b=[1.0, -1.0])
    assert refloss.logsumexp([0.0, 0.0], b=[1.0, -1.0], return_sign=True) == (-np.inf, 0.0)
    with pytest.raises(RefLossError, match="cancel to 0"):
        refloss.logsumexp_grad([0.0, 0.0], b=[1.0, -1.0])


def test_the_log_sum_exp_of_the_empty_sum_is_minus_infinity_with_a_zero_gradient():
    """Every class masked, every b_j = 0, or no class: log 0 = -inf (SciPy's answer), sign 0; the value is the
    constant -inf there, so its gradient is 0, as a masked log-probability's."""
    assert refloss.logsumexp([-np.inf, -np.inf]) == -np.inf
    assert np.array_equal(refloss.logsumexp(np.zeros((3, 0))), np.full(3, -np.inf))
    assert refloss.logsumexp([1.0, 2.0], b=[0.0, 0.0], return_sign=True) == (-np.inf, 0.0)
    assert np.array_equal(refloss.logsumexp_grad([[-np.inf, -np.inf], [0.0, 0.0]]), [[0.0, 0.0], [0.5, 0.5]])


def test_value_and_grad_returns_the_pair_and_the_gradient():
    (value, sign), grad = value_and_grad(refloss.logsumexp)([0.0, np.log(3.0)], b=[1.0, -1.0], return_sign=True)
    assert (value, sign) == refloss.logsumexp([0.0, np.log(3.0)], b=[1.0, -1.0], return_sign=True)
    assert np.array_equal(grad, refloss.logsumexp_grad([0.0, np.log(3.0)], b=[1.0, -1.0]))


def test_kl_in_bits_is_scipys_entropy_with_base_2():
    stats = pytest.importorskip("scipy.stats")
    a, b = np.array([[0.0, 1.0, -2.0]]), np.array([[1.0, 0.0, 0.5]])
    p, q = np.exp(refloss.log_softmax(a)), np.exp(refloss.log_softmax(b))
    assert np.isclose(refloss.kl_divergence_logits(a, b, base=2), stats.entropy(p[0], q[0], base=2), rtol=1e-14)
    nats = refloss.kl_divergence_logits_grad(a, b)
    bits = refloss.kl_divergence_logits_grad(a, b, base=2)
    assert np.allclose(bits.q_logits, nats.q_logits / np.log(2.0), rtol=1e-15, atol=0)


def test_the_log_sum_exp_of_a_sum_holding_e_to_the_plus_infinity_is_plus_infinity():
    """SciPy's answers: +inf, with the sign of its b; b = 0 removes the term; inf - inf has no value, and the
    gradient of an infinite value none either."""
    assert refloss.logsumexp([np.inf, 1.0]) == np.inf
    assert refloss.logsumexp([np.inf, 1.0], b=[-2.0, 1.0], return_sign=True) == (np.inf, -1.0)
    assert refloss.logsumexp([np.inf, 1.0], b=[0.0, 1.0]) == 1.0
    with pytest.raises(RefLossError, match="inf - inf"):
        refloss.logsumexp([np.inf, np.inf], b=[1.0, -1.0])
    with pytest.raises(RefLossError, match=r"\+inf in a row"):
        refloss.logsumexp_grad([np.inf, 1.0])
    with pytest.raises(RefLossError, match=r"logits contains \+inf"):
        refloss.log_softmax([np.inf, 1.0])
