"""The family's shared parts: the papers, the argument checks and the row blocks of the Hessian."""

from __future__ import annotations

import numpy as np

from ... import _validate as v
from ..._reduce import reduce_scale
from ..._registry import Paper, Param
from ...numerics import softmax_parts

BISHOP = Paper("Pattern Recognition and Machine Learning",
               where="C. M. Bishop, Springer 2006, Sec. 4.3.4 (the Hessian of multiclass logistic regression, "
                     "I_kj - y_j; equation number from memory, not checked)")

PEARLMUTTER = Paper("Fast Exact Multiplication by the Hessian",
                    where="B. A. Pearlmutter, Neural Computation 6(1), 147-160, 1994 (the Hessian-vector product "
                          "without forming the Hessian)")

SCHRAUDOLPH = Paper("Fast Curvature Matrix-Vector Products for Second-Order Gradient Descent",
                    where="N. N. Schraudolph, Neural Computation 14(7), 1723-1738, 2002 (the Gauss-Newton product "
                          "J^T H J v)")

LOGITS = v.ArrayArg("float logits (..., C), class axis last; -inf masks a class", "logits")
REDUCTION = Param("loss_reduction", v.REDUCTIONS, "the reduction of the loss whose curvature it is: 'mean' over "
                                                  "rows | 'sum' | 'none'")


def logits_and_scale(logits, loss_reduction: str) -> tuple[np.ndarray, float]:
    z = v.logits(logits)
    v.choice(loss_reduction, v.REDUCTIONS, "loss_reduction")
    return z, reduce_scale(z.shape[:-1], loss_reduction)


def probabilities(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p and 1 - p of validated logits, 1 - p from the log-softmax (-expm1(log p): no cancellation near p = 1)."""
    shifted, exp_shifted, log_total, total = softmax_parts(z)
    p = exp_shifted / total
    with np.errstate(invalid="ignore"):
        return p, -np.expm1(shifted - log_total)


def hessian_product(z: np.ndarray, u: np.ndarray) -> np.ndarray:
    r"""Per row :math:`(\mathrm{diag}(p) - p p^\top) u = p \odot (u - \langle p, u\rangle)` without the Hessian.

    :math:`u_j - \langle p, u\rangle` is a difference of nearly equal numbers at a class with :math:`p_j` near 1
    (a confident row); there it is :math:`\sum_{k \ne j} p_k (u_j - u_k)`, whose terms carry only the rounding of
    :math:`u_j - u_k` (at most one class per row has :math:`p_j > 1/2`). Masked classes give 0.
    """
    p, _ = probabilities(z)
    live = p > 0
    uu = np.where(live, u, 0.0)
    mean = (p * uu).sum(axis=-1, keepdims=True)
    centred = uu - mean
    top = p.argmax(axis=-1)[..., None]
    dominant = np.take_along_axis(p, top, -1) > 0.5
    u_top = np.take_along_axis(uu, top, -1)
    others = p.copy()
    np.put_along_axis(others, top, 0.0, -1)
    exact_top = (others * (u_top - uu)).sum(axis=-1, keepdims=True)
    np.put_along_axis(centred, top, np.where(dominant, exact_top, np.take_along_axis(centred, top, -1)), -1)
    return np.where(live, p * centred, 0.0)


def hessian_blocks(z: np.ndarray) -> np.ndarray:
    r"""Per row the matrix :math:`\mathrm{diag}(p) - p p^\top` ``(..., C, C)``, its diagonal :math:`p_j (1 - p_j)`
    with :math:`1 - p_j` from the log-softmax."""
    p, one_minus = probabilities(z)
    h = -p[..., :, None] * p[..., None, :]
    diagonal = np.where(p > 0, p * one_minus, 0.0)
    idx = np.arange(z.shape[-1])
    h[..., idx, idx] = diagonal
    return h
