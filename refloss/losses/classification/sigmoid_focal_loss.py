"""``sigmoid_focal_loss``: RetinaNet's sigmoid focal loss; value, closed-form gradient, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import element_rows, outputs_by_rows, reduce_by_rows
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ...numerics import power_of_exp
from ._common import (
    _FOCAL,
    _REDUCTION,
    _binary_case,
    _binary_cross_entropy,
    _binary_inputs,
    _binary_stress,
    _decay,
    _elementwise_scaled,
    _sigmoids,
)


class _SigmoidFocalTerms(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    gamma: float
    alpha_t: np.ndarray | float
    p: np.ndarray  # sigma(x)
    one_minus_p: np.ndarray  # sigma(-x)
    ce: np.ndarray  # binary cross-entropy
    m: np.ndarray  # 1 - p_t
    m_pow: np.ndarray  # (1 - p_t)^gamma, from log(1 - p_t)


def _sigmoid_focal_inputs(logits, target, gamma, alpha, reduction):
    x, y = _binary_inputs(logits, target, reduction)
    gamma = v.scalar(gamma, v.NONNEGATIVE, "gamma")
    return x, y, gamma, None if alpha is None else v.scalar(alpha, v.UNIT_INTERVAL, "alpha")


def _sigmoid_focal_terms(x, y, gamma: float, alpha: float | None) -> _SigmoidFocalTerms:
    """The terms of validated elements (all of them, or a block of rows)."""
    alpha_t = 1.0 if alpha is None else alpha * y + (1.0 - alpha) * (1.0 - y)
    decay = _decay(x)
    p, one_minus_p = _sigmoids(x, decay)
    ce = _binary_cross_entropy(x, y, decay=decay)
    m = p * (1.0 - y) + one_minus_p * y  # 1 - p_t
    # log(1 - p_t) = log(p (1-y) + (1-p) y) from log p = -softplus(-x) and log(1-p) = -softplus(x), so that
    # (1 - p_t)^gamma keeps its digits where 1 - p_t rounds to 1 and gamma is huge
    tail = np.log1p(decay)
    with np.errstate(divide="ignore"):
        log_m = np.logaddexp(-(np.maximum(-x, 0.0) + tail) + np.log1p(-y), -(np.maximum(x, 0.0) + tail) + np.log(y))
    return _SigmoidFocalTerms(x, y, gamma, alpha_t, p, one_minus_p, ce, m, power_of_exp(gamma, log_m))


@register(
    name="sigmoid_focal_loss",
    family="classification",
    wrt=("logits",),
    params=(
        Param("logits", v.ArrayArg("float logits of any shape (an empty one is an empty batch)")),
        Param("target", v.ArrayArg("labels in [0, 1] (soft labels allowed), the logits' shape")),
        Param("gamma", v.NONNEGATIVE, "focusing parameter"),
        Param("alpha", v.UNIT_INTERVAL, "weight of positives (y = 1); negatives get 1 - alpha; None: no weighting",
              optional=True),
        _REDUCTION,
    ),
    paper=_FOCAL,
    strategy=lambda extreme: _sigmoid_focal_cases(extreme),
    stress=lambda: {**{f"{name}__gamma_{g:g}": {**case, "gamma": g} for name, case in _binary_stress().items()
                       if "weight" not in case and name != "defaults" for g in (0.5, 2.0)},
                    **{f"soft_labels__gamma_0.5__alpha_{a}": {**_binary_stress()["soft_labels"], "gamma": 0.5,
                                                              "alpha": a} for a in (0.75, None)},
                    "defaults": _binary_stress()["defaults"]},
    sample_weight=True,
)
def sigmoid_focal_loss(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0, alpha: float | None = 0.25,
                       reduction: str = "mean"):
    r"""Sigmoid (detection) focal loss of RetinaNet, as in ``torchvision.ops.sigmoid_focal_loss``.

    .. math:: \ell = \alpha_t\,(1 - p_t)^{\gamma}\,\big[y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)\big],
              \quad p = \sigma(x),\ p_t = p y + (1-p)(1-y),\ \alpha_t = \alpha y + (1-\alpha)(1-y)

    elementwise. **Alpha convention** (implementations disagree): ``alpha`` weights the *positive*
    term (y = 1) and ``1 - alpha`` the negative one, as in the paper (Sec. 3.1: "alpha for class 1 and
    1 - alpha for class -1") and torchvision; ``alpha=None`` disables the weighting (torchvision's
    ``alpha=-1``). Soft labels use the same formula (:math:`\alpha_t, p_t` interpolate linearly).
    ``"mean"`` divides by the number of elements. Defaults ``alpha=0.25, gamma=2`` are the paper's;
    torchvision's default reduction is ``"none"``, ours ``"mean"``. Gradient:
    :func:`sigmoid_focal_loss_grad`.

    >>> round(sigmoid_focal_loss([0.0], [1.0]), 12)  # 0.25 * (1/2)^2 * log 2
    0.043321698785

    Reference: Lin, Goyal, Girshick, He, Dollar (2017), Sec. 3.1-3.2.
    """
    x, y, gamma, alpha = _sigmoid_focal_inputs(logits, target, gamma, alpha, reduction)

    (losses,) = reduce_by_rows(lambda x, y: _sigmoid_focal_terms(x, y, gamma, alpha), _losses, *element_rows(x, y),
                               reduction=reduction)
    return losses.reshape(x.shape) if reduction == "none" else losses


@gradient_of("sigmoid_focal_loss")
def sigmoid_focal_loss_grad(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0, alpha: float | None = 0.25,
                            reduction: str = "mean"):
    r"""Gradient of :func:`sigmoid_focal_loss` with respect to ``logits`` (closed form below).

    With :math:`m = 1 - p_t = p(1-y) + (1-p)y`, the ratio :math:`p(1-p)/m \in [0, 1]` for every :math:`y \in
    [0,1]` (since :math:`m - p(1-p) = (p-y)^2 + y(1-y) \ge 0`) and tends to 1 when :math:`m \to 0` (only
    possible for hard labels), so no negative power of :math:`m` is formed.

    >>> sigmoid_focal_loss_grad([0.0], [1.0], alpha=None, gamma=0.0, reduction="sum")  # BCE: p - y
    array([-0.5])
    """
    x, y, gamma, alpha = _sigmoid_focal_inputs(logits, target, gamma, alpha, reduction)
    (grad,) = outputs_by_rows(lambda x, y: _sigmoid_focal_terms(x, y, gamma, alpha), (_gradient,), *element_rows(x, y))
    return _elementwise_scaled(grad, x.shape, reduction)


@value_and_grad_of("sigmoid_focal_loss")
def _sigmoid_focal_loss_value_and_grad(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0,
                                       alpha: float | None = 0.25, reduction: str = "mean"):
    """:func:`sigmoid_focal_loss` and its gradient from one pass over the elements' terms."""
    x, y, gamma, alpha = _sigmoid_focal_inputs(logits, target, gamma, alpha, reduction)
    losses, grad = reduce_by_rows(lambda x, y: _sigmoid_focal_terms(x, y, gamma, alpha), _losses, *element_rows(x, y),
                                  reduction=reduction, also=(_gradient,))
    return losses.reshape(x.shape) if reduction == "none" else losses, _elementwise_scaled(grad, x.shape, reduction)


def _losses(t: _SigmoidFocalTerms) -> np.ndarray:
    return t.alpha_t * t.m_pow * t.ce


def _gradient(t: _SigmoidFocalTerms) -> np.ndarray:
    ratio = np.where(t.m > 0, t.p * t.one_minus_p / np.where(t.m > 0, t.m, 1.0), 1.0)
    p_minus_y = (1.0 - t.y) * t.p - t.y * t.one_minus_p
    # m^gamma * ce first, then the ratio in [0, 1], then gamma: at |x| ~ 1.7e308 (or gamma ~ 1e306) the
    # product gamma * ce * ratio overflows before the factor that makes it 0
    focusing = ((t.m_pow * t.ce) * ratio) * t.gamma * (1.0 - 2.0 * t.y)
    return t.alpha_t * (t.m_pow * p_minus_y + focusing)


def _sigmoid_focal_cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw_case(draw):
        x, y, reduction = _binary_case(draw, extreme)
        return {"logits": x, "target": y, "alpha": draw(st.none() | st.floats(0.0, 1.0)),
                "gamma": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0.0, 5.0)), "reduction": reduction}

    return draw_case()
