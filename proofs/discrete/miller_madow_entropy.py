r"""``miller_madow_entropy``: the definition and its checks.

**Definition** (Miller 1955). For a histogram of counts :math:`n_i \ge 0` with :math:`N = \sum_i n_i > 0` and
:math:`m = |\{i : n_i > 0\}|`,

.. math:: \hat H_{MM} = -\sum_{i : n_i > 0} \frac{n_i}{N} \log \frac{n_i}{N} + \frac{m - 1}{2N},

in nats; in base :math:`b` the whole estimate is divided by :math:`\log b`. The counts are exact integers, so the
oracle's expression holds only exact rationals and their logs: its condition scale is 0, and the float64 result must
be within the tolerance of the value itself.

**No gradient**: a function of integer counts.

**The form refloss evaluates.** Each term :math:`-f_i \log f_i \ge 0`, with :math:`\log f_i =
\mathrm{log1p}(-(N - n_i)/N)` (the integer :math:`N - n_i` exact) where :math:`f_i > 1/2`: a sum of non-negative
terms, plus the non-negative correction.

**Checked** (``_prove_miller_madow``): the plug-in part equals :math:`\log N - \frac1N \sum_i n_i \log n_i` (the
textbook form, which cancels for a peaked histogram); the plug-in part is the entropy of the frequencies;
Miller's correction is the first term of the bias :math:`E[\hat H] - H = -\frac{m - 1}{2N} + O(N^{-2})` of the
plug-in estimate, checked here by its exact expectation for two fair bins and :math:`N = 2`:
:math:`E[\hat H] = \tfrac12 \log 2` (the bias :math:`-\tfrac12 \log 2`), and :math:`E[\hat H_{MM}]` adds
:math:`\tfrac18` (the correction :math:`\tfrac14` of the half of the draws that fill both bins). At this tiny
:math:`N` the correction is far from the bias; the tests check the reduction of the bias on seeded multinomial
draws.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell
from .._tactics import assert_identity
from ._common import indexed_sum, over_batch, unit
from .entropy import entropy


def plug_in(counts) -> sp.Expr:
    """-sum (n_i/N) log(n_i/N) over the bins with n_i > 0, exact rationals."""
    total = sum(int(n) for n in counts)
    return -sp.Add(*[sp.Rational(int(n), total) * sp.log(sp.Rational(int(n), total)) for n in counts if n != 0])


def miller_madow(counts) -> sp.Expr:
    total = sum(int(n) for n in counts)
    observed = sum(1 for n in counts if n != 0)
    return plug_in(counts) + sp.Rational(observed - 1, 2 * total)


def _build(case):
    c = np.asarray(case["counts"])
    return over_batch(c, 1, lambda index: miller_madow(c[index]) / unit(case["base"]))


def _prove_miller_madow():
    counts = [3, 1, 0, 2, 6]
    total = sum(counts)
    textbook = sp.log(total) - sp.Add(*[n * sp.log(n) for n in counts if n]) / total
    assert_identity(plug_in(counts), textbook, "plug-in = log N - (1/N) sum n log n")
    freqs = [sp.Rational(n, total) for n in counts]
    assert_identity(plug_in(counts), entropy(freqs, [j for j, n in enumerate(counts) if n]),
                    "plug-in = H(n / N)")
    # two fair bins, N = 2: (2, 0) and (0, 2) with probability 1/4 each, (1, 1) with 1/2
    expected_plug_in = sp.Rational(1, 2) * plug_in([1, 1])
    assert_identity(expected_plug_in, sp.log(2) / 2, "E[plug-in] for N = 2 fair bins")
    expected_mm = sp.Rational(1, 4) * 2 * miller_madow([2, 0]) + sp.Rational(1, 2) * miller_madow([1, 1])
    assert_identity(expected_mm - expected_plug_in, sp.Rational(1, 8), "E[correction] = (1/2)(m - 1)/(2N) at m = 2")
    assert_identity(miller_madow([4, 4]), sp.log(2) + sp.Rational(1, 16), "MM(4, 4) = log 2 + 1/16")


def _formula():
    i = sp.Symbol("i", integer=True)
    c, big_n, m = sp.Symbol("C", positive=True, integer=True), sp.Symbol("N", positive=True), sp.Symbol("m")
    n = sp.IndexedBase("n")
    return ell(-indexed_sum(n[i] / big_n * sp.log(n[i] / big_n), (i, c)) + (m - 1) / (2 * big_n), r"\hat H_{MM}")


define(
    "miller_madow_entropy",
    defaults={"base": None},  # nats
    build=_build,
    formula=_formula,
    gradient_formula=lambda: None,
    prove=_prove_miller_madow,
)
