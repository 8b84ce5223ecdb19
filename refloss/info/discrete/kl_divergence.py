"""``kl_divergence``: the Kullback-Leibler divergence of two probability mass functions; value, closed-form
gradients, registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import rel_entr

from ..._registry import Param, gradient_of, register
from ..entropy._common import _BASE, _log_base
from ._common import KULLBACK, PMF, dot_last, log_quotient, pmf_pair, refuse_zero, split

_QK = Param("qk", PMF)

TINY = np.finfo(np.float64).tiny


class KlDivergenceGrad(NamedTuple):
    """Gradients of :func:`kl_divergence`, one per input."""

    pk: np.ndarray
    qk: np.ndarray


def log_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    r""":math:`\log(p_j / q_j)` of positive entries, also where the quotient leaves the float64 range: there the
    mantissas and exponents of ``_common.split`` (``+inf`` where :math:`q_j = 0`)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        return log_quotient(split(p), split(q))


def _terms(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """p log(p/q): ``scipy.special.rel_entr`` where p/q is a normal float64, else p times :func:`log_ratio`."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        quotient = p / q
        inside = (quotient >= TINY) & (quotient < np.inf)
        return np.where(inside, rel_entr(p, q), np.where(p > 0, p * log_ratio(p, q), 0.0))


@register(
    name="kl_divergence",
    family="discrete",
    wrt=("pk", "qk"),
    params=(Param("pk", PMF), _QK,
            Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True)),
    paper=KULLBACK,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the value: probabilities near 1.7e308 (not normalised) give p log(p/q) beyond the float64 range; the "
             "gradient -p/q where q is far below p",
)
def kl_divergence(pk: ArrayLike, qk: ArrayLike, *, base: float | None = None):
    r"""The Kullback-Leibler divergence :math:`D(p\,\|\,q) = \sum_j p_j \log(p_j / q_j)` of each pair of
    distributions on the last axis, in nats.

    The sum runs over the outcomes with :math:`p_j > 0` (:math:`0 \log(0/q) = 0`, also at :math:`q_j = 0`); where
    some :math:`p_j > 0` has :math:`q_j = 0` the divergence is :math:`+\infty`. ``pk`` and ``qk`` are **not
    normalised** (the family's convention): the definition is evaluated at the numbers given, and may then be
    negative (:math:`q = p (1 + 10^{-9})` gives :math:`-10^{-9} \sum_j p_j`); SciPy's ``stats.entropy(pk, qk)``
    divides both by their sums first, :math:`D(p\,\|\,q) = S_p\,[D(\hat p\,\|\,\hat q) + \log(S_p/S_q)]`. Each term
    is :func:`scipy.special.rel_entr` (:math:`p \log(p/q)` with one rounding of the quotient), and where the quotient
    :math:`p/q` leaves the float64 range (:math:`5\cdot10^{-324} / 10^{308}`) the log of the quotient of the
    mantissas plus the exponents times :math:`\log 2`. The terms have both signs; near :math:`p = q` the sum is a
    cancellation the inputs themselves carry: the condition scale
    :math:`\sum_j p_j |\log(p_j/q_j) + 1| + \sum_j p_j` (the rounding of each :math:`p_j` and :math:`q_j`) is at
    least :math:`\sum_j p_j`, and the sum of the terms is rounded to a few :math:`\epsilon \sum_j p_j`. The
    generalised divergence :math:`\sum_j p_j \log(p_j/q_j) - p_j + q_j \ge 0` is a different function for
    unnormalised inputs and is not what this returns. Gradients: :func:`kl_divergence_grad`.

    Args:
        pk: non-negative array ``(..., C)``, the outcomes last.
        qk: non-negative array of the same shape.
        base: ``None`` (nats) or the base of the logarithm (2: bits).

    Returns:
        The divergence of each pair, shape ``pk.shape[:-1]`` (a float for one pair); ``+inf`` where ``qk`` is 0 at
        an outcome that ``pk`` gives mass.

    >>> float(kl_divergence([0.5, 0.5], [0.25, 0.75], base=2))
    0.2075187496394219
    >>> kl_divergence([[1.0, 0.0], [0.5, 0.5]], [[0.5, 0.5], [1.0, 0.0]])
    array([0.69314718,        inf])

    Reference: Kullback & Leibler (1951); Cover & Thomas, *Elements of Information Theory*, 2nd ed., eq. (2.26).
    """
    p, q = pmf_pair(pk, qk)
    out = _terms(p, q).sum(axis=-1) if p.size else np.zeros(p.shape[:-1])
    if not np.isfinite(out).all():  # terms beyond the float64 range of both signs, whose sum may not be
        out = np.where(np.isfinite(out), out, dot_last(p, log_ratio(p, q)))
    out = out / _log_base(base)
    return out if out.ndim else float(out)


@gradient_of("kl_divergence")
def kl_divergence_grad(pk: ArrayLike, qk: ArrayLike, *, base: float | None = None) -> KlDivergenceGrad:
    r"""Gradients of :func:`kl_divergence` (of the sum over the pairs) w.r.t. ``pk`` and ``qk``:
    :math:`\partial D / \partial p_j = \log(p_j / q_j) + 1` and :math:`\partial D / \partial q_j = -p_j / q_j`.

    The probabilities are independent numbers (not along the simplex). At :math:`p_j = 0` the derivative in
    :math:`p_j` is :math:`-\infty` (one-sided), and where :math:`q_j = 0 < p_j` the divergence is infinite: the
    gradient refuses both.

    >>> g = kl_divergence_grad([0.5, 0.5], [0.25, 0.75])
    >>> g.pk
    array([1.69314718, 0.59453489])
    >>> g.qk
    array([-2.        , -0.66666667])
    """
    log_base = _log_base(base)
    p, q = pmf_pair(pk, qk)
    refuse_zero(p, "pk", "the derivative of p log(p/q) in p is -inf")
    refuse_zero(q, "qk", "the divergence is +inf (pk has mass there)")
    with np.errstate(over="ignore"):  # -p/q beyond the float64 range is -inf (declared)
        return KlDivergenceGrad((log_ratio(p, q) + 1.0) / log_base, -(p / q) / log_base)


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        rows, c = drawn(st.integers(1, 3)), drawn(st.integers(1, 5))
        # entries of 0.1 and more: a finite difference (step 1e-3) stays in the domain and on the smooth part (the
        # fifth derivative of p/q in q, 120 p / q^6, sets the error of the fourth-order difference)
        low = 1e-300 if extreme else 0.1
        p, q = (np.array([[drawn(st.floats(low, 1.0)) for _ in range(c)] for _ in range(rows)]) for _ in range(2))
        if drawn(st.sampled_from(["normalised", "as drawn"])) == "normalised" and not extreme:
            p, q = _normalised(p, q)
        if drawn(st.booleans()):  # q close to p: the terms cancel
            q = p * (1.0 + drawn(st.sampled_from([1e-9, -1e-6, 1e-3])))
        one = drawn(st.booleans())
        return {"pk": p[0] if one else p, "qk": q[0] if one else q, "base": drawn(st.sampled_from([None, 2.0, 10.0]))}

    return draw()


def _normalised(*arrays):
    """Each array divided by its sums, where every entry then stays at 0.1 or more (else as drawn)."""
    out = []
    for x in arrays:
        y = x / x.sum(axis=-1, keepdims=True)
        out.append(y if y.min() >= 0.1 else x)
    return out


def _stress() -> dict:
    p3 = np.array([0.2, 0.3, 0.5])
    return {
        "peaked_and_uniform": {"pk": np.array([[1 - 1e-12, 1e-12, 1e-300], [0.25, 0.25, 0.5]]),  # the defaults
                               "qk": np.array([[0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3]])},
        "q_is_p_times_1_plus_1e-9": {"pk": p3, "qk": p3 * (1 + 1e-9)},
        "normalised_and_close": {"pk": p3, "qk": np.array([0.2 + 1e-9, 0.3 - 1e-9, 0.5])},
        "peaked_against_peaked": {"pk": np.array([1 - 1e-12, 1e-12]), "qk": np.array([1 - 1e-10, 1e-10])},
        "tiny_entries": {"pk": np.array([1e-300, 1e-200, 1.0 - 1e-16]), "qk": np.array([1e-200, 1e-300, 1.0])},
        "a_zero_in_p": {"pk": np.array([0.0, 0.4, 0.6]), "qk": np.array([0.2, 0.3, 0.5])},  # a value, no gradient
        "zero_in_both": {"pk": np.array([0.0, 1.0]), "qk": np.array([0.0, 1.0])},  # 0: no gradient
        "q_zero_where_p_has_mass": {"pk": np.array([0.5, 0.5]), "qk": np.array([1.0, 0.0])},  # +inf
        "one_outcome": {"pk": np.array([[1.0], [2.0]]), "qk": np.array([[1.0], [0.5]])},
        "not_normalised": {"pk": np.array([2.0, 3.0, 0.5]), "qk": np.array([1.0, 4.0, 0.25])},
        "uniform_against_peaked__bits": {"pk": np.full(4, 0.25), "qk": np.array([0.97, 0.01, 0.01, 0.01]),
                                         "base": 2.0},
        "batch_of_tables__base_10": {"pk": np.array([[[0.1, 0.9], [0.6, 0.4]], [[0.5, 0.5], [1.0, 0.0]]]),
                                     "qk": np.array([[[0.9, 0.1], [0.5, 0.5]], [[0.5, 0.5], [0.7, 0.3]]]),
                                     "base": 10.0},
    }


def _extreme() -> dict:
    return {
        "subnormal_probabilities": {"pk": np.array([5e-324, 1e-320, 1.0]), "qk": np.array([1e-310, 5e-324, 1.0])},
        "quotients_beyond_the_range": {"pk": np.array([5e-324, 1e-300, 1.0]), "qk": np.array([1e308, 1e-10, 1.0])},
        "weights_near_1e308": {"pk": np.array([1e308, 1.7e308]), "qk": np.array([1.7e308, 1e308])},
        "overflowing_term": {"pk": np.array([1e308, 1.0]), "qk": np.array([5e-324, 1.0])},
        "weights_at_1_and_1e300": {"pk": np.array([1.0, 1e300]), "qk": np.array([1e300, 1.0])},
    }
