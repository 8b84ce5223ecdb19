r"""dit's ``other.tsallis_entropy``, adapted to refloss's conventions (a value only: dit has no gradients).

dit computes on a ``Distribution``, not on logits: each row becomes ``Distribution.from_ndarray(p)`` with
``p = exp(log_softmax(z))`` rounded to float64 (its API cannot see more; zero-probability outcomes are dropped,
as :math:`0^q = 0`). The order is ``order=q``; refloss's reductions (mean or sum over rows) are applied to dit's
per-row results. dit evaluates :math:`(1 - \sum_c p_c^q)/(q - 1)` as written, and Shannon's entropy (in bits,
converted to nats) at ``q = 1``. Near :math:`q = 1` the numerator's rounding (an ulp of 1) is divided by
:math:`q - 1`: at :math:`q = 1 + 2^{-40}` dit returns :math:`2^{-13}` for an exact :math:`7.2 \cdot 10^{-10}`, which the
judge's rule (the error measured against the terms of the result) records as a mismatch, not a loss of
precision: the record keeps it as a finding.
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


def functions() -> list[PeerFunction]:
    return [PeerFunction(FRAMEWORK, "dit.other.tsallis_entropy", "softmax_tsallis_entropy", _tsallis)]
