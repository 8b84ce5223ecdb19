"""refloss.info.tasks: every stated MI checked by a route other than its closed form.

* low dimension: the double integral of p(x,y) log(p(x,y) / (p(x) p(y))) by adaptive quadrature, with densities
  written here from their textbook definitions (and checked against scipy.stats);
* higher dimension: the Monte Carlo mean of log p(x,y) - log p(x) - log p(y) under scipy.stats densities, on the
  task's own samples (seeded), which must hold the closed form within 4 standard errors;
* transforms: the maps are the claimed injective ones (checked against the formulas transcribed from
  benchmark-mi, and inverted here), and keep the base task's MI;
* benchmark-mi's own numbers, typed in from the research brief.
"""

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, linalg, stats

from refloss import RefLossError
from refloss.info import tasks as T

DOCS = Path(__file__).resolve().parent.parent / "docs"

# benchmark-mi's BENCHMARK_TASKS_LIST (src/bmi/benchmark/task_list.py at 6c569b9): task id -> (dim_x, dim_y),
# transcribed from its task constructors, without 1v1-bimodal-0.75.
BMI_TASK_DIMS = {
    "1v1-normal-0.75": (1, 1), "normal_cdf-1v1-normal-0.75": (1, 1), "1v1-additive-0.1": (1, 1),
    "1v1-additive-0.75": (1, 1), "wiggly-1v1-normal-0.75": (1, 1), "half_cube-1v1-normal-0.75": (1, 1),
    "student-identity-1-1-1": (1, 1), "asinh-student-identity-1-1-1": (1, 1),
    "swissroll_x-normal_cdf-1v1-normal-0.75": (2, 1),
    **{f"multinormal-dense-{d}-{d}-0.5": (d, d) for d in (2, 3, 5, 25, 50)},
    **{f"multinormal-sparse-{d}-{d}-2-2.0": (d, d) for d in (2, 3, 5, 25)},
    **{f"student-identity-{d}-{d}-{df}": (d, d) for d, df in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))},
    **{f"{p}multinormal-sparse-{d}-{d}-2-2.0": (d, d) for p in ("normal_cdf-", "half_cube-", "spiral-",
                                                              "spiral-normal_cdf-") for d in (3, 5, 25)},
    **{f"asinh-student-identity-{d}-{d}-{df}": (d, d) for d, df in ((2, 1), (3, 2), (5, 2))},
}


# --- the catalogue against benchmark-mi -----------------------------------------------------------------------------


def test_tasks_are_benchmark_mis():
    assert set(T.TASKS) == set(BMI_TASK_DIMS) == set(T.BENCHMARK_MI_VALUES)
    for name, t in T.TASKS.items():
        assert t.name == name
        assert (t.dim_x, t.dim_y) == BMI_TASK_DIMS[name], name
        assert isinstance(t.mi, float) and t.description


@pytest.mark.parametrize("name", sorted(T.BENCHMARK_MI_VALUES))
def test_closed_forms_match_benchmark_mi_to_6_decimals(name):
    assert abs(T.task(name).mi - T.BENCHMARK_MI_VALUES[name]) <= 5e-7


def test_closed_forms_in_elementary_terms():
    # values re-derived by hand (independent of the code's Cholesky and gammaln/digamma routes)
    assert T.bivariate_normal(0.75).mi == pytest.approx(-0.5 * math.log(1 - 0.5625), rel=1e-14)
    assert T.multinormal_sparse(7, 3, 0.6).mi == pytest.approx(-1.5 * math.log(1 - 0.36), rel=1e-13)
    for d, a in ((2, 0.5), (3, 0.5), (25, 0.5), (4, -0.1), (6, 0.9)):  # eigenvalues of (1-a) I + a 11^T
        expected = 0.5 * (2 * math.log(1 + (d - 1) * a) - math.log(1 - a) - math.log(1 + (2 * d - 1) * a))
        assert T.multinormal_dense(d, a).mi == pytest.approx(expected, rel=1e-12), (d, a)
    # Student-t, nu = 1: h(1) = log 4 pi (Cauchy), h(2) = log 2 pi + 3, so I = log 8 pi - 3
    assert T.student_t(1, 1, 1).mi == pytest.approx(math.log(8 * math.pi) - 3, rel=1e-14)
    # nu -> inf: the Gaussian with identity covariance, I -> 0, decreasing in nu
    mis = [T.student_t(2, 3, nu).mi for nu in (1, 2, 5, 30, 1e3, 1e5)]
    assert all(a > b for a, b in zip(mis, mis[1:])) and mis[-1] < 1e-8, mis


