"""Inputs for the checks: named stress points (NumPy only) and hypothesis strategies.

**Stress points** are the inputs where float64 formulas lose digits: logit gaps of 15 to 80 (where
``log1p``/``expm1`` cancellations live), near-ties and exact ties, ``-inf`` masks, one dominant class, one
class, and parameters at the ends of their domains. An entry declares its own with ``stress=`` (usually
:func:`softmax_stress`); the audit, the tests and the golden data run every one of them, every time.

**Strategies** are derived from an entry's parameter domains by :func:`strategy_for` (logits with masks,
class indices that avoid masked classes, scalars over their intervals with the ends included, every
reduction). An entry whose arguments are constrained beyond their domains (a target that must not sit on a
masked class under label smoothing) passes its own ``strategy=``, built from the draws below.

``extreme=False`` draws moderate logits (|z| <= 20, where central finite differences are accurate);
``extreme=True`` draws logits up to 1e4 in magnitude. Hypothesis is imported lazily, so ``import refloss``
needs only NumPy and SciPy.
"""

from __future__ import annotations

import contextlib
import itertools
import math

import numpy as np

from ._validate import ArrayArg, Choice, Interval

MODERATE = 20.0
EXTREME = 1e4
REDUCTIONS = ("mean", "sum", "none")
NINF = -math.inf

#: Largest batch side and class count the draws use; the oracle checks lower them (:func:`small_shapes`),
#: since a 50-digit evaluation costs per element what float64 costs per array.
LIMITS = {"max_side": 4, "max_classes": 6}


@contextlib.contextmanager
def small_shapes(max_side: int = 2, max_classes: int = 4):
    """Within the block, draws have at most ``max_side`` entries per batch axis and ``max_classes`` classes."""
    saved = dict(LIMITS)
    LIMITS.update(max_side=max_side, max_classes=max_classes)
    try:
        yield
    finally:
        LIMITS.update(saved)

# -- stress points ---------------------------------------------------------------------------------------

#: Rows of three logits with a dominant class 0 and gaps where 1 - p_0 = e^-g needs expm1 / log1p.
GAP_ROWS = np.array([[g, 0.0, -3.0] for g in (15.0, 20.0, 30.0, 36.0, 40.0, 60.0, 80.0)])
TIE_ROWS = np.array([[0.0, 0.0, 0.0], [1e-9, 0.0, 0.0], [5.0, 5.0, 5.0], [0.0, 1e-12, -1e-12]])
MASKED_ROWS = np.array([[0.0, NINF, 2.0], [NINF, 1.0, NINF], [30.0, NINF, 0.0]])
DOMINANT_ROWS = np.array([[50.0, 0.0, 0.0], [0.0, -25.0, -25.0], [-3.0, 12.0, 11.5]])


def _rows_case(logits, target, reduction="none", **params) -> dict:
    case = {"logits": np.array(logits, dtype=np.float64), **params}
    if reduction is not None:
        case["reduction"] = reduction
    if target is not None:
        case["target"] = np.array(target, dtype=np.int64)
    return case


def value_label(v: float) -> str:
    """A parameter value as it appears in a case id: ``%g`` where that names it exactly, else its ``repr``
    (``1 + 2**-40`` must not be named ``1``, or its case would overwrite the case of 1)."""
    short = f"{v:g}"
    return short if float(short) == v else repr(float(v))


