"""The family's shared parts: the check of a pmf array and the papers."""

from __future__ import annotations

import numpy as np

from ... import _validate as v
from ..._registry import Paper

SHANNON = Paper("A Mathematical Theory of Communication", where="C. E. Shannon, Bell Syst. Tech. J. 27, 1948")

PMF = v.ArrayArg("non-negative probabilities (..., C), outcomes on the last axis; not normalised", "pmf")


def pmf(x, name: str = "pk") -> np.ndarray:
    """Finite non-negative numbers with at least one axis and one outcome on the last."""
    arr = v.real_array(x, name)
    if arr.ndim == 0:
        raise v.RefLossError(f"{name} must have at least one axis (the outcomes, last), got a scalar")
    if arr.shape[-1] == 0:
        raise v.RefLossError(f"{name} has no outcomes (shape {arr.shape}): a distribution over nothing does not exist")
    if arr.size and arr.min() < 0:
        raise v.RefLossError(f"{name} has a negative entry ({arr.min()!r}): probabilities are non-negative")
    return arr


def no_zero(arr: np.ndarray, name: str) -> None:
    """The gradient's refusal at a probability of 0."""
    if (arr == 0).any():
        raise v.RefLossError(f"{name} has an entry 0, where the derivative of -p log p is +inf: the gradient does not "
                             "exist there (the value does)")


# -- the rest of the family (kl_divergence, cross_entropy_pmf, mutual_information_pmf, conditional_entropy_pmf,
# miller_madow_entropy): papers, argument checks and the range-safe logarithms of quotients ----------------------

COVER_THOMAS = "T. M. Cover, J. A. Thomas, Elements of Information Theory, 2nd ed., Wiley 2006"

KULLBACK = Paper("On Information and Sufficiency",
                 where=f"S. Kullback, R. A. Leibler, Ann. Math. Statist. 22(1), 1951; {COVER_THOMAS}, eq. (2.26)")

CROSS_ENTROPY = Paper("Elements of Information Theory",
                      where=f"{COVER_THOMAS}: -sum p log q = H(p) + D(p||q) with D of eq. (2.26); the book has no "
                            "numbered equation of its own for the cross-entropy (not checked)")

MUTUAL_INFORMATION = Paper("Elements of Information Theory", where=f"{COVER_THOMAS}, eq. (2.28)")

CONDITIONAL_ENTROPY = Paper("Elements of Information Theory", where=f"{COVER_THOMAS}, eq. (2.10)")

MILLER = Paper("Note on the bias of information estimates",
               where="G. A. Miller, in Information Theory in Psychology: Problems and Methods (H. Quastler, ed.), "
                     "Free Press, 1955, pp. 95-100; the correction (m - 1)/(2N) in nats, m the bins observed")

JOINT = v.ArrayArg("non-negative joint probabilities (..., X, Y): rows x, columns y on the last two axes; not "
                   "normalised", "pmf")

COUNTS = v.ArrayArg("non-negative integer counts (..., C) (an integer dtype), the bins on the last axis", "pmf")

LN2 = float(np.log(2.0))


def pmf_pair(pk, qk) -> tuple[np.ndarray, np.ndarray]:
    """Two pmf arrays of one shape."""
    p, q = pmf(pk, "pk"), pmf(qk, "qk")
    v.same_shape(p, q, "pk", "qk")
    return p, q


def joint(x, name: str = "pxy") -> np.ndarray:
    """A pmf array with at least two axes: the joint table's rows x and columns y last."""
    arr = pmf(x, name)
    if arr.ndim < 2 or arr.shape[-2] == 0:
        raise v.RefLossError(f"{name} must be a joint table (..., X, Y) with X >= 1 rows and Y >= 1 columns, got "
                             f"shape {arr.shape}")
    return arr


