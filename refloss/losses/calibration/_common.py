"""The calibration family's shared parts: the papers, the binning rules of the expected calibration error (refloss's,
and the peers' float edges that ``refloss conform`` maps to), and the calibration error of binned confidences."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ... import _validate as v
from ..._registry import Paper, Param

GUO = Paper("On Calibration of Modern Neural Networks", arxiv="1706.04599",
            where="C. Guo, G. Pleiss, Y. Sun, K. Q. Weinberger, ICML 2017: Sec. 2 (reliability diagrams, bins "
                  "I_m = ((m-1)/M, m/M], ECE and MCE), Sec. 4.2 (temperature scaling: softmax(z/T), T fitted by the "
                  "NLL on the validation set); recalled, not quoted against the text in this project")

KULL = Paper("Beyond temperature scaling: Obtaining well-calibrated multiclass probabilities with Dirichlet "
             "calibration", arxiv="1910.12656",
             where="M. Kull et al., NeurIPS 2019: classwise-ECE, the mean over classes of each class's one-vs-rest "
                   "ECE (recalled, not quoted against the text)")

LIU = Paper("Optimizing Calibration by Gaining Aware of Prediction Correctness", arxiv="2404.13016",
            seed="000_4ce7742a3c1ac78a.txt",
            where="Y. Liu, L. Wang, Y. Zou, J. Zou, L. Zheng: the CA loss as the official code computes it "
                  "(github.com/liuyvchi/Correctness-aware-calibration, src/cal_metrics/temperature_scaling_CA.py, "
                  "Temperature_adaptive.set_temperature); NOT CONFIRMED against the paper's text, which was not "
                  "available (only its abstract)")

REDUCTION = Param("reduction", v.REDUCTIONS, "'mean' | 'sum' | 'none' (the denominator of 'mean' as documented)")

PROBS = v.ArrayArg("probabilities (..., C) in [0, 1], class axis last; rows need not sum to 1 (only confidences are "
                   "read)", "pmf")

BINNINGS = v.Choice(("width", "mass"))
KINDS = v.Choice(("top_label", "classwise"))
NORMS = v.Choice(("l1", "l2", "max"))
N_BINS = v.Integers(1)


def probabilities(x, name: str = "probs") -> np.ndarray:
    """Finite numbers in [0, 1] with at least one axis and one class on the last."""
    arr = v.real_array(x, name)
    if arr.ndim == 0:
        raise v.RefLossError(f"{name} must have at least one axis (the classes, last), got a scalar")
    if arr.shape[-1] == 0:
        raise v.RefLossError(f"{name} has no classes (shape {arr.shape}): there is no prediction to calibrate")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise v.RefLossError(f"{name} entries must lie in [0, 1], got {arr.min()!r} to {arr.max()!r}")
    return arr


# -- bins ------------------------------------------------------------------------------------------------------


def _rounded_up(n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The inner edges m/M (m = 1, ..., M - 1) as float64 (IEEE division: correctly rounded) and whether each lies
    above the exact rational it rounds."""
    m = np.arange(1, n_bins)
    edges = m / n_bins
    up = np.array([Fraction(float(e)) > Fraction(int(k), n_bins) for k, e in zip(m, edges)], dtype=bool)
    return edges, up


def width_bins(conf: np.ndarray, n_bins: int) -> np.ndarray:
    """The 0-based bin of each confidence under refloss's rule: bin m (1-based) holds (m-1)/M < c <= m/M for the
    exact rational m/M, and 0 is in the first bin.

    Exact without rationals per sample: ``e = fl(m/M)`` is the float64 nearest m/M, so no float lies strictly
    between the two; a float below (above) e is then below (above) m/M, and c = e is above m/M exactly when e
    was rounded up. The count of edges below c, plus one where c equals an edge rounded up, is the bin."""
    edges, up = _rounded_up(n_bins)
    index = np.searchsorted(edges, conf, side="left")
    inside = index < edges.size
    on_raised_edge = np.zeros(conf.shape, dtype=bool)
    on_raised_edge[inside] = (conf[inside] == edges[index[inside]]) & up[index[inside]]
    return index + on_raised_edge


