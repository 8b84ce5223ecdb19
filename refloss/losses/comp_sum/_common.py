"""The comp-sum family's shared parts: the target's log-probability terms, the family's value and gradient in
tau, their passes over blocks of rows, the papers.

Every member is a function of the row's log p_y, so its rows are independent: the inputs are validated once on
the whole arrays (:func:`_comp_sum_inputs`), then the log-softmax and what follows from it are computed a bounded
block of rows at a time (:mod:`refloss._blocks`), by the same operations as on the whole array, so the numbers do
not depend on the blocks. The value, the gradient and the fused pass of each member go through one helper
(:func:`_passes`), so that the fused pass returns exactly the numbers of the two separate functions.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import scipy.special

from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Paper, Param
from ...numerics import _log_softmax

_COMP_SUM = Paper("Cross-Entropy Loss Functions: Theoretical Analysis and Applications", arxiv="2304.07288",
                  seed="000_4ce7742a3c1ac78a.txt", where="A. Mao, M. Mohri, Y. Zhong, ICML 2023, Sec. 2 (comp-sum "
                  "losses); parametrisation by tau reconstructed, not quoted")


_GCE = Paper("Generalized Cross Entropy Loss for Training Deep Neural Networks with Noisy Labels", arxiv="1805.07836",
             where="Z. Zhang, M. R. Sabuncu, NeurIPS 2018, Eq. 6 (L_q); a comp-sum loss with tau = 1 + q")


_OVERFLOW = "tau < 1: the loss grows like p_y^(tau-1) and passes the float64 range when p_y is tiny"


_TARGET = Param("target", v.CLASS_TARGETS)


_REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' over elements | 'sum' | 'none'")


_LOGITS = Param("logits", v.LOGITS)


class _Inputs(NamedTuple):
    z: np.ndarray  # (..., C) validated logits
    target: np.ndarray  # (...) class indices
    reduction: str


class _TargetTerms(NamedTuple):
    logp: np.ndarray  # (rows, C) log-softmax of a block of rows
    target: np.ndarray  # (rows,) class indices
    logp_y: np.ndarray  # (rows,) log p_y
    masked: np.ndarray  # (rows, C) logits that are -inf


def _comp_sum_inputs(logits, target, reduction) -> _Inputs:
    """The logits, targets and reduction, validated once per call on the whole arrays (not per block), in this
    order, so every member names the same first bad argument; the member then validates its own parameter."""
    z = v.logits(logits)
    check_reduction(reduction)
    return _Inputs(z, v.class_targets(target, z.shape, None, "target"), reduction)


def _target_terms(z: np.ndarray, y: np.ndarray) -> _TargetTerms:
    """The terms of a block of rows ``z`` (N, C) and their targets ``y`` (N,): row by row the numbers of the whole
    array, since the log-softmax of a row depends on that row only."""
    logp = _log_softmax(z)
    return _TargetTerms(logp, y, np.take_along_axis(logp, y[..., None], axis=-1)[..., 0], np.isneginf(z))


def _comp_sum_values(logp_y, tau_minus_one: float) -> np.ndarray:
    """(p_y^(tau-1) - 1)/(1 - tau) = -s exprel((tau-1) s), s = log p_y: exact through tau = 1 and p_y -> 1.

    Takes tau - 1 itself, so that a member given by q = tau - 1 (the generalized cross-entropy) is not
    rounded through 1 + q. A masked target (p_y = 0) gives +inf for tau <= 1 and 1/(tau - 1) above.
    """
    s = logp_y
    masked = np.isneginf(s)
    with np.errstate(over="ignore"):  # tau < 1 and p_y below ~1e-308^(1/(1-tau)): the loss exceeds float64
        values = -s * scipy.special.exprel(tau_minus_one * np.where(masked, 0.0, s))
    return np.where(masked, np.inf if tau_minus_one <= 0.0 else 1.0 / tau_minus_one, values)


def _comp_sum_gradient(terms: _TargetTerms, tau_minus_one: float) -> np.ndarray:
    """p_y^(tau-1) (p - e_y) of a block of rows, before the reduction's scale: others exp((tau-1)s + log p_j), the
    target p_y^(tau-1) expm1(s).

    Where p_y = 0 in float64 (log p_y = -inf): a masked target has no gradient for tau <= 1 (the loss is
    +inf; :func:`_raise_if_undefined` refuses it before any block); a finite target logit 1.8e308 below the
    maximum has the limit of the closed form: p - e_y at tau = 1, 0 for tau > 1, and components beyond the float64
    range (+-inf) for tau < 1.
    """
    far = np.isneginf(terms.logp_y)[..., None]
    s = np.where(far, 0.0, terms.logp_y[..., None])
    with np.errstate(over="ignore"):
        grad = np.exp(tau_minus_one * s + terms.logp)
        target_grad = np.exp(tau_minus_one * s) * np.expm1(s)
    np.put_along_axis(grad, terms.target[..., None], target_grad, axis=-1)
    if far.any():
        p_minus_e = np.exp(terms.logp)  # p_y = 0 here, so p - e_y is p with -1 at the target
        np.put_along_axis(p_minus_e, terms.target[..., None], -1.0, axis=-1)
        # tau < 1: p_j p_y^(tau-1) = e^{log p_j + (tau - 1) log p_y} with log p_y below -1.8e308: +inf for
        # every class not masked, -inf for the target
        beyond = np.where(terms.masked, 0.0, np.inf)
        np.put_along_axis(beyond, terms.target[..., None], -np.inf, axis=-1)
        limit = p_minus_e if tau_minus_one == 0.0 else np.zeros_like(grad) if tau_minus_one > 0.0 else beyond
        grad = np.where(far, limit, grad)
    return grad


def _raise_if_undefined(inputs: _Inputs, tau_minus_one: float) -> None:
    """A masked target (logit -inf) makes the loss +inf for tau <= 1: no gradient. Decided on the whole input's
    mask at the targets (N numbers) before any block, so neither the gradient nor the fused pass computes blocks
    it then throws away."""
    if tau_minus_one <= 0.0 and np.isneginf(np.take_along_axis(inputs.z, inputs.target[..., None], axis=-1)).any():
        raise v.RefLossError("the loss is +inf (the target class has logit -inf), so its gradient is undefined")


def _passes(inputs: _Inputs, *outputs: Callable[[_TargetTerms], np.ndarray]) -> tuple:
    """``outputs`` of the terms of each block of rows, stacked over the rows: (N,) per value, (N, C) per gradient.

    The one way a member's value, gradient and fused pass reach the terms, so the three agree bit for bit."""
    z = as_rows(inputs.z)
    return outputs_by_rows(_target_terms, outputs, z, inputs.target.reshape(-1))


