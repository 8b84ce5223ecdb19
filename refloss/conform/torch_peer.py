"""PyTorch's own functions, adapted to refloss's conventions (float64 tensors, gradients by autograd).

Mappings, each written once here: the class axis is last in refloss and second (``dim=1``) in
``F.cross_entropy``/``F.nll_loss``; gradients are of the summed output (refloss's convention for
``reduction="none"``); refloss's ``"mean"`` of a KL is torch's ``"batchmean"``; ``F.kl_div(input, target)``
is KL(target || input), so refloss's ``(p_logits, q_logits)`` become ``(input=log q, target=p)``;
``torch.distributions`` results are per row and reduced here. Defaults differ and are always passed
explicitly: torchvision's ``sigmoid_focal_loss`` has ``reduction="none"`` and takes ``alpha=-1`` for no
weighting, where refloss has ``"mean"`` and ``alpha=None``. ``F.linear_cross_entropy`` takes refloss's cases as
they are, probability targets and classifiers per position (K-dimensional loss) included, with the class axis of
its weight, bias and probability targets moved first. Hinton's distillation loss is what PyTorch code writes for
it, ``F.kl_div`` of the tempered log-softmaxes times T^2. The curvature of ``F.cross_entropy`` is autograd's:
``torch.func.hessian`` of the reduced loss (at target 0: the Hessian in the logits does not depend on the target;
the sum of the rows' losses for ``"none"``, whose Hessian's diagonal blocks are the rows'), and
``torch.autograd.functional.hvp`` of the same function (double backward).
"""

from __future__ import annotations

import warnings

import numpy as np

from ._judge import Convention, Output, PeerFunction
from .conventions import (
    BATCHMEAN_NOT_2D,
    MASKED_OUTPUT_JACOBIAN,
    MASKED_ZERO_MASS_P,
    MASKED_ZERO_MASS_TARGET,
    ZERO_LOG_TARGET,
    reduce_rows,
)

FRAMEWORK = "torch"


def version() -> str:
    import torch

    return torch.__version__


def _tensor(x, grad=False):
    import torch

    if x is None:
        return None
    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def _class_axis_second(t):
    return t.movedim(-1, 1) if t.ndim > 1 else t


def _class_axis_last(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, 1, -1) if a.ndim > 1 else a


def _backward(out, *leaves) -> list:
    out.sum().backward()
    return [t.grad.numpy() for t in leaves]


def _cross_entropy(case: dict) -> Output:
    import torch
    import torch.nn.functional as F

    z = _tensor(case["logits"], grad=True)
    target = np.asarray(case["target"])
    t = torch.tensor(target) if target.dtype.kind in "iu" else _class_axis_second(_tensor(target))
    out = F.cross_entropy(_class_axis_second(z), t, weight=_tensor(case.get("weight")),
                          ignore_index=case.get("ignore_index", -100),
                          label_smoothing=case.get("label_smoothing", 0.0), reduction=case.get("reduction", "mean"))
    (g,) = _backward(out, z)
    return Output(out.detach().numpy(), {"logits": g})


def _linear_cross_entropy(case: dict) -> Output:
    """``F.linear_cross_entropy`` on the case as it is: its weight ``(V, d_1, ..., d_K, D)``, bias ``(V, d_1, ...,
    d_K)`` and probability targets ``(N, V, d_1, ..., d_K)`` have the class axis first where refloss's ``c``,
    ``bias`` and targets have it last (moved there and back); class targets and hidden states are the same."""
    import torch
    import torch.nn.functional as F

    e = _tensor(case["e"], grad=True)
    c = _tensor(np.moveaxis(np.asarray(case["c"], dtype=np.float64), -2, 0), grad=True)
    bias = case.get("bias")
    b = None if bias is None else _tensor(np.moveaxis(np.asarray(bias, dtype=np.float64), -1, 0), grad=True)
    target = np.asarray(case["target"])
    probabilities = target.dtype.kind == "f"
    t = _class_axis_second(_tensor(target)) if probabilities else torch.tensor(target)
    out = F.linear_cross_entropy(e, c, t, linear_bias=b, weight=_tensor(case.get("weight")),
                                 reduction=case.get("reduction", "mean"),
                                 ignore_index=None if probabilities else case.get("ignore_index", -100),
                                 label_smoothing=case.get("label_smoothing", 0.0))
    grads = _backward(out, *([e, c] if b is None else [e, c, b]))
    named = {"e": grads[0], "c": np.moveaxis(grads[1], 0, -2)}
    if b is not None:
        named["bias"] = np.moveaxis(grads[2], 0, -1)
    return Output(out.detach().numpy(), named)


