r"""``expected_calibration_error``: the definition and its machine-checked derivation.

**Definition** (Guo et al. 2017, Sec. 2; classwise: Kull et al. 2019). For :math:`n` samples with confidences
:math:`\hat p_i` and outcomes :math:`c_i \in \{0, 1\}`, bins :math:`B_1, \dots, B_M`, and
:math:`S_m = \sum_{i \in B_m} (c_i - \hat p_i)`,

.. math:: \mathrm{ECE} = \sum_m \frac{|B_m|}{n} \big|\mathrm{acc}_m - \mathrm{conf}_m\big|
          = \frac{1}{n} \sum_m |S_m|, \qquad
          \mathrm{RMSCE} = \sqrt{\sum_m \frac{S_m^2}{|B_m|\,n}}, \qquad
          \mathrm{MCE} = \max_{B_m \ne \emptyset} \frac{|S_m|}{|B_m|},

since :math:`\mathrm{acc}_m - \mathrm{conf}_m = S_m / |B_m|`. Top-label: :math:`\hat p_i = \max_k p_{ik}` and
:math:`c_i = [\hat y_i = y_i]` with :math:`\hat y_i` the first maximal class; classwise: the mean over classes
:math:`k` of the same with :math:`\hat p_i = p_{ik}`, :math:`c_i = [y_i = k]`. An empty batch is the mean over
no sample, 0/0 (``nan``).

**Bins, decided on the exact inputs.** Equal width: :math:`\hat p` is in bin
:math:`m = \max(1, \lceil M \hat p \rceil)`, i.e. :math:`(m-1)/M < \hat p \le m/M` for the exact rational
:math:`m/M` (the product :math:`M \hat p` of the float64 input is formed with Python's ``Fraction``, exactly).
Equal mass: with the sorted confidences :math:`s_{(1)} \le \dots \le s_{(n)}`, bin :math:`m`'s upper edge is
:math:`s_{(\lceil mn/M \rceil)}`, and :math:`\hat p` goes to the first bin whose upper edge is at least it. The
predicted class is the first index of the row's maximum of the exact inputs. These decisions are made when the
expression is built, by this module's code (independent of refloss's float64 rule, which decides the width bins
by the float64 edges and their rounding direction); the expression holds the probabilities as symbols, so the
oracle evaluates :math:`S_m` exactly and its condition scale (the sensitivity to each probability inside the
decided bins) sets the tolerance.

**No gradient.** The value is piecewise in the probabilities: a bin's membership jumps at its edges, the
prediction at ties. Between jumps the derivative exists (:math:`\mp 1/n` per confidence for ``"l1"``), but it is
not what calibration methods train on, and the registry declares none.

**Checked** (``_prove``): the three norms' two forms agree symbolically (:math:`|B_m|/n \cdot |\mathrm{acc}_m -
\mathrm{conf}_m| = |S_m| / n`, and the same for the squares and the maximum); the bin rule puts 0 in the first bin,
:math:`m/M` in bin :math:`m`, and the float64 number just above :math:`m/M` in bin :math:`m + 1` for every
:math:`m < M \le 40`; the equal-mass rule gives every bin :math:`\lceil mn/M\rceil - \lceil (m-1)n/M\rceil` of
:math:`n` distinct confidences for :math:`n, M \le 12`; and :math:`\mathrm{ECE} \le \mathrm{RMSCE} \le
\mathrm{MCE}` at random points.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import sympy as sp

from .._arb import UNDEFINED
from .._definitions import define, ell
from .._tactics import assert_identity
from ._common import exact_value


def width_bin(value: float, n_bins: int) -> int:
    """The 0-based bin of a float64 confidence: (m-1)/M < c <= m/M exactly, 0 in the first bin."""
    return max(1, math.ceil(Fraction(value) * n_bins)) - 1


def mass_bins(values: list[float], n_bins: int) -> list[int]:
    """The 0-based equal-mass bins: upper edge of bin m the ceil(m n / M)-th smallest; the first bin at or above."""
    n = len(values)
    ordered = sorted(values)
    upper = [ordered[-(-m * n // n_bins) - 1] for m in range(1, n_bins + 1)]
    return [next(m for m, u in enumerate(upper) if u >= value) for value in values]


def binned_error(confidences: list, correct: list[bool], bins: list[int], norm: str) -> sp.Expr:
    """The calibration error of one binary problem from its bins, in the sums S_m of (c_i - p_i)."""
    n = len(confidences)
    sums, counts = {}, {}
    for p, c, m in zip(confidences, correct, bins):
        sums[m] = sums.get(m, sp.S.Zero) + (sp.S.One if c else sp.S.Zero) - p
        counts[m] = counts.get(m, 0) + 1
    if norm == "l1":
        return sp.Add(*[sp.Abs(s) for s in sums.values()]) / n
    if norm == "l2":
        return sp.sqrt(sp.Add(*[s**2 / (counts[m] * n) for m, s in sums.items()]))
    return sp.Max(*[sp.Abs(s) / counts[m] for m, s in sums.items()])


def _problems(probs, values, target, kind):
    """(confidences, their float64 values, outcomes) of each binary problem: one top-label, or one per class."""
    if kind == "top_label":
        predicted = [max(range(len(row)), key=lambda k, row=row: (row[k], -k)) for row in values]
        conf = [probs[i][k] for i, k in enumerate(predicted)]
        return [(conf, [values[i][k] for i, k in enumerate(predicted)],
                 [k == int(t) for k, t in zip(predicted, target)])]
    classes = len(values[0])
    return [([row[k] for row in probs], [row[k] for row in values], [int(t) == k for t in target])
            for k in range(classes)]


def _build(case, exact):
    p = np.asarray(case["probs"], dtype=object)
    rows = p.reshape(-1, p.shape[-1])
    values = [[exact_value(x, exact["probs"]) for x in row] for row in rows]
    target = np.asarray(case["target"]).reshape(-1)
    out = np.empty((), dtype=object)
    if len(values) == 0:
        out[()] = UNDEFINED
        return out
    m = case["n_bins"]
    errors = []
    for conf, conf_values, correct in _problems(list(rows), values, target, case["kind"]):
        bins = [width_bin(x, m) for x in conf_values] if case["binning"] == "width" else mass_bins(conf_values, m)
        errors.append(binned_error(conf, correct, bins, case["norm"]))
    out[()] = sp.Add(*errors) / len(errors)
    return out


def _prove():
    # the two forms of each norm's bin term
    count, n = sp.Symbol("N_m", positive=True), sp.Symbol("n", positive=True)
    s = sp.Symbol("S_m", real=True)
    acc_minus_conf = s / count
    assert_identity(count / n * sp.Abs(acc_minus_conf), sp.Abs(s) / n, "|B_m|/n |acc_m - conf_m| = |S_m| / n")
    assert_identity(count / n * acc_minus_conf**2, s**2 / (count * n), "|B_m|/n (acc_m - conf_m)^2 = S_m^2/(|B_m| n)")
    # the width rule at the exact edges and one float64 step above them
    for bins in range(1, 41):
        assert width_bin(0.0, bins) == 0, "0 lies in the first bin"
        for k in range(1, bins):
            edge = Fraction(k, bins)
            below = float(edge) if Fraction(float(edge)) <= edge else math.nextafter(float(edge), 0.0)
            above = math.nextafter(below, 1.0)
            assert width_bin(below, bins) == k - 1 and width_bin(above, bins) == k, f"the edge {k}/{bins}"
        assert width_bin(1.0, bins) == bins - 1, "1 lies in the last bin"
    # equal mass on distinct confidences: the rank groups
    for size in range(1, 13):
        values = [(i + 1) / (size + 1) for i in range(size)]
        for bins in range(1, 13):
            got = mass_bins(values, bins)
            sizes = [got.count(m) for m in range(bins)]
            expected = [-(-m * size // bins) - -(-(m - 1) * size // bins) for m in range(1, bins + 1)]
            assert sizes == expected, f"equal-mass sizes for n = {size}, M = {bins}: {sizes} != {expected}"
    # ECE <= RMSCE <= MCE (Jensen, and a mean below a maximum) at random points
    rng = np.random.default_rng(7)
    for _ in range(20):
        conf = list(rng.uniform(0, 1, size=9))
        correct = list(rng.uniform(0, 1, size=9) < 0.5)
        bins = [width_bin(x, 4) for x in conf]
        l1, l2, mx = (float(binned_error([sp.Float(x, 30) for x in conf], correct, bins, norm))
                      for norm in ("l1", "l2", "max"))
        assert l1 <= l2 * (1 + 1e-12) and l2 <= mx * (1 + 1e-12), "ECE <= RMSCE <= MCE"


def _formula():
    m, count, n = sp.Symbol("m", integer=True), sp.Symbol("M", positive=True, integer=True), sp.Symbol("n")
    size, acc, conf = sp.IndexedBase("N"), sp.IndexedBase(r"\mathrm{acc}"), sp.IndexedBase(r"\mathrm{conf}")
    return ell(sp.Sum(size[m] / n * sp.Abs(acc[m] - conf[m]), (m, 1, count)), r"\mathrm{ECE}")


define(
    "expected_calibration_error",
    # Guo et al.'s ECE: 15 equal-width bins, the top label, the L1 norm
    defaults={"n_bins": 15, "binning": "width", "kind": "top_label", "norm": "l1"},
    build=_build,
    formula=_formula,
    gradient_formula=lambda: None,
    prove=_prove,
    exact_inputs=("probs",),
)
