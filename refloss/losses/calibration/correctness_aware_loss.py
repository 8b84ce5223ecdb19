"""``correctness_aware_loss``: the class-balanced squared gap between confidence and correctness (the CA loss of Liu
et al., as its official code computes it); value, closed-form gradient, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Param, gradient_of, register
from ...numerics import softmax_parts
from ._common import LIU, REDUCTION

#: The logits without the class-axis options (``axis=``, ``where=``): the weights couple every row of the batch.
_LOGITS = v.ArrayArg("float logits (..., C), class axis last; -inf masks a class", "logits")


@register(
    name="correctness_aware_loss",
    family="calibration",
    wrt=("logits",),
    params=(Param("logits", _LOGITS), Param("target", v.CLASS_TARGETS), REDUCTION),
    paper=LIU,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    shift_invariant=("logits",),
)
def correctness_aware_loss(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""The correctness-aware (CA) calibration loss: the squared gap between each sample's confidence and whether its
    prediction is correct, with the correct and the wrong samples weighted to equal total weight.

    Over the batch (every batch axis flattened, :math:`n` samples), with :math:`\hat p_i = \max_k p_{ik}`,
    :math:`p_i = \mathrm{softmax}(z_i)`, :math:`c_i = [\hat y_i = y_i]` and the batch accuracy
    :math:`a = \frac1n \sum_i c_i`,

    .. math:: L = \frac{\sum_i \omega_i (\hat p_i - c_i)^2}{\sum_i \omega_i}, \qquad
              \omega_i = \begin{cases} 1 - a & c_i = 1 \\ a & c_i = 0 \end{cases}, \qquad
              \sum_i \omega_i = \frac{2\, n_{\mathrm{correct}}\, n_{\mathrm{wrong}}}{n}.

    This is what the authors' code computes (``Temperature_adaptive.set_temperature``: ``MSELoss(reduction='none')``
    between the max-softmax and the correctness, times those weights, summed over the weights' sum). **Not confirmed
    against the paper's text**, which was not available to us: the paper may write the loss differently (its
    abstract only says the objective lowers confidence on wrong and raises it on correct predictions; a BCE form is
    left commented out in the same code).

    Conventions: ``logits`` are the *calibrated* logits, e.g. :math:`z_i / T_i` with a per-sample temperature from a
    calibrator (the code's ``T_i = clamp(g(features), 0.1, 10)``); a positive temperature does not move the
    argmax, so :math:`c_i` is the same as the uncalibrated model's, as in the code. For the temperatures' gradient
    use the chain rule, :math:`\partial L / \partial T_i = -\sum_j g_{ij} z_{ij} / T_i^2` with :math:`g` this
    function's gradient at :math:`z / T`. The predicted class :math:`\hat y_i` is the first maximal logit (NumPy's
    ``argmax``, PyTorch's ``max``). The weights depend on the batch: ``"mean"`` is the loss above, ``"sum"`` its
    numerator :math:`\sum_i \omega_i (\hat p_i - c_i)^2`, ``"none"`` the numerator's terms. When every prediction
    is correct, or every one wrong, :math:`\sum_i \omega_i = 0` and ``"mean"`` is 0/0 = ``nan`` with a
    :class:`~refloss.RefLossWarning` (PyTorch's code gives ``nan`` too), its gradient 0. A masked class (``-inf``)
    has probability 0; a target on it is simply a wrong prediction (the loss stays finite). One class: every
    prediction is correct. No ``axis=`` or ``where=`` (unlike the per-row losses): the weights couple every row of
    the batch, so a row or a class left out changes the others' terms; pass the rows and classes to keep, the class
    axis last.

    Args:
        logits: float array ``(..., C)``.
        target: class indices ``(...)``, each in ``[0, C)``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        float for ``"mean"``/``"sum"``, else an array of shape ``logits.shape[:-1]``.

    >>> logits = [[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]]  # predictions 0, 1, 0
    >>> round(correctness_aware_loss(logits, [0, 0, 0]), 15)  # a = 2/3: weights 1/3, 2/3, 1/3 over 4/3
    0.288858028881043

    Reference: Liu et al. (2024), arXiv:2404.13016; the official code (``src/cal_metrics/temperature_scaling_CA.py``).
    """
    parts = _parts(logits, target, reduction)
    return reduce(parts.terms.reshape(parts.batch), reduction, parts.denominator)


