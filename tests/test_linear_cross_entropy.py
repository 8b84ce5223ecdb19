"""refloss.linear_cross_entropy beyond the registry's generic checks (tests/test_registry.py, tests/test_fuzz.py, which
loop over its stress points and drawn heads): PyTorch's probability targets and K-dimensional loss (a classifier per
position), an unbatched row and more batch axes, each checked against :func:`refloss.cross_entropy` of the
materialised logits, against ``torch.nn.functional.linear_cross_entropy`` itself, and at their edges (empty batches,
bad input, inputs left as they were)."""

import warnings

import numpy as np
import pytest

import refloss
from refloss import RefLossError, RefLossWarning

ENTRY = refloss.get("linear_cross_entropy")

#: (e's shape, c's shape): rows, one unbatched row, two batch axes, K = 1 and K = 2 classifiers (batched and not)
LAYOUTS = {
    "rows": ((5, 3), (4, 3)),
    "unbatched": ((3,), (4, 3)),
    "batch_axes": ((2, 3, 3), (4, 3)),
    "k1": ((5, 3), (2, 4, 3)),
    "k2": ((5, 3), (2, 3, 4, 3)),
    "unbatched_k1": ((3,), (2, 4, 3)),
}
NEW_STRESS = [k for k in ENTRY.stress_cases() if k.startswith(("probabilities", "k1_", "k2_", "unbatched", "two_"))]


def _head(layout: str, probabilities: bool, seed: int = 0) -> dict:
    """A moderate head: weights, smoothing and a bias; class targets with ignored rows, or real targets (a zero row,
    a negative entry, rows not summing to 1)."""
    rng = np.random.default_rng(seed)
    e_shape, c_shape = LAYOUTS[layout]
    e, c = rng.standard_normal(e_shape), rng.standard_normal(c_shape)
    shape = e_shape[:-1] + c_shape[:-1]
    if probabilities:
        target = rng.uniform(-0.25, 1.0, shape)
        target.reshape(-1, shape[-1])[0] = 0.0
    else:
        target = rng.integers(0, shape[-1], shape[:-1])
        target.reshape(-1)[1::3] = -100
    return {"e": e, "c": c, "target": target, "bias": rng.standard_normal(c_shape[:-1]),
            "weight": rng.uniform(0.5, 2.0, c_shape[-2]), "label_smoothing": 0.1}


