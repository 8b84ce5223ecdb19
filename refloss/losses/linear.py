r"""Cross-entropy of a linear head: the reference twin of :func:`accel.linear_cross_entropy`.

Notation (shared with ``proofs/check_linear.py`` and :mod:`accel`): hidden states :math:`e \in \mathbb{R}^{N
\times D}`, classifier :math:`c \in \mathbb{R}^{V \times D}` (one row per class, as in Apple's Cut
Cross-Entropy and Liger), optional bias :math:`b \in \mathbb{R}^V`; the head's logits
:math:`u = e c^\top + b`; with a soft cap :math:`s` (Gemma 2), :math:`z = s \tanh(u / s)`, else :math:`z = u`;
:math:`p = \mathrm{softmax}(z)` and :math:`\mathrm{LSE}_n = \log \sum_v e^{z_{n,v}}` per row.

Each non-ignored row's loss is PyTorch's cross-entropy of :math:`z_n` (class weights, label smoothing) plus
PaLM's z-loss :math:`\lambda\,\mathrm{LSE}_n^2`; "mean" divides the sum by the total class weight of the
non-ignored targets. The gradient w.r.t. the logits, :math:`G_{n,v} = \partial \ell / \partial u_{n,v}`, is that
of :func:`refloss.cross_entropy` plus :math:`2\lambda\,\mathrm{LSE}_n\,p_{n,v}`, times the soft cap's
:math:`1 - \tanh^2(u_{n,v}/s)`; the head's gradients follow by the chain rule,
:math:`\partial \ell / \partial e = G c`, :math:`\partial \ell / \partial c = G^\top e`,
:math:`\partial \ell / \partial b = \sum_n G_{n,\cdot}`.

:func:`linear_kl` is the distillation objective of two heads on the same hidden states: Hinton's
:math:`T^2\,\mathrm{KL}(\mathrm{softmax}(t/T) \,\|\, \mathrm{softmax}(s/T))` per row, for the teacher's
logits :math:`t = e c_t^\top` and the student's :math:`s = e c_s^\top`.

This module materialises the :math:`N \times V` logits in float64: it is the oracle-checked reference that
:mod:`accel`'s chunked kernels are compared with, not a way to run a large vocabulary.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .. import _validate as v
from .._reduce import reduce, reduce_scale
from .._registry import Paper, Param, gradient_of, register
from ..info.discrete import _kl_gradients, _kl_terms, kl_divergence_logits
from ..numerics import _logsumexp
from .classification import _CETerms, _cross_entropy_terms, _logit_gradient, _losses

POSITIVE = v.Interval(0.0, lo_open=True)
_HIDDEN_STATES = Param("e", v.ArrayArg("float hidden states (N, D)", "hidden_states"))

_CCE = Paper(
    "Cut Your Losses in Large-Vocabulary Language Models",
    arxiv="2411.09009",
    seed="seeds_B.md",
    where="the linear head's cross-entropy without materialised logits; z-loss: PaLM (arXiv:2204.02311), its "
    "training set-up; soft cap: Gemma 2 (arXiv:2408.00118), its architecture; weights / ignore_index / label "
    "smoothing as torch.nn.functional.cross_entropy",
)


class LinearCrossEntropyGrad(NamedTuple):
    """Gradient of :func:`linear_cross_entropy` w.r.t. the hidden states, the classifier and the bias
    (``None`` when there is no bias)."""

    e: np.ndarray
    c: np.ndarray
    bias: np.ndarray | None


class _LinearTerms(NamedTuple):
    u: np.ndarray  # (N, V) head logits before the soft cap
    lse: np.ndarray  # (N,) of the logits z the softmax sees
    kept: np.ndarray  # (N,) targets that are not ignored
    ce: _CETerms  # the cross-entropy terms of z


def _head_inputs(e, c, bias, c_name: str = "c"):
    """Validated float64 hidden states ``(N, D)``, classifier ``(V, D)`` and bias ``(V,)`` or None."""
    e_arr, c_arr = v.real_array(e, "e"), v.real_array(c, c_name)
    if e_arr.ndim != 2 or 0 in e_arr.shape:
        raise v.RefLossError(f"e must be a non-empty 2-D array (N, D) of hidden states, got shape {e_arr.shape}")
    if c_arr.ndim != 2 or 0 in c_arr.shape:
        raise v.RefLossError(f"{c_name} must be a non-empty 2-D array (V, D), one row per class, got shape "
                             f"{c_arr.shape}")
    if c_arr.shape[1] != e_arr.shape[1]:
        raise v.RefLossError(f"{c_name} has {c_arr.shape[1]} features per class but e has {e_arr.shape[1]} per "
                             f"row (shapes {c_arr.shape} and {e_arr.shape})")
    b = None
    if bias is not None:
        b = v.real_array(bias, "bias")
        if b.shape != (c_arr.shape[0],):
            raise v.RefLossError(f"bias must have shape ({c_arr.shape[0]},) (one entry per class), got {b.shape}")
    return e_arr, c_arr, b


def _head_logits(e: np.ndarray, c: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """u = e c^T + b, refusing a product beyond the float64 range (whose NaNs would follow)."""
    with np.errstate(over="ignore", invalid="ignore"):
        u = e @ c.T if b is None else e @ c.T + b
    if not np.isfinite(u).all():
        raise v.RefLossError("the logits e @ c.T + bias overflow float64 (an entry's products exceed 1.8e308)")
    return u


def _soft_cap(u: np.ndarray, cap: float | None) -> np.ndarray:
    """s tanh(u / s). Where abs(u / s) < 1e-8, tanh(t) = t to float64 precision and z = u is returned, so a
    huge cap does not send u / s through the subnormals."""
    if cap is None:
        return u
    with np.errstate(over="ignore", under="ignore"):
        t = u / cap
        return np.where(np.abs(t) < 1e-8, u, cap * np.tanh(t))


def _soft_cap_slope(u: np.ndarray, cap: float | None) -> np.ndarray | float:
    """d z / d u = 1 - tanh^2(u / s) = 4 e^{-2|t|} / (1 + e^{-2|t|})^2: relatively accurate where tanh^2
    rounds to 1, and 0 (not NaN) where u / s overflows."""
    if cap is None:
        return 1.0
    with np.errstate(over="ignore", under="ignore"):
        q = np.exp(-2.0 * np.abs(u / cap))
        return 4.0 * q / (1.0 + q) ** 2


def _linear_terms(e, c, target, bias, weight, ignore_index, label_smoothing, z_loss, softcap, reduction):
    e_arr, c_arr, b = _head_inputs(e, c, bias)
    cap = None if softcap is None else v.scalar(softcap, POSITIVE, "softcap")
    lam = v.scalar(z_loss, v.NONNEGATIVE, "z_loss")
    ignore_index = v.integer(ignore_index, "ignore_index")
    n_rows, n_classes = e_arr.shape[0], c_arr.shape[0]
    # Class indices only (a linear head's targets are tokens): validated here so that a float array of the
    # logits' shape is refused rather than read as probabilities.
    y = v.class_targets(target, (n_rows, n_classes), ignore_index, "target")
    u = _head_logits(e_arr, c_arr, b)
    z = _soft_cap(u, cap)
    ce = _cross_entropy_terms(z, y, weight, ignore_index, label_smoothing, reduction)
    return _LinearTerms(u, _logsumexp(z), y != ignore_index, ce), lam, cap, (e_arr, c_arr, b)


def _z_loss_terms(lam: float, lse: np.ndarray, kept: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # lambda LSE^2 beyond 1.8e308 is +inf, the correctly rounded answer
        return np.where(kept, lam * lse**2, 0.0) if lam else np.zeros(lse.shape)


@register(
    name="linear_cross_entropy",
    family="linear",
    wrt=("e", "c", "bias"),
    params=(
        _HIDDEN_STATES,
        Param("c", v.ArrayArg("float classifier (V, D), one row per class", "classifier")),
        Param("target", v.ArrayArg("int class indices (N,), each in [0, V) or ignore_index", "head_targets")),
        Param("bias", v.ArrayArg("None or float bias (V,)", "head_bias"), optional=True),
        Param("weight", v.CLASS_WEIGHTS, optional=True),
        Param("ignore_index", v.ArrayArg("int; targets equal to it are ignored")),
        Param("label_smoothing", v.UNIT_INTERVAL, "epsilon: mixes the target with the uniform distribution"),
        Param("z_loss", v.NONNEGATIVE, "lambda: coefficient of PaLM's z-loss lambda LSE^2"),
        Param("softcap", POSITIVE, "s: logits z = s tanh(u / s) (Gemma 2); None: no cap", optional=True),
        Param("reduction", v.REDUCTIONS, "'mean' | 'sum' | 'none' (mean: / total weight of kept targets)"),
    ),
    paper=_CCE,
    strategy=lambda extreme: _linear_cases(extreme),
    stress=lambda: _linear_stress(),
    accel="linear_cross_entropy",
    overflow="lambda LSE^2 beyond 1.8e308 is +inf; logits e @ c.T beyond 1.8e308 raise RefLossError",
)
def linear_cross_entropy(e: ArrayLike, c: ArrayLike, target: ArrayLike, *, bias: ArrayLike | None = None,
                         weight: ArrayLike | None = None, ignore_index: int = -100, label_smoothing: float = 0.0,
                         z_loss: float = 0.0, softcap: float | None = None, reduction: str = "mean"):
    r"""Cross-entropy of the logits :math:`z = \mathrm{cap}(e c^\top + b)` of a linear head, with z-loss.

    Per row :math:`n` with a kept target :math:`y_n \ne` ``ignore_index``,

    .. math:: \ell_n = \mathrm{CE}(z_n, y_n; w, \varepsilon) + \lambda\,\mathrm{LSE}(z_n)^2,

    where CE is :func:`refloss.cross_entropy` (class weights :math:`w`, label smoothing :math:`\varepsilon`,
    PyTorch's rules) and :math:`\lambda\,\mathrm{LSE}^2` is PaLM's z-loss; an ignored row contributes 0.
    ``"mean"`` divides the sum by :math:`W = \sum_n m_n w_{y_n}`, the total weight of the kept targets
    (without weights: their number), for both terms; ``W = 0`` gives ``nan`` with a warning, as in PyTorch.
    With a soft cap :math:`s`, :math:`z = s \tanh(u/s)` with :math:`u = e c^\top + b` (the bias is added
    before the cap, as in Cut Cross-Entropy and Liger).

    Conventions, where the peers differ: the z-loss is not multiplied by the class weight and shares the
    cross-entropy's denominator :math:`W`; without class weights that is the number of kept targets, as in
    Liger (``lse_square_scale``) and CCE's ``compute_z_loss``, while Liger divides it by the count even when
    class weights are given. The classifier is ``(V, D)``, as in CCE and ``torch.nn.Linear.weight``.

    Gradient: :func:`linear_cross_entropy_grad`.

    Args:
        e: hidden states ``(N, D)``.
        c: classifier ``(V, D)``.
        target: class indices ``(N,)``.
        bias: optional ``(V,)``.
        weight: optional non-negative class weights ``(V,)``.
        ignore_index: targets equal to it are ignored (it may be a valid class id).
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        z_loss: :math:`\lambda \ge 0`.
        softcap: :math:`s > 0`, or ``None`` for no cap.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (shape ``(N,)``, 0 at ignored rows).

    Raises:
        RefLossError: shapes that do not match, a class index out of range, NaN or infinite inputs, logits
            ``e @ c.T + bias`` beyond the float64 range, a parameter outside its domain.

    >>> e, c = np.array([[1.0, 0.0]]), np.array([[0.0, 0.0], [np.log(3.0), 0.0]])  # z = (0, log 3)
    >>> round(linear_cross_entropy(e, c, [1]), 15)  # -log p_1 = log(4/3)
    0.287682072451781
    >>> round(linear_cross_entropy(e, c, [1], z_loss=0.5), 15)  # + 0.5 LSE^2 = 0.5 (log 4)^2
    1.248588100288184
    """
    terms, lam, _, _ = _linear_terms(e, c, target, bias, weight, ignore_index, label_smoothing, z_loss, softcap,
                                     reduction)
    return reduce(_losses(terms.ce) + _z_loss_terms(lam, terms.lse, terms.kept), reduction, terms.ce.denominator)


@gradient_of("linear_cross_entropy")
def linear_cross_entropy_grad(e: ArrayLike, c: ArrayLike, target: ArrayLike, *, bias: ArrayLike | None = None,
                              weight: ArrayLike | None = None, ignore_index: int = -100,
                              label_smoothing: float = 0.0, z_loss: float = 0.0, softcap: float | None = None,
                              reduction: str = "mean") -> LinearCrossEntropyGrad:
    r"""Gradient of :func:`linear_cross_entropy` w.r.t. ``e``, ``c`` and ``bias``, same signature.

    With :math:`a_n` the cross-entropy coefficients of row :math:`n` (:func:`refloss.cross_entropy_grad`),
    :math:`G_{n,j} = \big(p_{n,j} \sum_c a_{n,c} - a_{n,j} + 2\lambda m_n \mathrm{LSE}_n\,p_{n,j}\big)\,
    (1 - \tanh^2(u_{n,j}/s))`, times :math:`1/W` for ``"mean"``; then :math:`G c`, :math:`G^\top e` and the
    column sums of :math:`G`. The cross-entropy part is evaluated in its leave-one-out form (the target
    component keeps its digits at any logit gap) and the cap's slope as :math:`4e^{-2|t|}/(1 + e^{-2|t|})^2`.
    As for :func:`refloss.cross_entropy_grad`, a zero mean denominator gives a zero gradient.

    >>> e, c = np.array([[1.0, 0.0]]), np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    >>> linear_cross_entropy_grad(e, c, [1]).c  # G = p - e_y = (1/4, -1/4); G^T e
    array([[ 0.25,  0.  ],
           [-0.25,  0.  ]])
    """
    terms, lam, cap, (e_arr, c_arr, b) = _linear_terms(e, c, target, bias, weight, ignore_index, label_smoothing,
                                                       z_loss, softcap, reduction)
    scale = reduce_scale(terms.lse.shape, reduction, terms.ce.denominator)
    grad_z = _logit_gradient(terms.ce)
    if lam:
        grad_z = grad_z + np.where(terms.kept, 2.0 * lam * terms.lse, 0.0)[:, None] * np.exp(terms.ce.logp)
    g = scale * grad_z * _soft_cap_slope(terms.u, cap)
    return LinearCrossEntropyGrad(g @ c_arr, g.T @ e_arr, None if b is None else g.sum(axis=0))


# -- linear_kl --------------------------------------------------------------------------------------------

_HINTON = Paper(
    "Distilling the Knowledge in a Neural Network",
    arxiv="1503.02531",
    where="section 2: the soft targets softmax(t/T) and the T^2 factor that keeps the gradient's scale; the "
    "linear heads as in Cut Your Losses in Large-Vocabulary Language Models (arXiv:2411.09009)",
)


#: T in (0, 1e4]: T^2 KL is of the size of (t - s)^2 while KL itself shrinks as 1/T^2, so a larger T would
#: send the KL below the float64 range before T^2 brings it back (distillation uses T from 1 to about 20).
TEMPERATURE = v.Interval(0.0, 1e4, lo_open=True)


class LinearKLGrad(NamedTuple):
    """Gradient of :func:`linear_kl` w.r.t. the hidden states and both classifiers."""

    e: np.ndarray
    c_student: np.ndarray
    c_teacher: np.ndarray


def _kl_heads(e, c_student, c_teacher, temperature, reduction):
    """Validated inputs, the temperature, and the scaled logits (t / T, s / T) of the two heads."""
    e_arr, c_s, _ = _head_inputs(e, c_student, None, "c_student")
    c_t = v.real_array(c_teacher, "c_teacher")
    if c_t.shape != c_s.shape:
        raise v.RefLossError(f"c_teacher must have the student's shape {c_s.shape} (the same classes and "
                             f"features), got {c_t.shape}")
    temp = v.scalar(temperature, TEMPERATURE, "temperature")
    v.choice(reduction, v.REDUCTIONS, "reduction")
    with np.errstate(over="ignore", under="ignore"):
        scaled = _head_logits(e_arr, c_t, None) / temp, _head_logits(e_arr, c_s, None) / temp
    if not (np.isfinite(scaled[0]).all() and np.isfinite(scaled[1]).all()):
        raise v.RefLossError("the logits divided by the temperature overflow float64; raise the temperature")
    return (e_arr, c_s, c_t), temp, scaled


@register(
    name="linear_kl",
    family="linear",
    wrt=("e", "c_student", "c_teacher"),
    params=(
        _HIDDEN_STATES,
        Param("c_student", v.ArrayArg("float student classifier (V, D)", "classifier")),
        Param("c_teacher", v.ArrayArg("float teacher classifier (V, D)", "classifier")),
        Param("temperature", TEMPERATURE, "T: both heads' logits are divided by it; the loss is multiplied by T^2"),
        Param("reduction", v.REDUCTIONS, "'mean' over rows | 'sum' | 'none'"),
    ),
    paper=_HINTON,
    strategy=lambda extreme: _linear_kl_cases(extreme),
    stress=lambda: _linear_kl_stress(),
    accel="linear_kl",
)
def linear_kl(e: ArrayLike, c_student: ArrayLike, c_teacher: ArrayLike, *, temperature: float = 1.0,
              reduction: str = "mean"):
    r"""Distillation loss of a student head against a teacher head on the same hidden states.

    Per row :math:`n`, with teacher logits :math:`t_n = c_t e_n` and student logits :math:`s_n = c_s e_n`,

    .. math:: \ell_n = T^2\,\mathrm{KL}ig(\mathrm{softmax}(t_n/T) \,\|\, \mathrm{softmax}(s_n/T)ig),

    the forward KL from the teacher's softened distribution (Hinton et al.), in nats; :math:`T^2` keeps the
    gradient w.r.t. the student's logits, :math:`T(q - p)`, on the scale of a cross-entropy's. ``"mean"``
    divides the sum by the number of rows :math:`N`, which is PyTorch's ``kl_div(..., reduction="batchmean")``
    on ``(N, V)`` logits. Evaluated by :func:`refloss.kl_divergence_logits` on :math:`(t/T, s/T)`, so the
    divergence of two nearly equal heads keeps its digits. Gradient: :func:`linear_kl_grad`.

    Args:
        e: hidden states ``(N, D)``.
        c_student: the student's classifier ``(V, D)``.
        c_teacher: the teacher's classifier ``(V, D)``.
        temperature: :math:`0 < T \le 10^4` (beyond, :math:`\mathrm{KL} \sim 1/T^2` would leave the float64
            range before :math:`T^2` restores its size).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (shape ``(N,)``).

    Raises:
        RefLossError: shapes that do not match, NaN or infinite inputs, logits beyond the float64 range,
            a temperature outside :math:`(0, 10^4]`.

    >>> e = np.array([[1.0, 0.0]])
    >>> c_teacher, c_student = np.array([[0.0, 0.0], [np.log(3.0), 0.0]]), np.zeros((2, 2))
    >>> round(linear_kl(e, c_student, c_teacher), 15)  # p = (1/4, 3/4), q = (1/2, 1/2): (3/4) log 3 - log 2
    0.130812035941137
    """
    _, temp, (t_scaled, s_scaled) = _kl_heads(e, c_student, c_teacher, temperature, reduction)
    return temp**2 * kl_divergence_logits(t_scaled, s_scaled, reduction=reduction)


@gradient_of("linear_kl")
def linear_kl_grad(e: ArrayLike, c_student: ArrayLike, c_teacher: ArrayLike, *, temperature: float = 1.0,
                   reduction: str = "mean") -> LinearKLGrad:
    r"""Gradient of :func:`linear_kl` w.r.t. ``e``, ``c_student`` and ``c_teacher``, same signature.

    With :math:`p = \mathrm{softmax}(t/T)`, :math:`q = \mathrm{softmax}(s/T)` and :math:`u = \log p - \log q`,
    the gradients w.r.t. the logits are :math:`G^s = T(q - p)` and :math:`G^t = T\,p\,(u - \mathrm{KL})`
    (times :math:`1/N` for ``"mean"``): :math:`T^2` times :func:`refloss.kl_divergence_logits_grad`'s, divided by
    :math:`T` for the scaled logits, so they keep its evaluation forms. Then :math:`\partial\ell/\partial c_s =
    {G^s}^\top e`, :math:`\partial\ell/\partial c_t = {G^t}^\top e` and

    .. math:: \frac{\partial\ell}{\partial e} = G^s c_s + G^t c_t = (G^s + G^t)\,c_s + G^t (c_t - c_s),
              \qquad G^s + G^t = T\big(q\,\varphi(u) - p\,\mathrm{KL}\big),\ \varphi(u) = 1 + (u - 1)e^u.

    Each element is taken from the form whose terms are smaller in magnitude (compared through
    :math:`|G^s||c_s| + |G^t||c_t|` and :math:`|G^s + G^t||c_s| + |G^t||c_t - c_s|`). As the student
    approaches the teacher, :math:`G^s` and :math:`G^t` are of first order in :math:`u` with opposite signs and
    their sum of second order: the right-hand form, with :math:`G^s + G^t` from the KL's own non-negative
    terms :math:`q\,\varphi(u)`, avoids that cancellation; where the heads are far apart (a student logit
    thousands above the teacher's) the left-hand form has the smaller terms.

    >>> e = np.array([[1.0, 0.0]])
    >>> c_teacher, c_student = np.array([[0.0, 0.0], [np.log(3.0), 0.0]]), np.zeros((2, 2))
    >>> linear_kl_grad(e, c_student, c_teacher).c_student  # G^s = q - p = (1/4, -1/4); (G^s)^T e
    array([[ 0.25,  0.  ],
           [-0.25,  0.  ]])
    """
    (e_arr, c_s, c_t), temp, (t_scaled, s_scaled) = _kl_heads(e, c_student, c_teacher, temperature, reduction)
    terms = _kl_terms(t_scaled, s_scaled, reduction)
    grad_p, grad_q = _kl_gradients(terms)
    scale = temp * reduce_scale(terms.kl.shape, reduction)
    g_teacher, g_student = scale * grad_p, scale * grad_q
    g_sum = scale * (terms.terms - terms.p * terms.kl[:, None])
    delta = c_t - c_s
    direct = g_student @ c_s + g_teacher @ c_t
    split = g_sum @ c_s + g_teacher @ delta
    direct_terms = np.abs(g_student) @ np.abs(c_s) + np.abs(g_teacher) @ np.abs(c_t)
    split_terms = np.abs(g_sum) @ np.abs(c_s) + np.abs(g_teacher) @ np.abs(delta)
    grad_e = np.where(split_terms < direct_terms, split, direct)
    return LinearKLGrad(grad_e, g_student.T @ e_arr, g_teacher.T @ e_arr)


# -- cases ------------------------------------------------------------------------------------------------

#: A 2-D head whose logits are (g, 0, -g) + b: the logit gaps of refloss._cases.GAP_ROWS, through e @ c.T.
_GAP_E = np.array([[g, 0.5] for g in (15.0, 30.0, 40.0, 80.0)])
_GAP_C = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])


def _case(e, c, target, reduction="none", **params) -> dict:
    return {"e": np.array(e, dtype=np.float64), "c": np.array(c, dtype=np.float64),
            "target": np.array(target, dtype=np.int64), "reduction": reduction, **params}


def _linear_stress() -> dict[str, dict]:
    gap_targets = {"dominant": [0] * 4, "second": [1] * 4, "smallest": [2] * 4}
    out = {f"gaps__target_{k}": _case(_GAP_E, _GAP_C, t) for k, t in gap_targets.items()}
    out.update({f"gaps_softcap_30__target_{k}": _case(_GAP_E, _GAP_C, t, softcap=30.0) for k, t in
                gap_targets.items()})
    out.update({
        "defaults": {"e": _GAP_E, "c": _GAP_C, "target": np.array([0, 1, 2, 0])},
        "gaps_z_loss__target_dominant": _case(_GAP_E, _GAP_C, gap_targets["dominant"], z_loss=1e-4),
        "gaps_bias_softcap_20_z_loss": _case(_GAP_E, _GAP_C, [0, 1, 2, 0], bias=np.array([0.0, 0.5, -0.25]),
                                             softcap=20.0, z_loss=0.5, reduction="mean"),
        # class weights with smoothing under "mean", and ignore_index equal to a valid class id
        "weights_smoothing_ignore_valid_class": _case(
            [[0.3, -1.2], [2.0, 0.1], [-0.7, 0.4]], _GAP_C, [0, 1, 2], weight=np.array([1.0, 2.0, 0.5]),
            label_smoothing=0.1, ignore_index=1, reduction="mean"),
        # "peaky": e rows copied (scaled) from the target rows of c, so the target logit dominates
        "peaky_copied_rows": _case(12.0 * _GAP_C[[2, 0, 1]], _GAP_C, [2, 0, 1], reduction="sum"),
        "ties": _case([[0.0, 0.0], [1e-9, 0.0]], _GAP_C, [0, 2], bias=np.array([1e-12, 0.0, -1e-12])),
        "one_row": _case([[0.25, -4.0]], _GAP_C, [1], z_loss=1.0, reduction="mean"),
        "one_class": _case([[3.0, 1.0], [-700.0, 2.0]], [[1.0, -0.5]], [0, 0], softcap=50.0),
        "every_target_ignored_sum": _case([[1.0, 2.0], [3.0, 4.0]], _GAP_C, [-100, -100], reduction="sum"),
        "huge_softcap_tiny_logits": _case([[1e-5, 2e-5]], _GAP_C, [0], softcap=1e300),
        "tiny_softcap": _case([[1.0, -2.0], [0.5, 0.5]], _GAP_C, [0, 2], softcap=1e-3, reduction="mean"),
        # equal rows of c tie every row's logits at 3; full smoothing then makes G = 0 for any e
        "tied_rows_full_smoothing": _case([[1.0, 2.0], [2.0, 0.5]], [[1.0, 1.0]] * 3, [0, 2], label_smoothing=1.0),
        # logits near 0 under full smoothing: G = p - 1/V cancels where nothing in the scale excuses it
        # (refloss.numerics.softmax_over_uniform_minus_1); a zero hidden state ties every logit at 0
        "near_zero_logits_full_smoothing": _case([[0.0078, 1e-3], [1e-9, -3e-9], [0.0, 0.0]],
                                                 [[1.0, 0.0], [0.0, 0.0], [0.5, -2.0], [-1.0, 1.0]], [0, 1, 3],
                                                 label_smoothing=1.0),
        # capped logits near -s: under full smoothing G is made of differences of rounded s tanh(u / s)
        # (refloss.tolerance, Through a rounded intermediate)
        "saturated_softcap_full_smoothing": _case([[1.0]], [[-9.2164486], [-11.24358799], [-5.1074759]], [1],
                                                  label_smoothing=1.0, softcap=1.0),
    })
    return out


def _linear_cases(extreme: bool):
    """Hidden states, classifier and every option together; ragged N, D, V (one class and one row included)."""
    from .. import _cases as cases

    st, hnp = cases.hyp()
    bound = 100.0 if extreme else 3.0  # |u| up to D * bound^2: 4e4 (extreme) or 36 (moderate)
    # A cap s bends the logits on the scale s, so finite differences (step 1e-3) need s >= 1 in moderate draws;
    # the caps of 1e-3 and 1e300 are stress points, checked by the oracle.
    caps = [1e-3, 1.0, 30.0] if extreme else [1.0, 30.0]

    @st.composite
    def draw(drawn):
        n = drawn(st.integers(1, cases.LIMITS["max_side"]))
        d = drawn(st.integers(1, cases.LIMITS["max_side"]))
        n_classes = drawn(st.integers(1, cases.LIMITS["max_classes"]))
        arrays = {name: drawn(hnp.arrays(np.float64, shape, elements=cases.floats(bound)))
                  for name, shape in (("e", (n, d)), ("c", (n_classes, d)))}
        target = drawn(hnp.arrays(np.int64, (n,), elements=st.integers(0, n_classes - 1)))
        ignore_index = drawn(st.sampled_from([-100, -1]) | st.integers(0, n_classes - 1))
        if ignore_index < 0:
            drop = drawn(hnp.arrays(np.bool_, (n,)))
            drop[0] = False  # keep one target: the all-ignored mean is NaN, a stress point of its own
            target = np.where(drop, ignore_index, target)
        elif (target == ignore_index).all():
            ignore_index = -100
        bias = drawn(st.none() | hnp.arrays(np.float64, (n_classes,), elements=cases.floats(bound)))
        eps = cases.draw_scalar(drawn, v.UNIT_INTERVAL)
        z_loss = drawn(st.sampled_from([0.0, 1e-4, 0.5]))
        u = arrays["e"] @ arrays["c"].T + (0.0 if bias is None else bias)
        if n_classes > 1 and (np.abs(u).max(axis=1) < 1.0).any():
            # a row's gradient there can be a cancellation of terms set by eps and the z-loss, which the
            # condition scale does not see (refloss.tolerance, Known limit)
            z_loss = 0.0
        return {
            **arrays,
            "target": target,
            "bias": bias,
            "weight": drawn(st.none() | hnp.arrays(np.float64, (n_classes,), elements=st.floats(0.1, 3.0))),
            "ignore_index": ignore_index,
            "label_smoothing": eps,
            "z_loss": z_loss,
            "softcap": drawn(st.none() | st.sampled_from(caps) | st.floats(min(caps), 50.0)),
            "reduction": drawn(st.sampled_from(("mean", "sum", "none"))),
        }

    return draw()


def _linear_kl_stress() -> dict[str, dict]:
    def case(e, c_student, c_teacher, temperature=1.0, reduction="none"):
        return {"e": np.array(e, dtype=np.float64), "c_student": np.array(c_student, dtype=np.float64),
                "c_teacher": np.array(c_teacher, dtype=np.float64), "temperature": temperature,
                "reduction": reduction}

    # the teacher's logits are the gaps (g, 0, -g) + 0.5 (0, 1, 0); the student's are those of a flipped head
    flipped = _GAP_C[[2, 1, 0]]
    out = {f"gaps__temperature_{t:g}": case(_GAP_E, flipped, _GAP_C, t) for t in (0.5, 1.0, 2.0, 20.0)}
    out.update({
        "gaps_student_close__temperature_1": case(_GAP_E, _GAP_C * (1 + 1e-6), _GAP_C),
        "defaults": {"e": _GAP_E, "c_student": flipped, "c_teacher": _GAP_C},
        "same_heads": case(_GAP_E, _GAP_C, _GAP_C, 2.0),  # KL = 0 and every gradient 0
        "uniform_student__peaked_teacher": case(_GAP_E, np.zeros_like(_GAP_C), _GAP_C, 1.0, "mean"),
        "student_peaked_by_thousands": case([[1.0, 1.0]], [[2684.6121123613884, 0.0], [8002.959790530334, 0.0]],
                                            [[-0.99999, 0.0], [-0.99999, 0.0]], 1.0, "sum"),
        "ties": case([[0.0, 0.0], [1e-9, 0.0]], _GAP_C, flipped),
        "one_row__temperature_4": case([[0.25, -4.0]], flipped, _GAP_C, 4.0, "mean"),
        "one_class": case([[3.0, 1.0], [-700.0, 2.0]], [[1.0, -0.5]], [[0.5, 2.0]], 2.0),
        "small_temperature": case([[1.0, -2.0], [0.5, 0.5]], flipped, _GAP_C, 1e-2, "sum"),
        # heads that agree but on a tail class, and a feature equal across classes: grad_e of that feature
        # is sum_c G^s_c (-2) = 0 exactly, whatever the logits
        "close_heads_far_tail__a_constant_feature": case([[1.0, 0.0], [-1.9, 0.0]],
                                                         [[0.0, -2.0], [0.001, -2.0], [-20.0, -2.0]],
                                                         [[0.0, 0.0], [0.0, 0.0], [-15.0, 0.0]]),
    })
    return out


def _linear_kl_cases(extreme: bool):
    """Hidden states, two classifiers and a temperature; ragged N, D, V (one class and one row included)."""
    from .. import _cases as cases

    st, hnp = cases.hyp()
    bound = 100.0 if extreme else 3.0

    @st.composite
    def draw(drawn):
        n = drawn(st.integers(1, cases.LIMITS["max_side"]))
        d = drawn(st.integers(1, cases.LIMITS["max_side"]))
        n_classes = drawn(st.integers(1, cases.LIMITS["max_classes"]))
        arrays = {name: drawn(hnp.arrays(np.float64, shape, elements=cases.floats(bound)))
                  for name, shape in (("e", (n, d)), ("c_student", (n_classes, d)), ("c_teacher", (n_classes, d)))}
        # moderate draws keep T >= 0.5 so that the logits / T stay where finite differences (step 1e-3) work
        temperature = drawn(st.sampled_from([0.5, 1.0, 2.0]) | st.floats(0.5 if not extreme else 0.05, 20.0))
        return {**arrays, "temperature": temperature, "reduction": drawn(st.sampled_from(("mean", "sum", "none")))}

    return draw()
