"""scikit-learn's ``metrics.log_loss``, adapted to refloss's conventions (a value only).

``log_loss(y_true, y_pred)`` takes probabilities: it receives ``exp(log_softmax(z))`` rounded to float64 and
the class indices, with ``labels=range(C)`` so that every class is known even when a batch lacks some.
refloss's ``"mean"`` is ``normalize=True`` and ``"sum"`` is ``normalize=False``; refloss's ``sample_weight`` is
scikit-learn's.
"""

from __future__ import annotations

import numpy as np

from ..softmax.log_softmax import log_softmax
from ._judge import Output, PeerFunction
from .conventions import LOG_LOSS_CLIP

FRAMEWORK = "sklearn"


def version() -> str:
    import sklearn

    return sklearn.__version__


def _expressible(case: dict) -> dict | None:
    """The case as log_loss can see it: rows flattened to (N, C), no class weights or smoothing, "none" judged as
    "mean" (the oracle is evaluated for the case as changed); class targets, none ignored, C >= 2; sample weights
    not all 0."""
    target = np.asarray(case["target"])
    z = np.asarray(case["logits"])
    if target.dtype.kind not in "iu" or z.shape[-1] < 2 or (target == case.get("ignore_index", -100)).any():
        return None
    reduction = case.get("reduction", "mean")
    weights = case.get("sample_weight")
    if weights is not None and not np.any(weights):  # 0/0: refloss's documented NaN, which log_loss refuses
        return None
    return {**case, "logits": z.reshape(-1, z.shape[-1]), "target": target.reshape(-1), "weight": None,
            "label_smoothing": 0.0, "reduction": "mean" if reduction == "none" else reduction,
            **({} if weights is None else {"sample_weight": np.broadcast_to(weights, target.shape).reshape(-1)})}


def _log_loss(case: dict) -> Output:
    from sklearn.metrics import log_loss

    z = np.asarray(case["logits"], dtype=np.float64)
    y = np.asarray(case["target"])
    value = log_loss(y, np.exp(log_softmax(z)), normalize=case.get("reduction", "mean") == "mean",
                     sample_weight=case.get("sample_weight"), labels=np.arange(z.shape[-1]))
    return Output(np.asarray(value, dtype=np.float64))


def functions() -> list[PeerFunction]:
    return [PeerFunction(FRAMEWORK, "sklearn.metrics.log_loss", "cross_entropy", _log_loss, prepare=_expressible,
                         conventions=(LOG_LOSS_CLIP,), options=("sample_weight",))]
