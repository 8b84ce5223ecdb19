"""``focal_loss``: the multiclass (softmax) focal loss; value, closed-form gradient, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ...numerics import log1mexp, power_of_exp, softmax_parts
from ._common import (
    _FOCAL,
    _MASKED_ROW_TARGETS,
    _REAL_TARGETS,
    _REDUCTION,
    _SOFT_TARGETS,
    _raise_if_masked,
    _softmax_minus_coefficients,
)


class _FocalInputs(NamedTuple):
    """Validated focal-loss arguments, before any (..., C) work: what every block of rows shares."""

    z: np.ndarray  # (..., C) logits
    target: np.ndarray  # (...) class indices, or (..., C) probability targets
    gamma: float
    alpha_y: np.ndarray  # (...) alpha gathered at the target, or (C,) per class with probability targets
    batch: tuple  # the shape of the "none" output


class _FocalTerms(NamedTuple):
    """The terms of a block of rows (N, C)."""

    z: np.ndarray  # (N, C) logits
    target: np.ndarray  # (N,) class indices
    shifted: np.ndarray  # (N, C) z - max: log p = shifted - log_total
    log_total: np.ndarray  # (N, 1)
    logp_y: np.ndarray  # (N,)
    q: np.ndarray  # (N,) 1 - p_y, as -expm1(log p_y)
    q_pow: np.ndarray  # (N,) (1 - p_y)^gamma, as exp(gamma log1mexp(log p_y))
    gamma: float
    alpha_y: np.ndarray  # (N,) alpha gathered at the target


def _focal_inputs(logits, target, gamma, alpha, reduction) -> _FocalInputs:
    z = v.logits(logits)
    check_reduction(reduction)
    gamma = v.scalar(gamma, v.NONNEGATIVE, "gamma")
    n_classes = z.shape[-1]
    if alpha is None:
        alphas = np.ones(n_classes)
    else:
        a = v.as_array(alpha, "alpha")
        alphas = (np.full(n_classes, v.scalar(alpha, v.NONNEGATIVE, "alpha")) if a.ndim == 0 else
                  v.nonnegative_weights(a, "alpha", length=n_classes))
    target_arr = v.as_array(target, "target")
    if target_arr.shape == z.shape:  # probability targets (dispatched on the shape, as cross_entropy)
        if target_arr.dtype.kind != "f":
            raise v.RefLossError(f"target has the shape of logits, so it holds probabilities and must be floating "
                                 f"point, got dtype {target_arr.dtype}")
        return _FocalInputs(z, v.real_targets(target_arr, z.shape, "target"), gamma, alphas, z.shape[:-1])
    y = v.class_targets(target_arr, z.shape, None, "target")
    return _FocalInputs(z, y, gamma, alphas[y], y.shape)


def _focal_terms(z, y, alpha_y, gamma: float) -> _FocalTerms:
    """The terms of validated rows ``z`` (N, C), their targets and alphas (N,) (all rows, or a block)."""
    shifted, _, log_total, _ = softmax_parts(z)
    logp_y = np.take_along_axis(shifted, y[..., None], axis=-1)[..., 0] - log_total[..., 0]
    q = -np.expm1(logp_y)  # 1 - p_y without cancellation as p_y -> 1
    q_pow = power_of_exp(gamma, log1mexp(logp_y))  # (1 - p_y)^gamma keeps its digits for a huge gamma
    return _FocalTerms(z, y, shifted, log_total, logp_y, q, q_pow, gamma, alpha_y)


@register(
    name="focal_loss",
    family="classification",
    wrt=("logits",),
    params=(
        Param("logits", v.LOGITS),
        Param("target", v.ArrayArg("int class indices of shape logits.shape[:-1], or real targets of logits' "
                                   "shape (probabilities; any real t, as cross_entropy)", "class_targets",
                                   class_axis=True)),
        Param("gamma", v.NONNEGATIVE, "focusing parameter; gamma = 0 is cross-entropy"),
        Param("alpha", v.ArrayArg("None, a non-negative scalar, or non-negative per-class weights (C,)"),
              optional=True),
        _REDUCTION,
    ),
    paper=_FOCAL,
    strategy=lambda extreme: _focal_cases(extreme),
    stress=lambda: {**cases.softmax_stress(gamma=(0.0, 0.5, 2.0)),
                    "alpha_per_class": {**cases.softmax_stress()["gaps__target_second"], "gamma": 1.5,
                                        "alpha": np.array([0.25, 0.5, 2.0])},
                    "alpha_scalar": {**cases.softmax_stress()["gaps__target_dominant"], "gamma": 2.0, "alpha": 0.25},
                    **_probability_stress()},
    shift_invariant=("logits",),
    sample_weight=True,
)
def focal_loss(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0, alpha: ArrayLike | float | None = None,
               reduction: str = "mean"):
    r"""Multiclass (softmax) focal loss: :math:`\ell = -\alpha_y (1 - p_y)^{\gamma} \log p_y`.

    The softmax form of Lin et al.'s :math:`\mathrm{FL}(p_t) = -\alpha_t (1-p_t)^\gamma \log p_t` with
    :math:`p_t = p_y`. Convention: ``alpha`` is a per-class weight vector gathered at the target
    (:math:`\alpha_t = \alpha_y`); a scalar ``alpha`` multiplies every class alike (it only rescales the
    loss), and ``None`` means 1. ``"mean"`` divides by the number of elements (not by the alphas).
    :math:`1 - p_y` is computed as ``-expm1(log p_y)``, so the loss keeps relative accuracy when
    :math:`p_y \to 1`. Gradient: :func:`focal_loss_grad`.

    **Probability targets** :math:`t` (a float array of the logits' shape): :math:`\ell = -\sum_c t_c \alpha_c
    (1 - p_c)^\gamma \log p_c`, each class's class-target loss weighted by its target, as cross-entropy weights
    :math:`-\log p_c` (refloss's generalisation, not the paper's: Lin et al. state the class-target loss). ``alpha``
    is then per class; :math:`t` may be any real array, as for :func:`cross_entropy`; a class with :math:`t_c = 0`
    contributes 0 even where it is masked.

    Args:
        logits: float array ``(..., C)``.
        target: integer class indices ``(...)`` (no ``ignore_index``), or real targets ``(..., C)``.
        gamma: :math:`\gamma \ge 0`; ``gamma=0`` with ``alpha=None`` is :func:`cross_entropy`.
        alpha: ``None``, a scalar, or an array ``(C,)``, all non-negative.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> round(focal_loss([[0.0, 0.0]], [0], gamma=2.0), 15)  # (1/2)^2 * log 2
    0.173286795139986

    Reference: Lin, Goyal, Girshick, He, Dollar (2017), Eq. 5.
    """
    inputs = _focal_inputs(logits, target, gamma, alpha, reduction)
    (losses,) = _passes(inputs, _losses)
    return _reduced(inputs, losses, reduction)


@gradient_of("focal_loss")
def focal_loss_grad(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0, alpha: ArrayLike | float | None = None,
                    reduction: str = "mean"):
    r"""Gradient of :func:`focal_loss` with respect to ``logits`` (closed form below).

    Evaluated as :math:`\alpha_y q^\gamma (1 - \gamma p_y \cdot (\log p_y / q)) (p - e_y)` with
    :math:`q = -\mathrm{expm1}(\log p_y)` and the target component :math:`p_y - 1 = \mathrm{expm1}(\log p_y)`:
    :math:`\log p_y / q \to -1` as :math:`q \to 0`, so no negative power of :math:`q` is formed (for
    :math:`\gamma < 1`, :math:`q^{\gamma - 1}` alone would overflow), and no component cancels.

    >>> focal_loss_grad([[0.0, 0.0]], [0], gamma=0.0)  # gamma = 0 is cross-entropy: p - e_y
    array([[-0.5,  0.5]])
    """
    inputs = _focal_inputs(logits, target, gamma, alpha, reduction)
    (grad,) = _passes(inputs, _gradient_with(reduce_scale(inputs.batch, reduction)))
    return grad.reshape(inputs.z.shape)


@value_and_grad_of("focal_loss")
def _focal_loss_value_and_grad(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0,
                               alpha: ArrayLike | float | None = None, reduction: str = "mean"):
    """:func:`focal_loss` and :func:`focal_loss_grad` from one log-softmax per block of rows."""
    inputs = _focal_inputs(logits, target, gamma, alpha, reduction)
    losses, grad = _passes(inputs, _losses, _gradient_with(reduce_scale(inputs.batch, reduction)))
    return _reduced(inputs, losses, reduction), grad.reshape(inputs.z.shape)


def _passes(inputs: _FocalInputs, *outputs):
    z = as_rows(inputs.z)
    if inputs.target.shape == inputs.z.shape:
        return outputs_by_rows(lambda z, t: _focal_class_terms(z, t, inputs.alpha_y, inputs.gamma), outputs,
                               z, inputs.target.reshape(z.shape))
    return outputs_by_rows(lambda z, y, alpha_y: _focal_terms(z, y, alpha_y, inputs.gamma), outputs,
                           z, inputs.target.reshape(-1), inputs.alpha_y.reshape(-1))


def _focal_class_terms(z, t, alphas, gamma: float) -> _FocalTerms:
    """With probability targets: the terms of every class of a block (N, C), as :func:`_focal_terms` has them at the
    target; ``target`` holds t and ``alpha_y`` the per-class alphas (C,)."""
    shifted, _, log_total, _ = softmax_parts(z)
    logp = shifted - log_total
    with np.errstate(invalid="ignore"):  # masked classes: log p = -inf, (1 - p)^gamma = 1
        q_pow = power_of_exp(gamma, log1mexp(logp))
    return _FocalTerms(z, t, shifted, log_total, logp, -np.expm1(logp), q_pow, gamma, np.broadcast_to(alphas, z.shape))


def _losses(t: _FocalTerms) -> np.ndarray:
    if t.target.shape == t.z.shape:  # sum_c t_c alpha_c (1 - p_c)^gamma (-log p_c), 0 where t_c alpha_c = 0
        weight = t.target * t.alpha_y
        per_class = np.zeros(t.z.shape)
        np.multiply(-weight * t.q_pow, t.logp_y, out=per_class, where=weight != 0)
        return per_class.sum(axis=-1)
    return np.where(t.alpha_y > 0, -t.alpha_y * t.q_pow * t.logp_y, 0.0)


def _reduced(inputs: _FocalInputs, losses: np.ndarray, reduction: str):
    return reduce(losses.reshape(inputs.batch), reduction)


def _factor(t: _FocalTerms) -> np.ndarray:
    """q^gamma (1 - gamma p log(p) / q) at log p = ``t.logp_y``: p log(p) / q -> -p as q -> 0, and 0 where p = 0 (a
    masked class, or a logit 1.8e308 below the maximum)."""
    p = np.exp(t.logp_y)
    safe_q = np.where(t.q > 0, t.q, 1.0)
    p_log_ratio = np.where(p > 0, p * np.where(t.q > 0, np.where(p > 0, t.logp_y, 0.0) / safe_q, -1.0), 0.0)
    return t.q_pow * (1.0 + t.gamma * -p_log_ratio)


def _gradient_with(scale: float):
    """The gradient of a block's terms, times the reduction's ``scale`` (before the (N, C) product, as one
    factor per row)."""

    def gradient(t: _FocalTerms) -> np.ndarray:
        if t.target.shape == t.z.shape:  # p_j sum_c a_c - a_j, a_c = t_c alpha_c F(p_c)
            weight = t.target * t.alpha_y
            _raise_if_masked(np.isneginf(t.z), weight, "focal_loss")
            return scale * _softmax_minus_coefficients(t.logp_y, np.where(weight != 0, weight * _factor(t), 0.0))
        masked_target = np.isneginf(np.take_along_axis(t.z, t.target[..., None], axis=-1)[..., 0])
        _raise_if_masked(masked_target, t.alpha_y, "focal_loss")
        factor = t.alpha_y * _factor(t)
        p_minus_e = np.exp(t.shifted - t.log_total)
        np.put_along_axis(p_minus_e, t.target[..., None], np.expm1(t.logp_y)[..., None], -1)
        return scale * factor[..., None] * p_minus_e

    return gradient


def _focal_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, mask = cases.draw_logits(draw, extreme)
        alpha = draw(st.none() | st.floats(0.0, 2.0)
                     | hnp.arrays(np.float64, z.shape[-1:], elements=st.floats(0.0, 2.0)))
        target = (cases.draw_probabilities(draw, mask) if draw(st.booleans()) else cases.draw_class_targets(draw, mask))
        return {"logits": z, "target": target, "alpha": alpha,
                "gamma": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0.0, 5.0)),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()


def _probability_stress():
    gaps = cases.GAP_ROWS
    return {
        **{f"probabilities__gamma_{g:g}": {"logits": gaps[[0, 3, 5, 6]], "target": _SOFT_TARGETS, "gamma": g,
                                           "reduction": "none"} for g in (0.5, 2.0)},
        "probabilities_unnormalised__alpha_per_class": {"logits": gaps[[1, 2, 4, 6]], "target": _REAL_TARGETS,
                                                        "gamma": 2.0, "alpha": np.array([0.25, 1.0, 2.0]),
                                                        "reduction": "none"},
        "probabilities_zero_on_masked__mean": {"logits": cases.MASKED_ROWS, "target": _MASKED_ROW_TARGETS,
                                               "gamma": 1.5, "alpha": 0.5, "reduction": "mean"},
    }
