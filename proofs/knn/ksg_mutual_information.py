r"""``ksg_mutual_information``: the definition and its machine-checked properties.

**Definition** (Kraskov, Stoegbauer, Grassberger 2004, eqs. 8 and 9). In the joint space
:math:`z = (x, y)` with :math:`\|z - z'\| = \max(\|x - x'\|_\infty, \|y - y'\|_\infty)`, let :math:`\epsilon_i`
be the distance from :math:`z_i` to its k-th nearest other point. Variant 1 counts the other points strictly
within :math:`\epsilon_i` in each marginal, :math:`n_{x,i} = \#\{j \ne i: \|x_j - x_i\| < \epsilon_i\}`, and

.. math:: \hat I^{(1)} = \psi(k) + \psi(N) - \big\langle \psi(n_x + 1) + \psi(n_y + 1) \big\rangle .

Variant 2 takes the k joint neighbours of point i, their largest x-distance :math:`\epsilon_{x,i}` and
y-distance :math:`\epsilon_{y,i}`, counts inclusively, :math:`n_{x,i} = \#\{j \ne i: \|x_j - x_i\| \le
\epsilon_{x,i}\}` (at least 1: the neighbour that attains it), and

.. math:: \hat I^{(2)} = \psi(k) - \frac{1}{k} + \psi(N) - \big\langle \psi(n_x) + \psi(n_y) \big\rangle .

**Where it comes from.** :math:`I = H(X) + H(Y) - H(X, Y)`, each entropy by the Kozachenko-Leonenko
estimator :math:`\hat H = -\psi(k) + \psi(N) + \log c_d + \frac{d}{N}\sum_i \log \epsilon_i` (see
``kl_entropy``), with the marginal entropies evaluated at the neighbour count :math:`n_{x,i} + 1` that the
joint radius :math:`\epsilon_i` contains instead of at k, so that the :math:`\log \epsilon_i` terms cancel.
This is the paper's derivation, not a theorem that a finite-sample identity can check; what is checked here is
the definition's own algebra on exact configurations.

**Ties.** The paper assumes distinct distances. Here they are decided exactly on the float64 points
(rationals), equal distances ordered by index; a duplicate point has :math:`\epsilon_i = 0` under a large enough
tie, and then no other point is strictly within it (:math:`n = 0`). This is refloss's convention, stated in
``docs/conventions.rst``; scikit-learn instead adds noise (reproduced by ``jitter=``).

**Checked** (``_prove_ksg``): on N = 7 distinct points with X = Y, variant 1 is :math:`\psi(N) - \psi(k)`
(every marginal count is k - 1) and variant 2 is :math:`\psi(N) - \psi(k) - 1/k` (every count is k), for
k = 1, 2, 3; swapping X and Y leaves both variants unchanged on a configuration with ties; the counts of the
brute-force oracle on a tied grid equal counts written out by hand.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._arb import ball, compile_expressions, to_mpf
from .._definitions import define, ell
from .._structured_views import GenericSamples, Samples
from .._tactics import assert_identity
from ._common import as_points, psi, unit


def sklearn_noise(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``mutual_info_regression`` noise (1e-10 max(1, mean|column|) N(0, 1), x then y, from
    RandomState(seed)), written from its source: the points the estimator is then defined on."""
    rng = np.random.RandomState(seed)
    noisy_x = x + 1e-10 * np.maximum(1, np.mean(np.abs(x), axis=0)) * rng.standard_normal(size=x.shape)
    if y.shape[1] == 1:
        column = y[:, 0] + 1e-10 * np.maximum(1, np.mean(np.abs(y[:, 0]))) * rng.standard_normal(size=len(y))
        return noisy_x, column[:, None]
    return noisy_x, y + 1e-10 * np.maximum(1, np.mean(np.abs(y), axis=0)) * rng.standard_normal(size=y.shape)


