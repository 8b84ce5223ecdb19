"""scikit-learn's ``metrics.log_loss`` and its mutual information (KSG, and the plug-in MI of counts), adapted to
refloss's conventions (values only).

``log_loss(y_true, y_pred)`` takes probabilities: it receives ``exp(log_softmax(z))`` rounded to float64 and
the class indices, with ``labels=range(C)`` so that every class is known even when a batch lacks some.
refloss's ``"mean"`` is ``normalize=True`` and ``"sum"`` is ``normalize=False``; refloss's ``sample_weight`` is
scikit-learn's.

``feature_selection.mutual_info_regression(x, y, n_neighbors=k)`` is KSG variant 1 on one feature and a target
(each 1-D), clipped at 0: its estimator alone (``_mutual_info._compute_mi_cc``, private, the points as given) is
judged against the oracle of ``ksg_mutual_information(..., clip_at_zero=True)``; the public function, which first
scales both columns to unit variance (without centring) and adds its noise, against refloss's answer for those
same points (:data:`~.conventions.SKLEARN_SCALES_AND_JITTERS`).

``metrics.mutual_info_score(None, None, contingency=c)`` and ``feature_selection.mutual_info_classif(x[:, None], y,
discrete_features=True)`` are the plug-in mutual information of a table of counts ``c`` (``mutual_info_classif``
calls ``mutual_info_score`` on the labels of a discrete feature and a discrete target): refloss's
:func:`~refloss.mutual_information_pmf` of the frequencies ``c / N``, ``N`` the total. scikit-learn takes counts,
not probabilities, so a case's table becomes counts (``as_frequencies`` here): a table that already is
``c / N`` in float64 with ``N <= 4096`` observations is kept as it is (``[[0.4, 0.1], [0.1, 0.4]]`` is ``[[4, 1],
[1, 4]] / 10``); any other table (not normalised, tiny cells, drawn floats) is rounded to counts on 1000
observations, ``rint(1000 p / sum p)``, and judged as the frequencies of those counts (the oracle is evaluated
for the table as changed). ``mutual_info_score`` receives the counts as its ``contingency=`` argument,
``mutual_info_classif`` one label pair ``(x, y)`` per observation (``x`` the row, ``y`` the column; rows or
columns without an observation then do not exist for it, which leaves the mutual information unchanged). A batch
of tables is one call per table. Both compute in nats: the oracle of a case in another base is converted
(multiplied by ``log base``). ``mutual_info_score`` also drops the terms below ``eps`` in magnitude and clips the
sum at 0; neither moves the result beyond the tolerance on these tables, so no convention is declared.

A finding beyond the judged cases (their tables have at most 4096 observations; the tests check it): the product of
a row total and a column total, ``pi * pj``, is formed in int64 and wraps once it reaches :math:`2^{63}`, that is
for totals of about 3.04e9 and more. ``mutual_info_score(None, None, contingency=[[3037000500, 0], [0,
3037000500]])`` returns NaN (exact: log 2 = 0.6931471805599453), ``[[2**31, 2**31], [2**31, 2**31]]`` returns inf
(exact: 0) and ``[[2**32, 1], [1, 2**32]]`` returns 22.18 (exact: 0.69314717516). The int32 form of the same
overflow was fixed by casting to int64 (scikit-learn issue 9772, pull request 10414).

Not adapted: ``mutual_info_classif`` with a continuous feature (and ``mutual_info_regression`` with a discrete one)
uses Ross's estimator for one continuous and one discrete variable (B. C. Ross, PLoS ONE 9(2), 2014: kNN counts
within each class, ``_compute_mi_cd``), which refloss does not have.
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


# -- the plug-in MI of a table of counts (mutual_info_score, mutual_info_classif on discrete data) -----------------

#: A distribution is recognised as the frequencies of counts with at most this many observations.
MOST_OBSERVATIONS = 4096

#: Any other distribution is rounded to counts on this many observations.
ROUNDED_TOTAL = 1000


def counts_of(p) -> np.ndarray | None:
    """The integer counts ``c`` of one distribution ``p`` (a vector or a table) whose frequencies ``c / N`` (the
    float64 quotients, ``N = sum c``) are ``p`` exactly, with the smallest ``N <= MOST_OBSERVATIONS``; None if
    there are none. (Two such counts are proportional: distinct quotients with denominators of at most 4096 differ
    by far more than an ulp.)"""
    p = np.asarray(p, dtype=np.float64)
    flat = p.ravel()
    if not np.isfinite(flat).all() or flat.min(initial=0.0) < 0 or flat.max(initial=0.0) > 1:
        return None
    totals = np.arange(1, MOST_OBSERVATIONS + 1, dtype=np.float64)[:, None]
    c = np.rint(flat[None, :] * totals)
    exact = (c.sum(axis=1, keepdims=True) == totals) & (c / totals == flat).all(axis=1, keepdims=True)
    hits = np.flatnonzero(exact)
    return None if hits.size == 0 else c[hits[0]].astype(np.int64).reshape(p.shape)


def _rounded(p: np.ndarray) -> np.ndarray | None:
    """One distribution rounded to counts on ``ROUNDED_TOTAL`` observations; None without a positive entry."""
    top = p.max()
    if not top > 0:
        return None
    w = p / top  # scaled first: a sum of entries near 1e308 stays finite
    return np.rint(w / w.sum() * ROUNDED_TOTAL).astype(np.int64)


def as_frequencies(p, tail: int) -> np.ndarray | None:
    """``p`` with each distribution (its last ``tail`` axes: 1 for a vector, 2 for a table) replaced by the
    frequencies of counts: unchanged where it already is such (:func:`counts_of`), else :func:`_rounded`'s counts
    over their total. None if a distribution has no positive entry (it has no observation)."""
    p = np.asarray(p, dtype=np.float64)
    batch = p.reshape((-1,) + p.shape[p.ndim - tail:])
    out = []
    for d in batch:
        if counts_of(d) is not None:
            out.append(d)
            continue
        c = _rounded(d)
        if c is None:
            return None
        out.append(c / c.sum())
    return np.array(out).reshape(p.shape)


def per_distribution(p, tail: int, measure) -> np.ndarray:
    """``measure(counts)`` of each distribution of ``p`` (the frequencies of counts: :func:`counts_of`), shaped
    as the batch."""
    p = np.asarray(p, dtype=np.float64)
    batch = p.shape[:p.ndim - tail]
    values = []
    for d in p.reshape((-1,) + p.shape[p.ndim - tail:]):
        c = counts_of(d)
        if c is None:
            raise ValueError(f"not the frequencies of counts: {d.tolist()}")
        values.append(measure(c))
    return np.array(values, dtype=np.float64).reshape(batch)


def _frequency_table(case: dict) -> dict | None:
    pxy = as_frequencies(case["pxy"], 2)
    return None if pxy is None else {**case, "pxy": pxy}


def _in_nats(exact, scale, case: dict):
    """refloss's unit (nats, or the case's base) to scikit-learn's nats."""
    factor = 1.0 if case.get("base") is None else np.log(case["base"])
    return exact * factor, scale * factor


