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
                elif domain.kind != "logits":
                    raise TypeError(f"{entry.name}: no generic strategy for {name} ({domain}); pass strategy=")
            elif isinstance(domain, Interval):
                case[name] = draw_scalar(draw, domain)
            elif isinstance(domain, Choice):
                case[name] = draw(st.sampled_from(domain.values))
        return case

    return cases()


def strategy(entry, extreme=False):
    """The entry's own strategy if it has one, else the one derived from its parameter domains."""
    return entry.strategy(extreme) if entry.strategy is not None else strategy_for(entry, extreme)
