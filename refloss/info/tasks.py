r"""Ground-truth tasks for mutual-information estimators: samples of :math:`(X, Y)` and their exact MI in nats.

The tasks of benchmark-mi ("Beyond Normal: On the Evaluation of Mutual Information Estimators", Czyż, Grabowski,
Vogt, Beerenwinkel and Marx, NeurIPS 2023, arXiv:2306.11078; code at cbg-ethz/bmi), regenerated with NumPy and
SciPy. A :class:`Task` draws ``n`` points for a ``seed`` and carries its mutual information :math:`I(X; Y)` from a
closed form: the Gaussian determinant formula, the Student-t entropies of Arellano-Valle et al. (2013), the additive
uniform noise formula. The transforms (:func:`half_cube`, :func:`normal_cdf`, :func:`wiggly`, :func:`asinh`,
:func:`spiral`, :func:`swiss_roll`) apply an injective map to :math:`X` and one to :math:`Y`; mutual information is
invariant under such maps, so the transformed task keeps the base task's ``mi`` while its distribution stops being
Gaussian (or stops having a density at all, for the Swiss roll).

:data:`TASKS` holds the tasks of benchmark-mi's main benchmark (``BENCHMARK_TASKS_LIST``) under benchmark-mi's own
task ids, except ``1v1-bimodal-0.75`` (its marginals are inverted numerically, with no closed form); :func:`task`
looks one up. :data:`BENCHMARK_MI_VALUES` holds benchmark-mi's ground truth for them, to 6 decimals.

Convention: the samples are refloss's own (``np.random.default_rng(seed)``), not benchmark-mi's (JAX keys and SciPy
streams); the same seed gives other points than benchmark-mi, from the same distribution. benchmark-mi also
standardises every coordinate before estimating (an MI-invariant step); refloss's tasks return the raw samples.

Nothing here is registered in the catalogue: a task is data for testing estimators, not an objective.

>>> t = task("1v1-normal-0.75")
>>> t.dim_x, t.dim_y, round(t.mi, 6)
(1, 1, 0.413339)
>>> x, y = t.sample(1000, seed=0)
>>> x.shape, y.shape, x.dtype
((1000, 1), (1000, 1), dtype('float64'))
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .. import _validate as v
from .._validate import Interval, RefLossError

__all__ = [
    "Task",
    "gaussian",
    "bivariate_normal",
    "multinormal_dense",
    "multinormal_sparse",
    "student_t",
    "additive_uniform",
    "half_cube",
    "normal_cdf",
    "asinh",
    "wiggly",
    "spiral",
    "swiss_roll",
    "TASKS",
    "task",
    "BENCHMARK_MI_VALUES",
]

# sampler(n, rng) -> (x, y): n points drawn from a numpy.random.Generator.
Sampler = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]

_OPEN_UNIT = Interval(-1.0, 1.0, lo_open=True, hi_open=True)
_POSITIVE = Interval(0.0, lo_open=True)

_BMI = "benchmark-mi (Czyż et al., NeurIPS 2023, arXiv:2306.11078)"


@dataclass(frozen=True)
class Task:
    """A distribution of :math:`(X, Y)` that can be sampled, with its exact mutual information.

    Attributes:
        name: the task id; benchmark-mi's id where benchmark-mi has the task (e.g. ``"1v1-normal-0.75"``).
        dim_x: dimension of :math:`X`.
        dim_y: dimension of :math:`Y`.
        mi: :math:`I(X; Y)` in nats, from a closed form.
        sampler (callable): ``sampler(n, rng) -> (x, y)``, drawing from a :class:`numpy.random.Generator`; call
            :meth:`sample` rather than this.
        description: the construction and the source of the closed form.

    >>> t = bivariate_normal(0.5)
    >>> t.name, round(t.mi, 6)
    ('1v1-normal-0.5', 0.143841)
    """

    name: str
    dim_x: int
    dim_y: int
    mi: float
    sampler: Sampler = field(repr=False, compare=False)
    description: str = field(default="", compare=False)

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` points, the same ones for the same ``(n, seed)``.

        Args:
            n: number of points, an integer >= 1.
            seed: a non-negative integer, passed to ``np.random.default_rng``.

        Returns:
            ``(x, y)``: float64 arrays of shapes ``(n, dim_x)`` and ``(n, dim_y)``; row ``i`` of both is one draw.

        >>> x, y = multinormal_dense(2).sample(3, seed=7)
        >>> x.shape, y.shape
        ((3, 2), (3, 2))
        >>> bool((multinormal_dense(2).sample(3, seed=7)[0] == x).all())
        True
        """
        n = _integer_at_least(n, 1, "n")
        seed = _integer_at_least(seed, 0, "seed")
        x, y = self.sampler(n, np.random.default_rng(seed))
        x = np.asarray(x, dtype=np.float64).reshape(n, self.dim_x)
        y = np.asarray(y, dtype=np.float64).reshape(n, self.dim_y)
        return x, y