def labels(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One pair (row, column) per observation of the table of counts ``c``."""
    rows, cols = np.indices(c.shape)
    return np.repeat(rows.ravel(), c.ravel()), np.repeat(cols.ravel(), c.ravel())


def _mutual_info_score(case: dict) -> Output:
    from sklearn.metrics import mutual_info_score

    return Output(per_distribution(case["pxy"], 2, lambda c: mutual_info_score(None, None, contingency=c)))


def _mutual_info_classif(case: dict) -> Output:
    from sklearn.feature_selection import mutual_info_classif

    def measure(c):
        x, y = labels(c)
        return mutual_info_classif(x[:, None], y, discrete_features=True)[0]

    return Output(per_distribution(case["pxy"], 2, measure))


def functions() -> list[PeerFunction]:
    return [PeerFunction(FRAMEWORK, "sklearn.metrics.log_loss", "cross_entropy", _log_loss, prepare=_expressible,
                         conventions=(LOG_LOSS_CLIP,), options=("sample_weight",)),
            PeerFunction(FRAMEWORK, "sklearn.feature_selection._mutual_info._compute_mi_cc",
                         "ksg_mutual_information", _compute_mi_cc, prepare=_one_column),
            PeerFunction(FRAMEWORK, "sklearn.feature_selection.mutual_info_regression", "ksg_mutual_information",
                         _mutual_info_regression, prepare=_one_column, conventions=(SKLEARN_SCALES_AND_JITTERS,)),
            PeerFunction(FRAMEWORK, "sklearn.metrics.mutual_info_score (contingency=)", "mutual_information_pmf",
                         _mutual_info_score, prepare=_frequency_table, oracle_map=_in_nats),
            PeerFunction(FRAMEWORK, "sklearn.feature_selection.mutual_info_classif (discrete_features=True)",
                         "mutual_information_pmf", _mutual_info_classif, prepare=_frequency_table,
                         oracle_map=_in_nats)]
