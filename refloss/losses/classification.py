r"""Cross-entropy and focal losses on logits.

Notation (shared by every docstring, proof and test): logits :math:`z \in \mathbb{R}^C` (class axis last),
:math:`\log p = \mathrm{log\_softmax}(z)`, class weights :math:`w`, label smoothing :math:`\varepsilon`,
the true class :math:`y`, one-hot :math:`e_y`.

Softmax cross-entropy in every mode is written as :math:`\ell = -\sum_c a_c \log p_c` with a
non-negative coefficient vector :math:`a` (class targets, weights and smoothing only change :math:`a`),
so one gradient serves them all:

.. math:: \frac{\partial \ell}{\partial z_j} = p_j \sum_c a_c - a_j .
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.special

from .. import _strategies as strategies
from .. import _validate as v
from .._reduce import check_reduction, reduce, reduce_scale
from .._registry import Paper, Param, register
from ..golden import mp
from ..numerics import _log_softmax, plogq, softplus

_REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' | 'sum' | 'none' (denominator of 'mean' as documented)")

_PYTORCH_CE = Paper(
    "Rethinking the Inception Architecture for Computer Vision",
    arxiv="1512.00567",
    where="label smoothing, Sec. 7; weight / ignore_index / reduction semantics are those of "
    "torch.nn.functional.cross_entropy (PyTorch docs, aten/src/ATen/native/LossNLL.cpp)",
)
_FOCAL = Paper("Focal Loss for Dense Object Detection", arxiv="1708.02002", where="Sec. 3, Eq. 5 and Sec. 3.2")


class _CETerms(NamedTuple):
    logp: np.ndarray  # (..., C)
    coeff: np.ndarray  # (..., C): the a_c with loss = -sum_c a_c log p_c
    denominator: float  # of "mean"


def _cross_entropy_terms(logits, target, weight, ignore_index, label_smoothing, reduction) -> _CETerms:
    z = v.logits(logits)
    check_reduction(reduction)
    eps = v.scalar(label_smoothing, v.UNIT_INTERVAL, "label_smoothing")
    ignore_index = v.integer(ignore_index, "ignore_index")
    n_classes = z.shape[-1]
    w = np.ones(n_classes) if weight is None else v.nonnegative_weights(weight, "weight", length=n_classes)
    logp = _log_softmax(z)
    target_arr = np.asarray(target)
    if target_arr.shape == z.shape:
        # Probability targets (PyTorch dispatches on equal shapes): a = w * ((1 - eps) t + eps / C).
        if target_arr.dtype.kind != "f":
            raise v.RefLossError(f"target has the shape of logits, so it holds probabilities and must be "
                                 f"floating point, got dtype {target_arr.dtype}")
        if ignore_index >= 0:
            raise v.RefLossError("ignore_index is not supported with probability targets (leave it negative)")
        t = v.probabilities(target_arr, z.shape, "target")
        coeff = w * ((1.0 - eps) * t + eps / n_classes)
        return _CETerms(logp, coeff, float(np.prod(z.shape[:-1])))
    y = v.class_targets(target_arr, z.shape, ignore_index, "target")
    kept = y != ignore_index
    y_safe = np.where(kept, y, 0)
    one_hot = np.zeros(z.shape)
    np.put_along_axis(one_hot, y_safe[..., None], 1.0, axis=-1)
    w_y = w[y_safe] * kept
    # a = m_n [ (1 - eps) w_y e_y + (eps / C) w ]: the smoothing part uses every class weight, not w_y.
    coeff = kept[..., None] * ((1.0 - eps) * w_y[..., None] * one_hot + (eps / n_classes) * w)
    return _CETerms(logp, coeff, float(w_y.sum()))


def _losses(terms: _CETerms) -> np.ndarray:
    return -plogq(terms.coeff, terms.logp).sum(axis=-1)


def _finite_or_raise(losses: np.ndarray, what: str) -> None:
    if np.isinf(losses).any():
        raise v.RefLossError(f"{what} is +inf (a class with positive target weight has logit -inf), "
                             "so its gradient is undefined")


def cross_entropy_grad(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    r"""Gradient of :func:`cross_entropy` with respect to ``logits``, same signature.

    .. math:: \frac{\partial \ell_n}{\partial z_{n,j}} = p_{n,j} \sum_c a_{n,c} - a_{n,j},

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
    _finite_or_raise(_losses(terms), "cross_entropy")
    p = np.exp(terms.logp)
    scale = reduce_scale(terms.logp.shape[:-1], reduction, terms.denominator)
    return scale * (p * terms.coeff.sum(axis=-1, keepdims=True) - terms.coeff)


