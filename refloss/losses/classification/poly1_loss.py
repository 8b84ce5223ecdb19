"""``poly1_loss``: PolyLoss's Poly-1 (cross-entropy plus epsilon (1 - p_y)); value, closed-form gradient,
registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Paper, Param, gradient_of, register, value_and_grad_of
from ...numerics import expm1mx, softmax_parts
from ._common import (
    _MASKED_ROW_TARGETS,
    _REAL_TARGETS,
    _REDUCTION,
    _SOFT_TARGETS,
    _raise_if_masked,
    _softmax_minus_coefficients,
)

_POLY = Paper("PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions", arxiv="2204.12511",
              where="Z. Leng et al., ICLR 2022, the Poly-1 formulation; domain epsilon >= -1 is refloss's (see the "
              "docstring)")


def _poly1_inputs(logits, target, epsilon, reduction):
    """(logits, targets, epsilon, batch shape): class indices, or real targets of the logits' shape (dispatched on
    the shape, as :func:`refloss.cross_entropy`)."""
    z = v.logits(logits)
    check_reduction(reduction)
    epsilon = v.scalar(epsilon, _POLY_EPSILON, "epsilon")
    target_arr = v.as_array(target, "target")
    if target_arr.shape == z.shape and z.ndim:
        if target_arr.dtype.kind != "f":
            raise v.RefLossError(f"target has the shape of logits, so it holds probabilities and must be floating "
                                 f"point, got dtype {target_arr.dtype}")
        return z, v.real_targets(target_arr, z.shape, "target"), epsilon, z.shape[:-1]
    y = v.class_targets(target_arr, z.shape, None, "target")
    return z, y, epsilon, y.shape


class _Poly1Terms(NamedTuple):
    """The terms of a block of rows (N, C)."""

    z: np.ndarray  # (N, C) logits
    y: np.ndarray  # (N,) class indices, or (N, C) probability targets t
    shifted: np.ndarray  # (N, C) z - max: log p = shifted - log_total
    log_total: np.ndarray  # (N, 1)
    s: np.ndarray  # (N,) log p_y, or (N, C) log p with probability targets


def _poly1_terms(z, y) -> _Poly1Terms:
    """The terms of validated rows ``z`` (N, C) and their targets (N,) or (N, C) (all rows, or a block)."""
    shifted, _, log_total, _ = softmax_parts(z)
    if y.ndim == z.ndim:
        return _Poly1Terms(z, y, shifted, log_total, shifted - log_total)
    return _Poly1Terms(z, y, shifted, log_total,
                       np.take_along_axis(shifted, y[..., None], axis=-1)[..., 0] - log_total[..., 0])


_POLY_EPSILON = v.Interval(-1.0)


@register(
    name="poly1_loss",
    family="classification",
    wrt=("logits",),
    params=(Param("logits", v.LOGITS),
            Param("target", v.ArrayArg("int class indices of shape logits.shape[:-1], or real targets of logits' "
                                       "shape (probabilities; any real t, as cross_entropy)", "class_targets",
                                       class_axis=True)),
            Param("epsilon", _POLY_EPSILON, "coefficient of the first polynomial term (1 - p_y)"), _REDUCTION),
    paper=_POLY,
    strategy=lambda extreme: _poly1_cases(extreme),
    stress=lambda: {**cases.softmax_stress(epsilon=(-1.0, -0.5, 0.0, 1.0, 2.0)), **_probability_stress()},
    shift_invariant=("logits",),
    sample_weight=True,
)
def poly1_loss(logits: ArrayLike, target: ArrayLike, *, epsilon: float = 1.0, reduction: str = "mean"):
    r"""Poly-1 loss: cross-entropy plus :math:`\varepsilon` times its first polynomial term, :math:`1 - p_y`.

    PolyLoss writes cross-entropy as :math:`-\log p_y = \sum_{j \ge 1} (1 - p_y)^j / j` and perturbs the
    leading coefficient: :math:`\ell = -\log p_y + \varepsilon (1 - p_y)`. With :math:`s = \log p_y` it is
    evaluated as a sum of two non-negative terms: :math:`-s + \varepsilon(-\mathrm{expm1}(s))` for
    :math:`\varepsilon \ge 0` and :math:`(1 + \varepsilon)(-s) + (-\varepsilon)(e^s - 1 - s)` for
    :math:`\varepsilon < 0` (:func:`refloss.numerics.expm1mx`), so at :math:`\varepsilon = -1`, where the loss
    is :math:`e^s - 1 - s \approx s^2/2`, no digit is lost (``-log p + eps (1 - p)`` as written loses all of
    them at a logit gap of 40). ``"mean"`` divides by the number of elements.

    **Probability targets** :math:`t` (a float array of the logits' shape; optax's ``poly_loss_cross_entropy``):
    :math:`\ell = \sum_c t_c\,(-\log p_c + \varepsilon (1 - p_c))`, cross-entropy with targets :math:`t` plus
    :math:`\varepsilon \sum_c t_c (1 - p_c)` (optax's form), each class's term evaluated as the class-target loss
    above. As for :func:`cross_entropy`, :math:`t` may be any real array (rows need not sum to 1), and a class with
    :math:`t_c = 0` contributes 0 even where it is masked.

    **Convention.** The domain :math:`\varepsilon \ge -1` is refloss's: it keeps the coefficient
    :math:`1 + \varepsilon` of :math:`(1 - p_y)` non-negative, as the paper's expansion coefficients
    :math:`\alpha_j \in \mathbb{R}^+` require, and makes the loss non-increasing in :math:`p_y`; the paper's text
    stating a range was not available to us. The paper recommends :math:`\varepsilon = 2` for ImageNet
    classification and :math:`\varepsilon = -1` for detection.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``, or real targets ``(..., C)``.
        epsilon: :math:`\varepsilon \ge -1`; ``epsilon=0`` is :func:`cross_entropy`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> z = [[0.0, np.log(3.0)]]  # p = (1/4, 3/4), target 1
    >>> round(poly1_loss(z, [1], epsilon=1.0), 15)  # log(4/3) + 1/4
    0.537682072451781

    Reference: Leng et al. (2022), Poly-1.
    """
    z, y, epsilon, batch = _poly1_inputs(logits, target, epsilon, reduction)
    (losses,) = _passes(z, y, _losses_with(epsilon))
    return reduce(losses.reshape(batch), reduction)


@gradient_of("poly1_loss")
def poly1_loss_grad(logits: ArrayLike, target: ArrayLike, *, epsilon: float = 1.0, reduction: str = "mean"):
    r"""Gradient of :func:`poly1_loss` with respect to ``logits`` (closed form below).

    The factor :math:`1 + \varepsilon p_y` is evaluated as :math:`(1 + \varepsilon) + (-\varepsilon)(1 - p_y)`
    for :math:`\varepsilon < 0` (two non-negative terms, :math:`1 - p_y = -\mathrm{expm1}(s)`), and the target
    component :math:`p_y - 1` as :math:`\mathrm{expm1}(s)`.

    Raises:
        RefLossError: as :func:`poly1_loss`, and when the loss is +inf (a target class has logit ``-inf``).

    >>> poly1_loss_grad([[0.0, 0.0]], [0], epsilon=0.0)  # epsilon = 0 is cross-entropy: p - e_y
    array([[-0.5,  0.5]])
    """
    z, y, epsilon, batch = _poly1_inputs(logits, target, epsilon, reduction)
    (grad,) = _passes(z, y, _gradient_with(epsilon, reduce_scale(batch, reduction)))
    return grad.reshape(z.shape)


@value_and_grad_of("poly1_loss")
def _poly1_loss_value_and_grad(logits: ArrayLike, target: ArrayLike, *, epsilon: float = 1.0, reduction: str = "mean"):
    """:func:`poly1_loss` and :func:`poly1_loss_grad` from one log-softmax per block of rows."""
    z, y, epsilon, batch = _poly1_inputs(logits, target, epsilon, reduction)
    losses, grad = _passes(z, y, _losses_with(epsilon), _gradient_with(epsilon, reduce_scale(batch, reduction)))
    return reduce(losses.reshape(batch), reduction), grad.reshape(z.shape)


def _passes(z, y, *outputs):
    rows = as_rows(z)
    return outputs_by_rows(_poly1_terms, outputs, rows, y.reshape(rows.shape) if y.ndim == z.ndim else y.reshape(-1))


def _class_losses(s: np.ndarray, epsilon: float) -> np.ndarray:
    """-s + epsilon (1 - e^s) at log-probabilities s, as two non-negative terms (+inf at s = -inf)."""
    with np.errstate(invalid="ignore"):  # s = -inf: the loss is +inf
        if epsilon >= 0.0:
            return -s - epsilon * np.expm1(s)
        out = (1.0 + epsilon) * -s - epsilon * expm1mx(np.where(np.isneginf(s), 0.0, s))
        return np.where(np.isneginf(s), np.inf, out)


def _losses_with(epsilon: float):
    """The losses of a block's terms (N,)."""

    def losses(t: _Poly1Terms) -> np.ndarray:
        if t.y.ndim == t.z.ndim:  # sum_c t_c f(log p_c), 0 where t_c = 0 (also on a masked class)
            per_class = np.zeros(t.z.shape)
            nonzero = t.y != 0
            np.multiply(t.y, _class_losses(np.where(nonzero, t.s, 0.0), epsilon), out=per_class, where=nonzero)
            return per_class.sum(axis=-1)
        return _class_losses(t.s, epsilon)

    return losses


def _gradient_with(epsilon: float, scale: float):
    """The gradient of a block's terms (N, C), times the reduction's ``scale`` (one factor per row first)."""

    def gradient(t: _Poly1Terms) -> np.ndarray:
        if t.y.ndim == t.z.ndim:
            _raise_if_masked(np.isneginf(t.z), t.y, "poly1_loss")
            return scale * _softmax_minus_coefficients(t.s, t.y * _one_plus_epsilon_p(t.s, epsilon))
        masked_target = np.isneginf(np.take_along_axis(t.z, t.y[..., None], axis=-1)[..., 0])
        _raise_if_masked(masked_target, np.ones(masked_target.shape), "poly1_loss")
        one_minus_p = -np.expm1(t.s)
        factor = (1.0 + epsilon * np.exp(t.s)) if epsilon >= 0.0 else (1.0 + epsilon) - epsilon * one_minus_p
        grad = np.exp(t.shifted - t.log_total)
        np.put_along_axis(grad, t.y[..., None], -one_minus_p[..., None], axis=-1)
        return scale * factor[..., None] * grad

    return gradient


def _one_plus_epsilon_p(logp: np.ndarray, epsilon: float) -> np.ndarray:
    """1 + epsilon p, as (1 + epsilon) + (-epsilon)(1 - p) (two non-negative terms) for epsilon < 0."""
    if epsilon >= 0.0:
        return 1.0 + epsilon * np.exp(logp)
    return (1.0 + epsilon) - epsilon * -np.expm1(logp)


def _probability_stress():
    gaps = cases.GAP_ROWS
    out = {}
    for eps in (-1.0, -0.5, 1.0, 2.0):
        label = cases.value_label(eps)
        # optax's probability targets; real targets that are not probabilities (refloss's rule, as cross_entropy)
        out[f"probabilities__epsilon_{label}"] = {"logits": gaps[[0, 3, 5, 6]], "target": _SOFT_TARGETS,
                                                  "epsilon": eps, "reduction": "none"}
        out[f"probabilities_unnormalised__epsilon_{label}"] = {"logits": gaps[[1, 2, 4, 6]], "target": _REAL_TARGETS,
                                                               "epsilon": eps, "reduction": "none"}
    out["probabilities_zero_on_masked__mean"] = {"logits": cases.MASKED_ROWS, "target": _MASKED_ROW_TARGETS,
                                                 "epsilon": 2.0, "reduction": "mean"}
    return out


def _poly1_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, mask = cases.draw_logits(draw, extreme)
        case = {"logits": z, "epsilon": cases.draw_scalar(draw, _POLY_EPSILON),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}
        if draw(st.booleans()):
            return {**case, "target": cases.draw_probabilities(draw, mask)}
        return {**case, "target": cases.draw_class_targets(draw, mask)}

    return draw_case()
