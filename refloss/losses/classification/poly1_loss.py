"""``poly1_loss``: PolyLoss's Poly-1 (cross-entropy plus epsilon (1 - p_y)); value, closed-form gradient,
registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Paper, Param, gradient_of, register
from ...numerics import _log_softmax, expm1mx
from ._common import _REDUCTION, _raise_if_masked

_POLY = Paper("PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions", arxiv="2204.12511",
              where="Z. Leng et al., ICLR 2022, the Poly-1 formulation; domain epsilon >= -1 is refloss's (see the "
              "docstring)")


def _poly1_terms(logits, target, epsilon, reduction):
    z = v.logits(logits)
    check_reduction(reduction)
    epsilon = v.scalar(epsilon, _POLY_EPSILON, "epsilon")
    y = v.class_targets(target, z.shape, None, "target")
    logp = _log_softmax(z)
    masked_target = np.take_along_axis(np.isneginf(z), y[..., None], axis=-1)[..., 0]
    return y, logp, np.take_along_axis(logp, y[..., None], axis=-1)[..., 0], epsilon, masked_target


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
    y, logp, s, epsilon, _ = _poly1_terms(logits, target, epsilon, reduction)
    with np.errstate(invalid="ignore"):  # a masked target: s = -inf, the loss is +inf
        if epsilon >= 0.0:
            losses = -s - epsilon * np.expm1(s)
        else:
            losses = (1.0 + epsilon) * -s - epsilon * expm1mx(np.where(np.isneginf(s), 0.0, s))
            losses = np.where(np.isneginf(s), np.inf, losses)
    return reduce(losses, reduction)


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
    y, logp, s, epsilon, masked_target = _poly1_terms(logits, target, epsilon, reduction)
    _raise_if_masked(masked_target, np.ones(masked_target.shape), "poly1_loss")
    one_minus_p = -np.expm1(s)
    factor = (1.0 + epsilon * np.exp(s)) if epsilon >= 0.0 else (1.0 + epsilon) - epsilon * one_minus_p
    grad = np.exp(logp)
    np.put_along_axis(grad, y[..., None], -one_minus_p[..., None], axis=-1)
    return reduce_scale(y.shape, reduction) * factor[..., None] * grad
