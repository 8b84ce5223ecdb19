"""``kl_entropy``: the Kozachenko-Leonenko estimate of a differential entropy; value, gradient, registration."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from ... import _validate as v
from ..._registry import Paper, Param, gradient_of, register
from ..entropy._common import _BASE, _log_base
from ._common import NORMS, K, max_norm_keys, nearest, points

KOZACHENKO = Paper("Sample estimate of the entropy of a random vector",
                   where="L. F. Kozachenko, N. N. Leonenko, Probl. Peredachi Inf. 23(2), 1987; in the form of "
                         "Kraskov, Stoegbauer, Grassberger, Phys. Rev. E 69, 066138 (2004), eq. 20")


def log_unit_ball(d: int, norm: str) -> float:
    """log c_d, the volume of the unit ball: 2^d in the max-norm (a cube of side 2), pi^(d/2) / Gamma(d/2 + 1) in
    the Euclidean norm."""
    return d * math.log(2.0) if norm == "max" else 0.5 * d * math.log(math.pi) - float(gammaln(0.5 * d + 1))


def _inputs(x, k, norm, base):
    k = v.integer_in(k, K.domain, "k")
    norm = v.choice(norm, NORMS, "norm")
    log_base = _log_base(base)
    xs = points(x, "x", k)
    return xs, k, norm, log_base


def _offsets(xs: np.ndarray, k: int, norm: str):
    """Each point's k-th neighbour, the difference x_i - x_j to it, and log eps_i (eps_i = ||x_i - x_j||), scaled by
    the largest coordinate difference so that nothing over- or underflows."""
    kth = nearest(xs, k, norm).members[:, -1]
    diff = xs - xs[kth]
    with np.errstate(over="ignore"):  # a difference beyond the float64 range: halve both points first
        overflow = ~np.isfinite(diff)
        if overflow.any():
            diff = np.where(overflow, xs / 2 - xs[kth] / 2, diff)
    largest = np.abs(diff).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_eps = np.log(largest) + np.log(2.0) * overflow.any(axis=1)
        if norm == "euclidean":
            unit = diff / largest[:, None]
            rest = (unit * unit).sum(axis=1) - 1.0  # the other coordinates' share, (unit at the largest) = 1
            log_eps = log_eps + 0.5 * np.log1p(np.maximum(rest, 0.0))
    return kth, diff, largest, log_eps


@register(
    name="kl_entropy",
    family="knn",
    wrt=("x",),
    params=(Param("x", v.SAMPLES), K, Param("norm", NORMS, "the norm of the distances (and of the unit ball)"),
            Param("base", _BASE, "None: nats; 2: bits", optional=True)),
    paper=KOZACHENKO,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    shift_invariant=("x",),
    overflow="the gradient: two points closer than about 1e-308 pull beyond the float64 range (d / (N (x_i - x_j)))",
)
def kl_entropy(x: ArrayLike, *, k: int = 3, norm: str = "max", base: float | None = None) -> float:
    r"""The Kozachenko-Leonenko k-nearest-neighbour estimate of the differential entropy of the samples, in nats.

    .. math:: \hat H = \psi(N) - \psi(k) + \log c_d + \frac{d}{N} \sum_{i=1}^N \log \epsilon_i

    with :math:`\epsilon_i` the distance from point i to its k-th nearest other point and :math:`c_d` the volume
    of the unit ball of the norm: :math:`2^d` in the max-norm (default; NPEET's and Kraskov's choice), where the
    ball of radius :math:`\epsilon` is a cube of side :math:`2\epsilon`, and :math:`\pi^{d/2}/\Gamma(d/2 + 1)` in
    the Euclidean norm. (Kraskov et al. write the same estimator with the diameter :math:`2\epsilon_i` and
    :math:`c_d = 1` in the max-norm; confusing the two is the factor :math:`d \log 2` of ComplexityMeasures.jl #66.)

    Gradient: :func:`kl_entropy_grad`, :math:`\frac{d}{N}` times the sum of :math:`\nabla \log \epsilon_i`.
    Neighbours are decided on the exact distances, equal ones by index. Duplicate points (an
    :math:`\epsilon_i = 0`) give :math:`-\infty`, the estimator's value there, with no gradient.

    Args:
        x: samples ``(N, d)`` (or ``(N,)``), at least ``k + 1`` of them.
        k: the neighbour whose distance is each point's radius, ``1 <= k < N``.
        norm: ``"max"`` (default) or ``"euclidean"``.
        base: ``None`` (nats) or the base of the logarithm.

    >>> round(kl_entropy([0.0, 1.0, 3.0, 4.0], k=1), 12)  # psi(4) - psi(1) + log 2: every distance is 1
    2.526480513893
    """
    xs, k, norm, log_base = _inputs(x, k, norm, base)
    n, d = xs.shape
    log_eps = _offsets(xs, k, norm)[3]
    if np.isneginf(log_eps).any():
        return -math.inf
    terms = [float(digamma(n)), -float(digamma(k)), log_unit_ball(d, norm), d * math.fsum(log_eps) / n]
    return math.fsum(terms) / log_base


@gradient_of("kl_entropy")
def kl_entropy_grad(x: ArrayLike, *, k: int = 3, norm: str = "max", base: float | None = None) -> np.ndarray:
    r"""Gradient of :func:`kl_entropy` w.r.t. the samples, in their shape (``(N, d)`` or ``(N,)``).

    Each :math:`\log\epsilon_i = \log\|x_i - x_{j(i)}\|` moves point i and its k-th neighbour j(i): in the max-norm
    :math:`\partial \log \epsilon_i / \partial x_{i,c} = 1 / (x_{i,c} - x_{j,c})` at the coordinate c that attains
    the maximum (the first of equal ones) and 0 elsewhere; in the Euclidean norm
    :math:`(x_i - x_j)/\epsilon_i^2`; the neighbour gets the opposite. The estimate is not differentiable where
    the k-th neighbour or the attaining coordinate is tied; there the gradient is that of the one chosen by index.
    Duplicate points (the value :math:`-\infty`) raise.

    >>> kl_entropy_grad([0.0, 1.0, 3.0, 4.0], k=1)  # point 0 widens two radii (its own and point 1's)
    array([-0.5,  0.5, -0.5,  0.5])
    """
    xs, k, norm, log_base = _inputs(x, k, norm, base)
    n, d = xs.shape
    kth, diff, largest, log_eps = _offsets(xs, k, norm)
    if np.isneginf(log_eps).any():
        raise v.RefLossError("x has duplicate points: the estimate is -inf and has no gradient")
    rows = np.arange(n)
    factor = d / n / log_base
    with np.errstate(over="ignore"):  # points closer than 1e-308 pull beyond the float64 range: +-inf, rounded
        if norm == "max":
            coordinate = max_norm_keys(xs[kth], xs)[2]
            step = np.zeros_like(xs)
            step[rows, coordinate] = factor / diff[rows, coordinate]
        else:
            unit = diff / largest[:, None]
            step = (factor / largest)[:, None] * (unit / (unit * unit).sum(axis=1)[:, None])
    grad = step.copy()
    with np.errstate(invalid="ignore"):
        np.add.at(grad, kth, -step)
    if np.isnan(grad).any():  # known limit: the terms of one component overflowed with both signs
        raise v.RefLossError("x has points closer than about 1e-308 whose gradient terms exceed the float64 range "
                             "with both signs; refloss does not compute this gradient (scale the samples)")
    return grad.reshape(np.shape(x))  # (N,) samples get an (N,) gradient


def _well_separated(x: np.ndarray, k: int, norm: str) -> bool:
    """No two points closer than 1/2 (a finite difference of step 1e-3 resolves log distances of 1/2 and more), no
    point's k-th neighbour distance within 10% of the next one, and in the max-norm no second coordinate within 10%
    of the one that attains it: a finite difference then stays on one smooth piece of the estimate."""
    diff = np.abs(x[:, None, :] - x[None, :, :])
    dist = diff.max(-1) if norm == "max" else np.sqrt((diff * diff).sum(-1))
    np.fill_diagonal(dist, np.inf)
    ordered = np.sort(dist, axis=1)
    if ordered[:, 0].min() < 0.5:
        return False
    if len(x) > k + 1 and (ordered[:, k] < 1.1 * ordered[:, k - 1]).any():
        return False
    if norm == "max" and x.shape[1] > 1:
        kth = np.argsort(dist, axis=1, kind="stable")[:, k - 1]
        top2 = np.sort(diff[np.arange(len(x)), kth], axis=1)[:, -2:]
        return bool((top2[:, 0] < 0.9 * top2[:, 1]).all())
    return True


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        n, d = drawn(st.integers(3, 8)), drawn(st.integers(1, 3))
        k, norm = drawn(st.integers(1, min(3, n - 1))), drawn(st.sampled_from(["max", "euclidean"]))
        # (moderate draws: finite differences step 1e-3 absolute below 1, so no smaller scale)
        scale = drawn(st.sampled_from([1.0, 1e3] + ([1e-3, 1e150, 1e-150] if extreme else [])))
        rng = np.random.default_rng(drawn(st.integers(0, 2**32 - 1)))
        for _ in range(200):  # distinct cells of a grid, jittered: points at least 0.6 apart
            cells = np.stack([rng.permutation(3 * n)[:n] for _ in range(d)], axis=1)
            x = cells + rng.uniform(-0.2, 0.2, (n, d))
            if _well_separated(x, k, norm):
                break
        return {"x": scale * x, "k": k, "norm": norm, "base": drawn(st.sampled_from([None, 2.0]))}

    return draw()


def _stress() -> dict:
    rng = np.random.default_rng(0)
    cloud = rng.standard_normal((10, 2))
    far = cloud + 1e6  # far from the origin: the differences keep only the digits the points share
    line = np.array([0.0, 1.0, 3.0, 7.0, 12.0, 20.0])
    return {
        "gaussian_2d": {"x": cloud},  # the defaults: k = 3, max-norm, nats
        "gaussian_2d__euclidean": {"x": cloud, "norm": "euclidean"},
        "gaussian_2d__k_1__bits": {"x": cloud, "k": 1, "base": 2.0},
        "translated_by_1e6": {"x": far, "k": 2},
        "translated_by_1e6__euclidean": {"x": far, "k": 2, "norm": "euclidean"},
        "one_dimensional": {"x": line, "k": 2},
        "clustered_1e-12": {"x": np.concatenate([line, line + 1e-12]), "k": 1},
        "three_dimensional__euclidean": {"x": rng.standard_normal((8, 3)), "k": 2, "norm": "euclidean"},
    }


def _extreme() -> dict:
    return {
        "coordinates_near_1e308": {"x": np.array([[1.7e308, 0.0], [-1.7e308, 1.0], [1e308, -1.0], [0.0, 2.0]]), "k": 1},
        "coordinates_near_1e308__euclidean": {"x": np.array([[1e300, 1.0], [-1e300, 2.0], [5e299, 0.0], [0.0, 3.0]]),
                                              "k": 1, "norm": "euclidean"},
        "distances_1e-300": {"x": np.array([1e-300, 2e-300, 5e-300, 0.0, 8e-300]), "k": 2},
        "distances_1e-300__euclidean": {"x": np.array([[1e-300, 0.0], [0.0, 2e-300], [4e-300, 4e-300],
                                                       [6e-300, 0.0]]), "k": 1, "norm": "euclidean"},
        "magnitudes_1e-300_to_1e300": {"x": np.array([1e300, 1e-300, -1e300, 1.0, 0.0, 2e-300]), "k": 1},
    }
