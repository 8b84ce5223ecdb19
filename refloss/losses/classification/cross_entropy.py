"""``cross_entropy``: softmax cross-entropy with PyTorch's semantics; value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import reduce, reduce_scale, weighted_denominator
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ._common import (
    _PYTORCH_CE,
    _REDUCTION,
    _SOFT_TARGETS,
    _ce_inputs,
    _ce_terms,
    _logit_gradient,
    _losses,
    _masked_coefficients,
    _raise_if_masked,
)


@register(
    name="cross_entropy",
    family="classification",
    wrt=("logits",),
    params=(
        Param("logits", v.LOGITS),
        Param("target", v.ArrayArg("int class indices of shape logits.shape[:-1], or a real (float) array of "
                                   "the logits' shape: probability targets, which need not be normalised nor "
                                   "non-negative", "class_targets", class_axis=True)),
        Param("weight", v.SIGNED_CLASS_WEIGHTS, optional=True),
        Param("ignore_index", v.ArrayArg("int; targets equal to it are ignored (class targets only)")),
        Param("label_smoothing", v.UNIT_INTERVAL, "epsilon: mixes the target with the uniform distribution"),
        _REDUCTION,
    ),
    paper=_PYTORCH_CE,
    strategy=lambda extreme: _cross_entropy_cases(extreme),
    stress=lambda: {**cases.softmax_stress(label_smoothing=(0.0,)), **_cross_entropy_stress()},
    shift_invariant=("logits",),
    sample_weight=True,
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
      non-ignored targets, for both terms. If :math:`W = 0` because every target is ignored or the
      kept targets' weights are all 0, the mean is 0/0 = ``nan``, as in PyTorch, with a
      :class:`~refloss.RefLossWarning`; if :math:`W = 0` while some kept target's weight is not 0
      (weights of both signs that cancel), the weighted mean is undefined and refloss raises.
      ``ignore_index`` may be any integer, including a valid class id (that class is then ignored).
    * **probability targets** :math:`t_n` (a float array of the logits' shape):
      :math:`a_n = w \odot ((1-\varepsilon) t_n + \tfrac{\varepsilon}{C})`. The target is any real
      array, as in PyTorch: rows need not sum to 1 and entries may be negative (the loss and its gradient
      below are defined for every real :math:`a`). ``"mean"`` divides by the number of rows :math:`N`
      (weights are *not* in the denominator, whatever the rows sum to), and ``ignore_index`` must stay
      negative.

    Class weights :math:`w` may be negative (PyTorch accepts them). ``"none"`` returns :math:`\ell` with
    the shape ``logits.shape[:-1]`` (0 at ignored targets). Gradient: :func:`cross_entropy_grad`.

    Where refloss differs from PyTorch, on purpose: the class axis is the *last* axis (PyTorch: axis
    1); an empty batch raises instead of returning ``nan``; a target of 0 on a masked (``-inf``) class
    contributes :math:`0 \log 0 = 0` (PyTorch: ``nan``); a signed-weight mean over :math:`W = 0` raises
    (PyTorch: :math:`\pm\infty` or ``nan``). A nonzero target weight :math:`a_c` on a masked class gives
    :math:`-a_c \log 0`: ``+inf`` for :math:`a_c > 0`, ``-inf`` for :math:`a_c < 0`, and a row (or a
    ``"sum"``/``"mean"``) with both is :math:`\infty - \infty`, which raises.

    Args:
        logits: float array ``(..., C)``.
        target: class indices ``(...)`` or a real (float) array ``(..., C)`` of probability targets.
        weight: optional real class weights ``(C,)``, negative allowed.
        ignore_index: class-index value whose elements are ignored (default -100).
        label_smoothing: :math:`\varepsilon \in [0, 1]`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        float for ``"mean"``/``"sum"``, else an array of shape ``logits.shape[:-1]``.

    Raises:
        RefLossError: shape mismatch, class index out of range, NaN or ``+inf`` in an input, empty batch,
            ``label_smoothing`` outside [0, 1], unknown ``reduction``; ``"mean"`` with class targets whose
            kept weights are not all 0 but sum to 0 ("the weights of the kept targets sum to 0: the weighted
            mean is undefined"); infinite terms of both signs (:math:`+\infty - \infty`, above).

    >>> logits = [[0.0, 0.0], [0.0, np.log(3.0)]]  # p = (1/2, 1/2) and (1/4, 3/4)
    >>> round(cross_entropy(logits, [0, 1]), 15)  # (log 2 + log 4/3) / 2
    0.490414626505863
    >>> cross_entropy(logits, [0, -100], weight=[2.0, 1.0])  # 2 log 2 / w_0: the ignored row drops out
    0.6931471805599453
    >>> cross_entropy(logits[:1], [[2.0, -1.0]], reduction="sum")  # a real target: -(2 - 1) log(1/2)
    0.6931471805599453

    References: Szegedy et al. (2016) for label smoothing; PyTorch ``torch.nn.CrossEntropyLoss`` docs for
    weights, ``ignore_index`` and the denominators of ``"mean"``.
    """
    inputs = _ce_inputs(logits, target, weight, ignore_index, label_smoothing, reduction)
    (losses,) = _passes(inputs, _losses)
    return _reduced(inputs, losses, reduction)


