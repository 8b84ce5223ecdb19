"""The manifest: every declared difference between a framework's convention and refloss's, written once.

Each :class:`~refloss.conform.Convention` names the inputs it covers and, where one exists, the mapping
that turns the framework's answer into refloss's; the adapters list the ones that apply to each function,
``refloss conform`` counts the cases each explains, and :func:`refloss.testing.assert_matches_reference`
accepts them (``convention=``). A convention never excuses a wrong finite number (see :mod:`._judge`).
"""

from __future__ import annotations

import numpy as np

from .._options import class_mask
from ._judge import Convention, Output


def _masked(x) -> bool:
    return x is not None and np.isneginf(np.asarray(x, dtype=np.float64)).any()


MASKED_ZERO_MASS_TARGET = Convention(
    "0*log(0) of a masked class with target 0",
    "A class with logit -inf and target probability 0 (a probability target, or a one-hot label made from a "
    "class index) contributes 0 log 0 = 0 in refloss (the limit, and the definition's); the framework "
    "multiplies 0 by log p = -inf and returns NaN, for the value and the gradient.",
    lambda case: _masked(case["logits"]),
)

MASKED_ZERO_MASS_P = Convention(
    "0*log(0) of a masked class of p",
    "Where p has a masked class (logit -inf, p_c = 0), refloss's KL(p || q) uses p_c log(p_c / q_c) = 0; the "
    "framework computes exp(-inf) * (-inf - log q_c) = 0 * -inf = NaN.",
    lambda case: _masked(case["p_logits"]),
)


ZERO_LOG_TARGET = Convention(
    "0*log(0) of a target log p = -inf",
    "A target given in log space as log p = -inf (p = 0) contributes 0 log 0 = 0 in refloss; the framework computes "
    "exp(-inf) * (-inf - input) = 0 * -inf = NaN.",
    lambda case: bool(case.get("log_target")) and np.isneginf(np.asarray(case["target"], dtype=np.float64)).any(),
)


def _batchmean_factor(case: dict) -> float:
    shape = np.shape(case["p_logits"])
    rows = int(np.prod(shape[:-1]))
    return shape[0] / rows


def _scale(case: dict, out: Output) -> Output:
    factor = _batchmean_factor(case)
    return Output(out.value * factor, {k: g * factor for k, g in out.grads.items()})


BATCHMEAN_NOT_2D = Convention(
    "batchmean divides by size(0)",
    "refloss's 'mean' of a KL divides the sum by the number of rows, prod(shape[:-1]); torch's 'batchmean' "
    "divides by input.size(0): the same for (N, C) input only. Mapping: multiply the framework's answer by "
    "size(0) / prod(shape[:-1]) (by C for a single row of shape (C,)).",
    lambda case: case.get("reduction", "mean") == "mean" and np.ndim(case["p_logits"]) != 2,
    _scale,
)


def _zero_masked_rows(case: dict, out: Output) -> Output:
    masked = np.isneginf(np.asarray(case["logits"], dtype=np.float64))
    return Output(out.value, {k: np.where(masked[..., :, None], 0.0, g) for k, g in out.grads.items()})


MASKED_OUTPUT_JACOBIAN = Convention(
    "Jacobian of a masked output",
    "Where z_i = -inf, log p_i is the constant -inf in refloss, so its row of the Jacobian is 0; frameworks "
    "differentiate z_i - lse(z) formally and return -p_j in that row. Mapping: set the masked outputs' rows "
    "to 0.",
    lambda case: _masked(case["logits"]),
    _zero_masked_rows,
)


def _clipped_log_loss(case: dict) -> Output:
    from .._reduce import reduce
    from ..softmax.log_softmax import log_softmax

    eps = float(np.finfo(np.float64).eps)
    z = np.asarray(case["logits"], dtype=np.float64)
    logp_y = np.take_along_axis(log_softmax(z), np.asarray(case["target"])[..., None], axis=-1)[..., 0]
    clipped = np.clip(logp_y, np.log(eps), np.log1p(-eps))
    return Output(np.asarray(reduce(-clipped, case.get("reduction", "mean")), dtype=np.float64))


