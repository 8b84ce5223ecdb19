"""``plackett_luce_distillation``: Plackett-Luce distillation (PLD), the teacher-weighted list-wise likelihood of
the teacher-optimal ranking; value, closed-form gradient w.r.t. the student's logits, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import by_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Param, gradient_of, register
from ...numerics import _log_softmax, logits_from_max
from ._common import (
    _PLD,
    PLD_TEMPERATURE,
    REDUCTION,
    STUDENT,
    TEACHER,
    draw_pair,
    empty_batch,
    extreme_pairs,
    masked_where,
    mean_rows,
    pair,
)

NAME = "plackett_luce_distillation"


def _inputs(student_logits, teacher_logits, target, temperature, reduction):
    s, t = pair(student_logits, teacher_logits)
    y = v.class_targets(target, s.shape, None, "target")
    temp = v.scalar(temperature, PLD_TEMPERATURE, "temperature")
    check_reduction(reduction)
    return s, t, y, temp


def _teacher_optimal_order(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """pi per row: the target first, then the other classes by descending teacher logit, equal logits in the order
    of their indices (a stable sort), the classes the teacher masks last."""
    key = np.where(np.arange(t.shape[-1]) == y[..., None], -np.inf, -t)
    return np.argsort(key, axis=-1, kind="stable")


def _suffix_top_and_rest(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""``(M, T)``: at each position k, :math:`M_k = \max_{l \ge k} x_l` and :math:`T_k = \sum_{l \ge k}
    e^{x_l - M_k} - 1 \ge 0`, the suffix's sum of exponentials relative to its largest term without that term, so
    that :math:`\log\sum_{l \ge k} e^{x_l} = M_k + \mathrm{log1p}(T_k)` keeps the digits of :math:`T_k` (a
    log-sum-exp rounded at :math:`\epsilon |M_k|` would lose them where one class dominates its suffix).

    A scan of the pairs over the reversed positions, in :math:`\lceil\log_2 C\rceil` vectorised steps (Hillis and
    Steele): two windows combine as :math:`(\max, T_{hi} + (1 + T_{lo})\,e^{M_{lo} - M_{hi}})`, every term
    non-negative and every exponent a difference of two logits (``-inf``: the term is 0)."""
    top, rest = x[..., ::-1].copy(), np.zeros(x.shape)
    step = 1
    while step < x.shape[-1]:
        m1, r1, m2, r2 = top[..., step:], rest[..., step:], top[..., :-step], rest[..., :-step]
        first = m1 >= m2
        hi, lo = np.where(first, m1, m2), np.where(first, m2, m1)
        with np.errstate(invalid="ignore", over="ignore"):  # -inf - -inf (masked windows) and past the range: 0
            factor = np.where(np.isneginf(lo), 0.0, np.exp(lo - hi))
        combined = np.where(first, r1, r2) + (1.0 + np.where(first, r2, r1)) * factor
        top = np.concatenate([top[..., :step], hi], axis=-1)
        rest = np.concatenate([rest[..., :step], combined], axis=-1)
        step *= 2
    return top[..., ::-1], rest[..., ::-1]


def _prefix_rescaled_sums(w: np.ndarray, top: np.ndarray) -> np.ndarray:
    r""":math:`V_m = \sum_{k \le m} w_k\,e^{M_m - M_k}` for the non-increasing suffix maxima :math:`M` (every
    exponent :math:`\le 0`), by the same log-depth scan: each level adds the window that ends ``step`` earlier,
    rescaled by :math:`e^{M_m - M_{m - step}}`, a difference of two logits."""
    total = w.copy()
    step = 1
    while step < w.shape[-1]:
        with np.errstate(invalid="ignore", over="ignore"):  # a suffix of masked classes: unused (and 0)
            factor = np.where(np.isneginf(top[..., step:]), 0.0, np.exp(top[..., step:] - top[..., :-step]))
        total = np.concatenate([total[..., :step], total[..., step:] + total[..., :-step] * factor], axis=-1)
        step *= 2
    return total


class _Terms(NamedTuple):
    """One block of rows, in the teacher-optimal order: the positions' classes, the student's logits, the teacher's
    weights, the suffixes' (M, T), and the rows whose loss is +inf."""

    order: np.ndarray
    x: np.ndarray
    alpha: np.ndarray
    top: np.ndarray
    rest: np.ndarray
    infinite: np.ndarray


