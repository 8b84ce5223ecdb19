"""The views a definition sees its inputs through, beyond a row of logits: what each concrete view computes
(against hand values) and what its generic twin shows a reader."""

import math

import numpy as np
import pytest
import sympy as sp
from refloss.proofs._structured_views import (
    Covariance,
    CriticMatrix,
    GenericCovariance,
    GenericCriticMatrix,
    GenericSamples,
    GenericSequence,
    Samples,
    Sequence,
)


def _info_nce(m):
    """An InfoNCE-shaped expression, mean_i (f_ii - log sum_j e^f_ij) + log N, as a definition would write it."""
    return m.mean(lambda i: m.f(i, i) - m.row_lse(i)) + sp.log(m.N)


def test_critic_matrix():
    f = np.array([[2, 0], [1, 3]], dtype=object)
    expected = ((2 - math.log(math.e**2 + 1)) + (3 - math.log(math.e + math.e**3))) / 2 + math.log(2)
    assert float(_info_nce(CriticMatrix(f))) == pytest.approx(expected, rel=1e-15)
    shown = sp.latex(_info_nce(GenericCriticMatrix()))
    assert "{f}_{i,i}" in shown and "{f}_{i,j}" in shown and "\\sum_{j=1}^{M}" in shown


def test_covariance_and_its_blocks():
    cov = Covariance(np.array([[2, 1], [1, 2]], dtype=object))
    assert cov.logdet() == sp.log(3) and cov.block([0]).logdet() == sp.log(2)
    assert cov.block([0], [1]) == sp.Matrix([[1]])
    generic = GenericCovariance()
    assert sp.latex(generic.logdet()) == r"\log{\left(\left|{\Sigma}\right| \right)}"
    assert "Sigma_{X}" in sp.latex(generic.block("X").logdet())


def test_samples_rank_and_count_exactly_with_strict_ties():
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    s = Samples(points)
    assert s.neighbours(0) == [1, 2, 3] and s.kth_neighbour(0, 2) == 2
    assert s.count_within(0, 3) == 2 and s.count_within(0, 1) == 0  # point 2 ties with 1: not strictly closer
    assert s.distance(0, 3) == 2
    assert Samples(points, norm="euclidean").distance(0, 3) == sp.sqrt(8)
    # the distances an expression sees are of the points given (symbols, for a gradient)
    x = sp.symbols("x0:8")
    symbolic = Samples(points, np.array(x, dtype=object).reshape(4, 2))
    assert symbolic.distance(0, 1) == sp.Abs(x[0] - x[2])
    assert "epsilon" in sp.latex(GenericSamples().epsilon[1])


def test_sequence_masked_mean():
    seq = Sequence(np.array([[0, 0], [1, 0], [5, 5]], dtype=object), mask=[1, 0, 1])
    value = seq.masked_mean(lambda t: seq.row(t).lse())
    assert sp.simplify(value - (sp.log(2) + 5 + sp.log(2)) / 2) == 0
    shown = sp.latex(GenericSequence().masked_mean(lambda t: sp.Symbol("ell")))
    assert "{m}_{t}" in shown and "T" in shown