def _probability_clipped(case: dict) -> bool:
    from ..softmax.log_softmax import log_softmax

    eps = float(np.finfo(np.float64).eps)
    z = np.asarray(case["logits"], dtype=np.float64)
    logp_y = np.take_along_axis(log_softmax(z), np.asarray(case["target"])[..., None], axis=-1)
    return bool(((logp_y < np.log(eps)) | (logp_y > np.log1p(-eps))).any())


LOG_LOSS_CLIP = Convention(
    "log_loss clips probabilities",
    "scikit-learn's log_loss clips the predicted probability to [eps, 1 - eps] (eps = 2^-52) before the "
    "log: a row whose target probability is below eps costs -log(eps) = 36.04 however wrong the prediction, "
    "and one above 1 - eps costs -log(1 - eps) = 2.2e-16 however right. Judged against -log(clip(p_y)), the "
    "mean or sum of the clipped rows' costs.",
    _probability_clipped,
    answer=_clipped_log_loss,
)


def _target_left_out(case: dict) -> bool:
    where, target = case.get("where"), np.asarray(case["target"])
    if where is None or case.get("axis", -1) != -1 or target.dtype.kind not in "iu":
        return False
    mask = class_mask(where, np.shape(case["logits"]))
    kept_target = np.take_along_axis(mask, target[..., None], axis=-1)[..., 0]
    return bool((~kept_target & mask.any(axis=-1)).any())


def _lse_of_kept_minus_target_logit(case: dict) -> Output:
    from ..softmax.logsumexp import logsumexp

    z, target = np.asarray(case["logits"], dtype=np.float64), np.asarray(case["target"])
    mask = class_mask(case["where"], z.shape)
    kept = mask.any(axis=-1)
    with np.errstate(invalid="ignore"):
        per_row = np.where(kept, logsumexp(z, where=mask) - np.take_along_axis(z, target[..., None], -1)[..., 0], 0.0)
    return Output(reduce_rows(per_row, case.get("reduction", "mean"), int(kept.sum())))


WHERE_LEFT_OUT_TARGET = Convention(
    "a class target that where leaves out",
    "With a where mask that leaves a row's target class out, refloss's loss is that of a masked target, -log 0 = "
    "+inf (and optax's own softmax_cross_entropy on the one-hot label gives 0, the empty sum); "
    "softmax_cross_entropy_with_integer_labels returns LSE(kept logits) - z_y, the log-probability of a class the "
    "softmax does not hold. Judged against that value.",
    _target_left_out,
    answer=_lse_of_kept_minus_target_logit,
)


def reduce_rows(per_row, reduction: str, rows_kept=None):
    """refloss's reduction of per-row values, for any array type with ``.mean()``/``.sum()`` (torch, JAX).
    ``rows_kept``: how many rows a ``where=`` mask leaves a class (refloss's "mean" leaves the others out)."""
    if reduction == "mean":
        return per_row.mean() if rows_kept is None else per_row.sum() / rows_kept
    if reduction == "sum":
        return per_row.sum()
    return per_row


def _sklearn_mutual_info(case: dict) -> Output:
    from sklearn.preprocessing import scale

    from ..info.knn.ksg_mutual_information import ksg_mutual_information

    # as scikit-learn scales them: the feature as a column of X, the target as a vector (the last bit can differ)
    x = scale(np.asarray(case["x"], dtype=np.float64).reshape(-1, 1), with_mean=False)
    y = scale(np.asarray(case["y"], dtype=np.float64).reshape(-1), with_mean=False)
    return Output(np.asarray(ksg_mutual_information(x, y, k=case.get("k", 3), jitter=0, clip_at_zero=True)))


