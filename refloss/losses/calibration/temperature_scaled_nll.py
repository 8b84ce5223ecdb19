"""``temperature_scaled_nll``: temperature scaling's objective, the NLL of softmax(z / T); value, closed-form gradients
w.r.t. the logits and the temperature, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._fuzz import EXTREME_ROWS, EXTREME_TARGETS, MEAN_ROWS
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Param, gradient_of, register
from ...numerics import logits_from_max
from ..classification._common import _ce_inputs, _ce_terms, _logit_gradient, _losses
from ._common import GUO, REDUCTION

TEMPERATURE = v.Interval(0.0, lo_open=True)


class TemperatureScaledNLLGrad(NamedTuple):
    """The gradients of :func:`temperature_scaled_nll`: w.r.t. the logits (their shape) and the temperature (a
    float)."""

    logits: np.ndarray
    temperature: float


@register(
    name="temperature_scaled_nll",
    family="calibration",
    wrt=("logits", "temperature"),
    params=(
        Param("logits", v.LOGITS),
        Param("target", v.CLASS_TARGETS),
        Param("temperature", TEMPERATURE, "T > 0, one scalar for the whole batch (a float, a NumPy scalar or a 0-d "
                                          "array or tensor): the logits are divided by it"),
        REDUCTION,
    ),
    paper=GUO,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    shift_invariant=("logits",),
    overflow="a target class more than 1.8e308 T below its row's maximum: its loss (and the temperature's gradient) "
             "exceeds the float64 range and is +inf (-inf), correctly rounded",
)
def temperature_scaled_nll(logits: ArrayLike, target: ArrayLike, temperature: float, *, reduction: str = "mean"):
    r"""The negative log-likelihood of :math:`\mathrm{softmax}(z / T)` at integer labels: temperature scaling's
    objective, minimised over :math:`T` on held-out data (Guo et al. 2017, Sec. 4.2).

    .. math:: \ell_n = -\log \mathrm{softmax}(z_n / T)_{y_n} = \mathrm{LSE}(z_n / T) - z_{n,y_n} / T .

    It is :func:`refloss.cross_entropy` at the logits :math:`z / T` (no weights, smoothing or ``ignore_index``),
    evaluated by cross-entropy's own terms. ``"mean"`` divides by the number of rows. Gradients (both, in one
    :class:`TemperatureScaledNLLGrad`): :func:`temperature_scaled_nll_grad`.

    Conventions: the class axis is last; ``temperature`` is one positive scalar (a per-sample temperature is
    the caller's: divide the logits by it and use :func:`refloss.cross_entropy`). A masked class (``-inf``) stays
    masked at every :math:`T`; a masked target gives ``+inf`` and a gradient that raises. One class: the loss is 0.
    Where :math:`z/T` would overflow (:math:`T < 1`, logits near the float64 limit) the row is first shifted by
    its maximum, which the loss does not see; a target more than :math:`1.8 \cdot 10^{308}\,T` below the maximum
    has a loss beyond the float64 range, returned as ``+inf`` (its gradients stay finite).

    Args:
        logits: float array ``(..., C)``.
        target: class indices ``(...)``, each in ``[0, C)``.
        temperature: :math:`T > 0`.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Returns:
        float for ``"mean"``/``"sum"``, else an array of shape ``logits.shape[:-1]``.

    >>> round(temperature_scaled_nll([[2.0, 0.0]], [0], 2.0), 15)  # log(1 + e^-1)
    0.313261687518223
    >>> import refloss
    >>> temperature_scaled_nll([[2.0, 0.0]], [0], 1.0) == refloss.cross_entropy([[2.0, 0.0]], [0])
    True

    Reference: Guo et al. (2017), Sec. 4.2 (temperature scaling); the NLL is PyTorch's ``F.cross_entropy`` of
    ``logits / T``.
    """
    z, y, t = _inputs(logits, target, temperature, reduction)
    losses = _losses(_terms(z, y, t))
    return reduce(losses.reshape(y.shape), reduction)


@gradient_of("temperature_scaled_nll")
def temperature_scaled_nll_grad(logits: ArrayLike, target: ArrayLike, temperature: float, *,
                                reduction: str = "mean") -> TemperatureScaledNLLGrad:
    r"""Gradients of :func:`temperature_scaled_nll` w.r.t. the logits and the temperature, same signature.

    With :math:`u = z / T` and :math:`p = \mathrm{softmax}(u)`,

    .. math:: \frac{\partial \ell}{\partial z_j} = \frac{p_j - \delta_{j y}}{T}, \qquad
              \frac{\partial \ell}{\partial T} = \frac{z_y - \sum_k p_k z_k}{T^2}
              = \frac{1}{T} \sum_{k \ne y} p_k\,(u_y - u_k),

    times :math:`1/N` for ``"mean"``; ``"none"`` gives those of the sum. The logits' gradient is cross-entropy's at
    :math:`u` over :math:`T` (:math:`p_y - 1 = \mathrm{expm1}(\log p_y)`), and the temperature's is evaluated in the
    last form, from differences of the scaled logits (no :math:`z_y - \mathbb{E}_p[z]` of two large numbers): with
    the target on the largest logit every term is non-negative. :math:`\ell` is convex in :math:`1/T`.

    Raises:
        RefLossError: as :func:`temperature_scaled_nll`, and where a target class is masked (an infinite loss).

    >>> g = temperature_scaled_nll_grad([[2.0, 0.0]], [0], 2.0)
    >>> g.logits  # (p - e_y) / 2, p = softmax([1, 0])
    array([[-0.13447071,  0.13447071]])
    >>> round(g.temperature, 15)  # (z_y - p_0 z_0 - p_1 z_1) / T^2 = 2 p_1 / 4: a flatter softmax costs more
    0.134470710684998
    """
    z, y, t = _inputs(logits, target, temperature, reduction)
    masked = np.isneginf(np.take_along_axis(z, y[..., None], axis=-1))
    if masked.any():
        raise v.RefLossError("temperature_scaled_nll: a target class is masked (logit -inf), so the loss is +inf and "
                             "has no gradient")
    terms = _terms(z, y, t)
    scale = reduce_scale(y.shape, reduction)
    grad_logits = _logit_gradient(terms).reshape(z.shape) * (scale / t)
    u = terms.logits  # the scaled logits z / T (rows: N, C)
    p = terms.exp_shifted / terms.total
    u_y = np.take_along_axis(u, terms.y[..., None], axis=-1)
    with np.errstate(over="ignore", invalid="ignore"):  # differences beyond the range: p_k = 0 there, or -inf
        per_class = np.where(p > 0, p * (u_y - u), 0.0)
        per_row = per_class.sum(axis=-1) / t
    # the rows' sum (the gradient of "none" is that of the sum), or their mean: reduce's rules, a sum that overflows
    # included; a mean over no row has the gradient 0
    grad_t = 0.0 if per_row.size == 0 else reduce(per_row, "sum" if reduction == "none" else reduction)
    return TemperatureScaledNLLGrad(grad_logits, float(grad_t))


def _inputs(logits, target, temperature, reduction) -> tuple[np.ndarray, np.ndarray, float]:
    z = v.logits(logits)
    y = v.class_targets(target, z.shape, None)
    t = v.scalar(temperature, TEMPERATURE, "temperature")
    check_reduction(reduction)
    return z, y, t


def _scaled(z: np.ndarray, t: float) -> np.ndarray:
    """z / T. Where a quotient overflows (T < 1, logits near the float64 limit) its row is shifted by its maximum
    first, (z - m) / T: the maximum becomes 0 and the others move by what the loss does not see; a difference
    beyond the float64 range is then -inf, whose exact value (below -1.8e308) makes its probability 0 in float64
    (a target there: a loss beyond the range)."""
    with np.errstate(over="ignore"):
        u = z / t
        wide = np.isposinf(u).any(axis=-1)
        if wide.any():
            u[wide] = logits_from_max(z[wide]) / t
    return u


def _terms(z: np.ndarray, y: np.ndarray, t: float):
    """Cross-entropy's terms (:mod:`refloss.losses.classification`) at the scaled logits, as rows (N, C)."""
    u = _scaled(z, t).reshape(-1, z.shape[-1])
    inputs = _ce_inputs(u, y.reshape(-1), None, -100, 0.0, "sum")
    return _ce_terms(inputs, inputs.z, inputs.target)


# -- inputs for the checks ------------------------------------------------------------------------------------


def _as_array(case: dict) -> dict:
    """The temperature as a 0-d array: the oracle differentiates array inputs (a Python float would be a constant)."""
    return {**case, "temperature": np.array(float(case["temperature"]))}


def _draws(extreme: bool):
    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        z, mask = cases.draw_logits(drawn, extreme)
        # T >= 0.5: the finite-difference check steps the temperature by 1e-3 (absolute below 1), too far for the
        # curvature of z / T at a smaller T, which the stress points cover
        temperature = drawn(st.sampled_from([1.0, 0.5, 4.0]) | st.floats(0.5, 20.0))
        return {"logits": z, "target": cases.draw_class_targets(drawn, mask), "temperature": np.array(temperature),
                "reduction": drawn(st.sampled_from(cases.REDUCTIONS))}

    return draw()


def _stress() -> dict:
    # effective logits z / T are the gap, tie, mask and dominant rows: the gaps of 15 to 80 are the ones the loss sees
    out = cases.softmax_stress(through=lambda rows, target, temperature: rows * temperature,
                               temperature=(4.0, 1.0, 0.05, 1000.0))
    out["defaults"]["temperature"] = 1.5
    gaps = cases.GAP_ROWS
    out.update({
        # T not a power of two, logits not multiples of it: z / T is rounded
        "temperature_0.3__none": {"logits": gaps[:4] * 0.7, "target": np.array([0, 1, 2, 1]), "temperature": 0.3,
                                  "reduction": "none"},
        # large logits, small T: scaled gaps of 100 and 1e-3 between logits of 1e4
        "large_logits_small_temperature__none": {
            "logits": np.array([[1e4, 1e4 - 1.0, 0.0], [1e4, 1e4 - 1e-5, 1e4 - 2e-5]]), "target": np.array([1, 2]),
            "temperature": 0.01, "reduction": "none"},
        # the temperature's gradient with the target below the maximum: terms of both signs
        "target_in_the_middle__sum": {"logits": np.array([[3.0, 1.0, -2.0, 0.5], [0.1, 0.2, 0.3, 0.4]]),
                                      "target": np.array([1, 2]), "temperature": 0.7, "reduction": "sum"},
        # near T -> 0 and T -> infinity at moderate logits: a one-hot and a uniform softmax
        "tiny_temperature__none": {"logits": np.array([[1.0, 0.5, -1.0], [0.25, 0.5, 0.0]]),
                                   "target": np.array([0, 0]), "temperature": 1e-3, "reduction": "none"},
        "huge_temperature__mean": {"logits": np.array([[1.0, 0.5, -1.0], [0.25, 0.5, 0.0]]),
                                   "target": np.array([0, 2]), "temperature": 1e6, "reduction": "mean"},
    })
    return {k: _as_array(c) for k, c in out.items()}


def _extreme() -> dict:
    base = {"logits": EXTREME_ROWS, "target": EXTREME_TARGETS, "reduction": "none"}
    scaled = np.array([[3.0, 0.0, -1.0], [0.5, 2.0, -4.0]])
    out = {
        "extreme_finite": {**base, "temperature": 1.0},
        "extreme_finite__temperature_4": {**base, "temperature": 4.0},
        # z / T overflows: the rows are shifted by their maximum first
        "extreme_finite__temperature_0.25": {**base, "temperature": 0.25},
        "mean_whose_sum_overflows": {"logits": MEAN_ROWS, "target": np.ones(len(MEAN_ROWS), dtype=np.int64),
                                     "temperature": 1.0, "reduction": "mean"},
        "temperature_1e-300": {"logits": scaled * 1e-300, "target": np.array([1, 0]), "temperature": 1e-300,
                               "reduction": "none"},
        "temperature_1e300": {"logits": scaled * 1e300, "target": np.array([1, 0]), "temperature": 1e300,
                              "reduction": "none"},
        "temperature_subnormal": {"logits": np.array([[1.5e-323, 0.0, -5e-324]]), "target": np.array([1]),
                                  "temperature": 5e-324, "reduction": "sum"},
        "masked_target": {"logits": np.array([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf]]), "target": np.array([1, 0]),
                          "temperature": 2.0, "reduction": "none"},
    }
    for r in ("none", "sum", "mean"):
        out[f"empty_batch__{r}"] = {"logits": np.zeros((0, 3)), "target": np.zeros(0, dtype=np.int64),
                                    "temperature": 2.0, "reduction": r}
    return {k: _as_array(c) for k, c in out.items()}