def _logits(case: dict) -> np.ndarray:
    return np.tensordot(case["e"], case["c"], axes=([-1], [-1])) + case["bias"]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("probabilities", [False, True], ids=["class", "probabilities"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_head_is_cross_entropy_of_its_logits(layout, probabilities, reduction):
    """Value: refloss.cross_entropy of u = e c^T + b (the class axis last, "mean" over the total weight of the kept
    class targets or over every row of logits); gradients: its G through the head, sum_{k,v} G c, sum_i G e and
    sum_i G over the batch axes, in the inputs' shapes."""
    case = {**_head(layout, probabilities), "reduction": reduction}
    u = _logits(case)
    ce_args = {k: case[k] for k in ("weight", "label_smoothing", "reduction")}
    expected = refloss.cross_entropy(u, case["target"], **ce_args)
    np.testing.assert_allclose(refloss.linear_cross_entropy(**case), expected, rtol=1e-13, atol=0)
    g = refloss.cross_entropy_grad(u, case["target"], **ce_args)
    batch = tuple(range(np.ndim(case["e"]) - 1))
    rows = np.ndim(case["e"]) - 1
    grad = refloss.linear_cross_entropy_grad(**case)
    np.testing.assert_allclose(grad.e, np.tensordot(g, case["c"], axes=(list(range(rows, g.ndim)),
                                                                         list(range(g.ndim - rows)))),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad.c, np.tensordot(g, case["e"], axes=(batch, batch)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad.bias, g.sum(axis=batch), rtol=1e-12, atol=1e-15)
    assert grad.e.shape == np.shape(case["e"]) and grad.c.shape == np.shape(case["c"])


@pytest.mark.parametrize("probabilities", [False, True], ids=["class", "probabilities"])
@pytest.mark.parametrize("layout", ["rows", "k2", "unbatched_k1"])
def test_the_z_loss_of_every_kept_row_shares_the_mean_s_denominator(layout, probabilities):
    """lambda LSE^2 of each kept row (every row with probability targets), over W (class targets) or over the number
    of rows M (probability targets): the z-loss is not class-weighted."""
    case = {**_head(layout, probabilities, seed=1), "reduction": "mean"}
    u = _logits(case)
    lse2 = np.logaddexp.reduce(u, axis=-1) ** 2
    if probabilities:
        expected = lse2.sum() / lse2.size
    else:
        kept = case["target"] != -100
        expected = lse2[kept].sum() / case["weight"][case["target"][kept]].sum()
    lam = 0.25
    delta = refloss.linear_cross_entropy(**case, z_loss=lam) - refloss.linear_cross_entropy(**case)
    np.testing.assert_allclose(delta, lam * expected, rtol=1e-12)


def test_probability_targets_mean_divides_by_the_rows_whatever_they_sum_to():
    """PyTorch's rule: N d_1 ... d_K, not the weights nor the targets' sums; a one-hot row is its class index."""
    case = _head("k1", probabilities=True, seed=2)
    per_row = refloss.linear_cross_entropy(**case, reduction="none")
    assert per_row.shape == (5, 2)
    np.testing.assert_allclose(refloss.linear_cross_entropy(**case), per_row.sum() / 10, rtol=1e-14)
    y = np.array([[0, 3], [1, 1], [2, 0], [3, 2], [0, 0]])
    one_hot = np.eye(4)[y]
    options = {k: case[k] for k in ("e", "c", "bias")}
    np.testing.assert_allclose(refloss.linear_cross_entropy(target=one_hot, **options, reduction="none"),
                               refloss.linear_cross_entropy(target=y, **options, reduction="none"), rtol=1e-15)


@pytest.mark.parametrize("case_id", NEW_STRESS)
def test_new_stress_points_leave_their_inputs_and_warn_of_nothing(case_id):
    """Value, gradient and value_and_grad at each new stress point: inputs unmodified, no RuntimeWarning (errors
    under the suite's filter), value_and_grad the same numbers."""
    case = ENTRY.stress_cases()[case_id]
    before = {k: np.array(v, copy=True) for k, v in case.items() if isinstance(v, np.ndarray)}
    value, grad = refloss.linear_cross_entropy(**case), refloss.linear_cross_entropy_grad(**case)
    both = refloss.value_and_grad(refloss.linear_cross_entropy)(**case)
    assert np.array_equal(both[0], value) and all(np.array_equal(a, b) for a, b in zip(both[1], grad)
                                                  if a is not None)
    for k, v in before.items():
        assert np.array_equal(case[k], v), k
    assert np.isfinite(value).all()


def test_the_docstring_s_layout_mapping_is_torch_s():
    """linear_weight = moveaxis(c, -2, 0), linear_bias = moveaxis(bias, -1, 0), probability targets moveaxis(t, -1, 1):
    F.linear_cross_entropy on a K = 2 head with probability targets gives refloss's value and gradients."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    case = _head("k2", probabilities=True, seed=3)
    e = torch.tensor(case["e"], requires_grad=True)
    c = torch.tensor(np.moveaxis(case["c"], -2, 0), requires_grad=True)
    b = torch.tensor(np.moveaxis(case["bias"], -1, 0), requires_grad=True)
    out = F.linear_cross_entropy(e, c, torch.tensor(np.moveaxis(case["target"], -1, 1)), linear_bias=b,
                                 weight=torch.tensor(case["weight"]), label_smoothing=0.1)
    out.backward()
    grad = refloss.linear_cross_entropy_grad(**case)
    np.testing.assert_allclose(out.item(), refloss.linear_cross_entropy(**case), rtol=1e-13)
    np.testing.assert_allclose(np.moveaxis(c.grad.numpy(), 0, -2), grad.c, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(np.moveaxis(b.grad.numpy(), 0, -1), grad.bias, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(e.grad.numpy(), grad.e, rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("probabilities", [False, True], ids=["class", "probabilities"])
@pytest.mark.parametrize("layout", ["rows", "unbatched", "k1", "k2"])
def test_torch_s_adapter_passes_the_case_as_it_is(layout, probabilities):
    """refloss.conform's adapter of F.linear_cross_entropy (what `refloss conform torch` judges) agrees with refloss
    on moderate heads of every layout torch takes, under every reduction."""
    pytest.importorskip("torch")
    from refloss.conform import torch_peer

    for reduction in ("mean", "sum", "none"):
        case = {**_head(layout, probabilities, seed=4), "reduction": reduction}
        assert torch_peer._linear_head(case) is case
        out = torch_peer._linear_cross_entropy(case)
        grad = refloss.linear_cross_entropy_grad(**case)
        np.testing.assert_allclose(out.value, refloss.linear_cross_entropy(**case), rtol=1e-12)
        for name in ("e", "c", "bias"):
            np.testing.assert_allclose(out.grads[name], getattr(grad, name), rtol=1e-11, atol=1e-15)


def test_torch_s_adapter_leaves_out_what_torch_cannot_express():
    """No z-loss or cap in torch, at most one batch axis, a classifier per position only with a batch axis."""
    from refloss.conform import torch_peer

    base = _head("rows", probabilities=False)
    assert torch_peer._linear_head({**base, "z_loss": 1e-4}) is None
    assert torch_peer._linear_head({**base, "softcap": 30.0}) is None
    assert torch_peer._linear_head(_head("batch_axes", False)) is None
    assert torch_peer._linear_head(_head("unbatched_k1", True)) is None


# -- edges ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("probabilities", [False, True], ids=["class", "probabilities"])
@pytest.mark.parametrize("e_shape, c_shape", [((0, 3), (2, 4, 3)), ((5, 3), (0, 4, 3)), ((0, 2, 3), (4, 3))])
def test_an_empty_batch_or_position_axis_is_an_empty_sum(e_shape, c_shape, probabilities):
    """No rows of logits: "none" is empty, "sum" 0, "mean" 0/0 = nan with a RefLossWarning (as for an empty batch of
    refloss.cross_entropy); the gradients are zeros of the inputs' shapes."""
    e, c = np.ones(e_shape), np.ones(c_shape)
    shape = e_shape[:-1] + c_shape[:-1]
    target = np.zeros(shape) if probabilities else np.zeros(shape[:-1], dtype=np.int64)
    assert refloss.linear_cross_entropy(e, c, target, reduction="none").shape == shape[:-1]
    assert refloss.linear_cross_entropy(e, c, target, reduction="sum") == 0.0
    with pytest.warns(RefLossWarning, match="0/0"):
        assert np.isnan(refloss.linear_cross_entropy(e, c, target))
    grad = refloss.linear_cross_entropy_grad(e, c, target, bias=np.zeros(c_shape[:-1]))
    assert grad.e.shape == e_shape and grad.c.shape == c_shape and grad.bias.shape == c_shape[:-1]
    assert not grad.e.any() and not grad.c.any() and not grad.bias.any()


BAD = {
    "ignore_index with probability targets": ("ignore_index", {"target": np.full((2, 3), 0.5), "ignore_index": 0}),
    "integer targets of the logits' shape": ("target", {"target": np.zeros((2, 3), dtype=np.int64)}),
    "targets of neither shape": ("target", {"target": np.zeros((3,), dtype=np.int64)}),
    "float class indices": ("target", {"target": np.zeros(2)}),
    "K-dimensional targets for a classifier (V, D)": ("target", {"target": np.zeros((2, 1), dtype=np.int64)}),
    "a bias (V,) for a classifier per position": ("bias", {"c": np.ones((2, 3, 4)), "target": np.zeros((2, 2), int),
                                                           "bias": np.zeros(3)}),
    "a bias of the wrong length": ("bias", {"bias": np.zeros(4)}),
    "a classifier of one axis": ("c", {"c": np.ones(4)}),
    "a classifier of no classes": ("c", {"c": np.ones((2, 0, 4))}),
    "features that differ": ("c", {"c": np.ones((3, 5))}),
    "scalar hidden states": ("e", {"e": np.float64(1.0), "target": np.int64(0)}),
    "hidden states of no features": ("e", {"e": np.ones((2, 0))}),
    "NaN in a probability target": ("target", {"target": np.array([[0.5, np.nan, 0.5], [1.0, 0.0, 0.0]])}),
}


@pytest.mark.parametrize("what", list(BAD))
def test_bad_input_raises_naming_the_argument(what):
    name, changes = BAD[what]
    case = {"e": np.ones((2, 4)), "c": np.ones((3, 4)), "target": np.array([0, 2]), **changes}
    for fn in (refloss.linear_cross_entropy, refloss.linear_cross_entropy_grad):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(RefLossError, match=name):
                fn(**case)
