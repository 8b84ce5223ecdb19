"""``kl_divergence_logits``: KL(softmax(p_logits) || softmax(q_logits)); value, closed-form gradients,
registration."""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import reduce, reduce_scale
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ._common import _BASE, _KULLBACK, _REDUCTION, _kl_gradients, _kl_inputs, _kl_rows, _log_base


class KLDivergenceGrad(NamedTuple):
    """Gradients of :func:`kl_divergence_logits`, one per differentiable input."""

    p_logits: np.ndarray
    q_logits: np.ndarray


@register(
    name="kl_divergence_logits",
    family="entropy",
    wrt=("p_logits", "q_logits"),
    params=(
        Param("p_logits", v.LOGITS),
        Param("q_logits", v.ArrayArg("logits of the second distribution, same shape as p_logits", "logits",
                                     class_axis=True)),
        Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True),
        _REDUCTION,
    ),
    paper=_KULLBACK,
    strategy=lambda extreme: _kl_cases(extreme),
    stress=lambda: _kl_stress(),
    shift_invariant=("p_logits", "q_logits"),
    sample_weight=True,
)
def kl_divergence_logits(p_logits: ArrayLike, q_logits: ArrayLike, *, base: float | None = None,
                         reduction: str = "mean"):
    r"""KL divergence :math:`\mathrm{KL}(\mathrm{softmax}(a) \,\|\, \mathrm{softmax}(b))` along the last axis.

    .. math:: \mathrm{KL}(p\,\|\,q) = \sum_j p_j(\log p_j - \log q_j) = \sum_j q_j\,\varphi(u_j),
              \quad u_j = \log\frac{p_j}{q_j},\ \varphi(u) = 1 + (u - 1)e^u \ge 0

    in nats, or in ``base`` as :func:`scipy.stats.entropy` (``None``: nats, 2: bits; the value and the gradients
    are divided by :math:`\log(\mathrm{base})`). The right-hand form (equal because
    :math:`\sum_j p_j = \sum_j q_j = 1`) adds non-negative terms, with :math:`u` from differences of logits, so the
    divergence of two nearly equal distributions (:math:`\mathrm{KL} \approx \tfrac12 \sum_j q_j u_j^2`) keeps its
    digits where the left-hand sum of terms of both signs returns rounding noise. Classes masked in ``p_logits``
    contribute 0; a class masked in ``q_logits`` but not in ``p_logits`` makes the divergence +inf.
    PyTorch's ``F.kl_div(log_q, log_p, log_target=True, reduction="batchmean")`` is this with ``"mean"``
    for 2-D input only (module docstring: the denominators differ otherwise). Gradients:
    :func:`kl_divergence_logits_grad` (a NamedTuple for both inputs).

    Args:
        p_logits: float array ``(..., C)``.
        q_logits: float array of the same shape.
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    >>> round(kl_divergence_logits([0.0, 0.0], [0.0, np.log(3.0)]), 15)  # log 2 - (1/2) log 3
    0.143841036225890
    """
    a, b = _kl_inputs(p_logits, q_logits, reduction)
    log_base = _log_base(base)
    (kl,) = _passes(a, b, _kl)
    return _reduced(a, kl, reduction, log_base)


@gradient_of("kl_divergence_logits")
def kl_divergence_logits_grad(p_logits: ArrayLike, q_logits: ArrayLike, *, base: float | None = None,
                              reduction: str = "mean") -> KLDivergenceGrad:
    r"""Gradients of :func:`kl_divergence_logits` with respect to both inputs (closed forms below).

    :math:`\log p_j - \log q_j - \mathrm{KL}` equals :math:`e_j - \sum_c p_c e_c` for the logit
    differences :math:`e = (a - a_k) - (b - b_k)` taken from the class :math:`k` that is most probable under
    :math:`p`; refloss evaluates that form, which does not cancel when :math:`p` is peaked (where the first
    subtracts two numbers close to :math:`\log p_k - \log q_k`). :math:`q_j - p_j` is taken as
    :math:`-q_j\,\mathrm{expm1}(u_j)` with :math:`u_j = \log(p_j/q_j)` from logit differences where
    :math:`|u_j| < 1`, so that two close probabilities are not subtracted.

    Raises:
        RefLossError: when the divergence is +inf (p puts mass where q has none).

    >>> g = kl_divergence_logits_grad([[0.0, 0.0]], [[0.0, np.log(3.0)]])
    >>> g.q_logits
    array([[-0.25,  0.25]])
    """
    a, b = _kl_inputs(p_logits, q_logits, reduction)
    log_base = _log_base(base)
    return _scaled(a, *_passes(a, b, _grad_p, _grad_q), reduction, log_base)