def test_gaussian_matches_canonical_correlations():
    rng = np.random.default_rng(3)
    for dx, dy in ((1, 1), (2, 3), (4, 2), (5, 5)):
        a = rng.standard_normal((dx + dy, dx + dy + 2))
        cov = a @ a.T
        sxx, syy, sxy = cov[:dx, :dx], cov[dx:, dx:], cov[:dx, dx:]
        # I = -1/2 sum log(1 - rho_i^2), rho_i the canonical correlations (singular values of Sxx^-1/2 Sxy Syy^-1/2)
        whiten = np.linalg.inv(linalg.sqrtm(sxx)) @ sxy @ np.linalg.inv(linalg.sqrtm(syy))
        rho = np.linalg.svd(whiten, compute_uv=False)
        expected = -0.5 * np.sum(np.log1p(-rho**2))
        t = T.gaussian(cov, dx)
        assert (t.dim_x, t.dim_y, t.name) == (dx, dy, f"gaussian-{dx}-{dy}")
        assert t.mi == pytest.approx(expected, rel=1e-9, abs=1e-12), (dx, dy)
    assert T.gaussian(np.eye(4), 2).mi == 0.0


# --- low dimension: the MI integral by quadrature -------------------------------------------------------------------


def _log_binormal(x, y, rho):
    q = (x * x - 2 * rho * x * y + y * y) / (1 - rho * rho)
    return -math.log(2 * math.pi) - 0.5 * math.log(1 - rho * rho) - q / 2


def _log_t(r2, k, nu):
    """log density of the standard k-variate t with nu degrees of freedom at squared norm r2."""
    return (math.lgamma((nu + k) / 2) - math.lgamma(nu / 2) - k / 2 * math.log(nu * math.pi)
            - (nu + k) / 2 * math.log1p(r2 / nu))


def test_test_densities_are_scipys():
    for x, y in ((0.3, -1.2), (2.0, 0.5), (-4.0, 3.0)):
        assert _log_binormal(x, y, 0.75) == pytest.approx(
            stats.multivariate_normal([0, 0], [[1, 0.75], [0.75, 1]]).logpdf([x, y]), rel=1e-13)
        for nu in (1.0, 2.5):
            assert _log_t(x * x + y * y, 2, nu) == pytest.approx(stats.multivariate_t([0, 0], np.eye(2), df=nu)
                                                                 .logpdf([x, y]), rel=1e-13)
            assert _log_t(x * x, 1, nu) == pytest.approx(stats.t(nu).logpdf(x), rel=1e-13)


@pytest.mark.parametrize("rho", [0.75, -0.3, 0.95])
def test_bivariate_normal_by_quadrature(rho):
    def integrand(y, x):
        lp = _log_binormal(x, y, rho)
        return math.exp(lp) * (lp - _log_binormal(x, 0.0, 0.0) - _log_binormal(0.0, y, 0.0) - math.log(2 * math.pi))

    lim = 12.0 if abs(rho) < 0.9 else 14.0
    value, err = integrate.dblquad(integrand, -lim, lim, -lim, lim, epsabs=1e-10, epsrel=1e-10)
    assert abs(value - T.bivariate_normal(rho).mi) < 1e-9, (value, T.bivariate_normal(rho).mi, err)


