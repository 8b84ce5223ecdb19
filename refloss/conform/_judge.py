"""The judge: a peer function, refloss and the 50-digit oracle, case by case, and one verdict per function.

A *case* is one input in refloss's conventions with the oracle's answer beside it: a stored golden case
(:mod:`refloss.golden`) or an input drawn from the entry's own hypothesis strategy and evaluated by the
oracle (:func:`refloss.testing.reference`). Every comparison uses the one tolerance policy
(:mod:`refloss.tolerance`): an element agrees when it is within the entry's ulps of ``max(|exact| + s, tiny)``.

A case that does not agree is classified, per element:

* **convention**: a declared :class:`Convention` applies to the case, and either its mapping turns the
  peer's answer into refloss's convention and they then agree, or the peer agrees with the answer its own
  convention prescribes (``answer``), or the convention has neither (the peer's answer is undefined there
  by its own rule, e.g. ``0 * -inf = nan``) and the peer's answer is indeed NaN at every element that
  differs. A convention cannot excuse a wrong finite number.
* **peer loses precision**: the error is small next to the terms the result is made of,
  ``|got - exact| <= 1e-8 max(1, |exact| + s, max |x|)`` with ``max |x|`` the largest finite float input of the
  case (``log p = z - lse`` cancels terms of that size), or the peer returns NaN or an infinity where the exact
  result is finite (an intermediate over- or underflowed; the gradient of such a value is not judged on its
  own). The verdict quotes how many correct digits are left.
* **mismatch**: anything else, or the peer raised; also when refloss itself is off the oracle.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import tolerance
from .._registry import Entry, get
from .._validate import RefLossError, RefLossWarning
from ..golden.dataset import GoldenCase, same_inputs
from ..golden.dataset import load as load_golden

VERDICTS = ("agree", "convention", "peer loses precision", "mismatch", "unavailable")

#: An error below this fraction of the terms' magnitude is lost precision, not a different formula.
PRECISION_FRACTION = 1e-8


@dataclass(frozen=True)
class Output:
    """A result in refloss's conventions: the value and ``{input name: gradient}`` (empty without autodiff)."""

    value: np.ndarray
    grads: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Convention:
    """A declared, documented difference between a peer and refloss.

    ``applies(case)`` says whether the case falls under it. Then, either ``mapping(case, output)`` turns the
    peer's output into refloss's convention (a reduction's denominator, a factor); or ``answer(case)`` is what
    the peer's convention gives instead of the exact result (a clipped probability), computed from refloss's
    float64 functions, and the peer is judged against that; or neither exists because the peer's answer is
    undefined (NaN) there by its own convention, which is then what must be observed.
    """

    key: str
    explanation: str
    applies: Callable[[dict], bool]
    mapping: Callable[[dict, Output], Output] | None = None
    answer: Callable[[dict], Output] | None = None


def _everything(case: dict) -> dict:
    return case


@dataclass(frozen=True)
class PeerFunction:
    """One of a framework's own functions, adapted to refloss's conventions.

    ``call(case)`` runs the peer on a case given in refloss's conventions and returns an :class:`Output` in
    refloss's layout; every mapping between the two APIs (class axis, reduction, one-hot labels, argument
    order) lives there, written once. ``prepare(case)`` returns the case restricted to what the peer's API
    can express (or None: not expressible, counted as skipped). ``oracle_map`` turns the entry's exact
    value and condition scale into what the peer computes (softmax from log-softmax, bits from nats).
    ``unavailable`` is the reason the function cannot run here (shown in its row, never skipped silently).
    ``options``: the options of ``refloss._options`` (``axis``, ``where``, ``sample_weight``) that ``call`` passes
    to the framework's own argument; a case that uses another one is not expressible (skipped, and counted).
    """

    framework: str
    name: str
    entry: str
    call: Callable[[dict], Output] | None
    prepare: Callable[[dict], dict | None] = _everything
    conventions: tuple[Convention, ...] = ()
    oracle_map: Callable[[np.ndarray, np.ndarray, dict], tuple[np.ndarray, np.ndarray]] | None = None
    unavailable: str = ""
    options: tuple[str, ...] = ()


@dataclass
class CaseResult:
    verdict: str
    case: GoldenCase
    refloss_ulps: float = 0.0  # refloss's own worst error on the case (the third party of the judgement)
    value_ulps: float = 0.0
    grad_ulps: float = 0.0
    digits: float = 16.0  # correct significant digits of the peer's worst element
    detail: str = ""
    convention: str = ""
    worst: dict | None = None  # the element that decided the verdict: output, index, exact, peer, scale