def _nll_loss(case: dict) -> Output:
    import torch
    import torch.nn.functional as F

    z = _tensor(case["logits"], grad=True)
    out = F.nll_loss(_class_axis_second(F.log_softmax(z, dim=-1)), torch.tensor(np.asarray(case["target"])),
                     weight=_tensor(case.get("weight")), ignore_index=case.get("ignore_index", -100),
                     reduction=case.get("reduction", "mean"))
    (g,) = _backward(out, z)
    return Output(out.detach().numpy(), {"logits": g})


def _kl_reduction(reduction: str) -> str:
    return {"mean": "batchmean", "sum": "sum", "none": "none"}[reduction]


def _kl_div(log_target: bool):
    def call(case: dict) -> Output:
        import torch.nn.functional as F

        a = _tensor(case["p_logits"], grad=True)
        b = _tensor(case["q_logits"], grad=True)
        target = F.log_softmax(a, dim=-1) if log_target else F.softmax(a, dim=-1)
        reduction = case.get("reduction", "mean")
        out = F.kl_div(F.log_softmax(b, dim=-1), target, log_target=log_target, reduction=_kl_reduction(reduction))
        if reduction == "none":  # torch's "none" is per class; refloss's is per row
            out = out.sum(dim=-1)
        ga, gb = _backward(out, a, b)
        return Output(out.detach().numpy(), {"p_logits": ga, "q_logits": gb})

    return call


def _pointwise_kl_div(case: dict) -> Output:
    """``F.kl_div`` on refloss's own arguments: the input is ``log_q``, the target ``p`` (or ``log p``); its
    "none", "sum" and "mean" (over elements) are refloss's. A sample weight multiplies the "none" terms (torch has no
    weights)."""
    import warnings

    import torch.nn.functional as F

    x = _tensor(case["log_q"], grad=True)
    target = _tensor(np.broadcast_to(case["target"], np.shape(case["log_q"])))
    weights = case.get("sample_weight")
    reduction = case.get("reduction", "mean")
    with warnings.catch_warnings():  # torch warns that its "mean" is not "batchmean": it is the one asked for
        warnings.simplefilter("ignore", UserWarning)
        out = F.kl_div(x, target, reduction="none" if weights is not None else reduction,
                       log_target=case.get("log_target", False))
    if weights is not None:
        s = _tensor(np.broadcast_to(weights, np.shape(case["log_q"])))
        out = s * out if reduction == "none" else (s * out).sum() / (s.sum() if reduction == "mean" else 1.0)
    (grad,) = _backward(out, x)
    return Output(out.detach().numpy(), {"log_q": grad})


def _bce_with_logits(case: dict) -> Output:
    import torch.nn.functional as F

    x = _tensor(case["logits"], grad=True)
    out = F.binary_cross_entropy_with_logits(x, _tensor(case["target"]), weight=_tensor(case.get("weight")),
                                             pos_weight=_tensor(case.get("pos_weight")),
                                             reduction=case.get("reduction", "mean"))
    (g,) = _backward(out, x)
    return Output(out.detach().numpy(), {"logits": g})


