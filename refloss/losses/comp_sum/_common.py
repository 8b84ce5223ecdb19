"""The comp-sum family's shared parts: the target's log-probability terms, the family's value and gradient in
tau, the papers."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.special

from ... import _validate as v
from ..._reduce import check_reduction, reduce_scale
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


class _TargetTerms(NamedTuple):
    logp: np.ndarray  # (..., C) log-softmax
    target: np.ndarray  # (...) class indices
    logp_y: np.ndarray  # (...) log p_y
    masked: np.ndarray  # (..., C) logits that are -inf


def _target_terms(logits, target, reduction) -> _TargetTerms:
    z = v.logits(logits)
    check_reduction(reduction)
    y = v.class_targets(target, z.shape, None, "target")
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


def _comp_sum_gradient(terms: _TargetTerms, tau_minus_one: float, reduction) -> np.ndarray:
    """p_y^(tau-1) (p - e_y): others exp((tau-1)s + log p_j), the target p_y^(tau-1) expm1(s).

    Where p_y = 0 in float64 (log p_y = -inf): a masked target has no gradient for tau <= 1 (the loss is
    +inf); a finite target logit 1.8e308 below the maximum has the limit of the closed form: p - e_y at
    tau = 1, 0 for tau > 1, and components beyond the float64 range (+-inf) for tau < 1.
    """
    masked_target = np.take_along_axis(terms.masked, terms.target[..., None], axis=-1)
    if masked_target.any() and tau_minus_one <= 0.0:
        raise v.RefLossError("the loss is +inf (the target class has logit -inf), so its gradient is undefined")
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
    return reduce_scale(terms.target.shape, reduction) * grad
