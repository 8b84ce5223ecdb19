"""Registry-driven fuzzing: every entry, bad inputs and extreme finite inputs derived from its parameters.

* **Bad input**: for every parameter, values outside its domain or of the wrong kind (NaN, +-inf, complex,
  bool, strings, ragged or empty arrays, wrong shapes, huge integers, arrays where a scalar belongs), each
  put into an otherwise valid case (the entry's first stress point). The value function and the gradient
  must raise :class:`refloss.RefLossError` naming the parameter.
* **Extreme finite input**: logits up to 1.7e308 in magnitude, rows spanning more than the float64 range,
  subnormals, rows mixing +-1e300, all-but-one -inf. Value and every gradient component must match the
  50-digit oracle under the tolerance policy (an overflow to inf where the exact value exceeds the float64
  range is the correctly rounded answer, and the oracle says so).

The suite runs with RuntimeWarning as an error (pyproject.toml), so no warning escapes either. Every object
registered later gets these checks from its parameter domains, with nothing to write.
"""

import math

import numpy as np
import pytest

import refloss
from refloss import RefLossError, testing
from refloss._validate import ArrayArg, Choice, Interval

ENTRIES = refloss.catalogue()
NAN, INF = math.nan, math.inf


def _bad_scalars(domain: Interval):
    out = [NAN, "1", True, np.complex64(1.0), 1 + 0j, np.array([0.5, 0.5]), 10**400, None]
    if math.isfinite(domain.lo):
        out.append(domain.lo if domain.lo_open else domain.lo - 1.0)
    else:
        out.append(-INF)
    out.append(domain.hi if (math.isfinite(domain.hi) and domain.hi_open) else
               domain.hi + 1.0 if math.isfinite(domain.hi) else INF)
    return out


def _bad_arrays(value, kind: str):
    """Bad replacements for an array argument whose valid value in the base case is ``value``."""
    if value is None:
        return []
    arr = np.asarray(value)
    shape = arr.shape
    out = [np.array([[1.0], [1.0, 2.0]], dtype=object), "logits", np.full(shape, 1 + 1j)]
    if arr.dtype.kind == "f":
        out += [np.where(np.arange(arr.size).reshape(shape) == 0, NAN, arr),
                np.where(np.arange(arr.size).reshape(shape) == 0, INF, arr)]
    if kind == "logits":
        out += [np.zeros((0, 3)), 3.0, np.full(shape, -INF)]
    elif kind == "class_targets":
        out += [arr.astype(np.float64) + 0.5, np.full(shape, 10**6), np.zeros(shape + (2,), dtype=np.int64)]
    elif kind == "class_weights":
        out += [-np.ones(shape), np.ones(shape[0] + 1)]
    elif arr.dtype.kind == "f" and arr.ndim:
        out += [arr[..., :-1] if arr.shape[-1] > 1 else np.concatenate([arr, arr], axis=-1)]
    return out


def _bad_values(entry, param, base):
    if isinstance(param.domain, Interval):
        return _bad_scalars(param.domain)
    if isinstance(param.domain, Choice):
        return ["bogus", np.array(["mean", "sum"]), 3]
    if param.name == "ignore_index":
        return [1.5, "x", True, np.array([1, 2])]
    return _bad_arrays(base.get(param.name), param.domain.kind if isinstance(param.domain, ArrayArg) else "")


def _bad_cases():
    for entry in ENTRIES:
        base = next(iter(entry.stress_cases().values()))
        for param in entry.params:
            for k, bad in enumerate(_bad_values(entry, param, base)):
                if bad is None and param.optional:
                    continue  # None is a valid value there (no weights, no alpha weighting, nats)
                yield pytest.param(entry, param.name, {**base, param.name: bad}, id=f"{entry.name}-{param.name}-{k}")


@pytest.mark.parametrize("entry, name, case", list(_bad_cases()))
def test_bad_input_raises_a_reflosserror_naming_the_argument(entry, name, case):
    for fn in (entry.fn, entry.grad) if entry.grad is not None else (entry.fn,):
        with pytest.raises(RefLossError) as info:
            fn(**case)
        assert name in str(info.value), f"{fn.__name__}: {info.value}"


# -- extreme finite inputs --------------------------------------------------------------------------------

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
    return {**{k: v for k, v in base.items() if k not in ("weight", "pos_weight")}, "logits": x, "target": y,
            **reduction}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_extreme_finite_inputs_match_the_oracle(entry):
    assert testing.oracle_error(entry, _extreme_case(entry)) <= entry.tolerance.ulps


@pytest.mark.parametrize("entry", [e for e in ENTRIES if "reduction" in {p.name for p in e.params}],
                         ids=lambda e: e.name)
def test_a_mean_whose_sum_overflows_is_finite_where_the_exact_mean_is(entry):
    assert testing.oracle_error(entry, _extreme_case(entry, mean=True)) <= entry.tolerance.ulps


def _huge_parameter_cases():
    for entry in ENTRIES:
        base = next(iter(entry.stress_cases().values()))
        for param in entry.params:
            if isinstance(param.domain, Interval) and not math.isfinite(param.domain.hi):
                for value in (1e20, 1e300):
                    yield pytest.param(entry, {**base, param.name: value}, id=f"{entry.name}-{param.name}-{value:g}")


@pytest.mark.parametrize("entry, case", list(_huge_parameter_cases()))
def test_huge_parameters_match_the_oracle(entry, case):
    """gamma = 1e20 (where (1 - p)^gamma rounded 1 - p to 1), tau, epsilon, base: finite math, finite result."""
    assert testing.oracle_error(entry, case) <= entry.tolerance.ulps


def _masked_cases():
    for entry in ENTRIES:
        kinds = {p.name: p.domain for p in entry.params}
        base = next(iter(entry.stress_cases().values()))
        if "p_logits" in kinds:  # q masks a class where p's mass is e^-800: +inf, whatever p rounds to
            yield pytest.param(entry, {**base, "p_logits": np.array([[0.0, -800.0, 1.0]]),
                                       "q_logits": np.array([[0.0, -INF, 1.0]])}, id=entry.name)
        elif getattr(kinds.get("target"), "kind", "") == "class_targets":
            yield pytest.param(entry, {**base, "logits": np.array([[0.0, -INF, 1.0], [2.0, 0.0, -INF]]),
                                       "target": np.array([1, 0])}, id=entry.name)


@pytest.mark.parametrize("entry, case", list(_masked_cases()))
def test_a_masked_target_gives_the_exact_value_and_no_gradient_where_it_is_infinite(entry, case):
    """The oracle decides: +inf (and the gradient raises RefLossError) or finite (comp-sum, tau > 1)."""
    assert testing.oracle_error(entry, case) <= entry.tolerance.ulps


def test_scalars_of_other_frameworks_are_accepted():
    class Scalar:  # what a 0-d torch or JAX array offers
        def __init__(self, x):
            self.x = x

        def __float__(self):
            return float(self.x)

        def __index__(self):
            return int(self.x)

    logits, target = [[0.0, 1.0], [2.0, 0.0]], [1, 0]
    assert refloss.focal_loss(logits, target, gamma=Scalar(2.0)) == refloss.focal_loss(logits, target, gamma=2.0)
    assert refloss.cross_entropy(logits, target, ignore_index=Scalar(-100), label_smoothing=np.array(0.1)) == \
        refloss.cross_entropy(logits, target, label_smoothing=0.1)


def test_a_jacobian_too_large_to_hold_is_refused_up_front():
    with pytest.raises(RefLossError, match=r"logits of shape \(1000000,\).*J v"):
        refloss.log_softmax_grad(np.zeros(10**6))
