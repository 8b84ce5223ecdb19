"""``entropy``: the Shannon entropy of a probability mass function; value, gradient, registration."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import entr

from ..._registry import Param, gradient_of, register
from ..entropy._common import _BASE, _log_base
from ._common import PMF, SHANNON, no_zero, pmf


@register(
    name="entropy",
    family="discrete",
    wrt=("pk",),
    params=(Param("pk", PMF), Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True)),
    paper=SHANNON,
    strategy=lambda extreme: _draws(extreme),
    stress=lambda: _stress(),
    extreme=lambda: _extreme(),
    overflow="the value: probabilities near 1.7e308 (not normalised) give -p log p beyond the float64 range",
)
def entropy(pk: ArrayLike, *, base: float | None = None):
    r"""The Shannon entropy :math:`H(p) = -\sum_j p_j \log p_j` of each distribution on the last axis, in nats.

    ``pk`` is not normalised (the family's convention; SciPy's ``stats.entropy`` normalises first). Outcomes of
    probability 0 add nothing (:math:`0 \log 0 = 0`). Each term is :func:`scipy.special.entr`, non-negative for
    :math:`p \le 1`, so a peaked distribution keeps its digits. Gradient: :func:`entropy_grad`.

    Args:
        pk: non-negative array ``(..., C)``, the outcomes last.
        base: ``None`` (nats) or the base of the logarithm (2: bits).

    Returns:
        The entropy of each distribution, shape ``pk.shape[:-1]`` (a float for one distribution).

    >>> float(entropy([0.5, 0.5], base=2))  # one bit
    1.0
    >>> entropy([[1.0, 0.0], [0.25, 0.75]])
    array([0.        , 0.56233514])
    """
    p = pmf(pk)
    out = entr(p).sum(axis=-1) / _log_base(base)
    return out if out.ndim else float(out)


@gradient_of("entropy")
def entropy_grad(pk: ArrayLike, *, base: float | None = None) -> np.ndarray:
    r"""Gradient of :func:`entropy` (of the sum over the distributions) w.r.t. ``pk``: :math:`-(\log p_j + 1)`.

    At an entry 0 the derivative is :math:`+\infty` (one-sided) and the gradient refuses (the family's convention).

    >>> entropy_grad([0.5, 0.5])
    array([-0.30685282, -0.30685282])
    """
    log_base = _log_base(base)
    p = pmf(pk)
    no_zero(p, "pk")
    return -(np.log(p) + 1.0) / log_base


def _draws(extreme: bool):
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        rows, c = drawn(st.integers(1, 3)), drawn(st.integers(1, 5))
        # entries of 0.05 and more: a finite difference (step 1e-3) stays in the domain and on the smooth part
        low = 1e-300 if extreme else 0.05
        weights = np.array([[drawn(st.floats(low, 1.0)) for _ in range(c)] for _ in range(rows)])
        shape = drawn(st.sampled_from(["normalised", "as drawn"]))
        pk = weights / weights.sum(axis=-1, keepdims=True) if shape == "normalised" and not extreme else weights
        return {"pk": pk[0] if drawn(st.booleans()) else pk, "base": drawn(st.sampled_from([None, 2.0, 10.0]))}

    return draw()


def _stress() -> dict:
    return {
        "peaked_and_uniform": {"pk": np.array([[1 - 1e-12, 1e-12, 0.0 + 1e-300], [0.25, 0.25, 0.5]])},  # the defaults
        "uniform__bits": {"pk": np.full(4, 0.25), "base": 2.0},
        "tiny_entries": {"pk": np.array([1e-300, 1e-200, 1.0 - 1e-16])},
        "near_one_half": {"pk": np.array([0.5 + 1e-9, 0.5 - 1e-9])},
        "one_outcome": {"pk": np.array([1.0])},
        "not_normalised": {"pk": np.array([2.0, 3.0, 0.5])},
        "a_zero_outcome": {"pk": np.array([0.0, 0.3, 0.7])},  # a value, no gradient
        "base_10": {"pk": np.array([0.1, 0.2, 0.7]), "base": 10.0},
    }


def _extreme() -> dict:
    return {
        "subnormal_probabilities": {"pk": np.array([5e-324, 1e-320, 1.0])},
        "weights_near_1e308": {"pk": np.array([1e308, 1.7e308])},
        "weights_at_1_and_1e300": {"pk": np.array([1.0, 1e300])},
    }
