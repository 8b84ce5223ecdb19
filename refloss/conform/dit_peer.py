r"""dit's ``other.tsallis_entropy``, its Shannon measures and its multivariate total correlation and O-information,
adapted to refloss's conventions (values only: dit has no gradients).

dit computes on a ``Distribution``, not on logits: each row becomes ``Distribution.from_ndarray(p)`` with
``p = exp(log_softmax(z))`` rounded to float64 (its API cannot see more; zero-probability outcomes are dropped,
as :math:`0^q = 0`). The order is ``order=q``; refloss's reductions (mean or sum over rows) are applied to dit's
per-row results. dit evaluates :math:`(1 - \sum_c p_c^q)/(q - 1)` as written, and Shannon's entropy (in bits,
converted to nats) at ``q = 1``. Near :math:`q = 1` the numerator's rounding (an ulp of 1) is divided by
:math:`q - 1`: at :math:`q = 1 + 2^{-40}` dit returns :math:`2^{-13}` for an exact :math:`7.2 \cdot 10^{-10}`, which the
judge's rule (the error measured against the terms of the result) records as a mismatch, not a loss of
precision: the record keeps it as a finding. The same holds for ``tsallis_entropy`` of a pmf.

The discrete family's pmfs (``entropy``, ``tsallis_entropy``, the joint tables of ``mutual_information_pmf`` and
``conditional_entropy_pmf``, the k-variable tables of ``total_correlation_pmf`` and ``o_information_pmf``, one
variable per axis) are passed as they are, one ``Distribution.from_ndarray`` per distribution of a batch; dit
refuses an unnormalised distribution, so only the cases whose distributions sum to 1 within 1e-12 are judged, and
dit's bits are mapped to refloss's unit.
"""

from __future__ import annotations

import numpy as np

from ..softmax.log_softmax import log_softmax
from ._judge import Output, PeerFunction
from .conventions import reduce_rows

FRAMEWORK = "dit"


def version() -> str:
    from importlib import metadata

    return metadata.version("dit")


def _tsallis(case: dict) -> Output:
    import dit
    from dit.other import tsallis_entropy

    p = np.exp(log_softmax(case["logits"]))
    rows = p.reshape(-1, p.shape[-1])
    per_row = np.array([tsallis_entropy(dit.Distribution.from_ndarray(row), case.get("q", 2.0)) for row in rows],
                       dtype=np.float64).reshape(p.shape[:-1])
    return Output(reduce_rows(per_row, case.get("reduction", "mean")))


# -- the discrete family: probabilities as given, in bits ----------------------------------------------------------


def _normalised(name: str):
    """A case whose distributions (rows of ``name``, or tables) dit accepts: each sums to 1 within 1e-12 (dit
    refuses an unnormalised distribution), nats or a base (dit computes in bits: the exact value is mapped)."""
    def prepare(case: dict) -> dict | None:
        p = np.asarray(case[name], dtype=np.float64)
        axes = (-1,) if name == "pk" else (-2, -1)
        return case if np.all(np.abs(p.sum(axis=axes) - 1.0) <= 1e-12) else None

    return prepare


def _in_bits(exact, scale, case: dict):
    """refloss's unit (nats, or the case's base) to dit's bits."""
    factor = (1.0 if case.get("base") is None else np.log(case["base"])) / np.log(2.0)
    return exact * factor, scale * factor


def _per_distribution(p: np.ndarray, tail: int, measure) -> np.ndarray:
    import dit

    batch = p.shape[:p.ndim - tail]
    rows = p.reshape((-1,) + p.shape[p.ndim - tail:])
    return np.array([measure(dit.Distribution.from_ndarray(row)) for row in rows], dtype=np.float64).reshape(batch)


def _shannon_entropy(case: dict) -> Output:
    from dit.shannon import entropy

    return Output(_per_distribution(np.asarray(case["pk"], dtype=np.float64), 1, entropy))


def _tsallis_pmf(case: dict) -> Output:
    from dit.other import tsallis_entropy

    measure = lambda d: tsallis_entropy(d, case.get("q", 2.0))  # noqa: E731 - no unit: nothing to map
    return Output(_per_distribution(np.asarray(case["pk"], dtype=np.float64), 1, measure))


def _variables(case: dict) -> int:
    p = np.asarray(case["pjoint"])
    return p.ndim if case.get("variables") is None else case["variables"]


def _total_correlation(case: dict) -> Output:
    from dit.multivariate import total_correlation

    return Output(_per_distribution(np.asarray(case["pjoint"], dtype=np.float64), _variables(case),
                                    total_correlation))


def _o_information(case: dict) -> Output:
    from dit.multivariate import o_information

    return Output(_per_distribution(np.asarray(case["pjoint"], dtype=np.float64), _variables(case), o_information))


def _normalised_joint(case: dict) -> dict | None:
    """A case whose tables (the last ``variables`` axes) each sum to 1 within 1e-12, as dit requires."""
    p = np.asarray(case["pjoint"], dtype=np.float64)
    axes = tuple(range(p.ndim - _variables(case), p.ndim))
    return case if np.all(np.abs(p.sum(axis=axes) - 1.0) <= 1e-12) else None


def _mutual_information(case: dict) -> Output:
    from dit.shannon import mutual_information

    measure = lambda d: mutual_information(d, [0], [1])  # noqa: E731 - rows x, columns y
    return Output(_per_distribution(np.asarray(case["pxy"], dtype=np.float64), 2, measure))


def _conditional_entropy(case: dict) -> Output:
    from dit.shannon import conditional_entropy

    measure = lambda d: conditional_entropy(d, [1], [0])  # noqa: E731 - H(Y | X), Y the columns
    return Output(_per_distribution(np.asarray(case["pxy"], dtype=np.float64), 2, measure))


def functions() -> list[PeerFunction]:
    return [PeerFunction(FRAMEWORK, "dit.other.tsallis_entropy", "softmax_tsallis_entropy", _tsallis),
            PeerFunction(FRAMEWORK, "dit.shannon.entropy", "entropy", _shannon_entropy, prepare=_normalised("pk"),
                         oracle_map=_in_bits),
            PeerFunction(FRAMEWORK, "dit.other.tsallis_entropy", "tsallis_entropy", _tsallis_pmf,
                         prepare=_normalised("pk")),
            PeerFunction(FRAMEWORK, "dit.shannon.mutual_information", "mutual_information_pmf", _mutual_information,
                         prepare=_normalised("pxy"), oracle_map=_in_bits),
            PeerFunction(FRAMEWORK, "dit.shannon.conditional_entropy", "conditional_entropy_pmf",
                         _conditional_entropy, prepare=_normalised("pxy"), oracle_map=_in_bits),
            PeerFunction(FRAMEWORK, "dit.multivariate.total_correlation", "total_correlation_pmf",
                         _total_correlation, prepare=_normalised_joint, oracle_map=_in_bits),
            PeerFunction(FRAMEWORK, "dit.multivariate.o_information", "o_information_pmf", _o_information,
                         prepare=_normalised_joint, oracle_map=_in_bits)]
