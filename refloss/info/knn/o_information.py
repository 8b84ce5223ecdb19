"""``o_information``: the kNN estimate of the O-information (Rosas et al.) with one radius; value, registration."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma

from ... import _validate as v
from ..._registry import Paper, Param, register
from ..entropy._common import _BASE, _log_base
from ._common import K, digamma_mean, nearest, points, strict_counts

ROSAS = Paper("Quantifying high-order interdependencies via multivariate extensions of the mutual information",
              arxiv="1902.11239",
              where="F. E. Rosas, P. A. M. Mediano, M. Gastpar, H. J. Jensen, Phys. Rev. E 100, 032305 (2019), eq. 16; "
                    "the kNN form of JIDT's OInfoCalculatorKraskov (P. Mediano)")


@register(
    name="o_information",
    family="knn",
    params=(Param("x", v.SAMPLES, "samples (N, n): column j is the variable X_j (n >= 2)"), K,
            Param("base", _BASE, "None: nats; 2: bits", optional=True)),
    paper=ROSAS,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    no_gradient="a function of neighbour counts: piecewise constant in the samples, its derivative 0 where it "
                "has one",
)
def o_information(x: ArrayLike, *, k: int = 3, base: float | None = None) -> float:
    r"""The O-information :math:`\Omega(X_1, \dots, X_n)` of the columns of ``x``, estimated by kNN, in nats.

    :math:`\Omega = (n - 2) H(X) + \sum_j [H(X_j) - H(X_{-j})]` (Rosas et al. 2019; positive: redundancy,
    negative: synergy). With the Kozachenko-Leonenko entropies of all the terms sharing each point's radius
    :math:`\epsilon_i` (its k-th neighbour's max-norm distance in the joint space), the log-distance terms cancel
    and

    .. math:: \hat\Omega = (n - 2)\big(\psi(N) - \psi(k)\big)
              + \sum_{j=1}^n \big\langle \psi(n_{-j} + 1) - \psi(n_j + 1) \big\rangle ,

    :math:`n_j` the other points strictly within :math:`\epsilon_i` in the column :math:`X_j`, :math:`n_{-j}` in the
    other columns (JIDT's ``OInfoCalculatorKraskov``). For n = 2 it is exactly 0. Counts are exact (the family's
    conventions); no clipping (an O-information has either sign).

    Args:
        x: samples ``(N, n)``, one variable per column (n >= 2).
        k: the neighbour that sets each point's radius.
        base: ``None`` (nats) or the base of the logarithm.

    >>> round(o_information([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [2.0, 2.0, 3.0], [3.0, 3.0, 2.0]], k=1), 12)
    1.833333333333
    """
    k = v.integer_in(k, K.domain, "k")
    log_base = _log_base(base)
    xs = points(x, "x", k)
    n = xs.shape[1]
    if n < 2:
        raise v.RefLossError(f"x must have at least 2 columns (variables), got {n}")
    joint = nearest(xs, k)
    terms = [(n - 2) * digamma(len(xs)), -(n - 2) * digamma(k)]
    for j in range(n):
        rest = np.delete(xs, j, axis=1)
        terms += [digamma_mean(strict_counts(rest, joint, xs), 1), -digamma_mean(strict_counts(xs[:, j:j + 1], joint,
                                                                                             xs), 1)]
    return math.fsum(terms) / log_base


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        n, cols = drawn(st.integers(4, 8)), drawn(st.integers(2, 4))
        bound = 1e6 if extreme else 10.0
        values = drawn(st.sampled_from([st.floats(-bound, bound, allow_nan=False), st.integers(-2, 2).map(float)]))
        return {"x": np.array([[drawn(values) for _ in range(cols)] for _ in range(n)]),
                "k": drawn(st.integers(1, min(3, n - 1))), "base": drawn(st.sampled_from([None, 2.0]))}

    return draw()


def _stress() -> dict:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((14, 1))
    redundant = np.hstack([z + 0.3 * rng.standard_normal((14, 1)) for _ in range(3)])  # one source copied: > 0
    a, b = rng.integers(0, 2, 14).astype(float), rng.integers(0, 2, 14).astype(float)
    xor = np.stack([a, b, (a + b) % 2], axis=1) + 0.1 * rng.standard_normal((14, 3))  # synergy: < 0
    return {
        "redundant_three": {"x": redundant},  # the defaults: k = 3, nats
        "redundant_three__k_1__bits": {"x": redundant, "k": 1, "base": 2.0},
        "xor_like_three": {"x": xor, "k": 2},
        "two_variables": {"x": redundant[:, :2], "k": 2},  # exactly 0
        "four_variables": {"x": np.hstack([redundant, xor[:, :1]]), "k": 2},
        "grid_ties": {"x": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 1.0],
                                      [2.0, 1.0, 0.0], [0.0, 2.0, 2.0], [1.0, 2.0, 1.0]]), "k": 2},
    }


def _extreme() -> dict:
    huge = np.array([[1.7e308, 0.0, -1e308], [-1.7e308, 1e308, 5e307], [1e308, -1e308, 0.0], [0.0, 5e307, 1.7e308],
                     [-5e307, 0.0, 1e308]])
    tiny = np.array([[5e-324, 0.0, 1e-323], [1e-323, 5e-324, 0.0], [0.0, 1.5e-323, 5e-324], [2e-323, 1e-323, 2e-323],
                     [1.5e-323, 2e-323, 1.5e-323]])
    return {"values_near_1e308": {"x": huge, "k": 2}, "subnormal_values": {"x": tiny, "k": 2}}
