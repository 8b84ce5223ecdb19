"""Rows in blocks (refloss._blocks): the same numbers as on the whole array, in bounded memory."""

import inspect
import tracemalloc

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
    "comp_sum_loss": [{"logits": Z, "target": RNG.integers(0, 5, (7, 3)), "tau": t, "reduction": r}
                      for t, r in ((0.0, "mean"), (0.5, "none"), (1.0, "sum"), (1.5, "mean"), (3.0, "none"))],
    "generalized_cross_entropy": [{"logits": Z, "target": RNG.integers(0, 5, (7, 3)), "q": q, "reduction": r}
                                  for q, r in ((1e-3, "mean"), (0.7, "none"))],
    "mae_loss": [{"logits": Z, "target": RNG.integers(0, 5, (7, 3)), "reduction": r} for r in ("sum", "none")],
    "sum_exponential_loss": [{"logits": Z, "target": RNG.integers(0, 5, (7, 3)), "reduction": r}
                             for r in ("mean", "none")],
    "focal_loss": [{"logits": Z, "target": np.arange(21).reshape(7, 3) % 5, "gamma": g, "alpha": a, "reduction": r}
                   for g, a, r in ((2.0, None, "mean"), (0.5, 0.25, "sum"),
                                   (1.5, np.array([0.25, 0.5, 2.0, 0.0, 1.0]), "none"))],
    "poly1_loss": [{"logits": Z, "target": np.arange(21).reshape(7, 3) % 5, "epsilon": e, "reduction": r}
                   for e, r in ((1.0, "mean"), (-1.0, "none"), (-0.5, "sum"))],
    "softmax_entropy": [{"logits": Z, "base": b, "reduction": r}
                        for b, r in ((None, "mean"), (2.0, "none"), (10.0, "sum"))],
}
for name in ("cross_entropy", "comp_sum_loss", "generalized_cross_entropy", "mae_loss", "sum_exponential_loss"):
    for case in CASES[name]:
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


ROW_VALUED = [e for e in refloss.catalogue() if e.family in ("softmax", "classification", "comp_sum", "entropy")
              and e.grad_kind != "jacobian"]  # log_softmax's value is (N, C) itself


@pytest.mark.parametrize("entry", ROW_VALUED, ids=lambda e: e.name)
def test_the_value_alone_needs_memory_of_a_few_blocks_not_of_the_batch(monkeypatch, entry):
    """Peak NumPy memory (tracemalloc) of the value on 1024 x 4096 logits (32 MiB), beyond its inputs: below 2 MiB,
    which any temporary of the batch's size (a 4 MiB mask of it) exceeds."""
    monkeypatch.setattr(_blocks, "BLOCK_ELEMENTS", 2 ** 12)
    rng = np.random.default_rng(5)
    z = rng.standard_normal((1024, 4096))
    params = {p.name for p in entry.params}
    if "log_q" in params:
        case = {"log_q": z, "target": rng.random(z.shape)}
    elif "p_logits" in params:
        case = {"p_logits": z, "q_logits": rng.standard_normal(z.shape)}
    elif "target" not in params:
        case = {"logits": z}
    elif next(iter(entry.stress_cases().values()))["target"].dtype.kind in "iu":
        case = {"logits": z, "target": rng.integers(0, z.shape[1], z.shape[0])}
    else:
        case = {"logits": z, "target": rng.random(z.shape)}  # elementwise labels
    required = [p.name for p in inspect.signature(entry.fn).parameters.values()
                if p.kind is p.KEYWORD_ONLY and p.default is p.empty]  # a Renyi order: its first stress point's
    case.update({n: next(c[n] for c in entry.stress_cases().values() if n in c) for n in required})
    tracemalloc.start()
    try:
        entry.fn(**case)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2 ** 20, f"{entry.name}: {peak / 2 ** 20:.1f} MiB"