def _integer_at_least(value, lo: int, name: str) -> int:
    k = v.integer(value, name)
    if k < lo:
        raise RefLossError(f"{name} must be an integer >= {lo}, got {value!r}")
    return k


def _label(x: float) -> str:
    """A real parameter as benchmark-mi writes it in a task id (Python's float repr): ``0.75``, ``2.0``."""
    return repr(float(x))


# --- Gaussian -------------------------------------------------------------------------------------------------------


def _gaussian_mi(chol: np.ndarray, cov: np.ndarray, dim_x: int) -> float:
    """:math:`\\tfrac12[\\log\\det\\Sigma_{YY} - \\log\\det\\Sigma_{Y|X}]` from Cholesky factors (see gaussian)."""
    # The trailing block of the Cholesky factor L of Sigma is the factor of the Schur complement
    # Sigma_{Y|X} = Sigma_YY - Sigma_YX Sigma_XX^-1 Sigma_XY,
    # and log det Sigma = log det Sigma_XX + log det Sigma_{Y|X}:
    # the X terms of the determinant formula cancel exactly, and only the Y terms are computed.
    chol_yy = np.linalg.cholesky(cov[dim_x:, dim_x:])
    mi = float(np.sum(np.log(np.diag(chol_yy))) - np.sum(np.log(np.diag(chol)[dim_x:])))
    return max(mi, 0.0)  # I >= 0; a rounding of -1e-17 at independence is not a negative MI


def _sample_gaussian(n: int, rng: np.random.Generator, chol: np.ndarray, dim_x: int):
    z = rng.standard_normal((n, chol.shape[0])) @ chol.T
    return z[:, :dim_x], z[:, dim_x:]


def _gaussian_task(name: str, cov: np.ndarray, dim_x: int, description: str, mi: float | None = None) -> Task:
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise RefLossError(f"cov must be positive definite (its Cholesky factorisation fails): {name}") from None
    chol.setflags(write=False)
    mi = _gaussian_mi(chol, cov, dim_x) if mi is None else mi
    return Task(name, dim_x, cov.shape[0] - dim_x, mi, partial(_sample_gaussian, chol=chol, dim_x=dim_x), description)


def gaussian(cov: ArrayLike, dim_x: int, *, name: str | None = None) -> Task:
    r"""A zero-mean normal :math:`(X, Y)` with covariance ``cov``, split after the first ``dim_x`` coordinates.

    .. math::
        I(X; Y) = \tfrac12\left[\log\det\Sigma_{XX} + \log\det\Sigma_{YY} - \log\det\Sigma\right]
                = \tfrac12\left[\log\det\Sigma_{YY} - \log\det\Sigma_{Y|X}\right]

    with :math:`\Sigma_{Y|X} = \Sigma_{YY} - \Sigma_{YX}\Sigma_{XX}^{-1}\Sigma_{XY}`; the log-determinants come from
    Cholesky factors, and the trailing block of the factor of :math:`\Sigma` is the factor of
    :math:`\Sigma_{Y|X}`, so the :math:`\Sigma_{XX}` terms cancel exactly. Source: the entropy of a normal,
    :math:`h = \tfrac12\log\det(2\pi e\,\Sigma)`, and :math:`I = h(X) + h(Y) - h(X, Y)` (Cover and Thomas,
    *Elements of Information Theory*, 2nd ed., eq. 8.56 and Thm. 8.4.1); benchmark-mi's ``SplitMultinormal``.

    Args:
        cov: symmetric positive-definite covariance, shape ``(d, d)``, ``d >= 2``.
        dim_x: dimension of :math:`X`, ``1 <= dim_x <= d - 1``; :math:`Y` is the remaining ``d - dim_x``.
        name: the task's name; default ``"gaussian-{dim_x}-{dim_y}"``.

    Returns:
        The :class:`Task`; samples are ``z = L e`` with ``L`` the Cholesky factor and ``e`` standard normal.

    >>> t = gaussian([[1.0, 0.6], [0.6, 1.0]], dim_x=1)
    >>> round(t.mi, 12), round(-0.5 * math.log(1 - 0.36), 12)
    (0.223143551314, 0.223143551314)
    """
    s = v.real_array(cov, "cov")
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] < 2:
        raise RefLossError(f"cov must be a square matrix of size >= 2, got shape {s.shape}")
    d = s.shape[0]
    dim_x = v.integer(dim_x, "dim_x")
    if not 1 <= dim_x <= d - 1:
        raise RefLossError(f"dim_x must lie in [1, {d - 1}] for a covariance of size {d}, got {dim_x}")
    if not np.allclose(s, s.T, rtol=1e-12, atol=0.0):
        raise RefLossError("cov must be symmetric")
    s = 0.5 * (s + s.T)
    dim_y = d - dim_x
    name = f"gaussian-{dim_x}-{dim_y}" if name is None else str(name)
    desc = f"normal {dim_x} x {dim_y}; I = 1/2 [log det S_XX + log det S_YY - log det S] (Gaussian entropies)"
    return _gaussian_task(name, s, dim_x, desc)


