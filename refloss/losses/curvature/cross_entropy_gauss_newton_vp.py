"""``cross_entropy_gauss_newton_vp``: the Gauss-Newton matrix of a linear head's cross-entropy (w.r.t. its
classifier) times a direction; value, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._reduce import reduce_scale
from ..._registry import Param, register
from ._common import REDUCTION, SCHRAUDOLPH, hessian_product

_E = v.ArrayArg("float hidden states e (N, D), one row per example")
_C = v.ArrayArg("float classifier c (V, D), one row per class")
_DIRECTION = v.ArrayArg("float direction in the classifier's space (V, D), the shape of c")
_BIAS = v.ArrayArg("None or the float bias b (V,), held fixed")


def _arguments(e, c, direction, bias, loss_reduction):
    e = v.real_array(e, "e")
    c = v.real_array(c, "c")
    d = v.real_array(direction, "direction")
    if e.ndim != 2 or c.ndim != 2 or e.shape[1] != c.shape[1]:
        raise v.RefLossError(f"e must be (N, D) and c (V, D) with the same D, got {e.shape} and {c.shape}")
    if c.shape[0] == 0:
        raise v.RefLossError("c has no classes (V = 0)")
    v.same_shape(c, d, "c", "direction")
    b = None if bias is None else v.real_array(bias, "bias")
    if b is not None and b.shape != c.shape[:1]:
        raise v.RefLossError(f"bias must have shape (V,) = {c.shape[:1]}, got {b.shape}")
    v.choice(loss_reduction, v.REDUCTIONS, "loss_reduction")
    return e, c, d, b, reduce_scale(e.shape[:1], loss_reduction)


@register(
    name="cross_entropy_gauss_newton_vp",
    family="curvature",
    wrt=(),
    no_gradient="linear in the direction: its Jacobian w.r.t. the direction is the Gauss-Newton matrix itself "
                "(V D x V D), and w.r.t. e and c a third-order quantity; neither is provided",
    params=(Param("e", _E), Param("c", _C), Param("direction", _DIRECTION), Param("bias", _BIAS, optional=True),
            REDUCTION),
    paper=SCHRAUDOLPH,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the value, for hidden states, classifier or direction near 1.7e308",
)
def cross_entropy_gauss_newton_vp(e: ArrayLike, c: ArrayLike, direction: ArrayLike, *, bias: ArrayLike | None = None,
                                  loss_reduction: str = "mean") -> np.ndarray:
    r"""The Gauss-Newton matrix of the cross-entropy of a linear head w.r.t. its classifier, times a direction:

    .. math:: G\,\Delta = s \sum_n \big(H_n\,(\Delta e_n)\big)\, e_n^\top, \qquad
              H_n = \mathrm{diag}(p_n) - p_n p_n^\top,\quad p_n = \mathrm{softmax}(c\,e_n + b),

    with :math:`G = s \sum_n J_n^\top H_n J_n`, :math:`J_n: \Delta \mapsto \Delta e_n` the Jacobian of the logits
    w.r.t. the classifier (Schraudolph 2002's curvature matrix-vector product, for this head), and :math:`s` the
    loss_reduction's factor (:math:`1/N` for ``"mean"``). For a linear head the logits are linear in :math:`c`, so
    :math:`G` equals the Hessian of the loss w.r.t. :math:`c` (the Gauss-Newton approximation drops only the
    logits' second derivatives, here 0); it does not depend on the class-index targets. The bias, if given, is
    part of the logits and held fixed. Evaluated without forming :math:`G` or :math:`H_n`: the logits
    :math:`u = e c^\top + b` and :math:`\Delta u = e \Delta^\top`, then :func:`cross_entropy_hvp`'s product per row,
    then :math:`(H \Delta u)^\top e`. No gradient (see the registry entry's reason).

    Args:
        e: hidden states ``(N, D)``.
        c: classifier ``(V, D)``.
        direction: :math:`\Delta`, the shape of ``c``.
        bias: ``None`` or ``(V,)`` (held fixed).
        loss_reduction: the loss's reduction: ``"mean"`` over the N rows (default), ``"sum"`` or ``"none"`` (as
            ``"sum"``: the product of the sum of the rows' matrices).

    Returns:
        :math:`G\Delta`, shape ``(V, D)``.

    >>> cross_entropy_gauss_newton_vp([[1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]])
    array([[ 0.25,  0.  ],
           [-0.25,  0.  ]])
    """
    e, c, d, b, scale = _arguments(e, c, direction, bias, loss_reduction)
    with np.errstate(over="ignore", invalid="ignore"):
        u = e @ c.T + (0.0 if b is None else b)
        if not np.isfinite(u).all():
            raise v.RefLossError("the logits e c^T + b pass the float64 range")
        g = hessian_product(u, e @ d.T)
        return scale * (g.T @ e)


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        n, classes, dim = drawn(st.integers(1, 3)), drawn(st.integers(1, 4)), drawn(st.integers(1, 3))
        big = 1e100 if extreme else 4.0

        def matrix(rows):
            return np.array([[drawn(st.floats(-big, big)) for _ in range(dim)] for _ in range(rows)])

        bias = None if drawn(st.booleans()) else np.array([drawn(st.floats(-big, big)) for _ in range(classes)])
        return {"e": matrix(n), "c": matrix(classes), "direction": matrix(classes), "bias": bias,
                "loss_reduction": drawn(st.sampled_from(["mean", "sum", "none"]))}

    return draw()


def _stress() -> dict:
    e = np.array([[1.0, 2.0], [-0.5, 0.25], [3.0, -1.0]])
    c = np.array([[10.0, 5.0], [0.0, 0.0], [-10.0, 7.5]])  # logit gaps of 15 to 40 in some rows
    d = np.array([[1.0, -1.0], [0.5, 0.5], [0.0, 2.0]])
    return {
        "confident_rows": {"e": e, "c": c, "direction": d},
        "bias_and_sum": {"e": e, "c": c, "direction": d, "bias": np.array([0.0, 40.0, -3.0]),
                         "loss_reduction": "sum"},
        "equal_columns": {"e": e, "c": np.array([[1.0, 3.0], [1.0, 3.0], [1.0, 3.0]]), "direction": d},
        "direction_constant_across_classes": {"e": e, "c": c, "direction": np.array([[1.0, 2.0]] * 3)},
        "one_class": {"e": e, "c": c[:1], "direction": d[:1]},
    }


def _extreme() -> dict:
    return {"huge_direction": {"e": np.array([[1.0, 0.5]]), "c": np.array([[1.0, 0.0], [0.0, 1.0]]),
                               "direction": np.array([[1e307, 0.0], [-1e307, 0.0]])}}