@pytest.mark.parametrize("nu", [1.0, 3.0])
def test_bivariate_student_by_quadrature(nu):
    # x = tan u, y = tan v maps the plane onto (-pi/2, pi/2)^2: the heavy tails become a finite interval
    def integrand(v, u):
        x, y = math.tan(u), math.tan(v)
        lp = _log_t(x * x + y * y, 2, nu)
        ratio = lp - _log_t(x * x, 1, nu) - _log_t(y * y, 1, nu)
        return math.exp(lp) * ratio / (math.cos(u) ** 2 * math.cos(v) ** 2)

    half = math.pi / 2
    value, err = integrate.dblquad(integrand, 0.0, half, 0.0, half, epsabs=1e-10, epsrel=1e-10)
    value *= 4  # the density is symmetric in x -> -x and in y -> -y
    assert abs(value - T.student_t(1, 1, nu).mi) < 1e-9, (value, T.student_t(1, 1, nu).mi, err)


@pytest.mark.parametrize("dx, dy, nu", [(2, 2, 1), (2, 2, 2), (3, 3, 2), (3, 3, 3), (5, 5, 2), (5, 5, 3), (1, 3, 2.5)])
def test_student_by_radial_quadrature(dx, dy, nu):
    # The joint density depends on |x|^2 + |y|^2 and the marginals on |x| and |y|: in r = |x|, s = |y| the MI
    # integral is two-dimensional for any dims, with volume element S_dx r^(dx-1) S_dy s^(dy-1) dr ds (S_k the area
    # of the unit sphere of R^k); then r = rho cos phi, s = rho sin phi, rho = tan w.
    log_area = sum(math.log(2) + k / 2 * math.log(math.pi) - math.lgamma(k / 2) for k in (dx, dy))

    def integrand(phi, w):
        rho = math.tan(w)
        r, s = rho * math.cos(phi), rho * math.sin(phi)
        lp = _log_t(rho * rho, dx + dy, nu)
        log_volume = (log_area + (dx + dy - 1) * math.log(rho) + (dx - 1) * math.log(math.cos(phi))
                      + (dy - 1) * math.log(math.sin(phi)) - 2 * math.log(math.cos(w)))
        return math.exp(lp + log_volume) * (lp - _log_t(r * r, dx, nu) - _log_t(s * s, dy, nu))

    half = math.pi / 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # quadpack's roundoff or divergence warnings fail the test
        value = integrate.dblquad(integrand, 0.0, half, 0.0, half, epsabs=1e-10, epsrel=1e-10)[0]
    assert abs(value - T.student_t(dx, dy, nu).mi) < 1e-9, (value, T.student_t(dx, dy, nu).mi)


@pytest.mark.parametrize("eps", [0.1, 0.75, 0.3, 0.5, 2.0])
def test_additive_uniform_by_quadrature(eps):
    joint = 1 / (2 * eps)  # p(x, y) on 0 < x < 1, |y - x| < eps; p(x) = 1

    def p_y(y):  # the length of [y - eps, y + eps] inside [0, 1], over 2 eps
        return (min(1.0, y + eps) - max(0.0, y - eps)) / (2 * eps)

    def inner(x):  # integral over y of p log(p / (p_x p_y)); p_y has kinks at eps and 1 - eps
        kinks = [k for k in (eps, 1 - eps) if x - eps < k < x + eps]
        return integrate.quad(lambda y: joint * math.log(joint / p_y(y)), x - eps, x + eps, points=kinks or None,
                              epsabs=1e-13, epsrel=1e-13, limit=200)[0]

    kinks = [k for k in (eps, 1 - eps, 2 * eps, 1 - 2 * eps) if 0 < k < 1]
    value = integrate.quad(inner, 0.0, 1.0, points=kinks or None, epsabs=1e-13, epsrel=1e-13, limit=200)[0]
    assert abs(value - T.additive_uniform(eps).mi) < 1e-10, (value, T.additive_uniform(eps).mi)


# --- Monte Carlo: E[log p(x,y) - log p(x) - log p(y)] on the task's own samples -------------------------------------


N_MC, SEED_MC = 40_000, 20


