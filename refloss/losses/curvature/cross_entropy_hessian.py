"""``cross_entropy_hessian``: the Hessian of softmax cross-entropy in the logits, per row; value, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..._registry import Param, register
from ._common import BISHOP, LOGITS, REDUCTION, hessian_blocks, logits_and_scale


@register(
    name="cross_entropy_hessian",
    family="curvature",
    wrt=(),
    no_gradient="the value is itself a second derivative: its derivative is the third-order tensor of the loss, "
                "not provided; the Hessian is also checked as a derivative, the Jacobian of cross_entropy_hvp",
    params=(Param("logits", LOGITS), REDUCTION),
    paper=BISHOP,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    shift_invariant=("logits",),
)
def cross_entropy_hessian(logits: ArrayLike, *, loss_reduction: str = "mean") -> np.ndarray:
    r"""The Hessian of the cross-entropy in the logits, one block per row,

    .. math:: \frac{\partial^2 \ell}{\partial z_j \partial z_k} = s\,(p_j \delta_{jk} - p_j p_k),

    with :math:`p = \mathrm{softmax}(z)` and :math:`s` the reduction's factor (:math:`1/N` for ``"mean"`` over
    :math:`N` rows; the Hessian of the mean is block-diagonal, and this returns its blocks). It does not depend on
    the class-index target (Bishop, PRML Sec. 4.3.4; the family's conventions: :mod:`refloss.losses.curvature`).
    The diagonal :math:`p_j(1 - p_j)` takes :math:`1 - p_j` from the log-softmax, so a confident row's top class
    keeps its digits (:math:`4.25 \cdot 10^{-18}` at a logit gap of 40, where :math:`p - p^2` gives 0). Symmetric,
    positive semi-definite, each row summing to 0. For products with vectors, :func:`cross_entropy_hvp` avoids
    forming it.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        loss_reduction: the loss's reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    Returns:
        The blocks, shape ``logits.shape + (C,)``.

    >>> cross_entropy_hessian([0.0, 0.0], loss_reduction="sum")
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    z, scale = logits_and_scale(logits, loss_reduction)
    return scale * hessian_blocks(z)


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        rows, c = drawn(st.integers(1, 3)), drawn(st.integers(1, 4))
        big = 1e300 if extreme else 20.0
        z = np.array([[drawn(st.floats(-big, big)) for _ in range(c)] for _ in range(rows)])
        if not extreme and c > 1 and drawn(st.booleans()):
            z[..., -1] = -np.inf
        return {"logits": z[0] if drawn(st.booleans()) else z,
                "loss_reduction": drawn(st.sampled_from(["mean", "sum", "none"]))}

    return draw()


def _stress() -> dict:
    gaps = np.array([[15.0, 0.0, -3.0], [40.0, 0.0, -3.0], [80.0, 0.0, -3.0], [0.0, 0.0, 0.0]])
    return {
        "gaps_and_ties": {"logits": gaps},
        "sum": {"logits": gaps, "loss_reduction": "sum"},
        "masked": {"logits": np.array([[2.0, -np.inf, 0.0]]), "loss_reduction": "none"},
        "one_class": {"logits": np.array([[3.0], [-1.0]])},
    }


def _extreme() -> dict:
    return {"huge_logits": {"logits": np.array([1.7e308, -1.7e308, 0.0])}}
