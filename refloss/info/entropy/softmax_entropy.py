"""``softmax_entropy``: the Shannon entropy of softmax(z); value, closed-form gradient, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ...numerics import plogq, softmax_parts
from ._common import _BASE, _REDUCTION, _SHANNON, _log_base


def _entropy_inputs(logits, reduction) -> np.ndarray:
    z = v.logits(logits)
    check_reduction(reduction)
    return z


class _EntropyTerms(NamedTuple):
    """The terms of a block of rows (N, C)."""

    shifted: np.ndarray  # z - max
    logp: np.ndarray
    p: np.ndarray


def _entropy_terms(z: np.ndarray) -> _EntropyTerms:
    """The terms of validated rows (all of them, or a block)."""
    shifted, _, log_total, _ = softmax_parts(z)
    logp = shifted - log_total
    return _EntropyTerms(shifted, logp, np.exp(logp))


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
    sample_weight=True,
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
    z = _entropy_inputs(logits, reduction)
    (entropy,) = _passes(z, _entropy_with(log_base))
    return reduce(entropy.reshape(z.shape[:-1]), reduction)


@gradient_of("softmax_entropy")
def softmax_entropy_grad(logits: ArrayLike, *, base: float | None = None, reduction: str = "mean"):
    r"""Gradient of :func:`softmax_entropy` (closed form below).

    :math:`-p_j(\log p_j + H)` cancels when :math:`p` is nearly uniform (:math:`\log p_j \approx -H`);
    refloss evaluates the equal :math:`-p_j\,(z_j - \sum_c p_c z_c)` with the logits measured from their
    maximum, which cancels only as much as the logits themselves differ. Masked classes get 0.

    >>> softmax_entropy_grad([[0.0, 0.0]])  # the uniform distribution is a stationary point
    array([[0., 0.]])
    """
    z = _entropy_inputs(logits, reduction)
    log_base = _log_base(base)
    (grad,) = _passes(z, _gradient_with(-reduce_scale(z.shape[:-1], reduction) / log_base))
    return grad.reshape(z.shape)


@value_and_grad_of("softmax_entropy")
def _softmax_entropy_value_and_grad(logits: ArrayLike, *, base: float | None = None, reduction: str = "mean"):
    """:func:`softmax_entropy` and :func:`softmax_entropy_grad` from one log-softmax per block of rows."""
    log_base = _log_base(base)
    z = _entropy_inputs(logits, reduction)
    entropy, grad = _passes(z, _entropy_with(log_base),
                            _gradient_with(-reduce_scale(z.shape[:-1], reduction) / log_base))
    return reduce(entropy.reshape(z.shape[:-1]), reduction), grad.reshape(z.shape)


def _passes(z: np.ndarray, *outputs):
    return outputs_by_rows(_entropy_terms, outputs, as_rows(z))


def _entropy_with(log_base: float):
    """The entropy of each row of a block (N,), in the unit of ``log_base``."""

    def entropy(t: _EntropyTerms) -> np.ndarray:
        return -plogq(t.p, t.logp).sum(axis=-1) / log_base

    return entropy


def _gradient_with(scale: float):
    """The gradient of a block's rows (N, C), ``scale`` (the reduction's, over -log(base)) first."""

    def gradient(t: _EntropyTerms) -> np.ndarray:
        # z - max, with 0 where p = 0 (masked, or beyond the float64 range): those terms are p_j * (...) = 0.
        zm = np.where(t.p > 0, t.shifted, 0.0)
        centred = zm - (t.p * zm).sum(axis=-1, keepdims=True)
        return scale * t.p * centred

    return gradient


def _entropy_cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, _ = cases.draw_logits(draw, extreme)
        return {"logits": z, "base": draw(st.sampled_from([None, 2.0, 10.0, 0.5])),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()