def _assert_within_4_se(task, log_ratio):
    x, y = task.sample(N_MC, SEED_MC)
    r = log_ratio(x, y)
    mean, se = r.mean(), r.std(ddof=1) / math.sqrt(N_MC)
    assert abs(mean - task.mi) <= 4 * se, (task.name, mean, se, task.mi)
    return mean, se


def _assert_gaussian(task, cov):
    """The MI by Monte Carlo, and the samples' law: the squared Mahalanobis norm under cov is chi^2(d)."""
    dx = task.dim_x
    joint, px, py = (stats.multivariate_normal(cov=c) for c in (cov, cov[:dx, :dx], cov[dx:, dx:]))
    _assert_within_4_se(task, lambda x, y: joint.logpdf(np.hstack([x, y])) - px.logpdf(x) - py.logpdf(y))
    z = np.hstack(task.sample(N_MC, SEED_MC))
    m2 = np.einsum("ni,ni->n", z, np.linalg.solve(cov, z.T).T)
    assert stats.kstest(m2, "chi2", args=(len(cov),)).pvalue > 1e-3


def test_bivariate_normal_by_monte_carlo():
    _assert_gaussian(T.task("1v1-normal-0.75"), np.array([[1, 0.75], [0.75, 1]]))


@pytest.mark.parametrize("d", [3, 5])
def test_dense_by_monte_carlo(d):
    _assert_gaussian(T.task(f"multinormal-dense-{d}-{d}-0.5"), np.full((2 * d, 2 * d), 0.5) + 0.5 * np.eye(2 * d))


@pytest.mark.parametrize("d", [3, 5])
def test_sparse_by_monte_carlo(d):
    # benchmark-mi's latent-variable model, built here from its definition: X_i = 2 Z_i + E_i, Y_i = 2 Z_i + F_i for
    # i < 2, X_i = 2 V_i + E_i, Y_i = 2 W_i + F_i otherwise, all latents independent N(0, 1); then standardised
    mixing = np.zeros((2 * d, 2 + 2 * d + 2 * (d - 2)))
    for i in range(d):
        for row, noise, extra in ((i, 2 + i, 2 + 2 * d), (d + i, 2 + d + i, 2 + 2 * d + (d - 2))):
            mixing[row, noise] = 1.0
            if i < 2:
                mixing[row, i] = 2.0
            else:
                mixing[row, extra + i - 2] = 2.0
    cov = mixing @ mixing.T
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert corr[0, d] == corr[1, d + 1] == pytest.approx(0.8)
    _assert_gaussian(T.task(f"multinormal-sparse-{d}-{d}-2-2.0"), corr)


@pytest.mark.parametrize("dx, dy, df", [(1, 1, 1), (2, 2, 1), (2, 2, 2), (3, 3, 3), (1, 3, 2.5)])
def test_student_by_monte_carlo(dx, dy, df):
    joint = stats.multivariate_t(np.zeros(dx + dy), np.eye(dx + dy), df=df)
    px = stats.multivariate_t(np.zeros(dx), np.eye(dx), df=df)  # marginals of a t: t with the same df
    py = stats.multivariate_t(np.zeros(dy), np.eye(dy), df=df)
    t = T.student_t(dx, dy, df)
    _assert_within_4_se(t, lambda x, y: joint.logpdf(np.hstack([x, y])) - px.logpdf(x) - py.logpdf(y))
    z = np.hstack(t.sample(N_MC, SEED_MC))  # the law: |z|^2 / d ~ F(d, df) for the standard t_d
    assert stats.kstest(np.sum(z * z, axis=1) / (dx + dy), "f", args=(dx + dy, df)).pvalue > 1e-3


