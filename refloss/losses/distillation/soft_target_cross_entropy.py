"""``soft_target_cross_entropy``: -sum_c a_c log softmax(z)_c for any real targets a (self-distillation's targets
that leave the simplex); value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ...numerics import softmax
from ..classification._common import (
    _MASKED_ROW_TARGETS,
    _REAL_TARGETS,
    _SOFT_TARGETS,
    _ce_terms,
    _CEInputs,
    _logit_gradient,
    _losses,
    _masked_coefficients,
    _raise_if_masked,
)
from ._common import _SELF_DISTILLATION, REDUCTION, empty_batch, mean_rows

NAME = "soft_target_cross_entropy"


def _inputs(logits, target, reduction) -> _CEInputs:
    """Validated logits and targets, as cross-entropy's probability-target inputs (no weights, no smoothing)."""
    z = v.logits(logits)
    check_reduction(reduction)
    t = v.as_array(target, "target")
    if t.shape != z.shape:
        raise v.RefLossError(f"target must be a real array of the logits' shape {z.shape} (soft targets; class "
                             f"indices are cross_entropy's), got shape {t.shape}")
    t = v.real_targets(t, z.shape, "target")
    masked = np.isneginf(z)
    if ((masked & (t > 0)).any(axis=-1) & (masked & (t < 0)).any(axis=-1)).any():
        raise v.RefLossError(f"{NAME} is undefined: a row has a positive and a negative target on classes whose "
                             "logits are -inf (-a log 0 is +inf for one and -inf for the other)")
    return _CEInputs(z, t, True, np.ones(z.shape[-1]), False, 0.0, -100, float(np.prod(z.shape[:-1])))


def _passes(inputs: _CEInputs, *outputs):
    z = as_rows(inputs.z)
    return outputs_by_rows(lambda zz, tt: _ce_terms(inputs, zz, tt), outputs, z, inputs.target.reshape(z.shape))


def _checked_gradient(terms):
    _raise_if_masked(*_masked_coefficients(terms), NAME)
    return _logit_gradient(terms)


def _reduced(inputs: _CEInputs, losses: np.ndarray, reduction: str):
    return reduce(losses.reshape(inputs.z.shape[:-1]), reduction)


def _scaled(inputs: _CEInputs, grad: np.ndarray, reduction: str) -> np.ndarray:
    grad *= reduce_scale(inputs.z.shape[:-1], reduction)
    return grad.reshape(inputs.z.shape)


