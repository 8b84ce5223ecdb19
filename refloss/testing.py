"""Checks that compare an implementation against refloss, usable from any test suite.

The same functions drive refloss's own property tests and ``refloss audit``:

* :func:`gradient_error`: closed-form gradient vs central finite differences (float64);
* :func:`precision_error`: value vs the 50-digit mpmath twin (see :mod:`refloss.golden`);
* :func:`shift_error`: invariance of softmax objectives under adding a constant to each row;
* :func:`assert_close_to_reference`: one-line check of another framework's output against refloss.
"""

from __future__ import annotations

import numpy as np

from . import golden
from ._registry import Entry

#: Tolerance of :func:`gradient_error` (scaled absolute error, see there).
GRAD_TOL = 1e-7


def _grads_by_name(entry: Entry, case: dict) -> dict[str, np.ndarray]:
    g = entry.grad(**case)
    if len(entry.wrt) == 1:
        return {entry.wrt[0]: np.asarray(g, dtype=np.float64)}
    return {name: np.asarray(getattr(g, name), dtype=np.float64) for name in entry.wrt}


def _finite_difference(entry: Entry, case: dict, name: str) -> np.ndarray:
    """Five-point central differences of the output w.r.t. each finite entry of ``case[name]``.

    For ``grad_kind == "gradient"`` the differentiated quantity is the sum of the output (the
    gradient convention for ``reduction="none"``); for ``"jacobian"`` the whole output, giving an
    array of shape ``x.shape + out.shape``.
    """
    x = np.array(case[name], dtype=np.float64)

    def f(xx):
        out = np.asarray(entry.fn(**{**case, name: xx}), dtype=np.float64)
        if entry.grad_kind == "gradient":
            return out.sum()
        return np.where(np.isfinite(out), out, 0.0)  # masked outputs are the constant -inf

    out_shape = np.shape(f(x))
    fd = np.zeros(x.shape + out_shape)
    for idx in np.argwhere(np.isfinite(x)):
        idx = tuple(idx)
        h = 1e-3 * max(1.0, abs(x[idx]))
        vals = []
        for step in (-2, -1, 1, 2):
            xx = x.copy()
            xx[idx] += step * h
            vals.append(f(xx))
        fd[idx] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h)
    return fd


def gradient_error(entry: Entry, case: dict) -> float:
    """Largest error of the closed-form gradient against finite differences, over all ``entry.wrt``.

    The error is ``max |g - fd| / max(1, max |g|)``. At masked (non-finite) input entries the
    closed form must be exactly 0.
    """
    worst = 0.0
    for name, g in _grads_by_name(entry, case).items():
        x = np.asarray(case[name], dtype=np.float64)
        fd = _finite_difference(entry, case, name)
        if entry.grad_kind == "jacobian":
            # fd[..., j, i] = d out_i / d x_j for a single row layout; g[..., i, j] = d out_i / d x_j.
            batch = x.shape[:-1]
            n = x.shape[-1]
            fd_rows = fd.reshape(int(np.prod(batch)), n, int(np.prod(batch)), n)
            rows = np.arange(int(np.prod(batch)))
            fd = np.swapaxes(fd_rows[rows, :, rows, :], -1, -2).reshape(g.shape)
            masked = ~np.isfinite(x)[..., None, :] | ~np.isfinite(x)[..., :, None]
        else:
            masked = ~np.isfinite(x)
        if g.shape != fd.shape:
            raise AssertionError(f"{entry.name}: gradient w.r.t. {name} has shape {g.shape}, expected {fd.shape}")
        if not np.isfinite(g).all():
            return float("inf")
        if (g[masked] != 0).any():
            raise AssertionError(f"{entry.name}: gradient w.r.t. {name} is non-zero at a masked entry")
        keep = ~masked
        worst = max(worst, float(np.max(np.abs(g - fd)[keep], initial=0.0)) / max(1.0, float(np.abs(g).max())))
    return worst


def assert_finite(entry: Entry, case: dict) -> None:
    """Value and gradient are finite (a vector output may be -inf exactly at masked inputs)."""
    value = np.asarray(entry.fn(**case), dtype=np.float64)
    if entry.grad_kind == "jacobian":
        masked = np.isneginf(np.asarray(case[entry.wrt[0]], dtype=np.float64))
        if not np.array_equal(np.isneginf(value), masked):
            raise AssertionError(f"{entry.name}: -inf outputs do not sit exactly at the masked inputs")
        value = value[~masked]
    if not np.isfinite(value).all():
        raise AssertionError(f"{entry.name}: non-finite value on a finite-valued input")
    if entry.grad is not None and not all(np.isfinite(g).all() for g in _grads_by_name(entry, case).values()):
        raise AssertionError(f"{entry.name}: non-finite gradient on a finite-valued input")


def precision_error(entry: Entry, case: dict) -> float:
    """Scaled error of the float64 value against the entry's mpmath twin (``inf`` on a NaN/inf mismatch)."""
    scale = entry.mp_scale(**case) if entry.mp_scale is not None else None
    return golden.precision_error(entry.fn(**case), entry.mp(**case), scale)


def shift_error(entry: Entry, case: dict, shift: float) -> float:
    """Change of the output when every row of each ``entry.shift_invariant`` argument is shifted by ``shift``."""
    base = np.asarray(entry.fn(**case), dtype=np.float64)
    shifted_case = {**case, **{n: np.asarray(case[n], dtype=np.float64) + shift for n in entry.shift_invariant}}
    moved = np.asarray(entry.fn(**shifted_case), dtype=np.float64)
    finite = np.isfinite(base)
    if not np.array_equal(moved[~finite], base[~finite]):
        return float("inf")
    return float(np.max(np.abs(moved[finite] - base[finite]) / np.maximum(1.0, np.abs(base[finite])), initial=0.0))


def assert_close_to_reference(name: str, got, *args, rtol: float = 1e-6, atol: float = 1e-8, **kwargs) -> None:
    """Assert that ``got`` (e.g. a PyTorch result) matches refloss's ``name(*args, **kwargs)``.

    >>> assert_close_to_reference("logsumexp", 1000.6931471805599, [1000.0, 1000.0])
    """
    from ._registry import get

    expected = np.asarray(get(name).fn(*args, **kwargs), dtype=np.float64)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected, rtol=rtol, atol=atol,
                               err_msg=f"differs from refloss.{name}")
