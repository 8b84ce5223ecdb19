"""The linear family's shared parts: a head's inputs and logits, the soft cap, the domains, the stress heads."""

from __future__ import annotations

import numpy as np

from ... import _validate as v
from ..._registry import Paper, Param

POSITIVE = v.Interval(0.0, lo_open=True)


_HIDDEN_STATES = Param("e", v.ArrayArg("float hidden states (N, D)", "hidden_states"))


_CCE = Paper(
    "Cut Your Losses in Large-Vocabulary Language Models",
    arxiv="2411.09009",
    seed="seeds_B.md",
    where="the linear head's cross-entropy without materialised logits; z-loss: PaLM (arXiv:2204.02311), its "
    "training set-up; soft cap: Gemma 2 (arXiv:2408.00118), its architecture; weights / ignore_index / label "
    "smoothing as torch.nn.functional.cross_entropy",
)


def _head_inputs(e, c, bias, c_name: str = "c"):
    """Validated float64 hidden states ``(N, D)``, classifier ``(V, D)`` and bias ``(V,)`` or None."""
    e_arr, c_arr = v.real_array(e, "e"), v.real_array(c, c_name)
    if e_arr.ndim != 2 or e_arr.shape[1] == 0:
        raise v.RefLossError(f"e must be a 2-D array (N, D) of hidden states, D >= 1 (N = 0 is an empty batch), "
                             f"got shape {e_arr.shape}")
    if c_arr.ndim != 2 or 0 in c_arr.shape:
        raise v.RefLossError(f"{c_name} must be a non-empty 2-D array (V, D), one row per class, got shape "
                             f"{c_arr.shape}")
    if c_arr.shape[1] != e_arr.shape[1]:
        raise v.RefLossError(f"{c_name} has {c_arr.shape[1]} features per class but e has {e_arr.shape[1]} per "
                             f"row (shapes {c_arr.shape} and {e_arr.shape})")
    b = None
    if bias is not None:
        b = v.real_array(bias, "bias")
        if b.shape != (c_arr.shape[0],):
            raise v.RefLossError(f"bias must have shape ({c_arr.shape[0]},) (one entry per class), got {b.shape}")
    return e_arr, c_arr, b


def _position_head_inputs(e, c, bias):
    """Validated float64 hidden states ``(..., D)``, classifier ``(d_1, ..., d_K, V, D)`` and bias
    ``(d_1, ..., d_K, V)`` or None: the heads of :func:`refloss.linear_cross_entropy`, with any batch axes of ``e``
    (none: one unbatched row) and K >= 0 position axes of ``c`` (a (V, D) classifier per position, PyTorch's
    K-dimensional loss). A batch or position axis of length 0 is an empty batch."""
    e_arr, c_arr = v.real_array(e, "e"), v.real_array(c, "c")
    if e_arr.ndim == 0 or e_arr.shape[-1] == 0:
        raise v.RefLossError(f"e must be an array (..., D) of hidden states with D >= 1 features on its last axis "
                             f"(any batch axes before it), got shape {e_arr.shape}")
    if c_arr.ndim < 2 or 0 in c_arr.shape[-2:]:
        raise v.RefLossError(f"c must be an array (V, D) of V >= 1 classes by D >= 1 features, or (d_1, ..., d_K, V, "
                             f"D) with a classifier per position, got shape {c_arr.shape}")
    if c_arr.shape[-1] != e_arr.shape[-1]:
        raise v.RefLossError(f"c has {c_arr.shape[-1]} features per class but e has {e_arr.shape[-1]} per row "
                             f"(shapes {c_arr.shape} and {e_arr.shape})")
    b = None
    if bias is not None:
        b = v.real_array(bias, "bias")
        if b.shape != c_arr.shape[:-1]:
            raise v.RefLossError(f"bias must have shape {c_arr.shape[:-1]}, c's shape without its features (one "
                                 f"entry per class{' and position' if c_arr.ndim > 2 else ''}), got {b.shape}")
    return e_arr, c_arr, b


def _head_logits(e: np.ndarray, c: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """u = e c^T + b, refusing a product beyond the float64 range (whose NaNs would follow). For e ``(..., D)`` and
    c ``(d_1, ..., d_K, V, D)``, u[i..., k..., v] = sum_d e[i..., d] c[k..., v, d] + b[k..., v], of shape
    ``e.shape[:-1] + c.shape[:-1]``: one matrix product of e and c each flattened to 2-D (for 2-D inputs, e @ c.T
    itself)."""
    d = e.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        u = (e.reshape(-1, d) @ c.reshape(-1, d).T).reshape(e.shape[:-1] + c.shape[:-1])
        if b is not None:
            u = u + b
    if not np.isfinite(u).all():
        raise v.RefLossError("the logits e @ c.T + bias overflow float64 (an entry's products exceed 1.8e308)")
    return u


def _head_gradients(g: np.ndarray, e: np.ndarray, c: np.ndarray, b: np.ndarray | None):
    """(G c, G^T e, sum of G over the batch) for G = d loss / d u of :func:`_head_logits`' shape, each in its
    input's shape: the same matrix products as the logits' (for 2-D inputs, g @ c, g.T @ e and g.sum(axis=0))."""
    d = e.shape[-1]
    g2 = g.reshape(int(np.prod(e.shape[:-1])), int(np.prod(c.shape[:-1])))
    grad_b = None if b is None else g2.sum(axis=0).reshape(b.shape)
    return (g2 @ c.reshape(-1, d)).reshape(e.shape), (g2.T @ e.reshape(-1, d)).reshape(c.shape), grad_b


def _soft_cap(u: np.ndarray, cap: float | None) -> np.ndarray:
    """s tanh(u / s). Where abs(u / s) < 1e-8, tanh(t) = t to float64 precision and z = u is returned, so a
    huge cap does not send u / s through the subnormals."""
    if cap is None:
        return u
    with np.errstate(over="ignore", under="ignore"):
        t = u / cap
        return np.where(np.abs(t) < 1e-8, u, cap * np.tanh(t))


def _soft_cap_slope(u: np.ndarray, cap: float | None) -> np.ndarray | float:
    """d z / d u = 1 - tanh^2(u / s) = 4 e^{-2|t|} / (1 + e^{-2|t|})^2: relatively accurate where tanh^2
    rounds to 1, and 0 (not NaN) where u / s overflows."""
    if cap is None:
        return 1.0
    with np.errstate(over="ignore", under="ignore"):
        q = np.exp(-2.0 * np.abs(u / cap))
        return 4.0 * q / (1.0 + q) ** 2


#: T in (0, 1e4]: T^2 KL is of the size of (t - s)^2 while KL itself shrinks as 1/T^2, so a larger T would
#: send the KL below the float64 range before T^2 brings it back (distillation uses T from 1 to about 20).
TEMPERATURE = v.Interval(0.0, 1e4, lo_open=True)


#: A 2-D head whose logits are (g, 0, -g) + b: the logit gaps of refloss._cases.GAP_ROWS, through e @ c.T.
_GAP_E = np.array([[g, 0.5] for g in (15.0, 30.0, 40.0, 80.0)])


_GAP_C = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
