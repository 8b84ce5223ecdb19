"""SciPy's own functions, adapted to refloss's conventions (values only: SciPy has no gradients).

Mappings, each written once here: ``scipy.stats.entropy`` takes probabilities, not logits, so it receives
``exp(log_softmax(z))`` rounded to float64 (its API cannot see more); ``entropy(pk, qk)`` is KL(pk || qk);
the reductions of refloss's entropy and KL (mean or sum over rows) are applied to SciPy's per-row results. The
discrete family's ``entropy`` and ``kl_divergence`` take the probabilities themselves, as SciPy does, with
``axis=-1``; SciPy normalises them first (a declared convention with its exact mapping).
"""

from __future__ import annotations

import numpy as np

from ..softmax.log_softmax import log_softmax
from ._judge import Output, PeerFunction
from .conventions import SCIPY_NORMALISES_PK, SCIPY_NORMALISES_PK_AND_QK, reduce_rows

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


# -- the discrete family: stats.entropy on probabilities as given (refloss's entropy and kl_divergence) ------------


def _expressible_pmf(*names):
    """The case, where SciPy's normalisation of every row exists (a finite sum above 0), else None."""
    def prepare(case: dict) -> dict | None:
        sums = [np.asarray(case[name], dtype=np.float64).sum(axis=-1) for name in names]
        return case if all((np.isfinite(s) & (s > 0)).all() for s in sums) else None

    return prepare


def _entropy_pmf(case: dict) -> Output:
    from scipy import stats

    return Output(np.asarray(stats.entropy(case["pk"], base=case.get("base"), axis=-1)))


def _kl_pmf(case: dict) -> Output:
    from scipy import stats

    return Output(np.asarray(stats.entropy(case["pk"], case["qk"], base=case.get("base"), axis=-1)))


def functions() -> list[PeerFunction]:
    return [
        PeerFunction(FRAMEWORK, "scipy.special.logsumexp", "logsumexp", _logsumexp, options=("axis",)),
        PeerFunction(FRAMEWORK, "scipy.special.log_softmax", "log_softmax", _log_softmax, options=("axis",)),
        PeerFunction(FRAMEWORK, "scipy.special.softmax", "softmax", _softmax, options=("axis",)),
        PeerFunction(FRAMEWORK, "scipy.stats.entropy(pk)", "softmax_entropy", _entropy, options=("axis",)),
        PeerFunction(FRAMEWORK, "scipy.stats.entropy(pk, qk)", "kl_divergence_logits", _kl, options=("axis",)),
        PeerFunction(FRAMEWORK, "scipy.stats.entropy(pk), probabilities", "entropy", _entropy_pmf,
                     prepare=_expressible_pmf("pk"), conventions=(SCIPY_NORMALISES_PK,)),
        PeerFunction(FRAMEWORK, "scipy.stats.entropy(pk, qk), probabilities", "kl_divergence", _kl_pmf,
                     prepare=_expressible_pmf("pk", "qk"), conventions=(SCIPY_NORMALISES_PK_AND_QK,)),
    ]
