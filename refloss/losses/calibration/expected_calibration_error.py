"""``expected_calibration_error``: the binned calibration error (ECE, RMSCE, MCE) of probabilities, top-label or
classwise, over equal-width or equal-mass bins; value and registration (no gradient)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._reduce import reduce
from ..._registry import Param, register
from ._common import (
    BINNINGS,
    GUO,
    KINDS,
    N_BINS,
    NORMS,
    PROBS,
    calibration_error,
    mass_bins,
    probabilities,
    width_bins,
)


@register(
    name="expected_calibration_error",
    family="calibration",
    params=(
        Param("probs", PROBS),
        Param("target", v.CLASS_TARGETS),
        Param("n_bins", N_BINS, "M, the number of bins"),
        Param("binning", BINNINGS, "'width': bins ((m-1)/M, m/M]; 'mass': equal numbers of samples"),
        Param("kind", KINDS, "'top_label': the confidence of the predicted class; 'classwise': every class's "
                             "one-vs-rest problem, averaged"),
        Param("norm", NORMS, "'l1' (ECE), 'l2' (RMS calibration error), 'max' (MCE)"),
    ),
    paper=GUO,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    no_gradient="a function of bin memberships: piecewise in the probabilities, and its derivative where it has one "
                "(inside the bins) is not what a calibration method trains on",
)
def expected_calibration_error(probs: ArrayLike, target: ArrayLike, *, n_bins: int = 15, binning: str = "width",
                               kind: str = "top_label", norm: str = "l1") -> float:
    r"""The expected calibration error of predicted probabilities: the gap between confidence and accuracy, binned.

    With :math:`n` samples (every batch axis flattened) and bins :math:`B_1, \dots, B_M` of their confidences,
    :math:`\mathrm{acc}_m` the fraction correct and :math:`\mathrm{conf}_m` the mean confidence in :math:`B_m`:

    .. math:: \mathrm{ECE} = \sum_{m=1}^{M} \frac{|B_m|}{n}\,\big|\mathrm{acc}_m - \mathrm{conf}_m\big|
              \ (\texttt{"l1"}),\qquad
              \sqrt{\sum_m \frac{|B_m|}{n} (\mathrm{acc}_m - \mathrm{conf}_m)^2}\ (\texttt{"l2"}),\qquad
              \max_{B_m \ne \emptyset} \big|\mathrm{acc}_m - \mathrm{conf}_m\big|\ (\texttt{"max"}, \text{MCE}).

    * ``kind="top_label"`` (Guo et al. 2017): the confidence is :math:`\max_k p_k` and a sample is correct when its
      predicted class, the **first** maximal one (NumPy's and PyTorch's ``argmax``), is its target.
    * ``kind="classwise"`` (Kull et al. 2019's classwise-ECE): for each class :math:`k`, the confidences
      :math:`p_{ik}` and the outcomes :math:`[y_i = k]`, binned on their own; the result is the mean over the
      :math:`C` classes of the chosen norm.

    **Bins.** ``binning="width"``: bin :math:`m` holds the confidences in :math:`((m-1)/M,\ m/M]` for the **exact**
    rational :math:`m/M`, and 0 is in the first bin (Guo et al.'s intervals). A confidence is never moved across
    an edge by a rounding: 0.1 in float64 is above 1/10, so with :math:`M = 10` it lies in the second bin, while
    0.5 and 0.25 are exact and close their bins. ``binning="mass"`` (our convention, because peers interpolate
    quantiles or split ranks in ways that depend on the order of tied samples): with the :math:`n` confidences
    sorted, bin :math:`m`'s upper edge is the :math:`\lceil m n / M \rceil`-th smallest and each confidence goes to
    the first bin whose upper edge is at least it. Without ties the bins hold :math:`\lceil mn/M\rceil -
    \lceil (m-1)n/M \rceil` samples each; tied confidences always share a bin (a tie across a boundary joins the
    lower bin and may leave the next one empty), so the value does not depend on the order of the samples.
    Empty bins contribute nothing (and are skipped by ``"max"``).

    Input: **probabilities**, not logits, so that the confidences whose bins are decided are the inputs
    themselves (a softmax computed here would round, and move a confidence across an edge). Entries must lie in
    :math:`[0, 1]`; rows need not sum to 1. Each bin's :math:`\sum (c_i - \hat p_i)` is summed exactly
    (``math.fsum``), so the result is accurate to a few ulps of its condition scale. An empty batch gives
    ``nan`` with a :class:`~refloss.RefLossWarning` (a mean over no sample). No gradient: the value is piecewise in
    the probabilities (``no_gradient`` in the registry).

    Args:
        probs: probabilities ``(..., C)`` in ``[0, 1]``.
        target: class indices ``(...)``, each in ``[0, C)``.
        n_bins: :math:`M \ge 1` (default 15, Guo et al.'s).
        binning: ``"width"`` (default) or ``"mass"``.
        kind: ``"top_label"`` (default) or ``"classwise"``.
        norm: ``"l1"`` (default), ``"l2"`` or ``"max"``.

    Returns:
        float.

    >>> probs = [[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.5, 0.5]]
    >>> expected_calibration_error(probs, [0, 1, 1, 0], n_bins=2)  # bins [0, 1/2]: one sample; (1/2, 1]: three
    0.175
    >>> expected_calibration_error(probs, [0, 1, 1, 0], n_bins=2, norm="max")  # |1 - 0.5| in the first bin
    0.5

    The first: the tie [0.5, 0.5] predicts class 0 (correct) at confidence 0.5, which closes the first bin:
    :math:`|1 - 0.5| / 4 = 0.125`; the other three have mean confidence 2.2/3 and accuracy 2/3:
    :math:`3\,|2/3 - 2.2/3| / 4 = 0.05`.

    References: Guo et al. (2017), Sec. 2 (ECE, MCE, the intervals); Kull et al. (2019) (classwise-ECE);
    torchmetrics' ``CalibrationError`` for the ``"l2"`` norm's name (RMSCE, without its debiasing).
    """
    p = probabilities(probs)
    y = v.class_targets(target, p.shape, None)
    m = v.integer_in(n_bins, N_BINS, "n_bins")
    binning = v.choice(binning, BINNINGS, "binning")
    kind = v.choice(kind, KINDS, "kind")
    norm = v.choice(norm, NORMS, "norm")
    rows, y = p.reshape(-1, p.shape[-1]), y.reshape(-1)
    if rows.shape[0] == 0:
        return reduce(np.zeros(0), "mean")  # a mean over no sample: nan, with the warning that says so
    bins_of = width_bins if binning == "width" else mass_bins
    if kind == "top_label":
        predicted = np.argmax(rows, axis=-1)
        conf = rows[np.arange(rows.shape[0]), predicted]
        return calibration_error(conf, predicted == y, bins_of(conf, m), m, norm)
    per_class = [calibration_error(rows[:, k], y == k, bins_of(rows[:, k], m), m, norm) for k in range(rows.shape[1])]
    return math.fsum(per_class) / len(per_class)


# -- inputs for the checks ------------------------------------------------------------------------------------

#: Confidences on and next to edges: 1/2, 1/4, 3/4 are exact; 0.1, 0.3 and linspace's 0.30000000000000004 are not;
#: one ulp either side of 1/2; 0, 1 and the smallest subnormal.
EDGE_VALUES = (0.0, 0.1, 0.25, 0.3, 0.30000000000000004, 1 / 3, 0.5, 0.7, 0.75, 1.0, 0.49999999999999994,
               0.5000000000000001, 5e-324)


def _draws(extreme: bool):
    st, hnp = cases.hyp()

    @st.composite
    def draw(drawn):
        n = drawn(st.integers(1, 4 * cases.LIMITS["max_side"]))
        c = drawn(st.integers(1, cases.LIMITS["max_classes"]))
        element = st.sampled_from(EDGE_VALUES) | st.floats(0.0, 1.0)
        probs = drawn(hnp.arrays(np.float64, (n, c), elements=element))
        target = drawn(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
        return {"probs": probs, "target": target, "n_bins": drawn(st.sampled_from([1, 2, 3, 4, 5, 10, 15])),
                "binning": drawn(st.sampled_from(BINNINGS.values)), "kind": drawn(st.sampled_from(KINDS.values)),
                "norm": drawn(st.sampled_from(NORMS.values))}

    return draw()


def _softmax_rows(seed: int, n: int, c: int, spread: float) -> np.ndarray:
    z = np.random.default_rng(seed).normal(scale=spread, size=(n, c))
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _stress() -> dict:
    probs = _softmax_rows(0, 12, 3, 2.0)
    target = np.random.default_rng(1).integers(0, 3, size=12)
    # confidences exactly on the edges of 4 bins (exact rationals) and of 10 bins (linspace's float edges and the
    # correctly rounded m/10, on either side of the exact tenths), with both outcomes
    quarters = np.array([[0.25, 0.75], [0.75, 0.25], [0.5, 0.5], [1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    tenths = np.linspace(0.0, 1.0, 11)
    rounded = np.array([k / 10 for k in range(11)])
    ten = np.unique(np.concatenate([tenths, rounded]))
    on_tenths = np.stack([ten, 1.0 - ten], axis=-1)
    # a tie spanning the boundary of two equal-mass groups, and samples that differ by one ulp
    ties = np.array([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4], [0.7, 0.3], [0.9, 0.1], [0.6, 0.4], [0.8, 0.2]])
    ulps = np.array([[0.5, 0.5], [0.5000000000000001, 0.4999999999999999], [0.5000000000000002, 0.4999999999999998],
                     [0.5, 0.5], [0.9, 0.1]])
    # three classes, the top label on the edges (0.4 to 1 for 10 bins; thirds in float64, on either side of 1/3)
    top = np.array([c for c in ten if c >= 0.4])
    on_tenths_3 = np.stack([top, (1.0 - top) / 2, (1.0 - top) / 2], axis=-1)
    thirds = np.array([[1 / 3, 1 / 3, 1 / 3], [0.3333333333333333, 0.33333333333333337, 0.3333333333333333],
                       [2 / 3, 1 / 6, 1 / 6], [0.6666666666666667, 0.2, 0.1], [1.0, 0.0, 0.0], [0.5, 0.25, 0.25]])
    ties_3 = np.array([[0.6, 0.3, 0.1], [0.1, 0.6, 0.3], [0.3, 0.1, 0.6], [0.7, 0.2, 0.1], [0.1, 0.9, 0.0],
                       [0.6, 0.2, 0.2], [0.2, 0.8, 0.0]])
    one_bin = np.array([[0.62, 0.38], [0.63, 0.37], [0.64, 0.36], [0.65, 0.35], [0.66, 0.34]])
    tied_top = np.array([[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.45, 0.45]])
    out = {
        "defaults": {"probs": probs, "target": target},
        "softmax_rows__l2": {"probs": probs, "target": target, "norm": "l2"},
        "softmax_rows__max": {"probs": probs, "target": target, "norm": "max"},
        "softmax_rows__classwise": {"probs": probs, "target": target, "kind": "classwise"},
        "softmax_rows__classwise__mass__l2": {"probs": probs, "target": target, "kind": "classwise",
                                              "binning": "mass", "norm": "l2", "n_bins": 4},
        "softmax_rows__mass__n_bins_5": {"probs": probs, "target": target, "binning": "mass", "n_bins": 5},
        "softmax_rows__mass__max": {"probs": probs, "target": target, "binning": "mass", "n_bins": 3,
                                    "norm": "max"},
        "edges_exact_quarters__n_bins_4": {"probs": quarters, "target": np.array([0, 1, 0, 1, 1, 1]), "n_bins": 4},
        "edges_exact_quarters__classwise__n_bins_4": {"probs": quarters, "target": np.array([0, 1, 0, 1, 1, 1]),
                                                      "n_bins": 4, "kind": "classwise"},
        "edges_tenths__n_bins_10": {"probs": on_tenths, "target": np.arange(len(ten)) % 2, "n_bins": 10},
        "edges_tenths__classwise__n_bins_10__max": {"probs": on_tenths, "target": np.arange(len(ten)) % 2,
                                                    "n_bins": 10, "kind": "classwise", "norm": "max"},
        "edges_tenths__n_bins_3": {"probs": on_tenths, "target": (np.arange(len(ten)) // 2) % 2, "n_bins": 3},
        "edges_tenths__three_classes__n_bins_10": {"probs": on_tenths_3, "target": np.arange(len(top)) % 3,
                                                   "n_bins": 10},
        "edges_tenths__three_classes__n_bins_5__max": {"probs": on_tenths_3, "target": np.arange(len(top)) % 3,
                                                       "n_bins": 5, "norm": "max"},
        "edges_thirds__n_bins_3": {"probs": thirds, "target": np.array([0, 1, 0, 2, 0, 1]), "n_bins": 3},
        "edges_thirds__n_bins_3__max": {"probs": thirds, "target": np.array([0, 1, 0, 2, 0, 1]), "n_bins": 3,
                                        "norm": "max"},
        "edges_thirds__mass__n_bins_4": {"probs": thirds, "target": np.array([0, 1, 0, 2, 0, 1]), "n_bins": 4,
                                         "binning": "mass"},
        "mass_ties_across_groups__three_classes__n_bins_3": {"probs": ties_3, "target": np.array([0, 1, 1, 0, 2, 2, 1]),
                                                             "binning": "mass", "n_bins": 3},
        # most confidences tied: two equal-mass upper edges coincide, and a bin is left empty
        "mass_most_tied__three_classes__n_bins_3": {
            "probs": np.array([[0.6, 0.3, 0.1]] * 3 + [[0.1, 0.6, 0.3]] * 2 + [[0.05, 0.05, 0.9]]),
            "target": np.array([0, 1, 2, 1, 0, 2]), "binning": "mass", "n_bins": 3},
        "one_ulp_from_one_half__n_bins_2": {"probs": ulps, "target": np.array([0, 1, 0, 0, 0]), "n_bins": 2},
        "all_in_one_bin": {"probs": one_bin, "target": np.array([0, 0, 1, 0, 1])},
        "all_in_one_bin__mass__l2": {"probs": one_bin, "target": np.array([0, 0, 1, 0, 1]), "binning": "mass",
                                     "n_bins": 2, "norm": "l2"},
        "mass_ties_across_groups__n_bins_3": {"probs": ties, "target": np.array([0, 1, 0, 0, 0, 1, 0]),
                                              "binning": "mass", "n_bins": 3},
        "mass_fewer_samples_than_bins": {"probs": ties[:3], "target": np.array([0, 1, 1]), "binning": "mass",
                                         "n_bins": 10},
        "top_label_ties__first_maximal_class": {"probs": tied_top, "target": np.array([0, 2, 0, 1]), "n_bins": 5},
        "one_class": {"probs": np.array([[1.0], [0.25], [0.0]]), "target": np.array([0, 0, 0]), "n_bins": 4},
        "one_sample__n_bins_1": {"probs": np.array([[0.3, 0.7]]), "target": np.array([0]), "n_bins": 1},
        "batch_axes__classwise": {"probs": probs.reshape(3, 4, 3), "target": target.reshape(3, 4),
                                  "kind": "classwise", "norm": "l2", "n_bins": 6},
    }
    return out


def _extreme() -> dict:
    tiny = np.array([[5e-324, 1.0], [1.0, 5e-324], [1e-300, 1.0 - 2.0**-53], [2.0**-53, 1.0]])
    out = {
        "subnormal_and_one__classwise": {"probs": tiny, "target": np.array([1, 0, 0, 1]), "kind": "classwise",
                                         "n_bins": 3},
        "subnormal_and_one__max": {"probs": tiny, "target": np.array([1, 1, 0, 1]), "norm": "max", "n_bins": 7},
        "n_bins_1000__edges_of_1000": {"probs": np.array([[k / 1000, 1 - k / 1000] for k in (1, 3, 7, 500, 999)]),
                                       "target": np.array([0, 1, 0, 0, 1]), "n_bins": 1000, "kind": "classwise"},
        "n_bins_7__sevenths": {"probs": np.array([[k / 7, 1 - k / 7] for k in range(8)]),
                               "target": np.arange(8) % 2, "n_bins": 7, "kind": "classwise"},
        "empty_batch": {"probs": np.zeros((0, 3)), "target": np.zeros(0, dtype=np.int64)},
    }
    return out
