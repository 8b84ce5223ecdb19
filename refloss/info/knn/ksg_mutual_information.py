"""``ksg_mutual_information``: the Kraskov-Stoegbauer-Grassberger estimators of I(X; Y); value and registration."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma

from ... import _validate as v
from ..._registry import Param, register
from ..entropy._common import _BASE, _log_base
from ._common import KRASKOV, K, digamma_mean, inclusive_counts, nearest, paired, strict_counts

VARIANTS = v.Choice((1, 2))


def sklearn_jitter(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's tie-breaking noise (``mutual_info_regression``): every column c of x, then of y, gets
    ``1e-10 * max(1, mean |column|) * N(0, 1)`` from ``numpy.random.RandomState(seed)``, x's draws first, in
    scikit-learn's order of operations, so that refloss sees its points bit for bit. (scikit-learn first scales
    each column to unit variance without centring it; that is the caller's, as any other preprocessing.)"""
    rng = np.random.RandomState(seed)
    x = x + 1e-10 * np.maximum(1, np.mean(np.abs(x), axis=0)) * rng.standard_normal(size=x.shape)
    if y.shape[1] == 1:  # scikit-learn's target is one column, its noise one draw per sample
        y = y + (1e-10 * np.maximum(1, np.mean(np.abs(y[:, 0]))) * rng.standard_normal(size=len(y)))[:, None]
    else:
        y = y + 1e-10 * np.maximum(1, np.mean(np.abs(y), axis=0)) * rng.standard_normal(size=y.shape)
    return x, y


def ksg_counts(x: np.ndarray, y: np.ndarray, k: int, variant: int) -> tuple[np.ndarray, np.ndarray]:
    """The neighbour counts (n_x, n_y) of every point: strict within the joint k-th distance (variant 1), or
    inclusive within the largest marginal distance to the k joint neighbours (variant 2)."""
    joint_points = np.hstack([x, y])
    joint = nearest(joint_points, k)
    if variant == 1:
        return strict_counts(x, joint, joint_points), strict_counts(y, joint, joint_points)
    return inclusive_counts(x, joint), inclusive_counts(y, joint)


@register(
    name="ksg_mutual_information",
    family="knn",
    params=(Param("x", v.SAMPLES), Param("y", v.SAMPLES, "samples (N, d_y), row i paired with row i of x"), K,
            Param("variant", VARIANTS, "1: strict counts in the joint k-th distance (eq. 8); 2: eq. 9"),
            Param("base", _BASE, "None: nats; 2: bits", optional=True),
            Param("jitter", v.Integers(0), "None, or a seed: add scikit-learn's tie-breaking noise", optional=True),
            Param("clip_at_zero", v.Choice((False, True)), "False: the estimate as it is; True: max(0, estimate)")),
    paper=KRASKOV,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    no_gradient="a function of neighbour counts: piecewise constant in the samples, its derivative 0 where it "
                "has one",
)
def ksg_mutual_information(x: ArrayLike, y: ArrayLike, *, k: int = 3, variant: int = 1, base: float | None = None,
                           jitter: int | None = None, clip_at_zero: bool = False) -> float:
    r"""Kraskov, Stoegbauer and Grassberger's k-nearest-neighbour estimate of :math:`I(X; Y)`, in nats (or ``base``).

    With :math:`\epsilon_i` the max-norm distance from :math:`z_i = (x_i, y_i)` to its k-th nearest other point
    in the joint space (:math:`\|z\| = \max(\|x\|_\infty, \|y\|_\infty)`), variant 1 (the paper's eq. 8) is

    .. math:: \hat I^{(1)} = \psi(k) + \psi(N) - \frac{1}{N} \sum_i \big[\psi(n_{x,i} + 1) + \psi(n_{y,i} + 1)\big],
              \qquad n_{x,i} = \#\{j \ne i : \|x_j - x_i\| < \epsilon_i\}

    (strict counts) and variant 2 (eq. 9), with :math:`\epsilon_{x,i}` the largest x-distance from point i to its
    k joint neighbours,

    .. math:: \hat I^{(2)} = \psi(k) - \frac{1}{k} + \psi(N)
              - \frac{1}{N} \sum_i \big[\psi(n_{x,i}) + \psi(n_{y,i})\big],
              \qquad n_{x,i} = \#\{j \ne i : \|x_j - x_i\| \le \epsilon_{x,i}\}.

    Conventions: neighbours and counts are decided on the exact distances of the float64 points, equal distances
    ordered by index (see the family's conventions); the estimate is returned as it is, negative included,
    unless ``clip_at_zero`` (scikit-learn clips). No gradient: the estimate is a function of integer counts.

    Which peer computes what: scikit-learn's ``mutual_info_regression`` is variant 1 with ``k = n_neighbors``, on
    columns scaled to unit variance (not centred) and jittered (``jitter=random_state`` reproduces its noise) and
    clipped; NPEET's ``mi`` is variant 1 in bits with its own noise; benchmark-mi's ``KSGEnsembleFirstEstimator``
    is variant 1 with Euclidean marginal norms (a different estimator where a marginal has d > 1).

    Args:
        x: samples ``(N, d_x)`` (or ``(N,)``).
        y: samples ``(N, d_y)`` (or ``(N,)``), row i paired with row i of ``x``.
        k: the neighbour that sets each point's radius, ``1 <= k < N``.
        variant: 1 (eq. 8, default) or 2 (eq. 9).
        base: ``None`` (nats) or the base of the logarithm.
        jitter: ``None`` (default: the points as given) or a seed for scikit-learn's noise (:func:`sklearn_jitter`).
        clip_at_zero: return ``max(0, estimate)``.

    >>> x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> round(ksg_mutual_information(x, x, k=1), 12)  # psi(1) + psi(6) - 2 psi(1): no point is strictly closer
    2.283333333333
    >>> round(ksg_mutual_information(range(8), [4, 5, 1, 0, 7, 3, 2, 6], k=2), 12)  # negative: not clipped
    -0.157142857143
    """
    k = v.integer_in(k, K.domain, "k")
    variant = v.choice(variant, VARIANTS, "variant")
    clip = v.choice(clip_at_zero, v.Choice((False, True)), "clip_at_zero")
    log_base = _log_base(base)
    xs, ys = paired(x, y, k)
    if jitter is not None:
        xs, ys = sklearn_jitter(xs, ys, v.integer_in(jitter, v.Integers(0), "jitter"))
        xs, ys = paired(xs, ys, k)  # the noise of a point at 1.7e308 may overflow: refused as any +inf
    n_x, n_y = ksg_counts(xs, ys, k, variant)
    shift = 1 if variant == 1 else 0
    constant = [digamma(k), digamma(len(xs))] + ([-1.0 / k] if variant == 2 else [])
    estimate = math.fsum(constant + [-digamma_mean(n_x, shift), -digamma_mean(n_y, shift)]) / log_base
    return max(0.0, estimate) if clip else estimate


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        n = drawn(st.integers(4, 9))
        k = drawn(st.integers(1, min(3, n - 1)))
        bound = 1e6 if extreme else 10.0
        coordinate = st.floats(-bound, bound, allow_nan=False, allow_infinity=False)
        grid = st.integers(-3, 3).map(float)  # ties: points on a grid
        values = drawn(st.sampled_from([coordinate, grid]))
        dx, dy = drawn(st.integers(1, 2)), drawn(st.integers(1, 2))
        x = np.array([[drawn(values) for _ in range(dx)] for _ in range(n)])
        y = np.array([[drawn(values) for _ in range(dy)] for _ in range(n)])
        return {"x": x, "y": y, "k": k, "variant": drawn(st.sampled_from([1, 2])),
                "base": drawn(st.sampled_from([None, 2.0]))}

    return draw()