def ksg_counts(x, y, k: int, variant: int) -> list[tuple[int, int]]:
    """(n_x, n_y) of every point, by brute force on the exact points."""
    xs, ys, zs = Samples(x), Samples(y), Samples(np.hstack([x, y]))
    out = []
    for i in range(zs.N):
        members = zs.neighbours(i)[:k]
        if variant == 1:
            eps = zs.exact_distance(i, members[-1])
            out.append((xs.count_closer(i, eps), ys.count_closer(i, eps)))
        else:
            eps_x = max(xs.exact_distance(i, j) for j in members)
            eps_y = max(ys.exact_distance(i, j) for j in members)
            out.append((xs.count_closer(i, eps_x, inclusive=True), ys.count_closer(i, eps_y, inclusive=True)))
    return out


def ksg_terms(case: dict, exact: dict) -> list[sp.Expr]:
    """The terms the estimate sums (before the unit and the clip): psi(k), psi(N), [-1/k], -psi(n + shift) / N."""
    x, y = as_points(exact["x"]), as_points(exact["y"])
    if case["jitter"] is not None:
        x, y = sklearn_noise(x, y, case["jitter"])
    k, variant = case["k"], case["variant"]
    shift = 1 if variant == 1 else 0
    n = len(x)
    terms = [psi(k), psi(n)] + ([-sp.Rational(1, k)] if variant == 2 else [])
    for n_x, n_y in ksg_counts(x, y, k, variant):
        terms += [-psi(n_x + shift) / n, -psi(n_y + shift) / n]
    return terms


def _ksg_build(case, exact):
    estimate = sp.Add(*ksg_terms(case, exact)) / unit(case["base"])
    return sp.Max(0, estimate) if case["clip_at_zero"] else estimate


def _term_scale(arguments: dict, bits: int):
    """The magnitudes of the summed terms: each is rounded once by a float64 implementation."""
    terms = ksg_terms(arguments, arguments)
    total = sp.Add(*[sp.Abs(t) for t in terms]) / sp.Abs(unit(arguments["base"]))
    return to_mpf(ball(compile_expressions([total], []).evaluate([], bits)[0])), {}


def _formula():
    s = GenericSamples()
    n_x, n_y = sp.IndexedBase("n_x"), sp.IndexedBase("n_y")
    return ell(sp.digamma(s.k) + sp.digamma(s.N) - s.mean(lambda i: sp.digamma(n_x[i] + 1) + sp.digamma(n_y[i] + 1)),
               r"\hat{I}")


def _estimate(x, y, k, variant):
    case = {"jitter": None, "k": k, "variant": variant}
    return sp.Add(*ksg_terms(case, {"x": x, "y": y}))


def _prove_ksg():
    line = np.array([0.0, 1.0, 3.0, 7.0, 12.0, 20.0, 30.5])  # distinct gaps: no tie anywhere
    n = len(line)
    for k in (1, 2, 3):
        assert_identity(_estimate(line, line, k, 1), psi(n) - psi(k), f"X = Y, variant 1, k = {k}: psi(N) - psi(k)")
        assert_identity(_estimate(line, line, k, 2), psi(n) - psi(k) - sp.Rational(1, k),
                        f"X = Y, variant 2, k = {k}: psi(N) - psi(k) - 1/k")
    x = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    for variant in (1, 2):
        assert_identity(_estimate(x, y, 2, variant), _estimate(y, x, 2, variant), f"variant {variant} symmetric")
    # On the grid, point 0 = (0, 0): its neighbours at max-distance 1 are points 1, 2, 3, 6, 7 (ties by index:
    # 1 then 2), so eps = 1 and no other point has |x| < 1 but points 1 and 6 (x = 0): n_x = 2; n_y: points 2, 4, 7.
    counts = ksg_counts(x[:, None], y[:, None], 2, 1)
    if counts[0] != (2, 3):
        raise AssertionError(f"the grid's counts at point 0 are {counts[0]}, by hand (2, 3)")


define(
    "ksg_mutual_information",
    # k = 3 is scikit-learn's and NPEET's default (the paper fixes none); the rest are the paper's estimator as is
    defaults={"k": 3, "variant": 1, "base": None, "jitter": None, "clip_at_zero": False},
    build=_ksg_build,
    formula=_formula,
    gradient_formula=lambda: None,
    prove=_prove_ksg,
    intermediate_scales=_term_scale,
    exact_inputs=("x", "y"),
)
