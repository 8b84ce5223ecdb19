"""``softmax_taylor_radius``: the multiclass lower bound pi / spread(a) on the Taylor radius of cross-entropy along
a step; value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ._common import BATCH, DIRECTIONAL, LOGITS, PI, TEMPERATURE, arguments, bottleneck, draws, paper, spread


@register(
    name="softmax_taylor_radius",
    family="step_size",
    wrt=("directional_derivatives",),
    params=(Param("logits", LOGITS), Param("directional_derivatives", DIRECTIONAL), TEMPERATURE, BATCH),
    paper=paper("Def. 4.4 and Thm 4.6 (Eqs. 11-12); the batch's radius Def. 4.7 (Eq. 14); temperature Sec. 6.4"),
    strategy=lambda extreme: draws(extreme, temperature=_temperatures()),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    shift_invariant=("logits", "directional_derivatives"),
    overflow="the radius pi T / spread where the spread is below about 2e-308, its gradient pi T / spread^2 below "
             "about 1e-154",
)
def softmax_taylor_radius(logits: ArrayLike, directional_derivatives: ArrayLike, *, temperature: float = 1.0,
                          batch: bool = False):
    r"""The lower bound :math:`\rho_a = \pi T / \Delta_a` on the radius of convergence of the Taylor series, in the
    step size :math:`\tau`, of each row's cross-entropy along a step, with
    :math:`\Delta_a = \max_k a_k - \min_k a_k` the spread of the directional logit derivatives over the unmasked
    classes (Sao, *Ghosts of Softmax*, Def. 4.4 and Thm 4.6, :math:`T = 1`).

    Under linearised logits :math:`z + \tau a` every complex zero of the partition function
    :math:`F(\tau) = \sum_k e^{z_k + a_k \tau}` has :math:`|\mathrm{Im}\,\tau| \ge \pi/\Delta_a` (for a smaller
    imaginary part the phases :math:`a_k \mathrm{Im}\,\tau` lie in an arc shorter than :math:`\pi`, so the terms
    cannot cancel), and the loss :math:`\log F(\tau) - z_y - a_y\tau` is analytic up to the nearest zero. The
    bound does not depend on the logits' values: they only say which classes are masked. ``batch=True`` gives the
    batch's radius :math:`\pi T / \max_x \Delta_a(x)`, its bottleneck row's (Def. 4.7). The paper's repository
    computes a proxy from the spread of the logits themselves (``compute_rho_out``); this is the paper's
    definition, from :math:`a = J v`. Gradient: :func:`softmax_taylor_radius_grad`; conventions of the family:
    :mod:`refloss.losses.step_size`.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        directional_derivatives: :math:`a`, finite, the shape of ``logits``.
        temperature: :math:`T > 0` (default 1).
        batch: ``False`` (default): one radius per row; ``True``: the batch's.

    Returns:
        The radius of each row, shape ``logits.shape[:-1]`` (a float for one row or ``batch=True``); :math:`+\infty`
        where the unmasked :math:`a_k` are all equal (one class included): :math:`F` has no zero.

    >>> softmax_taylor_radius([0.0, 1.0, 2.0], [0.5, -0.5, 1.5])  # pi / 2
    1.5707963267948966
    >>> softmax_taylor_radius([[0.0, 1.0], [0.0, -np.inf]], [[0.0, 4.0], [0.0, 9.0]], batch=False)
    array([0.78539816,        inf])
    """
    z, a, t, batch = arguments(logits, directional_derivatives, temperature, batch)
    rows = spread(z, a).over(PI * t)
    if batch:
        return float(rows.min(initial=np.inf))
    return rows if rows.ndim else float(rows)


@gradient_of("softmax_taylor_radius")
def softmax_taylor_radius_grad(logits: ArrayLike, directional_derivatives: ArrayLike, *, temperature: float = 1.0,
                               batch: bool = False) -> np.ndarray:
    r"""Gradient of :func:`softmax_taylor_radius` (of the sum over the rows, or of the batch's radius) w.r.t. the
    directional derivatives: :math:`-\rho_a / \Delta_a = -\pi T/\Delta_a^2` at the class of the largest
    :math:`a_k`, :math:`+\rho_a/\Delta_a` at the smallest, 0 elsewhere (and, for ``batch=True``, 0 outside the
    bottleneck row). Refused where a radius is infinite or where the largest or smallest :math:`a_k` (or the
    bottleneck row) is tied: the function is not differentiable there.

    >>> softmax_taylor_radius_grad([0.0, 1.0, 2.0], [0.5, -0.5, 1.5])  # pi / 4 at the ends
    array([ 0.        ,  0.78539816, -0.78539816])
    """
    z, a, t, batch = arguments(logits, directional_derivatives, temperature, batch)
    s = spread(z, a)
    rows = s.over(PI * t)
    if batch:
        if rows.size == 0:
            raise v.RefLossError("logits has no rows: the batch's radius is +inf, with no gradient")
        k, alone = bottleneck(rows, largest=False)
        if not alone:
            raise v.RefLossError("two rows share the batch's smallest radius: the batch's radius is not "
                                 "differentiable there")
        selected = np.zeros(rows.shape, dtype=bool).reshape(-1)
        selected[k] = True
        selected = selected.reshape(rows.shape)
    else:
        selected = np.ones(rows.shape, dtype=bool)
    if (s.hi == s.lo)[selected].any():
        raise v.RefLossError("a row's unmasked directional_derivatives are all equal: its radius is +inf, with no "
                             "gradient")
    if not s.unique[selected].all():
        raise v.RefLossError("a row's largest or smallest directional derivative is attained twice: the radius is "
                             "not differentiable there")
    slope = np.where(selected, s.over(np.where(selected, rows, 0.0)), 0.0)
    grad = np.zeros_like(a)
    np.put_along_axis(grad, s.top[..., None], -slope[..., None], -1)
    np.put_along_axis(grad, s.bottom[..., None], slope[..., None], -1)
    return grad


def _temperatures():
    from ... import _cases as cases

    return cases.hyp()[0].sampled_from([1.0, 0.5, 3.0])


def _stress() -> dict:
    z = np.array([[2.0, 0.0, -1.0], [40.0, 0.0, -40.0], [0.0, -np.inf, 1.0]])
    a = np.array([[0.5, -1.0, 0.25], [1e-8, -1e-8, 0.0], [3.0, 100.0, -2.0]])
    return {
        "three_rows": {"logits": z, "directional_derivatives": a},  # the defaults; a mask in the last row
        "batch_bottleneck": {"logits": z, "directional_derivatives": a, "batch": True},
        "temperature": {"logits": z, "directional_derivatives": a, "temperature": 0.25},
        "one_class": {"logits": np.array([[3.0], [1.0]]), "directional_derivatives": np.array([[2.0], [5.0]])},
        "equal_directional_derivatives": {"logits": np.array([1.0, 2.0]), "directional_derivatives":
                                          np.array([0.7, 0.7])},
        "tied_largest": {"logits": np.zeros(3), "directional_derivatives": np.array([1.0, 1.0, -1.0])},
        "nearly_equal_large": {"logits": np.zeros(2), "directional_derivatives": np.array([1e8, 1e8 + 2.0**-26])},
    }


def _extreme() -> dict:
    return {
        "spread_past_the_range": {"logits": np.zeros(2), "directional_derivatives": np.array([-1.7e308, 1.7e308])},
        "subnormal_spread": {"logits": np.zeros(2), "directional_derivatives": np.array([5e-324, 0.0])},
        "huge_logits": {"logits": np.array([1.7e308, -1.7e308]), "directional_derivatives": np.array([1.0, -2.0])},
    }