@pytest.mark.parametrize("eps", [0.1, 0.75])
def test_additive_uniform_by_monte_carlo(eps):
    t = T.additive_uniform(eps)
    x, y = t.sample(20_000, 1)
    noise = (y - x)[:, 0]
    assert (x >= 0).all() and (x <= 1).all() and (np.abs(noise) <= eps).all()
    assert noise.max() > eps * (1 - 1e-3) and noise.min() < -eps * (1 - 1e-3)  # the whole support is drawn
    assert stats.kstest(x[:, 0], "uniform").pvalue > 1e-3
    assert stats.kstest(noise, "uniform", args=(-eps, 2 * eps)).pvalue > 1e-3
    assert abs(np.corrcoef(x[:, 0], noise)[0, 1]) < 4 / math.sqrt(len(noise))  # the noise is independent of x

    def log_ratio(x, y):
        p_y = (np.minimum(1.0, y + eps) - np.maximum(0.0, y - eps)) / (2 * eps)
        return (-math.log(2 * eps) - np.log(p_y))[:, 0]

    _assert_within_4_se(t, log_ratio)


# --- transforms -----------------------------------------------------------------------------------------------------


def bmi_wiggly_x(x):  # benchmark-mi, src/bmi/benchmark/tasks/wiggly.py, transcribed
    return x + 0.4 * np.sin(1.0 * x) + 0.2 * np.sin(1.7 * x + 1) + 0.03 * np.sin(3.3 * x - 2.5)


def bmi_wiggly_y(x):
    return x - 0.4 * np.sin(0.4 * x) + 0.17 * np.sin(1.3 * x + 3.5) + 0.02 * np.sin(4.3 * x - 2.5)


GRID = np.linspace(-30.0, 30.0, 200_001)


def test_wiggly_maps_are_benchmark_mis_and_increasing():
    np.testing.assert_allclose(T._wiggly_x(GRID), bmi_wiggly_x(GRID), rtol=1e-15, atol=1e-14)
    np.testing.assert_allclose(T._wiggly_y(GRID), bmi_wiggly_y(GRID), rtol=1e-15, atol=1e-14)
    h = GRID[1] - GRID[0]
    for fn, bound in ((T._wiggly_x, 0.161), (T._wiggly_y, 0.533)):
        slope = np.diff(fn(GRID)) / h
        assert slope.min() > bound - 1e-3, slope.min()  # the derivative's analytic lower bound


@pytest.mark.parametrize("fn", [T._half_cube, T.special.ndtr, np.arcsinh, T._wiggly_x, T._wiggly_y])
def test_coordinate_maps_strictly_increasing(fn):
    grid = np.linspace(-6.0, 6.0, 20_001)  # within the range where float64 resolves ndtr's steps
    assert (np.diff(fn(grid)) > 0).all()