@register(
    name=NAME,
    family="distillation",
    wrt=("logits",),
    params=(
        Param("logits", v.LOGITS),
        Param("target", v.ArrayArg("real targets of the logits' shape: any real numbers (rows need not sum to 1, "
                                   "entries may be negative)", class_axis=True)),
        REDUCTION,
    ),
    paper=_SELF_DISTILLATION,
    strategy=lambda extreme: _soft_cases(extreme),
    stress=lambda: _soft_stress(),
    shift_invariant=("logits",),
    sample_weight=True,
    extreme=lambda: _soft_extreme(),
)
def soft_target_cross_entropy(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Cross-entropy of soft targets that may leave the probability simplex.

    .. math:: \ell = -\sum_c a_c \log p_c, \qquad p = \mathrm{softmax}(z),

    for **any real** target row :math:`a`: rows need not sum to 1 and entries may be negative. The case that needs
    it is self-distillation (Das & Sanghavi, 2023): the student's loss
    :math:`\xi\,\ell(q, \cdot) + (1 - \xi)\,\ell(e_y, \cdot)` against the teacher's probabilities :math:`q` and the
    given label :math:`y` is, for the cross-entropy (linear in its target), the cross-entropy of the single target
    :math:`a = \xi q + (1 - \xi) e_y`, which sums to 1 but whose label entry :math:`1 - \xi (1 - q_y)` is negative
    once :math:`\xi > 1 / (1 - q_y) > 1`. (The abstract introduces :math:`\xi \in [0, 1]` and then finds
    :math:`\xi > 1` better under 30-50% label noise; the range of :math:`\xi` its experiments use is not
    confirmed here. refloss bounds neither :math:`\xi` nor :math:`a`.) With a negative :math:`a_c` the loss is
    unbounded below as :math:`p_c \to 0`: refloss neither clips nor renormalises the target, and evaluates the loss
    as written (our convention, because the paper's objective is this sum for every :math:`\xi`).

    The same numbers as :func:`refloss.cross_entropy` with a probability target (no weights, no smoothing), whose
    float64 forms it shares: the accurate log-softmax, rows whose log-probabilities pass the float64 range summed
    again from scaled terms. **Masks:** a class with target 0 contributes 0 whatever its logit (:math:`0 \log 0 =
    0`); a masked class with target :math:`a_c \ne 0` makes the loss :math:`-a_c \log 0`, ``+inf`` for
    :math:`a_c > 0` and ``-inf`` for :math:`a_c < 0` (a row with both is undefined and raises). ``"mean"`` divides
    by the number of rows. Gradient: :func:`soft_target_cross_entropy_grad`.

    Args:
        logits: float array ``(..., C)``.
        target: real array of the logits' shape.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    >>> z = [[0.0, np.log(3.0)]]  # p = (1/4, 3/4)
    >>> round(soft_target_cross_entropy(z, [[0.25, 0.75]]), 15)  # the entropy of p: log 4 - (3/4) log 3
    0.562335144618808
    >>> xi, q = 1.5, np.array([0.25, 0.75])  # self-distillation with xi > 1, the teacher's q, label 0
    >>> a = xi * q + (1 - xi) * np.array([1.0, 0.0])  # (-0.125, 1.125): sums to 1, leaves the simplex
    >>> round(soft_target_cross_entropy(z, [a]), 15)  # 0.125 log(1/4) - 1.125 log(3/4)
    0.150355536368267

    Reference: Das & Sanghavi, *Understanding Self-Distillation in the Presence of Label Noise* (ICML 2023), the
    student's objective of the abstract (the mixed target is our reading of it for the cross-entropy).
    """
    inputs = _inputs(logits, target, reduction)
    (losses,) = _passes(inputs, _losses)
    return _reduced(inputs, losses, reduction)


@gradient_of(NAME)
def soft_target_cross_entropy_grad(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Gradient of :func:`soft_target_cross_entropy` w.r.t. the logits, same signature.

    .. math:: \frac{\partial \ell}{\partial z_j} = S\,p_j - a_j, \qquad S = \sum_c a_c,

    (:math:`p - a` on the simplex), evaluated as :math:`p_j \sum_{c \ne j} a_c + a_j\,\mathrm{expm1}(\log p_j)`,
    the leave-one-out sums from prefix and suffix sums: each term keeps its digits at any logit gap (the target
    class's :math:`p_j - 1` is never a subtraction), and the two cancel only as much as the targets themselves do
    (``proofs/classification/cross_entropy.py``). Times :math:`1/N` for ``"mean"``.

    Raises:
        RefLossError: as :func:`soft_target_cross_entropy`, and where the loss is infinite (a masked class with a
            nonzero target).

    >>> soft_target_cross_entropy_grad([[0.0, np.log(3.0)]], [[-0.125, 1.125]])  # S = 1: p - a
    array([[ 0.375, -0.375]])
    """
    inputs = _inputs(logits, target, reduction)
    (grad,) = _passes(inputs, _checked_gradient)
    return _scaled(inputs, grad, reduction)


@value_and_grad_of(NAME)
def _soft_target_cross_entropy_value_and_grad(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    """:func:`soft_target_cross_entropy` and its gradient from one log-softmax per block of rows."""
    inputs = _inputs(logits, target, reduction)
    losses, grad = _passes(inputs, _losses, _checked_gradient)
    return _reduced(inputs, losses, reduction), _scaled(inputs, grad, reduction)


# -- inputs of the checks ----------------------------------------------------------------------------------


def _self_distillation_targets(xi: float) -> np.ndarray:
    """xi q + (1 - xi) e_y for teacher distributions q of four rows and labels y (the label off the teacher's mode
    in two rows, as under label noise): negative at the label when xi > 1 and q_y < 1 - 1/xi."""
    teacher = np.array([[2.0, 0.0, -1.0], [0.0, 3.0, 0.5], [-2.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    q = softmax(teacher)
    labels = np.array([0, 2, 0, 1])
    one_hot = np.eye(3)[labels]
    return xi * q + (1.0 - xi) * one_hot


def _case(logits, target, reduction="none") -> dict:
    case = {"logits": np.array(logits, dtype=np.float64), "target": np.array(target, dtype=np.float64)}
    return case if reduction is None else {**case, "reduction": reduction}


def _soft_stress() -> dict[str, dict]:
    gaps, ties = cases.GAP_ROWS, cases.TIE_ROWS
    masked = cases.MASKED_ROWS
    out = {
        "gaps__near_one_hot_on_the_mode": _case(gaps[[0, 2, 4, 6]], _SOFT_TARGETS[[0, 0, 0, 0]]),
        "gaps__soft_targets": _case(gaps[[2, 4, 6, 0]], _SOFT_TARGETS),
        "gaps__one_hot_off_the_mode": _case(gaps[:4], np.eye(3)[[1, 2, 2, 1]]),
    }
    for xi in (0.5, 1.0, 1.5, 3.0):
        out[f"self_distillation__gaps__xi_{xi:g}"] = _case(gaps[[1, 3, 5, 6]], _self_distillation_targets(xi))
        out[f"self_distillation__ties__xi_{xi:g}"] = _case(ties, _self_distillation_targets(xi))
    out.update({
        "real_targets__gaps": _case(gaps[[0, 3, 4, 6]], _REAL_TARGETS),
        "real_targets__ties": _case(ties, _REAL_TARGETS),
        "targets_summing_to_0__gaps": _case(gaps[[1, 2, 5]], [[1.0, -1.0, 0.0], [-0.5, 0.25, 0.25], [0.0, 2.0, -2.0]]),
        "dominant__negative_targets": _case(cases.DOMINANT_ROWS, [[-0.5, 1.5, 0.0], [2.0, -1.0, 0.0],
                                                                  [0.3, -0.3, 1.0]]),
        "masked__zero_targets_there": _case(masked, _MASKED_ROW_TARGETS),
        "masked__negative_targets": _case(masked, [[-0.4, 0.0, 1.4], [0.0, -2.0, 0.0], [1.5, 0.0, -0.5]]),
        "masked_class_positive_target": _case([[0.0, -np.inf, 1.0]], [[0.5, 0.25, 0.25]]),  # +inf
        "masked_class_negative_target": _case([[0.0, -np.inf, 1.0]], [[1.5, -0.25, -0.25]]),  # -inf
        "one_class": _case([[3.0], [-700.0]], [[1.5], [-0.5]]),
        # logits near 0: p_j sum_{c != j} a_c + a_j expm1(log p_j) with log p_j near log(1/3)
        "near_zero_logits__xi_1.5": _case([[1e-3, -2e-3, 5e-4], [0.0078, 0.0, 0.0], [0.0, 1e-9, 0.0],
                                           [0.0, 0.0, 0.0]], _self_distillation_targets(1.5)),
        "reduction_mean": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([_self_distillation_targets(1.5)[:3],
                                                                            _REAL_TARGETS[:2]]), "mean"),
        "reduction_sum": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([_self_distillation_targets(3.0)[:3],
                                                                           _REAL_TARGETS[:2]]), "sum"),
        "defaults": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([_SOFT_TARGETS[:3], _REAL_TARGETS[:2]]), None),
    })
    return out


def _soft_extreme() -> dict[str, dict]:
    from ..._fuzz import EXTREME_ROWS

    # mass on the far classes: -a log p with log p beyond the float64 range (finite products and +inf), a subnormal
    # near-tie, all but one masked
    targets = np.array([[0.5, 0.25, 0.25], [-0.5, 1.25, 0.25], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    wide = np.array([[1.7e308, -1.7e308, 0.0], [1.7e308, -1.7e308, 0.0]])
    base = _case(cases.GAP_ROWS[:2], _SOFT_TARGETS[:2])
    return {
        "extreme_finite": _case(EXTREME_ROWS, targets),
        "extreme_finite__wide_rows_finite_loss": _case(wide, [[0.75, 1e-300, 0.25], [1.0, -1e-300, 0.0]]),
        "mean_whose_sum_overflows": _case(mean_rows(), np.tile([0.0, 1.0, 0.0], (4, 1)), "mean"),
        "masked_target": _case([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf]], [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
        **empty_batch(base, ("logits", "target")),
    }


def _soft_cases(extreme: bool):
    st, _ = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, mask = cases.draw_logits(draw, extreme)
        kind = draw(st.sampled_from(["probabilities", "real", "self_distillation"]))
        if kind == "probabilities":
            t = cases.draw_probabilities(draw, mask)
        elif kind == "real":
            t = cases.draw_real_targets(draw, mask)
        else:  # xi q + (1 - xi) e_y with xi up to 4
            q = cases.draw_probabilities(draw, mask)
            y = cases.draw_class_targets(draw, mask)
            xi = draw(st.sampled_from([0.5, 1.5, 3.0]) | st.floats(0.0, 4.0))
            one_hot = np.zeros(z.shape)
            np.put_along_axis(one_hot, y[..., None], 1.0, axis=-1)
            t = xi * q + (1.0 - xi) * one_hot
        return {"logits": z, "target": t, "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()
