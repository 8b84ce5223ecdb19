"""``pointwise_kl_divergence``: PyTorch's elementwise ``kl_div`` terms of unnormalised log-inputs; value, closed-form
gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import element_rows, outputs_by_rows, reduce_by_rows
from ..._reduce import check_reduction, reduce_scale
from ..._registry import Paper, Param, gradient_of, register, value_and_grad_of

_PYTORCH_KL_DIV = Paper(
    "On Information and Sufficiency", where="S. Kullback, R. A. Leibler, 1951; the elementwise terms and reductions "
    "of torch.nn.functional.kl_div (PyTorch docs: reduction='none' returns target * (log target - input))")

_LOG_TARGET = v.Choice((False, True))


@register(
    name="pointwise_kl_divergence",
    family="entropy",
    wrt=("log_q",),
    params=(
        Param("log_q", v.ArrayArg("real log-inputs of any shape (log q, not necessarily normalised)")),
        Param("target", v.ArrayArg("p >= 0 of log_q's shape (broadcastable), or log p (-inf allowed) with "
                                   "log_target=True")),
        Param("log_target", _LOG_TARGET, "the target holds log p (PyTorch's log_target)"),
        Param("reduction", v.REDUCTIONS, "'mean' over elements | 'sum' | 'none'"),
    ),
    paper=_PYTORCH_KL_DIV,
    strategy=lambda extreme: _pointwise_cases(extreme),
    stress=lambda: _pointwise_stress(),
    sample_weight=True,
)
def pointwise_kl_divergence(log_q: ArrayLike, target: ArrayLike, *, log_target: bool = False,
                            reduction: str = "mean"):
    r"""The elementwise Kullback-Leibler terms of ``F.kl_div``: :math:`\ell_i = p_i (\log p_i - x_i)`.

    ``log_q`` holds :math:`x_i`, read as :math:`\log q_i` but neither normalised nor a log-softmax (PyTorch's
    ``input``); ``target`` holds :math:`p_i \ge 0`, or :math:`t_i = \log p_i` with ``log_target=True``, when the
    term is :math:`e^{t_i} (t_i - x_i)`. A term with :math:`p_i = 0` is 0 (:math:`0 \log 0 = 0`), whatever
    :math:`x_i`. Summed over a row of normalised distributions the terms give :math:`\mathrm{KL}(p \,\|\, q)`
    (:func:`kl_divergence_logits` takes logits instead); alone they may be negative, and no row is assumed.
    ``"mean"`` divides by the number of elements, as PyTorch's ``"mean"``; its ``"batchmean"`` (the sum over
    ``input.size(0)``) is ``"sum"`` divided by that number. Gradient: :func:`pointwise_kl_divergence_grad`
    (with respect to ``log_q``; in the target, the term's derivative :math:`\log p_i - x_i + 1` is infinite at
    :math:`p_i = 0`, and refloss does not return it).

    Args:
        log_q: real array (PyTorch's ``input``).
        target: :math:`p \ge 0`, or :math:`\log p` with ``log_target=True``, broadcastable to ``log_q``'s shape.
        log_target: whether ``target`` holds :math:`\log p`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Raises:
        RefLossError: NaN or an infinity in ``log_q``; a negative, NaN or infinite ``p`` (or NaN or ``+inf`` in
            :math:`\log p`); a ``target`` that does not broadcast; an empty ``log_q`` is an empty batch.

    >>> pointwise_kl_divergence([np.log(0.25), 0.0], [0.5, 0.0], reduction="none")  # 0.5 log 2, and 0 log 0
    array([0.34657359, 0.        ])
    >>> float(pointwise_kl_divergence([np.log(0.25)], [np.log(0.5)], log_target=True, reduction="sum"))
    0.34657359027997264

    Reference: PyTorch ``torch.nn.functional.kl_div`` (its pointwise terms and reductions); Kullback & Leibler
    (1951).
    """
    x, t, log_target = _inputs(log_q, target, log_target, reduction)
    (value,) = reduce_by_rows(_parts(log_target), _terms, *element_rows(x, t), reduction=reduction)
    return value.reshape(x.shape) if reduction == "none" else value


@gradient_of("pointwise_kl_divergence")
def pointwise_kl_divergence_grad(log_q: ArrayLike, target: ArrayLike, *, log_target: bool = False,
                                 reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`pointwise_kl_divergence` with respect to ``log_q``: :math:`-p_i`, times the reduction's
    factor (:math:`1/n` for ``"mean"``).

    >>> pointwise_kl_divergence_grad([0.0, 1.0], [0.25, 0.0], reduction="sum")
    array([-0.25, -0. ])
    """
    x, t, log_target = _inputs(log_q, target, log_target, reduction)
    gradient = _gradient_with(reduce_scale(x.shape, reduction))
    (grad,) = outputs_by_rows(_parts(log_target), (gradient,), *element_rows(x, t))
    return grad.reshape(x.shape)


@value_and_grad_of("pointwise_kl_divergence")
def _pointwise_kl_divergence_value_and_grad(log_q: ArrayLike, target: ArrayLike, *, log_target: bool = False,
                                            reduction: str = "mean"):
    """:func:`pointwise_kl_divergence` and its gradient from one validation."""
    x, t, log_target = _inputs(log_q, target, log_target, reduction)
    value, grad = reduce_by_rows(_parts(log_target), _terms, *element_rows(x, t), reduction=reduction,
                                 also=(_gradient_with(reduce_scale(x.shape, reduction)),))
    return (value.reshape(x.shape) if reduction == "none" else value), grad.reshape(x.shape)


def _inputs(log_q, target, log_target, reduction):
    """(x, the target broadcast to x's shape, log_target) of the validated arguments."""
    x = v.real_array(log_q, "log_q")
    check_reduction(reduction)
    log_target = v.choice(log_target, _LOG_TARGET, "log_target")
    t = v.real_array(target, "target", allow_neg_inf=log_target)
    try:
        t = np.broadcast_to(t, x.shape)
    except ValueError:
        raise v.RefLossError(f"target of shape {t.shape} does not broadcast to log_q's shape {x.shape}") from None
    if not log_target and t.size and t.min() < 0:
        raise v.RefLossError("target holds p, which must be >= 0 (its log is not real); pass log p with "
                             "log_target=True")
    return x, t, log_target


def _parts(log_target: bool):
    """A block's (x, p, log p): p = e^t with log_target, else log p = log t (-inf at p = 0, whose term is 0)."""
    def parts(x, t):
        if log_target:
            return x, np.exp(t), t
        with np.errstate(divide="ignore"):
            return x, t, np.log(t)

    return parts


def _terms(parts):
    """p (log p - x), 0 where p = 0."""
    x, p, log_p = parts
    out = np.zeros(x.shape)
    with np.errstate(invalid="ignore"):
        np.multiply(p, log_p - x, out=out, where=p > 0)
    return out


def _gradient_with(scale: float):
    def gradient(parts):
        return -scale * parts[1]

    return gradient


def _pointwise_stress():
    x = np.array([-80.0, -40.0, -1.0, -1e-9, 0.0, 1e-9, 2.0, 40.0])
    p = np.array([1e-30, 0.5, np.exp(-1.0), 1.0, 0.0, 0.25, 7.5, 0.0])
    return {
        "probabilities__none": {"log_q": x, "target": p, "reduction": "none"},
        # log p - x cancels: p = e^x exactly where representable
        "target_equal_to_exp_input__none": {"log_q": np.log(p[p > 0]), "target": p[p > 0], "reduction": "none"},
        "log_target__sum": {"log_q": x.reshape(2, 4), "target": np.array([[-np.inf, -40.0, -1.0, 0.0],
                                                                          [3.0, -1e-9, 1.0, -700.0]]),
                            "log_target": True, "reduction": "sum"},
        "broadcast_target__mean": {"log_q": x.reshape(2, 4), "target": np.array([0.1, 0.0, 0.6, 0.3]),
                                   "reduction": "mean"},
        "defaults": {"log_q": x[:4], "target": np.array([0.25, 0.25, 0.5, 0.0])},
    }


def _pointwise_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=cases.LIMITS["max_side"]))
        x = draw(hnp.arrays(np.float64, shape, elements=cases.floats(cases.EXTREME if extreme else cases.MODERATE)))
        log_target = draw(st.booleans())
        elements = cases.floats(30.0) if log_target else st.sampled_from([0.0, 1.0]) | st.floats(0.0, 5.0)
        return {"log_q": x, "target": draw(hnp.arrays(np.float64, shape, elements=elements)),
                "log_target": log_target, "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()