@value_and_grad_of("kl_divergence_logits")
def _kl_divergence_logits_value_and_grad(p_logits: ArrayLike, q_logits: ArrayLike, *, base: float | None = None,
                                         reduction: str = "mean"):
    """:func:`kl_divergence_logits` and :func:`kl_divergence_logits_grad` from one pass over each block of rows."""
    a, b = _kl_inputs(p_logits, q_logits, reduction)
    log_base = _log_base(base)
    kl, grad_p, grad_q = _passes(a, b, _kl, _grad_p, _grad_q)
    return _reduced(a, kl, reduction, log_base), _scaled(a, grad_p, grad_q, reduction, log_base)


class _Block:
    """A block's KL terms, and their two gradients computed once when the first of them is asked for."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        self.terms = _kl_rows(a, b)

    @cached_property
    def gradients(self) -> tuple[np.ndarray, np.ndarray]:
        return _kl_gradients(self.terms)


def _passes(a: np.ndarray, b: np.ndarray, *outputs):
    return outputs_by_rows(_Block, outputs, as_rows(a), as_rows(b))


def _kl(block: _Block) -> np.ndarray:
    return block.terms.kl


def _grad_p(block: _Block) -> np.ndarray:
    return block.gradients[0]


def _grad_q(block: _Block) -> np.ndarray:
    return block.gradients[1]


def _reduced(a: np.ndarray, kl: np.ndarray, reduction: str, log_base: float):
    if log_base != 1.0:
        kl /= log_base
    return reduce(kl.reshape(a.shape[:-1]), reduction)


def _scaled(a: np.ndarray, grad_p: np.ndarray, grad_q: np.ndarray, reduction: str, log_base: float) -> KLDivergenceGrad:
    scale = reduce_scale(a.shape[:-1], reduction) / log_base
    grad_p *= scale
    grad_q *= scale
    return KLDivergenceGrad(p_logits=grad_p.reshape(a.shape), q_logits=grad_q.reshape(a.shape))


def _kl_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        a, mask = cases.draw_logits(draw, extreme)
        b = draw(hnp.arrays(np.float64, a.shape, elements=cases.floats(cases.EXTREME if extreme else cases.MODERATE)))
        # q may be masked only where p is: otherwise KL(p || q) = +inf.
        q_mask = mask & draw(hnp.arrays(np.bool_, a.shape))
        return {"p_logits": a, "q_logits": np.where(q_mask, -np.inf, b),
                "base": draw(st.sampled_from([None, 2.0, 10.0, 0.5])),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()


def _kl_stress():
    gaps, zeros = cases.GAP_ROWS, np.zeros_like(cases.GAP_ROWS)
    near = cases.TIE_ROWS
    return {
        "peaked_p__uniform_q": {"p_logits": gaps, "q_logits": zeros, "reduction": "none"},
        "uniform_p__peaked_q": {"p_logits": zeros, "q_logits": gaps, "reduction": "none"},
        "both_peaked": {"p_logits": gaps, "q_logits": gaps[::-1] * 0.5, "reduction": "none"},
        "near_ties": {"p_logits": near, "q_logits": near[::-1], "reduction": "none"},
        "masked": {"p_logits": cases.MASKED_ROWS, "q_logits": np.array([[1.0, 2.0, 0.0], [0.0, 0.5, -np.inf],
                                                                         [-1.0, 0.0, 4.0]]), "reduction": "none"},
        "reduction_mean": {"p_logits": gaps[:3], "q_logits": zeros[:3], "reduction": "mean"},
        "defaults": {"p_logits": gaps[:3], "q_logits": near[:3]},
        # SciPy's base: bits, and a base below 1 (a negative unit: the divergence in it is negative)
        "base_2__peaked_p": {"p_logits": gaps, "q_logits": zeros, "base": 2.0, "reduction": "none"},
        "base_0.5__mean": {"p_logits": gaps[:3], "q_logits": near[:3], "base": 0.5, "reduction": "mean"},
        # q's mode thousands above p's: logit gaps far larger than the log-ratios they produce
        "uniform_p__q_peaked_by_thousands": {"p_logits": np.array([[-0.99999, -0.99999], [0.0, 0.0]]),
                                             "q_logits": np.array([[2684.6121123613884, 8002.959790530334],
                                                                   [-3000.7, 0.2]]), "reduction": "none"},
        # p and q agree on the classes that carry their mass and differ on a tail class 5 logits apart:
        # L = log(q_k / p_k) = 5e-4 from a sum over the classes, not from two logs of about -0.69
        "close_but_a_far_tail": {"p_logits": np.array([[0.0, 0.0, -15.0]]),
                                 "q_logits": np.array([[0.0, 0.001, -20.0]]), "reduction": "sum"},
    }
