"""Fuzz cases derived from an entry's parameter domains: what every registered object gets without writing it.

* **Bad input** (:func:`bad_cases`): for every parameter, values outside its domain or of the wrong kind (NaN,
  +-inf, complex, bool, strings, ragged or empty arrays, wrong shapes, huge integers, arrays where a scalar
  belongs), each put into an otherwise valid case (the entry's first stress point). The value function and
  the gradient must raise :class:`refloss.RefLossError` naming the parameter.
* **Extreme finite input** (:func:`oracle_cases`): logits up to 1.7e308 in magnitude, rows spanning more than
  the float64 range, subnormals, rows mixing +-1e300, all-but-one -inf, a mean whose sum overflows, huge
  parameters, a target on a masked class. Value and every gradient component must match the 50-digit oracle
  under the tolerance policy (an overflow to inf where the exact value exceeds the float64 range is the
  correctly rounded answer, and the oracle says so).

:mod:`refloss.checks` runs them (``check_bad_input``, ``check_extreme_oracle``); the tests and the audit call
those.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import ArrayArg, Choice, Integers, Interval

NAN, INF = math.nan, math.inf


def _bad_scalars(domain: Interval):
    out = [NAN, "1", True, np.complex64(1.0), 1 + 0j, np.array([0.5, 0.5]), 10**400, None]
    if math.isfinite(domain.lo):
        out.append(domain.lo if domain.lo_open else domain.lo - 1.0)
    else:
        out.append(-INF)
    if not domain.with_inf:
        out.append(domain.hi if (math.isfinite(domain.hi) and domain.hi_open) else
                   domain.hi + 1.0 if math.isfinite(domain.hi) else INF)
    return out


def _bad_arrays(value, kind: str, extended_reals: bool = False):
    """Bad replacements for an array argument whose valid value in the base case is ``value`` (on the extended reals,
    +inf, rows of -inf and no class are valid)."""
    if value is None:
        return []
    arr = np.asarray(value)
    shape = arr.shape
    out = [np.array([[1.0], [1.0, 2.0]], dtype=object), "logits", np.full(shape, 1 + 1j)]
    if arr.dtype.kind == "f":
        out += [np.where(np.arange(arr.size).reshape(shape) == 0, NAN, arr)]
        out += [] if extended_reals else [np.where(np.arange(arr.size).reshape(shape) == 0, INF, arr)]
    if kind == "logits":
        out += [3.0] if extended_reals else [np.zeros((3, 0)), 3.0, np.full(shape, -INF)]
    elif kind == "class_targets":
        out += [arr.astype(np.float64) + 0.5, np.full(shape, 10**6), np.zeros(shape + (2,), dtype=np.int64)]
    elif kind == "class_weights":
        out += [-np.ones(shape), np.ones(shape[0] + 1)]
    elif kind == "pmf":  # a negative probability, no outcome, a scalar
        out += [np.where(np.arange(arr.size).reshape(shape) == 0, -0.5, arr), arr[..., :0], 3.0]
    elif kind == "samples":  # one point has no neighbour; a batch of sample sets is not a sample set
        out += [arr[:1], np.stack([arr, arr]), 3.0]
    elif kind == "covariance":  # not symmetric (never symmetrised), singular, eigenvalues 0 and -1, not square, 1-D
        asymmetric = arr.astype(np.float64)
        asymmetric[0, -1] += 0.5 + abs(asymmetric[0, -1])
        indefinite = np.diag([0.0, -1.0] + [1.0] * max(len(arr) - 2, 0))
        out += [asymmetric, np.ones(arr.shape), indefinite, arr[:, :-1], np.diag(arr)]
    elif arr.dtype.kind == "f" and arr.ndim:
        out += [arr[..., :-1] if arr.shape[-1] > 1 else np.concatenate([arr, arr], axis=-1)]
    return out


def _bad_values(entry, param, base):
    if isinstance(param.domain, Interval):
        return _bad_scalars(param.domain)
    if isinstance(param.domain, Integers):
        return [param.domain.lo - 1, 2.0, 2.5, "2", True, NAN, None, np.array([2, 3])]
    if isinstance(param.domain, Choice):
        return ["bogus", np.array(["mean", "sum"]), 3]
    if param.name == "ignore_index":
        return [1.5, "x", True, np.array([1, 2])]
    if not isinstance(param.domain, ArrayArg):
        return _bad_arrays(base.get(param.name), "")
    return _bad_arrays(base.get(param.name), param.domain.kind, param.domain.extended_reals)


def bad_cases(entry) -> list[tuple[str, str, dict]]:
    """``(case id, parameter, case)``: the entry's first stress point with one argument made bad."""
    base = next(iter(entry.stress_cases().values()))
    out = []
    for param in entry.params:
        for k, bad in enumerate(_bad_values(entry, param, base)):
            if bad is None and param.optional:
                continue  # None is a valid value there (no weights, no alpha weighting, nats)
            out.append((f"{param.name}-{k}", param.name, {**base, param.name: bad}))
    return out + _bad_options(entry, base)