def _logsumexp(case: dict) -> Output:
    import torch

    z = _tensor(case["logits"], grad=True)
    out = torch.logsumexp(z, dim=case.get("axis", -1))
    (g,) = _backward(out, z)
    return Output(out.detach().numpy(), {"logits": g})


def _log_softmax(case: dict) -> Output:
    import torch
    import torch.nn.functional as F

    z = _tensor(case["logits"])
    jacobian = torch.func.vmap(torch.func.jacrev(lambda r: F.log_softmax(r, dim=-1))) if z.ndim > 1 else \
        torch.func.jacrev(lambda r: F.log_softmax(r, dim=-1))
    flat = z.reshape(-1, z.shape[-1]) if z.ndim > 1 else z
    jac = jacobian(flat).reshape(z.shape + z.shape[-1:])
    return Output(F.log_softmax(z, dim=-1).numpy(), {"logits": jac.numpy()})


def _softmax(case: dict) -> Output:
    import torch
    import torch.nn.functional as F

    z = _tensor(case["logits"])
    jacobian = torch.func.vmap(torch.func.jacrev(lambda r: F.softmax(r, dim=-1))) if z.ndim > 1 else \
        torch.func.jacrev(lambda r: F.softmax(r, dim=-1))
    flat = z.reshape(-1, z.shape[-1]) if z.ndim > 1 else z
    jac = jacobian(flat).reshape(z.shape + z.shape[-1:])
    return Output(F.softmax(z, dim=-1).numpy(), {"logits": jac.numpy()})


def _categorical_entropy(case: dict) -> Output:
    import torch

    z = _tensor(case["logits"], grad=True)
    per_row = torch.distributions.Categorical(logits=z).entropy()
    out = reduce_rows(per_row, case.get("reduction", "mean"))
    (g,) = _backward(out, z)
    return Output(out.detach().numpy(), {"logits": g})


def _categorical_kl(case: dict) -> Output:
    import torch

    a = _tensor(case["p_logits"], grad=True)
    b = _tensor(case["q_logits"], grad=True)
    Cat = torch.distributions.Categorical
    per_row = torch.distributions.kl_divergence(Cat(logits=a), Cat(logits=b))
    out = reduce_rows(per_row, case.get("reduction", "mean"))
    ga, gb = _backward(out, a, b)
    return Output(out.detach().numpy(), {"p_logits": ga, "q_logits": gb})


def _sigmoid_focal(ops):
    def call(case: dict) -> Output:
        x = _tensor(case["logits"], grad=True)
        alpha = case.get("alpha", 0.25)
        out = ops.sigmoid_focal_loss(x, _tensor(case["target"]), alpha=-1.0 if alpha is None else alpha,
                                     gamma=case.get("gamma", 2.0), reduction=case.get("reduction", "mean"))
        (g,) = _backward(out, x)
        return Output(out.detach().numpy(), {"logits": g})

    return call


def _torchvision_ops():
    """torchvision.ops, or the reason it cannot be imported next to this torch."""
    try:
        import torchvision.ops as ops
    except Exception as exc:  # noqa: BLE001 - a broken install raises RuntimeError, not ImportError
        return None, f"torchvision cannot be imported here ({type(exc).__name__}: {str(exc).splitlines()[0]})"
    return ops, ""


def _kd_loss(case: dict) -> Output:
    """Hinton's distillation loss as PyTorch code writes it: ``F.kl_div`` of the tempered log-softmaxes (the
    teacher's as a log-target) times T^2."""
    import torch.nn.functional as F

    s, t = _tensor(case["student_logits"], grad=True), _tensor(case["teacher_logits"], grad=True)
    temperature = float(case.get("temperature", 1.0))
    reduction = case.get("reduction", "batchmean")
    with warnings.catch_warnings():  # torch announces that "mean" will mean "batchmean": the one it has is judged
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides", category=UserWarning)
        out = F.kl_div(F.log_softmax(s / temperature, dim=-1), F.log_softmax(t / temperature, dim=-1),
                       log_target=True, reduction=reduction) * temperature**2
    if reduction == "none":  # torch's "none" is per class; refloss's is per row
        out = out.sum(dim=-1)
    gs, gt = _backward(out, s, t)
    return Output(out.detach().numpy(), {"student_logits": gs, "teacher_logits": gt})