@gradient_of("cross_entropy")
def cross_entropy_grad(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None,
                       ignore_index: int = -100, label_smoothing: float = 0.0, reduction: str = "mean"):
    r"""Gradient of :func:`cross_entropy` with respect to ``logits``, same signature.

    :math:`p_{n,j} \sum_c a_{n,c} - a_{n,j}` for any real :math:`a` (signed weights, unnormalised or
    negative targets), evaluated as :math:`p_{n,j} \sum_{c \ne j} a_{n,c} + a_{n,j}\,\mathrm{expm1}(\log
    p_{n,j})` so that each component keeps its digits (``proofs/classification/cross_entropy.py``),
    times :math:`1/W` (class targets) or :math:`1/N` (probability targets) for ``"mean"``. Ignored
    targets get a zero gradient. When every kept weight is 0 (:math:`W = 0`) the mean is ``nan`` and its
    gradient is returned as zero: PyTorch's backward agrees when every target is ignored, but gives
    ``nan`` when the non-ignored targets all have class weight 0.

    Raises:
        RefLossError: as :func:`cross_entropy`, and when the loss is infinite (a class with nonzero target
            weight at ``-inf``: ``+inf`` for a positive weight, ``-inf`` for a negative one).

    >>> cross_entropy_grad([[0.0, 0.0]], [1])
    array([[ 0.5, -0.5]])
    """
    inputs = _ce_inputs(logits, target, weight, ignore_index, label_smoothing, reduction)
    (grad,) = _passes(inputs, _checked_gradient)
    return _scaled(inputs, grad, reduction)


@value_and_grad_of("cross_entropy")
def _cross_entropy_value_and_grad(logits: ArrayLike, target: ArrayLike, *, weight: ArrayLike | None = None,
                                  ignore_index: int = -100, label_smoothing: float = 0.0, reduction: str = "mean"):
    """:func:`cross_entropy` and :func:`cross_entropy_grad` from one log-softmax per block of rows."""
    inputs = _ce_inputs(logits, target, weight, ignore_index, label_smoothing, reduction)
    losses, grad = _passes(inputs, _losses, _checked_gradient)
    return _reduced(inputs, losses, reduction), _scaled(inputs, grad, reduction)


def _passes(inputs, *outputs):
    return outputs_by_rows(lambda z, t: _ce_terms(inputs, z, t), outputs, *_rows(inputs))


def _checked_gradient(terms):
    _raise_if_masked(*_masked_coefficients(terms), "cross_entropy")
    return _logit_gradient(terms)


def _reduced(inputs, losses, reduction):
    return reduce(losses.reshape(inputs.z.shape[:-1]), reduction, inputs.denominator)


def _scaled(inputs, grad, reduction):
    grad *= reduce_scale(inputs.z.shape[:-1], reduction, inputs.denominator)
    return grad.reshape(inputs.z.shape)


def _rows(inputs) -> tuple[np.ndarray, np.ndarray]:
    """The logits as rows (N, C) and the targets row by row (N,) or (N, C): views, no copies."""
    z = as_rows(inputs.z)
    return z, inputs.target.reshape(z.shape[0], -1) if inputs.probabilities else inputs.target.reshape(-1)


def _cross_entropy_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        z, mask = cases.draw_logits(draw, extreme)
        n_classes = z.shape[-1]
        # class weights: positive, or of either sign (PyTorch accepts negative ones), magnitudes in [0.1, 3]
        weight = draw(st.none() | hnp.arrays(np.float64, (n_classes,), elements=st.floats(0.1, 3.0))
                      | hnp.arrays(np.float64, (n_classes,), elements=cases.signed_floats(0.1, 3.0)))
        # Smoothing puts mass on every class, so it is drawn only without masks (else the loss is +inf).
        eps = 0.0 if mask.any() else draw(st.sampled_from([0.0, 0.1, 1.0]) | st.floats(0.0, 1.0))
        case = {"logits": z, "weight": weight, "label_smoothing": eps,
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}
        if draw(st.booleans()):
            # probability targets: normalised, or any real array (unnormalised rows, negative entries)
            real = draw(st.booleans())
            return {**case, "target": (cases.draw_real_targets if real else cases.draw_probabilities)(draw, mask)}
        y = cases.draw_class_targets(draw, mask)
        ignore_index = draw(st.sampled_from([-100, -1]) | st.integers(0, n_classes - 1))
        if ignore_index < 0:
            drop = draw(hnp.arrays(np.bool_, y.shape))
            if drop.all():  # keep one target: the all-ignored mean is NaN, tested on its own
                drop.flat[0] = False
            y = np.where(drop, ignore_index, y)
        elif (y == ignore_index).all():
            ignore_index = -100
        if weight is not None and case["reduction"] == "mean":
            kept = y != ignore_index
            try:  # signed weights of the kept targets that cancel leave no mean: tested on their own
                weighted_denominator(weight[y[kept]], "mean")
            except v.RefLossError:
                case["weight"] = np.abs(weight)
        return {**case, "target": y, "ignore_index": ignore_index}

    return draw_case()


