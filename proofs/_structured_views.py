r"""Views beyond a row of logits, for the families that need them: critic matrices (variational MI bounds),
covariance matrices (Gaussian information measures), samples (kNN estimators), per-token sequences (LLM
objectives).

As :class:`~refloss.proofs._views.Row` and :class:`~refloss.proofs._views.GenericRow` do for logits, each comes
as a concrete view (the expressions the proofs differentiate and the oracle evaluates, from an object array of
symbols or exact numbers) and a generic one with the same methods (the formula a reader sees). A definition
builds from them the way it builds from rows; no definition uses them yet, so they change no golden file.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import sympy as sp

from ._views import GenericRow, Row


class CriticMatrix:
    """Scores ``f_ij`` of a critic on N pairs (row i: the positive x_i, column j: the candidate y_j), the input
    of the variational MI bounds (InfoNCE, NWJ, MINE...). ``entries``: an (N, M) object array."""

    def __init__(self, entries):
        self._f = np.asarray(entries, dtype=object)
        self.N, self.M = self._f.shape

    def f(self, i, j):
        return self._f[i, j]

    def mean(self, term: Callable):
        """(1/N) sum_i term(i)."""
        return sp.Add(*[term(i) for i in range(self.N)]) / self.N

    def row_sum(self, i, term: Callable):
        return sp.Add(*[term(i, j) for j in range(self.M)])

    def row_lse(self, i):
        """log sum_j e^{f_ij}."""
        return sp.log(self.row_sum(i, lambda a, b: sp.exp(self.f(a, b))))


class GenericCriticMatrix:
    """The critic matrix a reader sees: ``f_{i,j}``, N rows and M columns."""

    def __init__(self):
        self.N, self.M = sp.symbols("N M", positive=True, integer=True)
        self._f = sp.IndexedBase("f")

    def f(self, i, j):
        return self._f[i, j]

    def mean(self, term: Callable):
        i = sp.Symbol("i", integer=True)
        return sp.Sum(term(i), (i, 1, self.N)) / self.N

    def row_sum(self, i, term: Callable):
        j = sp.Symbol("j", integer=True)
        return sp.Sum(term(i, j), (j, 1, self.M))

    def row_lse(self, i):
        return sp.log(self.row_sum(i, lambda a, b: sp.exp(self.f(a, b))))


class Covariance:
    """A symmetric d x d covariance matrix (Gaussian entropies, MI, transfer entropy); ``entries`` a (d, d)
    object array whose two triangles hold the same symbols. Index sets select blocks."""

    def __init__(self, entries):
        self.matrix = sp.Matrix(np.asarray(entries, dtype=object).tolist())
        self.d = self.matrix.shape[0]

    def sigma(self, i, j):
        return self.matrix[i, j]

    def block(self, rows, cols=None):
        """The sub-matrix on index sets ``rows`` x ``cols`` (``cols`` defaults to ``rows``; then a Covariance)."""
        sub = self.matrix.extract(list(rows), list(rows if cols is None else cols))
        return Covariance(np.array(sub.tolist(), dtype=object)) if cols is None else sub

    def logdet(self):
        return sp.log(self.matrix.det())


class GenericCovariance:
    """The covariance matrix a reader sees: :math:`\\Sigma` (d x d), its blocks :math:`\\Sigma_{A}`."""

    def __init__(self, name: str = "Sigma"):
        self.d = sp.Symbol("d", positive=True, integer=True)
        self.matrix = sp.MatrixSymbol(name, self.d, self.d)
        self._name = name

    def sigma(self, i, j):
        return self.matrix[i, j]

    def block(self, label: str):
        """The block on the index set named ``label`` (``X``, ``Y``, ``XY``), shown as :math:`\\Sigma_{X}`."""
        size = sp.Symbol(f"d_{{{label}}}", positive=True, integer=True)
        view = GenericCovariance.__new__(GenericCovariance)
        view.d, view._name = size, f"{self._name}_{{{label}}}"
        view.matrix = sp.MatrixSymbol(view._name, size, size)
        return view

    def logdet(self):
        return sp.log(sp.Determinant(self.matrix))


class Samples:
    """N points in R^d for the sample-based estimators (kNN entropies, KSG). ``values`` holds the float64 points
    (exact as rationals), ``points`` the same entries as the expressions see them (symbols for the
    differentiable ones; default: the exact values). Distances between points are expressions of ``points``; neighbour
    ranks and counts are decided on ``values`` exactly (rational arithmetic: a count cannot round), with the
    stated convention for ties (Kraskov et al.: strictly closer)."""

    def __init__(self, values, points=None, norm: str = "max"):
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2:
            raise ValueError("samples are an (N, d) array")
        if norm not in ("max", "euclidean"):
            raise ValueError("norm is 'max' or 'euclidean'")
        self.N, self.d, self.norm = values.shape[0], values.shape[1], norm
        self._exact = [[sp.Rational(*float(v).as_integer_ratio()) for v in row] for row in values]
        self._points = np.array(self._exact if points is None else points, dtype=object)

    def x(self, i, k):
        return self._points[i, k]

    def exact_point(self, i) -> list:
        """Point i's coordinates as exact rationals (whatever the expressions see)."""
        return list(self._exact[i])

    def _exact_distance(self, i, j):
        diffs = [abs(a - b) for a, b in zip(self._exact[i], self._exact[j])]
        return max(diffs) if self.norm == "max" else sum(t * t for t in diffs)  # euclidean: squared, exact

    def distance(self, i, j):
        """The distance as an expression of the points (max-norm: the coordinate that attains it exactly)."""
        diffs = [self.x(i, k) - self.x(j, k) for k in range(self.d)]
        if self.norm == "euclidean":
            return sp.sqrt(sp.Add(*[t**2 for t in diffs]))
        exact = [abs(a - b) for a, b in zip(self._exact[i], self._exact[j])]
        k = max(range(self.d), key=lambda c: exact[c])
        return sp.Abs(diffs[k])

    def neighbours(self, i):
        """The other points by exact distance from point i, nearest first (ties by index)."""
        return sorted((j for j in range(self.N) if j != i), key=lambda j: (self._exact_distance(i, j), j))

    def kth_neighbour(self, i, k):
        """The index of point i's k-th nearest neighbour (k >= 1)."""
        return self.neighbours(i)[k - 1]

    def count_within(self, i, j):
        """How many other points are strictly closer to point i than point j is (an exact integer)."""
        return self.count_closer(i, self._exact_distance(i, j))

    def exact_distance(self, i, j):
        """The exact distance of points i and j, a rational (in the Euclidean norm its square, which orders alike)."""
        return self._exact_distance(i, j)

    def count_closer(self, i, radius, inclusive: bool = False):
        """How many other points lie at an exact distance < ``radius`` from point i (<= with ``inclusive``); the
        radius is an :meth:`exact_distance`, possibly of another view of the same points in a product space."""
        def inside(m):
            d = self._exact_distance(i, m)
            return d <= radius if inclusive else d < radius

        return sum(1 for m in range(self.N) if m != i and inside(m))


