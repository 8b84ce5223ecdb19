"""``h_consistency_bound``: the comp-sum H-consistency bound Gamma_tau(excess + gap) - zero-one gap; value,
closed-form gradients, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ._common import (
    CLASSES,
    COMP_SUM_BOUNDS,
    TAU,
    at_kink,
    classes_of,
    inverse_transform,
    nonnegative_array,
    shaped,
    tau_of,
    transform_at_one,
)

_EXCESS = v.ArrayArg("float array of surrogate estimation errors R_l(h) - R*_l(H) >= 0, any shape", "nonnegative")


class HConsistencyBoundGrad(NamedTuple):
    """Gradients of :func:`h_consistency_bound`, one per differentiable input (None for a gap left out)."""

    surrogate_excess: np.ndarray
    surrogate_gap: np.ndarray | None
    zero_one_gap: np.ndarray | None


class _Inputs(NamedTuple):
    excess: np.ndarray
    surrogate_gap: np.ndarray | None
    zero_one_gap: np.ndarray | None
    tau: float
    n: int
    total: np.ndarray  # excess + surrogate gap, broadcast
    shape: tuple


def _inputs(surrogate_excess, tau, n, surrogate_gap, zero_one_gap) -> _Inputs:
    excess = nonnegative_array(surrogate_excess, "surrogate_excess")
    tau, n = tau_of(tau), classes_of(n)
    gap = None if surrogate_gap is None else nonnegative_array(surrogate_gap, "surrogate_gap")
    gap01 = None if zero_one_gap is None else nonnegative_array(zero_one_gap, "zero_one_gap")
    shapes = [(name, np.shape(a)) for name, a in (("surrogate_excess", excess), ("surrogate_gap", gap),
                                                  ("zero_one_gap", gap01)) if a is not None]
    try:
        shape = np.broadcast_shapes(*(s for _, s in shapes))
    except ValueError:
        raise v.RefLossError("surrogate_excess, surrogate_gap and zero_one_gap must broadcast together, got shapes "
                             + ", ".join(f"{name} {s}" for name, s in shapes)) from None
    total = excess if gap is None else excess + gap
    return _Inputs(excess, gap, gap01, tau, n, np.broadcast_to(total, shape), shape)


def _arguments(surrogate_excess, tau, n, surrogate_gap, zero_one_gap) -> _Inputs:
    return _inputs(surrogate_excess, tau, n, surrogate_gap, zero_one_gap)


@register(
    name="h_consistency_bound",
    family="consistency",
    wrt=("surrogate_excess", "surrogate_gap", "zero_one_gap"),
    params=(Param("surrogate_excess", _EXCESS),
            Param("tau", TAU, "the comp-sum loss: 0 sum-exponential, 1 cross-entropy, 1 + q GCE, 2 MAE"),
            Param("n", CLASSES, "the number of classes, n >= 2"),
            Param("surrogate_gap", v.ArrayArg("None (0) or the surrogate's minimizability gap M_l(H) >= 0, "
                                              "broadcastable", "nonnegative"), optional=True),
            Param("zero_one_gap", v.ArrayArg("None (0) or the zero-one minimizability gap M_01(H) >= 0, "
                                             "broadcastable", "nonnegative"), optional=True)),
    paper=COMP_SUM_BOUNDS,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
)
def h_consistency_bound(surrogate_excess: ArrayLike, *, tau: float = 1.0, n: int, surrogate_gap: ArrayLike = None,
                        zero_one_gap: ArrayLike = None):
    r"""The comp-sum H-consistency bound on the zero-one estimation error, elementwise:

    .. math:: R_{0-1}(h) - R^*_{0-1}(\mathcal H) \le \Gamma_\tau\big(R_{\ell_\tau}(h) - R^*_{\ell_\tau}(\mathcal H)
              + M_{\ell_\tau}(\mathcal H)\big) - M_{0-1}(\mathcal H), \qquad
              \Gamma_\tau(\varepsilon) = \begin{cases} T_\tau^{-1}(\varepsilon) & \varepsilon < T_\tau(1) \\
              1 & \text{otherwise} \end{cases}

    with :math:`T_\tau` of :func:`comp_sum_consistency_transform` (the bound as the paper states it,
    :math:`R_{0-1}(h) - R^*_{0-1} + M_{0-1} \le \Gamma_\tau(R_\ell(h) - R^*_\ell + M_\ell)`, rearranged). It holds for
    a hypothesis set :math:`\mathcal H` that is symmetric and complete (the scores at each :math:`x` range over all of
    :math:`\mathbb R^n`); for a bounded :math:`\mathcal H` the paper's companion (NeurIPS 2023) has another transform,
    not implemented here. With both gaps 0 (:math:`\mathcal H` all measurable functions) it is the excess-error
    bound :math:`\Gamma_\tau(\varepsilon)`. :math:`\Gamma_\tau` saturates at 1 (a zero-one regret is at most 1) from
    :math:`\varepsilon = T_\tau(1)` on; near 0 it grows like :math:`\sqrt{2 d_\tau \varepsilon / k}`
    (:math:`\sqrt{2\varepsilon}` for cross-entropy), and :math:`\Gamma_2(\varepsilon) = \min(n\varepsilon, 1)`.

    **Status: our reconstruction, not confirmed against the theorem text** of Mao, Mohri & Zhong (2023): the shape
    of the bound is the abstract's, the transform is ours (:func:`comp_sum_consistency_transform`).

    **Signature (our convention).** The three numbers the bound combines are separate arrays, broadcast together:
    the surrogate's estimation error :math:`R_\ell(h) - R^*_\ell(\mathcal H)`, its minimizability gap
    :math:`M_\ell` (:func:`minimizability_gap`) and the zero-one gap :math:`M_{0-1}`; a gap left out is 0.
    Keeping them apart lets the gradient w.r.t. each be returned, and lets the condition scale see each.

    **Evaluation.** :math:`T_\tau^{-1}` by Newton's method from the right (T is increasing and convex), safeguarded
    by a bracket with bisection, to full float64 accuracy; below :math:`10^{-60}` the leading term
    :math:`\sqrt{\varepsilon}\sqrt{2 d_\tau / k}`, since :math:`T` itself would pass into the subnormals.
    Gradient: :func:`h_consistency_bound_grad`.

    Args:
        surrogate_excess: :math:`R_\ell(h) - R^*_\ell(\mathcal H) \ge 0`, any shape.
        tau: :math:`\tau \in [0, 2]` (default 1, cross-entropy); :math:`\tau > 2` raises (no closed form).
        n: the number of classes, :math:`n \ge 2` (keyword, required).
        surrogate_gap: :math:`M_\ell(\mathcal H) \ge 0`, broadcastable; None is 0.
        zero_one_gap: :math:`M_{0-1}(\mathcal H) \ge 0`, broadcastable; None is 0.

    Returns:
        The bound, of the broadcast shape (a float for scalars).

    >>> round(h_consistency_bound(0.192744757021757, n=2), 9)  # T_1(0.6) = 0.19274: the bound is 0.6
    0.6
    >>> h_consistency_bound([0.01, 0.5], tau=2.0, n=3)  # min(3 eps, 1)
    array([0.03, 1.  ])
    >>> round(h_consistency_bound(0.01, n=10, surrogate_gap=0.02, zero_one_gap=0.1), 6)  # Gamma_1(0.03) - 0.1
    0.143716

    Reference: Mao, Mohri & Zhong (2023), arXiv:2304.07288; our reconstruction, not confirmed against the theorem
    text.
    """
    inputs = _arguments(surrogate_excess, tau, n, surrogate_gap, zero_one_gap)
    bound = inverse_transform(inputs.total, inputs.tau, inputs.n).value
    if inputs.zero_one_gap is not None:
        bound = bound - inputs.zero_one_gap
    return shaped(np.broadcast_to(bound, inputs.shape).copy() if np.ndim(bound) else bound)


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """The derivative of a sum over a broadcast shape w.r.t. an input of ``shape``: summed over the broadcast axes."""
    g = np.asarray(g, dtype=np.float64)
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(shape)


@gradient_of("h_consistency_bound")
def h_consistency_bound_grad(surrogate_excess: ArrayLike, *, tau: float = 1.0, n: int,
                             surrogate_gap: ArrayLike = None, zero_one_gap: ArrayLike = None) -> HConsistencyBoundGrad:
    r"""Gradients of :func:`h_consistency_bound` (of the sum of its outputs) w.r.t. each input, in its shape:

    .. math:: \frac{\partial B}{\partial \varepsilon} = \frac{\partial B}{\partial M_\ell}
              = \Gamma'_\tau(\varepsilon + M_\ell) = \frac{1}{T'_\tau(\Gamma_\tau(\varepsilon + M_\ell))}, \qquad
              \frac{\partial B}{\partial M_{0-1}} = -1,

    by the inverse function theorem (``proofs/consistency/h_consistency_bound.py``), and 0 where the bound saturates
    (:math:`\varepsilon + M_\ell > T_\tau(1)`). At :math:`\varepsilon + M_\ell = 0` the slope is :math:`+\infty` for
    :math:`\tau < 2` (square-root growth) and the gradient raises. At the saturation point the left slope is
    :math:`1/T'(1)`: 0 for :math:`\tau \le 1` (no kink), positive for :math:`\tau \in (1, 2]` (a kink); a float
    sits on it only at :math:`\tau = 2` with :math:`n u = 1` exactly (:math:`T(1)` is irrational for
    :math:`\tau \in (1, 2)`), where the gradient raises; an element equal to the rounding of :math:`T(1)` counts as
    saturated. A gap left out has the gradient None.

    >>> g = h_consistency_bound_grad(0.192744757021757, n=2, zero_one_gap=0.0)  # 1 / atanh(0.6) = 1 / log 2
    >>> round(float(g.surrogate_excess), 12), g.surrogate_gap, float(g.zero_one_gap)
    (1.442695040889, None, -1.0)
    """
    inputs = _arguments(surrogate_excess, tau, n, surrogate_gap, zero_one_gap)
    total, tau, n = inputs.total, inputs.tau, inputs.n
    if tau < 2.0 and (total == 0.0).any():
        raise v.RefLossError("surrogate_excess + surrogate_gap is 0 somewhere, where Gamma_tau'(0) = +inf for tau < 2 "
                             "(the bound grows like a square root): the gradient does not exist there (the value does)")
    if at_kink(total, tau, n).any():
        raise v.RefLossError("surrogate_excess + surrogate_gap equals 1/n at tau = 2, where Gamma_2 saturates at 1 "
                             "with a kink: the gradient does not exist there (the value does)")
    slope = inverse_transform(total, tau, n).slope
    return HConsistencyBoundGrad(
        _sum_to(slope, np.shape(inputs.excess)),
        None if inputs.surrogate_gap is None else _sum_to(slope, np.shape(inputs.surrogate_gap)),
        None if inputs.zero_one_gap is None else _sum_to(-np.ones(inputs.shape), np.shape(inputs.zero_one_gap)))


def _stress() -> dict:
    from ..._cases import value_label

    eps = np.array([1e-12, 1e-6, 1e-3, 0.01, 0.1, 0.3, 0.6, 0.9])
    out = {"scalar_cross_entropy": {"surrogate_excess": np.array(0.05), "tau": 1.0, "n": 3}}
    for tau in (0.0, 0.5, 1.0 - 1e-12, 1.0, 1.0 + 1e-12, 1.5, 2.0 - 1e-9, 2.0):
        for n in ((3,) if tau <= 1.0 else (2, 10)):
            top = transform_at_one(tau, n)
            # below and beyond the saturation point T(1) (its neighbours, not the kink itself)
            excess = np.append(eps[eps < top], [top * (1 - 1e-9), 2.0 * top])
            out[f"grid__tau_{value_label(tau)}__n_{n}"] = {"surrogate_excess": excess, "tau": tau, "n": n}
    out["with_gaps"] = {"surrogate_excess": np.array([[1e-4, 0.01, 0.05]]), "tau": 1.0, "n": 5,
                        "surrogate_gap": np.array([[0.0], [0.02]]), "zero_one_gap": np.array(0.1)}
    out["with_gaps__tau_1_5"] = {"surrogate_excess": np.array([0.0, 1e-5, 0.02]), "tau": 1.5, "n": 4,
                                 "surrogate_gap": np.array(0.01), "zero_one_gap": np.array([0.0, 0.05, 0.3])}
    out["zero_excess"] = {"surrogate_excess": np.array([0.0, 0.25]), "tau": 0.5, "n": 3}  # no gradient at 0
    out["defaults"] = {"surrogate_excess": np.array([0.0, 0.2, 1.0]), "n": 3}  # no gradient at 0
    return out


def _extreme() -> dict:
    tiny = np.array([5e-324, 1e-310, 1e-200, 1e-61, 1e-59, 1e-30])
    return {
        "tiny_excess__tau_1": {"surrogate_excess": tiny, "tau": 1.0, "n": 3},
        "tiny_excess__tau_0": {"surrogate_excess": tiny, "tau": 0.0, "n": 3},
        "tiny_excess__tau_next_below_two": {"surrogate_excess": tiny, "tau": 2.0 - 2.0**-52, "n": 3},
        "tiny_excess__tau_2": {"surrogate_excess": tiny, "tau": 2.0, "n": 7},
        "just_below_saturation__tau_1": {"surrogate_excess": np.array([np.log(2.0) * (1 - 2**-50)]), "tau": 1.0,
                                         "n": 2},
        "just_below_saturation__tau_0": {"surrogate_excess": np.array([1 - 2**-52, 1 - 1e-8]), "tau": 0.0, "n": 2},
        "just_below_saturation__tau_0_5": {"surrogate_excess": np.array([0.8284271247461, 0.82842712474619]),
                                           "tau": 0.5, "n": 2},
        "just_below_saturation__tau_1_5": {"surrogate_excess": np.array([0.4782926234762, 0.47829262347620044]),
                                           "tau": 1.5, "n": 3},
        "huge_excess": {"surrogate_excess": np.array([1e300, 1.7e308]), "tau": 1.5, "n": 2},
        "huge_gaps": {"surrogate_excess": np.array([0.1]), "tau": 1.0, "n": 2, "surrogate_gap": np.array(1e300),
                      "zero_one_gap": np.array([1e300])},
        "empty": {"surrogate_excess": np.zeros((0, 2)), "tau": 1.0, "n": 2},
    }


def _draws(extreme: bool):
    from ... import _cases as cases

    st, hnp = cases.hyp()

    @st.composite
    def draw(drawn):
        tau = drawn(st.sampled_from([0.0, 0.5, 1.0, 1.0 + 2.0**-40, 1.5, 1.99, 2.0]) | st.floats(0.0, 2.0))
        n = drawn(st.integers(2, 6))
        top = transform_at_one(tau, n)
        shape = drawn(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
        with_gap = drawn(st.booleans())
        if extreme:
            excess = drawn(hnp.arrays(np.float64, shape, elements=st.floats(5e-324, 1e300)))
            gap = drawn(st.floats(5e-324, 1e300).map(np.array)) if with_gap else None
        else:
            # moderate: the total in [0.3, 0.7] T(1), where a finite difference (step 1e-3) sees a smooth function:
            # Gamma grows like a square root from 0 and has a kink (tau > 1) or a steep end (tau <= 1) at T(1)
            share = (0.15, 0.35) if with_gap else (0.3, 0.7)
            excess = drawn(hnp.arrays(np.float64, shape, elements=st.floats(share[0] * top, share[1] * top)))
            gap = drawn(st.floats(0.15 * top, 0.35 * top).map(np.array)) if with_gap else None
        gap01 = drawn(st.none() | hnp.arrays(np.float64, shape[-1:], elements=st.floats(0.01, 0.5)))
        return {"surrogate_excess": excess, "tau": tau, "n": n, "surrogate_gap": gap, "zero_one_gap": gap01}

    return draw()
