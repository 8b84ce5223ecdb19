"""The family's shared parts: the samples' checks, exact k-th neighbours and strict neighbour counts, the papers.

Distances between float64 points are compared exactly. In the max-norm a coordinate difference ``a - b`` is held
as the unevaluated sum ``hi + lo`` of its float64 rounding and the rounding's error (Knuth's TwoSum, exact when
nothing overflows), so two distances compare exactly as the pairs ``(hi, lo)`` do; ``hi`` alone decides every
comparison whose float64 values differ, since rounding is monotone. The fast path asks a KD-tree for the float64
answer and for the float64 ties, and only rows with a tie that the pair ``(hi, lo)`` must settle are redone by
brute force over every point; in the Euclidean norm, and where a difference of two points would overflow, those
rows compare exact rationals (:class:`fractions.Fraction`) instead.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from ... import _validate as v
from ..._registry import Paper, Param

KRASKOV = Paper("Estimating mutual information", arxiv="cond-mat/0305641",
                where="A. Kraskov, H. Stoegbauer, P. Grassberger, Phys. Rev. E 69, 066138 (2004)")

K = Param("k", v.Integers(1), "neighbours: the k-th nearest other point sets each point's radius (k < N)")
NORMS = v.Choice(("max", "euclidean"))

#: Below this magnitude of every coordinate no difference of two points overflows (TwoSum stays exact).
_SAFE = 2.0 ** 1021


def points(x, name: str, k: int) -> np.ndarray:
    """``x`` as checked samples with more than ``k`` points (each needs k others)."""
    return v.samples(x, name, at_least=k + 1)


def paired(x, y, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Two checked sample arrays of the same points (one row of each per sample)."""
    xs, ys = points(x, "x", k), points(y, "y", k)
    if xs.shape[0] != ys.shape[0]:
        raise v.RefLossError(f"y must hold one point per point of x ({xs.shape[0]}), got {ys.shape[0]}")
    return xs, ys


def _two_sum_abs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|a - b| exactly as ``hi + lo``, hi its float64 rounding (TwoSum; exact while a - b does not overflow)."""
    s = a - b
    t = s - a
    lo = (a - (s - t)) + (-b - t)
    negative = (s < 0) | ((s == 0) & (lo < 0))
    return np.where(negative, -s, s), np.where(negative, -lo, lo)


def max_norm_keys(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact max-norm distances between the rows of ``a`` and ``b`` (broadcast), as ``(hi, lo)``, and the
    coordinate that attains each (the first of equal ones)."""
    hi, lo = _two_sum_abs(a, b)
    top = hi.max(axis=-1, keepdims=True)
    lo_at_top = np.where(hi == top, lo, -np.inf)
    second = lo_at_top.max(axis=-1, keepdims=True)
    coordinate = np.argmax((hi == top) & (lo_at_top == second), axis=-1)
    return top[..., 0], second[..., 0], coordinate


def key_less(a: tuple, b: tuple):
    """Exact ``<`` of distances given as ``(hi, lo)`` pairs."""
    return (a[0] < b[0]) | ((a[0] == b[0]) & (a[1] < b[1]))


class _Exact:
    """Exact distances from one point to all points: ``(hi, lo)`` pairs in the max-norm, rationals (squared in the
    Euclidean norm) otherwise."""

    def __init__(self, p: np.ndarray, norm: str, rational: bool = False):
        self.p, self.norm = p, norm
        self.rational = rational or norm == "euclidean" or bool(np.abs(p).max(initial=0.0) >= _SAFE)
        self._fractions = None

    @property
    def _f(self) -> list:
        """The points as exact rationals, made on first use (most samples never need them)."""
        if self._fractions is None:
            self._fractions = [[Fraction(c) for c in row] for row in self.p.tolist()]
        return self._fractions

    def distances(self, i: int, js: np.ndarray):
        """A sortable key per point of ``js`` (an object array of rationals, or the (hi, lo) pair of arrays)."""
        if not self.rational:
            hi, lo, _ = max_norm_keys(self.p[js], self.p[i])
            return hi, lo
        me = self._f[i]
        if self.norm == "euclidean":
            return np.array([sum((a - b) ** 2 for a, b in zip(self._f[j], me)) for j in js], dtype=object)
        return np.array([max(abs(a - b) for a, b in zip(self._f[j], me)) for j in js], dtype=object)

    def order(self, i: int, candidates: np.ndarray) -> np.ndarray:
        """The ``candidates`` other than i by exact distance from point i, nearest first, equal distances by index
        (candidates: every point that may come first, e.g. those within a float64 radius)."""
        others = np.asarray(candidates, dtype=np.intp)
        others = np.sort(others[others != i])
        keys = self.distances(i, others)
        if self.rational:
            return others[sorted(range(len(others)), key=lambda m: (keys[m], others[m]))]
        return others[np.lexsort((others, keys[1], keys[0]))]

    def below(self, i: int, radius, candidates: np.ndarray, *, inclusive: bool = False) -> int:
        """How many other points lie within ``radius`` (a key of :meth:`distances`) of point i: strictly, or with
        ``inclusive`` at distance <= radius (candidates: every point that may)."""
        others = np.asarray(candidates, dtype=np.intp)
        others = others[others != i]
        keys = self.distances(i, others)
        if self.rational:
            inside = keys <= radius if inclusive else keys < radius
        else:
            inside = key_less(keys, radius)
            if inclusive:
                inside |= (keys[0] == radius[0]) & (keys[1] == radius[1])
        return int(np.asarray(inside, dtype=bool).sum())

    def key(self, i: int, j: int):
        keys = self.distances(i, np.array([j]))
        return keys[0] if self.rational else (keys[0][0], keys[1][0])


