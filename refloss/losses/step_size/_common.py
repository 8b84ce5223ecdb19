"""The family's shared parts: the paper, the argument checks, the spread of the directional derivatives."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ... import _validate as v
from ..._registry import Paper, Param

GHOSTS = "P. Sao, Ghosts of Softmax: Complex Singularities That Limit Safe Step Sizes in Cross-Entropy, 2026"


def paper(where: str) -> Paper:
    return Paper("Ghosts of Softmax: Complex Singularities That Limit Safe Step Sizes in Cross-Entropy",
                 arxiv="2603.13552", where=where)


# The class axis is last (no axis= or where= options: a masked class is a -inf logit).
LOGITS = v.ArrayArg("float logits (..., C), class axis last; -inf masks a class", "logits")
DIRECTIONAL = v.ArrayArg("float directional derivatives of the logits along the step direction, a = J v (..., C), "
                         "the shape of logits")
TEMPERATURE = Param("temperature", v.Interval(0.0, lo_open=True), "T: the logits (and a) divided by T")
BATCH = Param("batch", v.Choice((False, True)), "False: one number per row; True: the batch's (its bottleneck row)")

PI = math.pi


def arguments(logits, directional_derivatives, temperature, batch):
    """The checked logits, directional derivatives (finite, the logits' shape), temperature and batch flag."""
    z = v.logits(logits)
    a = v.real_array(directional_derivatives, "directional_derivatives")
    v.same_shape(z, a, "logits", "directional_derivatives")
    return z, a, v.scalar(temperature, TEMPERATURE.domain, "temperature"), v.choice(batch, BATCH.domain, "batch")


class Spread(NamedTuple):
    """Per row: the largest and smallest a_k over the unmasked classes, their classes, and whether each is attained
    once (a row with equal a_k, spread 0, counts as unique: its radius is +inf, with no gradient)."""

    hi: np.ndarray
    lo: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    unique: np.ndarray

    def over(self, numerator) -> np.ndarray:
        """numerator / (hi - lo), +inf where the spread is 0; where hi - lo passes the float64 range, both halved
        (exact: they are far from the subnormals there)."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            full = self.hi - self.lo
            out = np.where(np.isfinite(full), numerator / full, (numerator / 2) / (self.hi / 2 - self.lo / 2))
            return np.where(full == 0, np.inf, out)

    def times(self, factor) -> np.ndarray:
        """factor * (hi - lo), also where hi - lo alone passes the float64 range."""
        with np.errstate(over="ignore"):
            full = self.hi - self.lo
            return np.where(np.isfinite(full), factor * full, 2 * (factor * (self.hi / 2 - self.lo / 2)))


def spread(z: np.ndarray, a: np.ndarray) -> Spread:
    live = np.isfinite(z)
    high, low = np.where(live, a, -np.inf), np.where(live, a, np.inf)
    top, bottom = high.argmax(axis=-1), low.argmin(axis=-1)
    hi = np.take_along_axis(a, top[..., None], -1)[..., 0]
    lo = np.take_along_axis(a, bottom[..., None], -1)[..., 0]
    unique = ((high == hi[..., None]).sum(axis=-1) == 1) & ((low == lo[..., None]).sum(axis=-1) == 1)
    return Spread(hi, lo, top, bottom, unique | (hi == lo))


def bottleneck(values: np.ndarray, largest: bool) -> tuple[int, bool]:
    """The flat index of the batch's bottleneck row (the largest or smallest value) and whether it is unique."""
    flat = values.reshape(-1)
    k = int(flat.argmax() if largest else flat.argmin())
    return k, bool((flat == flat[k]).sum() == 1)


def draws(extreme: bool, **scalars):
    """Hypothesis draws of a batch (or one row) of logits and directional derivatives whose largest and smallest
    unmasked a_k are each at least 1 from the next (a finite difference of step 1e-3 cannot reorder them), with
    the ``scalars`` (name: strategy) and the batch flag (whose rows then have distinct spreads)."""
    from ... import _cases as cases

    st, _ = cases.hyp()

    @st.composite
    def draw(drawn):
        rows, c = drawn(st.integers(1, 3)), drawn(st.integers(2, 5))
        big, gap = (1.7e308, 0.0) if extreme else (10.0, 3.0)
        z = np.array([[drawn(st.floats(-big, big)) for _ in range(c)] for _ in range(rows)])
        a = np.empty((rows, c))
        for r in range(rows):
            if extreme:  # distinct numbers anywhere in the range (no finite difference is taken on these)
                a[r] = drawn(st.lists(st.floats(-big, big), min_size=c, max_size=c, unique=True))
            else:
                steps = np.cumsum([drawn(st.floats(1.0, gap)) for _ in range(c)])
                a[r] = drawn(st.permutations(list(steps + drawn(st.floats(-big, big)))))
        batch = drawn(st.booleans())
        if batch:  # rows scaled by distinct powers of 2 (exact): no two share the bottleneck
            a = a * np.exp2(np.arange(rows) * (-1.0 if extreme else 1.0))[:, None]
        one = drawn(st.booleans())
        case = {"logits": z[0] if one else z, "directional_derivatives": a[0] if one else a, "batch": batch}
        return case | {name: drawn(strategy) for name, strategy in scalars.items()}

    return draw()
