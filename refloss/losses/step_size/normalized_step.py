"""``normalized_step``: a step's size in units of its Taylor radius, r = tau / rho_a; value, closed-form gradient,
registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ._common import BATCH, DIRECTIONAL, LOGITS, PI, TEMPERATURE, arguments, bottleneck, draws, paper, spread

_STEP = Param("step_size", v.Interval(0.0), "tau >= 0: the length of the step (the update's norm)")


def _step(step_size) -> float:
    return v.scalar(step_size, _STEP.domain, "step_size")


@register(
    name="normalized_step",
    family="step_size",
    wrt=("directional_derivatives",),
    params=(Param("logits", LOGITS), Param("directional_derivatives", DIRECTIONAL), _STEP, TEMPERATURE, BATCH),
    paper=paper("Def. 5.1 (Eq. 17); the batch's radius Def. 4.7; temperature Sec. 6.4"),
    strategy=lambda extreme: draws(extreme, **scalars(extreme)),
    stress=lambda: stress(),
    extreme=lambda: _extreme(),
    shift_invariant=("logits", "directional_derivatives"),
    overflow="the value tau Delta_a / (pi T) at a step size and spread near 1.7e308",
)
def normalized_step(logits: ArrayLike, directional_derivatives: ArrayLike, *, step_size: float,
                    temperature: float = 1.0, batch: bool = False):
    r"""The normalised step :math:`r = \tau / \rho_a = \tau\,\Delta_a / (\pi T)` of a step of length :math:`\tau`
    along the direction whose directional logit derivatives are :math:`a` (Sao, *Ghosts of Softmax*, Def. 5.1,
    Eq. 17, :math:`T = 1`), with :math:`\rho_a` of :func:`softmax_taylor_radius`.

    :math:`r < 1` keeps the step inside every row's Taylor disc; the paper reports no failure below 1 and collapse
    once :math:`r \ge 1`. For gradient descent (:math:`\tau = \eta \|\nabla f\|`), :math:`r < 1` is
    :math:`\eta < \pi / (\Delta_a \|\nabla f\|)` (Eq. 18). ``batch=True`` gives the batch's
    :math:`\tau \max_x \Delta_a(x)/(\pi T)`. A row with equal :math:`a_k` (or one class) has :math:`r = 0`. The
    controller's clip is :func:`step_clip_factor`. Gradient: :func:`normalized_step_grad`.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        directional_derivatives: :math:`a = J v` for the unit direction :math:`v`, the shape of ``logits``.
        step_size: :math:`\tau \ge 0` (required).
        temperature: :math:`T > 0` (default 1).
        batch: ``False`` (default): one number per row; ``True``: the batch's.

    >>> normalized_step([0.0, 0.0, 0.0], [1.0, -1.0, 0.5], step_size=np.pi)  # tau = pi, spread 2
    2.0
    """
    z, a, t, batch = arguments(logits, directional_derivatives, temperature, batch)
    rows = spread(z, a).times(_step(step_size) / (PI * t))
    if batch:
        return float(rows.max(initial=0.0))
    return rows if rows.ndim else float(rows)


@gradient_of("normalized_step")
def normalized_step_grad(logits: ArrayLike, directional_derivatives: ArrayLike, *, step_size: float,
                         temperature: float = 1.0, batch: bool = False) -> np.ndarray:
    r"""Gradient of :func:`normalized_step` (of the sum over the rows, or of the batch's value) w.r.t. the
    directional derivatives: :math:`+\tau/(\pi T)` at the class of the largest :math:`a_k`, :math:`-\tau/(\pi T)` at
    the smallest, 0 elsewhere (and outside the bottleneck row for ``batch=True``). Refused where the largest or
    smallest :math:`a_k` of a row, or the bottleneck row, is tied (equal :math:`a_k` included): the maximum and
    minimum have a kink there.

    >>> normalized_step_grad([0.0, 0.0, 0.0], [1.0, -1.0, 0.5], step_size=np.pi)
    array([ 1., -1.,  0.])
    """
    z, a, t, batch = arguments(logits, directional_derivatives, temperature, batch)
    s = spread(z, a)
    slope = _step(step_size) / (PI * t)
    selected = np.ones(s.hi.shape, dtype=bool)
    if batch:
        if s.hi.size == 0:
            raise v.RefLossError("logits has no rows: the batch's normalised step is 0 with no gradient")
        k, alone = bottleneck(s.times(1.0), largest=True)
        if not alone:
            raise v.RefLossError("two rows share the batch's largest spread: the normalised step is not "
                                 "differentiable there")
        selected = np.arange(s.hi.size).reshape(s.hi.shape) == k
    if not (s.unique & (s.hi != s.lo))[selected].all():
        raise v.RefLossError("a row's largest or smallest directional derivative is attained twice: the normalised "
                             "step is not differentiable there")
    part = np.where(selected, slope, 0.0)[..., None]
    grad = np.zeros_like(a)
    np.put_along_axis(grad, s.top[..., None], part, -1)
    np.put_along_axis(grad, s.bottom[..., None], -part, -1)
    return grad


def scalars(extreme: bool) -> dict:
    from ... import _cases as cases

    st, _ = cases.hyp()
    steps = [0.0, 1e-3, 0.5, 2.0] if not extreme else [0.0, 1e-300, 1.0, 1e300]
    return {"step_size": st.sampled_from(steps), "temperature": st.sampled_from([1.0, 0.5, 3.0])}


def stress() -> dict:
    z = np.array([[2.0, 0.0, -1.0], [40.0, 0.0, -40.0], [0.0, -np.inf, 1.0]])
    a = np.array([[0.5, -1.0, 0.25], [1e-8, -1e-8, 0.0], [3.0, 100.0, -2.0]])
    return {
        "three_rows": {"logits": z, "directional_derivatives": a, "step_size": 0.1},
        "batch": {"logits": z, "directional_derivatives": a, "step_size": 0.1, "batch": True},
        "temperature": {"logits": z, "directional_derivatives": a, "step_size": 2.0, "temperature": 0.25},
        "zero_step": {"logits": z, "directional_derivatives": a, "step_size": 0.0},
        "one_class": {"logits": np.array([[3.0], [1.0]]), "directional_derivatives": np.array([[2.0], [5.0]]),
                      "step_size": 1.0},
    }


def _extreme() -> dict:
    return {
        "spread_past_the_range": {"logits": np.zeros(2), "directional_derivatives": np.array([-1.7e308, 1.7e308]),
                                  "step_size": 1e-300},
        "subnormal_spread": {"logits": np.zeros(2), "directional_derivatives": np.array([5e-324, 0.0]),
                             "step_size": 1e300},
    }