def _bad_options(entry, base: dict) -> list[tuple[str, str, dict]]:
    """The options of :mod:`refloss._options`: an axis out of range or not an integer; weights with NaN or +inf, of a
    shape that does not broadcast, or of both signs summing to 0 under "mean" (no weighted mean exists)."""
    out = []
    if entry.class_axis:
        ndim = np.ndim(base[entry.params[0].name])
        for k, bad in enumerate([ndim, -ndim - 1, 0.5, True, "0", None]):
            out.append((f"axis-{k}", "axis", {**base, "axis": bad}))
        shape = np.shape(base[entry.params[0].name])
        for k, bad in enumerate([np.ones(shape), np.ones(shape[:-1] + (shape[-1] + 1,), dtype=bool), "all"]):
            out.append((f"where-{k}", "where", {**base, "where": bad}))
    if entry.sample_weight:
        shape = (np.shape(base[entry.params[0].name])[:-1] if entry.class_axis
                 else np.shape(base[entry.params[0].name]))
        ones = np.ones(shape)
        cancel = np.zeros(shape)
        if cancel.size >= 2:
            cancel.flat[0], cancel.flat[1] = 1.5, -1.5
        bads = [np.where(np.arange(ones.size).reshape(shape) == 0, NAN, ones),
                np.where(np.arange(ones.size).reshape(shape) == 0, INF, ones), np.ones(ones.size + 3), "w"]
        for k, bad in enumerate(bads):
            out.append((f"sample_weight-{k}", "sample_weight", {**base, "sample_weight": bad}))
        if cancel.size >= 2:
            out.append(("sample_weight-cancel", "sample_weight",
                        {**base, "sample_weight": cancel, "reduction": "mean"}))
    return out


# -- extreme finite inputs ---------------------------------------------------------------------------

EXTREME_ROWS = np.array([
    [1.7e308, -1.7e308, 0.0],  # spans more than the float64 range
    [1e300, -1e300, 5e-324],  # +-1e300 and a subnormal
    [-INF, -INF, 3.0],  # all but one masked
    [5e-324, 0.0, -5e-324],  # subnormal near-tie
])
EXTREME_TARGETS = np.array([1, 1, 2, 0])  # on the far class, on the far class, the only class, a near-tie
EXTREME_X = np.array([1.7e308, -1.7e308, 5e-324, -5e-324, 1e300, -1e300, 0.0, 745.0])
EXTREME_Y = np.array([1.0, 1.0, 0.0, 1.0, 0.5, 0.3, 1.0, 0.0])


# A linear head whose logits e @ c.T reach +-1e308 (products of 1e154), a subnormal and 1e-146.
EXTREME_E = np.array([[1e154, -1e154], [1e-300, 5e-324], [1e150, 3.0]])
EXTREME_C = np.array([[1e154, 0.0], [0.0, 1e154], [-1e154, 1e-154]])

# Rows whose losses are each near 1.7e308: their sum overflows, their mean does not.
MEAN_ROWS = np.array([[0.0, -1.7e308, 1.0], [0.0, -1.7e308, -1.0], [0.0, -1.7e308, 0.5], [0.0, -1.7e308, 2.0]])
MEAN_X = np.array([1.7e308, 1.7e308, 1.6e308])