def bivariate_normal(rho: float) -> Task:
    r"""Standard bivariate normal :math:`(X, Y)` with correlation :math:`\rho` (benchmark-mi's ``1v1-normal-{rho}``).

    .. math:: I(X; Y) = -\tfrac12 \log(1 - \rho^2)

    evaluated as ``-0.5 * log1p(-rho**2)``. Source: :func:`gaussian` with
    :math:`\Sigma = [[1, \rho], [\rho, 1]]`; benchmark-mi's ``BivariateNormalSampler``.

    Args:
        rho: the correlation, in :math:`(-1, 1)`.

    Returns:
        The :class:`Task` ``"1v1-normal-{rho}"``, ``dim_x = dim_y = 1``.

    >>> t = bivariate_normal(0.75)
    >>> t.name, round(t.mi, 6)
    ('1v1-normal-0.75', 0.413339)
    """
    rho = v.scalar(rho, _OPEN_UNIT, "rho")
    cov = np.array([[1.0, rho], [rho, 1.0]])
    desc = f"bivariate normal, correlation {rho}; I = -1/2 log(1 - rho^2) ({_BMI}, BivariateNormalSampler)"
    return _gaussian_task(f"1v1-normal-{_label(rho)}", cov, 1, desc, mi=-0.5 * math.log1p(-rho * rho))


def _dimension(dim, name: str = "dim") -> int:
    return _integer_at_least(dim, 1, name)


def multinormal_dense(dim: int, off_diag: float = 0.5) -> Task:
    r"""Normal :math:`X, Y \in \mathbb{R}^{d}` with unit variances and every correlation equal to ``off_diag``.

    :math:`\Sigma = (1 - a) I_{2d} + a\,\mathbf{1}\mathbf{1}^\top`, and with the eigenvalues of
    :math:`(1 - a) I_k + a \mathbf{1}\mathbf{1}^\top` (:math:`1 - a` with multiplicity :math:`k - 1`, and
    :math:`1 + (k - 1) a`) the determinant formula of :func:`gaussian` becomes

    .. math:: I(X; Y) = \tfrac12\left[2\log(1 + (d - 1) a) - \log(1 - a) - \log(1 + (2d - 1) a)\right].

    The value is computed by :func:`gaussian`'s Cholesky route. benchmark-mi's ``multinormal-dense-{d}-{d}-{a}``
    (``task_multinormal_dense``), used with :math:`a = 0.5` and :math:`d \in \{2, 3, 5, 25, 50\}`.

    Args:
        dim: :math:`d`, the dimension of :math:`X` and of :math:`Y`, >= 1.
        off_diag: :math:`a`, in :math:`(-1/(2d - 1), 1)` (where :math:`\Sigma` is positive definite).

    Returns:
        The :class:`Task` ``"multinormal-dense-{d}-{d}-{a}"``.

    >>> round(multinormal_dense(3).mi, 6)
    0.413339
    """
    dim = _dimension(dim)
    a = v.scalar(off_diag, Interval(-1.0 / (2 * dim - 1), 1.0, lo_open=True, hi_open=True), "off_diag")
    cov = np.full((2 * dim, 2 * dim), a) + (1.0 - a) * np.eye(2 * dim)
    desc = (f"normal {dim} x {dim}, all correlations {a}; I from the Gaussian determinant formula "
            f"({_BMI}, task_multinormal_dense)")
    return _gaussian_task(f"multinormal-dense-{dim}-{dim}-{_label(a)}", cov, dim, desc)


