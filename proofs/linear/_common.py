"""Shared parts of the family's definitions."""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp
from flint import arb, ctx

EPS = sp.Symbol("varepsilon", nonnegative=True)


TEMP = sp.Symbol("T", positive=True)


LAM = sp.Symbol("lambda", nonnegative=True)


CAP = sp.Symbol("s", positive=True)


UNIT = (0, 1)


class SoftCap(sp.Function):
    """s tanh(u / s) as one function whose derivative SymPy writes sech^2(u / s). The oracle differentiates the
    definition with SymPy; ``tanh``'s own derivative, 1 - tanh^2, would cancel where the cap saturates
    (tanh(73) = 1 - 4e-64), and the oracle would need 64 more digits to see the gradient at all."""

    nargs = 2

    def fdiff(self, argindex=1):
        u, cap = self.args
        if argindex == 1:
            return sp.sech(u / cap) ** 2
        return sp.tanh(u / cap) - u / cap * sp.sech(u / cap) ** 2

    def as_elementary(self):
        """The elementary form the oracle evaluates (proofs/_arb.py)."""
        u, cap = self.args
        return cap * sp.tanh(u / cap)

    def _eval_evalf(self, prec):
        return self.as_elementary()._eval_evalf(prec)


def capped(u, cap):
    """The logit the softmax sees: s tanh(u / s), or u itself without a cap."""
    return u if cap is None else SoftCap(u, cap)


def cap_slope(u, cap):
    """d z / d u of :func:`capped`."""
    return sp.S.One if cap is None else 1 - sp.tanh(u / cap) ** 2


def head_logits(e, c, bias):
    """u = e c^T + b as an object array (N, V) of SymPy expressions."""
    u = np.empty((e.shape[0], c.shape[0]), dtype=object)
    for n in range(e.shape[0]):
        for v in range(c.shape[0]):
            u[n, v] = sp.Add(*[e[n, d] * c[v, d] for d in range(e.shape[1])]) + (0 if bias is None else bias[v])
    return u


def exact_logits(e, c, bias=None) -> np.ndarray:
    """u = e c^T + b of float inputs, exactly, as exact balls (object array (N, V))."""
    e, c = np.asarray(e, dtype=np.float64), np.asarray(c, dtype=np.float64)
    with ctx.workprec(4400):  # products of float64s lie within 2^-2148 .. 2^2048: their sums are exact
        u = np.empty((e.shape[0], c.shape[0]), dtype=object)
        for n, v in np.ndindex(*u.shape):
            terms = [arb(float(x)) * arb(float(y)) for x, y in zip(e[n], c[v])]
            u[n, v] = sum(terms + ([] if bias is None else [arb(float(bias[v]))]), arb(0))
            if not u[n, v].is_exact():
                raise AssertionError(f"the logit u[{n}, {v}] did not come out exact")
    return u


def head_scales(scales, heads) -> dict:
    """The scale each head input gets from the logits' rounding: with S the scale of the logits' gradient G
    under relative perturbations of the logits (``scales``, by logit name), S |c| for e's gradient G c,
    S^T |e| for c's G^T e and the sums of S over rows for b's. ``heads``: logit name -> (name of its
    classifier, classifier, hidden states, name of its bias or None)."""
    extra = {}
    for logits, (c_name, c, e, b_name) in heads.items():
        absolute = {k: np.vectorize(mpmath.mpf, otypes=[object])(np.abs(np.asarray(a, dtype=np.float64)))
                    for k, a in (("c", c), ("e", e))}
        extra["e"] = extra.get("e", 0) + scales[logits].dot(absolute["c"])
        extra[c_name] = scales[logits].T.dot(absolute["e"])
        if b_name is not None:
            extra[b_name] = scales[logits].sum(axis=0)
    return extra


def _row_blocks(logits: dict) -> list:
    """One block per row of the logits (every head's): a row's loss and gradient involve that row alone."""
    rows = next(iter(logits.values())).shape[0]
    blocks = []
    for n in range(rows):
        block = {name: np.zeros(u.shape, dtype=bool) for name, u in logits.items()}
        for mask in block.values():
            mask[n] = True
        blocks.append(block)
    return blocks