def softmax_stress(*, targets: bool = True, reduction: bool = True, through=None, **param_values) -> dict[str, dict]:
    """Named stress cases for an object of logits (and class targets): every row family above, with the
    target on the dominant class and off it, for every combination of the given parameter values.

    ``param_values`` maps a parameter to the values to cover (its domain's ends among them), e.g.
    ``tau=(0.0, 1.0, 2.0)``; the first value of each is used for the reduction cases. ``targets=False``:
    the object takes logits only; ``reduction=False``: it has no ``reduction`` argument. An object with
    parameters also gets the case ``defaults``, which gives none of them: the oracle then takes the
    definition's defaults (the paper's) and the function its signature's, so a wrong default shows.

    ``through(rows, target, **params) -> logits``: for a parameter that enters the logits (a temperature, a
    margin), the inputs whose *effective* logits are the rows above, so that the gaps of 15 to 80 are the
    ones the loss sees (``target`` is None without targets). For a temperature ``T`` applied as ``z / T``:

    >>> cases = softmax_stress(targets=False, through=lambda rows, target, T: rows * T, T=(0.5, 4.0))
    >>> cases["gaps__target_dominant__T_4"]["logits"][0], cases["gaps__target_dominant__T_4"]["T"]
    (array([ 60.,   0., -12.]), 4.0)
    """
    base = {
        "gaps__target_dominant": (GAP_ROWS, [0] * len(GAP_ROWS)),
        "gaps__target_second": (GAP_ROWS, [1] * len(GAP_ROWS)),
        "gaps__target_smallest": (GAP_ROWS, [2] * len(GAP_ROWS)),
        "ties": (TIE_ROWS, [0, 1, 2, 0]),
        "masked": (MASKED_ROWS, [2, 1, 0]),
        "dominant": (DOMINANT_ROWS, [1, 0, 2]),
        "one_class": ([[3.0], [-700.0]], [0, 0]),
    }
    names = list(param_values)
    combos = list(itertools.product(*(param_values[n] for n in names))) or [()]
    out = {}
    for combo in combos:
        params = dict(zip(names, (float(v) for v in combo)))
        suffix = "".join(f"__{n}_{value_label(v)}" for n, v in params.items())
        for label, (rows, target) in base.items():
            if label + suffix in out:
                raise ValueError(f"two stress cases are named {label + suffix}")
            target = np.array(target, dtype=np.int64) if targets else None
            logits = np.array(rows, dtype=np.float64)
            if through is not None:
                logits = np.asarray(through(logits, target, **params), dtype=np.float64)
            out[label + suffix] = _rows_case(logits, target, "none" if reduction else None, **params)
    if reduction:
        first = {n: float(v[0]) for n, v in param_values.items()}
        rows = np.vstack([GAP_ROWS[:3], TIE_ROWS[:2]])
        target = np.array([0, 1, 2, 0, 1]) if targets else None
        if through is not None:
            rows = np.asarray(through(rows, target, **first), dtype=np.float64)
        for red in ("mean", "sum"):
            out[f"reduction_{red}"] = _rows_case(rows, target, red, **first)
    if reduction or param_values:
        out["defaults"] = _rows_case(np.vstack([GAP_ROWS[:3], TIE_ROWS[:2]]), [0, 1, 2, 0, 1] if targets else None,
                                     None)
    if not targets:
        for key in [k for k in out if "target_second" in k or "target_smallest" in k]:
            del out[key]
    return out


def _first(entry) -> str:
    return entry.params[0].name


def class_axis_at(entry, case: dict, axis: int) -> dict:
    """``case`` (class axis last) with the class axis of every class-axis argument moved to ``axis``, and
    ``axis=axis``: the same mathematical input in another layout."""
    first = np.asarray(case[_first(entry)])
    out = dict(case, axis=axis)
    if isinstance(case.get("where"), np.ndarray) and case["where"].ndim == first.ndim:
        out["where"] = np.ascontiguousarray(np.moveaxis(case["where"], -1, axis))
    for name, rule, _ in entry.class_axis:
        value = case.get(name)
        if value is None:
            continue
        arr = np.asarray(value)
        if rule == "broadcast" and 0 < arr.ndim < first.ndim:
            arr = np.broadcast_to(arr, first.shape)
        if arr.ndim == first.ndim:
            out[name] = np.ascontiguousarray(np.moveaxis(arr, -1, axis))
    return out


