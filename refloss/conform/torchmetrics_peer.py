r"""torchmetrics' multiclass calibration error, adapted to refloss's conventions (values only: a metric).

``MulticlassCalibrationError(num_classes=C, n_bins=M, norm=...)`` is refloss's
:func:`~refloss.expected_calibration_error` with ``kind="top_label"`` and ``binning="width"``; its ``norm`` is
refloss's (``"l1"``: ECE, ``"l2"``: the RMS calibration error, without the debiasing torchmetrics disables in its
wrappers, ``"max"``: MCE). It receives refloss's probabilities as a float64 ``(N, C)`` tensor (every batch axis
flattened; torchmetrics applies a softmax only when some entry leaves [0, 1], which a probability never does) and
the class indices. Only ``C >= 2`` is expressible (torchmetrics refuses one class).

Two functions are judged:

* the public metric, which casts the confidences to **float32** whatever the input's dtype
  (``_multiclass_calibration_error_update`` returns ``confidences.float()``), so that it keeps about 7 significant
  digits: the record holds that as a finding (a mismatch of about 1e-7 of the result, beyond the judge's 1e-8 of
  lost precision), with its minimal input. It is judged where its float32 groups are refloss's (no confidence on
  or, once rounded to float32, across an edge): elsewhere the bin rule and the rounding mix, and the bin rule
  is judged on its own in the second function;
* its binning and reduction alone, ``functional.classification.calibration_error._ce_compute`` (private), given
  the float64 confidences and correctness that refloss's top label defines: judged at full precision, where the
  only difference is the bin-edge rule (:data:`~.conventions.TORCHMETRICS_BINS`: ``[lo, hi)`` on the float
  ``linspace`` edges, and a confidence of exactly 1.0 in a bin of its own).
"""

from __future__ import annotations

import numpy as np

from ._judge import Output, PeerFunction
from .conventions import TORCHMETRICS_BINS, _same_groups, _top_label

FRAMEWORK = "torchmetrics"


def version() -> str:
    import torchmetrics

    return torchmetrics.__version__


def _expressible(case: dict) -> dict | None:
    """Top label, equal width, two classes or more, at least one sample."""
    probs = np.asarray(case["probs"])
    if case.get("kind", "top_label") != "top_label" or case.get("binning", "width") != "width":
        return None
    if probs.shape[-1] < 2 or probs.size == 0:
        return None
    return case


def _float32_groups_are_refloss_s(case: dict) -> dict | None:
    """Expressible, and the float32 confidences on torchmetrics' float32 edges group the samples as refloss's bins
    group the exact ones."""
    import torch

    from ..losses.calibration._common import edge_bins, width_bins

    if _expressible(case) is None:
        return None
    conf, _, n_bins = _top_label(case)
    rounded = conf.astype(np.float32).astype(np.float64)
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float32).double().numpy()
    return case if _same_groups(width_bins(conf, n_bins), edge_bins(rounded, edges, closed="left_open_top")) else None


def _metric(case: dict) -> Output:
    import torch
    from torchmetrics.classification import MulticlassCalibrationError

    probs = np.asarray(case["probs"], dtype=np.float64)
    rows, y = probs.reshape(-1, probs.shape[-1]), np.asarray(case["target"]).reshape(-1)
    metric = MulticlassCalibrationError(num_classes=rows.shape[-1], n_bins=int(case.get("n_bins", 15)),
                                        norm=case.get("norm", "l1"))
    value = metric(torch.tensor(rows), torch.tensor(y))
    return Output(np.asarray(value.double().numpy(), dtype=np.float64))


def _ce_compute(case: dict) -> Output:
    import torch
    from torchmetrics.functional.classification.calibration_error import _ce_compute as compute

    conf, correct, n_bins = _top_label(case)
    value = compute(torch.tensor(conf), torch.tensor(correct.astype(np.float64)), n_bins, norm=case.get("norm", "l1"))
    return Output(np.asarray(value.double().numpy(), dtype=np.float64))


def functions() -> list[PeerFunction]:
    return [PeerFunction(FRAMEWORK, "torchmetrics.classification.MulticlassCalibrationError",
                         "expected_calibration_error", _metric, prepare=_float32_groups_are_refloss_s),
            PeerFunction(FRAMEWORK, "torchmetrics.functional.classification.calibration_error._ce_compute (float64)",
                         "expected_calibration_error", _ce_compute, prepare=_expressible,
                         conventions=(TORCHMETRICS_BINS,))]
