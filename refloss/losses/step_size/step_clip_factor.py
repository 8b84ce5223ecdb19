"""``step_clip_factor``: the controller's clip min(1, rho_a / tau) that keeps a step inside the Taylor radius;
value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ._common import DIRECTIONAL, LOGITS, PI, TEMPERATURE, arguments, bottleneck, draws, paper, spread
from .normalized_step import scalars

_STEP = Param("step_size", v.Interval(0.0), "tau >= 0: the length of the proposed step (the update's norm)")


@register(
    name="step_clip_factor",
    family="step_size",
    wrt=("directional_derivatives",),
    params=(Param("logits", LOGITS), Param("directional_derivatives", DIRECTIONAL), _STEP, TEMPERATURE),
    paper=paper("Prop. 5.2 (Eq. 19)"),
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    shift_invariant=("logits", "directional_derivatives"),
    overflow="the gradient pi T / (tau spread^2) at a small step and spread",
)
def step_clip_factor(logits: ArrayLike, directional_derivatives: ArrayLike, *, step_size: float,
                     temperature: float = 1.0) -> float:
    r"""The controller's clip :math:`s = \min(1, \rho_a/\tau)` of a batch (Sao, *Ghosts of Softmax*, Prop. 5.2,
    Eq. 19): the step :math:`s\,p` of length :math:`s\tau` has normalised step :math:`r \le 1`
    (:func:`normalized_step`, with equality where it clips). :math:`\rho_a` is the batch's radius,
    :math:`\pi T / \max_x \Delta_a(x)` (:func:`softmax_taylor_radius`); :math:`s = 1` at :math:`\tau = 0` or where no
    row has a spread. Gradient: :func:`step_clip_factor_grad`.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        directional_derivatives: :math:`a = J v` for the unit direction :math:`v`, the shape of ``logits``.
        step_size: :math:`\tau \ge 0` (required).
        temperature: :math:`T > 0` (default 1).

    >>> step_clip_factor([0.0, 0.0], [2.0, 0.0], step_size=np.pi)  # rho_a = pi / 2: half the step
    0.5
    """
    z, a, t, _ = arguments(logits, directional_derivatives, temperature, True)
    widest = spread(z, a).times(1.0).max(initial=0.0)
    tau = v.scalar(step_size, _STEP.domain, "step_size")
    with np.errstate(over="ignore", divide="ignore"):
        if tau == 0.0 or widest == 0.0:
            return 1.0
        r = (tau / (PI * t)) * widest
        return 1.0 if r <= 1.0 else float(min(1.0, (PI * t / tau) / widest))


@gradient_of("step_clip_factor")
def step_clip_factor_grad(logits: ArrayLike, directional_derivatives: ArrayLike, *, step_size: float,
                          temperature: float = 1.0) -> np.ndarray:
    r"""Gradient of :func:`step_clip_factor` w.r.t. the directional derivatives: 0 where it does not clip
    (:math:`r < 1`); where it clips, :math:`s = \pi T/(\tau \Delta_a)` of the bottleneck row, whose largest
    :math:`a_k` gets :math:`-s/\Delta_a` and smallest :math:`+s/\Delta_a`. Refused at :math:`r = 1` (the kink of
    the minimum) and where the bottleneck row or its extremes are tied.

    >>> step_clip_factor_grad([0.0, 0.0], [2.0, 0.0], step_size=np.pi)  # s / Delta = 1/4
    array([-0.25,  0.25])
    """
    z, a, t, _ = arguments(logits, directional_derivatives, temperature, True)
    tau = v.scalar(step_size, _STEP.domain, "step_size")
    s = spread(z, a)
    widths = s.times(1.0)
    grad = np.zeros_like(a)
    if tau == 0.0 or widths.size == 0:
        return grad
    k, alone = bottleneck(widths, largest=True)
    clip = step_clip_factor(z, a, step_size=tau, temperature=t)
    if clip == 1.0:
        if (tau / (PI * t)) * widths.reshape(-1)[k] == 1.0:
            raise v.RefLossError("the step is exactly at the radius (r = 1): the clip min(1, 1/r) has a kink there")
        return grad
    if not alone or not s.unique.reshape(-1)[k]:
        raise v.RefLossError("the bottleneck row or its largest or smallest directional derivative is tied: the clip "
                             "is not differentiable there")
    selected = np.arange(widths.size).reshape(widths.shape) == k
    slope = np.where(selected, s.over(clip), 0.0)[..., None]
    np.put_along_axis(grad, s.top[..., None], -slope, -1)
    np.put_along_axis(grad, s.bottom[..., None], slope, -1)
    return grad


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        case = drawn(draws(extreme, **scalars(extreme)))
        case.pop("batch")
        if not extreme:  # steps that clip, and steps that do not, away from r = 1
            case["step_size"] = drawn(st.sampled_from([0.0, 0.01, 0.3, 5.0, 40.0]))
        return case

    return draw()


def _stress() -> dict:
    z = np.array([[2.0, 0.0, -1.0], [40.0, 0.0, -40.0], [0.0, -np.inf, 1.0]])
    a = np.array([[0.5, -1.0, 0.25], [1e-8, -1e-8, 0.0], [3.0, 100.0, -2.0]])
    return {
        "clips": {"logits": z, "directional_derivatives": a, "step_size": 1.0},
        "does_not_clip": {"logits": z, "directional_derivatives": a, "step_size": 0.01},
        "temperature": {"logits": z, "directional_derivatives": a, "step_size": 1.0, "temperature": 0.25},
        "zero_step": {"logits": z, "directional_derivatives": a, "step_size": 0.0},
        "no_spread": {"logits": np.zeros(2), "directional_derivatives": np.array([0.5, 0.5]), "step_size": 2.0},
        "just_above_the_radius": {"logits": np.zeros(2), "directional_derivatives": np.array([1.0, 0.0]),
                                  "step_size": np.nextafter(np.pi, 4.0)},
    }


def _extreme() -> dict:
    return {
        "huge_step": {"logits": np.zeros(2), "directional_derivatives": np.array([-1.7e308, 1.7e308]),
                      "step_size": 1.7e308},
        "subnormal_spread": {"logits": np.zeros(2), "directional_derivatives": np.array([5e-324, 0.0]),
                             "step_size": 1e300},
    }
