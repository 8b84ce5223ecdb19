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
    """u = e c^T + b as an object array of SymPy expressions: for e (..., D) and c (d_1, ..., d_K, V, D) (K >= 0),
    u[i..., k..., v] = sum_d e[i..., d] c[k..., v, d] + b[k..., v], of shape e.shape[:-1] + c.shape[:-1] (for 2-D
    inputs, (N, V))."""
    u = np.empty(e.shape[:-1] + c.shape[:-1], dtype=object)
    for i in np.ndindex(*e.shape[:-1]):
        for k in np.ndindex(*c.shape[:-1]):
            u[i + k] = sp.Add(*[e[i + (d,)] * c[k + (d,)] for d in range(e.shape[-1])]) + (0 if bias is None else
                                                                                            bias[k])
    return u


def exact_logits(e, c, bias=None) -> np.ndarray:
    """u = e c^T + b of float inputs, exactly, as exact balls (object array of :func:`head_logits`' shape)."""
    e, c = np.asarray(e, dtype=np.float64), np.asarray(c, dtype=np.float64)
    with ctx.workprec(4400):  # products of float64s lie within 2^-2148 .. 2^2048: their sums are exact
        u = np.empty(e.shape[:-1] + c.shape[:-1], dtype=object)
        for i in np.ndindex(*e.shape[:-1]):
            for k in np.ndindex(*c.shape[:-1]):
                terms = [arb(float(x)) * arb(float(y)) for x, y in zip(e[i], c[k])]
                u[i + k] = sum(terms + ([] if bias is None else [arb(float(bias[k]))]), arb(0))
                if not u[i + k].is_exact():
                    raise AssertionError(f"the logit u[{', '.join(map(str, i + k))}] did not come out exact")
    return u


def head_scales(scales, heads) -> dict:
    """The scale each head input gets from the logits' rounding: with S the scale of the logits' gradient G
    under relative perturbations of the logits (``scales``, by logit name), S |c| for e's gradient G c,
    S^T |e| for c's G^T e and the sums of S over rows for b's (over the batch axes of e, each position of a
    classifier (d_1, ..., d_K, V, D) apart). ``heads``: logit name -> (name of its classifier, classifier, hidden
    states, name of its bias or None)."""
    extra = {}
    for logits, (c_name, c, e, b_name) in heads.items():
        absolute = {k: np.vectorize(mpmath.mpf, otypes=[object])(np.abs(np.asarray(a, dtype=np.float64)))
                    for k, a in (("c", c), ("e", e))}
        e_shape, c_shape = absolute["e"].shape, absolute["c"].shape
        s = scales[logits].reshape(int(np.prod(e_shape[:-1])), int(np.prod(c_shape[:-1])))
        e_abs, c_abs = absolute["e"].reshape(-1, e_shape[-1]), absolute["c"].reshape(-1, c_shape[-1])
        extra["e"] = extra.get("e", 0) + s.dot(c_abs).reshape(e_shape)
        extra[c_name] = s.T.dot(e_abs).reshape(c_shape)
        if b_name is not None:
            extra[b_name] = s.sum(axis=0).reshape(c_shape[:-1])
    return extra


def _row_blocks(logits: dict) -> list:
    """One block per row of the logits (every head's; a row is one index of every axis but the last, the classes:
    a row of e, and a position of a classifier per position): a row's loss and gradient involve that row alone."""
    shape = next(iter(logits.values())).shape[:-1]
    blocks = []
    for index in np.ndindex(*shape):
        block = {name: np.zeros(u.shape, dtype=bool) for name, u in logits.items()}
        for mask in block.values():
            mask[index] = True
        blocks.append(block)
    return blocks
