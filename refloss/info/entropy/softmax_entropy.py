"""``softmax_entropy``: the Shannon entropy of softmax(z); value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Param, gradient_of, register
from ...numerics import _log_softmax, logits_from_max, plogq
from ._common import _BASE, _REDUCTION, _SHANNON, _log_base


def _entropy_parts(logits, reduction):
    z = v.logits(logits)
    check_reduction(reduction)
    logp = _log_softmax(z)
    p = np.exp(logp)
    return p, logp, -plogq(p, logp).sum(axis=-1)


@register(
    name="softmax_entropy",
    family="entropy",
    wrt=("logits",),
    params=(Param("logits", v.LOGITS), Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True),
            _REDUCTION),
    paper=_SHANNON,
    strategy=lambda extreme: _entropy_cases(extreme),
    stress=lambda: {**cases.softmax_stress(targets=False),
                    **{f"{k}__base_{b:g}": {**c, "base": b} for k, c in cases.softmax_stress(targets=False).items()
                       if k in ("gaps__target_dominant", "ties") for b in (2.0, 10.0)}},
    shift_invariant=("logits",),
)
def softmax_entropy(logits: ArrayLike, *, base: float | None = None, reduction: str = "mean"):
    r"""Shannon entropy of :math:`p = \mathrm{softmax}(z)` along the last axis, in nats (or in ``base``).

    .. math:: H = -\sum_j p_j \log p_j

    Evaluated as a sum of non-negative terms :math:`-p_j \log p_j` with an accurate log-softmax,
    not as :math:`\mathrm{LSE}(z) - \sum_j p_j z_j`, which cancels when the distribution is peaked.
    Gradient: :func:`softmax_entropy_grad`.

    ``base`` sets the unit, as in :func:`scipy.stats.entropy`: ``None`` for nats, 2 for bits; the value (and
    the gradient) is then divided by :math:`\log(\mathrm{base})`.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"`` (shape ``logits.shape[:-1]``).

    >>> round(softmax_entropy([0.0, 0.0, 0.0, 0.0]), 15)  # log 4
    1.386294361119891
    >>> float(softmax_entropy([0.0, 0.0, 0.0, 0.0], base=2))  # log2 4: two bits
    2.0
    >>> softmax_entropy([[30.0, 0.0]], reduction="none")  # ~ 31 e^-30, not lost to cancellation
    array([2.90086312e-12])
    """
    log_base = _log_base(base)
    return reduce(_entropy_parts(logits, reduction)[2] / log_base, reduction)


@gradient_of("softmax_entropy")
def softmax_entropy_grad(logits: ArrayLike, *, base: float | None = None, reduction: str = "mean"):
    r"""Gradient of :func:`softmax_entropy` (closed form below).

    :math:`-p_j(\log p_j + H)` cancels when :math:`p` is nearly uniform (:math:`\log p_j \approx -H`);
    refloss evaluates the equal :math:`-p_j\,(z_j - \sum_c p_c z_c)` with the logits measured from their
    maximum, which cancels only as much as the logits themselves differ. Masked classes get 0.

    >>> softmax_entropy_grad([[0.0, 0.0]])  # the uniform distribution is a stationary point
    array([[0., 0.]])
    """
    z = v.logits(logits)
    check_reduction(reduction)
    log_base = _log_base(base)
    p = np.exp(_log_softmax(z))
    # z - max, with 0 where p = 0 (masked, or beyond the float64 range): those terms are p_j * (...) = 0.
    zm = np.where(p > 0, logits_from_max(z), 0.0)
    centred = zm - (p * zm).sum(axis=-1, keepdims=True)
    return -reduce_scale(z.shape[:-1], reduction) / log_base * p * centred


def _entropy_cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, _ = cases.draw_logits(draw, extreme)
        return {"logits": z, "base": draw(st.sampled_from([None, 2.0, 10.0, 0.5])),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()