def _cross_entropy_stress():
    gaps = cases.GAP_ROWS
    soft = _SOFT_TARGETS
    near_zero = np.array([[0.0078, 0.0, 0.0], [1e-3, -2e-3, 5e-4], [3.0, 1e-3, -1e-3], [0.0, 0.0, 0.0]])
    # real targets that are not probabilities (PyTorch accepts them): rows summing to 0.3 and 2.5, negative
    # entries (a row summing to 0, one dominated by a negative entry), a row of zeros
    unnormalised = np.array([[0.1, 0.1, 0.1], [2.0, 0.25, 0.25], [0.0, 0.3, 0.0], [0.5, 1.0, 1.0]])
    signed = np.array([[1.2, -0.3, 0.1], [-0.5, 1.5, 0.0], [1.0, -1.0, 0.0], [-2.0, 0.25, 0.5]])
    with_zeros = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.2, -0.3, 0.5]])
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
        # "mean" over zero total weight: NaN (0/0, PyTorch's), the gradient 0
        "every_target_ignored__mean": {"logits": gaps[:2], "target": np.array([-100, -100]), "reduction": "mean"},
        "zero_total_weight__label_smoothing__mean": {
            "logits": gaps[:3], "target": np.array([0, 1, 0]), "weight": np.array([0.0, 0.0, 3.0]),
            "label_smoothing": 0.1, "reduction": "mean"},
        # real targets that are not probabilities, at the logit gaps (p_j sum_{c != j} a_c + a_j expm1(log p_j))
        "real_targets_sums_0.3_and_2.5__none": {"logits": gaps[[0, 3, 4, 6]], "target": unnormalised,
                                                "reduction": "none"},
        "real_targets_negative_entries__none": {"logits": gaps[[1, 2, 4, 5]], "target": signed, "reduction": "none"},
        "real_targets_row_of_zeros__mean": {"logits": gaps[[0, 2, 4, 6]], "target": with_zeros, "reduction": "mean"},
        "real_targets_negative__label_smoothing__sum": {"logits": gaps[[0, 3, 5, 6]], "target": signed,
                                                        "label_smoothing": 0.2, "reduction": "sum"},
        "real_targets_negative__signed_weight__label_smoothing__mean": {
            "logits": gaps[[1, 3, 4, 6]], "target": signed + unnormalised, "weight": np.array([0.5, -1.0, 2.0]),
            "label_smoothing": 0.1, "reduction": "mean"},
        # zero targets on the masked classes, signed ones elsewhere: the loss stays finite
        "real_targets_negative_masked__none": {
            "logits": cases.MASKED_ROWS, "target": np.array([[-0.5, 0.0, 1.2], [0.0, -1.0, 0.0], [1.5, 0.0, -0.5]]),
            "reduction": "none"},
        # log p of the far classes beyond the float64 range: the terms are +-inf in float64 while the loss is finite
        "real_targets_beyond_float64_range__none": {
            "logits": np.array([[1.7e308, -1.7e308, 0.0], [1.7e308, -1.7e308, -1.7e308], [1e300, -1e300, 5e-324]]),
            "target": np.array([[0.5, 0.1, 0.3], [0.0, 0.5, -0.25], [-1.0, 0.25, 2.0]]), "reduction": "none"},
        # signed class weights: "mean" divides by W = sum_n m_n w_{y_n} (3 here; -0.25 below)
        "signed_weight__mean": {"logits": gaps[:5], "target": np.array([0, 1, 2, 1, 0]),
                                "weight": np.array([1.0, -0.5, 2.0]), "reduction": "mean"},
        "signed_weight__ignore_index__label_smoothing__mean": {
            "logits": gaps[:4], "target": np.array([0, 1, -100, 2]), "weight": np.array([1.5, -2.0, 0.25]),
            "label_smoothing": 0.1, "reduction": "mean"},
        "signed_weight_masked__none": {"logits": cases.MASKED_ROWS, "target": np.array([2, 1, 0]),
                                       "weight": np.array([-1.0, 0.5, -2.0]), "reduction": "none"},
    }
