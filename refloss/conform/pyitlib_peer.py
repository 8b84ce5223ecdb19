r"""pyitlib's discrete measures (``pyitlib.discrete_random_variable``), adapted to refloss's conventions (values only:
pyitlib has no gradients).

On probabilities: ``entropy_pmf(P)``, ``entropy_cross_pmf(P, Q)`` and ``divergence_kullbackleibler_pmf(P, Q)`` are
:func:`refloss.entropy`, :func:`refloss.cross_entropy_pmf` and :func:`refloss.kl_divergence` of the numbers given,
distributions on the last axis (a batch in one call), called with ``require_valid_pmf=False`` so that pyitlib, like
refloss, does not ask them to sum to 1. pyitlib refuses an entry outside [0, 1]: such a case is not expressible.

On realisations (estimator ``"ML"``, the plug-in estimate from the frequencies): ``entropy(X)``, ``entropy_cross(X,
Y)``, ``divergence_kullbackleibler(X, Y)``, ``information_mutual(X, Y)``, ``entropy_conditional(Y, X)`` and
``information_multi(X)`` are refloss's :func:`~refloss.entropy`, :func:`~refloss.cross_entropy_pmf`,
:func:`~refloss.kl_divergence`, :func:`~refloss.mutual_information_pmf`, :func:`~refloss.conditional_entropy_pmf`
and :func:`~refloss.total_correlation_pmf` (the k variables one per axis of a k-variable table) of the frequencies
``c / N`` of the counts ``c`` the realisations have (pyitlib's ``entropy_conditional(A, B)`` is :math:`H(A \mid B)`:
here :math:`H(Y \mid X)`, refloss's, with ``X`` the rows of the table and ``Y`` its columns). A case's distributions
become counts as for scikit-learn's ``mutual_info_score`` (``sklearn_peer.as_frequencies``): kept where they already
are ``c / N`` in float64 with ``N <= 4096``, else rounded to counts on 1000 observations (the oracle is evaluated
for the case as changed). Outcome ``j`` (or cell ``(x, y)``) is realised ``c_j`` (``c_xy``) times; ``X`` and ``Y``
of the cross entropy and divergence are realisations of ``pk`` and of ``qk``, each with its own total (pyitlib
estimates each distribution from its own realisations, on the union of the outcomes observed). One call per
distribution (or pair, or table) of a batch.

Units: ``base=e`` gives nats, or the case's base as pyitlib's ``base`` (pyitlib takes logarithms to base 2 and
divides by ``log2(base)``).

Not adapted: pyitlib 0.3.1 has no Miller-Madow estimator (its estimators are ``"ML"``, a pseudo-count,
``"PERKS"``, ``"MINIMAX"``, ``"JAMES-STEIN"`` and ``"GOOD-TURING"``), so nothing is judged against
:func:`refloss.miller_madow_entropy`; the other estimators have no refloss entry.
"""

from __future__ import annotations

import math

import numpy as np

from ._judge import Output, PeerFunction
from .sklearn_peer import as_frequencies, counts_of, labels, per_distribution

FRAMEWORK = "pyitlib"


def version() -> str:
    from importlib import metadata

    return metadata.version("pyitlib")


def _drv():
    from pyitlib import discrete_random_variable

    return discrete_random_variable


def _base(case: dict) -> float:
    return math.e if case.get("base") is None else case["base"]


# -- on probabilities ------------------------------------------------------------------------------------------------


def _unit_interval(*names: str):
    """The case if every entry of ``names`` is in [0, 1] (pyitlib refuses others), else None."""
    def prepare(case: dict) -> dict | None:
        return case if all(np.asarray(case[n], dtype=np.float64).max(initial=0.0) <= 1 for n in names) else None

    return prepare


def _entropy_pmf(case: dict) -> Output:
    value = _drv().entropy_pmf(np.asarray(case["pk"], dtype=np.float64), base=_base(case), require_valid_pmf=False)
    return Output(np.asarray(value, dtype=np.float64))


def _entropy_cross_pmf(case: dict) -> Output:
    value = _drv().entropy_cross_pmf(np.asarray(case["pk"], dtype=np.float64), np.asarray(case["qk"], dtype=np.float64),
                                     base=_base(case), require_valid_pmf=False)
    return Output(np.asarray(value, dtype=np.float64))


def _divergence_kullbackleibler_pmf(case: dict) -> Output:
    value = _drv().divergence_kullbackleibler_pmf(np.asarray(case["pk"], dtype=np.float64),
                                                  np.asarray(case["qk"], dtype=np.float64), base=_base(case),
                                                  require_valid_pmf=False)
    return Output(np.asarray(value, dtype=np.float64))


# -- on realisations -------------------------------------------------------------------------------------------------