def _extreme_case(entry, mean=False):
    base = next(iter(entry.stress_cases().values()))
    kinds = {p.name: p.domain for p in entry.params}
    rows = MEAN_ROWS if mean else EXTREME_ROWS
    reduction = {"reduction": "mean" if mean else "none"} if "reduction" in kinds else {}
    if "p_logits" in kinds:
        # the last row: log(p/q) of a class passes 1.8e308 while the divergence (1.7e308) stays finite
        q = rows if mean else np.stack([rows[3], rows[1][::-1], rows[2], rows[0]])
        return {**base, "p_logits": np.zeros_like(rows) if mean else rows, "q_logits": q, **reduction}
    if "c_teacher" in kinds:  # two heads: the student's logits reach +-1e308, the teacher's half of them
        return {**base, "e": EXTREME_E, "c_student": EXTREME_C, "c_teacher": 0.5 * EXTREME_C, "temperature": 1.0,
                **reduction}
    if getattr(kinds.get("e"), "kind", "") == "hidden_states":
        target = np.array([0, 0, 0] if mean else [0, 1, 2])
        return {**base, "e": EXTREME_E, "c": EXTREME_C, "target": target, **reduction}
    if getattr(kinds.get("logits"), "kind", "") == "logits":
        case = {k: v for k, v in base.items() if k not in ("weight", "label_smoothing", "ignore_index")}
        case["logits"] = rows  # (smoothing would put mass on the masked classes: +inf)
        if "target" in kinds:
            case["target"] = np.ones(len(rows), dtype=np.int64) if mean else EXTREME_TARGETS
        return {**case, **reduction}
    x, y = (MEAN_X, np.zeros(len(MEAN_X))) if mean else (EXTREME_X, EXTREME_Y)
    elementwise = {k: v for k, v in base.items() if k not in ("weight", "pos_weight", "log_target")}
    return {**elementwise, entry.params[0].name: x, "target": y, **reduction}

def _huge_parameter_cases(entry) -> dict[str, dict]:
    """gamma = 1e20 (where (1 - p)^gamma rounded 1 - p to 1), tau, epsilon, base: finite math, finite result."""
    base = next(iter(entry.stress_cases().values()))
    return {f"huge_{param.name}_{value:g}": {**base, param.name: value} for param in entry.params
            if isinstance(param.domain, Interval) and not math.isfinite(param.domain.hi) for value in (1e20, 1e300)}


def _masked_target_case(entry) -> dict[str, dict]:
    """A target on a masked class: the oracle decides between +inf (and a gradient that raises) and a finite
    value (comp-sum at tau > 1)."""
    kinds = {p.name: p.domain for p in entry.params}
    base = next(iter(entry.stress_cases().values()))
    if "p_logits" in kinds:  # q masks a class where p's mass is e^-800: +inf, whatever p rounds to
        return {"masked_target": {**base, "p_logits": np.array([[0.0, -800.0, 1.0]]),
                                  "q_logits": np.array([[0.0, -INF, 1.0]])}}
    if getattr(kinds.get("target"), "kind", "") == "class_targets":
        return {"masked_target": {**base, "logits": np.array([[0.0, -INF, 1.0], [2.0, 0.0, -INF]]),
                                  "target": np.array([1, 0])}}
    return {}


def _empty_batch_cases(entry) -> dict[str, dict]:
    """The entry's first stress point with no rows: every per-row array (whose first axis is the batch's) cut to
    length 0. The empty sum is 0, the mean over no element 0/0 = NaN (the convention of a mean over zero weight),
    and unreduced outputs and gradients are empty arrays of the right shape."""
    base = next(iter(entry.stress_cases().values()))
    first = entry.params[0].name
    rows = np.shape(base[first])[0] if np.ndim(base[first]) >= 2 or not entry.class_axis else None
    if not rows:
        return {}
    per_row = {p.name for p in entry.params if isinstance(p.domain, ArrayArg) and p.domain.kind != "class_weights"}
    empty = {k: (v[:0] if k in per_row and isinstance(v, np.ndarray) and v.ndim and v.shape[0] == rows else v)
             for k, v in base.items()}
    if "reduction" not in {p.name for p in entry.params}:
        return {"empty_batch": empty}
    return {f"empty_batch__{r}": {**empty, "reduction": r} for r in ("none", "sum", "mean")}


def oracle_cases(entry) -> dict[str, dict]:
    """Extreme finite inputs for ``entry``, each to be judged by the oracle: logits up to 1.7e308 and rows
    spanning more than the float64 range, a mean whose sum overflows, huge parameters, a masked target; and the
    empty batch. An entry of other inputs (samples) gives its own (:attr:`refloss.Entry.extreme`)."""
    if entry.extreme is not None:
        return dict(entry.extreme())
    out = {"extreme_finite": _extreme_case(entry)}
    if "reduction" in {p.name for p in entry.params}:
        out["mean_whose_sum_overflows"] = _extreme_case(entry, mean=True)
    return {**out, **_huge_parameter_cases(entry), **_masked_target_case(entry), **_empty_batch_cases(entry)}
