"""Rows in blocks (refloss._blocks): the same numbers as on the whole array, in bounded memory."""

import numpy as np
import pytest

import refloss
from refloss import _blocks

RNG = np.random.default_rng(11)
Z = RNG.standard_normal((7, 3, 5)) * 30.0
Z[0, 1, 2] = -np.inf
CASES = {
    "cross_entropy": [{"logits": Z, "target": RNG.integers(0, 5, (7, 3)), "reduction": r} for r in ("mean", "none")]
    + [{"logits": Z, "target": np.where(RNG.random((7, 3)) < 0.3, -100, RNG.integers(0, 5, (7, 3))),
        "weight": np.array([1.0, 0.5, 2.0, 0.0, 3.0]), "label_smoothing": 0.0, "reduction": "sum"}],
    "binary_cross_entropy_with_logits": [
        {"logits": np.nan_to_num(Z, neginf=-700.0), "target": RNG.random((7, 3, 5)), "weight": RNG.random((3, 1)),
         "pos_weight": RNG.random(5) * 3, "reduction": r} for r in ("mean", "sum", "none")],
    "logsumexp": [{"logits": Z}],
    "sigmoid_focal_loss": [{"logits": np.nan_to_num(Z, neginf=-700.0), "target": RNG.random((7, 3, 5)), "gamma": g,
                            "alpha": a, "reduction": r} for g, a, r in ((2.0, 0.25, "mean"), (0.5, None, "none"))],
    "softmax_tsallis_entropy": [{"logits": Z, "q": q, "reduction": "mean"} for q in (0.5, 1.0, 2.0)],
    "kl_divergence_logits": [{"p_logits": Z, "q_logits": RNG.standard_normal((7, 3, 5)) * 30.0, "reduction": r}
                             for r in ("mean", "none")],
}
for case in CASES["cross_entropy"]:
    case["target"][0, 1] = 1  # the masked class is no target


def _everything(name, case):
    entry = refloss.get(name)
    grads = entry.grad(**case)
    return (np.asarray(entry.fn(**case)),) + tuple(np.asarray(g) for g in (grads if isinstance(grads, tuple)
                                                                          else (grads,)))


@pytest.mark.parametrize("name, case", [(n, c) for n, cs in CASES.items() for c in cs])
def test_blocks_of_one_row_give_the_whole_array_s_numbers(monkeypatch, name, case):
    whole = _everything(name, case)
    monkeypatch.setattr(_blocks, "BLOCK_ELEMENTS", 1)  # one row per block
    assert len(_blocks.row_slices(7, 5)) == 7
    blocked = _everything(name, case)
    for a, b in zip(whole, blocked):
        assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_a_sum_that_overflows_row_by_row_keeps_the_mean_of_finite_values():
    """Each loss is finite (1.7e308) but a row's sum is not: the mean is still the mean of the losses."""
    x = np.full((2, 3), -1.7e308)
    mean = refloss.binary_cross_entropy_with_logits(x, np.ones((2, 3)))
    assert mean == pytest.approx(1.7e308, rel=1e-15)
    assert refloss.binary_cross_entropy_with_logits(x, np.ones((2, 3)), reduction="sum") == np.inf