def _terms(s: np.ndarray, t: np.ndarray, y: np.ndarray, temp: float) -> _Terms:
    order = _teacher_optimal_order(t, y)
    x = np.take_along_axis(s, order, axis=-1)
    with np.errstate(over="ignore"):  # beyond the float64 range: -inf, a weight of 0 (its exact value e^-huge)
        log_q = _log_softmax(logits_from_max(t) / temp)
    alpha = np.exp(np.take_along_axis(log_q, order, axis=-1))
    top, rest = _suffix_top_and_rest(x)
    # a class the student masks and the teacher weights: a choice of probability 0 that the loss weights (+inf),
    # decided on the masks, not on a weight that may round to 0
    return _Terms(order, x, alpha, top, rest, masked_where(t, s))


def _losses(terms: _Terms) -> np.ndarray:
    r""":math:`\sum_k \alpha_k [(M_k - x_k) + \mathrm{log1p}(T_k)]`, non-negative terms; :math:`\alpha_k M_k -
    \alpha_k x_k` where :math:`M_k - x_k` passes the float64 range while the product need not."""
    x, alpha, top = terms.x, terms.alpha, terms.top
    with np.errstate(over="ignore", invalid="ignore"):
        gap = top - x
        tail = np.log1p(terms.rest)
        each = np.where(np.isfinite(gap), alpha * (gap + tail), alpha * top - alpha * x + alpha * tail)
        each = np.where((alpha == 0.0) | np.isneginf(x), 0.0, each)
    return np.where(terms.infinite, np.inf, each.sum(axis=-1))


def _gradient(terms: _Terms) -> np.ndarray:
    r"""The closed form per position m (the module's gradient docstring): :math:`A_m - \alpha_m \sigma_m` with
    :math:`A_m = e^{x_m - M_{m-1}} V_{m-1}`, :math:`V` the rescaled prefix sums of :math:`w_k = \alpha_k / (1 +
    T_k)`, and :math:`\sigma_m = 1 - e^{x_m - M_m}/(1 + T_m)`, which is :math:`T_m/(1 + T_m)` where :math:`x_m` is
    its suffix's largest logit; back in the classes' order."""
    if terms.infinite.any():
        raise v.RefLossError(f"{NAME} is +inf (the student's logit is -inf on a class the teacher weights), so its "
                             "gradient is undefined")
    x, alpha, top, rest = terms.x, terms.alpha, terms.top, terms.rest
    prefix = _prefix_rescaled_sums(alpha / (1.0 + rest), top)
    with np.errstate(invalid="ignore", over="ignore"):  # masked positions (x = -inf): 0, set below
        earlier = np.zeros(x.shape)
        earlier[..., 1:] = np.exp(x[..., 1:] - top[..., :-1]) * prefix[..., :-1]
        chosen = np.where(x == top, rest / (1.0 + rest), 1.0 - np.exp(x - top) / (1.0 + rest))
        g = np.where(np.isneginf(x), 0.0, earlier - alpha * chosen)
    grad = np.empty(x.shape)
    np.put_along_axis(grad, terms.order, g, axis=-1)
    return grad


def _rows(s: np.ndarray, t: np.ndarray, y: np.ndarray):
    n_classes = s.shape[-1]
    return s.reshape(-1, n_classes), t.reshape(-1, n_classes), y.reshape(-1)


