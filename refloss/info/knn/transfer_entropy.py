"""``transfer_entropy``: the kNN (Frenzel-Pompe) estimate of Schreiber's transfer entropy; value, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Paper, Param, register
from ..entropy._common import _BASE
from ._common import K
from .ksg_conditional_mutual_information import ksg_conditional_mutual_information

SCHREIBER = Paper("Measuring information transfer", arxiv="nlin/0001042",
                  where="T. Schreiber, Phys. Rev. Lett. 85, 461 (2000), eq. 4; estimated as a conditional mutual "
                        "information by the kNN estimator of Frenzel and Pompe (2007), with JIDT's lag convention")

LAG = v.Integers(1)


def lagged(source: np.ndarray, target: np.ndarray, target_history: int, source_history: int, delay: int):
    """The samples of TE = I(Y_t ; X_{t-delay}^{(source_history)} | Y_{t-1}^{(target_history)}): for every t with
    a full history, the future y_t, the source's past x_{t-delay}, ..., x_{t-delay-source_history+1} and the
    target's past y_{t-1}, ..., y_{t-target_history} (each a row; a d-dimensional series gives d columns a lag)."""
    start = max(target_history, delay + source_history - 1)
    t = np.arange(start, len(target))
    future = target[t]
    source_past = np.hstack([source[t - delay - j] for j in range(source_history)])
    target_past = np.hstack([target[t - 1 - j] for j in range(target_history)])
    return future, source_past, target_past


def _series(a, name: str) -> np.ndarray:
    return v.samples(a, name, at_least=1)


@register(
    name="transfer_entropy",
    family="knn",
    params=(Param("source", v.SAMPLES, "the series X (T,) or (T, d), one time step per row"),
            Param("target", v.SAMPLES, "the series Y (T,) or (T, d), row t at the time of row t of source"), K,
            Param("target_history", LAG, "l: the target's past y_{t-1}, ..., y_{t-l}"),
            Param("source_history", LAG, "m: the source's past x_{t-u}, ..., x_{t-u-m+1}"),
            Param("delay", LAG, "u: the source-target delay (1: x_{t-1} acts on y_t)"),
            Param("base", _BASE, "None: nats; 2: bits", optional=True)),
    paper=SCHREIBER,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    no_gradient="a function of neighbour counts: piecewise constant in the samples, its derivative 0 where it "
                "has one",
)
def transfer_entropy(source: ArrayLike, target: ArrayLike, *, k: int = 3, target_history: int = 1,
                     source_history: int = 1, delay: int = 1, base: float | None = None) -> float:
    r"""Transfer entropy from ``source`` X to ``target`` Y (Schreiber 2000), estimated by kNN, in nats.

    .. math:: T_{X \to Y} = I\big(Y_t ;\, X^{(m)}_{t-u} \,\big|\, Y^{(l)}_{t-1}\big)

    with the target's past :math:`Y^{(l)}_{t-1} = (y_{t-1}, \dots, y_{t-l})`, the source's past
    :math:`X^{(m)}_{t-u} = (x_{t-u}, \dots, x_{t-u-m+1})` and the delay :math:`u \ge 1` (JIDT's ``k``, ``l`` and
    ``delay``, embedding delays 1), on every t with a full history, estimated by
    :func:`ksg_conditional_mutual_information` (strict counts, max-norm, no noise, no clipping: a TE near 0 may be
    negative). The direction is X to Y: swapping the arguments gives the other direction.

    Args:
        source, target: series ``(T,)`` or ``(T, d)``, row t of each at time t.
        k: the neighbour that sets each point's radius.
        target_history, source_history, delay: l, m and u above (each >= 1).
        base: ``None`` (nats) or the base of the logarithm.

    >>> rng = __import__("numpy").random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = 0.8 * __import__("numpy").roll(x, 1) + 0.6 * rng.standard_normal(2000)  # y_t = 0.8 x_{t-1} + noise
    >>> transfer_entropy(x, y) > 0.4 > abs(transfer_entropy(y, x))  # I = -1/2 log(1 - 0.64) = 0.51 one way only
    True
    """
    k = v.integer_in(k, K.domain, "k")
    lags = {name: v.integer_in(value, LAG, name) for name, value in
            (("target_history", target_history), ("source_history", source_history), ("delay", delay))}
    xs, ys = _series(source, "source"), _series(target, "target")
    if xs.shape[0] != ys.shape[0]:
        raise v.RefLossError(f"target must hold one row per row of source ({xs.shape[0]}), got {ys.shape[0]}")
    start = max(lags["target_history"], lags["delay"] + lags["source_history"] - 1)
    if len(xs) - start < k + 1:
        raise v.RefLossError(f"source has {len(xs)} time steps: with these histories {len(xs) - start} samples "
                             f"remain, and k = {k} needs at least {k + 1}")
    future, source_past, target_past = lagged(xs, ys, **lags)
    return ksg_conditional_mutual_information(future, source_past, target_past, k=k, base=base)


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        n = drawn(st.integers(7, 12))
        bound = 1e6 if extreme else 10.0
        values = drawn(st.sampled_from([st.floats(-bound, bound, allow_nan=False), st.integers(-2, 2).map(float)]))
        return {"source": np.array([drawn(values) for _ in range(n)]),
                "target": np.array([drawn(values) for _ in range(n)]),
                "k": drawn(st.integers(1, 2)), "target_history": drawn(st.integers(1, 2)),
                "source_history": drawn(st.integers(1, 2)), "delay": drawn(st.integers(1, 2)),
                "base": drawn(st.sampled_from([None, 2.0]))}

    return draw()


def _stress() -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16)
    y = 0.8 * np.roll(x, 1) + 0.6 * rng.standard_normal(16)  # y_t = 0.8 x_{t-1} + noise
    grid = np.array([0.0, 1.0, 0.0, 2.0, 1.0, 1.0, 0.0, 2.0, 2.0, 0.0, 1.0, 2.0])
    return {
        "coupled": {"source": x, "target": y},  # the defaults: k = 3, l = m = u = 1, nats
        "coupled__reverse": {"source": y, "target": x},
        "coupled__histories_2_delay_2__bits": {"source": x, "target": y, "k": 2, "target_history": 2,
                                               "source_history": 2, "delay": 2, "base": 2.0},
        "grid_ties": {"source": grid, "target": grid[::-1].copy(), "k": 2},
        "two_dimensional_source": {"source": np.stack([x, y], axis=1), "target": y, "k": 2},
    }


def _extreme() -> dict:
    huge = np.array([1.7e308, -1.7e308, 1e308, 0.0, -5e307, 8.9e307, 3e307, -1e308])
    tiny = np.array([5e-324, 1e-323, 0.0, -5e-324, 2.5e-323, 1.5e-323, 3e-323, -1e-323])
    return {
        "values_near_1e308": {"source": huge, "target": huge[::-1].copy(), "k": 2},
        "subnormal_values": {"source": tiny, "target": tiny[[2, 0, 4, 1, 5, 3, 7, 6]], "k": 2},
    }