SKLEARN_SCALES_AND_JITTERS = Convention(
    "mutual_info_regression scales and jitters",
    "scikit-learn scales the feature and the target to unit variance without centring them, adds "
    "1e-10 max(1, mean|column|) N(0, 1) noise (random_state=0 here) and clips the estimate at 0; the estimator is "
    "then KSG variant 1 with strict counts. Judged against refloss's estimate on the same points: the scaled "
    "columns with jitter=0 (scikit-learn's noise, bit for bit) and clip_at_zero=True.",
    lambda case: True,
    answer=_sklearn_mutual_info,
)


# -- SciPy's stats.entropy on probabilities (the discrete family: refloss does not normalise) -----------------------


def _sums(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).sum(axis=-1)


def _not_normalised(*names):
    return lambda case: any(bool((_sums(case[name]) != 1.0).any()) for name in names)


def _log_in_base(x, base) -> np.ndarray:
    return np.log(x) / (1.0 if base is None else np.log(base))


def _entropy_of_sums(case: dict, out: Output) -> Output:
    s = _sums(case["pk"])
    return Output(s * out.value - s * _log_in_base(s, case.get("base")))


SCIPY_NORMALISES_PK = Convention(
    "stats.entropy normalises pk",
    "scipy.stats.entropy divides pk by its sum S first; refloss's entropy is -sum p log p of the numbers given "
    "(the discrete family's convention). Mapping: H(p) = S H(p / S) - S log S (in the base asked for), exact for "
    "any S > 0; where S is 1 in float64 nothing changes.",
    _not_normalised("pk"),
    _entropy_of_sums,
)


def _kl_of_sums(case: dict, out: Output) -> Output:
    sp, sq = _sums(case["pk"]), _sums(case["qk"])
    with np.errstate(divide="ignore", over="ignore"):
        return Output(sp * (out.value + _log_in_base(sp / sq, case.get("base"))))


SCIPY_NORMALISES_PK_AND_QK = Convention(
    "stats.entropy(pk, qk) normalises both",
    "scipy.stats.entropy(pk, qk) divides pk and qk by their sums S_p, S_q first; refloss's kl_divergence is "
    "sum p log(p / q) of the numbers given. Mapping: D(p || q) = S_p [D(p / S_p || q / S_q) + log(S_p / S_q)] (in "
    "the base asked for), exact for any S_p, S_q > 0; where both sums are 1 in float64 nothing changes.",
    _not_normalised("pk", "qk"),
    _kl_of_sums,
)


# -- the expected calibration error: the peers' bins (the calibration family) -------------------------------------
#
# refloss bins a confidence c in ((m-1)/M, m/M] for the exact rational m/M, 0 in the first bin. The peers bin on
# float edges, closed on the left: where a confidence lies exactly on an edge (or is clipped) the samples are
# grouped otherwise, and the peer is judged against refloss's calibration error over the peer's own groups.


def _top_label(case: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """(confidences, correct, M) of a case's top-label problem, every batch axis flattened; the predicted class is
    the first maximal one (NumPy's argmax, torch.max's)."""
    p = np.asarray(case["probs"], dtype=np.float64)
    rows, y = p.reshape(-1, p.shape[-1]), np.asarray(case["target"]).reshape(-1)
    predicted = np.argmax(rows, axis=-1)
    return rows[np.arange(rows.shape[0]), predicted], predicted == y, int(case.get("n_bins", 15))


def _same_groups(a: np.ndarray, b: np.ndarray) -> bool:
    """Two bin assignments group the samples alike (the same partition, whatever the bins' labels)."""
    pairs = np.unique(np.stack([a, b]), axis=1)
    return pairs.shape[1] == np.unique(a).size == np.unique(b).size


def _torchmetrics_bins(conf: np.ndarray, n_bins: int) -> np.ndarray:
    """torchmetrics' ``bucketize(c, linspace(0, 1, M + 1), right=True) - 1``: [e_m, e_{m+1}) with 1.0 in a bin of its
    own (index M), on torch's float64 linspace edges."""
    import torch

    from ..losses.calibration._common import edge_bins

    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64).numpy()
    return edge_bins(conf, edges, closed="left_open_top")


