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

import inspect

import numpy as np

from . import tolerance
from ._oracle import gradient_components, reference  # noqa: F401 - public: the oracle for other suites
from ._registry import Entry
from ._validate import RefLossError
from .checks import GRAD_TOL, assert_finite, gradient_error, oracle_error, shift_error  # noqa: F401 - public


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


def _arguments_taken(fn) -> set | None:
    """The argument names ``fn`` takes, or None where it takes any (``**kwargs``) or cannot be inspected."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def _is_default(value, default) -> bool:
    if value is None or default is None:
        return value is default
    return not isinstance(value, np.ndarray) and default is not inspect.Parameter.empty and value == default


def assert_matches_reference(fn, name: str, *, grad=None, rtol: float | None = None, cases="golden",
                             convention=(), where=None, examples: int = 20) -> int:
    """Assert that ``fn`` computes refloss's entry ``name``: every value (and gradient) element within the
    tolerance policy of the 50-digit oracle, on each case.

    Args:
        fn: called as ``fn(**case)`` with the case's arguments in refloss's conventions (NumPy arrays, class
            axis last); returns the value as anything array-like (a PyTorch tensor, a JAX array). Only the
            arguments ``fn`` takes are passed: a case that sets another one away from its default (``axis=``,
            ``where=``, SciPy's ``b=``) is not run.
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
    >>> assert_matches_reference(lambda logits: scipy.special.logsumexp(logits, axis=-1), "logsumexp")  # no b, sign
    7
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

    takes = _arguments_taken(fn)
    defaults = {n: p.default for n, p in inspect.signature(entry.fn).parameters.items()}

    def expressed(kwargs: dict) -> dict | None:
        """The case in the arguments ``fn`` takes: one it does not take is dropped at its default and makes the case
        inexpressible otherwise (an option, scale factors, a sign)."""
        if takes is None:
            return kwargs
        extra = {k: v for k, v in kwargs.items() if k not in takes}
        if any(not _is_default(v, defaults.get(k, inspect.Parameter.empty)) for k, v in extra.items()):
            return None
        return {k: v for k, v in kwargs.items() if k in takes}

    def call(case):
        case = expressed(case)
        return _as_output(entry, fn(**case), None if grad is None else grad(**case))

    peer = PeerFunction("user", getattr(fn, "__qualname__", repr(fn)), name, call, conventions=conventions)
    limit = None if rtol is None else rtol / tolerance.EPS
    checked = 0
    for case in chosen:
        if expressed(dict(case.kwargs)) is None or (where is not None and not where(dict(case.kwargs))):
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