def batch_shape(entry, case: dict) -> tuple:
    """The shape of the ``"none"`` output: the first argument's without its class axis, or its whole shape for an
    elementwise loss (class axis last)."""
    shape = np.shape(case[_first(entry)])
    return shape[:-1] if entry.class_axis else shape


def option_stress(entry, cases: dict) -> dict[str, dict]:
    """Stress points of the options an entry takes (:mod:`refloss._options`), from its own first multi-row stress
    point: the class axis first (``axis=0``), and weights of both signs, all zero, under ``"mean"``."""
    rows = [c for c in cases.values() if np.ndim(c.get(_first(entry))) >= 2 and "axis" not in c]
    out = {}
    if entry.class_axis and rows:
        out["option_axis_0"] = class_axis_at(entry, rows[0], 0)
        out.update(_where_stress(entry, rows[0]))
    if entry.sample_weight and cases:
        base = rows[0] if rows else next(iter(cases.values()))
        shape = batch_shape(entry, base)
        signed = np.resize(np.array([2.0, -0.5, 1.0, 0.0, 3.5, 0.25, -1.0]), shape)
        if signed.sum() <= 0:
            signed.flat[0] = 1.0 - signed.sum() + signed.flat[0]
        out["option_sample_weight_signed__mean"] = {**base, "sample_weight": signed, "reduction": "mean"}
        out["option_sample_weight_signed__none"] = {**base, "sample_weight": signed, "reduction": "none"}
        out["option_sample_weight_all_zero__mean"] = {**base, "sample_weight": np.zeros(shape), "reduction": "mean"}
    return out


def _kept_targets(entry, case: dict, mask: np.ndarray) -> np.ndarray:
    """``mask`` with every row's class target kept (a target left out is a masked target: +inf), for drawn and stress
    masks; a row the mask leaves empty stays empty (its row is left out of a loss)."""
    names = [n for n in entry.row_arrays() if n != _first(entry)]
    for name in names:
        y = np.asarray(case.get(name))
        if y.dtype.kind in "iu" and y.ndim == mask.ndim - 1:
            rows = mask.any(axis=-1)
            hit = np.zeros_like(mask)
            np.put_along_axis(hit, np.clip(y, 0, mask.shape[-1] - 1)[..., None], True, axis=-1)
            mask = mask | (hit & rows[..., None])
    return mask


def _where_stress(entry, base: dict) -> dict[str, dict]:
    """optax's ``where``: a mask that leaves classes out (a row's largest logit among them), and for a loss a row left
    with no class (left out of the loss); a per-row mask, one flag per row."""
    z = np.asarray(base[_first(entry)])
    mask = np.ones(z.shape, dtype=bool)
    mask[..., 0] = False  # the dominant class of the gap rows: what is left has gaps of their own
    mask[..., -1] = np.arange(int(np.prod(z.shape[:-1]))).reshape(z.shape[:-1]) % 2 == 0
    losses = "reduction" in {p.name for p in entry.params}
    if losses and z.shape[0] > 1:
        mask[1] = False
    mask = _kept_targets(entry, base, mask)
    out = {"option_where_classes": {**base, "where": mask}}
    if losses:
        rows = np.arange(int(np.prod(z.shape[:-1]))).reshape(z.shape[:-1]) != 1
        out["option_where_rows__mean"] = {**base, "where": rows, "reduction": "mean"}
        target = np.asarray(base.get("target"))
        if target.dtype.kind in "iu" and target.ndim == z.ndim - 1 and z.ndim == 2:
            # the first row's target left out: a masked target (+inf, and a gradient that raises, or comp-sum's
            # finite value at tau > 1); optax's integer-label loss gives LSE(kept) - z_y there
            left_out = np.ones(z.shape, dtype=bool)
            left_out[0, target[0]] = False
            out["option_where_target_left_out__none"] = {**base, "where": left_out, "reduction": "none"}
    return out


# -- hypothesis strategies -----------------------------------------------------------------------------