class Neighbours(NamedTuple):
    """Each point's k nearest other points (``members``, (N, k), the k-th last) in exact order (ties by index) and
    the float64 rounding of its distance to the k-th (``radius``); ``exact``: the exact distances of the rows
    that needed them (others are decided by the float64 values), with the checker that computed them."""

    members: np.ndarray
    radius: np.ndarray
    exact: _Exact


def _margin(norm: str, d: int) -> float:
    """A relative band around a float64 distance that holds the exact one: 0 in the max-norm (rounding a difference
    is monotone); in the Euclidean norm the rounding of d squares, their sum and the root."""
    return 0.0 if norm == "max" else 4 * (d + 2) * 2.0 ** -52


def _float64_decides(p: np.ndarray, norm: str) -> bool:
    """Whether the KD-tree's float64 distances order the points up to their float64 ties: no difference of two
    points overflows, and in the Euclidean norm no square overflows or underflows to 0."""
    magnitude = np.abs(p)
    if norm == "max":
        return bool(magnitude.max(initial=0.0) < _SAFE)
    nonzero = magnitude[magnitude > 0]
    return bool(magnitude.max(initial=0.0) < 2.0**500 and nonzero.min(initial=1.0) > 2.0**-500)


def nearest(p: np.ndarray, k: int, norm: str = "max") -> Neighbours:
    """The k nearest other points of every point, exactly (see the module docstring)."""
    n, d = p.shape
    exact = _Exact(p, norm)
    members = np.empty((n, k), dtype=np.intp)
    if not _float64_decides(p, norm):  # every row by exact brute force
        everything = np.arange(n)
        for i in range(n):
            members[i] = exact.order(i, everything)[:k]
        return Neighbours(members, np.full(n, np.nan), exact)
    order = np.inf if norm == "max" else 2
    tree = cKDTree(p)
    dist, idx = tree.query(p, k=k + 1, p=order)
    radius = dist[:, k]
    band = _margin(norm, d)
    below = np.nextafter(radius * (1 - band), 0)
    lt = tree.query_ball_point(p, below, p=order, return_length=True) - 1
    le = tree.query_ball_point(p, radius * (1 + band), p=order, return_length=True) - 1
    # One point at the k-th float64 distance (and none within the band of it): the query's k + 1 points are the
    # point itself and its k nearest, in an order that only ties below the k-th can blur.
    clear = (radius > 0) & (le - lt == 1) & (lt == k - 1)
    rows = np.flatnonzero(clear)
    fast = idx[rows]
    keep = fast != rows[:, None]
    members[rows] = fast[keep].reshape(len(rows), k)  # the k-th (the one largest distance) stays last
    unclear = np.flatnonzero(~clear)
    # The k nearest lie within the k-th float64 distance (and its band): only those points need exact keys.
    for i, candidates in zip(unclear, _balls(tree, p[unclear], radius[unclear] * (1 + band), order)):
        members[i] = exact.order(i, candidates)[:k]
    return Neighbours(members, radius, exact)


def nearest_among(p: np.ndarray, q: np.ndarray, k: int, norm: str = "max") -> np.ndarray:
    """The k nearest points of ``q`` to every point of ``p`` (indices into q, (N, k), the k-th last), exactly, equal
    distances by index: :func:`nearest` across two samples (a point of p never counts itself)."""
    n, d = p.shape
    both = np.vstack([p, q])
    exact = _Exact(both, norm)
    members = np.empty((n, k), dtype=np.intp)
    every_q = np.arange(n, n + len(q))
    if not _float64_decides(both, norm):
        for i in range(n):
            members[i] = exact.order(i, every_q)[:k] - n
        return members
    order = np.inf if norm == "max" else 2
    tree = cKDTree(q)
    dist, idx = tree.query(p, k=k, p=order)
    dist, idx = dist.reshape(n, k), idx.reshape(n, k)
    radius = dist[:, -1]
    band = _margin(norm, d)
    lt = tree.query_ball_point(p, np.nextafter(radius * (1 - band), 0), p=order, return_length=True)
    le = tree.query_ball_point(p, radius * (1 + band), p=order, return_length=True)
    clear = (radius > 0) & (le - lt == 1) & (lt == k - 1)
    members[clear] = idx[clear]
    unclear = np.flatnonzero(~clear)
    for i, candidates in zip(unclear, _balls(tree, p[unclear], radius[unclear] * (1 + band), order)):
        members[i] = exact.order(i, np.asarray(candidates, dtype=np.intp) + n)[:k] - n
    return members


