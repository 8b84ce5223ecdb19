"""``linear_cross_entropy``: cross-entropy of a linear head e c^T + b; value, closed-form gradients, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._reduce import reduce, reduce_scale
from ..._registry import Param, gradient_of, register
from ...numerics import _logsumexp
from ..classification._common import _CETerms, _cross_entropy_terms, _logit_gradient, _losses
from ._common import (
    _CCE,
    _GAP_C,
    _GAP_E,
    POSITIVE,
    _head_gradients,
    _head_logits,
    _position_head_inputs,
    _soft_cap,
    _soft_cap_slope,
)


class LinearCrossEntropyGrad(NamedTuple):
    """Gradient of :func:`linear_cross_entropy` w.r.t. the hidden states, the classifier and the bias
    (``None`` when there is no bias), each in its input's shape."""

    e: np.ndarray
    c: np.ndarray
    bias: np.ndarray | None


class _LinearTerms(NamedTuple):
    u: np.ndarray  # (..., V) head logits before the soft cap: e's batch axes, c's position axes, the classes
    lse: np.ndarray  # (...) of the logits z the softmax sees
    kept: np.ndarray  # (...) rows whose target is not ignored (every row with probability targets)
    ce: _CETerms  # the cross-entropy terms of z


def _linear_terms(e, c, target, bias, weight, ignore_index, label_smoothing, z_loss, softcap, reduction):
    e_arr, c_arr, b = _position_head_inputs(e, c, bias)
    cap = None if softcap is None else v.scalar(softcap, POSITIVE, "softcap")
    lam = v.scalar(z_loss, v.NONNEGATIVE, "z_loss")
    ignore_index = v.integer(ignore_index, "ignore_index")
    shape = e_arr.shape[:-1] + c_arr.shape[:-1]  # the head's logits
    t = v.as_array(target, "target")
    if t.shape not in (shape, shape[:-1]):  # checked before the product, and named in the head's terms
        raise v.RefLossError(f"target must hold class indices of shape {shape[:-1]} (e's batch axes, then c's "
                             f"position axes) or real targets of the head's logits' shape {shape}, got shape "
                             f"{t.shape}")
    u = _head_logits(e_arr, c_arr, b)
    z = _soft_cap(u, cap)
    # PyTorch's dispatch: a target of the logits' shape holds probabilities (refloss.cross_entropy's rules)
    ce = _cross_entropy_terms(z, t, weight, ignore_index, label_smoothing, reduction)
    kept = np.ones(shape[:-1], dtype=bool) if t.shape == shape else t != ignore_index
    return _LinearTerms(u, _logsumexp(z), kept, ce), lam, cap, (e_arr, c_arr, b)