@dataclass
class Row:
    """One peer function's verdict over all its cases."""

    framework: str
    function: str
    entry: str
    verdict: str
    cases: int = 0
    skipped: int = 0
    refloss_ulps: float = 0.0
    value_ulps: float = 0.0
    grad_ulps: float = 0.0
    digits: float | None = None
    conventions: dict = field(default_factory=dict)  # key -> number of cases it explained
    detail: str = ""
    reproducer: dict | None = None
    probes: dict = field(default_factory=dict)  # probe label -> the peer's answer (see .probes)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        for key in ("refloss_ulps", "value_ulps", "grad_ulps"):
            out[key] = _json_float(getattr(self, key))
        return out


def _json_float(x: float):
    return x if math.isfinite(x) else ("inf" if x > 0 else "nan")


# -- cases -------------------------------------------------------------------------------------------------


def drawn_cases(entry: Entry, count: int) -> list[GoldenCase]:
    """``count`` inputs from the entry's own strategy (half moderate, half extreme logits; small shapes), each
    with the oracle's answer. Derandomized, so one command draws the same inputs on every run; Hypothesis also
    seeds its draws with constants from the local modules loaded, so another program (pytest, an installed
    wheel) may draw others. The golden cases and the probes never vary."""
    from hypothesis import HealthCheck, given, settings

    from .. import _cases

    drawn: list[dict] = []
    with _cases.small_shapes():
        for extreme in (False, True):
            want = count // 2 if extreme else count - count // 2
            if want == 0:
                continue
            store: list[dict] = []

            @settings(max_examples=want, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=_cases.strategy(entry, extreme))
            def collect(case):
                store.append(case)

            collect()
            drawn.extend(store[:want])
    return [oracle_case(f"{entry.name}__drawn_{k}", entry, case) for k, case in enumerate(drawn)]


def oracle_case(case_id: str, entry: Entry, kwargs: dict) -> GoldenCase:
    """``kwargs`` with the oracle's answer (value, gradients, condition scales) rounded to float64."""
    from .._oracle import float64, reference

    ref = reference(entry, kwargs)
    grads = {n: float64(g) for n, g in ref.grads.items()}
    scales = {n: float64(g) for n, g in ref.grad_scales.items()}
    return GoldenCase(case_id, entry.name, kwargs, float64(ref.value), float64(ref.value_scale), grads, scales,
                      {name: list(arr.flat) for name, arr in ref.text.items()}, ref.bits, ref.uncertified())


class CaseBook:
    """Golden and drawn cases per entry, computed once per run and shared by every peer function."""

    def __init__(self, drawn: int):
        self.drawn = drawn
        self._cache: dict[str, list[GoldenCase]] = {}

    def cases(self, entry_name: str) -> list[GoldenCase]:
        if entry_name not in self._cache:
            entry = get(entry_name)
            self._cache[entry_name] = load_golden(entry_name) + drawn_cases(entry, self.drawn)
        return self._cache[entry_name]


def restrict(case: GoldenCase, kwargs: dict) -> GoldenCase:
    """The case with changed inputs: the oracle's answer is recomputed unless the inputs are unchanged."""
    if same_inputs(case.kwargs, kwargs):
        return case
    return oracle_case(case.id.removesuffix("__as_expressed") + "__as_expressed", get(case.name), kwargs)


# -- one case ----------------------------------------------------------------------------------------------


def _input_magnitude(kwargs: dict) -> float:
    biggest = 0.0
    for x in kwargs.values():
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            finite = x[np.isfinite(x)]
            if finite.size:
                biggest = max(biggest, float(np.abs(finite).max()))
        elif isinstance(x, float) and math.isfinite(x):
            biggest = max(biggest, abs(x))
    return biggest


@dataclass
class _Comparison:
    ulps: np.ndarray
    got: np.ndarray
    exact: np.ndarray
    scale: np.ndarray


def _compare(got, exact, scale) -> _Comparison:
    got = np.asarray(got, dtype=np.float64)
    if got.shape != exact.shape:
        raise ValueError(f"an output of shape {got.shape} where refloss's convention has {exact.shape}")
    return _Comparison(tolerance.error_ulps(got, exact, scale), got, exact, np.asarray(scale, dtype=np.float64))


