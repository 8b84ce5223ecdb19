"""Checks that compare an implementation against refloss, usable from any test suite.

The same functions drive refloss's own property tests and ``refloss audit``:

* :func:`gradient_error`: closed-form gradient vs central finite differences (float64);
* :func:`oracle_error`: value and every gradient component vs the 50-digit oracle of the entry's
  definition, under the one tolerance policy (:mod:`refloss.tolerance`);
* :func:`shift_error`: invariance of softmax objectives under adding a constant to each row;
* :func:`assert_matches_reference`: one line in another project's test suite: its implementation (PyTorch,
  JAX, anything returning arrays) against the 50-digit oracle on refloss's golden or drawn cases;
* :func:`strategy`, :func:`golden_cases`: the same inputs, for a suite that drives its own checks;
* :func:`assert_close_to_reference`: one-line check of another framework's output against refloss.
"""

from __future__ import annotations

import numpy as np

from . import tolerance
from ._oracle import gradient_components, reference
from ._registry import Entry
from ._validate import RefLossError

#: Tolerance of :func:`gradient_error` (scaled absolute error, see there).
GRAD_TOL = 1e-7


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

    The error is ``max |g - fd| / max(1, max |g|)``: normwise on purpose, since a finite difference's own
    error (truncation ~h^4 f^(5), rounding ~eps |f| / h) scales with the function, not with each component.
    This check only tells a wrong closed form from a right one; whether every component keeps its own
    digits is the oracle's question (:func:`oracle_error`, elementwise). At masked (non-finite) input
    entries the closed form must be exactly 0.
    """
    worst = 0.0
    for name, g in gradient_components(entry, entry.grad(**case)).items():
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
    """Value and gradient are finite (a vector output may be -inf exactly at masked inputs).

    For an entry that declares ``overflow`` (values beyond the float64 range on some finite inputs), only
    NaN is an error: an infinity may be the correctly rounded answer there.
    """
    value = np.asarray(entry.fn(**case), dtype=np.float64)
    if entry.grad_kind == "jacobian":
        masked = np.isneginf(np.asarray(case[entry.wrt[0]], dtype=np.float64))
        if not np.array_equal(np.isneginf(value), masked):
            raise AssertionError(f"{entry.name}: -inf outputs do not sit exactly at the masked inputs")
        value = value[~masked]
    grads = [] if entry.grad is None else list(gradient_components(entry, entry.grad(**case)).values())
    ok = (lambda a: not np.isnan(a).any()) if entry.overflow else (lambda a: np.isfinite(a).all())
    if not ok(value):
        raise AssertionError(f"{entry.name}: non-finite value on a finite-valued input")
    if not all(ok(g) for g in grads):
        raise AssertionError(f"{entry.name}: non-finite gradient on a finite-valued input")


def _worst(what: str, got, ref, scale, limit: float) -> float:
    from .proofs._support import float64

    ref64, scale64 = float64(ref), float64(scale)
    errors = tolerance.error_ulps(got, ref64, scale64)
    worst = float(np.max(errors, initial=0.0))
    if not worst <= limit:
        index = np.unravel_index(int(np.argmax(errors)), errors.shape) if errors.ndim else ()
        raise AssertionError(
            f"{what}{list(index) if index else ''}: got {np.asarray(got)[index]!r}, exact {ref64[index]!r} "
            f"(condition scale {scale64[index]:.3g}): {worst:.3g} ulps > {limit:g}")
    return worst


def oracle_error(entry: Entry, case: dict, ref=None) -> float:
    """Largest error, in the policy's ulps, of the value and of every gradient component against the oracle.

    Raises AssertionError naming the first element beyond the entry's tolerance; where the exact value is
    infinite, the gradient must raise :class:`RefLossError` (it is undefined).
    """
    ref = reference(entry, case) if ref is None else ref
    limit = entry.tolerance.ulps
    worst = _worst(f"{entry.name} value", np.asarray(entry.fn(**case), dtype=np.float64), ref.value,
                   ref.value_scale, limit)
    if entry.grad is None:
        return worst
    if not ref.grads:
        try:
            entry.grad(**case)
        except RefLossError:
            return worst
        raise AssertionError(f"{entry.name}: the value is infinite, yet the gradient returned instead of raising")
    for name, got in gradient_components(entry, entry.grad(**case)).items():
        worst = max(worst, _worst(f"{entry.name} gradient w.r.t. {name}", got, ref.grads[name],
                                  ref.grad_scales[name], limit))
    return worst


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


# -- for other projects' test suites -----------------------------------------------------------------------


def strategy(name: str, extreme: bool = False):
    """The hypothesis strategy of keyword-argument dicts that refloss's own checks draw for entry ``name``
    (moderate logits, or up to 1e4 with ``extreme=True``; stress points come from :func:`golden_cases`)."""
    from . import _cases
    from ._registry import get

    return _cases.strategy(get(name), extreme)


def golden_cases(name: str):
    """The stored golden cases of entry ``name`` (inputs, exact value and gradients, condition scales)."""
    from .golden.dataset import load

    return load(name)


def _to_numpy(x) -> np.ndarray:
    """A float64 NumPy array from another framework's array: a tensor that requires grad is detached, a
    device array is copied to the host, and the rest goes through DLPack or ``__array__``."""
    for method in ("detach", "cpu"):
        if callable(getattr(x, method, None)):
            x = getattr(x, method)()
    if hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray):
        try:
            x = np.from_dlpack(x)
        except (BufferError, TypeError, RuntimeError):
            pass
    return np.asarray(x, dtype=np.float64)


def _as_output(entry: Entry, value, grads):
    from .conform import Output

    if grads is None:
        return Output(_to_numpy(value))
    if len(entry.wrt) == 1 and not isinstance(grads, (dict, tuple)):
        grads = {entry.wrt[0]: grads}
    elif isinstance(grads, tuple):
        grads = grads._asdict() if hasattr(grads, "_asdict") else dict(zip(entry.wrt, grads))
    return Output(_to_numpy(value), {k: None if g is None else _to_numpy(g) for k, g in grads.items()})


def assert_matches_reference(fn, name: str, *, grad=None, rtol: float | None = None, cases="golden",
                             convention=(), where=None, examples: int = 20) -> int:
    """Assert that ``fn`` computes refloss's entry ``name``: every value (and gradient) element within the
    tolerance policy of the 50-digit oracle, on each case.

    Args:
        fn: called as ``fn(**case)`` with the case's arguments in refloss's conventions (NumPy arrays, class
            axis last); returns the value as anything array-like (a PyTorch tensor, a JAX array).
        name: the refloss entry, e.g. ``"cross_entropy"``.
        grad: optional; called like ``fn``, returns the gradient of the summed output in refloss's layout: an
            array for an entry with one differentiable input, else a dict or NamedTuple by input name.
        rtol: None applies refloss's policy (the entry's ulps of ``max(|exact| + s, tiny)``, ``s`` the condition
            scale); a number replaces ``ulps * eps`` by ``rtol`` in that bound.
        cases: ``"golden"`` (the stored stress points; no oracle run), ``"hypothesis"`` (``examples`` inputs
            drawn from :func:`strategy`, each evaluated by the oracle; needs the ``audit`` extra), or an
            iterable of argument dicts (evaluated by the oracle).
        convention: a :class:`refloss.conform.Convention` or several (see :mod:`refloss.conform.conventions`):
            declared differences of convention that the implementation follows.
        where: optional predicate on a case; cases it rejects are not run (an API without weights, say).

    Returns:
        The number of cases checked (at least one, or AssertionError).

    Raises:
        AssertionError: naming the first case that fails, the element, the exact value and ``fn``'s.

    >>> import scipy.special
    >>> assert_matches_reference(lambda logits: scipy.special.logsumexp(logits, axis=-1), "logsumexp")
    5
    >>> assert_matches_reference(lambda logits: scipy.special.log_softmax(logits, axis=-1),  # doctest: +ELLIPSIS
    ...                          "log_softmax")
    Traceback (most recent call last):
    AssertionError: <lambda> differs from the exact log_softmax (peer loses precision, 1.6 correct digits) ...
    """
    from ._registry import get
    from .conform import Convention, PeerFunction
    from .conform._judge import judge_case, minimal, oracle_case, reproducer
    from .conform._report import reproducer_text

    entry = get(name)
    if isinstance(cases, str):
        if cases == "golden":
            chosen = golden_cases(name)
        elif cases == "hypothesis":
            from .conform._judge import drawn_cases

            chosen = drawn_cases(entry, examples)
        else:
            raise RefLossError(f"cases must be 'golden', 'hypothesis' or an iterable of argument dicts, not {cases!r}")
    else:
        chosen = [oracle_case(f"{name}__given_{k}", entry, dict(c)) for k, c in enumerate(cases)]
    conventions = (convention,) if isinstance(convention, Convention) else tuple(convention)

    def call(case):
        return _as_output(entry, fn(**case), None if grad is None else grad(**case))

    peer = PeerFunction("user", getattr(fn, "__qualname__", repr(fn)), name, call, conventions=conventions)
    limit = None if rtol is None else rtol / tolerance.EPS
    checked = 0
    for case in chosen:
        if where is not None and not where(dict(case.kwargs)):
            continue
        result = judge_case(peer, case, limit)
        checked += 1
        if result.verdict not in ("agree", "convention"):
            text = reproducer_text(reproducer(minimal(peer, result, limit)), who="fn")
            raise AssertionError(f"{peer.name} differs from the exact {name} ({result.verdict}, "
                                 f"{result.digits:.1f} correct digits) on {case.id}: {text}")
    if checked == 0:
        raise AssertionError(f"no case of {name} was checked (where= rejected them all)")
    return checked