def hyp():
    """(hypothesis.strategies, hypothesis.extra.numpy), or a RefLossError naming the extra to install."""
    try:
        import hypothesis.extra.numpy as hnp
        import hypothesis.strategies as st
    except ImportError:  # pragma: no cover - exercised only without the extra
        from ._validate import RefLossError

        raise RefLossError("hypothesis is not installed: pip install 'refloss[audit]'") from None
    return st, hnp


def floats(bound, lo=None):
    st, _ = hyp()
    return st.floats(-bound if lo is None else lo, bound, allow_nan=False, allow_infinity=False)


def draw_logits(draw, extreme, *, masks=True):
    """Logits of shape batch + (C,) and the boolean mask of -inf classes (never a whole row)."""
    st, hnp = hyp()
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=LIMITS["max_side"]))
    n_classes = draw(st.integers(1, LIMITS["max_classes"]))
    shape = batch + (n_classes,)
    z = draw(hnp.arrays(np.float64, shape, elements=floats(EXTREME if extreme else MODERATE)))
    mask = np.zeros(shape, dtype=bool)
    if masks and n_classes > 1 and draw(st.booleans()):
        mask = draw(hnp.arrays(np.bool_, shape))
        mask[..., 0] &= ~mask.all(axis=-1)  # keep one class per row
        z = np.where(mask, NINF, z)
    return z, mask


def signed_floats(lo, hi):
    """Floats whose magnitude lies in [lo, hi], of either sign (weights that PyTorch accepts negative: a magnitude
    bounded below keeps a weighted mean's denominator away from a subnormal)."""
    st, _ = hyp()
    return st.tuples(st.booleans(), st.floats(lo, hi)).map(lambda pair: -pair[1] if pair[0] else pair[1])


def first_unmasked(mask):
    return np.argmax(~mask, axis=-1)


def draw_class_targets(draw, mask):
    """Class indices that never point at a masked class."""
    st, hnp = hyp()
    y = draw(hnp.arrays(np.int64, mask.shape[:-1], elements=st.integers(0, mask.shape[-1] - 1)))
    hits_mask = np.take_along_axis(mask, y[..., None], axis=-1)[..., 0]
    return np.where(hits_mask, first_unmasked(mask), y)


def draw_probabilities(draw, mask):
    """Rows of non-negative numbers summing to 1, zero on masked classes."""
    _, hnp = hyp()
    raw = draw(hnp.arrays(np.float64, mask.shape, elements=floats(1.0, lo=0.0)))
    raw = np.where(mask, 0.0, raw)
    np.put_along_axis(raw, first_unmasked(mask)[..., None], 0.5, axis=-1)  # every row has mass
    return raw / raw.sum(axis=-1, keepdims=True)


def draw_real_targets(draw, mask):
    """Targets of the logits' shape that are not probabilities: real entries of either sign, rows that need not
    sum to 1 (a row of zeros among them), zero on masked classes (where any other target is an infinite loss)."""
    st, hnp = hyp()
    t = draw(hnp.arrays(np.float64, mask.shape, elements=st.sampled_from([0.0, -0.5, 1.7]) | floats(2.0)))
    return np.where(mask, 0.0, t)


def draw_scalar(draw, domain: Interval):
    """A float in ``domain``: its closed ends, simple values, or anything in between (infinite ends capped)."""
    st, _ = hyp()
    lo = domain.lo if math.isfinite(domain.lo) else -10.0
    hi = domain.hi if math.isfinite(domain.hi) else lo + 5.0
    ends = [v for v, is_open in ((domain.lo, domain.lo_open), (domain.hi, domain.hi_open))
            if math.isfinite(v) and not is_open]
    inner = st.floats(lo, hi, exclude_min=domain.lo_open, exclude_max=domain.hi_open)
    return draw(st.sampled_from(ends) | inner if ends else inner)


