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
    _HIDDEN_STATES,
    POSITIVE,
    _head_inputs,
    _head_logits,
    _soft_cap,
    _soft_cap_slope,
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
    return out


def _linear_cases(extreme: bool):
    """Hidden states, classifier and every option together; ragged N, D, V (one class and one row included)."""
    from ... import _cases as cases

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