def _z_loss_terms(lam: float, lse: np.ndarray, kept: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # lambda LSE^2 beyond 1.8e308 is +inf, the correctly rounded answer
        return np.where(kept, lam * lse**2, 0.0) if lam else np.zeros(lse.shape)


@register(
    name="linear_cross_entropy",
    family="linear",
    wrt=("e", "c", "bias"),
    params=(
        Param("e", v.ArrayArg("float hidden states (..., D): any batch axes, none for one row", "hidden_states")),
        Param("c", v.ArrayArg("float classifier (V, D), one row per class; or (d_1, ..., d_K, V, D), a classifier "
                              "per position (PyTorch's K-dimensional loss)", "classifier")),
        Param("target", v.ArrayArg("int class indices of shape e.shape[:-1] + c.shape[:-2] (each in [0, V) or "
                                   "ignore_index), or float real targets of the logits' shape e.shape[:-1] + "
                                   "c.shape[:-1] (probabilities; rows need not sum to 1)", "head_targets")),
        Param("bias", v.ArrayArg("None or float bias of shape c.shape[:-1]: (V,), or (d_1, ..., d_K, V)",
                                 "head_bias"), optional=True),
        Param("weight", v.CLASS_WEIGHTS, optional=True),
        Param("ignore_index", v.ArrayArg("int; class targets equal to it are ignored (negative with probability "
                                         "targets)")),
        Param("label_smoothing", v.UNIT_INTERVAL, "epsilon: mixes the target with the uniform distribution"),
        Param("z_loss", v.NONNEGATIVE, "lambda: coefficient of PaLM's z-loss lambda LSE^2, per row of logits"),
        Param("softcap", POSITIVE, "s: logits z = s tanh(u / s) (Gemma 2); None: no cap", optional=True),
        Param("reduction", v.REDUCTIONS, "'mean' | 'sum' | 'none' (mean: / total weight of the kept class targets; "
                                         "/ number of rows with probability targets)"),
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

    Per row :math:`n` of logits (one index of every axis of :math:`u` but the classes: a batch index of ``e`` and,
    with a classifier per position, a position) whose target is kept (:math:`m_n = 1`),

    .. math:: \ell_n = \mathrm{CE}(z_n, t_n; w, \varepsilon) + \lambda\,\mathrm{LSE}(z_n)^2,

    where CE is :func:`refloss.cross_entropy` of the row (class weights :math:`w`, label smoothing
    :math:`\varepsilon`, PyTorch's rules) and :math:`\lambda\,\mathrm{LSE}^2` is PaLM's z-loss. The target is
    either

    * **class indices** :math:`y_n` (shape ``u.shape[:-1]``): a row is kept (:math:`m_n = 1`) where :math:`y_n`
      is not ``ignore_index``, an ignored row contributes 0 (z-loss included), and ``"mean"`` divides the sum by
      :math:`W = \sum_n m_n w_{y_n}`, the total weight of the kept targets (without weights: their number), for
      both terms; ``W = 0`` gives ``nan`` with a warning, as in PyTorch;
    * **real targets** :math:`t_n` of the logits' shape (PyTorch's dispatch: a target of the logits' shape holds
      probabilities): :math:`\mathrm{CE} = -\sum_c w_c\,((1-\varepsilon)\,t_{n,c} + \varepsilon/V)\log
      p_{n,c}`, for any real entries (rows that do not sum to 1, a zero row, negative entries: the expression
      is defined, as in PyTorch); every row is kept (``ignore_index`` must stay negative and ignores nothing),
      every row has its z-loss, and ``"mean"`` divides by the number of rows :math:`M` (``u.size / V``; the
      class weights are not in it), PyTorch's rule.

    With a soft cap :math:`s`, :math:`z = s \tanh(u/s)` with :math:`u = e c^\top + b` (the bias is added
    before the cap, as in Cut Cross-Entropy and Liger).

    **Shapes** (refloss's layout: the class axis is last): ``e`` is ``(..., D)`` with any batch axes (``(N, D)``;
    ``(D,)`` is one unbatched row); ``c`` is ``(V, D)``, or ``(d_1, ..., d_K, V, D)`` for PyTorch's
    K-dimensional loss, a ``(V, D)`` classifier per position; ``bias`` is ``c.shape[:-1]``; the logits
    :math:`u_{i,k,v} = \sum_d e_{i,d}\,c_{k,v,d} + b_{k,v}` have the shape ``e.shape[:-1] + c.shape[:-1]``
    (batch axes, position axes, classes); class targets and the ``"none"`` output have ``u.shape[:-1]``.
    ``torch.nn.functional.linear_cross_entropy`` takes the same numbers with the class axis of its weight, bias
    and logits first: ``linear_weight = np.moveaxis(c, -2, 0)`` ``(V, d_1, ..., d_K, D)``, ``linear_bias =
    np.moveaxis(bias, -1, 0)``, a probability target ``np.moveaxis(target, -1, 1)`` ``(N, V, d_1, ..., d_K)``;
    class targets, ``input = e`` and the output are the same. PyTorch takes at most one batch axis, none only
    with K = 0, and neither the z-loss nor the cap.

    Conventions, where the peers differ: the z-loss is not multiplied by the class weight and shares the
    cross-entropy's denominator; without class weights that is the number of kept targets, as in Liger
    (``lse_square_scale``) and CCE's ``compute_z_loss``, while Liger divides it by the count even when class
    weights are given. The classifier is ``(V, D)``, as in CCE and ``torch.nn.Linear.weight``.

    Gradient: :func:`linear_cross_entropy_grad`.

    Args:
        e: hidden states ``(..., D)``.
        c: classifier ``(V, D)``, or ``(d_1, ..., d_K, V, D)``.
        target: class indices of shape ``u.shape[:-1]``, or real (float) targets of the logits' shape ``u.shape``.
        bias: optional, of shape ``c.shape[:-1]``.
        weight: optional non-negative class weights ``(V,)``, shared by every position.
        ignore_index: class targets equal to it are ignored (it may be a valid class id); negative with
            probability targets.
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        z_loss: :math:`\lambda \ge 0`.
        softcap: :math:`s > 0`, or ``None`` for no cap.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (shape ``u.shape[:-1]``, 0 at ignored rows).

    Raises:
        RefLossError: shapes that do not match (``e``'s and ``c``'s features, a ``bias`` not of ``c.shape[:-1]``,
            a ``target`` of neither the class-index nor the logits' shape), a class index out of range, integer
            targets of the logits' shape, ``ignore_index >= 0`` with probability targets, NaN or infinite inputs,
            logits ``e @ c.T + bias`` beyond the float64 range, a parameter outside its domain.

    >>> e, c = np.array([[1.0, 0.0]]), np.array([[0.0, 0.0], [np.log(3.0), 0.0]])  # z = (0, log 3)
    >>> round(linear_cross_entropy(e, c, [1]), 15)  # -log p_1 = log(4/3)
    0.287682072451781
    >>> round(linear_cross_entropy(e, c, [1], z_loss=0.5), 15)  # + 0.5 LSE^2 = 0.5 (log 4)^2
    1.248588100288184

    Probability targets, of the logits' shape; a row need not sum to 1:

    >>> round(linear_cross_entropy(e, c, [[0.5, 0.5]]), 15)  # -(log(1/4) + log(3/4)) / 2
    0.836988216785836
    >>> round(linear_cross_entropy(e, c, [[0.0, 2.0]]), 15)  # -2 log p_1: twice the class target's loss
    0.575364144903562

    A classifier per position (K = 1, two positions: PyTorch's ``linear_weight = np.moveaxis(c2, -2, 0)``):

    >>> c2 = np.stack([c, c[::-1]])  # (2, V=2, D=2): position 1 has the classes in reverse order
    >>> linear_cross_entropy(e, c2, [[1, 0]], reduction="none")  # logits (1, 2, 2): (0, log 3) and (log 3, 0)
    array([[0.28768207, 0.28768207]])
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

    With :math:`a_n` the cross-entropy coefficients of row :math:`n` (:func:`refloss.cross_entropy_grad`: class
    or probability targets), :math:`G_{n,j} = \big(p_{n,j} \sum_c a_{n,c} - a_{n,j} + 2\lambda m_n
    \mathrm{LSE}_n\,p_{n,j}\big)\,(1 - \tanh^2(u_{n,j}/s))`, times :math:`1/W` (class targets) or :math:`1/M`
    (probability targets) for ``"mean"``; then :math:`G c`, :math:`G^\top e` and the column sums of :math:`G`,
    over the batch and position axes: :math:`\partial \ell / \partial e_{i,d} = \sum_{k,v} G_{i,k,v}
    c_{k,v,d}`, :math:`\partial \ell / \partial c_{k,v,d} = \sum_i G_{i,k,v}\,e_{i,d}`, :math:`\partial \ell
    / \partial b_{k,v} = \sum_i G_{i,k,v}`, each in its input's shape. The cross-entropy part is evaluated in
    its leave-one-out form (the target component keeps its digits at any logit gap) and the cap's slope as
    :math:`4e^{-2|t|}/(1 + e^{-2|t|})^2`. As for :func:`refloss.cross_entropy_grad`, a zero mean denominator
    gives a zero gradient.

    >>> e, c = np.array([[1.0, 0.0]]), np.array([[0.0, 0.0], [np.log(3.0), 0.0]])
    >>> linear_cross_entropy_grad(e, c, [1]).c  # G = p - e_y = (1/4, -1/4); G^T e
    array([[ 0.25,  0.  ],
           [-0.25,  0.  ]])
    >>> linear_cross_entropy_grad(e, c, [[0.0, 2.0]]).c  # G = p sum(t) - t = (1/2, -1/2)
    array([[ 0.5,  0. ],
           [-0.5,  0. ]])
    >>> linear_cross_entropy_grad(e, np.stack([c, c[::-1]]), [[1, 0]], reduction="sum").c  # one G per position
    array([[[ 0.25,  0.  ],
            [-0.25,  0.  ]],
    <BLANKLINE>
           [[-0.25,  0.  ],
            [ 0.25,  0.  ]]])
    """
    terms, lam, cap, (e_arr, c_arr, b) = _linear_terms(e, c, target, bias, weight, ignore_index, label_smoothing,
                                                       z_loss, softcap, reduction)
    scale = reduce_scale(terms.lse.shape, reduction, terms.ce.denominator)
    grad_z = _logit_gradient(terms.ce)
    if lam:
        grad_z = grad_z + np.where(terms.kept, 2.0 * lam * terms.lse, 0.0)[..., None] * np.exp(terms.ce.logp)
    g = scale * grad_z * _soft_cap_slope(terms.u, cap)
    return LinearCrossEntropyGrad(*_head_gradients(g, e_arr, c_arr, b))


def _case(e, c, target, reduction="none", **params) -> dict:
    """A stress point: float arrays, and class indices (int) or, for a target of the logits' shape, probabilities."""
    e, c = np.array(e, dtype=np.float64), np.array(c, dtype=np.float64)
    probabilities = np.shape(target) == e.shape[:-1] + c.shape[:-1]
    return {"e": e, "c": c, "target": np.array(target, dtype=np.float64 if probabilities else np.int64),
            "reduction": reduction, **params}


#: A classifier per position (K = 1, two positions): the gap head, and the same head with its classes reversed.
_K1_C = np.stack([_GAP_C, _GAP_C[::-1]])

#: A classifier per position of a 2 x 2 grid (K = 2), three classes: scaled and reversed gap heads.
_K2_C = np.stack([_K1_C, np.stack([0.5 * _GAP_C, [[0.5, 0.25], [0.0, -1.0], [-0.5, 2.0]]])])

#: Probability targets near one-hot (the gaps' target component p_y - 1 needs the leave-one-out form).
_NEAR_ONE_HOT = [[1.0 - 2e-9, 1e-9, 1e-9], [1e-9, 1.0 - 2e-9, 1e-9], [1e-9, 1e-9, 1.0 - 2e-9],
                 [1.0 - 1e-12, 0.0, 1e-12]]


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
        # "mean" over zero total weight: NaN (0/0, PyTorch's), the gradient 0
        "every_target_ignored_z_loss_mean": _case([[1.0, 2.0], [3.0, 4.0]], _GAP_C, [-100, -100], z_loss=0.5,
                                                  reduction="mean"),
        # the z-loss shares the class-weighted denominator W but is not itself weighted
        "weights_z_loss_mean": _case(_GAP_E, _GAP_C, [0, 1, 2, 0], weight=np.array([0.5, 2.0, 0.0]),
                                     z_loss=1e-2, reduction="mean"),
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
    out.update(_probability_stress())
    out.update(_position_stress())
    return out


def _probability_stress() -> dict[str, dict]:
    """Real targets of the logits' shape (PyTorch's probability targets): near one-hot at the logit gaps, rows that
    do not sum to 1 (0.3, 2.5, a negative entry, a zero row) with weights and smoothing under "mean" (denominator
    N), and a zero row whose loss is its z-loss alone, under a cap with a bias."""
    return {
        "probabilities_near_one_hot": _case(_GAP_E, _GAP_C, _NEAR_ONE_HOT),
        "probabilities_near_one_hot_softcap_30_sum": _case(_GAP_E, _GAP_C, _NEAR_ONE_HOT, softcap=30.0,
                                                           reduction="sum"),
        "probabilities_unnormalised_rows_weights_smoothing_mean": _case(
            [[0.3, -1.2], [2.0, 0.1], [-0.7, 0.4], [1.5, 1.5]], _GAP_C,
            [[0.1, 0.2, 0.0], [2.0, 0.0, 0.5], [-0.5, 1.0, 0.25], [0.0, 0.0, 0.0]], weight=np.array([1.0, 2.0, 0.5]),
            label_smoothing=0.1, reduction="mean"),
        "probabilities_zero_row_bias_softcap_z_loss_mean": _case(
            [[1.0, 2.0], [3.0, -4.0]], _GAP_C, [[0.0, 0.0, 0.0], [0.25, 0.25, 0.5]], bias=np.array([0.5, 0.0, -1.0]),
            softcap=20.0, z_loss=0.5, reduction="mean"),
    }


def _position_stress() -> dict[str, dict]:
    """PyTorch's K-dimensional loss, a (V, D) classifier per position (K = 1 and K = 2), with class targets (weights,
    smoothing, ignore_index a valid class, a bias per position, cap and z-loss) and probability targets ("mean" over
    every position); one unbatched row (e of shape (D,)) and e with two batch axes."""
    return {
        "k1_classifier__gaps": _case(_GAP_E, _K1_C, [[0, 0], [1, 1], [2, 0], [0, 2]]),
        "k1_classifier__bias_weights_smoothing_ignore_valid_class_mean": _case(
            _GAP_E[:3], _K1_C, [[0, 1], [1, 2], [2, 0]], bias=np.array([[0.0, 0.5, -0.25], [1.0, 0.0, 0.0]]),
            weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.1, ignore_index=1, reduction="mean"),
        "k1_classifier__probabilities_smoothing_mean": _case(
            [[0.3, -1.2], [2.0, 0.1]], _K1_C,
            [[[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.5, 2.0, -0.25]]], label_smoothing=0.2,
            reduction="mean"),
        "k2_classifier__bias_softcap_z_loss_ignored": _case(
            [[15.0, 0.5], [-2.0, 3.0]], _K2_C, [[[0, 1], [2, -100]], [[1, 1], [0, 2]]],
            bias=np.array([[[0.0, 0.5, -0.25], [0.1, 0.0, 0.0]], [[0.0, 0.0, 1.0], [-0.5, 0.25, 0.0]]]),
            softcap=30.0, z_loss=1e-4),
        "k2_classifier__probabilities_weights_sum": _case(
            [[15.0, 0.5], [-2.0, 3.0]], _K2_C,
            [[[_NEAR_ONE_HOT[0], [0.0, 0.5, 0.5]], [[0.3, 0.3, 0.4], [0.0, 0.0, 1.0]]],
             [[[1.0, 0.0, 0.0], [0.25, 0.25, 0.5]], [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]]],
            weight=np.array([0.5, 2.0, 1.0]), reduction="sum"),
        "unbatched_row__class_target_weights_smoothing": _case([40.0, 0.5], _GAP_C, 1,
                                                              weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.1),
        "unbatched_row__k1_probabilities_z_loss_mean": _case([30.0, 0.5], _K1_C, [[0.9, 0.1, 0.0], [0.0, 0.0, 1.0]],
                                                             z_loss=1e-2, reduction="mean"),
        "two_batch_axes__ignored_mean": _case([[[15.0, 0.5], [1.0, -2.0]], [[0.0, 0.0], [-80.0, 0.5]]], _GAP_C,
                                              [[0, 1], [-100, 2]], weight=np.array([1.0, 0.5, 2.0]),
                                              reduction="mean"),
    }


def _linear_cases(extreme: bool, *, twin: bool = False):
    """Hidden states, classifier and every option together; ragged N, D, V (one class and one row included). The
    layouts vary: mostly rows (N, D) and a classifier (V, D), also one unbatched row, two batch axes, and a
    classifier per position (K = 1, 2); a quarter of the draws have probability targets (real, rows not always
    summing to 1). ``twin``: only what :func:`accel.linear_cross_entropy` takes (rows, one classifier, class
    indices), for the cross-check of the accel twin."""
    from ... import _cases as cases

    st, hnp = cases.hyp()
    bound = 100.0 if extreme else 3.0  # |u| up to D * bound^2: 4e4 (extreme) or 36 (moderate)
    # A cap s bends the logits on the scale s, so finite differences (step 1e-3) need s >= 1 in moderate draws;
    # the caps of 1e-3 and 1e300 are stress points, checked by the oracle.
    caps = [1e-3, 1.0, 30.0] if extreme else [1.0, 30.0]
    layouts = ["rows"] if twin else ["rows", "rows", "rows", "rows", "unbatched", "batch_axes", "k1", "k2"]

    @st.composite
    def draw(drawn):
        n = drawn(st.integers(1, cases.LIMITS["max_side"]))
        d = drawn(st.integers(1, cases.LIMITS["max_side"]))
        n_classes = drawn(st.integers(1, cases.LIMITS["max_classes"]))
        layout = drawn(st.sampled_from(layouts))
        batch = {"unbatched": (), "batch_axes": (n, drawn(st.integers(1, 2)))}.get(layout, (n,))
        positions = tuple(drawn(st.integers(1, {"k1": 3, "k2": 2}.get(layout, 2)))
                          for _ in range({"k1": 1, "k2": 2}.get(layout, 0)))
        arrays = {name: drawn(hnp.arrays(np.float64, shape, elements=cases.floats(bound)))
                  for name, shape in (("e", batch + (d,)), ("c", positions + (n_classes, d)))}
        rows = batch + positions
        probabilities = not twin and drawn(st.booleans()) and drawn(st.booleans())
        if probabilities:
            target = drawn(hnp.arrays(np.float64, rows + (n_classes,), elements=st.floats(0.0, 1.0) |
                                      st.floats(-1.0, 2.0)))
            if drawn(st.booleans()):  # rows of probabilities, where a row is not (nearly) 0
                total = np.abs(target).sum(axis=-1, keepdims=True)
                target = np.where(total > 0.1, np.abs(target) / np.maximum(total, 0.1), target)
            ignore_index = drawn(st.sampled_from([-100, -1]))
        else:
            target = drawn(hnp.arrays(np.int64, rows, elements=st.integers(0, n_classes - 1)))
            ignore_index = drawn(st.sampled_from([-100, -1]) | st.integers(0, n_classes - 1))
            if ignore_index < 0:
                drop = drawn(hnp.arrays(np.bool_, rows))
                drop.flat[0] = False  # keep one target: the all-ignored mean is NaN, a stress point of its own
                target = np.where(drop, ignore_index, target)
            elif (target == ignore_index).all():
                ignore_index = -100
        bias = drawn(st.none() | hnp.arrays(np.float64, positions + (n_classes,), elements=cases.floats(bound)))
        eps = cases.draw_scalar(drawn, v.UNIT_INTERVAL)
        z_loss = drawn(st.sampled_from([0.0, 1e-4, 0.5]))
        u = np.tensordot(arrays["e"], arrays["c"], axes=([-1], [-1])) + (0.0 if bias is None else bias)
        if n_classes > 1 and (np.abs(u).max(axis=-1) < 1.0).any():
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