def strategy_for(entry, extreme=False):
    """A strategy of keyword-argument dicts for ``entry``, derived from its parameter domains."""
    st, hnp = hyp()
    kinds = {p.name: p.domain for p in entry.params}

    @st.composite
    def cases(draw):
        z, mask = draw_logits(draw, extreme)
        case = {"logits": z}
        for name, domain in kinds.items():
            if isinstance(domain, ArrayArg):
                if domain.kind == "class_targets":
                    case[name] = draw_class_targets(draw, mask)
                elif domain.kind == "class_weights":
                    case[name] = draw(st.none() | hnp.arrays(np.float64, z.shape[-1:], elements=st.floats(0.0, 3.0)))
                elif domain.kind == "signed_class_weights":
                    signed = hnp.arrays(np.float64, z.shape[-1:], elements=signed_floats(0.1, 3.0))
                    case[name] = draw(st.none() | signed)
                elif domain.kind != "logits":
                    raise TypeError(f"{entry.name}: no generic strategy for {name} ({domain}); pass strategy=")
            elif isinstance(domain, Interval):
                case[name] = draw_scalar(draw, domain)
            elif isinstance(domain, Choice):
                case[name] = draw(st.sampled_from(domain.values))
        return case

    return cases()


def strategy(entry, extreme=False):
    """The entry's own strategy (:func:`plain_strategy`) with the options the entry takes drawn over it
    (:func:`with_options`)."""
    return with_options(entry, plain_strategy(entry, extreme))


def plain_strategy(entry, extreme=False):
    """The entry's own strategy if it has one, else the one derived from its parameter domains: the class axis
    last, every class, no sample weights (for identities written in that layout)."""
    return entry.strategy(extreme) if entry.strategy is not None else strategy_for(entry, extreme)


def with_options(entry, cases):
    """Cases of ``cases`` that sometimes use the entry's options: positive ``sample_weight`` (one per element of the
    ``"none"`` output; weights that cancel are stress points, where the finite-difference check does not run), and
    the class axis at another place."""
    if not entry.class_axis and not entry.sample_weight:
        return cases
    st, hnp = hyp()

    @st.composite
    def drawn(draw):
        case = draw(cases)
        if entry.sample_weight and "reduction" in case and draw(st.booleans()):
            shape = batch_shape(entry, case)
            case = {**case, "sample_weight": draw(hnp.arrays(np.float64, shape, elements=st.floats(0.125, 4.0)))}
        z = np.asarray(case[_first(entry)])
        # a class left out is masked; label smoothing puts mass on every class, so with it the loss is +inf
        if entry.class_axis and z.ndim >= 1 and not case.get("label_smoothing") and draw(st.booleans()):
            mask = np.array(draw(hnp.arrays(np.bool_, z.shape)))
            if not mask.any():  # one row at least: a mean over no row is the documented NaN, a stress point
                mask.reshape(-1, z.shape[-1])[0, 0] = True
            mask = _kept_targets(entry, case, mask)
            # a row left with no live class (masked, or scaled by b = 0) has no softmax and an empty sum: keep its
            # largest live logit too (a loss's row with no class at all is left out of it, and stays so)
            live = np.isfinite(z)
            for name, rule, _ in entry.class_axis:
                if rule == "broadcast" and case.get(name) is not None:
                    live = live & (np.broadcast_to(case[name], z.shape) != 0)
            keep_top = ~(mask & live).any(axis=-1) & (mask.any(axis=-1) | ("reduction" not in case))
            top = np.zeros_like(mask)
            np.put_along_axis(top, np.argmax(np.where(live, z, -np.inf), axis=-1)[..., None], True, axis=-1)
            mask = mask | (top & keep_top[..., None])
            case = {**case, "where": mask}
        if entry.class_axis and z.ndim >= 2 and draw(st.booleans()):
            case = class_axis_at(entry, case, draw(st.integers(0, z.ndim - 2)))
        return case

    return drawn()