@register(
    name="cross_entropy",
    family="classification",
    grad=cross_entropy_grad,
    wrt=("logits",),
    params=(
        Param("target", v.ArrayArg("int class indices of shape logits.shape[:-1], or probabilities of "
                                   "logits' shape (rows sum to 1 within 1e-6)")),
        Param("weight", v.ArrayArg("None or non-negative per-class weights, shape (C,)")),
        Param("ignore_index", v.ArrayArg("int; targets equal to it are ignored (class targets only)")),
        Param("label_smoothing", v.UNIT_INTERVAL, "epsilon: mixes the target with the uniform distribution"),
        _REDUCTION,
    ),
    paper=_PYTORCH_CE,
    formula=r"\ell_n = -\sum_c a_{n,c}\log p_{n,c},\quad a_n = m_n\big[(1-\varepsilon)\,w_{y_n} e_{y_n}"
    r" + \tfrac{\varepsilon}{C} w\big]\ \text{or}\ a_n = w \odot \big((1-\varepsilon)t_n + \tfrac{\varepsilon}{C}\big);"
    r"\quad \text{mean} = \textstyle\sum_n \ell_n \,/\, \sum_n m_n w_{y_n}\ \text{or}\ /\,N",
    gradient=r"\frac{\partial \ell_n}{\partial z_{n,j}} = p_{n,j}\sum_c a_{n,c} - a_{n,j}",
    proof="proofs/check_classification.py::cross_entropy",
    strategy=strategies.cross_entropy,
    mp=mp.cross_entropy,
    shift_invariant=("logits",),
)
def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
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


