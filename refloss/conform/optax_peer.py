"""optax's losses, adapted to refloss's conventions (float64 JAX, gradients by ``jax.grad``).

Mappings, each written once here: optax returns one loss per row (refloss's ``"none"``), so ``"mean"``
and ``"sum"`` are applied here; class targets become one-hot labels where optax takes probabilities;
``kl_divergence(log_predictions, targets)`` is KL(targets || predictions), so refloss's
``(p_logits, q_logits)`` become ``(log_predictions=log q, targets=p)``; label smoothing is
``smooth_labels(one_hot, alpha)`` followed by ``softmax_cross_entropy``. optax has no class weights,
``pos_weight`` or ``ignore_index``: its rows see the cases with weights removed (the oracle is evaluated
for the case as changed) and without ignored targets (the others are counted as skipped). Defaults differ
and are always passed explicitly: optax's ``sigmoid_focal_loss`` has ``alpha=None`` (refloss 0.25), its
``poly_loss_cross_entropy`` ``epsilon=2.0`` (refloss 1.0, the paper's Poly-1 default).
"""

from __future__ import annotations

import numpy as np

from ._judge import Output, PeerFunction
from .conventions import MASKED_ZERO_MASS_P, MASKED_ZERO_MASS_TARGET, WHERE_LEFT_OUT_TARGET, reduce_rows
from .jax_peer import _jax, value_and_grads

FRAMEWORK = "optax"


def version() -> str:
    import optax

    return optax.__version__


def _one_hot(target, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[np.asarray(target)]


def _plain(case: dict, *, targets: str) -> dict | None:
    """The case without class weights and smoothing (optax has neither), if its targets are of this kind and
    none is ignored."""
    kind = np.asarray(case["target"]).dtype.kind
    if (kind == "f") != (targets == "probabilities"):
        return None
    if kind != "f" and (np.asarray(case["target"]) == case.get("ignore_index", -100)).any():
        return None
    return {**case, "weight": None, "label_smoothing": 0.0}


def _axis_and_where(case: dict) -> tuple[dict, int | None]:
    """optax's own ``axis`` and ``where`` from the case, and how many rows the mask leaves a class (refloss's "mean"
    counts those only; optax returns 0 for the others)."""
    where = case.get("where")
    options = {"axis": case.get("axis", -1), "where": where}
    if where is None:
        return options, None
    z, mask = np.asarray(case["logits"]), np.asarray(where)
    axis = case.get("axis", -1) % z.ndim
    rows = (np.broadcast_to(mask, z.shape).any(axis=axis) if mask.ndim == z.ndim
            else np.broadcast_to(mask, z.shape[:axis] + z.shape[axis + 1:]))
    return options, int(rows.sum())


def _softmax_ce(case: dict) -> Output:
    import optax

    labels = np.asarray(case["target"], dtype=np.float64)
    options, kept = _axis_and_where(case)
    return value_and_grads(lambda logits: reduce_rows(optax.losses.softmax_cross_entropy(logits, labels, **options),
                                                      case.get("reduction", "mean"), kept), case, ("logits",))


def _softmax_ce_integer(case: dict) -> Output:
    import optax

    labels = np.asarray(case["target"])
    options, kept = _axis_and_where(case)
    return value_and_grads(lambda logits: reduce_rows(
        optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels, **options),
        case.get("reduction", "mean"), kept), case, ("logits",))


def _smoothed_ce(case: dict) -> Output:
    import optax

    z = np.asarray(case["logits"])
    labels = optax.losses.smooth_labels(_one_hot(case["target"], z.shape[-1]), case["label_smoothing"])
    return value_and_grads(lambda logits: reduce_rows(optax.losses.softmax_cross_entropy(logits, labels),
                                                      case.get("reduction", "mean")), case, ("logits",))


def _smoothing_only(case: dict) -> dict | None:
    plain = _plain(case, targets="classes")
    smoothing = case.get("label_smoothing", 0.0)
    return None if plain is None or smoothing == 0.0 else {**plain, "label_smoothing": smoothing}


def _sigmoid_bce(case: dict) -> Output:
    import optax

    labels = np.asarray(case["target"], dtype=np.float64)
    return value_and_grads(lambda logits: reduce_rows(optax.losses.sigmoid_binary_cross_entropy(logits, labels),
                                                      case.get("reduction", "mean")), case, ("logits",))


