"""``kd_loss``: Hinton et al.'s distillation loss T^2 KL(softmax(t/T) || softmax(s/T)) from logits; value,
closed-form gradients w.r.t. the student's and the teacher's logits, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._reduce import reduce, reduce_scale
from ..._registry import Param, gradient_of, register
from ...info.entropy.kl_divergence_logits import kl_divergence_logits, kl_divergence_logits_grad
from ._common import (
    _HINTON,
    KD_TEMPERATURE,
    STUDENT,
    TEACHER,
    draw_pair,
    empty_batch,
    extreme_pairs,
    masked_where,
    mean_rows,
    pair,
)

#: PyTorch's reductions of ``F.kl_div``: "batchmean" (the sum over classes averaged over the rows) and "mean"
#: (averaged over every element, so also divided by the number of classes C), with "sum" and "none".
KD_REDUCTIONS = v.Choice(("batchmean", "mean", "sum", "none"))


class KDLossGrad(NamedTuple):
    """Gradients of :func:`kd_loss`, one per differentiable input."""

    student_logits: np.ndarray
    teacher_logits: np.ndarray


def _kd_inputs(student_logits, teacher_logits, temperature, reduction):
    """Validated logits, the temperature, and both logits divided by it (teacher first, as the KL takes them)."""
    s, t = pair(student_logits, teacher_logits)
    temp = v.scalar(temperature, KD_TEMPERATURE, "temperature")
    v.choice(reduction, KD_REDUCTIONS, "reduction")
    with np.errstate(over="ignore"):
        scaled = t / temp, s / temp
    for z, z_scaled in ((t, scaled[0]), (s, scaled[1])):
        if (np.isinf(z_scaled) & np.isfinite(z)).any():
            raise v.RefLossError(f"temperature {temp!r} is too small for these logits: divided by it they pass the "
                                 "float64 range (raise the temperature, or shift the logits' rows towards 0)")
    return s, t, temp, scaled


def _reduced(losses: np.ndarray, shape: tuple, reduction: str):
    if reduction == "batchmean":
        return reduce(losses, "mean")
    if reduction == "mean":
        return reduce(losses, "mean", float(np.prod(shape)))
    return reduce(losses, reduction)


def _scale(shape: tuple, reduction: str) -> float:
    """d(reduced)/d(a row's loss)."""
    if reduction == "batchmean":
        return reduce_scale(shape[:-1], "mean")
    if reduction == "mean":
        return reduce_scale(shape, "mean")
    return 1.0


@register(
    name="kd_loss",
    family="distillation",
    wrt=("student_logits", "teacher_logits"),
    params=(
        STUDENT,
        TEACHER,
        Param("temperature", KD_TEMPERATURE, "T: both logits are divided by it, the loss multiplied by T^2"),
        Param("reduction", KD_REDUCTIONS, "'batchmean': mean over rows (PyTorch's, for (N, C)) | 'mean': also over "
                                          "the C classes (PyTorch's elementwise mean) | 'sum' | 'none'"),
    ),
    paper=_HINTON,
    strategy=lambda extreme: _kd_cases(extreme),
    stress=lambda: _kd_stress(),
    shift_invariant=("student_logits", "teacher_logits"),
    extreme=lambda: _kd_extreme(),
)
def kd_loss(student_logits: ArrayLike, teacher_logits: ArrayLike, *, temperature: float = 1.0,
            reduction: str = "batchmean"):
    r"""Knowledge-distillation loss of Hinton et al.: the teacher's softened distribution against the student's.

    Per row, with :math:`q = \mathrm{softmax}(t/T)` (teacher) and :math:`p = \mathrm{softmax}(s/T)` (student),

    .. math:: \ell = T^2\,\mathrm{KL}(q \,\|\, p) = T^2 \sum_c q_c (\log q_c - \log p_c),

    in nats: the forward KL from the teacher, whose :math:`T^2` keeps the student's gradient
    :math:`T(p - q)` on the scale of a cross-entropy's as :math:`T` grows (Hinton et al., Sec. 2; the gradient
    of their soft-target cross-entropy is Eq. (2), :math:`\frac1T(p - q)` before the :math:`T^2`). Hinton et al.
    train on the cross-entropy with the soft targets, which is this KL plus the teacher's entropy: the same
    student gradient, a value that is 0 only where the teacher is one-hot (the KL form is PyTorch's and common
    practice: our convention, because it is 0 where the student matches its teacher). It is
    :func:`refloss.kl_divergence_logits` of :math:`(t/T, s/T)` times :math:`T^2`, so it keeps that function's
    digits (two nearly equal distributions, logit gaps of hundreds); at :math:`T = 1` it equals the soft-target
    cross-entropy of the student against :math:`q` minus the teacher's entropy.

    **Reductions** (PyTorch's ``F.kl_div(log_softmax(s/T), log_softmax(t/T), log_target=True, reduction=...)``
    times :math:`T^2`): ``"batchmean"`` (the default: the mean over rows of the per-row KL, what the KL is; PyTorch
    recommends it), ``"mean"`` (PyTorch's elementwise mean: the sum divided by the number of *entries* of the logits,
    rows times :math:`C`, so ``"batchmean"`` over :math:`C`: the smaller loss many KD codes compute by mistake),
    ``"sum"``, ``"none"`` (per row, shape ``logits.shape[:-1]``). ``"batchmean"`` divides by the number of rows,
    ``prod(shape[:-1])``; PyTorch's divides by ``input.size(0)``, the same for ``(N, C)`` logits only. ``"mean"``
    counts masked classes and those ``where=`` leaves out in :math:`C`, as PyTorch's ``numel`` does.

    **Masks.** A class the teacher masks contributes 0; a class the student masks where the teacher has mass makes
    the loss ``+inf`` (its gradient raises).

    Args:
        student_logits: float array ``(..., C)``.
        teacher_logits: float array of the same shape.
        temperature: :math:`0 < T \le 10^4`. Logits that divided by :math:`T` pass the float64 range (above
            :math:`1.8\cdot 10^{308}\,T`) are refused.
        reduction: ``"batchmean"`` (default), ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        float for a reduction, else an array of shape ``logits.shape[:-1]``.

    >>> s, t = [[0.0, 0.0]], [[0.0, np.log(3.0)]]  # p = (1/2, 1/2), q = (1/4, 3/4)
    >>> round(kd_loss(s, t), 15)  # KL(q || p) = (3/4) log 3 - log 2
    0.130812035941137
    >>> round(kd_loss(s, t, temperature=2.0, reduction="mean"), 15)  # 4 KL(q_2 || p_2) / C, q_2 = softmax(t / 2)
    0.072681565740947

    Reference: Hinton, Vinyals & Dean (2015), Sec. 2, Eqs. (1)-(2) (as quoted from the paper; not read in the
    PDF); the KL form and the reductions as PyTorch's ``kl_div``.
    """
    s, _, temp, (t_scaled, s_scaled) = _kd_inputs(student_logits, teacher_logits, temperature, reduction)
    losses = temp**2 * np.asarray(kl_divergence_logits(t_scaled, s_scaled, reduction="none"))
    return _reduced(losses, s.shape, reduction)


@gradient_of("kd_loss")
def kd_loss_grad(student_logits: ArrayLike, teacher_logits: ArrayLike, *, temperature: float = 1.0,
                 reduction: str = "batchmean") -> KDLossGrad:
    r"""Gradients of :func:`kd_loss` w.r.t. the student's and the teacher's logits, same signature.

    .. math:: \frac{\partial \ell}{\partial s_j} = T\,(p_j - q_j), \qquad
              \frac{\partial \ell}{\partial t_j} = T\,q_j\,\big(\log q_j - \log p_j - \mathrm{KL}(q \,\|\, p)\big),

    times :math:`1/N` (``"batchmean"``) or :math:`1/(NC)` (``"mean"``): :math:`T^2` times the gradients of
    :func:`refloss.kl_divergence_logits` at :math:`(t/T, s/T)` over :math:`T`, in their evaluation forms
    (:math:`p_j - q_j` from :math:`\mathrm{expm1}` of a log-ratio of logit differences where the two are close,
    the teacher's from logit differences taken at its most probable class). The teacher's gradient is for
    objectives that train both networks; a frozen teacher needs only ``.student_logits``.

    Raises:
        RefLossError: as :func:`kd_loss`, and where the loss is ``+inf`` (the student masks a class where the
            teacher has mass).

    >>> kd_loss_grad([[0.0, 0.0]], [[0.0, np.log(3.0)]]).student_logits  # p - q
    array([[ 0.25, -0.25]])
    """
    s, t, temp, (t_scaled, s_scaled) = _kd_inputs(student_logits, teacher_logits, temperature, reduction)
    if masked_where(t, s).any():
        raise v.RefLossError("kd_loss is +inf (the student's logit is -inf on a class where the teacher has mass), "
                             "so its gradient is undefined")
    g = kl_divergence_logits_grad(t_scaled, s_scaled, reduction="none")
    factor = temp * _scale(s.shape, reduction)
    return KDLossGrad(student_logits=g.q_logits * factor, teacher_logits=g.p_logits * factor)


# -- inputs of the checks ----------------------------------------------------------------------------------


def _case(student, teacher, temperature=None, reduction="none") -> dict:
    case = {"student_logits": np.array(student, dtype=np.float64),
            "teacher_logits": np.array(teacher, dtype=np.float64)}
    if temperature is not None:
        case["temperature"] = float(temperature)
    if reduction is not None:
        case["reduction"] = reduction
    return case


def _kd_stress() -> dict[str, dict]:
    gaps, ties, masked = cases.GAP_ROWS, cases.TIE_ROWS, cases.MASKED_ROWS
    zeros = np.zeros_like(gaps)
    out = {"gaps_apart__T_1": _case(gaps[:, ::-1], gaps, 1.0)}
    # the effective gaps (logits / T) are those of GAP_ROWS at every temperature
    for temp in (0.5, 1.0, 2.0, 4.0):
        out[f"peaked_teacher__uniform_student__T_{temp:g}"] = _case(zeros, gaps * temp, temp)
        out[f"peaked_student__uniform_teacher__T_{temp:g}"] = _case(gaps * temp, zeros, temp)
        out[f"both_peaked_apart__T_{temp:g}"] = _case(np.roll(gaps, 1, axis=-1) * temp, gaps * temp, temp)
    out.update({
        # student within 1e-6 of the teacher: KL ~ 1e-12, p - q ~ 1e-6 (expm1 of small log-ratios)
        "student_close_to_teacher__T_2": _case(gaps * 2.0 * (1 + 1e-6), gaps * 2.0, 2.0),
        "same_logits__T_3": _case(gaps, gaps, 3.0),  # 0, and every gradient 0
        "near_ties": _case(ties, ties[::-1], 1.0),
        "dominant__T_2": _case(cases.DOMINANT_ROWS, cases.DOMINANT_ROWS[:, ::-1], 2.0),
        # masked alike; the teacher masking more (its class contributes 0); the student masking a teacher class
        "masked_alike": _case(masked, np.where(np.isneginf(masked), -np.inf, [[1.0, 0.0, -2.0]]), 1.0),
        "teacher_masks_more__T_2": _case([[0.0, -np.inf, 2.0], [1.0, 5.0, -np.inf], [30.0, 0.0, 0.0]],
                                         [[-np.inf, -np.inf, 2.0], [-np.inf, 4.0, -np.inf], [30.0, -np.inf, -2.0]],
                                         2.0),
        "student_masks_a_teacher_class": _case([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]], 1.0),
        "one_class__T_2": _case([[3.0], [-700.0]], [[1.0], [5.0]], 2.0),
        "small_temperature": _case([[0.3, -0.1, 0.2], [0.05, 0.0, -0.4]], [[0.1, 0.2, -0.6], [-0.3, 0.0, 0.1]], 1e-2),
        "large_temperature": _case(gaps[:3] * 100.0, np.roll(gaps[:3], 1, axis=-1) * 100.0, 100.0),
        "reduction_batchmean": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([zeros[:3], ties[2:4]]), 2.0,
                                     "batchmean"),
        "reduction_mean": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([zeros[:3], ties[2:4]]), 2.0, "mean"),
        "reduction_sum": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([zeros[:3], ties[2:4]]), 2.0, "sum"),
        # (N, d, C): "batchmean" divides by N d (PyTorch's by N), "mean" by N d C
        "two_batch_axes__batchmean": _case(gaps[:4].reshape(2, 2, 3), np.roll(gaps[:4], 1, -1).reshape(2, 2, 3), 1.0,
                                           "batchmean"),
        "two_batch_axes__mean": _case(gaps[:4].reshape(2, 2, 3), np.roll(gaps[:4], 1, -1).reshape(2, 2, 3), 1.0,
                                      "mean"),
        "defaults": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([gaps[::-1][:3], ties[2:4]]), None, None),
    })
    return out


