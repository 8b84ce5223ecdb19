"""NPEET's kNN estimators (the maintained fork ``npeet-plus``), adapted to refloss's conventions (values only).

``mi(x, y, k=k)`` is KSG variant 1, ``mi(x, y, z, k=k)`` Frenzel and Pompe's conditional MI, ``entropy(x, k=k)``
Kozachenko-Leonenko in the max-norm and ``kldiv(x, y, k=k)`` Wang, Kulkarni and Verdu's divergence in the max-norm
(no noise there): the estimators of :func:`refloss.ksg_mutual_information`,
:func:`refloss.ksg_conditional_mutual_information`, :func:`refloss.kl_entropy` and
:func:`refloss.knn_kl_divergence`. The first three are judged with NPEET's tie-breaking noise (``1e-10 U(0, 1)``,
from NumPy's global generator, unseeded) switched off for the call, so that NPEET's own counts are judged on the
points as given; ``base=e`` gives nats. NPEET makes its counts strict by
shrinking the radius by an absolute 1e-15, which float64 does not resolve beyond distances of about 8.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from ._judge import Output, PeerFunction

FRAMEWORK = "npeet"


def version() -> str:
    from importlib import metadata

    return metadata.version("npeet-plus")


@contextlib.contextmanager
def _no_noise():
    from npeet_plus import estimators

    saved = estimators.add_noise
    estimators.add_noise = lambda x, intens=1e-10: x
    try:
        yield estimators
    finally:
        estimators.add_noise = saved


def _columns(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[0], -1)


def _ksg(case: dict) -> dict | None:
    """Variant 1 with the points as given, unclipped, nats or another base (NPEET's ``base``)."""
    if case.get("variant", 1) != 1 or case.get("jitter") is not None or case.get("clip_at_zero", False):
        return None
    return case


def _base(case: dict) -> float:
    return math.e if case.get("base") is None else case["base"]


def _mi(case: dict) -> Output:
    with _no_noise() as estimators, np.errstate(all="ignore"):
        value = estimators.mi(_columns(case["x"]), _columns(case["y"]), k=case.get("k", 3), base=_base(case))
    return Output(np.asarray(value, dtype=np.float64))


def _cmi(case: dict) -> Output:
    with _no_noise() as estimators, np.errstate(all="ignore"):
        value = estimators.mi(_columns(case["x"]), _columns(case["y"]), _columns(case["z"]), k=case.get("k", 3),
                              base=_base(case))
    return Output(np.asarray(value, dtype=np.float64))


def _max_norm(case: dict) -> dict | None:
    return case if case.get("norm", "max") == "max" else None


def _entropy(case: dict) -> Output:
    with _no_noise() as estimators, np.errstate(all="ignore"):
        value = estimators.entropy(_columns(case["x"]), k=case.get("k", 3), base=_base(case))
    return Output(np.asarray(value, dtype=np.float64))


def _kldiv(case: dict) -> Output:
    with _no_noise() as estimators, np.errstate(all="ignore"):
        value = estimators.kldiv(_columns(case["x"]), _columns(case["y"]), k=case.get("k", 3), base=_base(case))
    return Output(np.asarray(value, dtype=np.float64))


def _kldiv_expressible(case: dict) -> dict | None:
    """Max-norm, and more points of y than k (NPEET asserts k < min(N, M))."""
    return case if case.get("norm", "max") == "max" and len(case["y"]) > case.get("k", 3) else None


def functions() -> list[PeerFunction]:
    return [PeerFunction(FRAMEWORK, "npeet_plus.mi (noise off)", "ksg_mutual_information", _mi, prepare=_ksg),
            PeerFunction(FRAMEWORK, "npeet_plus.mi with z (noise off)", "ksg_conditional_mutual_information", _cmi,
                         prepare=_ksg),
            PeerFunction(FRAMEWORK, "npeet_plus.entropy (noise off)", "kl_entropy", _entropy, prepare=_max_norm),
            PeerFunction(FRAMEWORK, "npeet_plus.kldiv", "knn_kl_divergence", _kldiv, prepare=_kldiv_expressible)]