def mass_bins(conf: np.ndarray, n_bins: int) -> np.ndarray:
    """The 0-based bin of each confidence under refloss's equal-mass rule: with the confidences sorted,
    :math:`s_{(1)} \\le \\dots \\le s_{(n)}`, bin m's upper edge is :math:`u_m = s_{(\\lceil m n / M \\rceil)}` and a
    confidence goes to the first bin whose upper edge is at least it. Without ties the bins are the rank groups
    of sizes ``ceil(m n / M) - ceil((m - 1) n / M)`` (differing by at most one); equal confidences always share a
    bin, so the value does not depend on the order of the samples (a tie across a group boundary joins the lower
    group, and a bin may then be empty). Fewer samples than bins leave bins empty."""
    n = conf.size
    ranks = (np.arange(1, n_bins + 1) * n + n_bins - 1) // n_bins  # ceil(m n / M), exactly, in integers
    upper = np.sort(conf)[ranks - 1]
    return np.searchsorted(upper, conf, side="left")


def edge_bins(conf: np.ndarray, edges: np.ndarray, *, closed: str) -> np.ndarray:
    """The 0-based bin of each confidence for explicit float edges ``e_0 < ... < e_M`` (a peer's ``linspace``):
    ``closed="left"``: ``[e_m, e_{m+1})`` with ``e_M`` in the last bin (NumPy's ``histogram``); ``"left_open_top"``:
    ``[e_m, e_{m+1})`` with a bin of its own, index M, for c >= e_M (torch's ``bucketize(right=True) - 1``);
    ``"right"``: ``(e_m, e_{m+1}]`` with ``e_0`` in the first bin. For the conformance conventions only."""
    inner = edges[1:-1]
    if closed == "right":
        return np.searchsorted(inner, conf, side="left")
    index = np.searchsorted(inner, conf, side="right")
    if closed == "left":
        return index
    return np.where(conf >= edges[-1], edges.size - 1, index)


# -- the calibration error of binned confidences -------------------------------------------------------------------


def bin_sums(conf: np.ndarray, correct: np.ndarray, bins: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(n_m, S_m) per bin: its count and :math:`S_m = \\sum_{i \\in B_m} (c_i - \\hat p_i)`, each correctly rounded
    (``math.fsum`` of the bin's correct count and its negated confidences: the exact sum, rounded once)."""
    counts = np.bincount(bins, minlength=n_bins)
    order = np.argsort(bins, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    conf_sorted, correct_sorted = conf[order], correct[order]
    sums = np.zeros(counts.size)
    for m in np.flatnonzero(counts):
        block = slice(starts[m], starts[m + 1])
        sums[m] = math.fsum([float(np.count_nonzero(correct_sorted[block]))] + (-conf_sorted[block]).tolist())
    return counts, sums


def calibration_error(conf: np.ndarray, correct: np.ndarray, bins: np.ndarray, n_bins: int, norm: str) -> float:
    r"""The calibration error of one binary problem (confidences ``conf``, outcomes ``correct``) over the given bins:

    * ``"l1"``: :math:`\sum_m \frac{n_m}{n} |\mathrm{acc}_m - \mathrm{conf}_m| = \frac{1}{n} \sum_m |S_m|`;
    * ``"l2"``: :math:`\sqrt{\sum_m \frac{n_m}{n} (\mathrm{acc}_m - \mathrm{conf}_m)^2}
      = \sqrt{\sum_m S_m^2 / (n_m n)}`;
    * ``"max"``: :math:`\max_m |\mathrm{acc}_m - \mathrm{conf}_m| = \max_m |S_m| / n_m` over the non-empty bins.

    Each bin's :math:`S_m` is correctly rounded (:func:`bin_sums`), and every norm then adds non-negative terms."""
    n = conf.size
    counts, sums = bin_sums(conf, correct, bins, n_bins)
    used = counts > 0
    if norm == "l1":
        return math.fsum(np.abs(sums[used]).tolist()) / n
    if norm == "l2":
        return math.sqrt(math.fsum((sums[used] ** 2 / counts[used] / n).tolist()))
    return float(np.max(np.abs(sums[used]) / counts[used]))
