"""``knn_kl_divergence``: Wang, Kulkarni and Verdu's kNN estimate of KL(P || Q); value, gradients, registration."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _validate as v
from ..._registry import Paper, Param, gradient_of, register
from ..entropy._common import _BASE, _log_base
from ._common import NORMS, K, max_norm_keys, nearest, nearest_among, points

WANG = Paper("Divergence estimation for multidimensional densities via k-nearest-neighbor distances",
             where="Q. Wang, S. R. Kulkarni, S. Verdu, IEEE Trans. Inf. Theory 55(5), 2392-2405 (2009), eq. (5)")


class KnnKlDivergenceGrad(NamedTuple):
    """The gradient of :func:`knn_kl_divergence` w.r.t. each sample set, in its shape."""

    x: np.ndarray
    y: np.ndarray


def _inputs(x, y, k, norm, base):
    k = v.integer_in(k, K.domain, "k")
    norm = v.choice(norm, NORMS, "norm")
    log_base = _log_base(base)
    xs = points(x, "x", k)
    ys = v.samples(y, "y", at_least=k)
    if ys.shape[1] != xs.shape[1]:
        raise v.RefLossError(f"y must hold points of x's dimension {xs.shape[1]}, got {ys.shape[1]}")
    return xs, ys, k, norm, log_base


def _log_distances(a: np.ndarray, b: np.ndarray, norm: str):
    """Row by row: the difference a - b, its largest magnitude and log ||a - b|| (scaled: no over- or underflow)."""
    diff = a - b
    with np.errstate(over="ignore"):
        overflow = ~np.isfinite(diff)
        if overflow.any():
            diff = np.where(overflow, a / 2 - b / 2, diff)
    largest = np.abs(diff).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(largest) + np.log(2.0) * overflow.any(axis=1)
        if norm == "euclidean":
            unit = diff / largest[:, None]
            logs = logs + 0.5 * np.log1p(np.maximum((unit * unit).sum(axis=1) - 1.0, 0.0))
    return diff, largest, logs


def _terms(xs, ys, k, norm):
    within = nearest(xs, k, norm).members[:, -1]  # rho_k(i): the k-th nearest other x
    across = nearest_among(xs, ys, k, norm)[:, -1]  # nu_k(i): the k-th nearest y
    return within, across, _log_distances(xs, xs[within], norm), _log_distances(xs, ys[across], norm)


@register(
    name="knn_kl_divergence",
    family="knn",
    wrt=("x", "y"),
    params=(Param("x", v.SAMPLES, "samples of P (N, d)"), Param("y", v.SAMPLES, "samples of Q (M, d)"), K,
            Param("norm", NORMS, "the norm of the distances"), Param("base", _BASE, "None: nats; 2: bits",
                                                                      optional=True)),
    paper=WANG,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the gradient: points closer than about 1e-308 pull beyond the float64 range",
)
def knn_kl_divergence(x: ArrayLike, y: ArrayLike, *, k: int = 3, norm: str = "max",
                      base: float | None = None) -> float:
    r"""Wang, Kulkarni and Verdu's k-nearest-neighbour estimate of :math:`D(P \,\|\, Q)` from samples x ~ P, y ~ Q.

    .. math:: \hat D = \log\frac{M}{N - 1} + \frac{d}{N} \sum_{i=1}^N \big[\log \nu_k(i) - \log \rho_k(i)\big]

    with :math:`\rho_k(i)` the distance from :math:`x_i` to its k-th nearest other point of x, :math:`\nu_k(i)` to
    its k-th nearest point of y, N and M the sizes of x and y. The paper uses the Euclidean norm; the estimator is
    the same for any norm (the volumes of the two balls cancel), and NPEET's ``kldiv`` uses the max-norm, the
    default here. Neighbours are decided on the exact distances (the family's conventions). A point of x with k
    points of y at distance 0 gives :math:`-\infty`, one with k other points of x at distance 0 gives
    :math:`+\infty`; neither has a gradient. Gradients: :func:`knn_kl_divergence_grad`, w.r.t. both sample sets.

    Args:
        x: samples of P, ``(N, d)`` (or ``(N,)``), more than k of them.
        y: samples of Q, ``(M, d)``, at least k of them.
        k: the neighbour whose distance is each radius.
        norm: ``"max"`` (default) or ``"euclidean"``.
        base: ``None`` (nats) or the base of the logarithm.

    >>> round(knn_kl_divergence([0.0, 1.0, 2.0], [0.5, 1.5, 2.5], k=1), 12)  # log(3/2) + (1/3) sum log(1/2 / 1)
    -0.287682072452
    """
    xs, ys, k, norm, log_base = _inputs(x, y, k, norm, base)
    n, d = xs.shape
    _, _, (_, _, log_rho), (_, _, log_nu) = _terms(xs, ys, k, norm)
    rho_zero, nu_zero = np.isneginf(log_rho).any(), np.isneginf(log_nu).any()
    if rho_zero and nu_zero:
        raise v.RefLossError("x has a point at distance 0 from k other points of x and one at distance 0 from k "
                             "points of y: the estimate is inf - inf, undefined")
    if rho_zero or nu_zero:
        return math.inf if rho_zero else -math.inf
    value = math.fsum([math.log(len(ys)) - math.log(n - 1), d * (math.fsum(log_nu) - math.fsum(log_rho)) / n])
    return value / log_base


@gradient_of("knn_kl_divergence")
def knn_kl_divergence_grad(x: ArrayLike, y: ArrayLike, *, k: int = 3, norm: str = "max",
                           base: float | None = None) -> KnnKlDivergenceGrad:
    r"""Gradient of :func:`knn_kl_divergence` w.r.t. ``x`` and ``y`` (a NamedTuple, each in its input's shape).

    Each :math:`\log \rho_k(i)` moves :math:`x_i` and its neighbour in x, each :math:`\log \nu_k(i)` moves
    :math:`x_i` and its neighbour in y, as in :func:`kl_entropy_grad` (the max-norm's attaining coordinate, the
    first of equal ones; ties of neighbours chosen by index, where the estimate is not differentiable).

    >>> knn_kl_divergence_grad([0.0, 1.0, 2.0], [0.5, 1.5, 2.5], k=1).y  # y_0 is x_0's and x_1's neighbour
    array([ 0.        , -0.66666667,  0.        ])
    """
    xs, ys, k, norm, log_base = _inputs(x, y, k, norm, base)
    n, d = xs.shape
    within, across, rho, nu = _terms(xs, ys, k, norm)
    if np.isneginf(rho[2]).any() or np.isneginf(nu[2]).any():
        raise v.RefLossError("x has points at distance 0 from k neighbours: the estimate is infinite and has no "
                             "gradient")
    factor = d / n / log_base
    gx, gy = np.zeros_like(xs), np.zeros_like(ys)
    with np.errstate(over="ignore", invalid="ignore"):
        step_rho = _step(xs, xs[within], rho, norm, factor)
        step_nu = _step(xs, ys[across], nu, norm, factor)
        gx += step_nu - step_rho
        np.add.at(gx, within, step_rho)
        np.add.at(gy, across, -step_nu)
    if np.isnan(gx).any() or np.isnan(gy).any():
        raise v.RefLossError("x has points closer than about 1e-308 whose gradient terms exceed the float64 range "
                             "with both signs; refloss does not compute this gradient (scale the samples)")
    return KnnKlDivergenceGrad(gx.reshape(np.shape(x)), gy.reshape(np.shape(y)))


def _step(a, b, parts, norm, factor):
    """factor * grad_a log ||a - b|| row by row (the attaining coordinate in the max-norm)."""
    diff, largest, _ = parts
    if norm == "max":
        step = np.zeros_like(a)
        rows = np.arange(len(a))
        coordinate = max_norm_keys(b, a)[2]
        step[rows, coordinate] = factor / diff[rows, coordinate]
        return step
    unit = diff / largest[:, None]
    return (factor / largest)[:, None] * (unit / (unit * unit).sum(axis=1)[:, None])


def _draws(extreme: bool):
    from ... import _cases as cases
    from .kl_entropy import _well_separated

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        n, m, d = drawn(st.integers(3, 5)), drawn(st.integers(3, 5)), drawn(st.integers(1, 2))
        k, norm = drawn(st.integers(1, min(3, n - 1, m))), drawn(st.sampled_from(["max", "euclidean"]))
        scale = drawn(st.sampled_from([1.0, 1e3] + ([1e-3, 1e150, 1e-150] if extreme else [])))
        rng = np.random.default_rng(drawn(st.integers(0, 2**32 - 1)))
        for _ in range(200):  # distinct cells of one centred grid for both sets, jittered: distances of 0.6 or
            # more, coordinates of at most n + m (a finite difference steps 1e-3 |x|)
            cells = np.stack([rng.permutation(2 * (n + m))[: n + m] for _ in range(d)], axis=1) - (n + m)
            both = cells + rng.uniform(-0.2, 0.2, (n + m, d))
            if _well_separated(both, k, norm) and _well_separated(both[:n], k, norm):
                break
        return {"x": scale * both[:n], "y": scale * both[n:], "k": k, "norm": norm,
                "base": drawn(st.sampled_from([None, 2.0]))}

    return draw()


def _stress() -> dict:
    rng = np.random.default_rng(0)
    p, q = rng.standard_normal((10, 2)), 1.5 * rng.standard_normal((12, 2)) + 0.5
    line = np.array([0.0, 1.0, 3.0, 7.0, 12.0, 20.0])
    return {
        "gaussians_2d": {"x": p, "y": q},  # the defaults: k = 3, max-norm, nats
        "gaussians_2d__euclidean": {"x": p, "y": q, "norm": "euclidean"},
        "gaussians_2d__k_1__bits": {"x": p, "y": q, "k": 1, "base": 2.0},
        "same_points_shifted_1e-9": {"x": line, "y": line + 1e-9, "k": 2},  # nu tiny: large, finite
        "one_dimensional": {"x": line, "y": line[::-1] * 0.5 + 0.25, "k": 2},
        "translated_by_1e6": {"x": p + 1e6, "y": q + 1e6, "k": 2},
    }


def _extreme() -> dict:
    return {
        "coordinates_near_1e308": {"x": np.array([1.7e308, -1.7e308, 1e308, 0.0]),
                                   "y": np.array([-1e308, 5e307, 1.5e308]), "k": 1},
        "distances_1e-300": {"x": np.array([1e-300, 2e-300, 5e-300, 0.0, 8e-300]),
                             "y": np.array([3e-300, 7e-300, -1e-300]), "k": 2},
    }
