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
from ._common import _REDUCTION, _raise_if_masked

_POLY = Paper("PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions", arxiv="2204.12511",
              where="Z. Leng et al., ICLR 2022, the Poly-1 formulation; domain epsilon >= -1 is refloss's (see the "
              "docstring)")


def _poly1_inputs(logits, target, epsilon, reduction):
    z = v.logits(logits)
    check_reduction(reduction)
    epsilon = v.scalar(epsilon, _POLY_EPSILON, "epsilon")
    return z, v.class_targets(target, z.shape, None, "target"), epsilon


class _Poly1Terms(NamedTuple):
    """The terms of a block of rows (N, C)."""

    z: np.ndarray  # (N, C) logits
    y: np.ndarray  # (N,) class indices
    shifted: np.ndarray  # (N, C) z - max: log p = shifted - log_total
    log_total: np.ndarray  # (N, 1)
    s: np.ndarray  # (N,) log p_y


def _poly1_terms(z, y) -> _Poly1Terms:
    """The terms of validated rows ``z`` (N, C) and their targets (N,) (all rows, or a block)."""
    shifted, _, log_total, _ = softmax_parts(z)
    return _Poly1Terms(z, y, shifted, log_total,
                       np.take_along_axis(shifted, y[..., None], axis=-1)[..., 0] - log_total[..., 0])


_POLY_EPSILON = v.Interval(-1.0)


@register(
    name="poly1_loss",
    family="classification",
    wrt=("logits",),
    params=(Param("logits", v.LOGITS), Param("target", v.CLASS_TARGETS),
            Param("epsilon", _POLY_EPSILON, "coefficient of the first polynomial term (1 - p_y)"), _REDUCTION),
    paper=_POLY,
    stress=lambda: cases.softmax_stress(epsilon=(-1.0, -0.5, 0.0, 1.0, 2.0)),
    shift_invariant=("logits",),
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

    **Convention.** Class targets (optax's ``poly_loss_cross_entropy`` also takes probability targets).
    The domain :math:`\varepsilon \ge -1` is refloss's: it keeps the coefficient :math:`1 + \varepsilon` of
    :math:`(1 - p_y)` non-negative, as the paper's expansion coefficients :math:`\alpha_j \in \mathbb{R}^+`
    require, and makes the loss non-increasing in :math:`p_y`; the paper's text stating a range was not
    available to us. The paper recommends :math:`\varepsilon = 2` for ImageNet classification and
    :math:`\varepsilon = -1` for detection.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        epsilon: :math:`\varepsilon \ge -1`; ``epsilon=0`` is :func:`cross_entropy`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> z = [[0.0, np.log(3.0)]]  # p = (1/4, 3/4), target 1
    >>> round(poly1_loss(z, [1], epsilon=1.0), 15)  # log(4/3) + 1/4
    0.537682072451781

    Reference: Leng et al. (2022), Poly-1.
    """
    z, y, epsilon = _poly1_inputs(logits, target, epsilon, reduction)
    (losses,) = _passes(z, y, _losses_with(epsilon))
    return reduce(losses.reshape(y.shape), reduction)


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
    z, y, epsilon = _poly1_inputs(logits, target, epsilon, reduction)
    (grad,) = _passes(z, y, _gradient_with(epsilon, reduce_scale(y.shape, reduction)))
    return grad.reshape(z.shape)


@value_and_grad_of("poly1_loss")
def _poly1_loss_value_and_grad(logits: ArrayLike, target: ArrayLike, *, epsilon: float = 1.0, reduction: str = "mean"):
    """:func:`poly1_loss` and :func:`poly1_loss_grad` from one log-softmax per block of rows."""
    z, y, epsilon = _poly1_inputs(logits, target, epsilon, reduction)
    losses, grad = _passes(z, y, _losses_with(epsilon), _gradient_with(epsilon, reduce_scale(y.shape, reduction)))
    return reduce(losses.reshape(y.shape), reduction), grad.reshape(z.shape)


def _passes(z, y, *outputs):
    return outputs_by_rows(_poly1_terms, outputs, as_rows(z), y.reshape(-1))


def _losses_with(epsilon: float):
    """The losses of a block's terms (N,)."""

    def losses(t: _Poly1Terms) -> np.ndarray:
        s = t.s
        with np.errstate(invalid="ignore"):  # a masked target: s = -inf, the loss is +inf
            if epsilon >= 0.0:
                return -s - epsilon * np.expm1(s)
            out = (1.0 + epsilon) * -s - epsilon * expm1mx(np.where(np.isneginf(s), 0.0, s))
            return np.where(np.isneginf(s), np.inf, out)

    return losses


def _gradient_with(epsilon: float, scale: float):
    """The gradient of a block's terms (N, C), times the reduction's ``scale`` (one factor per row first)."""

    def gradient(t: _Poly1Terms) -> np.ndarray:
        masked_target = np.isneginf(np.take_along_axis(t.z, t.y[..., None], axis=-1)[..., 0])
        _raise_if_masked(masked_target, np.ones(masked_target.shape), "poly1_loss")
        one_minus_p = -np.expm1(t.s)
        factor = (1.0 + epsilon * np.exp(t.s)) if epsilon >= 0.0 else (1.0 + epsilon) - epsilon * one_minus_p
        grad = np.exp(t.shifted - t.log_total)
        np.put_along_axis(grad, t.y[..., None], -one_minus_p[..., None], axis=-1)
        return scale * factor[..., None] * grad

    return gradient