def _outputs(case: GoldenCase, out: Output, oracle_map, kwargs) -> dict[str, _Comparison]:
    """``{"value": ..., "grad <name>": ...}``: each output of ``out`` compared with the oracle."""
    exact, scale = case.value, case.value_scale
    if oracle_map is not None:
        exact, scale = oracle_map(exact, scale, kwargs)
    result = {"value": _compare(out.value, exact, scale)}
    for name, got in out.grads.items():
        if got is None or name not in case.grads:  # the oracle has no gradient where the value is infinite
            continue
        result[f"gradient w.r.t. {name}"] = _compare(got, case.grads[name], case.grad_scales[name])
    return result


def _refloss_output(entry: Entry, kwargs: dict) -> Output:
    from .._oracle import gradient_components

    with warnings.catch_warnings():  # the documented NaN of a mean over zero weight warns; it is judged
        warnings.simplefilter("ignore", RefLossWarning)
        value = np.asarray(entry.fn(**kwargs), dtype=np.float64)
        grads = {}
        if entry.grad is not None:
            try:
                grads = gradient_components(entry, entry.grad(**kwargs))
            except RefLossError:  # undefined where the value is infinite; the oracle has no gradient either
                grads = {}
    return Output(value, grads)


def digits_left(got, exact, scale) -> float:
    """Correct significant digits of the worst element of ``got``: -log10 of |got - exact| over
    ``max(|exact| + s, tiny)``, between 0 and 16 (NaN, or a wrong infinity: 0)."""
    got, exact, scale = (np.asarray(a, dtype=np.float64) for a in (got, exact, scale))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rel = np.abs(got - exact) / np.maximum(np.abs(exact) + scale, tolerance.TINY)
    rel = np.where(got == exact, 0.0, np.where(np.isnan(rel), np.inf, rel))
    worst = float(np.max(rel, initial=0.0))
    return 16.0 if worst == 0 else max(0.0, min(16.0, -math.log10(worst)))


def _digits(comparisons: dict[str, _Comparison]) -> float:
    return min(digits_left(c.got, c.exact, c.scale) for c in comparisons.values())


def _classify(comparisons: dict[str, _Comparison], limit: float, magnitude: float) -> tuple[str, dict | None]:
    """agree / peer loses precision / mismatch, element by element (see the module docstring), and the
    element that decided it (the first mismatching one, else the worst one)."""
    verdict, decisive = "agree", None
    for name, comp in comparisons.items():
        bad = comp.ulps > limit
        if not bad.any():
            continue
        exact_finite = np.isfinite(comp.exact)
        nonfinite = (~np.isfinite(comp.got) | _undefined_rows(comparisons, comp)) & exact_finite
        with np.errstate(invalid="ignore", over="ignore"):  # |exact| + s past the range (logits of 1e308) is inf
            terms = np.maximum.reduce([np.ones_like(comp.exact), np.abs(comp.exact) + comp.scale,
                                       np.full_like(comp.exact, magnitude)])
            small = np.abs(comp.got - comp.exact) <= PRECISION_FRACTION * terms
        wrong = bad & ~((small & exact_finite) | nonfinite)
        if wrong.any():
            return "mismatch", _element(name, comp, wrong)
        verdict = "peer loses precision"
        decisive = decisive or _element(name, comp, bad)
    return verdict, decisive


def _element(name: str, comp: _Comparison, where: np.ndarray) -> dict:
    """The element of ``where`` with the largest error: which output, its index, exact and peer values."""
    ulps = np.where(where, comp.ulps, -1.0)
    index = np.unravel_index(int(np.argmax(ulps)), ulps.shape) if ulps.ndim else ()
    return {"output": name, "index": [int(i) for i in index], "exact": float(comp.exact[index]),
            "peer": float(comp.got[index]), "scale": float(comp.scale[index])}


def _undefined_rows(comparisons: dict[str, _Comparison], comp: _Comparison) -> np.ndarray:
    """Where ``comp`` is the gradient of a peer value that is NaN or infinite (and exact is finite): the
    derivative of a non-number is not judged on its own; the value's error already says what went wrong."""
    value = comparisons["value"]
    undefined = ~np.isfinite(value.got) & np.isfinite(value.exact)
    if comp is value or not undefined.any():
        return np.zeros(comp.got.shape, dtype=bool)
    if undefined.ndim and comp.got.shape[:undefined.ndim] == undefined.shape:
        return np.broadcast_to(undefined.reshape(undefined.shape + (1,) * (comp.got.ndim - undefined.ndim)),
                               comp.got.shape)
    return np.full(comp.got.shape, bool(undefined.any()))