@register(
    name=NAME,
    family="distillation",
    wrt=("student_logits",),
    params=(
        STUDENT,
        TEACHER,
        Param("target", v.CLASS_TARGETS),
        Param("temperature", PLD_TEMPERATURE, "tau_T: the teacher's weights are softmax(teacher_logits / tau_T)"),
        REDUCTION,
    ),
    paper=_PLD,
    strategy=lambda extreme: _pld_cases(extreme),
    stress=lambda: _pld_stress(),
    shift_invariant=("student_logits",),
    extreme=lambda: _pld_extreme(),
)
def plackett_luce_distillation(student_logits: ArrayLike, teacher_logits: ArrayLike, target: ArrayLike, *,
                               temperature: float = 1.0, reduction: str = "mean"):
    r"""Plackett-Luce distillation (PLD): the student's list-wise likelihood of the teacher-optimal ranking, each
    choice weighted by the teacher's confidence.

    Per row, the teacher-optimal permutation :math:`\pi` puts the target :math:`y` first and then the other classes
    by descending teacher logit; with the teacher's weights :math:`\alpha_k = q_{\pi_k}`,
    :math:`q = \mathrm{softmax}(t / \tau_T)`, and the student's logits :math:`s`,

    .. math:: \ell = \sum_{k=1}^{C} \alpha_k \Big[\log \sum_{l=k}^{C} e^{s_{\pi_l}} - s_{\pi_k}\Big]
              = -\sum_{k=1}^{C} \alpha_k \log \frac{e^{s_{\pi_k}}}{\sum_{l \ge k} e^{s_{\pi_l}}},

    the negative log-likelihood of each successive choice under the Plackett-Luce model of the student's logits
    (Bassam, Zhu & Bian, NeurIPS 2025: Sec. 4.1 the permutation, Sec. 4.2 the weights and the loss; confirmed
    against the paper's text in the project's research notes). The first term is :math:`q_y` times the
    cross-entropy; :math:`\alpha = e_1` gives the cross-entropy, uniform weights ListMLE. The loss is convex in
    :math:`s` and invariant under a shift of a row of it. The temperature softens the teacher's weights only (the
    paper's code, App. C, defaults to :math:`\tau_T = 1`, its best setting on ImageNet).

    **Conventions.** Equal teacher logits keep the order of their class indices (a stable sort; the paper's code
    uses ``torch.sort``, whose order of ties is unspecified): the loss changes where two tied classes swap, so it
    is a function of the teacher's logits only with this rule, and it is differentiated w.r.t. the student's logits
    only (the teacher is fixed). No top-k truncation: the whole list of :math:`C` classes, as the paper. A class the
    teacher masks (``-inf``) has weight 0 and comes last, its student logit still counted in the sums of the
    choices before it; a class the student masks where the teacher does not makes the loss ``+inf`` (its gradient
    raises). A target the teacher masks has weight 0, so it adds nothing (unlike a cross-entropy's masked target).
    ``"mean"`` divides by the number of rows (the paper's code averages over the batch).

    **Evaluation**, :math:`O(C \log C)` per row: the stable sort, then the suffix log-sum-exps kept as pairs
    :math:`(M_k, T_k)`, the suffix's largest logit and the sum of the others' exponentials relative to it, by a
    log-depth scan: each term :math:`\alpha_k[(M_k - s_{\pi_k}) + \mathrm{log1p}(T_k)]` is non-negative and keeps
    its digits where one class dominates its suffix (``proofs/distillation/plackett_luce_distillation.py``).

    Args:
        student_logits: float array ``(..., C)``.
        teacher_logits: float array of the same shape.
        target: integer class indices of shape ``logits.shape[:-1]``, each in ``[0, C)``.
        temperature: :math:`\tau_T > 0`, the teacher's temperature (default 1).
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    >>> s, t = [[0.0, np.log(2.0), 0.0]], [[3.0, 1.0, 2.0]]  # target 1: pi = (1, 0, 2)
    >>> q = np.exp(t) / np.exp(t).sum()  # alpha = (q_1, q_0, q_2)
    >>> manual = q[0, 1] * np.log(4 / 2) + q[0, 0] * np.log(2 / 1) + q[0, 2] * 0.0
    >>> bool(np.isclose(plackett_luce_distillation(s, t, [1]), manual, rtol=1e-15))
    True

    Reference: Bassam, Zhu & Bian, *PLD: A Choice-Theoretic List-Wise Knowledge Distillation* (arXiv:2506.12542),
    Secs. 4.1-4.2 and App. A.3, C.
    """
    s, t, y, temp = _inputs(student_logits, teacher_logits, target, temperature, reduction)
    losses = by_rows(lambda a, b, c: _losses(_terms(a, b, c, temp)), *_rows(s, t, y))
    return reduce(losses.reshape(s.shape[:-1]), reduction)