def _frequencies(names: tuple[str, ...], tail: int):
    """The case with each distribution of ``names`` as the frequencies of counts (:func:`as_frequencies`)."""
    def prepare(case: dict) -> dict | None:
        out = dict(case)
        for name in names:
            out[name] = as_frequencies(case[name], tail)
            if out[name] is None:
                return None
        return out

    return prepare


def _realisations(c: np.ndarray) -> np.ndarray:
    """Outcome ``j`` repeated ``c_j`` times."""
    return np.repeat(np.arange(c.size), c)


def _entropy(case: dict) -> Output:
    measure = lambda c: _drv().entropy(_realisations(c), base=_base(case), estimator="ML")  # noqa: E731
    return Output(per_distribution(case["pk"], 1, measure))


def _pairs(case: dict, measure) -> Output:
    """``measure(realisations of p, realisations of q)`` of each pair of distributions, shaped as the batch."""
    p, q = (np.asarray(case[n], dtype=np.float64) for n in ("pk", "qk"))
    values = [measure(_realisations(counts_of(a)), _realisations(counts_of(b)))
              for a, b in zip(p.reshape(-1, p.shape[-1]), q.reshape(-1, q.shape[-1]))]
    return Output(np.array(values, dtype=np.float64).reshape(p.shape[:-1]))


def _entropy_cross(case: dict) -> Output:
    return _pairs(case, lambda x, y: _drv().entropy_cross(x, y, base=_base(case), estimator="ML"))


def _divergence_kullbackleibler(case: dict) -> Output:
    return _pairs(case, lambda x, y: _drv().divergence_kullbackleibler(x, y, base=_base(case), estimator="ML"))


def _information_mutual(case: dict) -> Output:
    def measure(c):
        x, y = labels(c)
        return _drv().information_mutual(x, y, base=_base(case), estimator="ML")

    return Output(per_distribution(case["pxy"], 2, measure))


def _entropy_conditional(case: dict) -> Output:
    def measure(c):
        x, y = labels(c)
        return _drv().entropy_conditional(y, x, base=_base(case), estimator="ML")  # H(Y | X)

    return Output(per_distribution(case["pxy"], 2, measure))


def _variables(case: dict) -> int:
    p = np.asarray(case["pjoint"])
    return p.ndim if case.get("variables") is None else case["variables"]


def _joint_frequencies(case: dict) -> dict | None:
    """The case with each k-variable table as the frequencies of counts (:func:`as_frequencies`)."""
    pjoint = as_frequencies(case["pjoint"], _variables(case))
    return None if pjoint is None else {**case, "pjoint": pjoint}


def _information_multi(case: dict) -> Output:
    def measure(c):
        cells = np.indices(c.shape).reshape(c.ndim, -1)  # variable i's outcome in each cell
        return _drv().information_multi(np.repeat(cells, c.ravel(), axis=1), base=_base(case), estimator="ML")

    return Output(per_distribution(case["pjoint"], _variables(case), measure))


def functions() -> list[PeerFunction]:
    drv = "pyitlib.discrete_random_variable"
    return [PeerFunction(FRAMEWORK, f"{drv}.entropy_pmf", "entropy", _entropy_pmf, prepare=_unit_interval("pk")),
            PeerFunction(FRAMEWORK, f"{drv}.entropy_cross_pmf", "cross_entropy_pmf", _entropy_cross_pmf,
                         prepare=_unit_interval("pk", "qk")),
            PeerFunction(FRAMEWORK, f"{drv}.divergence_kullbackleibler_pmf", "kl_divergence",
                         _divergence_kullbackleibler_pmf, prepare=_unit_interval("pk", "qk")),
            PeerFunction(FRAMEWORK, f"{drv}.entropy (ML)", "entropy", _entropy, prepare=_frequencies(("pk",), 1)),
            PeerFunction(FRAMEWORK, f"{drv}.entropy_cross (ML)", "cross_entropy_pmf", _entropy_cross,
                         prepare=_frequencies(("pk", "qk"), 1)),
            PeerFunction(FRAMEWORK, f"{drv}.divergence_kullbackleibler (ML)", "kl_divergence",
                         _divergence_kullbackleibler, prepare=_frequencies(("pk", "qk"), 1)),
            PeerFunction(FRAMEWORK, f"{drv}.information_mutual (ML)", "mutual_information_pmf", _information_mutual,
                         prepare=_frequencies(("pxy",), 2)),
            PeerFunction(FRAMEWORK, f"{drv}.entropy_conditional(Y, X) (ML)", "conditional_entropy_pmf",
                         _entropy_conditional, prepare=_frequencies(("pxy",), 2)),
            PeerFunction(FRAMEWORK, f"{drv}.information_multi (ML)", "total_correlation_pmf", _information_multi,
                         prepare=_joint_frequencies)]