def _torchmetrics_grouping_differs(case: dict) -> bool:
    from ..losses.calibration._common import width_bins

    conf, _, m = _top_label(case)
    return conf.size > 0 and not _same_groups(width_bins(conf, m), _torchmetrics_bins(conf, m))


def _torchmetrics_answer(case: dict) -> Output:
    from ..losses.calibration._common import calibration_error

    conf, correct, m = _top_label(case)
    return Output(np.asarray(calibration_error(conf, correct, _torchmetrics_bins(conf, m), m + 1,
                                               case.get("norm", "l1"))))


TORCHMETRICS_BINS = Convention(
    "torchmetrics' bins [lo, hi), 1.0 apart",
    "torchmetrics bins a confidence by bucketize(c, linspace(0, 1, M + 1), right=True) - 1: the intervals "
    "[m/M, (m+1)/M) of the float linspace edges, and c = 1.0 in an (M+1)-th bin of its own (its count array has "
    "M + 1 entries); refloss's bins are ((m-1)/M, m/M] of the exact rationals, 1.0 in the last. Where a confidence "
    "lies on an edge, or is 1.0 beside others in the last bin, the samples are grouped otherwise: judged against "
    "refloss's calibration error over torchmetrics' groups (its norm; empty bins count 0 in the max, as refloss's "
    "max skips them).",
    _torchmetrics_grouping_differs,
    answer=_torchmetrics_answer,
)


def _netcal_top_label(case: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """netcal's multiclass input: the probabilities clipped to [eps, 1 - eps] first (eps = 2^-52), then the top label
    of the clipped rows."""
    eps = float(np.finfo(np.float64).eps)
    p = np.clip(np.asarray(case["probs"], dtype=np.float64), eps, 1.0 - eps)
    return _top_label({**case, "probs": p})


def _netcal_edges(conf: np.ndarray, n_bins: int, binning: str) -> np.ndarray:
    """netcal's edges: linspace(0, 1, M + 1), or for equal mass np.quantile of the confidences at those levels
    (linear interpolation) with the ends set to 0 and 1."""
    levels = np.linspace(0.0, 1.0, n_bins + 1)
    if binning == "width":
        return levels
    edges = np.quantile(conf, q=levels)
    edges[0], edges[-1] = 0.0, 1.0
    return edges


def _netcal_bins(case: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    from ..losses.calibration._common import edge_bins

    conf, correct, m = _netcal_top_label(case)
    edges = _netcal_edges(conf, m, case.get("binning", "width"))
    return conf, correct, edge_bins(conf, edges, closed="left"), m


def _netcal_differs(case: dict) -> bool:
    from ..losses.calibration._common import mass_bins, width_bins

    conf, correct, bins, m = _netcal_bins(case)
    own_conf, own_correct, _ = _top_label(case)
    own = (width_bins if case.get("binning", "width") == "width" else mass_bins)(own_conf, m)
    return not (_same_groups(own, bins) and np.array_equal(correct, own_correct))


def _netcal_answer(case: dict) -> Output:
    from ..losses.calibration._common import calibration_error

    conf, correct, bins, m = _netcal_bins(case)
    return Output(np.asarray(calibration_error(conf, correct, bins, m, case.get("norm", "l1"))))


NETCAL_BINS = Convention(
    "netcal's bins [lo, hi) of clipped confidences",
    "netcal clips the probabilities to [eps, 1 - eps] (eps = 2^-52) and bins the top label's confidence with "
    "numpy.histogramdd: the intervals [e_m, e_{m+1}) with the last closed, on linspace(0, 1, M + 1) edges, or with "
    "equal_intervals=False on np.quantile of the confidences at those levels (linearly interpolated, the ends set to "
    "0 and 1); refloss's bins are ((m-1)/M, m/M] of the exact rationals, and its equal-mass bins the rank groups "
    "of ceil(m n / M) with ties kept together. Where the groups (or a clipped row's predicted class) differ: judged "
    "against refloss's calibration error over netcal's groups of the clipped confidences.",
    _netcal_differs,
    answer=_netcal_answer,
)
