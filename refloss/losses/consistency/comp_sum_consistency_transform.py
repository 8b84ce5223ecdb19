"""``comp_sum_consistency_transform``: the comp-sum losses' error transform T_tau(t; n); value, gradient,
registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ._common import (
    CLASSES,
    COMP_SUM_BOUNDS,
    TAU,
    classes_of,
    refuse_infinite_slope,
    shaped,
    tau_of,
    transform_derivative,
    transform_values,
    unit_array,
)

REGRETS = v.ArrayArg("float array of zero-one conditional regrets t in [0, 1], any shape (elementwise)",
                     "unit_interval")


def _arguments(t, tau, n):
    return unit_array(t, "t"), tau_of(tau), classes_of(n)


@register(
    name="comp_sum_consistency_transform",
    family="consistency",
    wrt=("t",),
    params=(Param("t", REGRETS),
            Param("tau", TAU, "the comp-sum loss: 0 sum-exponential, 1 cross-entropy, 1 + q GCE, 2 MAE; tau > 2 is "
                              "refused (no closed form)"),
            Param("n", CLASSES, "the number of classes, n >= 2 (T does not depend on it for tau <= 1)")),
    paper=COMP_SUM_BOUNDS,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
)
def comp_sum_consistency_transform(t: ArrayLike, *, tau: float = 1.0, n: int):
    r"""The error transform :math:`T_\tau(t; n)` of the comp-sum loss :math:`\ell_\tau`, elementwise over ``t``.

    A surrogate whose conditional regret is at least :math:`T_\tau` of the zero-one conditional regret :math:`t`
    has the H-consistency bound :math:`R_{0-1}(h) - R^*_{0-1} + M_{0-1} \le T_\tau^{-1}(R_\ell(h) - R^*_\ell +
    M_\ell)` (:func:`h_consistency_bound`). With :math:`k = 1/(2 - \tau)` and the power mean
    :math:`M_\tau(t) = (((1+t)^k + (1-t)^k)/2)^{2-\tau}`:

    .. math:: T_\tau(t) = \begin{cases} \frac{2^{1-\tau}}{1-\tau}\,(1 - M_\tau(t)) & \tau \in [0, 1)
              \ (\tau = 0:\ 1 - \sqrt{1 - t^2}) \\
              \frac{1+t}{2}\log(1+t) + \frac{1-t}{2}\log(1-t) & \tau = 1 \\
              \frac{M_\tau(t) - 1}{(\tau - 1)\, n^{\tau-1}} & \tau \in (1, 2) \\
              t / n & \tau = 2 \end{cases}

    **Status: our reconstruction, not confirmed against the theorem text** of Mao, Mohri & Zhong (2023); the
    project's notes (``confirmed_formulas.md``, section 1) validate it numerically as a lower bound of the exact
    transform :math:`T^*` (:func:`exact_consistency_transform`), equal to it for :math:`\tau \in [0, 1]` (every
    :math:`n` tested) and for :math:`\tau \in (1, 2)` at :math:`n = 2`, a strict lower bound for
    :math:`\tau \in (1, 2)`, :math:`n \ge 3`, and at :math:`\tau = 2` equal to :math:`T^*` only for
    :math:`t \le 1/(n-1)`. Near 0, :math:`T \approx k t^2 / (2 d_\tau)` (:math:`t^2/2` for cross-entropy): the
    square-root growth of the bound.

    **Evaluation.** One form for every :math:`\tau \in [0, 2)`, continuous through :math:`\tau = 1` (the same
    expression, no branch: :math:`\tau = 1 \pm 10^{-12}` agrees with :math:`\tau = 1` to a few ulps),
    :math:`M_\tau` in the log domain (:math:`k` grows without bound as :math:`\tau \to 2`), :math:`t^2`-small values
    with their digits (no :math:`1 - M` cancellation), :math:`t = 1` exactly (:math:`(1 - t)\log(1 - t) = 0`); see
    ``refloss/losses/consistency/_common.py``. Gradient: :func:`comp_sum_consistency_transform_grad`.

    Args:
        t: zero-one conditional regrets in :math:`[0, 1]`, any shape.
        tau: :math:`\tau \in [0, 2]` (default 1, cross-entropy). :math:`\tau > 2` raises: the loss is concave in the
            softmax there and the exact transform is not convex; no closed form exists.
        n: the number of classes, :math:`n \ge 2` (keyword, required).

    Returns:
        :math:`T_\tau(t; n)` of ``t``'s shape (a float for a scalar ``t``).

    >>> round(comp_sum_consistency_transform(0.6, n=2), 12)  # 0.8 log 1.6 + 0.2 log 0.4
    0.192744757022
    >>> comp_sum_consistency_transform([0.0, 0.6, 1.0], tau=0.0, n=5)  # 1 - sqrt(1 - t^2)
    array([0. , 0.2, 1. ])
    >>> round(comp_sum_consistency_transform(1e-8, n=3) * 1e16, 14)  # t^2/2 = 5e-17: every digit (no 1 - M)
    0.5

    Reference: Mao, Mohri & Zhong (2023), arXiv:2304.07288, the comp-sum H-consistency bounds; the transform is
    our reconstruction, not confirmed against the theorem text.
    """
    t, tau, n = _arguments(t, tau, n)
    return shaped(transform_values(t, tau, n))


@gradient_of("comp_sum_consistency_transform")
def comp_sum_consistency_transform_grad(t: ArrayLike, *, tau: float = 1.0, n: int) -> np.ndarray:
    r"""Gradient of :func:`comp_sum_consistency_transform` (of the sum over ``t``) w.r.t. ``t``: elementwise

    .. math:: T'_\tau(t) = \frac{(1+t)^{k-1} - (1-t)^{k-1}}{2(\tau - 1)\, d_\tau}
              \Big(\frac{(1+t)^k + (1-t)^k}{2}\Big)^{1-\tau}, \quad d_\tau = 2^{\tau-1}\ (\tau < 1),\ n^{\tau-1}
              \ (1 < \tau < 2),

    :math:`\operatorname{atanh} t` at :math:`\tau = 1` and :math:`1/n` at :math:`\tau = 2`; evaluated as
    :math:`M_\tau k\,2x\,\mathrm{exprel}(-2(k-1)x) / ((1+t)(1+e^{-2kx}) d_\tau)` with :math:`x = \operatorname{atanh}
    t` (the same number, never overflowing). :math:`T'(0) = 0`. At :math:`t = 1` the slope is
    :math:`2^{\tau-2}/((\tau-1) n^{\tau-1})` for :math:`\tau \in (1, 2)`; for :math:`\tau \le 1` it is
    :math:`+\infty` and the gradient raises (the value exists).

    >>> comp_sum_consistency_transform_grad([0.0, 0.6], n=2)  # atanh t
    array([0.        , 0.69314718])
    """
    t, tau, n = _arguments(t, tau, n)
    refuse_infinite_slope(t, tau, "t")
    return np.asarray(transform_derivative(t, tau, n), dtype=np.float64)


_TAUS_BELOW = (0.0, 0.5, 1.0 - 1e-12, 1.0)
_TAUS_ABOVE = (1.0 + 1e-12, 1.5, 2.0 - 1e-9, 2.0)
_TS = np.array([0.0, 1e-8, 1e-4, 0.1, 0.5, 0.9, 1.0 - 1e-12])


def _stress() -> dict:
    from ..._cases import value_label

    # a 0-d t first (any shape of t is valid: no shape is a bad one); the first three have gradients (the checks
    # that inputs stay unmodified call the gradient on them)
    out = {"scalar_cross_entropy": {"t": np.array(0.6), "tau": 1.0, "n": 3}}
    for tau in _TAUS_BELOW:  # n plays no part
        out[f"grid__tau_{value_label(tau)}"] = {"t": _TS.copy(), "tau": tau, "n": 3}
    for tau in _TAUS_ABOVE:
        for n in (2, 10):
            out[f"grid__tau_{value_label(tau)}__n_{n}"] = {"t": np.append(_TS, 1.0), "tau": tau, "n": n}
    for tau in _TAUS_BELOW:  # t = 1 apart: its gradient raises for tau <= 1
        out[f"at_one__tau_{value_label(tau)}"] = {"t": np.array([1.0, 0.25]), "tau": tau, "n": 3}
    out["defaults"] = {"t": np.array([[0.0, 0.3], [0.7, 1e-8]]), "n": 4}
    return out


def _extreme() -> dict:
    tiny = np.array([5e-324, 1e-310, 1e-300, 1e-160, 2.0**-1022])
    return {
        "subnormal_and_tiny_t__tau_0": {"t": tiny, "tau": 0.0, "n": 3},
        "subnormal_and_tiny_t__tau_1_5": {"t": tiny, "tau": 1.5, "n": 7},
        "next_to_one__tau_0": {"t": np.array([1.0 - 2.0**-53, 1.0 - 2.0**-40]), "tau": 0.0, "n": 2},
        "next_to_one__tau_1": {"t": np.array([1.0 - 2.0**-53, 1.0 - 2.0**-40]), "tau": 1.0, "n": 2},
        "next_to_one__tau_1_5": {"t": np.array([1.0 - 2.0**-53, 1.0 - 2.0**-40]), "tau": 1.5, "n": 2},
        "tau_next_below_two": {"t": np.array([1e-20, 1e-16, 2e-16, 1e-8, 0.5, 1.0]), "tau": 2.0 - 2.0**-52, "n": 5},
        "tau_subnormal": {"t": np.array([1e-8, 0.5, 1.0 - 2.0**-53]), "tau": 5e-324, "n": 2},
        "tau_next_to_one": {"t": np.array([1e-8, 0.5, 0.999]), "tau": 1.0 - 2.0**-53, "n": 2},
        "tau_next_above_one": {"t": np.array([1e-8, 0.5, 0.999, 1.0]), "tau": 1.0 + 2.0**-52, "n": 2},
        "many_classes": {"t": np.array([1e-8, 0.5, 1.0]), "tau": 1.9, "n": 10**6},
        "empty": {"t": np.zeros((0, 3)), "tau": 0.5, "n": 2},
    }


def _draws(extreme: bool):
    from ... import _cases as cases

    st, hnp = cases.hyp()

    @st.composite
    def draw(drawn):
        shape = drawn(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
        # moderate: t in [0.01, 0.95], so a finite difference (step 2e-3) stays inside [0, 1]
        lo, hi = (0.0, 1.0 - 2.0**-53) if extreme else (0.01, 0.95)
        t = drawn(hnp.arrays(np.float64, shape, elements=st.floats(lo, hi)))
        tau = drawn(st.sampled_from([0.0, 0.5, 1.0, 1.0 + 2.0**-40, 1.5, 1.99, 2.0]) | st.floats(0.0, 2.0))
        return {"t": t, "tau": tau, "n": drawn(st.integers(2, 12))}

    return draw()