def _gaussian_pairs(n: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    z = np.random.default_rng(seed).standard_normal((n, 2))
    return z[:, :1], rho * z[:, :1] + math.sqrt(1 - rho * rho) * z[:, 1:]


def _stress() -> dict:
    x, y = _gaussian_pairs(12, 0.8, 0)
    line = np.arange(8.0)
    grid_x = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.0, 1.0])  # many equal distances
    grid_y = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    near = np.array([1.0, 1.0 + 2.0**-52, 1.0 + 2.0**-51, 1.0 - 2.0**-53, 1.0 + 2.0**-50, 1.0 - 2.0**-52])
    out = {
        "gaussian_0.8": {"x": x, "y": y},  # the defaults: k = 3, variant 1, nats
        "gaussian_0.8__variant_2": {"x": x, "y": y, "variant": 2},
        "gaussian_0.8__k_1__bits": {"x": x, "y": y, "k": 1, "base": 2.0},
        "identical_variables": {"x": line, "y": line, "k": 2},
        # the same at 1e6: the estimate is scale-free; a strict count by an absolute shrink (1e-15) is not
        "identical_variables_at_1e6": {"x": line * 1e6, "y": line * 1e6, "k": 2},
        "negative_estimate": {"x": line, "y": line[[4, 5, 1, 0, 7, 3, 2, 6]], "k": 2},  # -0.157, returned as it is
        "clip_at_zero": {"x": line, "y": line[[4, 5, 1, 0, 7, 3, 2, 6]], "k": 2, "clip_at_zero": True},
        "grid_ties": {"x": grid_x, "y": grid_y, "k": 2},
        "grid_ties__variant_2": {"x": grid_x, "y": grid_y, "k": 2, "variant": 2},
        "duplicate_points": {"x": np.array([0.0, 0.0, 0.0, 1.0, 2.0, 2.0]),
                             "y": np.array([1.0, 1.0, 1.0, 0.0, 3.0, 3.0]), "k": 2},
        # distances one ulp apart that float64 differences round together (the exact comparisons decide)
        "one_ulp_apart": {"x": near, "y": near[::-1].copy(), "k": 1},
        "one_ulp_apart__variant_2": {"x": near, "y": near[::-1].copy(), "k": 2, "variant": 2},
        "two_dimensional_marginals": {"x": np.hstack([x, y]), "y": np.hstack([y, x * 0.5]), "k": 2},
        "jitter_seed_0": {"x": grid_x, "y": grid_y, "k": 2, "jitter": 0},
    }
    return out


def _extreme() -> dict:
    huge = np.array([1.7e308, -1.7e308, 1e308, 0.0, -5e307, 8.9e307])
    tiny = np.array([5e-324, 1e-323, 0.0, -5e-324, 2.5e-323, 1.5e-323])
    mixed = np.array([1e300, 5e-324, -1e300, 1.0, 0.0, 1e-300])
    return {
        "differences_beyond_the_float64_range": {"x": huge, "y": huge[::-1].copy(), "k": 2},
        "subnormal_points": {"x": tiny, "y": tiny[[2, 0, 4, 1, 5, 3]], "k": 2},
        "subnormal_points__variant_2": {"x": tiny, "y": tiny[[2, 0, 4, 1, 5, 3]], "k": 2, "variant": 2},
        "magnitudes_1e-300_to_1e300": {"x": mixed, "y": mixed[::-1].copy(), "k": 1},
        "k_is_n_minus_1": {"x": mixed, "y": tiny, "k": 5},
    }