def multinormal_sparse(dim: int, n_interacting: int = 2, correlation: float = 0.8) -> Task:
    r"""Normal :math:`X, Y \in \mathbb{R}^{d}`, unit variances, :math:`\mathrm{corr}(X_i, Y_i) = c` for
    :math:`i < k` and every other correlation zero (benchmark-mi's "2-pair" tasks for :math:`k = 2`).

    .. math:: I(X; Y) = -\tfrac{k}{2}\log(1 - c^2), \qquad -\log 0.36 = 1.021651\ \text{at}\ k = 2,\ c = 0.8,

    whatever :math:`d` (the :math:`k` pairs are independent of each other and of the other coordinates, and MI
    adds over independent pairs). The value is computed by :func:`gaussian`'s Cholesky route.

    benchmark-mi builds these tasks (``task_multinormal_sparse``, ``multinormal-sparse-{d}-{d}-{k}-{strength}``)
    as the correlation matrix of a latent-variable model (``GaussianLVMParametrization`` with
    :math:`\alpha = \beta = 0`, :math:`\epsilon = 1`, :math:`\lambda = \eta = \text{strength}`):
    :math:`X_i = \lambda Z_i + \epsilon E_i`, :math:`Y_i = \lambda Z_i + \epsilon F_i` for :math:`i < k`, and
    :math:`\eta V_i + \epsilon E_i`, :math:`\eta W_i + \epsilon F_i` otherwise, with independent standard normal
    latents, so :math:`\mathrm{corr}(X_i, Y_i) = \lambda^2 / (\epsilon^2 + \lambda^2)` for :math:`i < k`, every
    variance is :math:`\epsilon^2 + \lambda^2`, and all other correlations are 0; its strength 2.0 is
    :math:`c = 4/5 = 0.8`. The name written here is benchmark-mi's, with
    strength :math:`\sqrt{c / (1 - c)}` (rounded to 12 digits) for :math:`0 \le c < 1`; a negative :math:`c` (no
    latent-variable strength) is named ``"multinormal-sparse-{d}-{d}-{k}-corr{c}"``.

    Args:
        dim: :math:`d`, the dimension of :math:`X` and of :math:`Y`, >= 1.
        n_interacting: :math:`k`, the number of correlated pairs, ``0 <= k <= d``.
        correlation: :math:`c`, in :math:`(-1, 1)`.

    Returns:
        The :class:`Task`, e.g. ``"multinormal-sparse-3-3-2-2.0"``.

    >>> t = multinormal_sparse(5)
    >>> t.name, round(t.mi, 6), round(-math.log(0.36), 6)
    ('multinormal-sparse-5-5-2-2.0', 1.021651, 1.021651)
    """
    dim = _dimension(dim)
    k = v.integer(n_interacting, "n_interacting")
    if not 0 <= k <= dim:
        raise RefLossError(f"n_interacting must lie in [0, dim] = [0, {dim}], got {n_interacting!r}")
    c = v.scalar(correlation, _OPEN_UNIT, "correlation")
    cov = np.eye(2 * dim)
    idx = np.arange(k)
    cov[idx, dim + idx] = cov[dim + idx, idx] = c
    if c >= 0.0:
        label = _label(float(f"{math.sqrt(c / (1.0 - c)):.12g}"))
    else:
        label = f"corr{_label(c)}"
    desc = (f"normal {dim} x {dim}, corr(X_i, Y_i) = {c} for i < {k}, other correlations 0; "
            f"I = -k/2 log(1 - c^2) ({_BMI}, GaussianLVMParametrization)")
    return _gaussian_task(f"multinormal-sparse-{dim}-{dim}-{k}-{label}", cov, dim, desc)


# --- Student-t ------------------------------------------------------------------------------------------------------


def _t_entropy(k: int, df: float) -> float:
    """Differential entropy of the standard multivariate t, :math:`t_k(0, I_k, \\nu)` (Arellano-Valle et al., eq. 7)."""
    half = 0.5 * (df + k)
    return float(-special.gammaln(half) + special.gammaln(0.5 * df) + 0.5 * k * math.log(df * math.pi)
                 + half * (special.digamma(half) - special.digamma(0.5 * df)))


def _sample_student(n: int, rng: np.random.Generator, dim_x: int, dim_y: int, df: float):
    z = rng.standard_normal((n, dim_x + dim_y))
    w = rng.chisquare(df, size=n)
    t = z * np.sqrt(df / w)[:, None]  # Z / sqrt(W / df), W ~ chi^2(df) independent of Z
    return t[:, :dim_x], t[:, dim_x:]


