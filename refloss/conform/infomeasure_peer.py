"""infomeasure's kNN estimators, adapted to refloss's conventions (values only).

``mutual_information(x, y, approach="ksg", k=k, ksg_id=1|2)``, ``conditional_mutual_information(x, y, cond=z,
approach="ksg", k=k)`` and ``entropy(x, approach="kl", k=k, minkowski_p=inf|2)`` are the estimators of
:func:`refloss.ksg_mutual_information` (variants 1 and 2), :func:`refloss.ksg_conditional_mutual_information` and
:func:`refloss.kl_entropy` (max-norm and Euclidean). Each is called with ``noise_level=0`` (no tie-breaking noise:
infomeasure's own counts on the points as given) and ``base="e"`` (nats), or the case's base.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._judge import Output, PeerFunction

FRAMEWORK = "infomeasure"


def version() -> str:
    import infomeasure

    return infomeasure.__version__


def _columns(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(a.shape[0], -1)


def _base(case: dict):
    return "e" if case.get("base") is None else case["base"]


def _as_given(case: dict) -> dict | None:
    """The estimate on the points as given, unclipped (infomeasure neither jitters at noise_level=0 nor clips)."""
    return None if case.get("jitter") is not None or case.get("clip_at_zero", False) else case


def _call(fn, *args, **kwargs) -> Output:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return Output(np.asarray(fn(*args, noise_level=0, **kwargs), dtype=np.float64))


def _mi(case: dict) -> Output:
    import infomeasure as im

    return _call(im.mutual_information, _columns(case["x"]), _columns(case["y"]), approach="ksg",
                 k=case.get("k", 3), ksg_id=case.get("variant", 1), base=_base(case))


def _cmi(case: dict) -> Output:
    import infomeasure as im

    return _call(im.conditional_mutual_information, _columns(case["x"]), _columns(case["y"]),
                 cond=_columns(case["z"]), approach="ksg", k=case.get("k", 3), base=_base(case))


def _entropy(case: dict) -> Output:
    import infomeasure as im

    p = math.inf if case.get("norm", "max") == "max" else 2
    return _call(im.entropy, _columns(case["x"]), approach="kl", k=case.get("k", 3), minkowski_p=p,
                 base=_base(case))


def functions() -> list[PeerFunction]:
    return [PeerFunction(FRAMEWORK, "infomeasure.mutual_information (ksg)", "ksg_mutual_information", _mi,
                         prepare=_as_given),
            PeerFunction(FRAMEWORK, "infomeasure.conditional_mutual_information (ksg)",
                         "ksg_conditional_mutual_information", _cmi, prepare=_as_given),
            PeerFunction(FRAMEWORK, "infomeasure.entropy (kl)", "kl_entropy", _entropy)]