@gradient_of("correctness_aware_loss")
def correctness_aware_loss_grad(logits: ArrayLike, target: ArrayLike, *, reduction: str = "mean"):
    r"""Gradient of :func:`correctness_aware_loss` with respect to ``logits``, same signature.

    The weights and the correctness are piecewise constant in the logits, so only the confidence moves:
    :math:`\partial \hat p_i / \partial z_{ij} = \hat p_i (\delta_{j \hat y_i} - p_{ij})` and

    .. math:: \frac{\partial L}{\partial z_{ij}} = \frac{2\,\omega_i (\hat p_i - c_i)\,\hat p_i
              (\delta_{j \hat y_i} - p_{ij})}{\sum_k \omega_k},

    with :math:`1 - \hat p_i = -\mathrm{expm1}(\log \hat p_i)` and :math:`\hat p_i - 1` likewise (never by
    subtraction: at a logit gap of 40 they are :math:`4 \cdot 10^{-18}`). ``"sum"`` and ``"none"`` drop the
    denominator. At a tie of the largest logits the loss is not differentiable (the maximum has a kink and the
    correctness may jump); there the gradient returned is that of the piece through the first maximal class, the
    one PyTorch's autograd through ``max`` returns.

    >>> correctness_aware_loss_grad([[2.0, 0.0], [0.0, 1.0]], [0, 0], reduction="sum")  # a = 1/2
    array([[-0.01251554,  0.01251554],
           [-0.14373484,  0.14373484]])
    """
    parts = _parts(logits, target, reduction)
    n_rows = parts.conf_gap.size
    factor = 2.0 * parts.omega * parts.conf_gap * parts.conf  # 2 w (p_hat - c) p_hat
    grad = -factor[:, None] * parts.p  # -2 w (p_hat - c) p_hat p_j off the predicted class
    on_top = -factor * np.expm1(parts.log_conf)  # 2 w (p_hat - c) p_hat (1 - p_hat)
    grad[np.arange(n_rows), parts.predicted] = on_top
    grad *= reduce_scale(parts.batch, reduction, parts.denominator)
    return grad.reshape(parts.shape)


class _Parts(NamedTuple):
    shape: tuple  # the logits'
    batch: tuple
    p: np.ndarray  # (N, C)
    predicted: np.ndarray  # (N,) first maximal class
    log_conf: np.ndarray  # (N,) log p_hat
    conf: np.ndarray  # (N,) p_hat
    conf_gap: np.ndarray  # (N,) p_hat - c, accurate: expm1(log p_hat) where correct
    omega: np.ndarray  # (N,)
    terms: np.ndarray  # (N,) omega (p_hat - c)^2
    denominator: float  # sum omega = 2 n_correct n_wrong / n


def _parts(logits, target, reduction) -> _Parts:
    z = v.logits(logits)
    y = v.class_targets(target, z.shape, None)
    check_reduction(reduction)
    rows, labels = z.reshape(-1, z.shape[-1]), y.reshape(-1)
    _, exp_shifted, log_total, total = softmax_parts(rows)
    predicted = np.argmax(rows, axis=-1)  # the class softmax_parts shifted to 0: log p_hat = -log S
    correct = predicted == labels
    n = rows.shape[0]
    n_correct = int(np.count_nonzero(correct))
    n_wrong = n - n_correct
    # 1 - a = n_wrong / n on correct samples, a = n_correct / n on wrong ones: each rounded once
    omega = np.where(correct, n_wrong / n, n_correct / n) if n else np.zeros(0)
    log_conf = -log_total[:, 0]
    conf = np.exp(log_conf)
    conf_gap = np.where(correct, np.expm1(log_conf), conf)
    return _Parts(z.shape, y.shape, exp_shifted / total, predicted, log_conf, conf, conf_gap, omega,
                  omega * conf_gap**2, 2.0 * n_correct * n_wrong / n if n else 0.0)


