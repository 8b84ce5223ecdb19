"""``tsallis_entropy``: the Tsallis entropy of a probability mass function; value, gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import exprel

from ... import _validate as v
from ..._registry import Paper, Param, gradient_of, register
from ._common import PMF, pmf, refuse_zero

TSALLIS = Paper("Possible generalization of Boltzmann-Gibbs statistics",
                where="C. Tsallis, J. Stat. Phys. 52, 479-487 (1988), Eqs. 1-2 (k = 1); the sum of p_j - p_j^q for "
                      "probabilities not normalised is refloss's")

_ORDER = v.Interval(0.0, lo_open=True)


def _arguments(pk, q):
    return pmf(pk), v.scalar(q, _ORDER, "q")


def _power(p: np.ndarray, e: float, factor: float = 1.0) -> np.ndarray:
    r"""``factor * p**e``, also where ``p**e`` alone leaves the float64 range but the product does not: there
    :math:`(\sqrt{\mathrm{factor}}\, p^{e/2})^2` (a rounding or two more, where the condition scale is at least
    the result's)."""
    with np.errstate(over="ignore", divide="ignore"):
        direct = factor * np.power(p, e)
        if np.isfinite(direct).all():
            return direct
        half = np.sqrt(factor) * np.power(p, e / 2.0)
        return np.where(np.isfinite(direct), direct, half * half)


@register(
    name="tsallis_entropy",
    family="discrete",
    wrt=("pk",),
    params=(Param("pk", PMF), Param("q", _ORDER, "the order; q = 1 is Shannon's entropy, q = 2 the Gini-Simpson "
                                                "index")),
    paper=TSALLIS,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the value: probabilities near 1.7e308 (not normalised) give p_j^q / (q - 1) beyond the float64 range; "
             "the gradient q p_j^(q-1) / (1 - q) at subnormal p_j and small q",
)
def tsallis_entropy(pk: ArrayLike, *, q: float = 2.0):
    r"""The Tsallis entropy of order ``q`` of each distribution on the last axis:

    .. math:: S_q(p) = \sum_j \frac{p_j - p_j^q}{q - 1} = \sum_j p_j \ln_q \frac{1}{p_j}, \qquad
              S_1(p) = -\sum_j p_j \log p_j,

    which for a normalised :math:`p` is Tsallis's :math:`(1 - \sum_j p_j^q)/(q - 1)` (Tsallis 1988, Eqs. 1-2, with
    :math:`k = 1`); :math:`q \to 1` gives Shannon's :func:`entropy`, and :math:`q = 2` the Gini-Simpson index.
    ``pk`` is not normalised (the family's convention): writing the 1 as :math:`\sum_j p_j` is refloss's choice,
    the one that keeps the limit :math:`q \to 1` equal to :func:`entropy` for any :math:`p`. Outcomes of
    probability 0 add nothing (:math:`0^q = 0` for :math:`q > 0`). The order is :math:`q > 0`; the default 2 is
    refloss's (the paper states none). For logits, :func:`softmax_tsallis_entropy` is the same function of
    :math:`\mathrm{softmax}(z)`.

    Each term is :math:`p_j \cdot (-\log p_j)\,\mathrm{exprel}((q - 1)\log p_j)`, or, where
    :math:`|(q - 1) \log p_j| > 1`, :math:`p_j (1 - p_j^{q-1})/(q - 1)` from ``expm1`` or from
    :math:`(p_j - p_j^q)/(q - 1)` with one correctly rounded power: :math:`1 - \sum_j p_j^q` would lose every
    digit near :math:`q = 1` and for a peaked distribution. Gradient: :func:`tsallis_entropy_grad`; derivation:
    ``proofs/discrete/tsallis_entropy.py``.

    Args:
        pk: non-negative array ``(..., C)``, the outcomes last.
        q: the order, > 0 (default 2).

    Returns:
        The entropy of each distribution, shape ``pk.shape[:-1]`` (a float for one distribution).

    >>> float(tsallis_entropy([0.25, 0.25, 0.25, 0.25]))  # 1 - 4 (1/4)^2
    0.75
    >>> tsallis_entropy([[0.5, 0.5], [1 - 1e-12, 1e-12]], q=1.0)  # Shannon: log 2, and a peaked row
    array([6.93147181e-01, 2.86309990e-11])
    >>> float(tsallis_entropy([1 - 1e-12, 1e-12]))  # every digit; 1 - sum p^2 gives 1.99995575...e-12
    1.999977878277878e-12
    """
    p, q = _arguments(pk, q)
    with np.errstate(over="ignore"):  # past the range only where the terms below 0 are (those above are < 1e3)
        out = _terms(p, q).sum(axis=-1)
    return out if out.ndim else float(out)


@gradient_of("tsallis_entropy")
def tsallis_entropy_grad(pk: ArrayLike, *, q: float = 2.0) -> np.ndarray:
    r"""Gradient of :func:`tsallis_entropy` (of the sum over the distributions) w.r.t. ``pk``:

    .. math:: \frac{\partial S_q}{\partial p_j} = \frac{1 - q\,p_j^{q-1}}{q - 1}, \qquad
              -(\log p_j + 1) \text{ at } q = 1,

    the probabilities independent numbers (not along the simplex). Evaluated as
    :math:`-\log p_j\,\mathrm{exprel}((q-1)\log p_j) - p_j^{q-1}` where :math:`|(q-1)\log p_j| \le 1` (continuous
    through :math:`q = 1`), else from one correctly rounded power. At an entry 0 the one-sided derivative is
    :math:`1/(q-1)` for :math:`q > 1`; for :math:`q \le 1` it is :math:`+\infty` and the gradient refuses.

    >>> tsallis_entropy_grad([0.25, 0.75])  # 1 - 2 p
    array([ 0.5, -0.5])
    >>> tsallis_entropy_grad([0.0, 1.0], q=3.0)  # (1 - 3 p^2) / 2, also at p = 0
    array([ 0.5, -1. ])
    """
    p, q = _arguments(pk, q)
    if q <= 1.0:
        refuse_zero(p, "pk", "the derivative of p - p^q is +inf for q <= 1")
    t = q - 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_p = np.log(p)
        x = t * log_p
        near = np.abs(x) <= 1.0
        x_near = np.where(near, x, 0.0)
        # |(q - 1) log p| > 1: no cancellation between 1 and q p^(q-1) that the condition scale q p^(q-1) does not
        # allow, and the power is rounded once (e^x from a rounded x would lose |x| ulps)
        size = abs(t) if t != 0.0 else 1.0
        far = np.sign(t) * (1.0 / size - _power(p, t, q / size))
        return np.where(near, -np.where(near, log_p, 0.0) * exprel(x_near) - np.exp(x_near), far)


def _terms(p: np.ndarray, q: float) -> np.ndarray:
    """(p_j - p_j^q)/(q - 1) per outcome (Shannon's -p log p at q = 1), 0 where p_j = 0."""
    t = q - 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_p = np.log(p)
        x = t * log_p
        live = p > 0
        near = live & (np.abs(x) <= 1.0)
        below = live & (x < -1.0)  # p^(q-1) < 1/e: 1 - p^(q-1) from expm1 loses nothing
        # (1 - p^(q-1))/(q - 1) first, then times p: the factor is at most about |log p| or 1/|q - 1|, and p log p
        # alone would overflow at p near 1.7e308 with q near 0 (where the term is about -p)
        factor = np.where(near, -np.where(near, log_p, 0.0) * exprel(np.where(near, x, 0.0)),
                          -np.expm1(np.where(below, x, 0.0)) / (t if t != 0.0 else 1.0))
        # x > 1: p^q > e p, so p - p^q keeps its digits; p^q rounded once
        size = abs(t) if t != 0.0 else 1.0
        above = np.sign(t) * (p / size - _power(p, q, 1.0 / size))
        return np.where(near | below, p * factor, np.where(live, above, 0.0))


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        rows, c = drawn(st.integers(1, 3)), drawn(st.integers(1, 5))
        # entries of 0.05 and more: a finite difference (step 1e-3) stays in the domain and on the smooth part
        low = 1e-300 if extreme else 0.05
        weights = np.array([[drawn(st.floats(low, 1.0)) for _ in range(c)] for _ in range(rows)])
        if drawn(st.booleans()) and not extreme:
            weights = weights / weights.sum(axis=-1, keepdims=True)
        q = drawn(st.sampled_from([0.5, 1.0, 1.0 + 2.0**-40, 1.5, 2.0, 3.0]) if not extreme
                  else st.sampled_from([1e-3, 0.5, 1.0, 2.0, 50.0]))
        return {"pk": weights[0] if drawn(st.booleans()) else weights, "q": q}

    return draw()


def _stress() -> dict:
    peaked = np.array([1 - 1e-12, 1e-12, 1e-300])
    return {
        "peaked_and_uniform": {"pk": np.array([peaked, [0.25, 0.25, 0.5]])},  # the default order 2
        "near_shannon": {"pk": np.array([0.2, 0.3, 0.5]), "q": 1.0 + 2.0**-40},
        "below_shannon": {"pk": np.array([0.2, 0.3, 0.5]), "q": 1.0 - 1e-9},
        "shannon_peaked": {"pk": peaked, "q": 1.0},
        "small_order_tiny_entries": {"pk": np.array([1e-300, 1e-200, 1.0 - 1e-16]), "q": 1e-3},
        "large_order": {"pk": np.array([0.5, 0.3, 0.2]), "q": 40.0},
        "order_one_half_peaked": {"pk": peaked, "q": 0.5},
        "uniform_order_three": {"pk": np.full(4, 0.25), "q": 3.0},
        "one_outcome": {"pk": np.array([[1.0], [2.0]])},
        "not_normalised": {"pk": np.array([2.0, 3.0, 0.5]), "q": 1.5},
        "a_zero_outcome": {"pk": np.array([0.0, 0.3, 0.7])},  # q = 2: a gradient of 1/(q - 1) there
        "a_zero_outcome_below_one": {"pk": np.array([0.0, 0.3, 0.7]), "q": 0.5},  # a value, no gradient
    }


def _extreme() -> dict:
    return {
        "subnormal_probabilities": {"pk": np.array([5e-324, 1e-320, 1.0]), "q": 1.5},
        "subnormal_at_a_small_order": {"pk": np.array([5e-324, 1e-320, 1.0]), "q": 1e-3},
        "weights_near_1e308_near_order_zero": {"pk": np.array([1e308, 1.7e308]), "q": 1e-3},
        "weights_near_1e308_near_shannon": {"pk": np.array([1e308, 1.7e308]), "q": 1.0 + 2.0**-40},
        "power_past_the_range_divided_back": {"pk": np.array([2.0, 0.5]), "q": 1025.0},
        "weights_at_1_and_1e300": {"pk": np.array([1.0, 1e300]), "q": 0.5},
    }