class GenericSamples:
    """The samples a reader sees: N points in d dimensions, the k-th neighbour distance :math:`\\epsilon_i`,
    neighbour counts :math:`n_i`."""

    def __init__(self):
        self.N, self.d, self.k = sp.symbols("N d k", positive=True, integer=True)
        self.epsilon, self.n = sp.IndexedBase("epsilon"), sp.IndexedBase("n")

    def mean(self, term: Callable):
        i = sp.Symbol("i", integer=True)
        return sp.Sum(term(i), (i, 1, self.N)) / self.N


class Sequence:
    """Per-token rows of logits (T, C) with a 0/1 mask ``m_t`` (a sequence's valid tokens): ``row(t)`` is the
    :class:`Row` of token t, ``masked_mean(term)`` = sum_t m_t term(t) / sum_t m_t."""

    def __init__(self, logits, mask=None, targets=None):
        self._z = np.asarray(logits, dtype=object)
        self.T = self._z.shape[0]
        self._mask = [1] * self.T if mask is None else [int(m) for m in mask]
        self._targets = targets

    def row(self, t) -> Row:
        return Row(self._z[t], None if self._targets is None else int(self._targets[t]))

    def m(self, t):
        return sp.Integer(self._mask[t])

    def masked_mean(self, term: Callable):
        kept = [t for t in range(self.T) if self._mask[t]]
        return sp.Add(*[term(t) for t in kept]) / len(kept) if kept else sp.S.Zero


class GenericSequence:
    """The sequence a reader sees: T tokens, mask :math:`m_t`, a generic row per token."""

    def __init__(self, y: bool = True):
        self.T = sp.Symbol("T", positive=True, integer=True)
        self._m = sp.IndexedBase("m")
        self._y = y

    def row(self, t) -> GenericRow:
        return GenericRow(y=self._y)

    def m(self, t):
        return self._m[t]

    def masked_mean(self, term: Callable):
        t = sp.Symbol("t", integer=True)
        return sp.Sum(self.m(t) * term(t), (t, 1, self.T)) / sp.Sum(self.m(t), (t, 1, self.T))