@pytest.mark.parametrize("transform, fx, fy", [
    (T.half_cube, lambda a: np.sign(a) * np.abs(a) ** 1.5, lambda a: np.sign(a) * np.abs(a) ** 1.5),
    (T.normal_cdf, stats.norm.cdf, stats.norm.cdf),
    (T.asinh, lambda a: np.sign(a) * np.log(np.abs(a) + np.hypot(a, 1)),
     lambda a: np.sign(a) * np.log(np.abs(a) + np.hypot(a, 1))),
    (T.wiggly, bmi_wiggly_x, bmi_wiggly_y),
])
@pytest.mark.parametrize("base", [T.bivariate_normal(0.75), T.multinormal_sparse(3), T.student_t(2, 2, 1)])
def test_coordinatewise_transforms(transform, fx, fy, base):
    t = transform(base)
    assert t.name == f"{transform.__name__}-{base.name}"
    assert (t.dim_x, t.dim_y, t.mi) == (base.dim_x, base.dim_y, base.mi)
    x, y = t.sample(500, 4)
    bx, by = base.sample(500, 4)
    assert np.isfinite(x).all() and np.isfinite(y).all()
    np.testing.assert_allclose(x, fx(bx), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(y, fy(by), rtol=1e-12, atol=1e-15)


def _rotation(n, i, j, theta):
    gen = np.zeros((n, n))
    gen[i, j], gen[j, i] = -1.0, 1.0  # benchmark-mi's so_generator(n, i, j)
    return linalg.expm(theta * gen)


@pytest.mark.parametrize("base", [T.multinormal_sparse(3), T.normal_cdf(T.multinormal_sparse(5)), T.gaussian(
    np.eye(5) + 0.3 * (np.eye(5, k=1) + np.eye(5, k=-1)), 2)])
@pytest.mark.parametrize("speed", [1.0, 2.5])
def test_spiral_is_a_norm_preserving_bijection(base, speed):
    t = T.spiral(base, speed)
    assert t.name == f"spiral-{base.name}" and (t.dim_x, t.dim_y, t.mi) == (base.dim_x, base.dim_y, base.mi)
    x, y = t.sample(300, 8)
    bx, by = base.sample(300, 8)
    assert np.isfinite(x).all() and np.isfinite(y).all()
    for out, src, (i, j), d in ((x, bx, (0, 1), base.dim_x), (y, by, (1, 2), base.dim_y)):
        r2 = np.sum(src**2, axis=1)
        np.testing.assert_allclose(np.sum(out**2, axis=1), r2, rtol=1e-12)  # the norm is kept ...
        s = speed / d  # benchmark-mi's normalize_speed: speed / dimension
        for k in (0, 137, 299):  # ... so the map is exp(s |x|^2 A) x, and exp(-s |x'|^2 A) inverts it
            np.testing.assert_allclose(out[k], _rotation(d, i, j, s * r2[k]) @ src[k], rtol=1e-11, atol=1e-13)
            back = _rotation(d, i, j, -s * np.sum(out[k] ** 2)) @ out[k]
            np.testing.assert_allclose(back, src[k], rtol=1e-11, atol=1e-13)
        others = [c for c in range(d) if c not in (i, j)]
        np.testing.assert_array_equal(out[:, others], src[:, others])


def test_swiss_roll_embeds_injectively():
    base = T.task("normal_cdf-1v1-normal-0.75")
    t = T.task("swissroll_x-normal_cdf-1v1-normal-0.75")
    assert (t.dim_x, t.dim_y, t.mi) == (2, 1, base.mi)
    x, y = t.sample(1000, 5)
    bx, by = base.sample(1000, 5)
    tt = 1.5 * np.pi * (1 + 2 * bx[:, 0])  # benchmark-mi's swissroll2d, transcribed
    np.testing.assert_allclose(x, np.stack([tt * np.cos(tt), tt * np.sin(tt)], axis=1) / 21.0, rtol=1e-13)
    np.testing.assert_array_equal(y, by)
    # injective on [0, 1]: the radius |t| / 21 is strictly increasing in x, and the angle recovers x
    grid = np.linspace(0.0, 1.0, 10_001)[:, None]
    curve = T._swiss_roll(grid)
    assert (np.diff(np.hypot(curve[:, 0], curve[:, 1])) > 0).all()
    np.testing.assert_allclose(np.hypot(x[:, 0], x[:, 1]) * 21.0 / (1.5 * np.pi) / 2 - 0.5, bx[:, 0], atol=1e-12)


def test_transforms_refuse_what_they_cannot_do():
    with pytest.raises(RefLossError, match="task"):
        T.spiral(T.bivariate_normal(0.5))
    with pytest.raises(RefLossError, match="task"):
        T.spiral(T.multinormal_sparse(2))  # dim_y = 2: no (1, 2) plane
    with pytest.raises(RefLossError, match="task"):
        T.swiss_roll(T.multinormal_dense(2))
    with pytest.raises(RefLossError, match="task"):
        T.half_cube("1v1-normal-0.75")
    with pytest.raises(RefLossError, match="speed"):
        T.spiral(T.multinormal_sparse(3), speed=float("nan"))


# --- sampling -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(T.TASKS))
def test_samples_shape_dtype_determinism(name):
    t = T.task(name)
    x, y = t.sample(7, 11)
    assert x.shape == (7, t.dim_x) and y.shape == (7, t.dim_y)
    assert x.dtype == y.dtype == np.float64
    assert np.isfinite(x).all() and np.isfinite(y).all()
    x2, y2 = t.sample(7, 11)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, y3 = t.sample(7, 12)
    assert not np.array_equal(x, x3) and not np.array_equal(y, y3)
    x1, y1 = t.sample(1, np.int64(0))
    assert x1.shape == (1, t.dim_x) and y1.shape == (1, t.dim_y)


def test_task_is_frozen_and_named_in_its_repr():
    t = T.task("1v1-additive-0.1")
    with pytest.raises(AttributeError):
        t.mi = 0.0
    assert "1v1-additive-0.1" in repr(t) and "sampler" not in repr(t)
    assert T.additive_uniform(0.1) == t  # tasks compare by name, dims, and MI


# --- bad input ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, arg", [
    (lambda: T.bivariate_normal(1.0), "rho"), (lambda: T.bivariate_normal(-1.0), "rho"),
    (lambda: T.bivariate_normal(1.5), "rho"), (lambda: T.bivariate_normal(float("nan")), "rho"),
    (lambda: T.bivariate_normal("0.5"), "rho"),
    (lambda: T.additive_uniform(0.0), "epsilon"), (lambda: T.additive_uniform(-0.1), "epsilon"),
    (lambda: T.student_t(1, 1, 0), "df"), (lambda: T.student_t(1, 1, -2.0), "df"),
    (lambda: T.student_t(1, 1, math.inf), "df"), (lambda: T.student_t(0, 1, 1), "dim_x"),
    (lambda: T.student_t(1, 1.5, 1), "dim_y"),
    (lambda: T.multinormal_dense(0), "dim"), (lambda: T.multinormal_dense(2, 1.0), "off_diag"),
    (lambda: T.multinormal_dense(2, -1 / 3), "off_diag"),
    (lambda: T.multinormal_sparse(3, 4), "n_interacting"), (lambda: T.multinormal_sparse(3, -1), "n_interacting"),
    (lambda: T.multinormal_sparse(3, 2, 1.0), "correlation"),
    (lambda: T.gaussian([[1.0, 2.0], [2.0, 1.0]], 1), "cov"), (lambda: T.gaussian([[1.0, 0.1], [0.2, 1.0]], 1), "cov"),
    (lambda: T.gaussian(np.eye(3), 3), "dim_x"), (lambda: T.gaussian(np.eye(3), 0), "dim_x"),
    (lambda: T.gaussian(np.ones((2, 3)), 1), "cov"), (lambda: T.gaussian([[1.0, np.nan], [np.nan, 1.0]], 1), "cov"),
    (lambda: T.task("1v1-normal-0.7"), "name"), (lambda: T.task(None), "name"),
])
def test_bad_arguments_raise_naming_the_argument(call, arg):
    with pytest.raises(RefLossError, match=rf"\b{arg}\b"):
        call()


