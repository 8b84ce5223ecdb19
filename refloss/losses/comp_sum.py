r"""Comp-sum losses (Mao, Mohri & Zhong 2023): cross-entropy's family, indexed by :math:`\tau \ge 0`.

A comp-sum loss composes a function :math:`\Phi^\tau` with the sum over the other classes,

.. math:: \ell_\tau(z, y) = \Phi^\tau\Big(\sum_{y' \ne y} e^{z_{y'} - z_y}\Big),\qquad
          \Phi^1(u) = \log(1 + u),\quad \Phi^\tau(u) = \frac{(1 + u)^{1-\tau} - 1}{1 - \tau}\ (\tau \ne 1),

and since :math:`1 + \sum_{y' \ne y} e^{z_{y'} - z_y} = 1/p_y` every member is a function of the target's
probability alone: :math:`\ell_\tau = (p_y^{\tau-1} - 1)/(1 - \tau)`, whose gradient is cross-entropy's
rescaled, :math:`p_y^{\tau-1}(p - e_y)`. :math:`\tau = 0` is the sum-exponential loss, :math:`\tau = 1`
cross-entropy, :math:`\tau = 1 + q \in (1, 2]` the generalized cross-entropy, :math:`\tau = 2` the mean
absolute error :math:`1 - p_y`.

**Evaluation.** With :math:`s = \log p_y \le 0` from the accurate log-softmax,
:math:`\ell_\tau = -s\,\mathrm{exprel}((\tau - 1)s)`, where :math:`\mathrm{exprel}(t) = (e^t - 1)/t`
(:func:`scipy.special.exprel`, exact through :math:`t = 0`). One expression covers every :math:`\tau`, with no
branch and no 0/0 at :math:`\tau = 1`, and keeps relative accuracy when :math:`p_y \to 1`, where
:math:`1 - p_y^{q}` would cancel. The gradient's target component is
:math:`p_y^{\tau-1}\,\mathrm{expm1}(s)`, not :math:`p_y^{\tau-1}(p_y - 1)`, and the others are
:math:`e^{(\tau-1)s + \log p_j}`, so every component keeps its own relative accuracy.

**Convention.** The family's formula and the membership of each loss follow the paper; its theorem text was
not available to us, so the parametrisation by :math:`\tau` is as reconstructed in the project's research
notes (``confirmed_formulas.md``, section 1) and checked there numerically, not quoted. For
:math:`\tau < 1` the loss is unbounded as :math:`p_y \to 0` and overflows to ``+inf`` once it exceeds the
float64 range.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.special
from numpy.typing import ArrayLike

from .. import _cases as cases
from .. import _validate as v
from .._reduce import check_reduction, reduce, reduce_scale
from .._registry import Paper, Param, gradient_of, register
from ..numerics import _log_softmax

_COMP_SUM = Paper("Cross-Entropy Loss Functions: Theoretical Analysis and Applications", arxiv="2304.07288",
                  seed="000_4ce7742a3c1ac78a.txt", where="A. Mao, M. Mohri, Y. Zhong, ICML 2023, Sec. 2 (comp-sum "
                  "losses); parametrisation by tau reconstructed, not quoted")
_GCE = Paper("Generalized Cross Entropy Loss for Training Deep Neural Networks with Noisy Labels", arxiv="1805.07836",
             where="Z. Zhang, M. R. Sabuncu, NeurIPS 2018, Eq. 6 (L_q); a comp-sum loss with tau = 1 + q")
_OVERFLOW = "tau < 1: the loss grows like p_y^(tau-1) and passes the float64 range when p_y is tiny"
_TARGET = Param("target", v.CLASS_TARGETS)
_REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' over elements | 'sum' | 'none'")
_LOGITS = Param("logits", v.LOGITS)


class _TargetTerms(NamedTuple):
    logp: np.ndarray  # (..., C) log-softmax
    target: np.ndarray  # (...) class indices
    logp_y: np.ndarray  # (...) log p_y
    masked: np.ndarray  # (..., C) logits that are -inf


def _target_terms(logits, target, reduction) -> _TargetTerms:
    z = v.logits(logits)
    check_reduction(reduction)
    y = v.class_targets(target, z.shape, None, "target")
    logp = _log_softmax(z)
    return _TargetTerms(logp, y, np.take_along_axis(logp, y[..., None], axis=-1)[..., 0], np.isneginf(z))


def _comp_sum_values(logp_y, tau_minus_one: float) -> np.ndarray:
    """(p_y^(tau-1) - 1)/(1 - tau) = -s exprel((tau-1) s), s = log p_y: exact through tau = 1 and p_y -> 1.

    Takes tau - 1 itself, so that a member given by q = tau - 1 (the generalized cross-entropy) is not
    rounded through 1 + q. A masked target (p_y = 0) gives +inf for tau <= 1 and 1/(tau - 1) above.
    """
    s = logp_y
    masked = np.isneginf(s)
    with np.errstate(over="ignore"):  # tau < 1 and p_y below ~1e-308^(1/(1-tau)): the loss exceeds float64
        values = -s * scipy.special.exprel(tau_minus_one * np.where(masked, 0.0, s))
    return np.where(masked, np.inf if tau_minus_one <= 0.0 else 1.0 / tau_minus_one, values)


def _comp_sum_gradient(terms: _TargetTerms, tau_minus_one: float, reduction) -> np.ndarray:
    """p_y^(tau-1) (p - e_y): others exp((tau-1)s + log p_j), the target p_y^(tau-1) expm1(s).

    Where p_y = 0 in float64 (log p_y = -inf): a masked target has no gradient for tau <= 1 (the loss is
    +inf); a finite target logit 1.8e308 below the maximum has the limit of the closed form: p - e_y at
    tau = 1, 0 for tau > 1, and components beyond the float64 range (+-inf) for tau < 1.
    """
    masked_target = np.take_along_axis(terms.masked, terms.target[..., None], axis=-1)
    if masked_target.any() and tau_minus_one <= 0.0:
        raise v.RefLossError("the loss is +inf (the target class has logit -inf), so its gradient is undefined")
    far = np.isneginf(terms.logp_y)[..., None]
    s = np.where(far, 0.0, terms.logp_y[..., None])
    with np.errstate(over="ignore"):
        grad = np.exp(tau_minus_one * s + terms.logp)
        target_grad = np.exp(tau_minus_one * s) * np.expm1(s)
    np.put_along_axis(grad, terms.target[..., None], target_grad, axis=-1)
    if far.any():
        p_minus_e = np.exp(terms.logp)  # p_y = 0 here, so p - e_y is p with -1 at the target
        np.put_along_axis(p_minus_e, terms.target[..., None], -1.0, axis=-1)
        # tau < 1: p_j p_y^(tau-1) = e^{log p_j + (tau - 1) log p_y} with log p_y below -1.8e308: +inf for
        # every class not masked, -inf for the target
        beyond = np.where(terms.masked, 0.0, np.inf)
        np.put_along_axis(beyond, terms.target[..., None], -np.inf, axis=-1)
        limit = p_minus_e if tau_minus_one == 0.0 else np.zeros_like(grad) if tau_minus_one > 0.0 else beyond
        grad = np.where(far, limit, grad)
    return reduce_scale(terms.target.shape, reduction) * grad


@register(
    name="comp_sum_loss",
    family="comp_sum",
    wrt=("logits",),
    params=(_LOGITS, _TARGET, Param("tau", v.NONNEGATIVE, "tau >= 0: 0 sum-exponential, 1 cross-entropy, 2 MAE"),
            _REDUCTION),
    paper=_COMP_SUM,
    stress=lambda: cases.softmax_stress(tau=(0.0, 0.5, 1.0, 1.0 + 2.0**-40, 1.5, 2.0, 3.0)),
    overflow=_OVERFLOW,
    shift_invariant=("logits",),
)
def comp_sum_loss(logits: ArrayLike, target: ArrayLike, *, tau: float = 1.0, reduction: str = "mean"):
    r"""Comp-sum loss :math:`\ell_\tau = \Phi^\tau(\sum_{y' \ne y} e^{z_{y'} - z_y}) = (p_y^{\tau-1} - 1)/(1 - \tau)`.

    ``tau=1`` is :func:`refloss.cross_entropy` (:math:`-\log p_y`), ``tau=0`` :func:`sum_exponential_loss`,
    ``tau=1+q`` :func:`generalized_cross_entropy`, ``tau=2`` :func:`mae_loss`. Evaluated as
    :math:`-s\,\mathrm{exprel}((\tau - 1)s)` with :math:`s = \log p_y` (module docstring), continuous in
    :math:`\tau` through 1. A target on a masked class gives ``+inf`` for :math:`\tau \le 1` and
    :math:`1/(\tau - 1)` above. ``"mean"`` divides by the number of elements.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        tau: :math:`\tau \ge 0`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> z = [[0.0, np.log(3.0)]]  # p = (1/4, 3/4), target 1
    >>> round(comp_sum_loss(z, [1], tau=2.0), 15)  # 1 - p_y = 1/4
    0.25
    >>> round(comp_sum_loss(z, [1], tau=0.0), 15)  # 1/p_y - 1 = e^{z_0 - z_1} = 1/3
    0.333333333333333

    Reference: Mao, Mohri & Zhong (2023), comp-sum losses.
    """
    terms = _target_terms(logits, target, reduction)
    tau = v.scalar(tau, v.NONNEGATIVE, "tau")
    return reduce(_comp_sum_values(terms.logp_y, tau - 1.0), reduction)


@gradient_of("comp_sum_loss")
def comp_sum_loss_grad(logits: ArrayLike, target: ArrayLike, *, tau: float = 1.0, reduction: str = "mean"):
    r"""Gradient of :func:`comp_sum_loss` with respect to ``logits``: :math:`p_y^{\tau-1}(p - e_y)`.

    Raises:
        RefLossError: as :func:`comp_sum_loss`, and when the loss is ``+inf`` (a masked target, :math:`\tau \le 1`).

    >>> comp_sum_loss_grad([[0.0, np.log(3.0)]], [1], tau=2.0)  # p_y (p - e_y) = (3/4)(1/4, -1/4)
    array([[ 0.1875, -0.1875]])
    """
    terms = _target_terms(logits, target, reduction)
    return _comp_sum_gradient(terms, v.scalar(tau, v.NONNEGATIVE, "tau") - 1.0, reduction)


@register(
    name="sum_exponential_loss",
    family="comp_sum",
    wrt=("logits",),
    params=(_LOGITS, _TARGET, _REDUCTION),
    paper=_COMP_SUM,
    stress=lambda: cases.softmax_stress(),
    overflow=_OVERFLOW,
    shift_invariant=("logits",),
)
def sum_exponential_loss(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Sum-exponential loss :math:`\ell = \sum_{y' \ne y} e^{z_{y'} - z_y} = 1/p_y - 1`: the comp-sum loss at
    :math:`\tau = 0`, the multi-class exponential loss of boosting.

    Evaluated as :math:`\mathrm{expm1}(-\log p_y)`, which is exact to a few ulps for every :math:`p_y`, small
    (:math:`\approx 1 - p_y`) or huge; it passes the float64 range when :math:`p_y < 10^{-308}`. A target on
    a masked class gives ``+inf``. ``"mean"`` divides by the number of elements.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> round(sum_exponential_loss([[0.0, np.log(3.0), 1.0]], [1]), 15)  # (1 + e) / 3
    1.239427276153015

    Reference: Mao, Mohri & Zhong (2023), the comp-sum loss with tau = 0.
    """
    terms = _target_terms(logits, target, reduction)
    return reduce(_comp_sum_values(terms.logp_y, -1.0), reduction)


