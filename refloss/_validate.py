"""Argument checks: the only place refloss writes them.

Every public function converts and checks its inputs through these helpers, so a bad input raises
:class:`RefLossError` with a message that names the argument, never a NumPy broadcasting error or a
silent NaN. Parameter domains are :class:`Interval` / :class:`Choice` objects; the registry stores the
same objects, so the domain a docs page shows is the domain that is enforced.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np


class RefLossError(ValueError):
    """Bad input to a refloss function; the message names the argument and the problem."""


class RefLossWarning(RuntimeWarning):
    """A documented, framework-compatible result that is not a number (e.g. a mean over zero weight)."""


@dataclass(frozen=True)
class Interval:
    """A real interval; ``Interval(0, 1, lo_open=True)`` is ``(0, 1]``. Infinite ends are open, unless ``with_inf``
    puts +inf in (``Interval(0.0, with_inf=True)`` is ``[0, inf]``)."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    #: +inf itself belongs to the domain (an order whose limit is part of the definition: Renyi's alpha = inf).
    with_inf: bool = False

    def __contains__(self, x: float) -> bool:
        if self.with_inf and x == math.inf:
            return True
        lo_ok = x > self.lo if (self.lo_open or math.isinf(self.lo)) else x >= self.lo
        hi_ok = x < self.hi if (self.hi_open or math.isinf(self.hi)) else x <= self.hi
        return bool(lo_ok and hi_ok)

    def __str__(self) -> str:
        left = "(" if (self.lo_open or math.isinf(self.lo)) else "["
        right = "]" if self.with_inf else ")" if (self.hi_open or math.isinf(self.hi)) else "]"
        return f"{left}{_fmt(self.lo)}, {_fmt(self.hi)}{right}"


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of values (e.g. the reduction)."""

    values: tuple

    def __contains__(self, x) -> bool:
        return x in self.values

    def __str__(self) -> str:
        return "{" + ", ".join(repr(v) for v in self.values) + "}"


@dataclass(frozen=True)
class Integers:
    """The integers from ``lo`` on (a neighbour count ``k``, a history length); the bound an estimator's sample
    size puts on it is checked where the samples are known."""

    lo: int = 0

    def __contains__(self, x) -> bool:
        return isinstance(x, int) and x >= self.lo

    def __str__(self) -> str:
        return f"integers >= {self.lo}"


@dataclass(frozen=True)
class ArrayArg:
    """An array argument; ``description`` states its shape and domain in words (used by the docs).

    ``kind`` tells the generic input strategies what to draw (:mod:`refloss._cases`): ``"logits"``
    (the class axis last, ``-inf`` masks allowed), ``"class_targets"`` (indices of unmasked classes),
    ``"class_weights"`` (None or one non-negative weight per class), ``"signed_class_weights"`` (None or one
    real weight per class, negative allowed), or ``""`` for an argument that only an entry's own strategy knows
    how to draw.
    """

    description: str
    kind: str = ""
    #: The object is defined on the extended reals here: rows with no unmasked class (all -inf, no class at all) and
    #: +inf entries are in the domain (the log-sum-exp of the empty sum is -inf, of a sum holding e^(+inf) +inf).
    extended_reals: bool = False
    #: The last axis is the class axis (when the array has the first argument's number of axes): ``axis=`` moves it
    #: (:mod:`refloss._options`). ``"broadcast"``: an array with fewer axes is first broadcast to the first
    #: argument's shape (SciPy's ``b``).
    class_axis: bool | str = False

    def __str__(self) -> str:
        return self.description


LOGITS = ArrayArg("float logits (..., C), class axis last (or at axis); -inf masks a class", "logits", class_axis=True)
CLASS_TARGETS = ArrayArg("int class indices of shape logits.shape[:-1], each in [0, C)", "class_targets")
CLASS_WEIGHTS = ArrayArg("None or non-negative per-class weights, shape (C,)", "class_weights")
SIGNED_CLASS_WEIGHTS = ArrayArg("None or real per-class weights, shape (C,); negative weights allowed",
                                "signed_class_weights")


SAMPLES = ArrayArg("float samples (N, d), one point per row; (N,) is N points in one dimension", "samples")


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


REDUCTIONS = Choice(("mean", "sum", "none"))
NONNEGATIVE = Interval(0.0)
UNIT_INTERVAL = Interval(0.0, 1.0)


def choice(value, domain: Choice, name: str):
    """Return ``value`` if it is one of ``domain.values`` (an array is never one: its truth is ambiguous)."""
    if isinstance(value, np.ndarray) or not isinstance(value, Hashable) or value not in domain:
        raise RefLossError(f"{name} must be one of {domain}, got {value!r}")
    return value


def _is_complex(value) -> bool:
    try:
        return bool(np.iscomplexobj(value))
    except Exception:  # noqa: BLE001 - an object NumPy cannot look into is not a complex number either
        return False


def scalar(value, domain: Interval, name: str) -> float:
    """Return ``value`` as a float after checking that it is a real number in ``domain``.

    Accepted: Python and NumPy reals, 0-d real arrays, and other frameworks' scalars (anything with
    ``__float__``, e.g. a 0-d tensor). Refused with a :class:`RefLossError` naming the argument: bools,
    strings, complex numbers (also with a zero imaginary part), arrays of more than one element, NaN,
    integers beyond the float64 range, and values outside ``domain``.
    """
    bad = isinstance(value, (bool, np.bool_, str, bytes)) or _is_complex(value)
    if isinstance(value, np.ndarray):
        bad = bad or value.ndim != 0 or value.dtype.kind not in "iuf"
        value = value[()] if not bad else value
    if bad or not hasattr(value, "__float__"):
        raise RefLossError(f"{name} must be a real number, got {value!r}")
    try:
        x = float(value)
    except OverflowError:
        raise RefLossError(f"{name} is too large for float64: {value!r}") from None
    except (TypeError, ValueError):
        raise RefLossError(f"{name} must be a real number, got {value!r}") from None
    if math.isnan(x) or x not in domain:
        raise RefLossError(f"{name} must lie in {domain}, got {value!r}")
    return x


def integer(value, name: str) -> int:
    """Return ``value`` as an int: a Python or NumPy integer, a 0-d integer array, or any object with
    ``__index__`` (a 0-d integer tensor); not a bool, not a float."""
    if isinstance(value, (bool, np.bool_)):
        raise RefLossError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in "iu":
            raise RefLossError(f"{name} must be an integer, got {value!r}")
        return int(value)
    try:
        return operator.index(value)
    except TypeError:
        raise RefLossError(f"{name} must be an integer, got {value!r}") from None


def integer_in(value, domain: Integers, name: str) -> int:
    """Return ``value`` as an int after checking that it is an integer in ``domain``."""
    k = integer(value, name)
    if k not in domain:
        raise RefLossError(f"{name} must be one of the {domain}, got {value!r}")
    return k


def samples(x, name: str, *, at_least: int = 1) -> np.ndarray:
    """Samples of a continuous variable as a float64 ``(N, d)`` array (``(N,)`` is read as ``(N, 1)``): finite
    reals, at least one dimension, and at least ``at_least`` points (an estimator with ``k`` neighbours needs
    ``k + 1``)."""
    arr = real_array(x, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise RefLossError(f"{name} must be samples of shape (N, d) or (N,), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise RefLossError(f"{name} has points of dimension 0 (shape {arr.shape})")
    if arr.shape[0] < at_least:
        raise RefLossError(f"{name} has {arr.shape[0]} points; this estimator needs at least {at_least}")
    return arr


def as_array(x, name: str) -> np.ndarray:
    """``np.asarray(x)``, with a :class:`RefLossError` naming the argument where NumPy cannot convert it
    (ragged nested lists and the like)."""
    try:
        return np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - NumPy raises ValueError or TypeError, with its own wording
        raise RefLossError(f"{name} could not be converted to an array: {exc}") from None


def real_array(x, name: str, *, allow_neg_inf: bool = False) -> np.ndarray:
    """Convert to a float64 array; reject NaN, +inf, and -inf unless ``allow_neg_inf``."""
    arr = _float64(x, name)
    if arr.size:
        _check_extremes(arr.max(), arr.min() if not allow_neg_inf else 0.0, name)
    return arr


def _float64(x, name: str) -> np.ndarray:
    arr = as_array(x, name)
    if arr.dtype.kind not in "biuf":
        raise RefLossError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _check_extremes(maxima, minima, name: str) -> None:
    """NaN and +inf read from maxima (a maximum over numbers that hold a NaN is NaN), -inf from minima: reductions
    that read a batch of logits once, where ``isnan(x).any()`` would first build a mask of its size."""
    if np.isnan(maxima).any():
        raise RefLossError(f"{name} contains NaN")
    if np.isposinf(maxima).any():
        raise RefLossError(f"{name} contains +inf")
    if np.isneginf(minima).any():
        raise RefLossError(f"{name} contains -inf")


def logits(x, name: str = "logits", *, extended_reals: bool = False) -> np.ndarray:
    """Logits with the class axis last: at least 1-D, -inf allowed as a mask; an empty batch (no rows) is valid.

    A row with no unmasked class (all -inf, or no class at all) has no softmax and is rejected, and so is +inf,
    unless ``extended_reals`` (an object defined there: the log-sum-exp, -inf for the empty sum and +inf for a sum
    holding e^(+inf)).
    """
    arr = _float64(x, name)
    if arr.ndim == 0:
        real_array(arr, name)  # a NaN or inf scalar is named as such first
        raise RefLossError(f"{name} must have at least one axis (the class axis, last), got a scalar")
    if arr.shape[-1] == 0 and not extended_reals:
        raise RefLossError(f"{name} has no classes (shape {arr.shape}): a distribution over no classes does not "
                           "exist")
    if arr.size == 0:
        return arr
    row_maxima = arr.max(axis=-1)
    if not extended_reals and not np.isnan(row_maxima).any() and np.isposinf(row_maxima).any():
        raise RefLossError(f"{name} contains +inf: the softmax of a row holding it is e^(+inf) / e^(+inf), "
                           "undefined")
    _check_extremes(np.where(np.isposinf(row_maxima), 0.0, row_maxima), 0.0, name)
    if not extended_reals and np.isneginf(row_maxima).any():
        raise RefLossError(f"{name} has a row whose entries are all -inf: its softmax is undefined")
    return arr


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise RefLossError(f"{name_b} must have the shape of {name_a} {a.shape}, got {b.shape}")


def class_targets(target, logits_shape: tuple, ignore_index: int | None, name: str = "target") -> np.ndarray:
    """Integer class indices of shape ``logits_shape[:-1]``, each in ``[0, C)`` or equal to ``ignore_index``."""
    arr = as_array(target, name)
    if arr.dtype.kind not in "iu":
        raise RefLossError(
            f"{name} must be integer class indices of shape {logits_shape[:-1]} "
            f"or probabilities of shape {logits_shape}; got dtype {arr.dtype} and shape {arr.shape}"
        )
    if arr.shape != logits_shape[:-1]:
        raise RefLossError(
            f"{name} holds class indices, so its shape must be logits.shape[:-1] = {logits_shape[:-1]}, "
            f"got {arr.shape}"
        )
    n_classes = logits_shape[-1]
    valid = arr != ignore_index if ignore_index is not None else np.ones(arr.shape, dtype=bool)
    bad = valid & ((arr < 0) | (arr >= n_classes))
    if bad.any():
        raise RefLossError(
            f"{name} has class index {arr[bad].flat[0]} out of range [0, {n_classes})"
            + (f" (and not ignore_index={ignore_index})" if ignore_index is not None else "")
        )
    return arr.astype(np.intp)


def real_targets(x, shape: tuple, name: str = "target") -> np.ndarray:
    """Targets of the logits' shape with any finite real entries: probability targets of a softmax loss (rows
    need not sum to 1, entries may be negative: -sum_c t_c log p_c is defined for every real t) or the labels of
    an elementwise loss outside [0, 1] (binary cross-entropy is linear in its label)."""
    arr = real_array(x, name)
    if arr.shape != shape:
        raise RefLossError(f"{name} must have the shape of logits {shape}, got {arr.shape}")
    return arr


def unit_interval_array(x, shape: tuple, name: str) -> np.ndarray:
    """Elementwise targets in [0, 1] (binary or soft labels) of the given shape, for a loss that is not defined
    outside (the focal factor (1 - p_t)^gamma of :func:`refloss.sigmoid_focal_loss`)."""
    arr = real_targets(x, shape, name)
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise RefLossError(f"{name} entries must lie in [0, 1]")
    return arr


def nonnegative_weights(w, name: str, broadcast_to: tuple | None = None, length: int | None = None) -> np.ndarray:
    """Finite non-negative weights: a vector of ``length`` entries, or an array that broadcasts to a shape."""
    arr = real_weights(w, name, broadcast_to, length)
    if arr.size and arr.min() < 0:
        raise RefLossError(f"{name} must be non-negative")
    return arr


def real_weights(w, name: str, broadcast_to: tuple | None = None, length: int | None = None) -> np.ndarray:
    """Finite weights of either sign (PyTorch accepts negative class weights, ``weight`` and ``pos_weight``): a
    vector of ``length`` entries, or an array that broadcasts to a shape."""
    arr = real_array(w, name)
    if length is not None and arr.shape != (length,):
        raise RefLossError(f"{name} must have shape ({length},) (one entry per class), got {arr.shape}")
    if broadcast_to is not None:
        try:
            arr = np.broadcast_to(arr, broadcast_to)
        except ValueError:
            raise RefLossError(f"{name} of shape {arr.shape} does not broadcast to {broadcast_to}") from None
    return arr