def _nan_where_different(comparisons: dict[str, _Comparison], limit: float) -> bool:
    """The peer's answer is NaN at every element that differs (or is the gradient of a NaN value)."""
    return all((np.isnan(c.got) | _undefined_rows(comparisons, c))[c.ulps > limit].all()
               for c in comparisons.values())


def judge_case(peer: PeerFunction, case: GoldenCase, limit: float | None = None) -> CaseResult:
    """The verdict for one case: the peer against the oracle, with refloss judged alongside (refloss under
    its entry's tolerance; the peer under ``limit`` ulps of the policy if given)."""
    entry = get(peer.entry)
    own_limit = entry.tolerance.ulps
    limit = own_limit if limit is None else limit
    kwargs = case.kwargs
    own = _outputs(case, _refloss_output(entry, kwargs), None, kwargs)
    own_worst = max(float(np.max(c.ulps, initial=0.0)) for c in own.values())
    if own_worst > own_limit:
        return CaseResult("mismatch", case, own_worst, detail=f"refloss itself is {own_worst:.3g} ulps off the oracle",
                          worst=_classify(own, own_limit, 0.0)[1])
    try:
        with np.errstate(all="ignore"):
            out = peer.call(kwargs)
        comparisons = _outputs(case, out, peer.oracle_map, kwargs)
    except Exception as exc:  # noqa: BLE001 - whatever the peer raises is part of the verdict
        return CaseResult("mismatch", case, own_worst, value_ulps=math.inf, digits=0.0,
                          detail=f"the peer raised {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    magnitude = _input_magnitude(kwargs)
    verdict, decisive = _classify(comparisons, limit, magnitude)
    convention = ""
    if verdict != "agree":
        for conv in peer.conventions:
            if not conv.applies(kwargs):
                continue
            if conv.answer is not None:
                conventional = conv.answer(kwargs)
                mapped = {"value": _compare(out.value, np.asarray(conventional.value, dtype=np.float64),
                                            comparisons["value"].scale)}
                mapped.update({k: _compare(out.grads[k], np.asarray(g, dtype=np.float64), comparisons[k].scale)
                               for k, g in conventional.grads.items()})
            elif conv.mapping is not None:
                mapped = _outputs(case, conv.mapping(kwargs, out), peer.oracle_map, kwargs)
            else:
                if _nan_where_different(comparisons, limit):
                    verdict, convention = "convention", conv.key
                    break
                continue
            mapped_verdict, mapped_decisive = _classify(mapped, limit, magnitude)
            if mapped_verdict != "mismatch":
                comparisons, convention, decisive = mapped, conv.key, mapped_decisive
                verdict = "convention" if mapped_verdict == "agree" else mapped_verdict
                break
    value_ulps = float(np.max(comparisons["value"].ulps, initial=0.0))
    grad_ulps = max([float(np.max(c.ulps, initial=0.0)) for k, c in comparisons.items() if k != "value"],
                    default=0.0)
    if verdict == "convention" and not any(c.key == convention and (c.mapping or c.answer)
                                           for c in peer.conventions):
        value_ulps = grad_ulps = 0.0  # the peer's NaN is its declared answer there, not an error to report
    return CaseResult(verdict, case, own_worst, value_ulps, grad_ulps, _digits(comparisons),
                      convention=convention, worst=decisive)


# -- one row -----------------------------------------------------------------------------------------------

_RANK = {"agree": 0, "convention": 1, "peer loses precision": 2, "mismatch": 3}


def jsonable(x):
    if isinstance(x, np.ndarray):
        return [jsonable(v) for v in x.tolist()] if x.ndim else jsonable(x.item())
    if isinstance(x, list):
        return [jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return repr(x)
    return x


def _one_row(entry: Entry, kwargs: dict, index: list[int]) -> dict | None:
    """The inputs of the single row (sample) that holds output element ``index``, batch dimensions kept as 1;
    None when the output is reduced over rows (then no single row carries the error)."""
    if kwargs.get("reduction", "none") != "none" or not entry.params:
        return None
    if kwargs.get("axis", -1) != -1 or kwargs.get("where") is not None:  # the layout of the options: the case as is
        return None
    if getattr(entry.params[0].domain, "kind", "") == "hidden_states":  # a head's rows share its classifier
        return None
    primary = np.asarray(kwargs[entry.params[0].name])
    has_class_axis = getattr(entry.params[0].domain, "kind", "") == "logits"
    full = primary.shape
    batch = full[:-1] if has_class_axis else full
    if not batch or len(index) < len(batch) or all(n == 1 for n in batch):
        return None
    at = [slice(i, i + 1) for i in index[:len(batch)]] + ([slice(None)] if has_class_axis else [])
    out = {}
    for name, a in kwargs.items():
        if not isinstance(a, np.ndarray) or a.ndim == 0:
            out[name] = a
        elif a.dtype.kind in "iu":  # class indices: one per row, aligned with the batch from the left
            out[name] = a[tuple(at[:a.ndim])]
        else:  # per-element or broadcast arrays, aligned from the right (weights per class, pos_weight)
            offset = len(full) - a.ndim
            out[name] = a[tuple(at[offset + j] if a.shape[j] == full[offset + j] and full[offset + j] > 1
                                else slice(None) for j in range(a.ndim))] if offset >= 0 else a
    return out


def minimal(peer: PeerFunction, result: CaseResult, limit: float | None = None) -> CaseResult:
    """The same finding on one row of the case, if one row shows it; else the case itself."""
    if not result.worst:
        return result
    small = _one_row(get(peer.entry), result.case.kwargs, result.worst["index"])
    if small is None:
        return result
    shrunk = judge_case(peer, restrict(result.case, small), limit)
    return shrunk if shrunk.verdict == result.verdict else result


def reproducer(result: CaseResult) -> dict:
    return {"case": result.case.id, "kwargs": {k: jsonable(v) for k, v in result.case.kwargs.items()},
            **(result.worst or {}), "detail": result.detail}


def _with_options(peer: PeerFunction, kwargs: dict) -> dict | None:
    """The case if the peer passes every option it uses to its framework (:attr:`PeerFunction.options`), else
    None."""
    from .._options import DEFAULTS

    used = {name for name, default in DEFAULTS.items() if name in kwargs and not _is_default(kwargs[name], default)}
    return kwargs if used <= set(peer.options) else None


def _is_default(value, default) -> bool:
    if default is None:
        return value is None
    return not isinstance(value, np.ndarray) and value == default


def judge_cases(peer: PeerFunction, book: CaseBook) -> list[CaseResult]:
    """Every case of the peer's entry that its API can express (:attr:`PeerFunction.prepare`), judged."""
    prepared = (None if _with_options(peer, dict(case.kwargs)) is None else peer.prepare(dict(case.kwargs))
                for case in book.cases(peer.entry))
    return [judge_case(peer, restrict(case, kwargs)) for case, kwargs in zip(book.cases(peer.entry), prepared)
            if kwargs is not None]


def judge(peer: PeerFunction, book: CaseBook) -> Row:
    """Every case of the peer's entry, restricted to what the peer's API expresses, judged; one :class:`Row`."""
    start = time.perf_counter()
    row = Row(peer.framework, peer.name, peer.entry, "agree")
    if peer.call is None:
        row.verdict, row.detail = "unavailable", peer.unavailable
        return row
    results = judge_cases(peer, book)
    row.skipped = len(book.cases(peer.entry)) - len(results)
    row.cases = len(results)
    for r in results:
        if r.convention:
            row.conventions[r.convention] = row.conventions.get(r.convention, 0) + 1
    if results:
        # the worst finding; among equals, a named stress point before a drawn input, and the smaller one
        worst = max(results, key=lambda r: (_RANK[r.verdict], -round(r.digits, 1), "__drawn_" not in r.case.id,
                                            -sum(np.size(v) for v in r.case.kwargs.values())))
        row.verdict = worst.verdict
        row.refloss_ulps = max(r.refloss_ulps for r in results)
        row.value_ulps = max(r.value_ulps for r in results)
        row.grad_ulps = max(r.grad_ulps for r in results)
        row.digits = min(r.digits for r in results if r.verdict != "convention") if any(
            r.verdict != "convention" for r in results) else None
        row.detail = worst.detail
        if worst.verdict != "agree":
            row.reproducer = reproducer(minimal(peer, worst))
    row.seconds = time.perf_counter() - start
    return row