# -- inputs for the checks ------------------------------------------------------------------------------------


def _draws(extreme: bool):
    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        z, mask = cases.draw_logits(drawn, extreme)
        if not extreme:  # logits at least 0.25 apart: the finite differences (steps up to 0.04) move no argmax
            z = _spread(z, 0.25)
        target = cases.draw_class_targets(drawn, mask)
        reduction = drawn(st.sampled_from(cases.REDUCTIONS))
        correct = np.argmax(z, axis=-1) == target
        if reduction == "mean" and (correct.all() or not correct.any()):
            reduction = "sum"  # no weight: the documented nan of "mean", a stress point of its own
        return {"logits": z, "target": target, "reduction": reduction}

    return draw()


def _spread(z: np.ndarray, gap: float) -> np.ndarray:
    """Each row's finite logits moved up, in their order (ties by index), to be at least ``gap`` apart."""
    out = np.array(z, dtype=np.float64)
    rows = out.reshape(-1, out.shape[-1])
    for row in rows:
        finite = np.flatnonzero(np.isfinite(row))
        order = finite[np.argsort(row[finite], kind="stable")]
        for before, after in zip(order[:-1], order[1:]):
            row[after] = max(row[after], row[before] + gap)
    return rows.reshape(out.shape)


def _stress() -> dict:
    gaps, ties, masked, dominant = cases.GAP_ROWS, cases.TIE_ROWS, cases.MASKED_ROWS, cases.DOMINANT_ROWS
    mixed = np.array([0, 1, 0, 2, 0, 1, 0])  # the gap rows predict class 0: four correct, three wrong
    return {
        "gaps__mixed__none": {"logits": gaps, "target": mixed, "reduction": "none"},
        "gaps__mixed__mean": {"logits": gaps, "target": mixed, "reduction": "mean"},
        "gaps__mixed__sum": {"logits": gaps, "target": mixed, "reduction": "sum"},
        "defaults": {"logits": np.vstack([gaps[:3], ties[:2]]), "target": np.array([0, 1, 0, 0, 2])},
        # ties of the largest logits: the first maximal class is predicted (and its piece differentiated)
        "ties__mixed__none": {"logits": ties, "target": np.array([0, 1, 2, 1]), "reduction": "none"},
        "masked__mixed__mean": {"logits": masked, "target": np.array([2, 0, 0]), "reduction": "mean"},
        "dominant__mixed__none": {"logits": dominant, "target": np.array([1, 0, 2]), "reduction": "none"},
        # confident and right (p_hat - 1 = -e^-40), confident and wrong, barely right and barely wrong
        "near_certain__mean": {"logits": np.array([[40.0, 0.0, 0.0], [0.0, 40.0, 0.0], [1e-9, 0.0, 0.0],
                                                   [0.0, 1e-9, 0.0]]),
                               "target": np.array([0, 0, 0, 0]), "reduction": "mean"},
        "every_prediction_correct__mean": {"logits": gaps[:3], "target": np.array([0, 0, 0]), "reduction": "mean"},
        "every_prediction_wrong__mean": {"logits": gaps[:3], "target": np.array([1, 2, 1]), "reduction": "mean"},
        "one_class__sum": {"logits": np.array([[3.0], [-700.0]]), "target": np.array([0, 0]), "reduction": "sum"},
        "batch_axes__mean": {"logits": np.vstack([gaps[:4], dominant[:2]]).reshape(2, 3, 3),
                             "target": np.array([[0, 1, 0], [0, 1, 0]]), "reduction": "mean"},
    }
