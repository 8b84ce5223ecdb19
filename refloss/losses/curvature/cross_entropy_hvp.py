"""``cross_entropy_hvp``: the Hessian-vector product of softmax cross-entropy in the logits, without forming the
Hessian; value, Jacobian (the Hessian), registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Param, gradient_of, register
from ._common import LOGITS, PEARLMUTTER, REDUCTION, hessian_blocks, hessian_product, logits_and_scale

_VECTOR = v.ArrayArg("float vector v (..., C) in the logits' space, the shape of logits")


def _arguments(logits, vector, loss_reduction):
    z, scale = logits_and_scale(logits, loss_reduction)
    u = v.real_array(vector, "vector")
    v.same_shape(z, u, "logits", "vector")
    return z, u, scale


@register(
    name="cross_entropy_hvp",
    family="curvature",
    wrt=("vector",),
    grad_kind="jacobian",
    params=(Param("logits", LOGITS), Param("vector", _VECTOR), REDUCTION),
    paper=PEARLMUTTER,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    shift_invariant=("logits",),
    overflow="the value p (v - <p, v>) where v's entries near 1.7e308 have both signs",
)
def cross_entropy_hvp(logits: ArrayLike, vector: ArrayLike, *, loss_reduction: str = "mean") -> np.ndarray:
    r"""The product :math:`H v` of the Hessian of the cross-entropy in the logits with a vector, row by row,

    .. math:: (H v)_j = s\,p_j\,\big(v_j - \langle p, v\rangle\big), \qquad H = s\,(\mathrm{diag}(p) - p p^\top)
              \text{ per row},

    with :math:`p = \mathrm{softmax}(z)` and :math:`s` the reduction's factor (:math:`1/N` for ``"mean"`` over
    :math:`N` rows, else 1), without forming :math:`H` (Pearlmutter 1994's product, here in closed form). It does
    not depend on the target (class indices; the family's conventions: :mod:`refloss.losses.curvature`).
    At a confident row's top class, :math:`v_j - \langle p, v\rangle` is evaluated as
    :math:`\sum_{k \ne j} p_k (v_j - v_k)`: the subtraction would lose the digits that
    :math:`1 - p_j` carries. :math:`H \mathbf{1} = 0`: a vector constant on a row gives 0 there, up to the rounding
    of :math:`\langle p, v\rangle`.
    Jacobian w.r.t. ``vector``: :func:`cross_entropy_hvp_grad`, the Hessian itself.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        vector: finite float array of the logits' shape.
        loss_reduction: the loss's reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    Returns:
        :math:`H v`, the logits' shape (0 at masked classes).

    >>> cross_entropy_hvp([0.0, 0.0], [1.0, -1.0], loss_reduction="sum")  # p = 1/2: (1/4) (v_1 - v_2) (1, -1)
    array([ 0.5, -0.5])
    >>> float(cross_entropy_hvp([[40.0, 0.0]], [[1.0, 0.0]])[0, 0])  # p_0 (1 - p_0): every digit
    4.248354255291589e-18
    """
    z, u, scale = _arguments(logits, vector, loss_reduction)
    with np.errstate(over="ignore", invalid="ignore"):  # vectors near the float64 range: the product overflows
        return scale * hessian_product(z, u)


@gradient_of("cross_entropy_hvp")
def cross_entropy_hvp_grad(logits: ArrayLike, vector: ArrayLike, *, loss_reduction: str = "mean") -> np.ndarray:
    r"""The Jacobian of :func:`cross_entropy_hvp` w.r.t. ``vector``: the Hessian :math:`s(\mathrm{diag}(p) -
    p p^\top)` of each row, shape ``logits.shape + (C,)`` (``[..., j, k]`` = :math:`\partial (Hv)_j/\partial v_k`),
    its diagonal :math:`p_j (1 - p_j)` with :math:`1 - p_j` from the log-softmax. This is
    :func:`cross_entropy_hessian`'s value, checked here as a derivative.

    >>> cross_entropy_hvp_grad([0.0, 0.0], [5.0, 7.0], loss_reduction="sum")
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    z, _, scale = _arguments(logits, vector, loss_reduction)
    return scale * hessian_blocks(z)


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        rows, c = drawn(st.integers(1, 3)), drawn(st.integers(1, 5))
        big = 1e300 if extreme else 20.0
        z = np.array([[drawn(st.floats(-big, big)) for _ in range(c)] for _ in range(rows)])
        if not extreme and c > 1 and drawn(st.booleans()):
            z[..., 0] = -np.inf  # a masked class
        u = np.array([[drawn(st.floats(-big, big)) for _ in range(c)] for _ in range(rows)])
        one = drawn(st.booleans())
        return {"logits": z[0] if one else z, "vector": u[0] if one else u,
                "loss_reduction": drawn(st.sampled_from(["mean", "sum", "none"]))}

    return draw()


def _stress() -> dict:
    gaps = np.array([[15.0, 0.0, -3.0], [40.0, 0.0, -3.0], [80.0, 0.0, -3.0], [0.0, 0.0, 0.0]])
    vectors = np.array([[1.0, -2.0, 0.5], [1.0, 0.0, 0.0], [3.0, 3.0 + 1e-9, 3.0], [1.0, 1.0, 1.0]])
    return {
        "gaps_and_ties": {"logits": gaps, "vector": vectors},  # the default loss_reduction
        "sum": {"logits": gaps, "vector": vectors, "loss_reduction": "sum"},
        "none": {"logits": gaps, "vector": vectors[::-1].copy(), "loss_reduction": "none"},
        "masked": {"logits": np.array([[2.0, -np.inf, 0.0]]), "vector": np.array([[1.0, 1e300, -1.0]])},
        "one_class": {"logits": np.array([[3.0], [-1.0]]), "vector": np.array([[2.0], [5.0]])},
        "confident_top_class": {"logits": np.array([60.0, 0.0, 1.0]), "vector": np.array([7.0, 7.0 + 2.0**-40, 6.0])},
    }


def _extreme() -> dict:
    return {
        "huge_logits": {"logits": np.array([1.7e308, -1.7e308, 0.0]), "vector": np.array([1.0, 2.0, 3.0])},
        "huge_vector": {"logits": np.zeros(3), "vector": np.array([1e308, -1e308, 0.0])},
    }