def student_t(dim_x: int, dim_y: int, df: float) -> Task:
    r"""Multivariate Student-t :math:`(X, Y) \sim t_{d_x + d_y}(0, I, \nu)` with identity dispersion.

    Uncorrelated but dependent (through the shared scale). With :math:`h(k, \nu)` the entropy of
    :math:`t_k(0, I_k, \nu)`,

    .. math::
        h(k, \nu) = -\log\Gamma\!\left(\tfrac{\nu + k}{2}\right) + \log\Gamma\!\left(\tfrac{\nu}{2}\right)
                    + \tfrac{k}{2}\log(\nu\pi)
                    + \tfrac{\nu + k}{2}\left[\psi\!\left(\tfrac{\nu + k}{2}\right)
                    - \psi\!\left(\tfrac{\nu}{2}\right)\right],

    .. math:: I(X; Y) = h(d_x, \nu) + h(d_y, \nu) - h(d_x + d_y, \nu)

    (the Gaussian term :math:`\tfrac12[\log\det\Sigma_{XX} + \log\det\Sigma_{YY} - \log\det\Sigma]` of a general
    dispersion is 0 for the identity); e.g. :math:`\log(8\pi) - 3` for :math:`d_x = d_y = \nu = 1`. Source:
    Arellano-Valle, Contreras-Reyes and Genton, "Shannon Entropy and Mutual Information for Multivariate
    Skew-Elliptical Distributions", Scand. J. Statist. 40 (2013), eq. 7 for the entropy; like benchmark-mi
    (``SplitStudentT``), the MI is taken from the entropy differences, not from the paper's final MI formula, which
    benchmark-mi's docstring calls "slightly wrong". Samples: :math:`Z / \sqrt{W / \nu}` with :math:`Z` standard
    normal and :math:`W \sim \chi^2_\nu`.

    Args:
        dim_x: dimension of :math:`X`, >= 1.
        dim_y: dimension of :math:`Y`, >= 1.
        df: degrees of freedom :math:`\nu > 0` (finite).

    Returns:
        The :class:`Task` ``"student-identity-{dim_x}-{dim_y}-{df}"``.

    >>> t = student_t(1, 1, 1)
    >>> t.name, round(t.mi, 12), round(math.log(8 * math.pi) - 3, 12)
    ('student-identity-1-1-1', 0.224171427529, 0.224171427529)
    """
    dim_x, dim_y = _dimension(dim_x, "dim_x"), _dimension(dim_y, "dim_y")
    df = v.scalar(df, _POSITIVE, "df")
    mi = max(_t_entropy(dim_x, df) + _t_entropy(dim_y, df) - _t_entropy(dim_x + dim_y, df), 0.0)
    label = str(int(df)) if df.is_integer() else _label(df)
    desc = (f"Student-t {dim_x} x {dim_y}, identity dispersion, df {df}; I = h(dx) + h(dy) - h(dx + dy) "
            f"(Arellano-Valle et al. 2013; {_BMI}, SplitStudentT)")
    sampler = partial(_sample_student, dim_x=dim_x, dim_y=dim_y, df=df)
    return Task(f"student-identity-{dim_x}-{dim_y}-{label}", dim_x, dim_y, mi, sampler, desc)


# --- additive uniform noise -----------------------------------------------------------------------------------------


def _sample_additive(n: int, rng: np.random.Generator, epsilon: float):
    x = rng.uniform(0.0, 1.0, size=(n, 1))
    return x, x + rng.uniform(-epsilon, epsilon, size=(n, 1))


def additive_uniform(epsilon: float) -> Task:
    r""":math:`X \sim U(0, 1)`, :math:`Y = X + N` with :math:`N \sim U(-\epsilon, \epsilon)` independent of :math:`X`.

    .. math::
        I(X; Y) = h(Y) - h(N) = \begin{cases} \epsilon - \log(2\epsilon) & \epsilon \le 1/2 \\
                                              1 / (4\epsilon) & \epsilon > 1/2 \end{cases}

    (:math:`h(N) = \log 2\epsilon`; the density of :math:`Y` is a trapezoid, with :math:`h(Y) = \epsilon` for
    :math:`\epsilon \le 1/2` and :math:`\log 2\epsilon + 1/(4\epsilon)` beyond; the two branches meet at 1/2).
    Source: benchmark-mi's ``AdditiveUniformSampler`` (``1v1-additive-{epsilon}``).

    Args:
        epsilon: the half-width of the noise, > 0.

    Returns:
        The :class:`Task` ``"1v1-additive-{epsilon}"``.

    >>> round(additive_uniform(0.1).mi, 6), round(additive_uniform(0.75).mi, 6)
    (1.709438, 0.333333)
    """
    eps = v.scalar(epsilon, _POSITIVE, "epsilon")
    mi = eps - math.log(2.0 * eps) if eps <= 0.5 else 0.25 / eps
    desc = (f"X ~ U(0, 1), Y = X + U(-{eps}, {eps}); I = eps - log(2 eps) for eps <= 1/2, else 1/(4 eps) "
            f"({_BMI}, AdditiveUniformSampler)")
    return Task(f"1v1-additive-{_label(eps)}", 1, 1, mi, partial(_sample_additive, epsilon=eps), desc)


# --- MI-preserving transforms ---------------------------------------------------------------------------------------


def _identity(a: np.ndarray) -> np.ndarray:
    return a


def _half_cube(a: np.ndarray) -> np.ndarray:
    return a * np.sqrt(np.abs(a))


def _wiggly_x(a: np.ndarray) -> np.ndarray:
    return a + 0.4 * np.sin(a) + 0.2 * np.sin(1.7 * a + 1.0) + 0.03 * np.sin(3.3 * a - 2.5)


def _wiggly_y(a: np.ndarray) -> np.ndarray:
    return a - 0.4 * np.sin(0.4 * a) + 0.17 * np.sin(1.3 * a + 3.5) + 0.02 * np.sin(4.3 * a - 2.5)


def _spiral(a: np.ndarray, speed: float, i: int, j: int) -> np.ndarray:
    """Rows ``x -> exp(speed ||x||^2 A) x``, ``A`` the so(n) generator with ``A[i, j] = -1``, ``A[j, i] = 1``."""
    theta = speed * np.einsum("ni,ni->n", a, a)
    c, s = np.cos(theta), np.sin(theta)
    out = a.copy()
    out[:, i] = c * a[:, i] - s * a[:, j]
    out[:, j] = s * a[:, i] + c * a[:, j]
    return out


