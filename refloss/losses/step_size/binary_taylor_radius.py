"""``binary_taylor_radius``: the exact Taylor radius sqrt(delta^2 + pi^2) / abs(Delta a) of a two-class
cross-entropy along a step, and its top-2 form; value, closed-form gradients, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ._common import BATCH, DIRECTIONAL, LOGITS, PI, TEMPERATURE, arguments, bottleneck, draws, paper

_TARGET = Param("target", v.ArrayArg("None (two classes) or int class indices y, shape logits.shape[:-1]"),
                "None: the two classes of a binary row; y: the pair of y and its strongest competitor",
                optional=True)


class BinaryTaylorRadiusGrad(NamedTuple):
    """Gradients of :func:`binary_taylor_radius`, one per differentiable input."""

    logits: np.ndarray
    directional_derivatives: np.ndarray


class _Pair(NamedTuple):
    """Per row: the two classes, the radius, and the parts of its gradient."""

    y: np.ndarray
    c: np.ndarray  # -1: no competitor (one unmasked class)
    radius: np.ndarray
    along_gap: np.ndarray  # d rho / d z_y = delta / (H |Delta|)
    along_slope: np.ndarray  # d rho / d a_y = -rho / Delta
    unique: np.ndarray  # the competitor is the only class of its logit
    flat: np.ndarray  # Delta = 0: radius +inf


def _pair(z: np.ndarray, a: np.ndarray, target, t: float) -> _Pair:
    if target is None:
        if z.shape[-1] != 2:
            raise v.RefLossError(f"logits has {z.shape[-1]} classes: target= names the class whose pair with its "
                                 "strongest competitor is taken (without it, two classes are needed)")
        y = np.zeros(z.shape[:-1], dtype=np.intp)
    else:
        y = v.class_targets(target, z.shape, None)
        if np.isneginf(np.take_along_axis(z, y[..., None], -1)).any():
            raise v.RefLossError("target names a masked class (logit -inf)")
    others = z.copy()
    np.put_along_axis(others, y[..., None], -np.inf, -1)
    c = others.argmax(axis=-1)
    zc = np.take_along_axis(others, c[..., None], -1)[..., 0]
    alone = ~np.isneginf(zc)
    unique = (others == zc[..., None]).sum(axis=-1) == 1
    c = np.where(alone, c, 0)
    zy, ay = (np.take_along_axis(x, y[..., None], -1)[..., 0] for x in (z, a))
    ac = np.take_along_axis(a, c[..., None], -1)[..., 0]
    zc = np.where(alone, zc, zy)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        gap, slope = zy - zc, ay - ac
        # where a difference passes the float64 range: both parts of the quotient halved (exact that far from the
        # subnormals); elsewhere unhalved, as halving a subnormal difference would lose its last bit
        wide = ~(np.isfinite(gap) & np.isfinite(slope))
        h_gap, h_slope = np.where(wide, zy / 2 - zc / 2, gap), np.where(wide, ay / 2 - ac / 2, slope)
        hyp = np.hypot(h_gap, np.where(wide, PI * t / 2, PI * t))
        flat = (slope == 0) | ~alone
        radius = np.where(flat, np.inf, hyp / np.abs(h_slope))
        half = np.where(wide, 0.5, 1.0)  # the halved slope's quotients halved back (at most one more rounding)
        along_gap = np.where(flat, 0.0, (h_gap / hyp) * half / np.abs(h_slope))
        along_slope = np.where(flat, 0.0, -(radius * half) / h_slope)
    return _Pair(y, np.where(alone, c, -1), radius, along_gap, along_slope, unique | ~alone, flat)


@register(
    name="binary_taylor_radius",
    family="step_size",
    wrt=("logits", "directional_derivatives"),
    params=(Param("logits", LOGITS), Param("directional_derivatives", DIRECTIONAL), _TARGET, TEMPERATURE, BATCH),
    paper=paper("Thm 4.3 (Eq. 10); the top-2 form Eq. 13; temperature Sec. 6.4"),
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    shift_invariant=("logits", "directional_derivatives"),
    overflow="the radius where |a_y - a_c| is below about 2e-308 times the logit gap, and its gradient",
)
def binary_taylor_radius(logits: ArrayLike, directional_derivatives: ArrayLike, *, target: ArrayLike | None = None,
                         temperature: float = 1.0, batch: bool = False):
    r"""The exact radius of convergence, in the step size :math:`\tau`, of the Taylor series of a two-class
    cross-entropy along a step:

    .. math:: \rho^* = \frac{\sqrt{\delta^2 + \pi^2 T^2}}{|\Delta|}, \qquad \delta = z_y - z_c,\quad
              \Delta = a_y - a_c

    (Sao, *Ghosts of Softmax*, Thm 4.3, Eq. 10, at :math:`T = 1`). Under linearised logits the partition function
    :math:`e^{z_y + a_y\tau} + e^{z_c + a_c\tau}` vanishes where :math:`\delta + \Delta\tau = i\pi(2k + 1)`; the
    nearest zero is at :math:`(-\delta + i\pi)/\Delta` up to conjugation (the paper writes
    :math:`(\delta + i\pi)/\Delta_{y,c}` with its own sign of :math:`\Delta`: the modulus is the same). It is at
    least :func:`softmax_taylor_radius`'s :math:`\pi T/|\Delta|`, with equality at :math:`\delta = 0`.

    With ``target=None`` the rows have two classes (which is :math:`y` does not matter: :math:`\rho^*` is
    symmetric). With ``target=y``, the top-2 form (Eq. 13): the pair of :math:`y` and its strongest competitor
    :math:`c = \arg\max_{k \ne y} z_k` over the unmasked classes (the first of equal logits); which :math:`c` the
    paper takes is our reading of "top-2", not confirmed in its text. For more than two classes this is the exact
    radius of the two-class restriction, not of the row's loss. ``batch=True`` gives the smallest radius of the
    batch. Gradients: :func:`binary_taylor_radius_grad`; conventions of the family: :mod:`refloss.losses.step_size`.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        directional_derivatives: :math:`a`, finite, the shape of ``logits``.
        target: ``None`` (two classes) or int class indices of shape ``logits.shape[:-1]``.
        temperature: :math:`T > 0` (default 1).
        batch: ``False`` (default): one radius per row; ``True``: the batch's smallest.

    Returns:
        The radius of each row, shape ``logits.shape[:-1]`` (a float for one row or ``batch=True``); :math:`+\infty`
        where :math:`a_y = a_c` or the row has one unmasked class.

    >>> binary_taylor_radius([0.0, 0.0], [1.0, -1.0])  # delta = 0: pi / 2, the lower bound
    1.5707963267948966
    >>> binary_taylor_radius([3.0, 0.0], [1.0, 0.0]) == float(np.hypot(3.0, np.pi))  # delta = 3, Delta = 1
    True
    """
    z, a, t, batch = arguments(logits, directional_derivatives, temperature, batch)
    radius = _pair(z, a, target, t).radius
    if batch:
        return float(radius.min(initial=np.inf))
    return radius if radius.ndim else float(radius)


@gradient_of("binary_taylor_radius")
def binary_taylor_radius_grad(logits: ArrayLike, directional_derivatives: ArrayLike, *,
                              target: ArrayLike | None = None, temperature: float = 1.0,
                              batch: bool = False) -> BinaryTaylorRadiusGrad:
    r"""Gradients of :func:`binary_taylor_radius` (of the sum over the rows, or of the batch's radius):

    .. math:: \frac{\partial \rho^*}{\partial z_y} = -\frac{\partial \rho^*}{\partial z_c}
              = \frac{\delta}{\sqrt{\delta^2 + \pi^2T^2}\,|\Delta|}, \qquad
              \frac{\partial \rho^*}{\partial a_y} = -\frac{\partial \rho^*}{\partial a_c} = -\frac{\rho^*}{\Delta},

    0 for the other classes (and outside the bottleneck row for ``batch=True``). Refused where a radius is
    infinite, where the competitor :math:`c` is tied with another class, or where two rows share the batch's
    smallest radius: not differentiable there.

    >>> g = binary_taylor_radius_grad([1.0, 0.0], [1.0, -1.0])
    >>> g.logits
    array([ 0.15165724, -0.15165724])
    >>> g.directional_derivatives
    array([-0.82422708,  0.82422708])
    """
    z, a, t, batch = arguments(logits, directional_derivatives, temperature, batch)
    pair = _pair(z, a, target, t)
    selected = np.ones(pair.radius.shape, dtype=bool)
    if batch:
        if pair.radius.size == 0:
            raise v.RefLossError("logits has no rows: the batch's radius is +inf, with no gradient")
        k, alone = bottleneck(pair.radius, largest=False)
        if not alone:
            raise v.RefLossError("two rows share the batch's smallest radius: it is not differentiable there")
        selected = np.arange(pair.radius.size).reshape(pair.radius.shape) == k
    if pair.flat[selected].any():
        raise v.RefLossError("a row has a_y = a_c (or one unmasked class): its radius is +inf, with no gradient")
    if not pair.unique[selected].all():
        raise v.RefLossError("the strongest competitor of the target is tied with another class: the radius is not "
                             "differentiable there")
    grads = []
    for part in (pair.along_gap, pair.along_slope):
        g = np.zeros_like(z)
        part = np.where(selected, part, 0.0)[..., None]
        np.put_along_axis(g, pair.y[..., None], part, -1)
        np.put_along_axis(g, np.maximum(pair.c, 0)[..., None], -part, -1)
        grads.append(g)
    return BinaryTaylorRadiusGrad(*grads)


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        case = drawn(draws(extreme, temperature=st.sampled_from([1.0, 0.5, 3.0])))
        z = case["logits"]
        if z.shape[-1] == 2 and drawn(st.booleans()):
            return case
        # a target whose competitor is unique: the logits made distinct, at least 0.5 apart
        rows = z.reshape(-1, z.shape[-1])
        order = np.argsort(rows, axis=-1, kind="stable")
        spaced = np.empty_like(rows)
        np.put_along_axis(spaced, order, np.arange(rows.shape[-1]) * (1e300 if extreme else 0.75), -1)
        z = (rows + spaced if not extreme else spaced).reshape(z.shape)
        target = np.array(drawn(st.lists(st.integers(0, z.shape[-1] - 1), min_size=rows.shape[0],
                                         max_size=rows.shape[0]))).reshape(z.shape[:-1])
        return case | {"logits": z, "target": target}

    return draw()


def _stress() -> dict:
    binary = {"logits": np.array([[6.123, 0.0], [0.0, 0.0], [40.0, 0.0], [0.0, -80.0]]),
              "directional_derivatives": np.array([[1.176, 0.0], [1.0, -1.0], [1e-8, 0.0], [3.0, 2.0]])}
    multi = {"logits": np.array([[2.0, 5.0, -1.0, 4.0], [0.0, -np.inf, 3.0, 1.0]]),
             "directional_derivatives": np.array([[0.5, -1.0, 7.0, 0.25], [2.0, 9.0, -1.0, 0.0]]),
             "target": np.array([0, 2])}
    return {
        "binary_rows": binary,  # the defaults
        "binary_batch": binary | {"batch": True},
        "binary_temperature": binary | {"temperature": 0.1},
        "top2": multi,
        "top2_batch": multi | {"batch": True},
        "masked_competitor_only": {"logits": np.array([1.0, -np.inf]), "directional_derivatives": np.array([1.0, 2.0]),
                                   "target": np.array(0)},
        "equal_slopes": {"logits": np.array([1.0, 0.0]), "directional_derivatives": np.array([0.5, 0.5])},
        "tied_competitors": {"logits": np.array([0.0, 1.0, 1.0]), "directional_derivatives": np.array([1.0, 2.0, 3.0]),
                             "target": np.array(0)},
        "nearly_equal_large_slopes": {"logits": np.array([1.0, 0.0]),
                                      "directional_derivatives": np.array([1e8, 1e8 + 2.0**-26])},
    }


def _extreme() -> dict:
    return {
        "gap_past_the_range": {"logits": np.array([1.7e308, -1.7e308]), "directional_derivatives": np.array([1e300,
                                                                                                            -1e300])},
        "slope_past_the_range": {"logits": np.array([1.0, 0.0]), "directional_derivatives": np.array([1.7e308,
                                                                                                      -1.7e308])},
        "subnormal_slope": {"logits": np.array([0.0, 0.0]), "directional_derivatives": np.array([5e-324, 0.0])},
    }