@gradient_of("sum_exponential_loss")
def sum_exponential_loss_grad(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Gradient of :func:`sum_exponential_loss`: :math:`(p - e_y)/p_y`, i.e. :math:`e^{z_j - z_y}` off the target
    and :math:`-(1/p_y - 1)` on it.

    Raises:
        RefLossError: as :func:`sum_exponential_loss`, and when the target class is masked (the loss is +inf).

    >>> sum_exponential_loss_grad([[0.0, np.log(3.0)]], [1])  # (1/3, -1/3)
    array([[ 0.33333333, -0.33333333]])
    """
    return _comp_sum_gradient(_target_terms(logits, target, reduction), -1.0, reduction)


_Q = v.Interval(0.0, 1.0, lo_open=True)


@register(
    name="generalized_cross_entropy",
    family="comp_sum",
    wrt=("logits",),
    params=(_LOGITS, _TARGET, Param("q", _Q, "q in (0, 1]: -> 0 cross-entropy, 1 MAE"), _REDUCTION),
    paper=_GCE,
    stress=lambda: cases.softmax_stress(q=(2.0**-40, 1e-3, 0.5, 0.7, 1.0)),
    shift_invariant=("logits",),
)
def generalized_cross_entropy(logits: ArrayLike, target: ArrayLike, *, q: float = 0.7, reduction: str = "mean"):
    r"""Generalized cross-entropy :math:`L_q = (1 - p_y^q)/q`, :math:`q \in (0, 1]` (Zhang & Sabuncu 2018).

    The Box-Cox transform of :math:`p_y`: :math:`q \to 0` gives cross-entropy :math:`-\log p_y`, :math:`q = 1`
    gives :func:`mae_loss`, :math:`1 - p_y`. It is the comp-sum loss with :math:`\tau = 1 + q`. Evaluated as
    :math:`-s\,\mathrm{exprel}(q s)`, :math:`s = \log p_y`, which keeps every digit at small :math:`q` (where
    :math:`1 - p_y^q` cancels) and as :math:`p_y \to 1`. A target on a masked class gives :math:`1/q`.
    ``"mean"`` divides by the number of elements. The default ``q=0.7`` is the paper's.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        q: :math:`q \in (0, 1]`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> round(generalized_cross_entropy([[0.0, np.log(3.0)]], [0], q=0.5), 15)  # (1 - (1/4)^(1/2)) / (1/2) = 1
    1.0

    Reference: Zhang & Sabuncu (2018), Eq. 6.
    """
    terms = _target_terms(logits, target, reduction)
    return reduce(_comp_sum_values(terms.logp_y, v.scalar(q, _Q, "q")), reduction)


@gradient_of("generalized_cross_entropy")
def generalized_cross_entropy_grad(logits: ArrayLike, target: ArrayLike, *, q: float = 0.7,
                                   reduction: str = "mean"):
    r"""Gradient of :func:`generalized_cross_entropy`: :math:`p_y^q (p - e_y)`, cross-entropy's scaled by
    :math:`p_y^q` (the down-weighting of hard, possibly mislabelled, examples).

    >>> generalized_cross_entropy_grad([[0.0, np.log(3.0)]], [0], q=0.5)  # (1/2) (p - e_0) = (1/2)(-3/4, 3/4)
    array([[-0.375,  0.375]])
    """
    terms = _target_terms(logits, target, reduction)
    return _comp_sum_gradient(terms, v.scalar(q, _Q, "q"), reduction)


@register(
    name="mae_loss",
    family="comp_sum",
    wrt=("logits",),
    params=(_LOGITS, _TARGET, _REDUCTION),
    paper=_COMP_SUM,
    stress=lambda: cases.softmax_stress(),
    shift_invariant=("logits",),
)
def mae_loss(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Mean absolute error of the softmax, :math:`\ell = 1 - p_y`: the comp-sum loss at :math:`\tau = 2`.

    **Convention.** :math:`1 - p_y`, the comp-sum member (and Zhang & Sabuncu's :math:`L_{q=1}`); Ghosh et al.
    (2017) and the normalized-loss literature write MAE as :math:`\lVert p - e_y \rVert_1 = 2(1 - p_y)`, twice
    this. Evaluated as :math:`-\mathrm{expm1}(\log p_y)`, so it keeps relative accuracy as :math:`p_y \to 1`.
    ``"mean"`` divides by the number of elements.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> float(mae_loss([[0.0, np.log(3.0)]], [1], reduction="sum"))  # 1 - 3/4
    0.25
    >>> float(mae_loss([[40.0, 0.0]], [0], reduction="sum"))  # 1 - p_0 = e^-40 / (1 + e^-40), not 0
    4.248354255291589e-18

    Reference: Mao, Mohri & Zhong (2023), the comp-sum loss with tau = 2.
    """
    terms = _target_terms(logits, target, reduction)
    return reduce(_comp_sum_values(terms.logp_y, 1.0), reduction)


@gradient_of("mae_loss")
def mae_loss_grad(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Gradient of :func:`mae_loss`: :math:`p_y (p - e_y)`.

    >>> mae_loss_grad([[0.0, np.log(3.0)]], [1])  # (3/4)(1/4, -1/4)
    array([[ 0.1875, -0.1875]])
    """
    return _comp_sum_gradient(_target_terms(logits, target, reduction), 1.0, reduction)
