"""SciPy's own functions, adapted to refloss's conventions (values only: SciPy has no gradients).

Mappings, each written once here: ``scipy.stats.entropy`` takes probabilities, not logits, so it receives
``exp(log_softmax(z))`` rounded to float64 (its API cannot see more); ``entropy(pk, qk)`` is KL(pk || qk);
the reductions of refloss's entropy and KL (mean or sum over rows) are applied to SciPy's per-row results.
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


def _probabilities(logits, axis: int = -1) -> np.ndarray:
    return np.exp(log_softmax(logits, axis=axis))


def _logsumexp(case: dict) -> Output:
    from scipy import special

    out = special.logsumexp(case["logits"], axis=case.get("axis", -1), b=case.get("b"),
                            return_sign=case.get("return_sign", False))
    return Output(np.asarray(out))  # (value, sign) stacked, as refloss's checks read a returned pair


def _log_softmax(case: dict) -> Output:
    from scipy import special

    return Output(special.log_softmax(case["logits"], axis=case.get("axis", -1)))


def _softmax(case: dict) -> Output:
    from scipy import special

    return Output(special.softmax(case["logits"], axis=case.get("axis", -1)))


def _entropy(case: dict) -> Output:
    from scipy import stats

    axis = case.get("axis", -1)
    per_row = stats.entropy(_probabilities(case["logits"], axis), base=case.get("base"), axis=axis)
    return Output(reduce_rows(np.asarray(per_row), case.get("reduction", "mean")))


def _kl(case: dict) -> Output:
    from scipy import stats

    axis = case.get("axis", -1)
    per_row = stats.entropy(_probabilities(case["p_logits"], axis), _probabilities(case["q_logits"], axis),
                            base=case.get("base"), axis=axis)
    return Output(reduce_rows(np.asarray(per_row), case.get("reduction", "mean")))


def functions() -> list[PeerFunction]:
    return [
        PeerFunction(FRAMEWORK, "scipy.special.logsumexp", "logsumexp", _logsumexp, options=("axis",)),
        PeerFunction(FRAMEWORK, "scipy.special.log_softmax", "log_softmax", _log_softmax, options=("axis",)),
        PeerFunction(FRAMEWORK, "scipy.special.softmax", "softmax", _softmax, options=("axis",)),
        PeerFunction(FRAMEWORK, "scipy.stats.entropy(pk)", "softmax_entropy", _entropy, options=("axis",)),
        PeerFunction(FRAMEWORK, "scipy.stats.entropy(pk, qk)", "kl_divergence_logits", _kl, options=("axis",)),
    ]