def _unweighted(case: dict) -> dict:
    return {**case, "weight": None, "pos_weight": None}


def _sigmoid_focal(case: dict) -> Output:
    import optax

    labels = np.asarray(case["target"], dtype=np.float64)
    return value_and_grads(lambda logits: reduce_rows(
        optax.losses.sigmoid_focal_loss(logits, labels, alpha=case.get("alpha", 0.25), gamma=case.get("gamma", 2.0)),
        case.get("reduction", "mean")), case, ("logits",))


def _poly1(case: dict) -> Output:
    """optax's probability targets as they are; class targets one-hot (on the class axis)."""
    import optax

    z, target = np.asarray(case["logits"]), np.asarray(case["target"])
    labels = target if target.shape == z.shape else np.moveaxis(
        _one_hot(target, z.shape[case.get("axis", -1)]), -1, case.get("axis", -1))
    options, kept = _axis_and_where(case)
    return value_and_grads(lambda logits: reduce_rows(
        optax.losses.poly_loss_cross_entropy(logits, labels, epsilon=case.get("epsilon", 1.0), **options),
        case.get("reduction", "mean"), kept), case, ("logits",))


def _per_logit_where(case: dict) -> dict:
    """optax's poly loss broadcasts ``where`` against the logits as it is (one flag per row is not expanded)."""
    where = case.get("where")
    return case if where is None or np.ndim(where) == np.ndim(case["logits"]) else None


def _kl(log_targets: bool):
    def call(case: dict) -> Output:
        jax = _jax()
        import optax

        def kl(p_logits, q_logits):
            log_p = jax.nn.log_softmax(p_logits, axis=-1)
            log_q = jax.nn.log_softmax(q_logits, axis=-1)
            per_row = (optax.losses.kl_divergence_with_log_targets(log_q, log_p) if log_targets
                       else optax.losses.kl_divergence(log_q, jax.numpy.exp(log_p)))
            return reduce_rows(per_row, case.get("reduction", "mean"))

        return value_and_grads(kl, case, ("p_logits", "q_logits"))

    return call


def _nats(case: dict) -> dict:
    return {**case, "base": None}


def functions() -> list[PeerFunction]:
    losses = "optax.losses."
    return [
        PeerFunction(FRAMEWORK, losses + "softmax_cross_entropy_with_integer_labels", "cross_entropy",
                     _softmax_ce_integer, prepare=lambda c: _plain(c, targets="classes"), options=("axis", "where"),
                     conventions=(WHERE_LEFT_OUT_TARGET,)),
        PeerFunction(FRAMEWORK, losses + "softmax_cross_entropy", "cross_entropy", _softmax_ce,
                     prepare=lambda c: _plain(c, targets="probabilities"), conventions=(MASKED_ZERO_MASS_TARGET,),
                     options=("axis", "where")),
        PeerFunction(FRAMEWORK, losses + "softmax_cross_entropy (real targets)", "soft_target_cross_entropy",
                     _softmax_ce, conventions=(MASKED_ZERO_MASS_TARGET,), options=("axis", "where")),
        PeerFunction(FRAMEWORK, losses + "smooth_labels + softmax_cross_entropy", "cross_entropy", _smoothed_ce,
                     prepare=_smoothing_only),
        PeerFunction(FRAMEWORK, losses + "sigmoid_binary_cross_entropy", "binary_cross_entropy_with_logits",
                     _sigmoid_bce, prepare=_unweighted),
        PeerFunction(FRAMEWORK, losses + "sigmoid_focal_loss", "sigmoid_focal_loss", _sigmoid_focal),
        PeerFunction(FRAMEWORK, losses + "poly_loss_cross_entropy", "poly1_loss", _poly1, prepare=_per_logit_where,
                     conventions=(MASKED_ZERO_MASS_TARGET,), options=("axis", "where")),
        PeerFunction(FRAMEWORK, losses + "kl_divergence", "kl_divergence_logits", _kl(False), prepare=_nats,
                     conventions=(MASKED_ZERO_MASS_P,)),
        PeerFunction(FRAMEWORK, losses + "kl_divergence_with_log_targets", "kl_divergence_logits", _kl(True),
                     prepare=_nats, conventions=(MASKED_ZERO_MASS_P,)),
    ]
