"""``symmetric_consistency_loss``: the mean teacher's symmetric cross-entropy of Robust Mean Teacher; value,
closed-form gradients w.r.t. both logits, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import gradient_of, register
from ...info.entropy._common import _kl_gradients, _kl_rows
from ..classification._common import _ce_terms, _CEInputs, _losses
from ._common import _RMT, REDUCTION, STUDENT, TEACHER, draw_pair, empty_batch, extreme_pairs, mean_rows, pair

NAME = "symmetric_consistency_loss"


class SymmetricConsistencyGrad(NamedTuple):
    """Gradients of :func:`symmetric_consistency_loss`, one per differentiable input."""

    student_logits: np.ndarray
    teacher_logits: np.ndarray


def _inputs(student_logits, teacher_logits, reduction):
    s, t = pair(student_logits, teacher_logits)
    check_reduction(reduction)
    return s, t


def _unequal_masks(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Rows with a class that one side masks and the other does not: the loss is +inf there (-q_c log 0 with
    q_c > 0, decided on the masks, not on a q_c that may round to 0)."""
    return (np.isneginf(s) != np.isneginf(t)).any(axis=-1)


def _cross_entropy_rows(z: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """-sum_c a_c log softmax(z)_c per row, in cross-entropy's float64 form (rows whose log-probabilities pass the
    float64 range summed again from scaled terms)."""
    inputs = _CEInputs(z, coefficients, True, np.ones(z.shape[-1]), False, 0.0, -100, 1.0)
    return _losses(_ce_terms(inputs, z, coefficients))


def _losses_of(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The rows' losses: -(1/2) sum_c q_c log p_c - (1/2) sum_c p_c log q_c, each a sum of non-negative terms, with
    the halves in the coefficients (a loss below the float64 maximum whose halves' sum is above it stays finite)."""
    kl = _kl_rows(s, t)  # its p = softmax(s), q = softmax(t)
    with np.errstate(over="ignore"):
        losses = _cross_entropy_rows(s, 0.5 * kl.q) + _cross_entropy_rows(t, 0.5 * kl.p)
    return np.where(_unequal_masks(s, t), np.inf, losses)


def _half_centred(p: np.ndarray, own: np.ndarray, other: np.ndarray) -> np.ndarray:
    r"""p_j (o_j - sum_c p_c o_c) / 2 for p = softmax(own) and the other side's logits o, which is
    p_j (log q_j - sum_c p_c log q_c) / 2 (the log-sum-exp of o cancels): from the differences of the halves of o to
    its value at the class k most probable under p, so that component k is the small sum -sum_{c != k} p_c (o_c -
    o_k) / 2, and no difference of logits passes the float64 range (halves of logits 1.7e308 apart). Where the
    product of p_j with the difference of the two means passes the range, the two products apart."""
    k = np.argmax(own, axis=-1)[..., None]
    live = ~np.isneginf(own)  # (the other side masks the same classes, or the loss is +inf and this unused)
    half = 0.5 * other
    with np.errstate(invalid="ignore", over="ignore"):
        h = np.where(live, half - np.take_along_axis(half, k, -1), 0.0)
        mean = (p * h).sum(axis=-1, keepdims=True)
        direct = p * (h - mean)
        split = p * h - p * mean
    return np.where(np.isfinite(direct), direct, split)


def _gradients_of(s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""d ell / d s = ((p - q) - p d) / 2 and d ell / d t = ((q - p) - q d') / 2 per row (module docstring), with
    q - p from the KL's evaluation (expm1 of log-ratios of logit differences where p and q are close)."""
    if _unequal_masks(s, t).any():
        raise v.RefLossError(f"{NAME} is +inf (a class is masked, -inf, in one of the logits and not in the other), "
                             "so its gradient is undefined")
    kl = _kl_rows(s, t)
    _, q_minus_p = _kl_gradients(kl)
    half = 0.5 * q_minus_p
    return -half - _half_centred(kl.p, s, t), half - _half_centred(kl.q, t, s)


def _losses_block(rows):
    return _losses_of(*rows)


@register(
    name=NAME,
    family="distillation",
    wrt=("student_logits", "teacher_logits"),
    params=(STUDENT, TEACHER, REDUCTION),
    paper=_RMT,
    strategy=lambda extreme: _sce_cases(extreme),
    stress=lambda: _sce_stress(),
    shift_invariant=("student_logits", "teacher_logits"),
    sample_weight=True,
    extreme=lambda: _sce_extreme(),
)
def symmetric_consistency_loss(student_logits: ArrayLike, teacher_logits: ArrayLike, *, reduction: str = "mean"):
    r"""The symmetric cross-entropy between a student and its mean (EMA) teacher, Robust Mean Teacher's consistency
    loss.

    Per row, with :math:`p = \mathrm{softmax}(s)` (student) and :math:`q = \mathrm{softmax}(t)` (teacher),

    .. math:: \ell = -\tfrac12 \sum_c q_c \log p_c - \tfrac12 \sum_c p_c \log q_c
              = \tfrac12\big(H(p) + H(q) + \mathrm{KL}(p \,\|\, q) + \mathrm{KL}(q \,\|\, p)\big),

    the average of the cross-entropy of the student against the teacher and of its reverse (Döbler et al., CVPR
    2023). **Convention:** the form, its weights of 1/2 and the teacher without gradient are those of the authors'
    code (``softmax_entropy(x, x_ema)`` in ``classification/methods/rmt.py`` of
    github.com/mariodoebler/test-time-adaptation; the method averages it over the test batch and, in its full form,
    over an augmented view too); the paper's own equation could not be read, so its number and any other weighting
    are not confirmed. Not the noisy-label "symmetric cross-entropy" of Wang et al. (2019), :math:`\alpha\,
    \mathrm{CE} + \beta\,\mathrm{RCE}` with a clamped :math:`\log 0`, which is a different object.

    Evaluated as two sums of non-negative terms :math:`-\frac12 q_c \log p_c` and :math:`-\frac12 p_c \log q_c`
    from accurate log-softmaxes (cross-entropy's float64 form, rows past the float64 range included). **Masks:** a
    class masked in both contributes 0; a class masked (``-inf``) in one of the logits only makes the loss ``+inf``
    (the other side's probability there is positive, however small), and its gradient raises. ``"mean"`` divides by
    the number of rows. Gradients: :func:`symmetric_consistency_loss_grad`.

    Args:
        student_logits: float array ``(..., C)``.
        teacher_logits: float array of the same shape.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    >>> s, t = [[0.0, 0.0]], [[0.0, np.log(3.0)]]  # p = (1/2, 1/2), q = (1/4, 3/4)
    >>> round(symmetric_consistency_loss(s, t), 15)  # (1/2) log 2 + (1/2)(log 4 - (1/2) log 3)
    0.76506769867289

    Reference: Döbler, Marsden & Yang, *Robust Mean Teacher for Continual and Gradual Test-Time Adaptation*
    (CVPR 2023), the symmetric cross-entropy as the mean teacher's consistency loss (equation not confirmed).
    """
    s, t = _inputs(student_logits, teacher_logits, reduction)
    losses = outputs_by_rows(lambda a, b: (a, b), (_losses_block,), as_rows(s), as_rows(t))[0]
    return reduce(losses.reshape(s.shape[:-1]), reduction)


@gradient_of(NAME)
def symmetric_consistency_loss_grad(student_logits: ArrayLike, teacher_logits: ArrayLike, *,
                                    reduction: str = "mean") -> SymmetricConsistencyGrad:
    r"""Gradients of :func:`symmetric_consistency_loss` w.r.t. the student's and the teacher's logits, same
    signature.

    .. math:: \frac{\partial \ell}{\partial s_j} = \tfrac12\Big[(p_j - q_j) - p_j\big(\log q_j - \textstyle\sum_c
              p_c \log q_c\big)\Big],

    the first part from :math:`-\frac12\sum_c q_c \log p_c`, the second from :math:`-\frac12\sum_c p_c \log q_c`
    through the softmax's Jacobian; the teacher's is the same with the roles of :math:`s` and :math:`t` exchanged
    (the loss is symmetric). Robust Mean Teacher's teacher is an EMA of the student and gets no gradient: use
    ``.student_logits``; ``.teacher_logits`` is for a teacher that is trained too. Times :math:`1/N` for ``"mean"``.

    Evaluation: :math:`p_j - q_j` from :math:`\mathrm{expm1}` of the log-ratio (logit differences) where
    :math:`p_j` and :math:`q_j` are close (:func:`refloss.kl_divergence_logits`' form), and
    :math:`\log q_j - \sum_c p_c \log q_c = (t_j - t_k) - \sum_c p_c (t_c - t_k)` from logit differences at the
    class :math:`k` most probable under :math:`p` (the log-sum-exp cancels), so that neither subtracts nearly equal
    rounded logarithms (``proofs/distillation/symmetric_consistency_loss.py``).

    Raises:
        RefLossError: as :func:`symmetric_consistency_loss`, and where the loss is ``+inf`` (a class masked in one
            of the logits only).

    >>> g = symmetric_consistency_loss_grad([[0.0, 0.0]], [[0.0, np.log(3.0)]])
    >>> g.student_logits  # ((p - q) - p (log q - <p, log q>)) / 2 = (1/8 + (log 3)/8) (1, -1)
    array([[ 0.26232654, -0.26232654]])
    """
    s, t = _inputs(student_logits, teacher_logits, reduction)
    g_s, g_t = outputs_by_rows(lambda a, b: _gradients_of(a, b), (lambda g: g[0], lambda g: g[1]), as_rows(s),
                               as_rows(t))
    scale = reduce_scale(s.shape[:-1], reduction)
    return SymmetricConsistencyGrad(student_logits=(g_s * scale).reshape(s.shape),
                                    teacher_logits=(g_t * scale).reshape(s.shape))


# -- inputs of the checks ----------------------------------------------------------------------------------


def _case(student, teacher, reduction="none") -> dict:
    case = {"student_logits": np.array(student, dtype=np.float64),
            "teacher_logits": np.array(teacher, dtype=np.float64)}
    return case if reduction is None else {**case, "reduction": reduction}


def _sce_stress() -> dict[str, dict]:
    gaps, ties, masked = cases.GAP_ROWS, cases.TIE_ROWS, cases.MASKED_ROWS
    zeros = np.zeros_like(gaps)
    same_masks = np.where(np.isneginf(masked), -np.inf, [[1.0, 0.5, -2.0]])
    return {
        "peaked_student__uniform_teacher": _case(gaps, zeros),
        "uniform_student__peaked_teacher": _case(zeros, gaps),
        "both_peaked_on_one_class": _case(gaps, gaps[::-1]),
        "peaked_on_different_classes": _case(gaps, np.roll(gaps, 1, axis=-1)),
        "student_close_to_teacher": _case(gaps * (1 + 1e-6), gaps),
        "same_logits": _case(gaps, gaps),
        "ties": _case(ties, ties[::-1]),
        "ties__against_gaps": _case(ties, gaps[:4]),
        "dominant": _case(cases.DOMINANT_ROWS, cases.DOMINANT_ROWS[:, ::-1]),
        "masked_alike": _case(masked, same_masks),
        "masked_in_the_student_only": _case([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]]),  # +inf
        "masked_in_the_teacher_only": _case([[0.0, -800.0, 1.0]], [[0.0, -np.inf, 1.0]]),  # +inf
        "one_class": _case([[3.0], [-700.0]], [[1.0], [5.0]]),
        "logits_near_0": _case([[1e-3, -2e-3, 5e-4], [0.0078, 0.0, 0.0]], [[0.0, 1e-9, 0.0], [-1e-3, 0.0, 2e-3]]),
        "reduction_mean": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([zeros[:3], ties[2:4]]), "mean"),
        "reduction_sum": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([gaps[3:6, ::-1], ties[2:4]]), "sum"),
        "defaults": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([gaps[::-1][:3], ties[2:4]]), None),
    }


def _sce_extreme() -> dict[str, dict]:
    student, teacher = extreme_pairs()
    # a row spanning more than the float64 range against a uniform one, both ways: -(1/2) (1/3) log p_1 with
    # log p_1 = -3.4e308 is finite (5.7e307), and so are the gradients' (t_j - t_k) / 2 terms
    wide = np.array([[1.7e308, -1.7e308, 0.0], [0.0, 0.0, 0.0]])
    rows = mean_rows()
    base = _case(cases.GAP_ROWS[:2], cases.GAP_ROWS[:2, ::-1])
    return {
        "extreme_finite": _case(student, teacher),
        "extreme_finite__wide_against_uniform": _case(wide, wide[::-1]),
        # each row's loss near 8.5e307: their sum overflows, their mean does not
        "mean_whose_sum_overflows": _case(rows, np.tile([0.0, 5.0, 0.0], (len(rows), 1)), "mean"),
        "masked_target": _case([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]]),
        **empty_batch(base, ("student_logits", "teacher_logits")),
    }


def _sce_cases(extreme: bool):
    st, _ = cases.hyp()

    @st.composite
    def draw_case(draw):
        s, t = draw_pair(draw, extreme)
        return {"student_logits": s, "teacher_logits": t, "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()
