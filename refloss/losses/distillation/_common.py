"""The distillation family's shared parts: the papers, the student/teacher inputs, the temperature's domains, the
extreme inputs judged by the oracle."""

from __future__ import annotations

import numpy as np

from ... import _cases as cases
from ... import _validate as v
from ..._fuzz import EXTREME_ROWS, MEAN_ROWS
from ..._registry import Paper, Param

_HINTON = Paper(
    "Distilling the Knowledge in a Neural Network",
    arxiv="1503.02531",
    where="Sec. 2, Eq. (1): the soft targets softmax(z/T); Sec. 2: the soft targets' objective scaled by T^2; "
    "Sec. 2.1, Eq. (2): its gradient (1/T)(p_i - q_i) w.r.t. the student's logits (as quoted from the paper, not "
    "read in the PDF). The paper's objective is the soft-target cross-entropy, the KL plus the teacher's entropy "
    "(the same student gradient); the KL form and the reductions ('batchmean': the sum over classes averaged over "
    "the rows; 'mean': over every element) are PyTorch's torch.nn.functional.kl_div",
)

_SELF_DISTILLATION = Paper(
    "Understanding Self-Distillation in the Presence of Label Noise",
    arxiv="2301.13304",
    seed="seeds_B.md",
    where="abstract: the student's loss xi * l(teacher's predictions, student's) + (1 - xi) * l(labels, student's), "
    "xi introduced in [0, 1] and xi > 1 found better under 30-50% label noise; for the cross-entropy this is the "
    "soft-target cross-entropy of the target xi q + (1 - xi) e_y (our reading; equation numbers and the xi range "
    "of the experiments not confirmed)",
)

_RMT = Paper(
    "Robust Mean Teacher for Continual and Gradual Test-Time Adaptation",
    arxiv="2211.13081",
    seed="seeds_A.md",
    where="the symmetric cross-entropy consistency loss (CVPR 2023); the formula as the authors' code writes it "
    "(github.com/mariodoebler/test-time-adaptation, classification/methods/rmt.py, softmax_entropy), the teacher "
    "an EMA model without gradient; the paper's text and equation number not confirmed",
)

_PLD = Paper(
    "PLD: A Choice-Theoretic List-Wise Knowledge Distillation",
    arxiv="2506.12542",
    seed="seeds_A.md",
    where="Sec. 4.1 (the teacher-optimal permutation), Sec. 4.2 (the weights and the loss), App. A.3 (the "
    "gradient), App. C (the reference code; temperature 1 by default), as read in the research notes "
    "(confirmed_formulas.md, section 7); equation numbers not recorded",
)

#: Hinton's temperature: beyond 1e4, T^2 KL would pass through numbers below the float64 range (KL ~ 1/T^2)
#: before T^2 restores its size (the domain of refloss.linear_kl).
KD_TEMPERATURE = v.Interval(0.0, 1e4, lo_open=True)

#: The teacher's temperature of the Plackett-Luce weights (any T > 0: the weights tend to the uniform ones).
PLD_TEMPERATURE = v.Interval(0.0, lo_open=True)

STUDENT = Param("student_logits", v.ArrayArg("float student logits (..., C), class axis last (or at axis); -inf "
                                             "masks a class", "logits", class_axis=True))
TEACHER = Param("teacher_logits", v.ArrayArg("float teacher logits of the student's shape; -inf masks a class",
                                             "logits", class_axis=True))
REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' over rows | 'sum' | 'none'")


def pair(student_logits, teacher_logits) -> tuple[np.ndarray, np.ndarray]:
    """Validated student and teacher logits of one shape."""
    s = v.logits(student_logits, "student_logits")
    t = v.logits(teacher_logits, "teacher_logits")
    v.same_shape(s, t, "student_logits", "teacher_logits")
    return s, t


def masked_where(mass: np.ndarray, masked: np.ndarray) -> np.ndarray:
    """Rows (the class axis reduced) with a class that ``masked`` masks (-inf) where ``mass`` does not: a
    probability that is exactly 0 against one that is not, whatever either rounds to."""
    return (np.isneginf(masked) & ~np.isneginf(mass)).any(axis=-1)


# -- draws and extreme inputs ------------------------------------------------------------------------------


def draw_pair(draw, extreme: bool):
    """Student logits (with masks, as refloss._cases draws logits) and teacher logits of the same shape, masked on
    the same classes. (A teacher masking more is a stress point: with ``where=`` drawn over a draw, a row could keep
    a student class and no teacher class, a teacher distribution over no class.)"""
    _, hnp = cases.hyp()
    s, mask = cases.draw_logits(draw, extreme)
    t = draw(hnp.arrays(np.float64, s.shape, elements=cases.floats(cases.EXTREME if extreme else cases.MODERATE)))
    return s, np.where(mask, -np.inf, t)


def extreme_pairs() -> tuple[np.ndarray, np.ndarray]:
    """(student, teacher) rows at the ends of the float64 range, masked alike where either is: the rows of
    refloss._fuzz (spanning more than the float64 range, +-1e300 with a subnormal, all but one masked, a subnormal
    near-tie) against each other crossed, as the KL divergence's extreme inputs pair them."""
    student = np.stack([EXTREME_ROWS[3], EXTREME_ROWS[1][::-1], EXTREME_ROWS[2], EXTREME_ROWS[0]])
    return student, EXTREME_ROWS.copy()


def mean_rows() -> np.ndarray:
    """Rows whose losses are each near 1.7e308: a sum that overflows, a mean that does not (refloss._fuzz)."""
    return MEAN_ROWS.copy()


def empty_batch(base: dict, per_row: tuple[str, ...], reductions=("none", "sum", "mean")) -> dict[str, dict]:
    """``base`` with no rows (every per-row array cut to length 0), under each reduction."""
    empty = {k: (np.asarray(v)[:0] if k in per_row else v) for k, v in base.items()}
    return {f"empty_batch__{r}": {**empty, "reduction": r} for r in reductions}