def _kd_expressible(case: dict) -> dict | None:
    """Rows of two axes for "batchmean" (torch divides by size(0), refloss by the number of rows), and no masked
    class (``F.kl_div``'s 0 * -inf, judged as kl_div's convention on ``kl_divergence_logits``)."""
    s, t = (np.asarray(case[n], dtype=np.float64) for n in ("student_logits", "teacher_logits"))
    if case.get("reduction", "batchmean") == "batchmean" and s.ndim != 2:
        return None
    if not (np.isfinite(s).all() and np.isfinite(t).all()) or case.get("where") is not None or \
            case.get("axis", -1) not in (-1, s.ndim - 1):
        return None
    return case


def _soft_target_cross_entropy(case: dict) -> Output:
    import torch.nn.functional as F

    z = _tensor(case["logits"], grad=True)
    out = F.cross_entropy(_class_axis_second(z), _class_axis_second(_tensor(case["target"])),
                          reduction=case.get("reduction", "mean"))
    (g,) = _backward(out, z)
    return Output(out.detach().numpy(), {"logits": g})


def _loss_of_logits(reduction: str):
    """A function of one batch of logits (class axis last) whose value is the reduced cross-entropy at target 0 (the
    Hessian in the logits does not depend on a class-index target): the sum for ``"none"``, whose Hessian has the
    rows' blocks on its diagonal."""
    import torch.nn.functional as F

    def loss(z):
        rows = z.reshape(-1, z.shape[-1])
        target = rows.new_zeros(rows.shape[0], dtype=int)
        return F.cross_entropy(rows, target, reduction="sum" if reduction == "none" else reduction)

    return loss


def _row_blocks(full, shape: tuple) -> np.ndarray:
    """The diagonal blocks (one per row) of a Hessian (N C, N C) of logits of ``shape``."""
    c = shape[-1]
    n = int(np.prod(shape[:-1]))
    square = full.reshape(n, c, n, c)
    return np.stack([square[i, :, i, :] for i in range(n)]).reshape(shape + (c,))


def _hessian(case: dict) -> Output:
    import torch

    z = _tensor(case["logits"])
    full = torch.func.hessian(_loss_of_logits(case.get("loss_reduction", "mean")))(z).detach().numpy()
    return Output(_row_blocks(full.reshape(z.numel(), z.numel()), tuple(z.shape)))


def _hvp(case: dict) -> Output:
    import torch

    z, u = _tensor(case["logits"]), _tensor(case["vector"])
    _, product = torch.autograd.functional.hvp(_loss_of_logits(case.get("loss_reduction", "mean")), z, u)
    return Output(product.detach().numpy())


def _class_targets(case: dict) -> dict | None:
    return case if np.asarray(case["target"]).dtype.kind in "iu" else None


def _probability_targets(case: dict) -> dict | None:
    return case if np.asarray(case["target"]).dtype.kind == "f" else None


def _without_smoothing(case: dict) -> dict | None:
    case = _class_targets(case)
    return None if case is None else {**case, "label_smoothing": 0.0}


def _linear_head(case: dict) -> dict | None:
    """The cases ``F.linear_cross_entropy`` expresses: no z-loss and no soft cap (it has neither), hidden states
    ``(N, D)``, or ``(D,)`` with a classifier ``(V, D)`` (it takes no other batch axes, and a classifier per position
    only with a batch axis)."""
    if case.get("z_loss", 0.0) != 0.0 or case.get("softcap") is not None:
        return None
    e_ndim, c_ndim = np.ndim(case["e"]), np.ndim(case["c"])
    return case if e_ndim == 2 or (e_ndim == 1 and c_ndim == 2) else None


