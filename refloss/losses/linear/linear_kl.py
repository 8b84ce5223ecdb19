"""``linear_kl``: Hinton's distillation T^2 KL between two linear heads; value, closed-form gradients,
registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._reduce import reduce_scale
from ..._registry import Paper, Param, gradient_of, register
from ...info.entropy._common import _kl_gradients, _kl_terms
from ...info.entropy.kl_divergence_logits import kl_divergence_logits
from ._common import _GAP_C, _GAP_E, _HIDDEN_STATES, TEMPERATURE, _head_inputs, _head_logits

_HINTON = Paper(
    "Distilling the Knowledge in a Neural Network",
    arxiv="1503.02531",
    where="section 2: the soft targets softmax(t/T) and the T^2 factor that keeps the gradient's scale; the "
    "linear heads as in Cut Your Losses in Large-Vocabulary Language Models (arXiv:2411.09009)",
)


class LinearKLGrad(NamedTuple):
    """Gradient of :func:`linear_kl` w.r.t. the hidden states and both classifiers."""

    e: np.ndarray
    c_student: np.ndarray
    c_teacher: np.ndarray


def _kl_heads(e, c_student, c_teacher, temperature, reduction):
    """Validated inputs, the temperature, and the scaled logits (t / T, s / T) of the two heads."""
    e_arr, c_s, _ = _head_inputs(e, c_student, None, "c_student")
    c_t = v.real_array(c_teacher, "c_teacher")
    if c_t.shape != c_s.shape:
        raise v.RefLossError(f"c_teacher must have the student's shape {c_s.shape} (the same classes and "
                             f"features), got {c_t.shape}")
    temp = v.scalar(temperature, TEMPERATURE, "temperature")
    v.choice(reduction, v.REDUCTIONS, "reduction")
    with np.errstate(over="ignore", under="ignore"):
        scaled = _head_logits(e_arr, c_t, None) / temp, _head_logits(e_arr, c_s, None) / temp
    if not (np.isfinite(scaled[0]).all() and np.isfinite(scaled[1]).all()):
        raise v.RefLossError("the logits divided by the temperature overflow float64; raise the temperature")
    return (e_arr, c_s, c_t), temp, scaled


@register(
    name="linear_kl",
    family="linear",
    wrt=("e", "c_student", "c_teacher"),
    params=(
        _HIDDEN_STATES,
        Param("c_student", v.ArrayArg("float student classifier (V, D)", "classifier")),
        Param("c_teacher", v.ArrayArg("float teacher classifier (V, D)", "classifier")),
        Param("temperature", TEMPERATURE, "T: both heads' logits are divided by it; the loss is multiplied by T^2"),
        Param("reduction", v.REDUCTIONS, "'mean' over rows | 'sum' | 'none'"),
    ),
    paper=_HINTON,
    strategy=lambda extreme: _linear_kl_cases(extreme),
    stress=lambda: _linear_kl_stress(),
    accel="linear_kl",
)
def linear_kl(e: ArrayLike, c_student: ArrayLike, c_teacher: ArrayLike, *, temperature: float = 1.0,
              reduction: str = "mean"):
    r"""Distillation loss of a student head against a teacher head on the same hidden states.

    Per row :math:`n`, with teacher logits :math:`t_n = c_t e_n` and student logits :math:`s_n = c_s e_n`,

    .. math:: \ell_n = T^2\,\mathrm{KL}ig(\mathrm{softmax}(t_n/T) \,\|\, \mathrm{softmax}(s_n/T)ig),

    the forward KL from the teacher's softened distribution (Hinton et al.), in nats; :math:`T^2` keeps the
    gradient w.r.t. the student's logits, :math:`T(q - p)`, on the scale of a cross-entropy's. ``"mean"``
    divides the sum by the number of rows :math:`N`, which is PyTorch's ``kl_div(..., reduction="batchmean")``
    on ``(N, V)`` logits. Evaluated by :func:`refloss.kl_divergence_logits` on :math:`(t/T, s/T)`, so the
    divergence of two nearly equal heads keeps its digits. Gradient: :func:`linear_kl_grad`.

    Args:
        e: hidden states ``(N, D)``.
        c_student: the student's classifier ``(V, D)``.
        c_teacher: the teacher's classifier ``(V, D)``.
        temperature: :math:`0 < T \le 10^4` (beyond, :math:`\mathrm{KL} \sim 1/T^2` would leave the float64
            range before :math:`T^2` restores its size).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (shape ``(N,)``).

    Raises:
        RefLossError: shapes that do not match, NaN or infinite inputs, logits beyond the float64 range,
            a temperature outside :math:`(0, 10^4]`.

    >>> e = np.array([[1.0, 0.0]])
    >>> c_teacher, c_student = np.array([[0.0, 0.0], [np.log(3.0), 0.0]]), np.zeros((2, 2))
    >>> round(linear_kl(e, c_student, c_teacher), 15)  # p = (1/4, 3/4), q = (1/2, 1/2): (3/4) log 3 - log 2
    0.130812035941137
    """
    _, temp, (t_scaled, s_scaled) = _kl_heads(e, c_student, c_teacher, temperature, reduction)
    return temp**2 * kl_divergence_logits(t_scaled, s_scaled, reduction=reduction)


@gradient_of("linear_kl")
def linear_kl_grad(e: ArrayLike, c_student: ArrayLike, c_teacher: ArrayLike, *, temperature: float = 1.0,
                   reduction: str = "mean") -> LinearKLGrad:
    r"""Gradient of :func:`linear_kl` w.r.t. ``e``, ``c_student`` and ``c_teacher``, same signature.

    With :math:`p = \mathrm{softmax}(t/T)`, :math:`q = \mathrm{softmax}(s/T)` and :math:`u = \log p - \log q`,
    the gradients w.r.t. the logits are :math:`G^s = T(q - p)` and :math:`G^t = T\,p\,(u - \mathrm{KL})`
    (times :math:`1/N` for ``"mean"``): :math:`T^2` times :func:`refloss.kl_divergence_logits_grad`'s, divided by
    :math:`T` for the scaled logits, so they keep its evaluation forms. Then :math:`\partial\ell/\partial c_s =
    {G^s}^\top e`, :math:`\partial\ell/\partial c_t = {G^t}^\top e` and

    .. math:: \frac{\partial\ell}{\partial e} = G^s c_s + G^t c_t = (G^s + G^t)\,c_s + G^t (c_t - c_s),
              \qquad G^s + G^t = T\big(q\,\varphi(u) - p\,\mathrm{KL}\big),\ \varphi(u) = 1 + (u - 1)e^u.

    Each element is taken from the form whose terms are smaller in magnitude (compared through
    :math:`|G^s||c_s| + |G^t||c_t|` and :math:`|G^s + G^t||c_s| + |G^t||c_t - c_s|`). As the student
    approaches the teacher, :math:`G^s` and :math:`G^t` are of first order in :math:`u` with opposite signs and
    their sum of second order: the right-hand form, with :math:`G^s + G^t` from the KL's own non-negative
    terms :math:`q\,\varphi(u)`, avoids that cancellation; where the heads are far apart (a student logit
    thousands above the teacher's) the left-hand form has the smaller terms.

    >>> e = np.array([[1.0, 0.0]])
    >>> c_teacher, c_student = np.array([[0.0, 0.0], [np.log(3.0), 0.0]]), np.zeros((2, 2))
    >>> linear_kl_grad(e, c_student, c_teacher).c_student  # G^s = q - p = (1/4, -1/4); (G^s)^T e
    array([[ 0.25,  0.  ],
           [-0.25,  0.  ]])
    """
    (e_arr, c_s, c_t), temp, (t_scaled, s_scaled) = _kl_heads(e, c_student, c_teacher, temperature, reduction)
    terms = _kl_terms(t_scaled, s_scaled, reduction)
    grad_p, grad_q = _kl_gradients(terms)
    scale = temp * reduce_scale(terms.kl.shape, reduction)
    g_teacher, g_student = scale * grad_p, scale * grad_q
    g_sum = scale * (terms.terms - terms.p * terms.kl[:, None])
    delta = c_t - c_s
    direct = g_student @ c_s + g_teacher @ c_t
    split = g_sum @ c_s + g_teacher @ delta
    direct_terms = np.abs(g_student) @ np.abs(c_s) + np.abs(g_teacher) @ np.abs(c_t)
    split_terms = np.abs(g_sum) @ np.abs(c_s) + np.abs(g_teacher) @ np.abs(delta)
    grad_e = np.where(split_terms < direct_terms, split, direct)
    return LinearKLGrad(grad_e, g_student.T @ e_arr, g_teacher.T @ e_arr)


def _linear_kl_stress() -> dict[str, dict]:
    def case(e, c_student, c_teacher, temperature=1.0, reduction="none"):
        return {"e": np.array(e, dtype=np.float64), "c_student": np.array(c_student, dtype=np.float64),
                "c_teacher": np.array(c_teacher, dtype=np.float64), "temperature": temperature,
                "reduction": reduction}

    # the teacher's logits are the gaps (g, 0, -g) + 0.5 (0, 1, 0); the student's are those of a flipped head
    flipped = _GAP_C[[2, 1, 0]]
    out = {f"gaps__temperature_{t:g}": case(_GAP_E, flipped, _GAP_C, t) for t in (0.5, 1.0, 2.0, 20.0)}
    out.update({
        "gaps_student_close__temperature_1": case(_GAP_E, _GAP_C * (1 + 1e-6), _GAP_C),
        "defaults": {"e": _GAP_E, "c_student": flipped, "c_teacher": _GAP_C},
        "same_heads": case(_GAP_E, _GAP_C, _GAP_C, 2.0),  # KL = 0 and every gradient 0
        "uniform_student__peaked_teacher": case(_GAP_E, np.zeros_like(_GAP_C), _GAP_C, 1.0, "mean"),
        "student_peaked_by_thousands": case([[1.0, 1.0]], [[2684.6121123613884, 0.0], [8002.959790530334, 0.0]],
                                            [[-0.99999, 0.0], [-0.99999, 0.0]], 1.0, "sum"),
        "ties": case([[0.0, 0.0], [1e-9, 0.0]], _GAP_C, flipped),
        "one_row__temperature_4": case([[0.25, -4.0]], flipped, _GAP_C, 4.0, "mean"),
        "one_class": case([[3.0, 1.0], [-700.0, 2.0]], [[1.0, -0.5]], [[0.5, 2.0]], 2.0),
        "small_temperature": case([[1.0, -2.0], [0.5, 0.5]], flipped, _GAP_C, 1e-2, "sum"),
        # heads that agree but on a tail class, and a feature equal across classes: grad_e of that feature
        # is sum_c G^s_c (-2) = 0 exactly, whatever the logits
        "close_heads_far_tail__a_constant_feature": case([[1.0, 0.0], [-1.9, 0.0]],
                                                         [[0.0, -2.0], [0.001, -2.0], [-20.0, -2.0]],
                                                         [[0.0, 0.0], [0.0, 0.0], [-15.0, 0.0]]),
    })
    return out


def _linear_kl_cases(extreme: bool):
    """Hidden states, two classifiers and a temperature; ragged N, D, V (one class and one row included)."""
    from ... import _cases as cases

    st, hnp = cases.hyp()
    bound = 100.0 if extreme else 3.0

    @st.composite
    def draw(drawn):
        n = drawn(st.integers(1, cases.LIMITS["max_side"]))
        d = drawn(st.integers(1, cases.LIMITS["max_side"]))
        n_classes = drawn(st.integers(1, cases.LIMITS["max_classes"]))
        arrays = {name: drawn(hnp.arrays(np.float64, shape, elements=cases.floats(bound)))
                  for name, shape in (("e", (n, d)), ("c_student", (n_classes, d)), ("c_teacher", (n_classes, d)))}
        # moderate draws keep T >= 0.5 so that the logits / T stay where finite differences (step 1e-3) work
        temperature = drawn(st.sampled_from([0.5, 1.0, 2.0]) | st.floats(0.5 if not extreme else 0.05, 20.0))
        return {**arrays, "temperature": temperature, "reduction": drawn(st.sampled_from(("mean", "sum", "none")))}

    return draw()
