"""``gaussian_transfer_entropy``: Schreiber's transfer entropy of jointly normal lagged variables given by index sets
of one covariance; value, closed-form gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import solve_discrete_lyapunov

from ... import _cases as cases
from ..._registry import Param, gradient_of, register, value_and_grad_of
from ..entropy._common import _log_base
from ._common import (
    BASE,
    COV,
    INDEX_SET,
    OVERFLOW,
    SCHREIBER,
    canonical,
    canonical_gradient,
    condition_1e12,
    covariance,
    disjoint,
    draw_base,
    draw_covariance,
    draw_sets,
    idx,
    index_set,
    subnormal_variance,
    unscaled,
)


@register(
    name="gaussian_transfer_entropy",
    family="gaussian",
    wrt=("cov",),
    params=(Param("cov", COV, "the covariance of the lagged variables (the present and pasts below)"),
            Param("source", INDEX_SET, "the source's past X^-: x_{t-u}, ..., x_{t-u-m+1}"),
            Param("target", INDEX_SET, "the target's present Y_t, disjoint from source"),
            Param("target_past", INDEX_SET, "the target's past Y^-: y_{t-1}, ..., y_{t-l}, disjoint from both; "
                                            "may be empty"), BASE),
    overflow=OVERFLOW,
    paper=SCHREIBER,
    strategy=lambda extreme: _cases(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
)
def gaussian_transfer_entropy(cov: ArrayLike, source, target, target_past, *, base: float | None = None):
    r"""Transfer entropy :math:`T_{X \to Y}` (Schreiber 2000) of jointly normal lagged variables, from the
    covariance of the lagged vector, in nats or in ``base``.

    .. math:: T_{X \to Y} = h(Y_t \mid Y^-) - h(Y_t \mid Y^-, X^-) = I(Y_t; X^- \mid Y^-)
              = \tfrac12 \log\frac{|\Sigma_{Y_t \cup Y^-}|\,|\Sigma_{X^- \cup Y^-}|}{|\Sigma_{Y^-}|\,
              |\Sigma_{Y_t \cup X^- \cup Y^-}|}.

    **Lag convention** (JIDT's, as the kNN :func:`refloss.transfer_entropy`): ``cov`` is the covariance of a
    vector holding, at any positions, the target's present :math:`Y_t` (``target``: one index, or several for a
    multivariate target), the source's past :math:`X^- = (x_{t-u}, \ldots, x_{t-u-m+1})` (``source``: m indices,
    delay u >= 1) and the target's past :math:`Y^- = (y_{t-1}, \ldots, y_{t-l})` (``target_past``: l indices). The
    function does not build the lags: it reads the three sets, so any history lengths, delays and embeddings are
    expressed by which lagged variables ``cov`` holds (for a VAR, from its stationary covariance, e.g.
    ``scipy.linalg.solve_discrete_lyapunov``, and :math:`\mathrm{Cov}(Z_{t+k}, Z_t) = A^k \Sigma`). With
    ``target_past`` empty it is the lagged mutual information :math:`I(Y_t; X^-)`; more conditioning variables
    (a conditional TE) are :func:`gaussian_conditional_mutual_information`'s ``z``.

    Evaluated as :func:`gaussian_conditional_mutual_information` evaluates :math:`I(X; Y \mid Z)` (X = source,
    Y = target, Z = target_past): the canonical correlations of the conditional covariance given the target's
    past, from the Cholesky factor in the order (Y^-, X^-, Y_t), never a difference of the four
    log-determinants. A weak coupling (TE of 1e-17 under a strong autocorrelation of the target) keeps its
    digits. Variables in no set play no part (their gradient entries are 0).

    ``cov``: exactly symmetric, positive definite. ``base``: the value and the gradient are divided by
    :math:`\log(\mathrm{base})`. Gradient: :func:`gaussian_transfer_entropy_grad`.

    Args:
        cov: float covariance matrix (d, d) of the lagged variables.
        source: the indices of the source's past, non-empty.
        target: the indices of the target's present, non-empty, disjoint from ``source``.
        target_past: the indices of the target's past, disjoint from both (may be empty).
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.

    >>> # X_t = 0.5 X_{t-1} + e, Y_t = 0.6 Y_{t-1} + 0.8 X_{t-1} + eta (unit noises); order (Y_t, X_{t-1}, Y_{t-1})
    >>> cov = var1_lagged_covariance([[0.5, 0.0], [0.8, 0.6]])[np.ix_([1, 2, 3], [1, 2, 3])]
    >>> round(float(gaussian_transfer_entropy(cov, source=[1], target=[0], target_past=[2])), 12)
    0.283038378084
    >>> # the closed form 1/2 log(c^2 Var(X_{t-1} | Y_{t-1}) + 1) (research/anchors_mi.md, Sec. 6)
    >>> round(float(0.5 * np.log(0.64 * (cov[1, 1] - cov[1, 2] ** 2 / cov[2, 2]) + 1.0)), 12)
    0.283038378084

    Reference: Schreiber, Phys. Rev. Lett. 85, 461 (2000).
    """
    checked = covariance(cov)
    c = canonical(checked.scaled, *_sets(checked.cov, source, target, target_past))
    return np.float64(c.value / _log_base(base))


@gradient_of("gaussian_transfer_entropy")
def gaussian_transfer_entropy_grad(cov: ArrayLike, source, target, target_past, *,
                                   base: float | None = None) -> np.ndarray:
    r""":math:`\partial T_{X \to Y} / \partial \Sigma`, shape (d, d), zero outside the three sets: the gradient of
    :func:`gaussian_conditional_mutual_information` with X = ``source``, Y = ``target``, Z = ``target_past``,

    .. math:: G = \tfrac12\big(\Sigma_{Y_t \cup Y^-}^{-1} + \Sigma_{X^- \cup Y^-}^{-1} - \Sigma_{Y^-}^{-1}
              - \Sigma_{Y_t \cup X^- \cup Y^-}^{-1}\big) \ \text{(each embedded)},

    evaluated through the conditional covariance given the target's past (products of triangular solves, no
    difference of inverses). Convention: each entry is differentiated as an independent variable (the gradient
    is symmetric); divided by :math:`\log(\mathrm{base})`.

    >>> cov = var1_lagged_covariance([[0.5, 0.0], [0.8, 0.6]])[np.ix_([1, 2, 3], [1, 2, 3])]
    >>> g = gaussian_transfer_entropy_grad(cov, source=[1], target=[0], target_past=[2])
    >>> bool(np.array_equal(g, g.T)), round(float(g[0, 0]), 12)  # 1/2 (1/Var(Y_t | Y^-) - 1/Var(Y_t | Y^-, X^-))
    (True, -0.216125754587)
    """
    checked = covariance(cov)
    c = canonical(checked.scaled, *_sets(checked.cov, source, target, target_past))
    return unscaled(canonical_gradient(c, checked.cov.shape[0]), checked.k) / _log_base(base)


@value_and_grad_of("gaussian_transfer_entropy")
def _gaussian_transfer_entropy_value_and_grad(cov: ArrayLike, source, target, target_past, *,
                                              base: float | None = None):
    """:func:`gaussian_transfer_entropy` and its gradient from one pair of Cholesky factorisations."""
    checked = covariance(cov)
    c = canonical(checked.scaled, *_sets(checked.cov, source, target, target_past))
    log_base = _log_base(base)
    return np.float64(c.value / log_base), unscaled(canonical_gradient(c, checked.cov.shape[0]), checked.k) / log_base


def _sets(arr: np.ndarray, source, target, target_past):
    """(X, Y, Z) = (source, target, target_past) for the canonical form, checked and disjoint."""
    d = arr.shape[0]
    xs, ys = index_set(source, d, "source"), index_set(target, d, "target")
    zs = index_set(target_past, d, "target_past", empty=True)
    disjoint(source=xs, target=ys, target_past=zs)
    return xs, ys, zs


def var1_lagged_covariance(a, noise=None, lags: int = 1) -> np.ndarray:
    r"""The covariance of :math:`(Z_t, Z_{t-1}, \ldots, Z_{t-\mathrm{lags}})` for the stationary VAR(1)
    :math:`Z_t = A Z_{t-1} + \varepsilon_t`, :math:`\mathrm{Cov}(\varepsilon) =` ``noise`` (default I): the
    stationary :math:`\Sigma` from ``scipy.linalg.solve_discrete_lyapunov`` (symmetrised), and
    :math:`\mathrm{Cov}(Z_{t-i}, Z_{t-j}) = A^{j-i}\Sigma` for :math:`j \ge i`. Exactly symmetric (its lower
    triangle mirrored). Variable k of :math:`Z_{t-i}` is at index :math:`i\,p + k` (p = len(A))."""
    a = np.asarray(a, dtype=np.float64)
    p = a.shape[0]
    q = np.eye(p) if noise is None else np.asarray(noise, dtype=np.float64)
    sigma = solve_discrete_lyapunov(a, q)
    sigma = np.tril(sigma) + np.tril(sigma, -1).T
    out = np.empty(((lags + 1) * p,) * 2)
    power = np.eye(p)
    blocks = []
    for _ in range(lags + 1):
        blocks.append(power @ sigma)  # Cov(Z_{s+k}, Z_s) = A^k Sigma
        power = a @ power
    for i in range(lags + 1):
        for j in range(i, lags + 1):
            out[i * p:(i + 1) * p, j * p:(j + 1) * p] = blocks[j - i]
            out[j * p:(j + 1) * p, i * p:(i + 1) * p] = blocks[j - i].T
    return np.tril(out) + np.tril(out, -1).T


def _var1(a: float, b: float, c: float, noise_y: float = 1.0, lags: int = 1) -> np.ndarray:
    """X_t = a X_{t-1} + e, Y_t = b Y_{t-1} + c X_{t-1} + eta (Var e = 1, Var eta = noise_y): the covariance of
    (X_t, Y_t, X_{t-1}, Y_{t-1}, ...)."""
    return var1_lagged_covariance([[a, 0.0], [c, b]], np.diag([1.0, noise_y]), lags)


def _te_cov(full: np.ndarray, lags: int = 1):
    """(Y_t, X_{t-1}, ..., X_{t-lags}, Y_{t-1}, ..., Y_{t-lags}) from ``_var1``'s order, and the index sets."""
    order = [1] + [2 * i for i in range(1, lags + 1)] + [2 * i + 1 for i in range(1, lags + 1)]
    cov = full[np.ix_(order, order)]
    sets = {"source": idx(*range(1, lags + 1)), "target": idx(0), "target_past": idx(*range(lags + 1, 2 * lags + 1))}
    return cov, sets