def _swiss_roll(a: np.ndarray) -> np.ndarray:
    t = 1.5 * np.pi * (1.0 + 2.0 * a[:, 0])
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0


def _sample_transformed(n: int, rng: np.random.Generator, base: Sampler, fx, fy):
    x, y = base(n, rng)
    return fx(x), fy(y)


def _check_task(base) -> Task:
    if not isinstance(base, Task):
        raise RefLossError(f"task must be a refloss.info.tasks.Task, got {type(base).__name__}")
    return base


def _transformed(base: Task, prefix: str, fx, fy, what: str, dim_x: int | None = None) -> Task:
    base = _check_task(base)
    sampler = partial(_sample_transformed, base=base.sampler, fx=fx, fy=fy)
    desc = f"{what} applied to {base.name}; I unchanged (injective maps of X and of Y); base: {base.description}"
    return Task(f"{prefix}-{base.name}", base.dim_x if dim_x is None else dim_x, base.dim_y, base.mi, sampler, desc)


def half_cube(task: Task) -> Task:
    r"""Apply :math:`t \mapsto t\sqrt{|t|}` (a signed :math:`t^{3/2}`) to every coordinate of :math:`X` and :math:`Y`.

    The map is a strictly increasing bijection of :math:`\mathbb{R}`, so :math:`I` is unchanged; it lengthens the
    tails. benchmark-mi's ``transform_half_cube_task`` (id prefix ``half_cube-``).

    Args:
        task: the base :class:`Task`.

    Returns:
        A :class:`Task` named ``"half_cube-" + task.name`` with ``task.mi``.

    >>> half_cube(bivariate_normal(0.75)).name
    'half_cube-1v1-normal-0.75'
    """
    return _transformed(task, "half_cube", _half_cube, _half_cube, "t -> t sqrt|t| per coordinate")


def normal_cdf(task: Task) -> Task:
    r"""Apply the standard normal CDF :math:`\Phi` to every coordinate of :math:`X` and :math:`Y`.

    :math:`\Phi` is a strictly increasing bijection :math:`\mathbb{R} \to (0, 1)`, so :math:`I` is unchanged; on a
    standard normal coordinate it gives a uniform one. Evaluated with ``scipy.special.ndtr`` (in float64,
    :math:`\Phi(t)` rounds to 1 for :math:`t > 8.3`, which a standard normal coordinate exceeds with probability
    about :math:`5 \cdot 10^{-17}`). benchmark-mi's ``transform_normal_cdf_task`` (id prefix ``normal_cdf-``).

    Args:
        task: the base :class:`Task`.

    Returns:
        A :class:`Task` named ``"normal_cdf-" + task.name`` with ``task.mi``.

    >>> t = normal_cdf(multinormal_sparse(3))
    >>> t.name, round(t.mi, 6)
    ('normal_cdf-multinormal-sparse-3-3-2-2.0', 1.021651)
    """
    return _transformed(task, "normal_cdf", special.ndtr, special.ndtr, "the normal CDF per coordinate")


def asinh(task: Task) -> Task:
    r"""Apply :math:`\operatorname{arsinh}` to every coordinate of :math:`X` and :math:`Y`.

    A strictly increasing bijection of :math:`\mathbb{R}`, so :math:`I` is unchanged; it shortens heavy tails
    (benchmark-mi applies it to its Student-t tasks). benchmark-mi's ``transform_asinh_task`` (prefix ``asinh-``).

    Args:
        task: the base :class:`Task`.

    Returns:
        A :class:`Task` named ``"asinh-" + task.name`` with ``task.mi``.

    >>> asinh(student_t(1, 1, 1)).name
    'asinh-student-identity-1-1-1'
    """
    return _transformed(task, "asinh", np.arcsinh, np.arcsinh, "arsinh per coordinate")


def wiggly(task: Task) -> Task:
    r"""Apply benchmark-mi's wiggly maps to every coordinate, :math:`f_X` to :math:`X` and :math:`f_Y` to :math:`Y`.

    .. math::
        f_X(t) &= t + 0.4\sin t + 0.2\sin(1.7t + 1) + 0.03\sin(3.3t - 2.5), \\
        f_Y(t) &= t - 0.4\sin(0.4t) + 0.17\sin(1.3t + 3.5) + 0.02\sin(4.3t - 2.5).

    :math:`f_X' \ge 1 - 0.4 - 0.34 - 0.099 = 0.161` and :math:`f_Y' \ge 1 - 0.16 - 0.221 - 0.086 = 0.533`, so both
    are strictly increasing bijections of :math:`\mathbb{R}` and :math:`I` is unchanged. benchmark-mi's
    ``transform_wiggly_task`` (``tasks/wiggly.py``, prefix ``wiggly-``).

    Args:
        task: the base :class:`Task`.

    Returns:
        A :class:`Task` named ``"wiggly-" + task.name`` with ``task.mi``.

    >>> wiggly(bivariate_normal(0.75)).name
    'wiggly-1v1-normal-0.75'
    """
    return _transformed(task, "wiggly", _wiggly_x, _wiggly_y, "the wiggly maps f_X, f_Y per coordinate")


