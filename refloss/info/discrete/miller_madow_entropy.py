"""``miller_madow_entropy``: the Miller-Madow bias-corrected plug-in entropy of a histogram of counts; value and
registration (no gradient: a function of integer counts)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..._registry import Param, register
from ..entropy._common import _BASE, _log_base
from ._common import COUNTS, MILLER, counts_array, dot_last


@register(
    name="miller_madow_entropy",
    family="discrete",
    params=(Param("counts", COUNTS), Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True)),
    paper=MILLER,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    no_gradient="a function of integer counts",
)
def miller_madow_entropy(counts: ArrayLike, *, base: float | None = None):
    r"""The Miller-Madow estimate of the entropy from a histogram: the plug-in entropy of the frequencies plus
    Miller's correction of its bias,

    .. math:: \hat H_{MM} = -\sum_i \frac{n_i}{N} \log \frac{n_i}{N} + \frac{m - 1}{2N},

    with :math:`N = \sum_i n_i` the number of observations and :math:`m` the number of bins with :math:`n_i > 0`
    (Miller 1955), for each histogram on the last axis, in nats. In another ``base`` the whole estimate, the
    correction included, is divided by :math:`\log b` (the correction is :math:`(m - 1)/(2N \ln 2)` bits).

    ``counts`` must have an integer dtype (floats are refused, also integral ones: a frequency or a rounded float is
    not a count) and at least one observation per histogram. :math:`N` and :math:`N - n_i` are formed exactly in
    integers (no int64 overflow: Python integers); each term :math:`-f_i \log f_i \ge 0` with :math:`f_i = n_i / N`
    takes :math:`\log f_i = \mathrm{log1p}(-(N - n_i)/N)` where :math:`f_i > 1/2`, so a histogram with one full bin
    keeps its digits, where :math:`\log N - \frac1N \sum_i n_i \log n_i` cancels them. No gradient: the counts are
    integers.

    Args:
        counts: non-negative integer array ``(..., C)``, the bins last.
        base: ``None`` (nats) or the base of the logarithm (2: bits).

    Returns:
        The estimate of each histogram, shape ``counts.shape[:-1]`` (a float for one histogram).

    >>> float(miller_madow_entropy([5, 5]))  # log 2 + 1/20
    0.7431471805599453
    >>> miller_madow_entropy([[4, 0], [1, 3]], base=2)
    array([0.      , 0.991615])

    Reference: G. A. Miller, "Note on the bias of information estimates" (1955).
    """
    c = counts_array(counts)
    n_total = c.sum(axis=-1, keepdims=True, dtype=object)  # Python integers: exact
    total = np.asarray(n_total, dtype=np.float64)
    f = c.astype(np.float64) / total
    big = f > 0.5
    rest = np.asarray(np.where(big, n_total - c.astype(object), 0), dtype=np.float64)
    with np.errstate(divide="ignore"):  # log 0 at an empty bin, whose term is 0
        log_f = np.where(big, np.log1p(-rest / total), np.log(np.where(big, 1.0, f)))
    observed = (c > 0).sum(axis=-1)
    out = (dot_last(f, -log_f) + (observed - 1) / (2.0 * total[..., 0])) / _log_base(base)
    return out if out.ndim else float(out)


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        rows, c = drawn(st.integers(1, 3)), drawn(st.integers(1, 6))
        top = 2**62 // 8 if extreme else 50
        counts = np.array([[drawn(st.integers(0, top)) for _ in range(c)] for _ in range(rows)], dtype=np.int64)
        counts[:, 0] = np.maximum(counts[:, 0], 1)  # at least one observation per histogram
        return {"counts": counts[0] if drawn(st.booleans()) else counts,
                "base": drawn(st.sampled_from([None, 2.0, 10.0]))}

    return draw()


def _stress() -> dict:
    return {
        "small_histograms": {"counts": np.array([[3, 1, 0, 2], [5, 5, 5, 5]])},  # the defaults
        "one_full_bin": {"counts": np.array([10**6, 1, 0])},  # a peaked histogram: log1p
        "one_bin": {"counts": np.array([[7], [1]])},
        "single_observation": {"counts": np.array([0, 1, 0])},
        "all_ones__bits": {"counts": np.ones(8, dtype=np.int64), "base": 2.0},
        "empty_bins__base_10": {"counts": np.array([0, 0, 4, 0, 6]), "base": 10.0},
        "unsigned_counts": {"counts": np.array([2, 9, 1], dtype=np.uint16)},
    }


def _extreme() -> dict:
    return {
        "counts_past_2_to_the_53": {"counts": np.array([2**53 + 1, 1, 2**52])},
        "a_total_past_int64": {"counts": np.array([2**62, 2**62, 2**62, 2**62, 3])},
        "one_count_in_4e18": {"counts": np.array([4 * 10**18, 1])},
    }
