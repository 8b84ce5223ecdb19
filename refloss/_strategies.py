"""Hypothesis strategies that draw valid inputs for each registered object.

Each public function here takes ``extreme`` and returns a strategy of keyword-argument dicts for the
object's value function. ``extreme=False`` draws moderate logits (|z| <= 20, where central finite
differences are accurate); ``extreme=True`` draws logits up to 1e4 in magnitude. Both draw masked
(-inf) classes, single classes, every reduction, and parameters over their whole domains, but only
inputs whose mathematical output is finite (e.g. no target on a masked class).

Hypothesis is imported lazily, so ``import refloss`` needs only NumPy and SciPy.
"""

from __future__ import annotations

import numpy as np

MODERATE = 20.0
EXTREME = 1e4
REDUCTIONS = ("mean", "sum", "none")


def _hyp():
    try:
        import hypothesis.extra.numpy as hnp
        import hypothesis.strategies as st
    except ImportError:  # pragma: no cover - exercised only without the extra
        from ._validate import RefLossError

        raise RefLossError("hypothesis is not installed: pip install 'refloss[audit]'") from None
    return st, hnp


def _floats(bound, lo=None):
    st, _ = _hyp()
    return st.floats(-bound if lo is None else lo, bound, allow_nan=False, allow_infinity=False)


def _draw_logits(draw, extreme, *, masks=True, max_classes=6):
    """Logits of shape batch + (C,) and the boolean mask of -inf classes (never a whole row)."""
    st, hnp = _hyp()
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4))
    n_classes = draw(st.integers(1, max_classes))
    shape = batch + (n_classes,)
    z = draw(hnp.arrays(np.float64, shape, elements=_floats(EXTREME if extreme else MODERATE)))
    mask = np.zeros(shape, dtype=bool)
    if masks and n_classes > 1 and draw(st.booleans()):
        mask = draw(hnp.arrays(np.bool_, shape))
        mask[..., 0] &= ~mask.all(axis=-1)  # keep one class per row
        z = np.where(mask, -np.inf, z)
    return z, mask


def _first_unmasked(mask):
    return np.argmax(~mask, axis=-1)


def _class_targets(draw, mask):
    """Class indices that never point at a masked class."""
    st, hnp = _hyp()
    y = draw(hnp.arrays(np.int64, mask.shape[:-1], elements=st.integers(0, mask.shape[-1] - 1)))
    hits_mask = np.take_along_axis(mask, y[..., None], axis=-1)[..., 0]
    return np.where(hits_mask, _first_unmasked(mask), y)


def _probability_targets(draw, mask):
    """Rows of non-negative numbers summing to 1, zero on masked classes."""
    _, hnp = _hyp()
    raw = draw(hnp.arrays(np.float64, mask.shape, elements=_floats(1.0, lo=0.0)))
    raw = np.where(mask, 0.0, raw)
    np.put_along_axis(raw, _first_unmasked(mask)[..., None], 0.5, axis=-1)  # every row has mass
    return raw / raw.sum(axis=-1, keepdims=True)


def logsumexp(extreme=False):
    st, _ = _hyp()

    @st.composite
    def cases(draw):
        return {"logits": _draw_logits(draw, extreme)[0]}

    return cases()


def softmax_entropy(extreme=False):
    st, _ = _hyp()

    @st.composite
    def cases(draw):
        return {"logits": _draw_logits(draw, extreme)[0], "reduction": draw(st.sampled_from(REDUCTIONS))}

    return cases()


def kl_divergence_logits(extreme=False):
    st, hnp = _hyp()

    @st.composite
    def cases(draw):
        a, mask = _draw_logits(draw, extreme)
        bound = EXTREME if extreme else MODERATE
        b = draw(hnp.arrays(np.float64, a.shape, elements=_floats(bound)))
        # q may be masked only where p is: otherwise KL(p || q) = +inf.
        q_mask = mask & draw(hnp.arrays(np.bool_, a.shape))
        return {"p_logits": a, "q_logits": np.where(q_mask, -np.inf, b),
                "reduction": draw(st.sampled_from(REDUCTIONS))}

    return cases()


def cross_entropy(extreme=False):
    st, hnp = _hyp()

    @st.composite
    def cases(draw):
        z, mask = _draw_logits(draw, extreme)
        n_classes = z.shape[-1]
        reduction = draw(st.sampled_from(REDUCTIONS))
        weight = draw(st.none() | hnp.arrays(np.float64, (n_classes,), elements=st.floats(0.1, 3.0)))
        # Smoothing puts mass on every class, so it is drawn only without masks (else the loss is +inf).
        eps = 0.0 if mask.any() else draw(st.sampled_from([0.0, 0.1, 1.0]) | st.floats(0.0, 1.0))
        case = {"logits": z, "weight": weight, "label_smoothing": eps, "reduction": reduction}
        if draw(st.booleans()):
            return {**case, "target": _probability_targets(draw, mask)}
        y = _class_targets(draw, mask)
        ignore_index = draw(st.sampled_from([-100, -1]) | st.integers(0, n_classes - 1))
        if ignore_index < 0:
            drop = draw(hnp.arrays(np.bool_, y.shape))
            if drop.all():  # keep one target: the all-ignored mean is NaN, tested on its own
                drop.flat[0] = False
            y = np.where(drop, ignore_index, y)
        elif (y == ignore_index).all():
            ignore_index = -100
        return {**case, "target": y, "ignore_index": ignore_index}

    return cases()


def focal_loss(extreme=False):
    st, hnp = _hyp()

    @st.composite
    def cases(draw):
        z, mask = _draw_logits(draw, extreme)
        n_classes = z.shape[-1]
        alpha = draw(st.none() | st.floats(0.0, 2.0)
                     | hnp.arrays(np.float64, (n_classes,), elements=st.floats(0.0, 2.0)))
        return {"logits": z, "target": _class_targets(draw, mask), "alpha": alpha,
                "gamma": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0.0, 5.0)),
                "reduction": draw(st.sampled_from(REDUCTIONS))}

    return cases()


def _binary_case(draw, extreme):
    st, hnp = _hyp()
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    x = draw(hnp.arrays(np.float64, shape, elements=_floats(EXTREME if extreme else MODERATE)))
    y = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0)))
    return x, y, draw(st.sampled_from(REDUCTIONS))


def binary_cross_entropy_with_logits(extreme=False):
    st, hnp = _hyp()

    @st.composite
    def cases(draw):
        x, y, reduction = _binary_case(draw, extreme)
        last = x.shape[-1:] if x.ndim else ()
        weight = draw(st.none() | hnp.arrays(np.float64, x.shape, elements=st.floats(0.0, 3.0)))
        pos_weight = draw(st.none() | hnp.arrays(np.float64, last, elements=st.floats(0.0, 5.0)))
        return {"logits": x, "target": y, "weight": weight, "pos_weight": pos_weight, "reduction": reduction}

    return cases()


def sigmoid_focal_loss(extreme=False):
    st, _ = _hyp()

    @st.composite
    def cases(draw):
        x, y, reduction = _binary_case(draw, extreme)
        return {"logits": x, "target": y, "alpha": draw(st.none() | st.floats(0.0, 1.0)),
                "gamma": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0.0, 5.0)),
                "reduction": reduction}

    return cases()