def counts_array(x, name: str = "counts") -> np.ndarray:
    """Non-negative integer counts with the bins on the last axis and at least one observation per distribution."""
    arr = v.as_array(x, name)
    if arr.dtype.kind not in "iu":
        raise v.RefLossError(f"{name} must be integer counts (an integer dtype), got dtype {arr.dtype}: frequencies "
                             "or rounded floats are not counts")
    if arr.ndim == 0:
        raise v.RefLossError(f"{name} must have at least one axis (the bins, last), got a scalar")
    if arr.shape[-1] == 0:
        raise v.RefLossError(f"{name} has no bins (shape {arr.shape})")
    if arr.size and arr.min() < 0:
        raise v.RefLossError(f"{name} has a negative count ({arr.min()!r})")
    if arr.size and (np.asarray(arr.sum(axis=-1, dtype=object)) == 0).any():
        raise v.RefLossError(f"{name} has a distribution with no observation (all counts 0): its frequencies do not "
                             "exist")
    return arr


def split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x = m 2^e`` with ``m`` in [1/2, 1) (``frexp``: exact, subnormals included; ``m = 0`` at 0)."""
    m, e = np.frexp(x)
    return m, e.astype(np.int64)


def sum_split(p: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    """The sum of ``p`` over ``axis`` as ``(m, e)`` (:func:`split`), also where the float64 sum overflows: there the
    entries are first scaled by a power of 2 (exact above the subnormal range) that keeps the sum finite."""
    with np.errstate(over="ignore"):  # a sum past the float64 range: scaled below
        total = p.sum(axis=axis, keepdims=True)
    m, e = split(total)
    if np.isfinite(total).all():
        return m, e
    count = np.prod([p.shape[a] for a in np.atleast_1d(axis)])
    k = int(count).bit_length() + 1
    m_k, e_k = split(np.ldexp(p, -k).sum(axis=axis, keepdims=True))
    finite = np.isfinite(total)
    return np.where(finite, m, m_k), np.where(finite, e, e_k + k)


def log_quotient(num: tuple, *dens: tuple) -> np.ndarray:
    r""":math:`\log(n / \prod_i d_i)` of positive numbers given as :func:`split` pairs: the log of the quotient of the
    mantissas (in (1/8, 2] for at most two denominators: never over- or underflows) plus the exponents' exact integer
    sum times log 2. The quotient itself may leave the float64 range (5e-324 / 1e308); its log does not, and it is
    rounded to about :math:`\epsilon (|\log| + 1)`, as log of a correctly rounded quotient would be."""
    m, e = num
    for dm, de in dens:
        m, e = m / dm, e - de
    with np.errstate(divide="ignore"):  # a zero numerator: -inf, which the callers mask
        return np.log(m) + e * LN2


def dot_last(p: np.ndarray, terms: np.ndarray, axes=(-1,)) -> np.ndarray:
    r""":math:`\sum p_j t_j` over ``axes`` with ``p_j t_j = 0`` where ``p_j = 0`` (whatever ``t_j``): the plain sum, and
    where that leaves the float64 range while the sum need not (terms of both signs beyond it), the sum of
    ``(2^{-64} p_j) t_j`` scaled back by :math:`2^{64}` (exact but for subnormal ``p_j``, whose terms are then far below
    the sum's)."""
    with np.errstate(invalid="ignore", over="ignore"):
        prod = np.where(p > 0, p * np.where(p > 0, terms, 0.0), 0.0)
        total = prod.sum(axis=axes)
        if np.isfinite(total).all():
            return total
        scaled = np.where(p > 0, np.ldexp(p, -64) * np.where(p > 0, terms, 0.0), 0.0).sum(axis=axes)
        return np.where(np.isfinite(total), total, np.ldexp(scaled, 64))


def refuse_zero(arr: np.ndarray, name: str, derivative: str) -> None:
    """The gradient's refusal at a probability of 0, where ``derivative`` (the term's, in words) is infinite."""
    if (arr == 0).any():
        raise v.RefLossError(f"{name} has an entry 0, where {derivative}: the gradient does not exist there (the "
                             "value does)")


def joint_table_draws(extreme: bool):
    """Hypothesis draws of joint tables (batch, X, Y) or one table, with a base (the MI and conditional entropy's)."""
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        batch, nx, ny = drawn(st.integers(1, 2)), drawn(st.integers(1, 3)), drawn(st.integers(1, 3))
        # cells of 0.05 and more: a finite difference (step 1e-3) stays in the domain and on the smooth part
        low = 1e-300 if extreme else 0.05
        p = np.array([[[drawn(st.floats(low, 1.0)) for _ in range(ny)] for _ in range(nx)] for _ in range(batch)])
        if drawn(st.booleans()) and not extreme:  # a normalised table, if its cells stay at 0.05 or more
            normalised = p / p.sum(axis=(-2, -1), keepdims=True)
            p = normalised if normalised.min() >= 0.05 else p
        return {"pxy": p[0] if drawn(st.booleans()) else p, "base": drawn(st.sampled_from([None, 2.0, 10.0]))}

    return draw()


# -- total_correlation_pmf, o_information_pmf: joint tables of k variables, one per trailing axis -----------------

WATANABE = Paper("Information theoretical analysis of multivariate correlation",
                 where="S. Watanabe, IBM J. Res. Dev. 4(1), 66-82, 1960: the total correlation sum_i H(X_i) - H(X) "
                       "(equation number not checked)")

ROSAS = Paper("Quantifying high-order interdependencies via multivariate extensions of the mutual information",
              arxiv="1902.11239",
              where="F. E. Rosas, P. A. M. Mediano, M. Gastpar, H. J. Jensen, Phys. Rev. E 100, 032305 (2019): the "
                    "O-information TC - DTC = (n - 2) H(X) + sum_j [H(X_j) - H(X_-j)] (equation numbers not checked)")

JOINT_K = v.ArrayArg("non-negative joint probabilities (..., n_1, ..., n_k): one variable per trailing axis (the last "
                     "k = variables axes; every axis by default), a batch of tables on the axes before; not normalised",
                     "pmf")

VARIABLES_DOC = "None: every axis is a variable (one table); k: the last k axes are the variables, those before a batch"


def joint_k(x, variables, at_least: int, name: str = "pjoint") -> tuple[np.ndarray, int]:
    """A pmf array and its number ``k`` of variables (its last ``k`` axes, each with at least one outcome):
    ``variables``, or every axis where it is None; ``k >= at_least``."""
    arr = v.real_array(x, name)
    if variables is None:
        k = arr.ndim
        if k < at_least:
            axes = "axis" if at_least == 1 else "axes"
            raise v.RefLossError(f"{name} must have at least {at_least} {axes} (one per variable), got shape "
                                 f"{arr.shape}")
    else:
        k = v.integer_in(variables, v.Integers(at_least), "variables")
        if k > arr.ndim:
            raise v.RefLossError(f"{name} has {arr.ndim} axes (shape {arr.shape}), fewer than variables={k}")
    if 0 in arr.shape[arr.ndim - k:]:
        raise v.RefLossError(f"{name} has a variable with no outcomes (shape {arr.shape}, the last {k} axes the "
                             "variables): a distribution over nothing does not exist")
    if arr.size and arr.min() < 0:
        raise v.RefLossError(f"{name} has a negative entry ({arr.min()!r}): probabilities are non-negative")
    return arr, k


def variable_axes(arr: np.ndarray, k: int) -> tuple[int, ...]:
    """The axes of the ``k`` variables: the last ``k``."""
    return tuple(range(arr.ndim - k, arr.ndim))


def multivariate_table_draws(extreme: bool, at_least: int):
    """Hypothesis draws of joint tables of ``at_least`` to 4 variables (at most 24 cells), one table
    (``variables`` None or k) or a batch of two (``variables=k``), with a base."""
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        k = drawn(st.integers(at_least, 4))
        sizes = [drawn(st.integers(1, 3 if i == 0 and k < 4 else 2)) for i in range(k)]
        batch = drawn(st.sampled_from([(), (1,), (2,)]))
        # cells of 0.05 and more: a finite difference (step 1e-3) stays in the domain and on the smooth part
        low = 1e-300 if extreme else 0.05
        p = np.array([drawn(st.floats(low, 1.0)) for _ in range(int(np.prod(batch + tuple(sizes))))])
        p = p.reshape(batch + tuple(sizes))
        if drawn(st.booleans()) and not extreme:  # normalised tables, if their cells stay at 0.05 or more
            normalised = p / p.sum(axis=tuple(range(len(batch), p.ndim)), keepdims=True)
            p = normalised if normalised.min() >= 0.05 else p
        variables = k if batch or drawn(st.booleans()) else None
        return {"pjoint": p, "variables": variables, "base": drawn(st.sampled_from([None, 2.0, 10.0]))}

    return draw()