@gradient_of(NAME)
def plackett_luce_distillation_grad(student_logits: ArrayLike, teacher_logits: ArrayLike, target: ArrayLike, *,
                                    temperature: float = 1.0, reduction: str = "mean"):
    r"""Gradient of :func:`plackett_luce_distillation` w.r.t. the student's logits, same signature.

    For the class at position :math:`m` of the teacher-optimal order (App. A.3),

    .. math:: \frac{\partial \ell}{\partial s_{\pi_m}} = \sum_{k=1}^{m} \alpha_k\,
              \frac{e^{s_{\pi_m}}}{\sum_{l \ge k} e^{s_{\pi_l}}} - \alpha_m
              = \sum_{k < m} \alpha_k\, e^{s_{\pi_m} - \mathrm{LSE}_k} - \alpha_m \big(1 - e^{s_{\pi_m} -
              \mathrm{LSE}_m}\big),

    its choice probabilities at every earlier choice less the weight of its own choice's complement; the
    components of a row sum to 0. Evaluated in :math:`O(C \log C)`: :math:`1 - e^{s_{\pi_m} - \mathrm{LSE}_m}` as
    :math:`T_m / (1 + T_m)` where the class is its suffix's largest (never 1 minus a probability near 1), and the
    first sum as :math:`e^{s_{\pi_m} - M_{m-1}} V_{m-1}` with :math:`V` the prefix sums of
    :math:`\alpha_k/(1 + T_k)` rescaled by :math:`e^{M_{m-1} - M_k}`, every exponent a difference of logits
    :math:`\le 0`. Times :math:`1/N` for ``"mean"``.

    Raises:
        RefLossError: as :func:`plackett_luce_distillation`, and where the loss is ``+inf``.

    >>> g = plackett_luce_distillation_grad([[0.0, 0.0]], [[0.0, 0.0]], [0])  # alpha = (1/2, 1/2)
    >>> g  # target: -(1/2)(1 - 1/2); the other: (1/2)(1/2) + (1/2)(1) - 1/2
    array([[-0.25,  0.25]])
    """
    s, t, y, temp = _inputs(student_logits, teacher_logits, target, temperature, reduction)
    grad = outputs_by_rows(lambda a, b, c: _terms(a, b, c, temp), (_gradient,), *_rows(s, t, y))[0]
    return (grad * reduce_scale(s.shape[:-1], reduction)).reshape(s.shape)


# -- inputs of the checks ----------------------------------------------------------------------------------


def _case(student, teacher, target, temperature=1.0, reduction="none") -> dict:
    case = {"student_logits": np.array(student, dtype=np.float64),
            "teacher_logits": np.array(teacher, dtype=np.float64),
            "target": np.array(target, dtype=np.int64)}
    if temperature is not None:
        case["temperature"] = float(temperature)
    return case if reduction is None else {**case, "reduction": reduction}


def _pld_stress() -> dict[str, dict]:
    gaps, ties, masked = cases.GAP_ROWS, cases.TIE_ROWS, cases.MASKED_ROWS
    n = len(gaps)
    zeros = np.zeros_like(gaps)
    out = {}
    for temp in (0.5, 1.0, 4.0):
        for y in (0, 1, 2):
            out[f"gaps__teacher_agrees__target_{y}__T_{temp:g}"] = _case(gaps, gaps * temp, [y] * n, temp)
            out[f"gaps__teacher_disagrees__target_{y}__T_{temp:g}"] = _case(gaps, np.roll(gaps, 1, -1) * temp,
                                                                           [y] * n, temp)
    # seven classes 15 to 80 apart: three levels of the scans; the student's mode ranked last, first, in between
    wide = np.array([[80.0, 60.0, 40.0, 36.0, 30.0, 20.0, 15.0], [15.0, 20.0, 30.0, 36.0, 40.0, 60.0, 80.0],
                     [36.0, 80.0, 15.0, 60.0, 20.0, 40.0, 30.0]])
    ranks = np.array([[7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]])
    out.update({
        "uniform_student__peaked_teacher": _case(zeros, gaps, [0, 1, 2, 0, 1, 2, 0]),
        "peaked_student__tied_teacher": _case(gaps, zeros, [0, 1, 2, 0, 1, 2, 0]),  # alpha = 1/3, index order
        "student_mode_ranked_last": _case([[0.0, 0.0, 80.0], [-3.0, 0.0, 40.0]], [[2.0, 1.0, 0.0], [0.0, 1.0, -1.0]],
                                          [0, 1]),
        "seven_classes__gaps": _case(wide, np.repeat(ranks, 3, 0), [0, 3, 6]),
        "seven_classes__reversed_teacher": _case(wide, -np.repeat(ranks, 3, 0), [6, 0, 1], 0.5),
        "ties": _case(ties, ties, [0, 1, 2, 0]),
        "teacher_ties__against_gaps": _case(gaps[:4], [[0.0, 0.0, 0.0], [5.0, 5.0, 5.0], [1.0, 1.0, 0.0],
                                                       [0.0, 1e-12, 0.0]], [2, 1, 0, 0]),
        "dominant": _case(cases.DOMINANT_ROWS, cases.DOMINANT_ROWS[:, ::-1], [1, 0, 2]),
        "masked_alike": _case(masked, np.where(np.isneginf(masked), -np.inf, [[1.0, 0.5, -2.0]]), [2, 1, 0]),
        # the teacher masks classes the student keeps: weight 0, ranked last, still in the sums before them
        "teacher_masks_more": _case([[0.0, 3.0, 2.0], [1.0, 5.0, -1.0], [30.0, 0.0, 60.0]],
                                    [[-np.inf, -np.inf, 2.0], [-np.inf, 4.0, 0.0], [1.0, -np.inf, -np.inf]],
                                    [2, 1, 0]),
        "target_masked_in_both": _case([[-np.inf, 1.0, 0.0]], [[-np.inf, 0.0, 2.0]], [0]),  # its weight is 0
        "student_masks_a_teacher_class": _case([[0.0, -np.inf, 1.0]], [[0.0, -800.0, 1.0]], [0]),  # +inf
        "one_class": _case([[3.0], [-700.0]], [[1.0], [5.0]], [0, 0], 2.0),
        "small_temperature": _case([[0.3, -0.1, 0.2], [0.05, 0.0, -0.4]], [[0.1, 0.2, -0.6], [-0.3, 0.0, 0.1]],
                                   [1, 2], 1e-2),
        "reduction_mean": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([gaps[3:6, ::-1], ties[2:4]]),
                                [0, 1, 2, 0, 1], 1.0, "mean"),
        "reduction_sum": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([gaps[3:6, ::-1], ties[2:4]]),
                               [0, 1, 2, 0, 1], 4.0, "sum"),
        "defaults": _case(np.vstack([gaps[:3], ties[:2]]), np.vstack([gaps[::-1][:3], ties[2:4]]), [0, 1, 2, 0, 1],
                          None, None),
    })
    return out