@pytest.mark.parametrize("n, seed, arg", [
    (0, 0, "n"), (-3, 0, "n"), (2.5, 0, "n"), (True, 0, "n"), ("10", 0, "n"),
    (10, 1.5, "seed"), (10, -1, "seed"), (10, None, "seed"), (10, "x", "seed"),
])
def test_bad_sample_arguments(n, seed, arg):
    with pytest.raises(RefLossError, match=rf"^{arg} "):
        T.task("1v1-normal-0.75").sample(n, seed)


def test_unknown_task_suggests_close_names():
    with pytest.raises(RefLossError, match="1v1-normal-0.75"):
        T.task("1v1-normal-0.7")


# --- the docs page --------------------------------------------------------------------------------------------------


def test_docs_table_lists_every_task():
    text = (DOCS / "tasks.rst").read_text(encoding="utf-8")
    rows = re.findall(r"^   \* - ``([^`]+)``\n     - (\d+)\n     - (\d+)\n     - ([0-9.]+)\n     - ``([^`]+)``$",
                      text, flags=re.M)
    assert [r[0] for r in rows] == list(T.TASKS)
    for name, dx, dy, mi, built_by in rows:
        t = T.TASKS[name]
        assert (int(dx), int(dy)) == (t.dim_x, t.dim_y), name
        assert mi == f"{t.mi:.6f}", name
        assert eval(built_by, vars(T)) == t, (name, built_by)  # the constructor call shown builds that task