def spiral(task: Task, speed: float = 1.0) -> Task:
    r"""Spiral both variables: :math:`x \mapsto \exp(s_X \lVert x\rVert^2 A_X)\,x`, likewise :math:`y`.

    :math:`A_X` is the generator of so(:math:`d_X`) rotating coordinates (0, 1) of :math:`X` (``A[0, 1] = -1``,
    ``A[1, 0] = 1``), :math:`A_Y` the one rotating coordinates (1, 2) of :math:`Y`, and the speeds are
    :math:`s_X = \text{speed}/d_X`, :math:`s_Y = \text{speed}/d_Y` (benchmark-mi's ``normalize_speed=True``). In
    the rotated plane, with :math:`\theta = s\lVert x\rVert^2`,

    .. math:: (x_0, x_1) \mapsto (x_0\cos\theta - x_1\sin\theta,\ x_0\sin\theta + x_1\cos\theta),

    and the other coordinates are unchanged. A rotation keeps the norm, so the map is a bijection whose inverse
    rotates by :math:`-s\lVert x\rVert^2` (a diffeomorphism), and :math:`I` is unchanged.
    benchmark-mi's ``transform_spiral_task`` (``tasks/spiral.py``, ``transforms/_rotate.py`` ``Spiral``, prefix
    ``spiral-``), which needs :math:`d_X \ge 2` and :math:`d_Y \ge 3`.

    Args:
        task: the base :class:`Task`, with ``dim_x >= 2`` and ``dim_y >= 3``.
        speed: :math:`s`, a real number (default 1.0).

    Returns:
        A :class:`Task` named ``"spiral-" + task.name`` with ``task.mi``.

    >>> t = spiral(multinormal_sparse(3))
    >>> t.name, round(t.mi, 6)
    ('spiral-multinormal-sparse-3-3-2-2.0', 1.021651)
    """
    base = _check_task(task)
    speed = v.scalar(speed, Interval(), "speed")
    if base.dim_x < 2 or base.dim_y < 3:
        raise RefLossError(f"task: spiral needs dim_x >= 2 and dim_y >= 3, got {base.name} "
                           f"with dim_x={base.dim_x}, dim_y={base.dim_y}")
    fx = partial(_spiral, speed=speed / base.dim_x, i=0, j=1)
    fy = partial(_spiral, speed=speed / base.dim_y, i=1, j=2)
    return _transformed(base, "spiral", fx, fy, f"the spiral of speed {speed} (X: coordinates 0, 1; Y: 1, 2)")


def swiss_roll(task: Task) -> Task:
    r"""Embed a one-dimensional :math:`X` as a Swiss roll in :math:`\mathbb{R}^2`; :math:`Y` is unchanged.

    .. math:: t = 1.5\pi(1 + 2x), \qquad x \mapsto (t\cos t,\ t\sin t) / 21.

    The curve's distance from the origin, :math:`|t| / 21`, grows with :math:`t`, so the map is injective for
    :math:`t > 0` (:math:`x > -1/2`), in particular on :math:`[0, 1]`, and :math:`I` is unchanged; the new
    :math:`X` lies on a curve and has no density in :math:`\mathbb{R}^2`. benchmark-mi applies it to the uniform
    task ``normal_cdf-1v1-normal-0.75`` ("Swiss roll 2 x 1"; ``transforms/simple.py`` ``swissroll2d``, prefix
    ``swissroll_x-``).

    Args:
        task: the base :class:`Task`, with ``dim_x == 1`` (values in :math:`[0, 1]` for benchmark-mi's task).

    Returns:
        A :class:`Task` named ``"swissroll_x-" + task.name``, ``dim_x = 2``, with ``task.mi``.

    >>> t = swiss_roll(normal_cdf(bivariate_normal(0.75)))
    >>> t.name, t.dim_x, t.dim_y
    ('swissroll_x-normal_cdf-1v1-normal-0.75', 2, 1)
    """
    base = _check_task(task)
    if base.dim_x != 1:
        raise RefLossError(f"task: swiss_roll needs dim_x == 1, got {base.name} with dim_x={base.dim_x}")
    return _transformed(base, "swissroll_x", _swiss_roll, _identity, "the Swiss roll embedding of X", dim_x=2)


# --- the benchmark --------------------------------------------------------------------------------------------------