def _pld_extreme() -> dict[str, dict]:
    student, teacher = extreme_pairs()
    rows = mean_rows()
    base = _case(cases.GAP_ROWS[:2], cases.GAP_ROWS[:2, ::-1], [0, 1])
    return {
        # rows spanning more than the float64 range (a choice 3.4e308 below its suffix's largest, weight 1/3 or
        # so: a finite product), +-1e300 with a subnormal, all but one masked, a subnormal near-tie
        "extreme_finite": _case(student, teacher, [0, 2, 2, 1]),
        "extreme_finite__teacher_uniform": _case(teacher, np.where(np.isneginf(teacher), -np.inf, 0.0), [1, 1, 2, 0]),
        # each row's first choice costs about 1.7e308 / 3: their sum overflows, their mean does not
        "mean_whose_sum_overflows": _case(rows, np.zeros_like(rows), [1] * len(rows), 1.0, "mean"),
        "masked_target": _case([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf]], [[0.0, 0.0, 1.0], [1.0, 2.0, 3.0]],
                               [1, 0]),
        "huge_temperature_1e+20": _case(cases.GAP_ROWS[:3], np.roll(cases.GAP_ROWS[:3], 1, -1), [0, 1, 2], 1e20),
        "huge_temperature_1e+300": _case(cases.GAP_ROWS[:3], np.roll(cases.GAP_ROWS[:3], 1, -1), [0, 1, 2], 1e300),
        **empty_batch(base, ("student_logits", "teacher_logits", "target")),
    }


def _pld_cases(extreme: bool):
    st, _ = cases.hyp()

    @st.composite
    def draw_case(draw):
        s, t = draw_pair(draw, extreme)
        # The known limit of refloss.tolerance: with teacher logits within 1 of 0 (weights that no rounding of the
        # teacher's logits moves) and student logits near 0, a component's two parts A_m and alpha_m sigma_m can
        # cancel below the condition scale (a draw with teacher logits all 0: 11 ulps). A shift of the teacher's
        # row changes neither the loss nor its gradient; the draws shift such rows away from 0.
        live = np.isfinite(t)
        near_zero = (np.where(live, np.abs(t), 0.0) <= 1.0).all(axis=-1, keepdims=True)
        t = np.where(near_zero & live, t + 4.0, t)
        y = cases.draw_class_targets(draw, np.isneginf(s))
        temp = draw(st.sampled_from([0.5, 1.0, 4.0]) | st.floats(0.05, 20.0))
        return {"student_logits": s, "teacher_logits": t, "target": y, "temperature": temp,
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()