def _comp_sum_value(inputs: _Inputs, tau_minus_one: float):
    """The reduced loss of the member tau = 1 + ``tau_minus_one``: its (N,) losses by blocks of rows, reduced once
    on the batch shape (``"none"`` returns that shape)."""
    (losses,) = _passes(inputs, lambda terms: _comp_sum_values(terms.logp_y, tau_minus_one))
    return _reduced(inputs, losses)


def _comp_sum_grad(inputs: _Inputs, tau_minus_one: float) -> np.ndarray:
    """The gradient of :func:`_comp_sum_value` by blocks of rows, scaled once for the reduction."""
    _raise_if_undefined(inputs, tau_minus_one)
    (grad,) = _passes(inputs, lambda terms: _comp_sum_gradient(terms, tau_minus_one))
    return _scaled(inputs, grad)


def _comp_sum_value_and_grad(inputs: _Inputs, tau_minus_one: float) -> tuple:
    """:func:`_comp_sum_value` and :func:`_comp_sum_grad` from one log-softmax per block of rows; a masked target
    with tau <= 1 raises as the gradient does."""
    _raise_if_undefined(inputs, tau_minus_one)
    losses, grad = _passes(inputs, lambda terms: _comp_sum_values(terms.logp_y, tau_minus_one),
                           lambda terms: _comp_sum_gradient(terms, tau_minus_one))
    return _reduced(inputs, losses), _scaled(inputs, grad)


def _reduced(inputs: _Inputs, losses: np.ndarray):
    return reduce(losses.reshape(inputs.z.shape[:-1]), inputs.reduction)


def _scaled(inputs: _Inputs, grad: np.ndarray) -> np.ndarray:
    grad *= reduce_scale(inputs.z.shape[:-1], inputs.reduction)
    return grad.reshape(inputs.z.shape)