def binary_cross_entropy_with_logits_grad(logits, target, weight=None, pos_weight=None, reduction="mean"):
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``logits``.

    .. math:: \frac{\partial \ell}{\partial x} = w\,\big[(1-y)\,\sigma(x) - \rho\, y\, \sigma(-x)\big]

    (:math:`= w[\sigma(x)(1 + (\rho - 1)y) - \rho y]`, written without the cancellation at large x),
    times :math:`1/\text{numel}` for ``"mean"``.

    >>> binary_cross_entropy_with_logits_grad([0.0], [1.0], reduction="sum")
    array([-0.5])
    """
    x, y, w, pw = _bce_inputs(logits, target, weight, pos_weight, reduction)
    scale = reduce_scale(x.shape, reduction)
    return scale * w * ((1.0 - y) * scipy.special.expit(x) - pw * y * scipy.special.expit(-x))


@register(
    name="binary_cross_entropy_with_logits",
    family="classification",
    grad=binary_cross_entropy_with_logits_grad,
    wrt=("logits",),
    params=(
        Param("target", v.ArrayArg("labels in [0, 1] (soft labels allowed), the logits' shape")),
        Param("weight", v.ArrayArg("None or non-negative weights broadcastable to logits")),
        Param("pos_weight", v.ArrayArg("None or non-negative weights of the positive term, broadcastable "
                                       "to logits (one per class along the last axis)")),
        _REDUCTION,
    ),
    paper=Paper("torch.nn.BCEWithLogitsLoss", where="PyTorch documentation (the pos_weight convention)"),
    formula=r"\ell = w\big[\rho\,y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)\big]",
    gradient=r"\frac{\partial \ell}{\partial x} = w\big[(1-y)\sigma(x) - \rho\,y\,\sigma(-x)\big]",
    proof="proofs/check_classification.py::binary_cross_entropy_with_logits",
    strategy=strategies.binary_cross_entropy_with_logits,
    mp=mp.binary_cross_entropy_with_logits,
)
def binary_cross_entropy_with_logits(logits, target, weight=None, pos_weight=None, reduction="mean"):
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


def _focal_terms(logits, target, gamma, alpha, reduction):
    z = v.logits(logits)
    check_reduction(reduction)
    gamma = v.scalar(gamma, v.NONNEGATIVE, "gamma")
    y = v.class_targets(target, z.shape, None, "target")
    n_classes = z.shape[-1]
    if alpha is None:
        alpha_y = np.ones(y.shape)
    else:
        a = np.asarray(alpha)
        if a.ndim == 0:
            alpha_y = np.full(y.shape, v.scalar(alpha, v.NONNEGATIVE, "alpha"))
        else:
            alpha_y = v.nonnegative_weights(a, "alpha", length=n_classes)[y]
    logp = _log_softmax(z)
    logp_y = np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
    q = -np.expm1(logp_y)  # 1 - p_y without cancellation as p_y -> 1
    return y, logp, logp_y, q, gamma, alpha_y


def focal_loss_grad(logits, target, gamma=2.0, alpha=None, reduction="mean"):
    r"""Gradient of :func:`focal_loss` with respect to ``logits``.

    With :math:`q = 1 - p_y`,

    .. math:: \frac{\partial \ell}{\partial z} = \alpha_y\,q^{\gamma}
              \Big(1 - \gamma\, p_y \frac{\log p_y}{q}\Big)\,(p - e_y),

    where :math:`\log p_y / q \to -1` as :math:`q \to 0`, so no negative power of :math:`q` is formed
    (for :math:`\gamma < 1`, :math:`q^{\gamma - 1}` alone would overflow).

    >>> focal_loss_grad([[0.0, 0.0]], [0], gamma=0.0)  # gamma = 0 is cross-entropy: p - e_y
    array([[-0.5,  0.5]])
    """
    y, logp, logp_y, q, gamma, alpha_y = _focal_terms(logits, target, gamma, alpha, reduction)
    safe_q = np.where(q > 0, q, 1.0)
    log_ratio = np.where(q > 0, logp_y / safe_q, -1.0)
    factor = alpha_y * q**gamma * (1.0 - gamma * np.exp(logp_y) * log_ratio)
    p_minus_e = np.exp(logp)
    np.put_along_axis(p_minus_e, y[..., None], np.take_along_axis(p_minus_e, y[..., None], -1) - 1.0, -1)
    return reduce_scale(y.shape, reduction) * factor[..., None] * p_minus_e


@register(
    name="focal_loss",
    family="classification",
    grad=focal_loss_grad,
    wrt=("logits",),
    params=(
        Param("target", v.ArrayArg("int class indices of shape logits.shape[:-1]")),
        Param("gamma", v.NONNEGATIVE, "focusing parameter; gamma = 0 is cross-entropy"),
        Param("alpha", v.ArrayArg("None, a non-negative scalar, or non-negative per-class weights (C,)")),
        _REDUCTION,
    ),
    paper=_FOCAL,
    formula=r"\ell = -\alpha_y\,(1-p_y)^{\gamma}\log p_y",
    gradient=r"\frac{\partial \ell}{\partial z} = \alpha_y (1-p_y)^{\gamma}\Big(1 - \gamma\,p_y"
    r"\frac{\log p_y}{1-p_y}\Big)(p - e_y)",
    proof="proofs/check_classification.py::focal_loss",
    strategy=strategies.focal_loss,
    mp=mp.focal_loss,
    shift_invariant=("logits",),
)
def focal_loss(logits, target, gamma=2.0, alpha=None, reduction="mean"):
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
    y, logp, logp_y, q, gamma, alpha_y = _focal_terms(logits, target, gamma, alpha, reduction)
    return reduce(-alpha_y * q**gamma * logp_y, reduction)


def _sigmoid_focal_terms(logits, target, alpha, gamma, reduction):
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
    return x, y, gamma, alpha_t, p, one_minus_p, ce, m


def sigmoid_focal_loss_grad(logits, target, alpha=0.25, gamma=2.0, reduction="mean"):
    r"""Gradient of :func:`sigmoid_focal_loss` with respect to ``logits``.

    With :math:`m = 1 - p_t = p(1-y) + (1-p)y` and :math:`\mathrm{ce}` the binary cross-entropy,

    .. math:: \frac{\partial \ell}{\partial x} = \alpha_t\, m^{\gamma}\Big[(p - y)
              + \gamma\,\mathrm{ce}\,(1 - 2y)\,\frac{p(1-p)}{m}\Big],

    where :math:`p(1-p)/m \in [0, 1]` for every :math:`y \in [0,1]` (since
    :math:`m - p(1-p) = (p-y)^2 + y(1-y) \ge 0`) and tends to 1 when :math:`m \to 0` (only possible
    for hard labels), so no negative power of :math:`m` is formed.

    >>> sigmoid_focal_loss_grad([0.0], [1.0], alpha=None, gamma=0.0, reduction="sum")  # BCE: p - y
    array([-0.5])
    """
    x, y, gamma, alpha_t, p, one_minus_p, ce, m = _sigmoid_focal_terms(logits, target, alpha, gamma, reduction)
    ratio = np.where(m > 0, p * one_minus_p / np.where(m > 0, m, 1.0), 1.0)
    p_minus_y = (1.0 - y) * p - y * one_minus_p
    grad = alpha_t * m**gamma * (p_minus_y + gamma * ce * (1.0 - 2.0 * y) * ratio)
    return reduce_scale(x.shape, reduction) * grad


@register(
    name="sigmoid_focal_loss",
    family="classification",
    grad=sigmoid_focal_loss_grad,
    wrt=("logits",),
    params=(
        Param("target", v.ArrayArg("labels in [0, 1] (soft labels allowed), the logits' shape")),
        Param("alpha", v.UNIT_INTERVAL, "weight of positives (y = 1); negatives get 1 - alpha; None: no weighting"),
        Param("gamma", v.NONNEGATIVE, "focusing parameter"),
        _REDUCTION,
    ),
    paper=_FOCAL,
    formula=r"\ell = \alpha_t\,(1-p_t)^{\gamma}\,\mathrm{BCE}(x, y),\quad p_t = p\,y + (1-p)(1-y),"
    r"\quad \alpha_t = \alpha y + (1-\alpha)(1-y)",
    gradient=r"\frac{\partial \ell}{\partial x} = \alpha_t (1-p_t)^{\gamma}\Big[(p-y) + \gamma\,\mathrm{BCE}"
    r"\,(1-2y)\frac{p(1-p)}{1-p_t}\Big]",
    proof="proofs/check_classification.py::sigmoid_focal_loss",
    strategy=strategies.sigmoid_focal_loss,
    mp=mp.sigmoid_focal_loss,
)
def sigmoid_focal_loss(logits, target, alpha=0.25, gamma=2.0, reduction="mean"):
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
    x, y, gamma, alpha_t, p, one_minus_p, ce, m = _sigmoid_focal_terms(logits, target, alpha, gamma, reduction)
    return reduce(alpha_t * m**gamma * ce, reduction)
