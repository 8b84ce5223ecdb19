"""Views: how a definition sees its inputs, so that one row function yields the formula, the proof and the oracle.

A definition is a SymPy function of one *row* (a row of logits and its target, or one binary logit and its
label), seen through a view:

* :class:`GenericRow` (symbolic class count ``C``, ``z_j``, ``p_j``, ``y``): the formula a reader sees;
* :class:`Row` of concrete symbols: the expressions the symbolic proofs differentiate;
* :class:`Row` of the symbols of an actual input (``-inf`` entries as ``-oo``, from :func:`symbolize`): the
  expressions the oracle evaluates (:mod:`refloss.proofs._oracle`).

:func:`rows`, :func:`elementwise` and :func:`reduce` build a case's outputs from row functions. An object of
another shape (samples, critic matrices, covariance matrices, per-token sequences) adds its view here, beside
these, and its definitions build from it the same way.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import sympy as sp

from ._arb import UNDEFINED


class Row:
    """One concrete row of logits ``z`` (SymPy symbols, numbers, or ``-oo`` for a masked class).

    ``y`` is the target class (an int) or ``None``; ``extra`` holds per-class arrays of the same row
    (weights, probability targets) as lists. Masked classes have ``p_j = 0`` and ``log p_j = -oo``;
    :meth:`sum` applies the convention 0 log 0 = 0 (a term that SymPy evaluates to NaN, which only
    ``0 * -oo`` produces, is dropped).
    """

    def __init__(self, z, y=None, **extra):
        self._z = list(z)
        self.y = y
        self.C = len(self._z)
        self.classes = range(self.C)
        self._denominator = sp.Add(*[sp.exp(v) for v in self._z])
        self.extra = extra

    def z(self, j):
        return self._z[j]

    def lse(self):
        return sp.log(self._denominator)

    def p(self, j):
        return sp.exp(self._z[j]) / self._denominator

    def log_p(self, j):
        return self._z[j] - sp.log(self._denominator) if self._z[j] != -sp.oo else -sp.oo

    def sum(self, term: Callable):
        return sp.Add(*[t for t in (sp.sympify(term(j)) for j in self.classes) if t is not sp.nan])

    def delta(self, i, j):
        return sp.S.One if i == j else sp.S.Zero

    def __getattr__(self, name):  # per-class arrays: row.w(j), row.t(j)
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return lambda j: extra[name][j]
        raise AttributeError(name)


class GenericRow:
    """The row a reader sees: ``C`` classes, logits ``z_j``, probabilities ``p_j``, target ``y``."""

    def __init__(self, *extra: str, y: bool = True):
        self.C = sp.Symbol("C", positive=True, integer=True)
        self.y = sp.Symbol("y", integer=True) if y else None
        self._z, self._p = sp.IndexedBase("z"), sp.IndexedBase("p")
        self._extra = {name: sp.IndexedBase(name) for name in extra}

    def z(self, j):
        return self._z[j]

    def lse(self):
        c = sp.Symbol("c", integer=True)
        return sp.log(sp.Sum(sp.exp(self._z[c]), (c, 1, self.C)))

    def p(self, j):
        return self._p[j]

    def log_p(self, j):
        return sp.log(self._p[j])

    def sum(self, term: Callable):
        c = _free_index(term)
        return sp.Sum(term(c), (c, 1, self.C))

    def delta(self, i, j):
        return sp.KroneckerDelta(i, j)

    def __getattr__(self, name):
        extra = self.__dict__.get("_extra", {})
        if name in extra:
            return lambda j: extra[name][j]
        raise AttributeError(name)


def _free_index(term: Callable) -> sp.Symbol:
    """The summation index a reader sees: ``c``, or the next free letter when the term already uses ``c``
    (a parameter named c), so that the displayed sum never captures a parameter."""
    probe = sp.Dummy("index", integer=True)
    taken = {getattr(s, "name", str(s)) for s in sp.sympify(term(probe)).free_symbols if s != probe}
    return sp.Symbol(next(n for n in ("c", "k", "m", "n", "i") if n not in taken | {"C", "j", "y"}), integer=True)


class BinaryRow:
    """One element of an elementwise binary loss: logit ``x`` and label ``y`` (and weights).

    ``generic=True`` is the element a reader sees: ``sigma(x)`` stays the named function.
    """

    def __init__(self, x, y, generic: bool = False, **extra):
        self.x, self.y, self.generic, self.extra = x, y, generic, extra

    def sigma(self, v):
        return sp.Function("sigma")(v) if self.generic else sigmoid(v)

    def __getattr__(self, name):
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(name)


def sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def _is_float_array(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype.kind == "f"


def symbolize(case: dict, wrt: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """Replace every floating-point input of ``case`` by SymPy symbols; return (symbolic case, point).

    Float arrays become object arrays of symbols named ``arg[i,j]`` (``-inf`` entries become the constant
    ``-oo``); a finite float scalar that is not differentiated (a parameter: gamma, tau, a temperature)
    becomes its exact value as a SymPy rational, so that a definition's branch on it (tau = 1) is decided
    exactly when the expression is built (+inf, a parameter at a limit its domain includes, becomes ``oo``);
    integers, strings and ``None`` stay as they are. ``point`` maps each symbol to its float64 value, which a ball
    represents exactly. Inputs that are exactly 0 and
    not differentiated (a smoothing of 0, a zero target probability) become the constant 0, so that
    0 * log 0 = 0 is decided when the expression is built; this changes neither the value nor the
    condition scale, to which an input contributes ``|x| |d out / d x| = 0``.
    """
    sym, point = {}, {}
    for name, value in case.items():
        if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
            if name not in wrt and math.isfinite(value):
                sym[name] = sp.Rational(*float(value).as_integer_ratio())
            elif name not in wrt and value == math.inf:  # a parameter at its limit (Renyi's alpha = inf)
                sym[name] = sp.oo
            else:
                s = sp.Symbol(name, real=True)
                sym[name], point[s] = s, float(value)
        elif _is_float_array(value) or (isinstance(value, list) and np.asarray(value).dtype.kind == "f"):
            arr = np.asarray(value, dtype=np.float64)
            out = np.empty(arr.shape, dtype=object)
            for index in np.ndindex(*arr.shape):
                if arr[index] == -math.inf:
                    out[index] = -sp.oo
                elif arr[index] == 0 and name not in wrt:
                    out[index] = sp.S.Zero
                else:
                    s = sp.Symbol(f"{name}[{','.join(map(str, index))}]", real=True)
                    out[index], point[s] = s, float(arr[index])
            sym[name] = out
        else:
            sym[name] = value
    return sym, point


def rows(case: dict, row_fn: Callable, *, logits: str = "logits", target: str | None = "target",
         per_class: tuple[str, ...] = (), params: tuple[str, ...] = ()) -> np.ndarray:
    """Apply ``row_fn(Row, **params)`` to every row of ``case[logits]``: the losses, shape ``batch``."""
    z = case[logits]
    batch = z.shape[:-1]
    out = np.empty(batch, dtype=object)
    for index in np.ndindex(*batch):
        y = None if target is None else int(np.asarray(case[target])[index])
        extra = {name: list(np.broadcast_to(case[name], z.shape)[index]) for name in per_class
                 if case.get(name) is not None}
        out[index] = row_fn(Row(z[index], y, **extra), **{p: case[p] for p in params})
    return out


def elementwise(case: dict, element_fn: Callable, *, arrays: tuple[str, ...] = (),
                params: tuple[str, ...] = ()) -> np.ndarray:
    """Apply ``element_fn(BinaryRow, **params)`` to every element of ``case["logits"]``."""
    x = case["logits"]
    y = np.broadcast_to(case["target"], x.shape)
    extra = {name: np.broadcast_to(case[name], x.shape) for name in arrays if case.get(name) is not None}
    out = np.empty(x.shape, dtype=object)
    for index in np.ndindex(*x.shape):
        out[index] = element_fn(BinaryRow(x[index], y[index], **{k: v[index] for k, v in extra.items()}),
                                **{p: case[p] for p in params})
    return out


def reduce(losses: np.ndarray, reduction: str, denominator=None) -> np.ndarray:
    """The reduced output as an object array: the losses ("none"), their sum, or sum / denominator
    (default: the number of losses). A mean over a denominator that is exactly 0 (every target ignored, or
    weighted 0) is :data:`UNDEFINED`: NaN, as PyTorch returns 0/0, with the gradient 0 of the sum it divides,
    which is identically 0 there."""
    if reduction == "none":
        return losses
    total = sp.Add(*losses.flat)
    if reduction == "mean":
        denominator = losses.size if denominator is None else denominator
        total = UNDEFINED if denominator == 0 else total / denominator
    out = np.empty((), dtype=object)
    out[()] = total
    return out


def weighted(losses: np.ndarray, weights, reduction: str) -> np.ndarray:
    """scikit-learn's weighted reduction of per-element losses (refloss's ``sample_weight``): s l ("none"),
    sum(s l) ("sum"), sum(s l) / sum(s) ("mean"; :data:`UNDEFINED` where every weight is exactly 0, as
    :func:`reduce`)."""
    s = np.broadcast_to(np.asarray(weights, dtype=object), losses.shape)
    terms = np.empty(losses.shape, dtype=object)
    for index in np.ndindex(*losses.shape):
        terms[index] = s[index] * losses[index]
    if reduction == "none":
        return terms
    total = sp.Add(*terms.flat)
    if reduction == "mean":
        denominator = sp.Add(*s.flat)
        total = UNDEFINED if denominator == 0 else total / denominator
    out = np.empty((), dtype=object)
    out[()] = total
    return out


def symbol_array(name: str, shape: tuple[int, ...], **assumptions) -> np.ndarray:
    """An object array of SymPy symbols ``name_i_j...``, one per entry of an input of that shape."""
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = sp.Symbol("_".join([name, *map(str, index)]), **assumptions)
    return out


def logit_symbols(n: int, name: str = "z"):
    return list(sp.symbols(f"{name}0:{n}", real=True))
