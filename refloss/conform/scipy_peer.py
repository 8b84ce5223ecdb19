"""SciPy's own functions, adapted to refloss's conventions (values only: SciPy has no gradients).

Mappings, each written once here: ``scipy.stats.entropy`` takes probabilities, not logits, so it receives
``exp(log_softmax(z))`` rounded to float64 (its API cannot see more); ``entropy(pk, qk)`` is KL(pk || qk);
``softmax`` is judged against the exponential of the oracle's log-softmax (see :func:`_exp_of`); the
reductions of refloss's entropy and KL (mean or sum over rows) are applied to SciPy's per-row results.
"""

from __future__ import annotations

import numpy as np

from ..softmax.log_softmax import log_softmax
from ._judge import Output, PeerFunction
from .conventions import reduce_rows

FRAMEWORK = "scipy"


def version() -> str:
    import scipy

    return scipy.__version__


def _probabilities(logits) -> np.ndarray:
    return np.exp(log_softmax(logits))


def _logsumexp(case: dict) -> Output:
    from scipy import special

    return Output(special.logsumexp(case["logits"], axis=-1))


def _log_softmax(case: dict) -> Output:
    from scipy import special

    return Output(special.log_softmax(case["logits"], axis=-1))


def _softmax(case: dict) -> Output:
    from scipy import special

    return Output(special.softmax(case["logits"], axis=-1))


def _exp_of(exact, scale, case):
    """p = exp(log p): the oracle's log p is a float64 rounding, off by up to |log p| eps / 2, which becomes a
    relative error of p; that uncertainty joins the condition scale (s_p = p (s_log p + |log p|))."""
    with np.errstate(invalid="ignore"):
        p = np.exp(exact)
        magnitude = np.where(np.isfinite(exact), np.abs(exact), 0.0)
        return p, p * (scale + magnitude)


def _entropy(case: dict) -> Output:
    from scipy import stats

    per_row = stats.entropy(_probabilities(case["logits"]), base=case.get("base"), axis=-1)
    return Output(reduce_rows(np.asarray(per_row), case.get("reduction", "mean")))


def _kl(case: dict) -> Output:
    from scipy import stats

    per_row = stats.entropy(_probabilities(case["p_logits"]), _probabilities(case["q_logits"]), axis=-1)
    return Output(reduce_rows(np.asarray(per_row), case.get("reduction", "mean")))


def functions() -> list[PeerFunction]:
    return [
        PeerFunction(FRAMEWORK, "scipy.special.logsumexp", "logsumexp", _logsumexp),
        PeerFunction(FRAMEWORK, "scipy.special.log_softmax", "log_softmax", _log_softmax),
        PeerFunction(FRAMEWORK, "scipy.special.softmax", "log_softmax", _softmax, oracle_map=_exp_of),
        PeerFunction(FRAMEWORK, "scipy.stats.entropy(pk)", "softmax_entropy", _entropy),
        PeerFunction(FRAMEWORK, "scipy.stats.entropy(pk, qk)", "kl_divergence_logits", _kl),
    ]