def _kd_extreme() -> dict[str, dict]:
    student, teacher = extreme_pairs()
    out = {
        "extreme_finite": _case(student, teacher, 1.0),
        "extreme_finite__T_2": _case(student * 0.5, teacher * 0.5, 2.0),  # exact halves: the same scaled logits
        "mean_whose_sum_overflows": _case(mean_rows(), np.zeros_like(mean_rows()), 1.0, "batchmean"),
        "masked_target": _case([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]], 1.0),
        "largest_temperature": _case([[1e4, 0.0, -1e4], [3.0, 2.0, 1.0]], [[0.0, 1e4, 0.0], [1.0, 2.0, 3.0]], 1e4),
    }
    base = _case(cases.GAP_ROWS[:2], cases.GAP_ROWS[:2, ::-1], 1.0)
    return {**out, **empty_batch(base, ("student_logits", "teacher_logits"), ("none", "sum", "batchmean", "mean"))}


def _kd_cases(extreme: bool):
    st, _ = cases.hyp()

    @st.composite
    def draw_case(draw):
        s, t = draw_pair(draw, extreme)
        # moderate draws keep T >= 0.5, so that the logits / T stay where finite differences (step 1e-3) work
        temp = draw(st.sampled_from([0.5, 1.0, 2.0, 4.0]) | st.floats(0.05 if extreme else 0.5, 20.0))
        return {"student_logits": s, "teacher_logits": t, "temperature": temp,
                "reduction": draw(st.sampled_from(KD_REDUCTIONS.values))}

    return draw_case()