def _case(full: np.ndarray, lags: int = 1, **extra) -> dict:
    cov, sets = _te_cov(full, lags)
    return {"cov": cov, **sets, **extra}


def _scaled(case: dict, std) -> dict:
    """The case with each variable multiplied by std_i (exactly symmetric)."""
    std = np.asarray(std, dtype=np.float64)
    s = std[:, None] * case["cov"] * std[None, :]
    return {**case, "cov": np.tril(s) + np.tril(s, -1).T}


def _cases(extreme):
    st, _ = cases.hyp()

    @st.composite
    def draw(draw):
        cov = draw_covariance(draw, extreme, lo=2)
        sets = draw_sets(draw, cov.shape[0], z=True)
        return {"cov": cov, "source": sets["x"], "target": sets["y"], "target_past": sets["z"],
                "base": draw_base(draw)}

    return draw()


def _stress():
    anchor = _var1(0.5, 0.6, 0.8)
    # IDTxl's lag-1 case: x iid, y_t = c x_{t-1} + (1 - c) eta: TE = I with rho = c / sqrt(c^2 + (1 - c)^2)
    c, v = 0.4, 0.4**2 + 0.6**2
    idtxl = np.array([[v, c, 0.0], [c, 1.0, 0.0], [0.0, 0.0, v]])
    return {
        # research/anchors_mi.md Sec. 6: a = 0.5, b = 0.6, c = 0.8, unit noises: 0.28304
        "defaults": _case(anchor),
        "var1_histories_2": _case(_var1(0.5, 0.6, 0.8, lags=2), lags=2),
        # Y does not drive X: TE_{Y -> X} = I(X_t; Y_{t-1} | X_{t-1}) = 0 but for the rounding of the covariance
        "reverse_direction": {"cov": _reverse(anchor), "source": idx(1), "target": idx(0), "target_past": idx(2)},
        "weak_coupling_1e-8": _case(_var1(0.5, 0.6, 1e-8)),  # ~ 5e-17
        "weak_coupling_1e-4": _case(_var1(0.5, 0.6, 1e-4)),  # ~ 5e-9
        "weak_coupling_1e-8__autocorrelation_0.9999999": _case(_var1(0.9, 0.9999999, 1e-8)),
        "strong_coupling_small_noise": _case(_var1(0.5, 0.6, 0.8, noise_y=1e-6)),
        "target_autocorrelation_0.9999999": _case(_var1(0.5, 0.9999999, 0.8)),
        "variances_1e-6_1_1e6": _scaled(_case(anchor), [1e3, 1e-3, 1.0]),
        "idtxl_lag_1__no_target_past": {"cov": idtxl, "source": idx(1), "target": idx(0), "target_past": idx()},
        "unordered_sets": {"cov": _case(_var1(0.5, 0.6, 0.8, lags=2), lags=2)["cov"], "source": idx(2, 1),
                           "target": idx(0), "target_past": idx(4, 3)},
        "base_2": _case(anchor, base=2.0),
    }


def _reverse(full: np.ndarray) -> np.ndarray:
    """(X_t, Y_{t-1}, X_{t-1}) of ``_var1``'s order: the target X, the source Y's past, X's past."""
    order = [0, 3, 2]
    return full[np.ix_(order, order)]


def _extreme():
    anchor = _case(_var1(0.5, 0.6, 0.8))
    return {
        "extreme_finite": _scaled(anchor, [1e75, 1e-75, 1e75]),  # variances 1e150, 1e-150, 1e150
        "variances_1e-150": _scaled(anchor, [1e-75] * 3),
        "variances_1e150": _scaled(anchor, [1e75] * 3),
        "condition_1e12": {"cov": condition_1e12(), "source": idx(1, 2), "target": idx(0), "target_past": idx(3)},
        "independent_diagonal": {"cov": np.diag([2.0, 3.0, 5.0, 7.0]), "source": idx(1), "target": idx(0),
                                 "target_past": idx(2, 3)},
        "subnormal_variance": {"cov": subnormal_variance(), "source": idx(2), "target": idx(1), "target_past": idx(0)},
    }
