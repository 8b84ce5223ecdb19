"""``cross_entropy_pmf``: the cross-entropy of two probability mass functions; value, closed-form gradients,
registration."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import xlogy

from ..._registry import Param, gradient_of, register
from ..entropy._common import _BASE, _log_base
from ._common import CROSS_ENTROPY, PMF, dot_last, pmf_pair, refuse_zero


class CrossEntropyPmfGrad(NamedTuple):
    """Gradients of :func:`cross_entropy_pmf`, one per input."""

    pk: np.ndarray
    qk: np.ndarray


@register(
    name="cross_entropy_pmf",
    family="discrete",
    wrt=("pk", "qk"),
    params=(Param("pk", PMF), Param("qk", PMF),
            Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True)),
    paper=CROSS_ENTROPY,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the value: probabilities near 1.7e308 (not normalised) give p log q beyond the float64 range; the "
             "gradient -p/q where q is far below p",
)
def cross_entropy_pmf(pk: ArrayLike, qk: ArrayLike, *, base: float | None = None):
    r"""The cross-entropy :math:`H(p, q) = -\sum_j p_j \log q_j` of each pair of distributions on the last axis, in
    nats.

    Outcomes with :math:`p_j = 0` add nothing (also at :math:`q_j = 0`: :math:`0 \log 0 = 0`); where some
    :math:`p_j > 0` has :math:`q_j = 0` the cross-entropy is :math:`+\infty`. Not normalised (the family's
    convention): for a normalised ``pk``, :math:`H(p, q) = H(p) + D(p\,\|\,q)` (:func:`entropy`,
    :func:`kl_divergence`). Each term is :func:`scipy.special.xlogy` (:math:`p \log q`, one rounding of the log and
    one of the product); the terms have one sign where :math:`q \le 1` and both where an unnormalised
    :math:`q_j > 1`, where the condition scale :math:`\sum_j p_j (|\log q_j| + 1)` allows the cancellation. A sum of
    terms beyond the float64 range of both signs is taken with the probabilities scaled by :math:`2^{-64}`.
    Gradients: :func:`cross_entropy_pmf_grad`. (:func:`cross_entropy` takes logits and class targets.)

    Args:
        pk: non-negative array ``(..., C)``, the outcomes last.
        qk: non-negative array of the same shape.
        base: ``None`` (nats) or the base of the logarithm (2: bits).

    Returns:
        The cross-entropy of each pair, shape ``pk.shape[:-1]`` (a float for one pair).

    >>> float(cross_entropy_pmf([0.5, 0.5], [0.25, 0.75], base=2))
    1.2075187496394219
    >>> cross_entropy_pmf([[1.0, 0.0], [0.5, 0.5]], [[0.5, 0.5], [1.0, 0.0]])
    array([0.69314718,        inf])

    Reference: Cover & Thomas, *Elements of Information Theory*, 2nd ed. (:math:`H(p) + D(p\,\|\,q)`, eq. 2.26 for
    :math:`D`).
    """
    p, q = pmf_pair(pk, qk)
    with np.errstate(over="ignore", invalid="ignore"):
        out = -xlogy(p, q).sum(axis=-1)
        if not np.isfinite(out).all():  # terms beyond the float64 range of both signs, whose sum may not be
            with np.errstate(divide="ignore"):
                out = np.where(np.isfinite(out), out, -dot_last(p, np.log(q)))
    out = out / _log_base(base)
    return out if out.ndim else float(out)


@gradient_of("cross_entropy_pmf")
def cross_entropy_pmf_grad(pk: ArrayLike, qk: ArrayLike, *, base: float | None = None) -> CrossEntropyPmfGrad:
    r"""Gradients of :func:`cross_entropy_pmf` (of the sum over the pairs) w.r.t. ``pk`` and ``qk``:
    :math:`\partial H / \partial p_j = -\log q_j` and :math:`\partial H / \partial q_j = -p_j / q_j`.

    Defined at :math:`p_j = 0` (the term is linear in :math:`p_j`). At :math:`q_j = 0` the derivative in
    :math:`p_j` is :math:`+\infty` (and the value too if :math:`p_j > 0`): the gradient refuses.

    >>> g = cross_entropy_pmf_grad([0.5, 0.5], [0.25, 0.75])
    >>> g.pk
    array([1.38629436, 0.28768207])
    >>> g.qk
    array([-2.        , -0.66666667])
    """
    log_base = _log_base(base)
    p, q = pmf_pair(pk, qk)
    refuse_zero(q, "qk", "the derivative of -p log q in p is +inf")
    with np.errstate(over="ignore"):  # -p/q beyond the float64 range is -inf (declared)
        return CrossEntropyPmfGrad(-np.log(q) / log_base, -(p / q) / log_base)


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        rows, c = drawn(st.integers(1, 3)), drawn(st.integers(1, 5))
        # entries of 0.1 and more: a finite difference (step 1e-3) stays in the domain and is accurate for p/q (a
        # p of 0, whose gradient exists, is a stress point: a central difference would leave the domain)
        low = 1e-300 if extreme else 0.1
        q = np.array([[drawn(st.floats(low, 1.0)) for _ in range(c)] for _ in range(rows)])
        p = np.array([[drawn(st.floats(low, 2.0)) for _ in range(c)] for _ in range(rows)])
        if drawn(st.booleans()) and not extreme:
            normalised = q / q.sum(axis=-1, keepdims=True)
            q = normalised if normalised.min() >= 0.1 else q
        one = drawn(st.booleans())
        return {"pk": p[0] if one else p, "qk": q[0] if one else q, "base": drawn(st.sampled_from([None, 2.0, 10.0]))}

    return draw()


def _stress() -> dict:
    p3 = np.array([0.2, 0.3, 0.5])
    return {
        "peaked_and_uniform": {"pk": np.array([[1 - 1e-12, 1e-12, 1e-300], [0.25, 0.25, 0.5]]),  # the defaults
                               "qk": np.array([[1 - 1e-12, 1e-12, 1e-300], [1 / 3, 1 / 3, 1 / 3]])},
        "q_is_p_times_1_plus_1e-9": {"pk": p3, "qk": p3 * (1 + 1e-9)},
        "q_near_one": {"pk": np.array([0.5, 0.5]), "qk": np.array([1 - 1e-15, 1e-15])},
        "tiny_entries": {"pk": np.array([1e-300, 1e-200, 1.0 - 1e-16]), "qk": np.array([1e-200, 1e-300, 1.0])},
        "a_zero_in_p": {"pk": np.array([0.0, 0.4, 0.6]), "qk": np.array([0.2, 0.3, 0.5])},  # gradient defined
        "zero_in_both": {"pk": np.array([0.0, 1.0]), "qk": np.array([0.0, 1.0])},  # a value, no gradient
        "q_zero_where_p_has_mass": {"pk": np.array([0.5, 0.5]), "qk": np.array([1.0, 0.0])},  # +inf
        "one_outcome": {"pk": np.array([[1.0], [2.0]]), "qk": np.array([[1.0], [0.5]])},
        "not_normalised_q_above_one": {"pk": np.array([2.0, 3.0, 0.5]), "qk": np.array([1.0, 4.0, 0.25])},
        "terms_of_both_signs_cancel": {"pk": np.array([1.0, 1.0]), "qk": np.array([2.0, 0.5 + 1e-12])},
        "uniform_against_peaked__bits": {"pk": np.full(4, 0.25), "qk": np.array([0.97, 0.01, 0.01, 0.01]),
                                         "base": 2.0},
        "batch_of_tables__base_10": {"pk": np.array([[[0.1, 0.9], [0.6, 0.4]], [[0.5, 0.5], [0.0, 1.0]]]),
                                     "qk": np.array([[[0.9, 0.1], [0.5, 0.5]], [[0.5, 0.5], [0.7, 0.3]]]),
                                     "base": 10.0},
    }


def _extreme() -> dict:
    return {
        "subnormal_probabilities": {"pk": np.array([5e-324, 1e-320, 1.0]), "qk": np.array([1e-310, 5e-324, 1.0])},
        "weights_near_1e308": {"pk": np.array([1e308, 1.7e308]), "qk": np.array([1.7e308, 1e308])},
        "terms_past_the_range_of_both_signs": {"pk": np.array([1e308, 1e308]), "qk": np.array([1e300, 1e-300])},
        "overflowing_quotient": {"pk": np.array([1e308, 1.0]), "qk": np.array([5e-324, 1.0])},
        "weights_at_1_and_1e300": {"pk": np.array([1.0, 1e300]), "qk": np.array([1e300, 1.0])},
    }
