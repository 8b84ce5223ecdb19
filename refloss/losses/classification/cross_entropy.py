"""``cross_entropy``: softmax cross-entropy with PyTorch's semantics; value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import reduce, reduce_scale
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ._common import (
    _PYTORCH_CE,
    _REDUCTION,
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
    inputs = _ce_inputs(logits, target, weight, ignore_index, label_smoothing, reduction)
    (losses,) = _passes(inputs, _losses)
    return _reduced(inputs, losses, reduction)


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
        # "mean" over zero total weight: NaN (0/0, PyTorch's), the gradient 0
        "every_target_ignored__mean": {"logits": gaps[:2], "target": np.array([-100, -100]), "reduction": "mean"},
        "zero_total_weight__label_smoothing__mean": {
            "logits": gaps[:3], "target": np.array([0, 1, 0]), "weight": np.array([0.0, 0.0, 3.0]),
            "label_smoothing": 0.1, "reduction": "mean"},
    }
