r"""Entropy and KL divergence of softmax distributions given by logits (nats, class axis last).

Both are sums of :math:`p \log(\cdot)` terms; masked classes (``-inf`` logits, :math:`p = 0`) follow
the convention :math:`0 \log 0 = 0`. ``"mean"`` averages over the rows (PyTorch's
``kl_div(..., reduction="batchmean")``, not its elementwise ``"mean"``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _strategies as strategies
from .. import _validate as v
from .._reduce import check_reduction, reduce, reduce_scale
from .._registry import Paper, Param, register
from ..golden import mp
from ..numerics import _log_softmax, plogq

_REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' over rows | 'sum' | 'none'")
_SHANNON = Paper("A Mathematical Theory of Communication", where="C. E. Shannon, Bell Syst. Tech. J. 27, 1948")
_KULLBACK = Paper("On Information and Sufficiency",
                  where="S. Kullback, R. A. Leibler, Ann. Math. Statist. 22(1), 1951")


def _entropy_parts(logits, reduction):
    z = v.logits(logits)
    check_reduction(reduction)
    logp = _log_softmax(z)
    p = np.exp(logp)
    return p, logp, -plogq(p, logp).sum(axis=-1)


def softmax_entropy_grad(logits, reduction="mean"):
    r"""Gradient of :func:`softmax_entropy`: :math:`\partial H/\partial z_j = -p_j(\log p_j + H)`.

    Masked classes get 0 (:math:`p_j \log p_j \to 0`).

    >>> softmax_entropy_grad([[0.0, 0.0]])  # the uniform distribution is a stationary point
    array([[0., 0.]])
    """
    p, logp, h = _entropy_parts(logits, reduction)
    return -reduce_scale(h.shape, reduction) * plogq(p, logp + h[..., None])


@register(
    name="softmax_entropy",
    family="entropy",
    grad=softmax_entropy_grad,
    wrt=("logits",),
    params=(_REDUCTION,),
    paper=_SHANNON,
    formula=r"H(z) = -\sum_j p_j \log p_j,\quad p = \mathrm{softmax}(z)",
    gradient=r"\frac{\partial H}{\partial z_j} = -p_j\,(\log p_j + H)",
    proof="proofs/check_entropy.py::softmax_entropy",
    strategy=strategies.softmax_entropy,
    mp=mp.softmax_entropy,
    mp_scale=mp.softmax_entropy_scale,
    shift_invariant=("logits",),
)
def softmax_entropy(logits, reduction="mean"):
    r"""Shannon entropy (nats) of :math:`p = \mathrm{softmax}(z)` along the last axis.

    .. math:: H = -\sum_j p_j \log p_j

    Evaluated as a sum of non-negative terms :math:`-p_j \log p_j` with an accurate log-softmax,
    not as :math:`\mathrm{LSE}(z) - \sum_j p_j z_j`, which cancels when the distribution is peaked.
    Gradient: :func:`softmax_entropy_grad`.

    Args:
        logits: float array ``(..., C)``; ``-inf`` masks a class.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"`` (shape ``logits.shape[:-1]``).

    >>> round(softmax_entropy([0.0, 0.0, 0.0, 0.0]), 15)  # log 4
    1.386294361119891
    >>> softmax_entropy([[30.0, 0.0]], reduction="none")  # ~ 31 e^-30, not lost to cancellation
    array([2.90086312e-12])
    """
    return reduce(_entropy_parts(logits, reduction)[2], reduction)


class KLDivergenceGrad(NamedTuple):
    """Gradients of :func:`kl_divergence_logits`, one per differentiable input."""

    p_logits: np.ndarray
    q_logits: np.ndarray


def _kl_parts(p_logits, q_logits, reduction):
    a = v.logits(p_logits, "p_logits")
    b = v.logits(q_logits, "q_logits")
    v.same_shape(a, b, "p_logits", "q_logits")
    check_reduction(reduction)
    logp, logq = _log_softmax(a), _log_softmax(b)
    p = np.exp(logp)
    # d = log p - log q where p > 0; where p = 0 the term is 0 whatever q is (0 log 0/q = 0).
    support = p > 0
    d = np.where(support, logp - np.where(support, logq, 0.0), 0.0)
    return p, logq, d, (p * d).sum(axis=-1)


def kl_divergence_logits_grad(p_logits, q_logits, reduction="mean") -> KLDivergenceGrad:
    r"""Gradients of :func:`kl_divergence_logits` with respect to both inputs.

    .. math:: \frac{\partial\,\mathrm{KL}}{\partial a_j} = p_j\,\big(\log p_j - \log q_j - \mathrm{KL}\big),
              \qquad \frac{\partial\,\mathrm{KL}}{\partial b_j} = q_j - p_j .

    Raises:
        RefLossError: when the divergence is +inf (p puts mass where q has none).

    >>> g = kl_divergence_logits_grad([[0.0, 0.0]], [[0.0, np.log(3.0)]])
    >>> g.q_logits
    array([[-0.25,  0.25]])
    """
    p, logq, d, kl = _kl_parts(p_logits, q_logits, reduction)
    if np.isinf(kl).any():
        raise v.RefLossError("kl_divergence_logits is +inf (q_logits is -inf where p has mass), "
                             "so its gradient is undefined")
    scale = reduce_scale(kl.shape, reduction)
    return KLDivergenceGrad(p_logits=scale * p * (d - kl[..., None]), q_logits=scale * (np.exp(logq) - p))


@register(
    name="kl_divergence_logits",
    family="entropy",
    grad=kl_divergence_logits_grad,
    wrt=("p_logits", "q_logits"),
    params=(
        Param("q_logits", v.ArrayArg("logits of the second distribution, same shape as p_logits")),
        _REDUCTION,
    ),
    paper=_KULLBACK,
    formula=r"\mathrm{KL}(p \,\|\, q) = \sum_j p_j (\log p_j - \log q_j),\quad p = \mathrm{softmax}(a),\ "
    r"q = \mathrm{softmax}(b)",
    gradient=r"\frac{\partial\,\mathrm{KL}}{\partial a_j} = p_j(\log p_j - \log q_j - \mathrm{KL}),\quad "
    r"\frac{\partial\,\mathrm{KL}}{\partial b_j} = q_j - p_j",
    proof="proofs/check_entropy.py::kl_divergence_logits",
    strategy=strategies.kl_divergence_logits,
    mp=mp.kl_divergence_logits,
    mp_scale=mp.kl_divergence_logits_scale,
    shift_invariant=("p_logits", "q_logits"),
)
def kl_divergence_logits(p_logits, q_logits, reduction="mean"):
    r"""KL divergence :math:`\mathrm{KL}(\mathrm{softmax}(a) \,\|\, \mathrm{softmax}(b))` along the last axis.

    .. math:: \mathrm{KL}(p\,\|\,q) = \sum_j p_j(\log p_j - \log q_j)

    in nats, with both log-probabilities from an accurate log-softmax. Classes masked in ``p_logits``
    contribute 0; a class masked in ``q_logits`` but not in ``p_logits`` makes the divergence +inf.
    PyTorch's ``F.kl_div(log_q, log_p, log_target=True, reduction="batchmean")`` is this with
    ``"mean"``. Gradients: :func:`kl_divergence_logits_grad` (a NamedTuple for both inputs).

    Args:
        p_logits: float array ``(..., C)``.
        q_logits: float array of the same shape.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    >>> round(kl_divergence_logits([0.0, 0.0], [0.0, np.log(3.0)]), 15)  # log 2 - (1/2) log 3
    0.143841036225890
    """
    return reduce(_kl_parts(p_logits, q_logits, reduction)[3], reduction)
