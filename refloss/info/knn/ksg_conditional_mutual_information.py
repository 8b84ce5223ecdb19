"""``ksg_conditional_mutual_information``: Frenzel and Pompe's kNN estimate of I(X; Y | Z); value, registration."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma

from ... import _validate as v
from ..._registry import Paper, Param, register
from ..entropy._common import _BASE, _log_base
from ._common import K, digamma_mean, nearest, points, strict_counts

FRENZEL_POMPE = Paper("Partial mutual information for coupling analysis of multivariate time series",
                      where="S. Frenzel, B. Pompe, Phys. Rev. Lett. 99, 204101 (2007), the KSG estimator of the "
                            "conditional mutual information")


def _triple(x, y, z, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys, zs = points(x, "x", k), points(y, "y", k), points(z, "z", k)
    for name, a in (("y", ys), ("z", zs)):
        if a.shape[0] != xs.shape[0]:
            raise v.RefLossError(f"{name} must hold one point per point of x ({xs.shape[0]}), got {a.shape[0]}")
    return xs, ys, zs


@register(
    name="ksg_conditional_mutual_information",
    family="knn",
    params=(Param("x", v.SAMPLES), Param("y", v.SAMPLES, "samples (N, d_y), row i paired with row i of x"),
            Param("z", v.SAMPLES, "the conditioning samples (N, d_z), row i paired with row i of x"), K,
            Param("base", _BASE, "None: nats; 2: bits", optional=True),
            Param("clip_at_zero", v.Choice((False, True)), "False: the estimate as it is; True: max(0, estimate)")),
    paper=FRENZEL_POMPE,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    no_gradient="a function of neighbour counts: piecewise constant in the samples, its derivative 0 where it "
                "has one",
)
def ksg_conditional_mutual_information(x: ArrayLike, y: ArrayLike, z: ArrayLike, *, k: int = 3,
                                       base: float | None = None, clip_at_zero: bool = False) -> float:
    r"""Frenzel and Pompe's k-nearest-neighbour estimate of :math:`I(X; Y \mid Z)`, in nats (or ``base``).

    With :math:`\epsilon_i` the max-norm distance from :math:`(x_i, y_i, z_i)` to its k-th nearest other point in
    the joint space,

    .. math:: \hat I = \psi(k) - \frac{1}{N} \sum_i \big[\psi(n_{xz,i} + 1) + \psi(n_{yz,i} + 1)
              - \psi(n_{z,i} + 1)\big],

    with :math:`n_{xz,i}` the number of other points strictly within :math:`\epsilon_i` of point i in the space
    of :math:`(x, z)` (max-norm), and likewise in :math:`(y, z)` and :math:`z`. It is KSG's variant 1
    (:func:`ksg_mutual_information`) applied to :math:`I(X; Y, Z) - I(X; Z)` with one radius, as the paper builds
    it; NPEET's ``cmi`` and infomeasure's ``KSGCMIEstimator`` compute the same counts. Neighbours and counts are
    exact (the family's conventions); negative estimates are returned unless ``clip_at_zero``.

    Args:
        x, y, z: samples ``(N, d)`` (or ``(N,)``), row i of each the same sample.
        k: the neighbour that sets each point's radius, ``1 <= k < N``.
        base: ``None`` (nats) or the base of the logarithm.
        clip_at_zero: return ``max(0, estimate)``.

    >>> x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> round(ksg_conditional_mutual_information(x, x, [0.0] * 6, k=1), 12)  # Z constant: I(X; X), as KSG gives it
    2.283333333333
    """
    k = v.integer_in(k, K.domain, "k")
    clip = v.choice(clip_at_zero, v.Choice((False, True)), "clip_at_zero")
    log_base = _log_base(base)
    xs, ys, zs = _triple(x, y, z, k)
    joint_points = np.hstack([xs, ys, zs])
    joint = nearest(joint_points, k)
    n_xz = strict_counts(np.hstack([xs, zs]), joint, joint_points)
    n_yz = strict_counts(np.hstack([ys, zs]), joint, joint_points)
    n_z = strict_counts(zs, joint, joint_points)
    estimate = math.fsum([digamma(k), -digamma_mean(n_xz, 1), -digamma_mean(n_yz, 1), digamma_mean(n_z, 1)])
    estimate /= log_base
    return max(0.0, estimate) if clip else estimate


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        n = drawn(st.integers(4, 8))
        bound = 1e6 if extreme else 10.0
        values = drawn(st.sampled_from([st.floats(-bound, bound, allow_nan=False), st.integers(-2, 2).map(float)]))
        x, y, z = (np.array([[drawn(values)] for _ in range(n)]) for _ in range(3))
        return {"x": x, "y": y, "z": z, "k": drawn(st.integers(1, min(3, n - 1))),
                "base": drawn(st.sampled_from([None, 2.0]))}

    return draw()


def _stress() -> dict:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((12, 1))
    x = z + 0.5 * rng.standard_normal((12, 1))
    y = z + 0.5 * rng.standard_normal((12, 1))  # X and Y dependent through Z only
    grid = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.0, 1.0])
    # infomeasure's documented example (its guide, KSG conditional MI)
    ix = np.array([-2.49, 1.64, -3.05, 7.95, -5.96, 1.77, -5.24, 7.03, -0.11, -1.86])
    iy = np.array([7.95, -5.96, 7.03, -0.11, -1.86, 1.77, -2.49, 1.64, -3.05, -5.24])
    iz = np.array([-8.59, 8.41, 3.76, 3.77, 5.69, 1.75, -3.2, -4.0, -4.0, 6.85])
    return {
        "common_cause": {"x": x, "y": y, "z": z},  # the defaults: k = 3, nats
        "common_cause__k_1__bits": {"x": x, "y": y, "z": z, "k": 1, "base": 2.0},
        "conditioning_on_x": {"x": x, "y": y, "z": x, "k": 2},
        "common_cause_at_1e6": {"x": x * 1e6, "y": y * 1e6, "z": z * 1e6, "k": 2},
        "grid_ties": {"x": grid, "y": grid[::-1].copy(), "z": grid[[1, 0, 3, 2, 5, 4, 7, 6]], "k": 2},
        "infomeasure_guide_k_4": {"x": ix, "y": iy, "z": iz, "k": 4},
        "infomeasure_guide_k_4__clipped": {"x": ix, "y": iy, "z": iz, "k": 4, "clip_at_zero": True},
        "two_dimensional": {"x": np.hstack([x, z]), "y": y, "z": np.hstack([z, y * 0.5]), "k": 2},
    }


def _extreme() -> dict:
    huge = np.array([1.7e308, -1.7e308, 1e308, 0.0, -5e307, 8.9e307])
    tiny = np.array([5e-324, 1e-323, 0.0, -5e-324, 2.5e-323, 1.5e-323])
    return {
        "differences_beyond_the_float64_range": {"x": huge, "y": huge[::-1].copy(), "z": tiny, "k": 2},
        "subnormal_points": {"x": tiny, "y": tiny[[2, 0, 4, 1, 5, 3]], "z": tiny[::-1].copy(), "k": 2},
    }
