"""scikit-learn's ``metrics.log_loss`` and its KSG mutual information, adapted to refloss's conventions (values only).

``log_loss(y_true, y_pred)`` takes probabilities: it receives ``exp(log_softmax(z))`` rounded to float64 and
the class indices, with ``labels=range(C)`` so that every class is known even when a batch lacks some.
refloss's ``"mean"`` is ``normalize=True`` and ``"sum"`` is ``normalize=False``; refloss's ``sample_weight`` is
scikit-learn's.

``feature_selection.mutual_info_regression(x, y, n_neighbors=k)`` is KSG variant 1 on one feature and a target
(each 1-D), clipped at 0: its estimator alone (``_mutual_info._compute_mi_cc``, private, the points as given) is
judged against the oracle of ``ksg_mutual_information(..., clip_at_zero=True)``; the public function, which first
scales both columns to unit variance (without centring) and adds its noise, against refloss's answer for those
same points (:data:`~.conventions.SKLEARN_SCALES_AND_JITTERS`).
"""

from __future__ import annotations

import numpy as np

from ..softmax.log_softmax import log_softmax
from ._judge import Output, PeerFunction
from .conventions import LOG_LOSS_CLIP, SKLEARN_SCALES_AND_JITTERS

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


def _one_column(case: dict) -> dict | None:
    """A KSG case as scikit-learn can see it: one feature and one target (1-D), variant 1, nats, no noise of
    refloss's; clipped at 0 (the oracle is evaluated for the clipped estimate)."""
    x, y = np.asarray(case["x"]), np.asarray(case["y"])
    if any(a.ndim == 2 and a.shape[1] != 1 for a in (x, y)) or case.get("variant", 1) != 1:
        return None
    if case.get("base") is not None or case.get("jitter") is not None:
        return None
    return {**case, "x": x.reshape(-1), "y": y.reshape(-1), "clip_at_zero": True}


def _compute_mi_cc(case: dict) -> Output:
    from sklearn.feature_selection._mutual_info import _compute_mi_cc as estimate

    value = estimate(np.asarray(case["x"], dtype=np.float64), np.asarray(case["y"], dtype=np.float64),
                     case.get("k", 3))
    return Output(np.asarray(value, dtype=np.float64))


def _mutual_info_regression(case: dict) -> Output:
    from sklearn.feature_selection import mutual_info_regression

    x, y = np.asarray(case["x"], dtype=np.float64), np.asarray(case["y"], dtype=np.float64)
    value = mutual_info_regression(x[:, None], y, n_neighbors=case.get("k", 3), random_state=0)[0]
    return Output(np.asarray(value, dtype=np.float64))


def functions() -> list[PeerFunction]:
    return [PeerFunction(FRAMEWORK, "sklearn.metrics.log_loss", "cross_entropy", _log_loss, prepare=_expressible,
                         conventions=(LOG_LOSS_CLIP,), options=("sample_weight",)),
            PeerFunction(FRAMEWORK, "sklearn.feature_selection._mutual_info._compute_mi_cc",
                         "ksg_mutual_information", _compute_mi_cc, prepare=_one_column),
            PeerFunction(FRAMEWORK, "sklearn.feature_selection.mutual_info_regression", "ksg_mutual_information",
                         _mutual_info_regression, prepare=_one_column, conventions=(SKLEARN_SCALES_AND_JITTERS,))]