def _without_scale_factors(case: dict) -> dict | None:
    """torch.logsumexp has neither SciPy's b nor its sign."""
    return None if case.get("b") is not None or case.get("return_sign") else case


def _nats(case: dict) -> dict:
    return {**case, "base": None}


def functions() -> list[PeerFunction]:
    F = "torch.nn.functional."
    D = "torch.distributions."
    ops, why = _torchvision_ops()
    kl_conventions = (BATCHMEAN_NOT_2D, MASKED_ZERO_MASS_P)
    return [
        PeerFunction(FRAMEWORK, F + "cross_entropy (class targets)", "cross_entropy", _cross_entropy,
                     prepare=_class_targets),
        PeerFunction(FRAMEWORK, F + "cross_entropy (probability targets)", "cross_entropy", _cross_entropy,
                     prepare=_probability_targets, conventions=(MASKED_ZERO_MASS_TARGET,)),
        PeerFunction(FRAMEWORK, F + "nll_loss(log_softmax)", "cross_entropy", _nll_loss, prepare=_without_smoothing),
        PeerFunction(FRAMEWORK, F + "linear_cross_entropy", "linear_cross_entropy", _linear_cross_entropy,
                     prepare=_linear_head),
        PeerFunction(FRAMEWORK, F + "kl_div(log_target=True)", "kl_divergence_logits", _kl_div(True),
                     prepare=_nats, conventions=kl_conventions),
        PeerFunction(FRAMEWORK, F + "kl_div(log_target=False)", "kl_divergence_logits", _kl_div(False),
                     prepare=_nats, conventions=kl_conventions),
        PeerFunction(FRAMEWORK, F + "kl_div(reduction='none' terms)", "pointwise_kl_divergence", _pointwise_kl_div,
                     conventions=(ZERO_LOG_TARGET,), options=("sample_weight",)),
        PeerFunction(FRAMEWORK, F + "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits",
                     _bce_with_logits),
        PeerFunction(FRAMEWORK, "torch.logsumexp", "logsumexp", _logsumexp, prepare=_without_scale_factors,
                     options=("axis",)),
        PeerFunction(FRAMEWORK, F + "log_softmax", "log_softmax", _log_softmax,
                     conventions=(MASKED_OUTPUT_JACOBIAN,)),
        PeerFunction(FRAMEWORK, F + "softmax", "softmax", _softmax),
        PeerFunction(FRAMEWORK, D + "Categorical.entropy", "softmax_entropy", _categorical_entropy, prepare=_nats),
        PeerFunction(FRAMEWORK, D + "kl_divergence(Categorical)", "kl_divergence_logits", _categorical_kl,
                     prepare=_nats, conventions=(MASKED_ZERO_MASS_P,)),
        PeerFunction(FRAMEWORK, F + "kl_div(log_softmax(s/T), log_softmax(t/T)) * T^2", "kd_loss", _kd_loss,
                     prepare=_kd_expressible),
        PeerFunction(FRAMEWORK, F + "cross_entropy (real targets)", "soft_target_cross_entropy",
                     _soft_target_cross_entropy, conventions=(MASKED_ZERO_MASS_TARGET,)),
        PeerFunction(FRAMEWORK, "torch.func.hessian(" + F + "cross_entropy)", "cross_entropy_hessian", _hessian),
        PeerFunction(FRAMEWORK, "torch.autograd.functional.hvp(" + F + "cross_entropy)", "cross_entropy_hvp", _hvp),
        PeerFunction(FRAMEWORK, "torchvision.ops.sigmoid_focal_loss", "sigmoid_focal_loss",
                     _sigmoid_focal(ops) if ops is not None else None, unavailable=why),
    ]


__all__ = ["FRAMEWORK", "Convention", "functions", "version"]
