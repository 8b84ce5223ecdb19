r"""netcal's ``metrics.ECE`` and ``metrics.MCE``, adapted to refloss's conventions (values only: metrics).

``ECE(bins=M, equal_intervals=...).measure(X, y)`` on the float64 probabilities ``X`` (every batch axis flattened
to ``(N, C)``) and the class indices ``y`` is refloss's :func:`~refloss.expected_calibration_error` with
``kind="top_label"``, ``norm="l1"`` and ``binning="width"`` (``equal_intervals=True``) or ``"mass"`` (``False``);
``MCE(bins=M)`` is ``norm="max"`` with equal widths. netcal's own rules, declared in
:data:`~.conventions.NETCAL_BINS`: the probabilities are clipped to ``[eps, 1 - eps]`` first; the bins are
``numpy.histogramdd``'s ``[lo, hi)`` (the last closed) on ``linspace`` edges, or on ``np.quantile`` edges of the
confidences for equal mass (a different rule from refloss's rank groups, so most equal-mass cases are judged
against refloss's error over netcal's groups).

Not expressible, and skipped: netcal switches to its *binary* mode whenever the labels present take at most two
values (``len(np.unique(y)) <= 2`` in ``_Miscalibration._prepare_input``), whatever the number of classes: it then
raises ``RuntimeError`` for ``C > 2`` and, for ``C = 2``, measures the calibration of ``p_1`` against ``[y = 1]``,
not the top label. So only cases with ``C >= 3`` and three distinct labels or more are judged. An empty batch is
refused by an assertion (``No samples provided``).

A finding, kept in the record: with ``equal_intervals=False`` netcal raises ``ValueError: The smallest edge
difference is numerically 0.`` (from ``scipy.stats.binned_statistic_dd``) whenever two of its quantile edges
coincide, i.e. whenever tied confidences span a quantile level: six samples of top-label confidences
``0.6, 0.6, 0.6, 0.6, 0.6, 0.9`` and three bins suffice (stress point
``mass_most_tied__three_classes__n_bins_3``); saturated confidences (many exactly ``1 - eps`` after its clipping)
do the same. refloss's equal-mass bins keep tied confidences together and leave the emptied bin empty.

netcal pulls PyTorch, Pyro, GPyTorch and TensorBoard as hard dependencies; they install beside the pinned
``conform`` extra without conflict (``pip install netcal==1.4.0``).
"""

from __future__ import annotations

import numpy as np

from ._judge import Output, PeerFunction
from .conventions import NETCAL_BINS

FRAMEWORK = "netcal"


def version() -> str:
    from importlib import metadata

    return metadata.version("netcal")


def _rows(case: dict) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(case["probs"], dtype=np.float64)
    return probs.reshape(-1, probs.shape[-1]), np.asarray(case["target"]).reshape(-1)


def _multiclass(case: dict) -> bool:
    """Top label, C >= 3 and three distinct labels at least (netcal's multiclass mode)."""
    rows, y = _rows(case)
    return case.get("kind", "top_label") == "top_label" and rows.shape[-1] >= 3 and np.unique(y).size >= 3


def _ece_case(case: dict) -> dict | None:
    return case if _multiclass(case) and case.get("norm", "l1") == "l1" and case.get(
        "binning", "width") == "width" else None


def _equal_mass_case(case: dict) -> dict | None:
    return case if _multiclass(case) and case.get("norm", "l1") == "l1" and case.get("binning") == "mass" else None


def _mce_case(case: dict) -> dict | None:
    return case if _multiclass(case) and case.get("norm", "l1") == "max" and case.get(
        "binning", "width") == "width" else None


def _ece(case: dict) -> Output:
    from netcal.metrics import ECE

    rows, y = _rows(case)
    metric = ECE(bins=int(case.get("n_bins", 15)), equal_intervals=case.get("binning", "width") == "width")
    return Output(np.asarray(metric.measure(rows, y), dtype=np.float64))


def _mce(case: dict) -> Output:
    from netcal.metrics import MCE

    rows, y = _rows(case)
    return Output(np.asarray(MCE(bins=int(case.get("n_bins", 15))).measure(rows, y), dtype=np.float64))


def functions() -> list[PeerFunction]:
    return [PeerFunction(FRAMEWORK, "netcal.metrics.ECE", "expected_calibration_error", _ece, prepare=_ece_case,
                         conventions=(NETCAL_BINS,)),
            PeerFunction(FRAMEWORK, "netcal.metrics.ECE (equal_intervals=False)", "expected_calibration_error", _ece,
                         prepare=_equal_mass_case, conventions=(NETCAL_BINS,)),
            PeerFunction(FRAMEWORK, "netcal.metrics.MCE", "expected_calibration_error", _mce, prepare=_mce_case,
                         conventions=(NETCAL_BINS,))]
