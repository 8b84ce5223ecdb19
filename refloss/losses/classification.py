r"""Cross-entropy and focal losses on logits.

Notation (shared by every docstring, proof and test): logits :math:`z \in \mathbb{R}^C` (class axis last),
:math:`\log p = \mathrm{log\_softmax}(z)`, class weights :math:`w`, label smoothing :math:`\varepsilon`,
the true class :math:`y`, one-hot :math:`e_y`.

Softmax cross-entropy in every mode is written as :math:`\ell = -\sum_c a_c \log p_c` with a
non-negative coefficient vector :math:`a` (class targets, weights and smoothing only change :math:`a`),
so one gradient serves them all:

.. math:: \frac{\partial \ell}{\partial z_j} = p_j \sum_c a_c - a_j
          = p_j \sum_{c \ne j} a_c + a_j\,(p_j - 1),

evaluated in the second form: two terms that are each accurate to a few ulps, with
:math:`p_j - 1 = \mathrm{expm1}(\log p_j)` and the leave-one-out sums :math:`\sum_{c \ne j} a_c` of
non-negative terms (prefix plus suffix sums, never a total minus one term). At a logit gap of 40 the
target component :math:`p_y - 1 = -4.25\cdot10^{-18}` keeps all its digits where :math:`p_y \sum_c a_c - a_y`
returns 0.

Without class weights, label smoothing adds the same :math:`u = \varepsilon / C` to every :math:`a_c`, and
that part of the gradient, :math:`u\,(C p_j - 1)`, is kept apart: near :math:`p_j = 1/C` its two terms
cancel, and where the logits are near 0 nothing in the condition scale excuses the error of one rounding of
them; :func:`refloss.numerics.softmax_over_uniform_minus_1` computes it from differences of logits. With class
weights the scale contains the weights' own sensitivity, which covers that rounding.
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
from ..numerics import _log_softmax, expm1mx, log1mexp, plogq, power_of_exp, softmax_over_uniform_minus_1, softplus

_REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' | 'sum' | 'none' (denominator of 'mean' as documented)")

_PYTORCH_CE = Paper(
    "Rethinking the Inception Architecture for Computer Vision",
    arxiv="1512.00567",
    where="label smoothing, Sec. 7; weight / ignore_index / reduction semantics are those of "
    "torch.nn.functional.cross_entropy (PyTorch docs, aten/src/ATen/native/LossNLL.cpp)",
)
_FOCAL = Paper("Focal Loss for Dense Object Detection", arxiv="1708.02002", where="Sec. 3, Eq. 5 and Sec. 3.2")


class _CETerms(NamedTuple):
    logits: np.ndarray  # (..., C)
    logp: np.ndarray  # (..., C)
    targeted: np.ndarray  # (..., C): the a_c with loss = -sum_c a_c log p_c, less their common part u
    uniform: np.ndarray  # (..., 1): u, eps / C per kept row when smoothing without class weights, else 0
    denominator: float  # of "mean"

    @property
    def coeff(self) -> np.ndarray:
        return self.targeted + self.uniform


def _cross_entropy_terms(logits, target, weight, ignore_index, label_smoothing, reduction) -> _CETerms:
    z = v.logits(logits)
    check_reduction(reduction)
    eps = v.scalar(label_smoothing, v.UNIT_INTERVAL, "label_smoothing")
    ignore_index = v.integer(ignore_index, "ignore_index")
    n_classes = z.shape[-1]
    w = np.ones(n_classes) if weight is None else v.nonnegative_weights(weight, "weight", length=n_classes)
    logp = _log_softmax(z)
    target_arr = v.as_array(target, "target")
    if target_arr.shape == z.shape:
        # Probability targets (PyTorch dispatches on equal shapes): a = w * ((1 - eps) t + eps / C).
        if target_arr.dtype.kind != "f":
            raise v.RefLossError(f"target has the shape of logits, so it holds probabilities and must be "
                                 f"floating point, got dtype {target_arr.dtype}")
        if ignore_index >= 0:
            raise v.RefLossError("ignore_index is not supported with probability targets (leave it negative)")
        t = v.probabilities(target_arr, z.shape, "target")
        n_rows = float(np.prod(z.shape[:-1]))
        if weight is None:
            return _CETerms(z, logp, (1.0 - eps) * t, np.full(z.shape[:-1] + (1,), eps / n_classes), n_rows)
        return _CETerms(z, logp, w * ((1.0 - eps) * t + eps / n_classes), np.zeros(z.shape[:-1] + (1,)), n_rows)
    y = v.class_targets(target_arr, z.shape, ignore_index, "target")
    kept = y != ignore_index
    y_safe = np.where(kept, y, 0)
    one_hot = np.zeros(z.shape)
    np.put_along_axis(one_hot, y_safe[..., None], 1.0, axis=-1)
    w_y = w[y_safe] * kept
    # a = m_n [ (1 - eps) w_y e_y + (eps / C) w ]: the smoothing part uses every class weight, not w_y.
    targeted = kept[..., None] * (1.0 - eps) * w_y[..., None] * one_hot
    uniform = kept[..., None] * (eps / n_classes)
    if weight is not None:
        targeted, uniform = targeted + uniform * w, np.zeros_like(uniform)
    return _CETerms(z, logp, targeted, uniform, float(w_y.sum()))


def _leave_one_out_sums(a: np.ndarray) -> np.ndarray:
    """sum_{c != j} a_c for every j, from prefix and suffix sums of the non-negative a (no cancellation)."""
    before = np.concatenate([np.zeros(a.shape[:-1] + (1,)), np.cumsum(a, axis=-1)[..., :-1]], axis=-1)
    after = np.concatenate([np.flip(np.cumsum(np.flip(a, -1), axis=-1), -1)[..., 1:], np.zeros(a.shape[:-1] + (1,))],
                           axis=-1)
    return before + after


def _softmax_minus_coefficients(logp: np.ndarray, a: np.ndarray) -> np.ndarray:
    """p_j sum_c a_c - a_j as p_j sum_{c != j} a_c + a_j expm1(log p_j), for non-negative a."""
    with np.errstate(invalid="ignore"):  # masked classes (log p = -inf) have a_j = 0: 0 * expm1(-inf) = 0
        return np.exp(logp) * _leave_one_out_sums(a) + np.where(a > 0, a * np.expm1(logp), 0.0)


def _logit_gradient(terms: _CETerms) -> np.ndarray:
    """p_j sum_c a_c - a_j, the common part u of the a_c as u (C p_j - 1) (module docstring)."""
    grad = _softmax_minus_coefficients(terms.logp, terms.targeted)
    if terms.uniform.any():  # then no kept row has a masked class (_raise_if_masked)
        smoothed = (terms.uniform > 0)[..., 0]
        grad[smoothed] += terms.uniform[smoothed] * softmax_over_uniform_minus_1(terms.logits[smoothed])
    return grad


def _losses(terms: _CETerms) -> np.ndarray:
    return -plogq(terms.coeff, terms.logp).sum(axis=-1)


def _raise_if_masked(masked: np.ndarray, weight: np.ndarray, what: str) -> None:
    """A class with positive weight whose logit is masked (-inf) makes the loss +inf: no gradient.

    Decided on the input's mask, not on the loss: a finite logit more than 1.8e308 below the row's maximum
    also has log p = -inf in float64 and an infinite loss value (its exact value is beyond the float64
    range), but its gradient is finite and is returned."""
    if (masked & (weight > 0)).any():
        raise v.RefLossError(f"{what} is +inf (a class with positive target weight has logit -inf), "
                             "so its gradient is undefined")


@register(
    name="cross_entropy",
    family="classification",
    wrt=("logits",),
    params=(
        Param("logits", v.LOGITS),
        Param("target", v.ArrayArg("int class indices of shape logits.shape[:-1], or probabilities of "
                                   "logits' shape (rows sum to 1 within 1e-6)")),
        Param("weight", v.CLASS_WEIGHTS, optional=True),
        Param("ignore_index", v.ArrayArg("int; targets equal to it are ignored (class targets only)")),
        Param("label_smoothing", v.UNIT_INTERVAL, "epsilon: mixes the target with the uniform distribution"),
        _REDUCTION,
    ),
    paper=_PYTORCH_CE,
    strategy=lambda extreme: _cross_entropy_cases(extreme),
    stress=lambda: {**cases.softmax_stress(label_smoothing=(0.0,)), **_cross_entropy_stress()},
    shift_invariant=("logits",),
)
def cross_entropy(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None, ignore_index: int = -100,
                  label_smoothing: float = 0.0, reduction: str = "mean"):
    r"""Softmax cross-entropy with PyTorch's ``F.cross_entropy`` semantics (class axis last).

    With :math:`\log p = \mathrm{log\_softmax}(z_n)`, each element's loss is
    :math:`\ell_n = -\sum_c a_{n,c} \log p_{n,c}`, where

    * **class targets** :math:`y_n` (integer array of shape ``logits.shape[:-1]``):
      :math:`a_n = m_n\,[(1-\varepsilon)\, w_{y_n} e_{y_n} + \tfrac{\varepsilon}{C} w]`, with
      :math:`m_n = [y_n \ne \mathtt{ignore\_index}]`. So without smoothing
      :math:`\ell_n = m_n w_{y_n}(\mathrm{LSE}(z_n) - z_{n,y_n})`. Note the smoothing term weights
      class :math:`c` by :math:`w_c`, not by :math:`w_{y_n}` (PyTorch's rule).
      ``"mean"`` divides the sum by :math:`W = \sum_n m_n w_{y_n}`, the total weight of the
      non-ignored targets, for both terms. If :math:`W = 0` (every target ignored, or their weights
      are 0) the mean is 0/0 = ``nan``, as in PyTorch, with a :class:`~refloss.RefLossWarning`.
      ``ignore_index`` may be any integer, including a valid class id (that class is then ignored).
    * **probability targets** :math:`t_n` (float array of the logits' shape, rows summing to 1 within
      ``1e-6``): :math:`a_n = w \odot ((1-\varepsilon) t_n + \tfrac{\varepsilon}{C})`. ``"mean"``
      divides by the number of rows :math:`N` (weights are *not* in the denominator), and
      ``ignore_index`` must stay negative.

    ``"none"`` returns :math:`\ell` with the shape ``logits.shape[:-1]`` (0 at ignored targets).
    Gradient: :func:`cross_entropy_grad`.

    Where refloss differs from PyTorch, on purpose: the class axis is the *last* axis (PyTorch: axis
    1); an empty batch raises instead of returning ``nan``; probability targets are validated; a
    probability of 0 on a masked (``-inf``) class contributes :math:`0 \log 0 = 0` (PyTorch: ``nan``).
    A positive target weight on a masked class gives ``+inf``, as :math:`-\log 0`.

    Args:
        logits: float array ``(..., C)``.
        target: class indices ``(...)`` or probabilities ``(..., C)``.
        weight: optional non-negative class weights ``(C,)``.
        ignore_index: class-index value whose elements are ignored (default -100).
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        float for ``"mean"``/``"sum"``, else an array of shape ``logits.shape[:-1]``.

    Raises:
        RefLossError: shape mismatch, class index out of range, NaN, probabilities that are negative
            or do not sum to 1, empty batch, ``label_smoothing`` outside [0, 1], unknown ``reduction``.

    >>> logits = [[0.0, 0.0], [0.0, np.log(3.0)]]  # p = (1/2, 1/2) and (1/4, 3/4)
    >>> round(cross_entropy(logits, [0, 1]), 15)  # (log 2 + log 4/3) / 2
    0.490414626505863
    >>> cross_entropy(logits, [0, -100], weight=[2.0, 1.0])  # 2 log 2 / w_0: the ignored row drops out
    0.6931471805599453

    References: Szegedy et al. (2016) for label smoothing; PyTorch ``torch.nn.CrossEntropyLoss`` docs for
    weights, ``ignore_index`` and the denominators of ``"mean"``.
    """
    terms = _cross_entropy_terms(logits, target, weight, ignore_index, label_smoothing, reduction)
    return reduce(_losses(terms), reduction, terms.denominator)


@gradient_of("cross_entropy")
def cross_entropy_grad(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None,
                       ignore_index: int = -100, label_smoothing: float = 0.0, reduction: str = "mean"):
    r"""Gradient of :func:`cross_entropy` with respect to ``logits``, same signature.

    :math:`p_{n,j} \sum_c a_{n,c} - a_{n,j}` (module docstring: how each component keeps its digits),
    times :math:`1/W` (class targets) or :math:`1/N` (probability targets) for ``"mean"``. Ignored
    targets get a zero gradient. When :math:`W = 0` the mean is ``nan`` and its gradient is returned
    as zero: PyTorch's backward agrees when every target is ignored, but gives ``nan`` when the
    non-ignored targets all have class weight 0.

    Raises:
        RefLossError: as :func:`cross_entropy`, and when the loss is +inf (a target class at ``-inf``).

    >>> cross_entropy_grad([[0.0, 0.0]], [1])
    array([[ 0.5, -0.5]])
    """
    terms = _cross_entropy_terms(logits, target, weight, ignore_index, label_smoothing, reduction)
    _raise_if_masked(np.isneginf(terms.logits), terms.coeff, "cross_entropy")
    scale = reduce_scale(terms.logp.shape[:-1], reduction, terms.denominator)
    return scale * _logit_gradient(terms)


def _binary_inputs(logits, target, reduction):
    """Elementwise logits (any non-empty shape, finite) and labels in [0, 1] of the same shape."""
    x = v.real_array(logits, "logits")
    if x.size == 0:
        raise v.RefLossError(f"logits is empty (shape {x.shape}): empty batch")
    check_reduction(reduction)
    return x, v.unit_interval_array(target, x.shape, "target")


def _binary_cross_entropy(x, y, pos_weight=1.0):
    """pos_weight * y * softplus(-x) + (1 - y) * softplus(x): two non-negative terms, no cancellation."""
    return pos_weight * y * softplus(-x) + (1.0 - y) * softplus(x)


def _bce_inputs(logits, target, weight, pos_weight, reduction):
    x, y = _binary_inputs(logits, target, reduction)
    w = 1.0 if weight is None else v.nonnegative_weights(weight, "weight", broadcast_to=x.shape)
    pw = 1.0 if pos_weight is None else v.nonnegative_weights(pos_weight, "pos_weight", broadcast_to=x.shape)
    return x, y, w, pw


@register(
    name="binary_cross_entropy_with_logits",
    family="classification",
    wrt=("logits",),
    params=(
        Param("logits", v.ArrayArg("float logits of any non-empty shape")),
        Param("target", v.ArrayArg("labels in [0, 1] (soft labels allowed), the logits' shape")),
        Param("weight", v.ArrayArg("None or non-negative weights broadcastable to logits"), optional=True),
        Param("pos_weight", v.ArrayArg("None or non-negative weights of the positive term, broadcastable "
                                       "to logits (one per class along the last axis)"), optional=True),
        _REDUCTION,
    ),
    paper=Paper("torch.nn.BCEWithLogitsLoss", where="PyTorch documentation (the pos_weight convention)"),
    strategy=lambda extreme: _bce_cases(extreme),
    stress=lambda: _binary_stress(),
)
def binary_cross_entropy_with_logits(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None,
                                     pos_weight: ArrayLike | None = None, reduction: str = "mean"):
    r"""Binary cross-entropy on logits, PyTorch's ``F.binary_cross_entropy_with_logits``.

    .. math:: \ell = -w\,\big[\rho\, y \log \sigma(x) + (1-y)\log(1 - \sigma(x))\big]
              = w\,\big[\rho\, y\, \mathrm{softplus}(-x) + (1-y)\, \mathrm{softplus}(x)\big]

    elementwise, with :math:`\rho` = ``pos_weight`` (weights the positive term only) and :math:`w` =
    ``weight``. The right-hand form adds two non-negative terms, so it stays accurate where
    PyTorch's :math:`(1-y)x + (1 + (\rho-1)y)\,\mathrm{softplus}(-x)` cancels (large negative x).
    ``"mean"`` divides by the number of elements (weights are not in the denominator).
    Gradient: :func:`binary_cross_entropy_with_logits_grad`.

    Args:
        logits: float array of any non-empty shape.
        target: same shape, entries in [0, 1].
        weight, pos_weight: optional non-negative arrays broadcastable to ``logits``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> round(binary_cross_entropy_with_logits([0.0, 2.0], [1.0, 0.0]), 14)  # (log 2 + log(1 + e^2)) / 2
    1.41003759580146
    >>> float(binary_cross_entropy_with_logits([-800.0], [0.0], reduction="sum"))  # softplus(-800)
    0.0
    """
    x, y, w, pw = _bce_inputs(logits, target, weight, pos_weight, reduction)
    return reduce(w * _binary_cross_entropy(x, y, pw), reduction)


@gradient_of("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits_grad(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None,
                                          pos_weight: ArrayLike | None = None, reduction: str = "mean"):
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``logits`` (closed form below).

    Evaluated as written below, with :math:`\sigma(-x)` from ``expit(-x)``, not as the equal
    :math:`w[\sigma(x)(1 + (\rho - 1)y) - \rho y]`, which cancels at large x; times
    :math:`1/\text{numel}` for ``"mean"``.

    >>> binary_cross_entropy_with_logits_grad([0.0], [1.0], reduction="sum")
    array([-0.5])
    """
    x, y, w, pw = _bce_inputs(logits, target, weight, pos_weight, reduction)
    scale = reduce_scale(x.shape, reduction)
    return scale * w * ((1.0 - y) * scipy.special.expit(x) - pw * y * scipy.special.expit(-x))


class _FocalTerms(NamedTuple):
    target: np.ndarray  # (...) class indices
    masked_target: np.ndarray  # (...) the target's logit is -inf
    logp: np.ndarray  # (..., C)
    logp_y: np.ndarray  # (...)
    q: np.ndarray  # (...) 1 - p_y, as -expm1(log p_y)
    q_pow: np.ndarray  # (...) (1 - p_y)^gamma, as exp(gamma log1mexp(log p_y))
    gamma: float
    alpha_y: np.ndarray  # (...) alpha gathered at the target


def _focal_terms(logits, target, gamma, alpha, reduction) -> _FocalTerms:
    z = v.logits(logits)
    check_reduction(reduction)
    gamma = v.scalar(gamma, v.NONNEGATIVE, "gamma")
    y = v.class_targets(target, z.shape, None, "target")
    n_classes = z.shape[-1]
    if alpha is None:
        alpha_y = np.ones(y.shape)
    else:
        a = v.as_array(alpha, "alpha")
        if a.ndim == 0:
            alpha_y = np.full(y.shape, v.scalar(alpha, v.NONNEGATIVE, "alpha"))
        else:
            alpha_y = v.nonnegative_weights(a, "alpha", length=n_classes)[y]
    logp = _log_softmax(z)
    logp_y = np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
    q = -np.expm1(logp_y)  # 1 - p_y without cancellation as p_y -> 1
    q_pow = power_of_exp(gamma, log1mexp(logp_y))  # (1 - p_y)^gamma keeps its digits for a huge gamma
    masked_target = np.take_along_axis(np.isneginf(z), y[..., None], axis=-1)[..., 0]
    return _FocalTerms(y, masked_target, logp, logp_y, q, q_pow, gamma, alpha_y)


@register(
    name="focal_loss",
    family="classification",
    wrt=("logits",),
    params=(
        Param("logits", v.LOGITS),
        Param("target", v.CLASS_TARGETS),
        Param("gamma", v.NONNEGATIVE, "focusing parameter; gamma = 0 is cross-entropy"),
        Param("alpha", v.ArrayArg("None, a non-negative scalar, or non-negative per-class weights (C,)"),
              optional=True),
        _REDUCTION,
    ),
    paper=_FOCAL,
    strategy=lambda extreme: _focal_cases(extreme),
    stress=lambda: {**cases.softmax_stress(gamma=(0.0, 0.5, 2.0)),
                    "alpha_per_class": {**cases.softmax_stress()["gaps__target_second"], "gamma": 1.5,
                                        "alpha": np.array([0.25, 0.5, 2.0])}},
    shift_invariant=("logits",),
)
def focal_loss(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0, alpha: ArrayLike | float | None = None,
               reduction: str = "mean"):
    r"""Multiclass (softmax) focal loss: :math:`\ell = -\alpha_y (1 - p_y)^{\gamma} \log p_y`.

    The softmax form of Lin et al.'s :math:`\mathrm{FL}(p_t) = -\alpha_t (1-p_t)^\gamma \log p_t` with
    :math:`p_t = p_y`. Convention: ``alpha`` is a per-class weight vector gathered at the target
    (:math:`\alpha_t = \alpha_y`); a scalar ``alpha`` multiplies every class alike (it only rescales the
    loss), and ``None`` means 1. ``"mean"`` divides by the number of elements (not by the alphas).
    :math:`1 - p_y` is computed as ``-expm1(log p_y)``, so the loss keeps relative accuracy when
    :math:`p_y \to 1`. Gradient: :func:`focal_loss_grad`.

    Args:
        logits: float array ``(..., C)``.
        target: integer class indices ``(...)`` (no ``ignore_index``).
        gamma: :math:`\gamma \ge 0`; ``gamma=0`` with ``alpha=None`` is :func:`cross_entropy`.
        alpha: ``None``, a scalar, or an array ``(C,)``, all non-negative.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> round(focal_loss([[0.0, 0.0]], [0], gamma=2.0), 15)  # (1/2)^2 * log 2
    0.173286795139986

    Reference: Lin, Goyal, Girshick, He, Dollar (2017), Eq. 5.
    """
    t = _focal_terms(logits, target, gamma, alpha, reduction)
    return reduce(np.where(t.alpha_y > 0, -t.alpha_y * t.q_pow * t.logp_y, 0.0), reduction)


@gradient_of("focal_loss")
def focal_loss_grad(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0, alpha: ArrayLike | float | None = None,
                    reduction: str = "mean"):
    r"""Gradient of :func:`focal_loss` with respect to ``logits`` (closed form below).

    Evaluated as :math:`\alpha_y q^\gamma (1 - \gamma p_y \cdot (\log p_y / q)) (p - e_y)` with
    :math:`q = -\mathrm{expm1}(\log p_y)` and the target component :math:`p_y - 1 = \mathrm{expm1}(\log p_y)`:
    :math:`\log p_y / q \to -1` as :math:`q \to 0`, so no negative power of :math:`q` is formed (for
    :math:`\gamma < 1`, :math:`q^{\gamma - 1}` alone would overflow), and no component cancels.

    >>> focal_loss_grad([[0.0, 0.0]], [0], gamma=0.0)  # gamma = 0 is cross-entropy: p - e_y
    array([[-0.5,  0.5]])
    """
    t = _focal_terms(logits, target, gamma, alpha, reduction)
    _raise_if_masked(t.masked_target, t.alpha_y, "focal_loss")
    p_y = np.exp(t.logp_y)
    # p_y log(p_y) / q: -> -p_y as q -> 0, and 0 where p_y = 0 (a logit 1.8e308 below the maximum)
    safe_q = np.where(t.q > 0, t.q, 1.0)
    p_log_ratio = np.where(p_y > 0, p_y * np.where(t.q > 0, np.where(p_y > 0, t.logp_y, 0.0) / safe_q, -1.0), 0.0)
    factor = t.alpha_y * t.q_pow * (1.0 + t.gamma * -p_log_ratio)
    p_minus_e = np.exp(t.logp)
    np.put_along_axis(p_minus_e, t.target[..., None], np.expm1(t.logp_y)[..., None], -1)
    return reduce_scale(t.target.shape, reduction) * factor[..., None] * p_minus_e


class _SigmoidFocalTerms(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    gamma: float
    alpha_t: np.ndarray | float
    p: np.ndarray  # sigma(x)
    one_minus_p: np.ndarray  # sigma(-x)
    ce: np.ndarray  # binary cross-entropy
    m: np.ndarray  # 1 - p_t
    m_pow: np.ndarray  # (1 - p_t)^gamma, from log(1 - p_t)


def _sigmoid_focal_terms(logits, target, gamma, alpha, reduction) -> _SigmoidFocalTerms:
    x, y = _binary_inputs(logits, target, reduction)
    gamma = v.scalar(gamma, v.NONNEGATIVE, "gamma")
    if alpha is None:
        alpha_t = 1.0
    else:
        a = v.scalar(alpha, v.UNIT_INTERVAL, "alpha")
        alpha_t = a * y + (1.0 - a) * (1.0 - y)
    p, one_minus_p = scipy.special.expit(x), scipy.special.expit(-x)
    ce = _binary_cross_entropy(x, y)
    m = p * (1.0 - y) + one_minus_p * y  # 1 - p_t
    # log(1 - p_t) = log(p (1-y) + (1-p) y) from log p = -softplus(-x) and log(1-p) = -softplus(x), so that
    # (1 - p_t)^gamma keeps its digits where 1 - p_t rounds to 1 and gamma is huge
    with np.errstate(divide="ignore"):
        log_m = np.logaddexp(-softplus(-x) + np.log1p(-y), -softplus(x) + np.log(y))
    return _SigmoidFocalTerms(x, y, gamma, alpha_t, p, one_minus_p, ce, m, power_of_exp(gamma, log_m))


@register(
    name="sigmoid_focal_loss",
    family="classification",
    wrt=("logits",),
    params=(
        Param("logits", v.ArrayArg("float logits of any non-empty shape")),
        Param("target", v.ArrayArg("labels in [0, 1] (soft labels allowed), the logits' shape")),
        Param("gamma", v.NONNEGATIVE, "focusing parameter"),
        Param("alpha", v.UNIT_INTERVAL, "weight of positives (y = 1); negatives get 1 - alpha; None: no weighting",
              optional=True),
        _REDUCTION,
    ),
    paper=_FOCAL,
    strategy=lambda extreme: _sigmoid_focal_cases(extreme),
    stress=lambda: {**{f"{name}__gamma_{g:g}": {**case, "gamma": g} for name, case in _binary_stress().items()
                       if "weight" not in case and name != "defaults" for g in (0.5, 2.0)},
                    "defaults": _binary_stress()["defaults"]},
)
def sigmoid_focal_loss(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0, alpha: float | None = 0.25,
                       reduction: str = "mean"):
    r"""Sigmoid (detection) focal loss of RetinaNet, as in ``torchvision.ops.sigmoid_focal_loss``.

    .. math:: \ell = \alpha_t\,(1 - p_t)^{\gamma}\,\big[y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)\big],
              \quad p = \sigma(x),\ p_t = p y + (1-p)(1-y),\ \alpha_t = \alpha y + (1-\alpha)(1-y)

    elementwise. **Alpha convention** (implementations disagree): ``alpha`` weights the *positive*
    term (y = 1) and ``1 - alpha`` the negative one, as in the paper (Sec. 3.1: "alpha for class 1 and
    1 - alpha for class -1") and torchvision; ``alpha=None`` disables the weighting (torchvision's
    ``alpha=-1``). Soft labels use the same formula (:math:`\alpha_t, p_t` interpolate linearly).
    ``"mean"`` divides by the number of elements. Defaults ``alpha=0.25, gamma=2`` are the paper's;
    torchvision's default reduction is ``"none"``, ours ``"mean"``. Gradient:
    :func:`sigmoid_focal_loss_grad`.

    >>> round(sigmoid_focal_loss([0.0], [1.0]), 12)  # 0.25 * (1/2)^2 * log 2
    0.043321698785

    Reference: Lin, Goyal, Girshick, He, Dollar (2017), Sec. 3.1-3.2.
    """
    t = _sigmoid_focal_terms(logits, target, gamma, alpha, reduction)
    return reduce(t.alpha_t * t.m_pow * t.ce, reduction)


@gradient_of("sigmoid_focal_loss")
def sigmoid_focal_loss_grad(logits: ArrayLike, target: ArrayLike, *, gamma: float = 2.0, alpha: float | None = 0.25,
                            reduction: str = "mean"):
    r"""Gradient of :func:`sigmoid_focal_loss` with respect to ``logits`` (closed form below).

    With :math:`m = 1 - p_t = p(1-y) + (1-p)y`, the ratio :math:`p(1-p)/m \in [0, 1]` for every :math:`y \in
    [0,1]` (since :math:`m - p(1-p) = (p-y)^2 + y(1-y) \ge 0`) and tends to 1 when :math:`m \to 0` (only
    possible for hard labels), so no negative power of :math:`m` is formed.

    >>> sigmoid_focal_loss_grad([0.0], [1.0], alpha=None, gamma=0.0, reduction="sum")  # BCE: p - y
    array([-0.5])
    """
    t = _sigmoid_focal_terms(logits, target, gamma, alpha, reduction)
    ratio = np.where(t.m > 0, t.p * t.one_minus_p / np.where(t.m > 0, t.m, 1.0), 1.0)
    p_minus_y = (1.0 - t.y) * t.p - t.y * t.one_minus_p
    # m^gamma * ce first, then the ratio in [0, 1], then gamma: at |x| ~ 1.7e308 (or gamma ~ 1e306) the
    # product gamma * ce * ratio overflows before the factor that makes it 0
    focusing = ((t.m_pow * t.ce) * ratio) * t.gamma * (1.0 - 2.0 * t.y)
    grad = t.alpha_t * (t.m_pow * p_minus_y + focusing)
    return reduce_scale(t.x.shape, reduction) * grad


_POLY = Paper("PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions", arxiv="2204.12511",
              where="Z. Leng et al., ICLR 2022, the Poly-1 formulation; domain epsilon >= -1 is refloss's (see the "
              "docstring)")


def _poly1_terms(logits, target, epsilon, reduction):
    z = v.logits(logits)
    check_reduction(reduction)
    epsilon = v.scalar(epsilon, _POLY_EPSILON, "epsilon")
    y = v.class_targets(target, z.shape, None, "target")
    logp = _log_softmax(z)
    masked_target = np.take_along_axis(np.isneginf(z), y[..., None], axis=-1)[..., 0]
    return y, logp, np.take_along_axis(logp, y[..., None], axis=-1)[..., 0], epsilon, masked_target


_POLY_EPSILON = v.Interval(-1.0)


@register(
    name="poly1_loss",
    family="classification",
    wrt=("logits",),
    params=(Param("logits", v.LOGITS), Param("target", v.CLASS_TARGETS),
            Param("epsilon", _POLY_EPSILON, "coefficient of the first polynomial term (1 - p_y)"), _REDUCTION),
    paper=_POLY,
    stress=lambda: cases.softmax_stress(epsilon=(-1.0, -0.5, 0.0, 1.0, 2.0)),
    shift_invariant=("logits",),
)
def poly1_loss(logits: ArrayLike, target: ArrayLike, *, epsilon: float = 1.0, reduction: str = "mean"):
    r"""Poly-1 loss: cross-entropy plus :math:`\varepsilon` times its first polynomial term, :math:`1 - p_y`.

    PolyLoss writes cross-entropy as :math:`-\log p_y = \sum_{j \ge 1} (1 - p_y)^j / j` and perturbs the
    leading coefficient: :math:`\ell = -\log p_y + \varepsilon (1 - p_y)`. With :math:`s = \log p_y` it is
    evaluated as a sum of two non-negative terms: :math:`-s + \varepsilon(-\mathrm{expm1}(s))` for
    :math:`\varepsilon \ge 0` and :math:`(1 + \varepsilon)(-s) + (-\varepsilon)(e^s - 1 - s)` for
    :math:`\varepsilon < 0` (:func:`refloss.numerics.expm1mx`), so at :math:`\varepsilon = -1`, where the loss
    is :math:`e^s - 1 - s \approx s^2/2`, no digit is lost (``-log p + eps (1 - p)`` as written loses all of
    them at a logit gap of 40). ``"mean"`` divides by the number of elements.

    **Convention.** Class targets (optax's ``poly_loss_cross_entropy`` also takes probability targets).
    The domain :math:`\varepsilon \ge -1` is refloss's: it keeps the coefficient :math:`1 + \varepsilon` of
    :math:`(1 - p_y)` non-negative, as the paper's expansion coefficients :math:`\alpha_j \in \mathbb{R}^+`
    require, and makes the loss non-increasing in :math:`p_y`; the paper's text stating a range was not
    available to us. The paper recommends :math:`\varepsilon = 2` for ImageNet classification and
    :math:`\varepsilon = -1` for detection.

    Args:
        logits: float array ``(..., C)``, class axis last; ``-inf`` masks a class.
        target: integer class indices ``(...)``.
        epsilon: :math:`\varepsilon \ge -1`; ``epsilon=0`` is :func:`cross_entropy`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    >>> z = [[0.0, np.log(3.0)]]  # p = (1/4, 3/4), target 1
    >>> round(poly1_loss(z, [1], epsilon=1.0), 15)  # log(4/3) + 1/4
    0.537682072451781

    Reference: Leng et al. (2022), Poly-1.
    """
    y, logp, s, epsilon, _ = _poly1_terms(logits, target, epsilon, reduction)
    with np.errstate(invalid="ignore"):  # a masked target: s = -inf, the loss is +inf
        if epsilon >= 0.0:
            losses = -s - epsilon * np.expm1(s)
        else:
            losses = (1.0 + epsilon) * -s - epsilon * expm1mx(np.where(np.isneginf(s), 0.0, s))
            losses = np.where(np.isneginf(s), np.inf, losses)
    return reduce(losses, reduction)


@gradient_of("poly1_loss")
def poly1_loss_grad(logits: ArrayLike, target: ArrayLike, *, epsilon: float = 1.0, reduction: str = "mean"):
    r"""Gradient of :func:`poly1_loss` with respect to ``logits`` (closed form below).

    The factor :math:`1 + \varepsilon p_y` is evaluated as :math:`(1 + \varepsilon) + (-\varepsilon)(1 - p_y)`
    for :math:`\varepsilon < 0` (two non-negative terms, :math:`1 - p_y = -\mathrm{expm1}(s)`), and the target
    component :math:`p_y - 1` as :math:`\mathrm{expm1}(s)`.

    Raises:
        RefLossError: as :func:`poly1_loss`, and when the loss is +inf (a target class has logit ``-inf``).

    >>> poly1_loss_grad([[0.0, 0.0]], [0], epsilon=0.0)  # epsilon = 0 is cross-entropy: p - e_y
    array([[-0.5,  0.5]])
    """
    y, logp, s, epsilon, masked_target = _poly1_terms(logits, target, epsilon, reduction)
    _raise_if_masked(masked_target, np.ones(masked_target.shape), "poly1_loss")
    one_minus_p = -np.expm1(s)
    factor = (1.0 + epsilon * np.exp(s)) if epsilon >= 0.0 else (1.0 + epsilon) - epsilon * one_minus_p
    grad = np.exp(logp)
    np.put_along_axis(grad, y[..., None], -one_minus_p[..., None], axis=-1)
    return reduce_scale(y.shape, reduction) * factor[..., None] * grad


# -- inputs for the checks (hypothesis strategies beyond the parameter domains, and stress points) ---------


def _cross_entropy_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, mask = cases.draw_logits(draw, extreme)
        n_classes = z.shape[-1]
        weight = draw(st.none() | hnp.arrays(np.float64, (n_classes,), elements=st.floats(0.1, 3.0)))
        # Smoothing puts mass on every class, so it is drawn only without masks (else the loss is +inf).
        eps = 0.0 if mask.any() else draw(st.sampled_from([0.0, 0.1, 1.0]) | st.floats(0.0, 1.0))
        case = {"logits": z, "weight": weight, "label_smoothing": eps,
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}
        if draw(st.booleans()):
            return {**case, "target": cases.draw_probabilities(draw, mask)}
        y = cases.draw_class_targets(draw, mask)
        ignore_index = draw(st.sampled_from([-100, -1]) | st.integers(0, n_classes - 1))
        if ignore_index < 0:
            drop = draw(hnp.arrays(np.bool_, y.shape))
            if drop.all():  # keep one target: the all-ignored mean is NaN, tested on its own
                drop.flat[0] = False
            y = np.where(drop, ignore_index, y)
        elif (y == ignore_index).all():
            ignore_index = -100
        return {**case, "target": y, "ignore_index": ignore_index}

    return draw_case()


def _cross_entropy_stress():
    gaps = cases.GAP_ROWS
    soft = np.array([[1.0 - 1e-12, 5e-13, 5e-13], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])
    near_zero = np.array([[0.0078, 0.0, 0.0], [1e-3, -2e-3, 5e-4], [3.0, 1e-3, -1e-3], [0.0, 0.0, 0.0]])
    return {
        "weight__ignore_index__label_smoothing__mean": {
            "logits": gaps[:4], "target": np.array([0, 1, -100, 2]), "weight": np.array([1.0, 2.0, 0.5]),
            "label_smoothing": 0.1, "reduction": "mean"},
        "label_smoothing_tiny__none": {"logits": gaps, "target": np.zeros(len(gaps), dtype=np.int64),
                                       "label_smoothing": 1e-10, "reduction": "none"},
        "ignore_index_is_a_class__sum": {"logits": gaps[:3], "target": np.array([0, 1, 2]), "ignore_index": 1,
                                         "reduction": "sum"},
        "probabilities__weight__label_smoothing__mean": {
            "logits": gaps[[0, 3, 5, 6]], "target": soft, "weight": np.array([0.5, 1.0, 2.0]),
            "label_smoothing": 0.2, "reduction": "mean"},
        "probabilities_near_one_hot__none": {"logits": gaps[[2, 4, 6, 0]], "target": soft, "reduction": "none"},
        # p - 1/C cancels near p = 1/C, and with logits near 0 nothing in the scale excuses it (module docstring)
        "near_zero_logits_full_smoothing__none": {"logits": near_zero, "target": np.array([0, 1, 2, 0]),
                                                  "label_smoothing": 1.0, "reduction": "none"},
        "near_zero_logits_probabilities_smoothing_0.999__sum": {
            "logits": near_zero, "target": soft, "label_smoothing": 0.999, "reduction": "sum"},
    }


def _binary_stress():
    x = np.array([-80.0, -40.0, -20.0, -1e-9, 0.0, 1e-9, 15.0, 36.0, 40.0, 80.0])
    return {
        "hard_labels_positive": {"logits": x, "target": np.ones_like(x), "reduction": "none"},
        "hard_labels_negative": {"logits": x, "target": np.zeros_like(x), "reduction": "none"},
        "soft_labels": {"logits": x, "target": np.linspace(0.0, 1.0, len(x)), "reduction": "none"},
        "weight__pos_weight__mean": {"logits": x.reshape(2, 5), "target": np.array([[1.0, 0.0, 0.3, 1.0, 0.0]] * 2),
                                     "weight": np.array([[1.0], [2.5]]),
                                     "pos_weight": np.array([1.0, 3.0, 0.5, 2.0, 1.0]), "reduction": "mean"},
        "defaults": {"logits": x, "target": np.linspace(0.0, 1.0, len(x))},
    }


def _binary_case(draw, extreme):
    st, hnp = cases.hyp()
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=cases.LIMITS["max_side"]))
    x = draw(hnp.arrays(np.float64, shape, elements=cases.floats(cases.EXTREME if extreme else cases.MODERATE)))
    y = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0)))
    return x, y, draw(st.sampled_from(cases.REDUCTIONS))


def _bce_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        x, y, reduction = _binary_case(draw, extreme)
        last = x.shape[-1:] if x.ndim else ()
        weight = draw(st.none() | hnp.arrays(np.float64, x.shape, elements=st.floats(0.0, 3.0)))
        pos_weight = draw(st.none() | hnp.arrays(np.float64, last, elements=st.floats(0.0, 5.0)))
        return {"logits": x, "target": y, "weight": weight, "pos_weight": pos_weight, "reduction": reduction}

    return draw_case()


def _focal_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, mask = cases.draw_logits(draw, extreme)
        alpha = draw(st.none() | st.floats(0.0, 2.0)
                     | hnp.arrays(np.float64, z.shape[-1:], elements=st.floats(0.0, 2.0)))
        return {"logits": z, "target": cases.draw_class_targets(draw, mask), "alpha": alpha,
                "gamma": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0.0, 5.0)),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()


def _sigmoid_focal_cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw_case(draw):
        x, y, reduction = _binary_case(draw, extreme)
        return {"logits": x, "target": y, "alpha": draw(st.none() | st.floats(0.0, 1.0)),
                "gamma": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0.0, 5.0)), "reduction": reduction}

    return draw_case()