def _benchmark_tasks() -> list[Task]:
    """benchmark-mi's ``BENCHMARK_TASKS_LIST`` (``benchmark/task_list.py``), in its order, without the bimodal task."""
    binormal = bivariate_normal(0.75)
    uniform = normal_cdf(binormal)
    bistudent = student_t(1, 1, 1)
    one_dim = [binormal, uniform, additive_uniform(0.1), additive_uniform(0.75), wiggly(binormal),
               half_cube(binormal), bistudent, asinh(bistudent)]
    multinormal = [multinormal_dense(d) for d in (2, 3, 5, 25, 50)] + [multinormal_sparse(d) for d in (2, 3, 5, 25)]
    student = [student_t(d, d, df) for d, df in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))]
    pairs = [multinormal_sparse(d) for d in (3, 5, 25)]
    transformed = ([normal_cdf(t) for t in pairs] + [half_cube(t) for t in pairs] + [spiral(t) for t in pairs]
                   + [spiral(normal_cdf(t)) for t in pairs]
                   + [asinh(student_t(d, d, df)) for d, df in ((2, 1), (3, 2), (5, 2))])
    return one_dim + [swiss_roll(uniform)] + multinormal + student + transformed


#: The tasks of benchmark-mi's main benchmark by name (a read-only mapping), all but ``1v1-bimodal-0.75``.
#:
#: :meta hide-value:
TASKS = MappingProxyType({t.name: t for t in _benchmark_tasks()})


def task(name: str) -> Task:
    """The task of :data:`TASKS` called ``name``.

    Args:
        name: a benchmark-mi task id, e.g. ``"1v1-normal-0.75"`` or ``"spiral-multinormal-sparse-3-3-2-2.0"``.

    Returns:
        The :class:`Task`.

    Raises:
        refloss.RefLossError: ``name`` is not a key of :data:`TASKS` (the message names it and suggests close ones).

    >>> task("multinormal-dense-5-5-0.5").dim_x
    5
    """
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), TASKS, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise RefLossError(f"name: unknown task {name!r}{hint} (see refloss.info.tasks.TASKS)") from None


#: benchmark-mi's ground-truth MI (nats, 6 decimals) for the tasks of :data:`TASKS`: its own closed forms
#: (``mutual_information()`` of its samplers, cbg-ethz/bmi at commit 6c569b9) as tabulated in the project's research
#: brief (``research/anchors_mi.md`` §1.3); typed in from there, not computed here. The MI of a transformed task is
#: its base task's. benchmark-mi's repository commits no table of results, and the paper (arXiv:2306.11078) shows
#: them in its figures.
#:
#: :meta hide-value:
BENCHMARK_MI_VALUES = MappingProxyType({
    "1v1-normal-0.75": 0.413339,
    "normal_cdf-1v1-normal-0.75": 0.413339,
    "1v1-additive-0.1": 1.709438,
    "1v1-additive-0.75": 0.333333,
    "wiggly-1v1-normal-0.75": 0.413339,
    "half_cube-1v1-normal-0.75": 0.413339,
    "student-identity-1-1-1": 0.224171,
    "asinh-student-identity-1-1-1": 0.224171,
    "swissroll_x-normal_cdf-1v1-normal-0.75": 0.413339,
    "multinormal-dense-2-2-0.5": 0.293893,
    "multinormal-dense-3-3-0.5": 0.413339,
    "multinormal-dense-5-5-0.5": 0.592812,
    "multinormal-dense-25-25-0.5": 1.292184,
    "multinormal-dense-50-50-0.5": 1.624265,
    "multinormal-sparse-2-2-2-2.0": 1.021651,
    "multinormal-sparse-3-3-2-2.0": 1.021651,
    "multinormal-sparse-5-5-2-2.0": 1.021651,
    "multinormal-sparse-25-25-2-2.0": 1.021651,
    "student-identity-2-2-1": 0.431946,
    "student-identity-2-2-2": 0.193147,
    "student-identity-3-3-2": 0.290922,
    "student-identity-3-3-3": 0.178712,
    "student-identity-5-5-2": 0.448151,
    "student-identity-5-5-3": 0.298544,
    "normal_cdf-multinormal-sparse-3-3-2-2.0": 1.021651,
    "normal_cdf-multinormal-sparse-5-5-2-2.0": 1.021651,
    "normal_cdf-multinormal-sparse-25-25-2-2.0": 1.021651,
    "half_cube-multinormal-sparse-3-3-2-2.0": 1.021651,
    "half_cube-multinormal-sparse-5-5-2-2.0": 1.021651,
    "half_cube-multinormal-sparse-25-25-2-2.0": 1.021651,
    "spiral-multinormal-sparse-3-3-2-2.0": 1.021651,
    "spiral-multinormal-sparse-5-5-2-2.0": 1.021651,
    "spiral-multinormal-sparse-25-25-2-2.0": 1.021651,
    "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0": 1.021651,
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0": 1.021651,
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0": 1.021651,
    "asinh-student-identity-2-2-1": 0.431946,
    "asinh-student-identity-3-3-2": 0.290922,
    "asinh-student-identity-5-5-2": 0.448151,
})