def _balls(tree, centres: np.ndarray, radius: np.ndarray, order) -> list:
    """The points within each float64 radius of each centre: the candidates of exact comparisons."""
    return list(tree.query_ball_point(centres, radius, p=order)) if len(centres) else []


def strict_counts(p: np.ndarray, joint: Neighbours, joint_points: np.ndarray) -> np.ndarray:
    """n_i = #{j != i : ||p_j - p_i|| < eps_i} in the max-norm of the marginal ``p`` (columns of ``joint_points``),
    eps_i the exact joint distance of point i to its k-th neighbour: Kraskov's strict count."""
    n = len(p)
    if joint.exact.rational:
        return _counts_by_brute_force(p, joint, np.arange(n))
    kth = joint.members[:, -1]
    rows = np.arange(n)
    radius = joint.radius
    tree = cKDTree(p)
    lt = tree.query_ball_point(p, np.nextafter(radius, 0), p=np.inf, return_length=True) - 1
    le = tree.query_ball_point(p, radius, p=np.inf, return_length=True) - 1
    # The k-th neighbour's distance in the marginal and in the joint space, exactly.
    mine = max_norm_keys(p[kth], p)[:2]
    eps = max_norm_keys(joint_points[kth], joint_points)[:2]
    tie = mine[0] == radius  # the k-th neighbour itself is a float64 tie in this marginal
    counts = lt + (tie & key_less(mine, eps))
    # Any other float64 tie needs its exact distance: redo those rows (and the rows at distance 0) exactly.
    unclear = rows[(le - lt != tie) | (radius == 0)]
    if len(unclear):
        counts[unclear] = _counts_by_brute_force(p, joint, unclear, tree)
    return counts


def _counts_by_brute_force(p, joint: Neighbours, rows, tree=None) -> np.ndarray:
    """:func:`strict_counts` of ``rows``, every distance exact (rationals where the joint space needed them)."""
    marginal = _Exact(p, "max", rational=joint.exact.rational)
    within = [np.arange(len(p))] * len(rows) if tree is None else _balls(tree, p[rows], joint.radius[rows], np.inf)
    return np.array([marginal.below(i, joint.exact.key(i, joint.members[i, -1]), candidates)
                     for i, candidates in zip(rows, within)], dtype=np.int64)


def inclusive_counts(p: np.ndarray, joint: Neighbours) -> np.ndarray:
    """n_i = #{j != i : ||p_j - p_i|| <= eps_i^p}, eps_i^p the largest marginal distance from point i to its k
    nearest joint neighbours: the count of Kraskov's second estimator (eq. 9)."""
    n, k = joint.members.shape
    rows = np.arange(n)
    exact = _Exact(p, "max", rational=joint.exact.rational)
    if exact.rational:
        everything = np.arange(n)
        return np.array([exact.below(i, max(exact.distances(i, joint.members[i])), everything, inclusive=True)
                         for i in rows], dtype=np.int64)
    hi, lo, _ = max_norm_keys(p[joint.members], p[:, None, :])  # (n, k)
    top = hi.max(axis=1)
    second = np.where(hi == top[:, None], lo, -np.inf).max(axis=1)
    tree = cKDTree(p)
    lt = tree.query_ball_point(p, np.nextafter(top, 0), p=np.inf, return_length=True) - 1
    le = tree.query_ball_point(p, top, p=np.inf, return_length=True) - 1
    # The float64 ties at the radius that are neighbours lie within it exactly (it is their largest distance).
    ties_among = (hi == top[:, None]).sum(axis=1)
    counts = le.copy()
    unclear = rows[(le - lt != ties_among) | (top == 0)]
    for i, candidates in zip(unclear, _balls(tree, p[unclear], top[unclear], np.inf)):
        counts[i] = exact.below(i, (top[i], second[i]), candidates, inclusive=True)
    return counts


def digamma_mean(counts: np.ndarray, shift: int) -> float:
    """(1/N) sum_i psi(n_i + shift), one digamma per distinct count, summed exactly (math.fsum)."""
    from scipy.special import digamma

    values, times = np.unique(counts, return_counts=True)
    return math.fsum(times * digamma(values + shift)) / len(counts)


def digamma_terms(counts: np.ndarray, shift: int) -> float:
    """(1/N) sum_i |psi(n_i + shift)|: the scale of :func:`digamma_mean`'s terms."""
    from scipy.special import digamma

    values, times = np.unique(counts, return_counts=True)
    return math.fsum(times * np.abs(digamma(values + shift))) / len(counts)
