"""Conformance with PyTorch, where PyTorch is installed (it is not a test dependency: CI skips this).

The cases are the registry's own hypothesis strategies; PyTorch runs in float64 and must agree with
refloss on values and gradients. Known, documented differences are excluded with their reason.
"""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import refloss
from refloss import _cases

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _close(got, want):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=1e-12, atol=1e-14)


def _t(x):
    return None if x is None else torch.tensor(np.asarray(x))


@given(case=_cases.strategy(refloss.get("cross_entropy")))
def test_cross_entropy_matches_torch(case):
    target = np.asarray(case["target"])
    # Difference by design: a probability target of 0 on a masked (-inf) class is 0 log 0 = 0 in
    # refloss; PyTorch multiplies 0 * -inf = nan.
    assume(not (target.dtype.kind == "f" and np.isneginf(case["logits"]).any()))
    z = torch.tensor(np.moveaxis(case["logits"], -1, 1) if np.ndim(case["logits"]) > 1 else case["logits"],
                     requires_grad=True)
    tt = torch.tensor(np.moveaxis(target, -1, 1) if target.dtype.kind == "f" and target.ndim > 1 else target)
    loss = F.cross_entropy(z, tt, weight=_t(case["weight"]), ignore_index=case.get("ignore_index", -100),
                           label_smoothing=case["label_smoothing"], reduction=case["reduction"])
    loss.sum().backward()
    grad = z.grad.numpy()
    _close(refloss.cross_entropy(**case), loss.detach().numpy())
    _close(refloss.cross_entropy_grad(**case), np.moveaxis(grad, 1, -1) if grad.ndim > 1 else grad)


@given(case=_cases.strategy(refloss.get("binary_cross_entropy_with_logits")))
def test_bce_with_logits_matches_torch(case):
    x = torch.tensor(case["logits"], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, _t(case["target"]), weight=_t(case["weight"]),
                                              pos_weight=_t(case["pos_weight"]), reduction=case["reduction"])
    loss.sum().backward()
    _close(refloss.binary_cross_entropy_with_logits(**case), loss.detach().numpy())
    _close(refloss.binary_cross_entropy_with_logits_grad(**case), x.grad.numpy())


@given(case=_cases.strategy(refloss.get("kl_divergence_logits")))
def test_kl_matches_torch_batchmean(case):
    assume(case["reduction"] != "none" and np.isfinite(case["p_logits"]).all())  # torch: 0 * -inf = nan
    a = torch.tensor(case["p_logits"], requires_grad=True)
    b = torch.tensor(case["q_logits"], requires_grad=True)
    pointwise = F.kl_div(F.log_softmax(b, -1), F.log_softmax(a, -1), log_target=True, reduction="none").sum(-1)
    loss = pointwise.sum() / (pointwise.numel() if case["reduction"] == "mean" else 1)
    loss.backward()
    g = refloss.kl_divergence_logits_grad(**case)
    _close(refloss.kl_divergence_logits(**case), loss.item())
    _close(g.p_logits, a.grad.numpy())
    _close(g.q_logits, b.grad.numpy())


def test_all_ignored_batch_matches_torch():
    z = torch.zeros((2, 3), dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(z, torch.tensor([-100, -100]), label_smoothing=0.1)
    loss.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", refloss.RefLossWarning)
        assert np.isnan(refloss.cross_entropy(np.zeros((2, 3)), [-100, -100], label_smoothing=0.1))
    assert np.isnan(loss.item())
    _close(refloss.cross_entropy_grad(np.zeros((2, 3)), [-100, -100], label_smoothing=0.1), z.grad.numpy())


@given(x=st.floats(-30, 30), y=st.sampled_from([0.0, 1.0]), gamma=st.sampled_from([0.0, 0.5, 2.0]))
def test_sigmoid_focal_matches_torchvision_formula(x, y, gamma):
    # torchvision.ops.sigmoid_focal_loss, written out (torchvision is not installed alongside torch here)
    xt = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    p = torch.sigmoid(xt)
    ce = F.binary_cross_entropy_with_logits(xt, torch.tensor([y], dtype=torch.float64), reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    loss = ((0.25 * y + 0.75 * (1 - y)) * ce * (1 - p_t) ** gamma).sum()
    _close(refloss.sigmoid_focal_loss([x], [y], gamma=gamma, reduction="sum"), loss.item())
