"""The checks on one registry entry: what ``refloss audit`` runs and what the test suite runs, the same code.

Each ``check_*`` takes an entry, returns its worst error (or None) and raises AssertionError naming what failed;
``tests/test_registry.py`` and ``tests/test_fuzz.py`` parametrize them over :func:`refloss.catalogue`, and
:func:`refloss.audit.audit_entry` calls every one of them. The drawn checks run hypothesis through
:func:`run_property`, derandomized, so the tests and the audit draw the same examples for the same count
(:data:`TIERS`).

The comparisons they are built from (:func:`oracle_error`, :func:`gradient_error`, :func:`assert_finite`,
:func:`shift_error`) are public through :mod:`refloss.testing` for other projects' suites.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from . import _cases, _fuzz, tolerance
from ._options import DEFAULTS as OPTION_DEFAULTS
from ._oracle import check_stored, definition_of, float64, gradient_components, latex, reference
from ._registry import Entry, value_and_grad
from ._validate import ArrayArg, RefLossError, RefLossWarning
from .golden import dataset

#: Drawn examples per property in each tier of the test suite and the audit. The default tier (``make test``)
#: compares the stress points with their cached oracle (the golden file); the full tier (``make test-full``,
#: ``refloss audit``) also recomputes the oracle there and draws five times as many examples.
TIERS = {"default": 5, "full": 25}

#: Tolerance of :func:`gradient_error` (scaled absolute error, see there).
GRAD_TOL = 1e-7


def _finite_difference(entry: Entry, case: dict, name: str) -> np.ndarray:
    """Five-point central differences of the output w.r.t. each finite entry of ``case[name]``.

    For ``grad_kind == "gradient"`` the differentiated quantity is the sum of the output (the
    gradient convention for ``reduction="none"``); for ``"jacobian"`` the whole output, giving an
    array of shape ``x.shape + out.shape``.
    """
    x = np.array(case[name], dtype=np.float64)
    symmetric = _symmetric(entry, name)

    def f(xx):
        out = np.asarray(entry.fn(**{**case, name: xx}), dtype=np.float64)
        if entry.grad_kind == "gradient":
            return out.sum()
        return np.where(np.isfinite(out), out, 0.0)  # masked outputs are the constant -inf

    out_shape = np.shape(f(x))
    fd = np.zeros(x.shape + out_shape)
    for idx in np.argwhere(np.isfinite(x)):
        idx = tuple(idx)
        if symmetric and idx[0] > idx[1]:
            continue  # the pair (i, j), (j, i) moves together: filled from (j, i) below
        h = 1e-3 * max(1.0, abs(x[idx]))
        vals = []
        for step in (-2, -1, 1, 2):
            xx = x.copy()
            xx[idx] += step * h
            if symmetric and idx[0] != idx[1]:
                xx[idx[::-1]] += step * h
            vals.append(f(xx))
        fd[idx] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h)
    if symmetric:
        fd = np.triu(fd) + np.triu(fd, 1).T
    return fd


def _symmetric(entry: Entry, name: str) -> bool:
    """``name`` is a symmetric matrix (a covariance): it may only move along symmetric directions, along which the
    derivative of a gradient with independent entries is g_ij + g_ji (off the diagonal) and g_ii."""
    return any(p.name == name and isinstance(p.domain, ArrayArg) and p.domain.kind == "covariance"
               for p in entry.params)


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
            # fd[x index, out index]; with the class axis (``axis=``) moved last in both, fd[..., j, ..., i] =
            # d out_i / d x_j row by row, while g[..., i, j] = d out_i / d x_j has the output's class index at axis.
            nd, axis = x.ndim, case.get("axis", -1) % x.ndim
            fd = np.moveaxis(fd, [axis, nd + axis], [nd - 1, 2 * nd - 1])
            last = np.moveaxis(x, axis, -1)
            batch = last.shape[:-1]
            n = last.shape[-1]
            fd_rows = fd.reshape(int(np.prod(batch)), n, int(np.prod(batch)), n)
            rows = np.arange(int(np.prod(batch)))
            fd = np.moveaxis(np.swapaxes(fd_rows[rows, :, rows, :], -1, -2).reshape(last.shape + (n,)), -2, axis)
            masked = np.moveaxis(~np.isfinite(last)[..., None, :] | ~np.isfinite(last)[..., :, None], -2, axis)
        else:
            masked = ~np.isfinite(x)
        if _symmetric(entry, name) and g.ndim == 2:
            g = g + g.T - np.diag(np.diag(g))  # the derivative along E_ij + E_ji (the covariance stays symmetric)
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
    """Value and gradient are finite (a vector output may be -inf only at masked inputs).

    A vector output (``grad_kind="jacobian"``) at a masked input is the constant of a masked class: -inf for a
    log-probability (``log_softmax``), 0 for a probability (``softmax``), the same in every masked entry.
    For an entry that declares ``overflow`` (values beyond the float64 range on some finite inputs), only
    NaN is an error: an infinity may be the correctly rounded answer there.
    """
    value = np.asarray(entry.fn(**case), dtype=np.float64)
    if entry.grad_kind == "jacobian":
        masked = np.isneginf(np.asarray(case[entry.wrt[0]], dtype=np.float64)) | _left_out(case, entry.wrt[0])
        at_masks = value[masked]
        if (np.isneginf(value) & ~masked).any():
            raise AssertionError(f"{entry.name}: an output at an unmasked input is -inf")
        if not (np.isneginf(at_masks).all() or (at_masks == 0.0).all()):
            raise AssertionError(f"{entry.name}: the outputs at the masked inputs are not all -inf or all 0")
        value = value[~masked]
    grads = [] if entry.grad is None else list(gradient_components(entry, entry.grad(**case)).values())
    ok = (lambda a: not np.isnan(a).any()) if entry.overflow else (lambda a: np.isfinite(a).all())
    if not ok(value):
        raise AssertionError(f"{entry.name}: non-finite value on a finite-valued input")
    if not all(ok(g) for g in grads):
        raise AssertionError(f"{entry.name}: non-finite gradient on a finite-valued input")


def _left_out(case: dict, name: str) -> np.ndarray:
    """The entries of ``case[name]`` that ``where=`` leaves out (as masked: -inf), in the case's own layout."""
    x = np.asarray(case[name])
    if case.get("where") is None:
        return np.zeros(x.shape, dtype=bool)
    where = np.asarray(case["where"])
    if where.ndim == x.ndim - 1:
        where = np.expand_dims(where, case.get("axis", -1) % x.ndim)
    return ~np.broadcast_to(where, x.shape)


def _worst(what: str, got, ref, scale, limit: float) -> float:
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
    infinite, or where the definition says the gradient does not exist (:attr:`Definition.gradient_undefined`), the
    gradient must raise :class:`RefLossError`.
    """
    ref = reference(entry, case) if ref is None else ref
    limit = entry.tolerance.ulps
    with warnings.catch_warnings():  # the documented NaN of a mean over zero weight warns; its value is judged
        warnings.simplefilter("ignore", RefLossWarning)
        value = entry.fn(**case)
        grads = None
        if entry.grad is not None:
            try:
                grads = entry.grad(**case)
            except RefLossError:
                if ref.grads:
                    raise
    worst = _worst(f"{entry.name} value", np.asarray(value, dtype=np.float64), ref.value, ref.value_scale, limit)
    if entry.grad is None:
        return worst
    if not ref.grads:
        if grads is None:
            return worst
        raise AssertionError(f"{entry.name}: the gradient does not exist here (an infinite value, or a boundary the "
                             "definition names), yet it returned instead of raising")
    for name, got in gradient_components(entry, grads).items():
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


# -- running properties ------------------------------------------------------------------------------------


def run_property(strategy, check, max_examples: int) -> float:
    """Run ``check(case)`` on drawn cases; returns the largest value it returned, raises on failure."""
    from hypothesis import HealthCheck, given, settings

    worst = [0.0]

    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(case):
        worst[0] = max(worst[0], check(case))

    prop()
    return worst[0]


# -- the checks on one entry -------------------------------------------------------------------------------


def check_complete(entry: Entry) -> None:
    """What every entry carries: a doctest, the generated formulas in both docstrings, keyword-only parameters
    after the arrays, the definition's defaults equal to the signature's, a stress point that relies on them,
    and unique stress-point ids."""
    problems = []
    if not entry.paper.title:
        problems.append("no paper")
    if not entry.formula:
        problems.append(f"no generated formula: run make golden (python -m refloss.golden.dataset {entry.name})")
    if not (entry.fn.__doc__ and ">>>" in entry.fn.__doc__):
        problems.append("the value function needs a doctest")
    elif entry.formula and entry.formula not in entry.fn.__doc__:
        problems.append("the generated formula is not in the value function's docstring")
    signature = inspect.signature(entry.fn).parameters
    arrays = [p for p in signature.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    if any(p.default is not inspect.Parameter.empty for p in arrays):
        problems.append("parameters after the arrays must be keyword-only")
    if not all(p.name in signature for p in entry.params):
        problems.append("a registered parameter is not in the signature")
    if entry.grad is not None:
        if inspect.signature(entry.grad).parameters != signature:
            problems.append("the gradient must take the value function's arguments")
        if entry.gradient and entry.gradient not in (entry.grad.__doc__ or ""):
            problems.append("the generated gradient is not in the gradient's docstring")
        if not set(entry.wrt) <= set(signature):
            problems.append("wrt names an argument the function does not take")
    if entry.proof != f"proofs/{entry.family}/{entry.name}.py::{entry.name}":
        problems.append(f"its definition belongs in proofs/{entry.family}/{entry.name}.py")
    if not entry.module.endswith(f".{entry.family}.{entry.name}"):
        problems.append(f"its value, gradient and registration belong in a module <pillar>/{entry.family}/"
                        f"{entry.name}.py, not {entry.module}")
    defaulted = {n: p.default for n, p in signature.items() if p.default is not inspect.Parameter.empty}
    options = {"axis", "where"} if entry.class_axis else set()
    options |= {"sample_weight"} if entry.sample_weight else set()
    stated = {**{n: OPTION_DEFAULTS[n] for n in options}, **definition_of(entry).defaults}
    if set(stated) != set(defaulted):
        problems.append(f"the definition states defaults for {sorted(stated)}, the signature has {sorted(defaulted)}")
    wrong = [n for n in defaulted if n in stated and not _same(stated[n], defaulted[n])]
    if wrong:
        problems.append("the signature's defaults differ from the definition's (the paper's): " +
                        ", ".join(f"{n}={defaulted[n]!r}, not {stated[n]!r}" for n in wrong))
    stress = entry.stress_cases()
    if not stress:
        problems.append("no stress points")
    elif defaulted and not any(not set(case) & set(defaulted) for case in stress.values()):
        problems.append("no stress point relies on the defaults (one that gives none of " +
                        ", ".join(sorted(defaulted)) + ")")
    if problems:
        raise AssertionError(f"{entry.name}: " + "; ".join(problems))


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b if not isinstance(a, float) else isinstance(b, float) and a == b


def check_proof(entry: Entry) -> None:
    """The definition's symbolic proofs, and the stored LaTeX against the one the definition generates."""
    definition = definition_of(entry)
    for field_name, generated in (("formula", definition.formula()), ("gradient", definition.gradient_formula())):
        expected = latex(generated) if generated is not None else ""
        if getattr(entry, field_name) != expected:
            raise AssertionError(f"the stored {field_name} differs from the definition's, which reads "
                                 f"{expected!r}: run make golden")
    definition.prove()


def check_stress(entry: Entry) -> float:
    """The worst policy error over the entry's stress points, each evaluated by the oracle now (what the golden
    file caches; the full tier and the audit recompute it)."""
    worst = 0.0
    for case_id, case in entry.stress_cases().items():
        try:
            worst = max(worst, oracle_error(entry, case))
        except AssertionError as exc:
            raise AssertionError(f"stress point {case_id}: {exc}") from None
    return worst


def _fresh_golden(entry: Entry, section: str, expected: dict) -> list:
    reasons = dataset.stale(entry.name)
    if reasons:
        raise AssertionError(f"golden file {entry.name}.json is stale ({'; '.join(reasons)}): run make golden")
    cases = dataset.load(entry.name, section=section)
    if [c.id for c in cases] != [f"{entry.name}__{k}" for k in expected]:
        raise AssertionError(f"golden file {entry.name}.json holds other {section} cases than the checks: "
                             "run make golden")
    return cases


def _against_stored(entry: Entry, cases: list) -> float:
    worst = 0.0
    for case in cases:
        stored = dataset.CachedReference(case.value, case.value_scale, case.grads, case.grad_scales)
        try:
            worst = max(worst, oracle_error(entry, case.kwargs, ref=stored))
        except AssertionError as exc:
            raise AssertionError(f"{case.id}: {exc}") from None
    return worst


def check_golden(entry: Entry) -> float:
    """The golden file is fresh (what generates it is unchanged), holds exactly the stress points, and refloss
    matches every stored case under the policy: the stress check at the cost of reading a file."""
    return _against_stored(entry, _fresh_golden(entry, "cases", entry.stress_cases()))


def check_digits(entry: Entry, path=None) -> tuple[int, int]:
    """Every stored digit of the entry's golden file (``path``: another copy of it), at its stress points and its
    extreme inputs, agrees with an enclosure of the exact value computed now by a route independent of the one
    that stored it (ball arithmetic with forward-mode derivatives: ``refloss.proofs._check.check_stored``),
    and every certified one is narrow enough there to tell a change of one unit in its last digit. Returns the
    file's (certified, uncertified) counts of values and gradient components."""
    certified = uncertified = 0
    for section in ("cases", "extreme"):
        for case in dataset.load(entry.name, path, section=section):
            wrong, unchecked = check_stored(entry, case.kwargs, case.texts, case.bits)
            where = f"{(path or dataset.path_of(entry.name)).name}, case {case.id}"
            if wrong:
                raise AssertionError(f"{where}: the stored digits of {', '.join(wrong)} lie outside the "
                                     "definition's enclosure")
            unchecked = [e for e in unchecked if e.split("[")[1][:-1] not in case.uncertified.get(e.split("[")[0], {})]
            if unchecked:
                raise AssertionError(f"{where}: the second route cannot check the certified {', '.join(unchecked)}")
            proven, unproven = case.counts()
            certified, uncertified = certified + proven, uncertified + unproven
    return certified, uncertified


def check_drawn(entry: Entry, examples: int) -> float:
    """The oracle on drawn moderate inputs of small shape."""
    with _cases.small_shapes():
        return run_property(_cases.strategy(entry, False), lambda c: oracle_error(entry, c), examples)


def check_fd(entry: Entry, examples: int) -> float | None:
    """The closed-form gradient against finite differences on drawn moderate inputs (None: no gradient)."""
    if entry.grad is None:
        return None

    def one(case):
        err = gradient_error(entry, case)
        if not err <= GRAD_TOL:
            raise AssertionError(f"gradient error {err:.3g} > {GRAD_TOL:g}")
        return err

    return run_property(_cases.strategy(entry, False), one, examples)


def check_finite(entry: Entry, examples: int) -> bool:
    """No NaN, and finite values and gradients wherever the entry cannot overflow, on logits up to 1e4."""
    run_property(_cases.strategy(entry, True), lambda c: assert_finite(entry, c) or 0.0, examples)
    return True


def check_shift(entry: Entry, examples: int) -> float | None:
    """Invariance under a constant added to each row of the ``shift_invariant`` arguments (None: not declared)."""
    if not entry.shift_invariant:
        return None
    from hypothesis import strategies as st

    def one(drawn):
        case, shift = drawn
        err = shift_error(entry, case, shift)
        if not err <= 1e-10:
            raise AssertionError(f"a shift of {shift} changes the output by {err:.3g}")
        return err

    shifts = st.sampled_from([-1000.0, -7.25, 3.5, 1000.0])
    return run_property(st.tuples(_cases.strategy(entry, False), shifts), one, examples)


def _functions(entry: Entry) -> tuple:
    """The entry's public functions: the value, and with a gradient the gradient and :func:`value_and_grad`."""
    return (entry.fn,) if entry.grad is None else (entry.fn, entry.grad, value_and_grad(entry.fn))


def check_unmodified(entry: Entry) -> None:
    """The value, the gradient and :func:`value_and_grad` leave their input arrays as they were (the first three
    stress points)."""
    for case in list(entry.stress_cases().values())[:3]:
        before = {k: np.array(v, copy=True) for k, v in case.items() if isinstance(v, np.ndarray)}
        for fn in _functions(entry):
            fn(**case)
        for k, v in before.items():
            if not np.array_equal(case[k], v, equal_nan=True):
                raise AssertionError(f"{entry.name} modified its input {k}")


def _outcome(fn, case: dict):
    """``fn(**case)`` as a flat tuple of arrays, or the type of the error it raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RefLossWarning)  # a stated NaN, compared as a number below
            out = fn(**case)
    except RefLossError as exc:
        return type(exc)
    return tuple(None if part is None else np.asarray(part) for item in (out if isinstance(out, tuple) else (out,))
                 for part in (item if isinstance(item, tuple) else (item,)))


def _identical(a, b) -> bool:
    """The same float64 numbers in the same shape (NaN equal to NaN), or both None (a gradient not asked for)."""
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def check_value_and_grad(entry: Entry) -> int:
    """At every stress point, :func:`value_and_grad` gives exactly the value and the gradient of the two separate
    functions (the same float64 numbers, not merely close), or refuses as the gradient does; returns how many
    points ran (0 without a gradient)."""
    if entry.grad is None:
        return 0
    both = value_and_grad(entry.fn)
    cases = entry.stress_cases()
    for case_id, case in cases.items():
        value, grad, together = _outcome(entry.fn, case), _outcome(entry.grad, case), _outcome(both, case)
        expected = grad if isinstance(grad, type) else value + grad
        if isinstance(expected, type) or isinstance(together, type):
            same = expected is together
        else:
            same = len(expected) == len(together) and all(map(_identical, expected, together))
        if not same:
            raise AssertionError(f"{entry.name} at {case_id}: value_and_grad differs from the value and gradient")
    return len(cases)


def bad_input_raises(entry: Entry, name: str, case: dict) -> None:
    """The value, the gradient and :func:`value_and_grad` raise RefLossError naming ``name`` on ``case``."""
    for fn in _functions(entry):
        try:
            fn(**case)
        except RefLossError as exc:
            if name not in str(exc):
                raise AssertionError(f"{fn.__name__}: the error does not name {name}: {exc}") from None
        else:
            raise AssertionError(f"{fn.__name__} accepted a bad {name}")


def check_bad_input(entry: Entry) -> int:
    """Every bad-input case of :func:`refloss._fuzz.bad_cases`; returns how many ran."""
    cases = _fuzz.bad_cases(entry)
    for case_id, name, case in cases:
        try:
            bad_input_raises(entry, name, case)
        except AssertionError as exc:
            raise AssertionError(f"bad input {case_id}: {exc}") from None
    return len(cases)


def check_extreme_oracle(entry: Entry, live: bool = True) -> float:
    """The oracle at every extreme finite input of :func:`refloss._fuzz.oracle_cases`: evaluated now, or with
    ``live=False`` read from the fresh golden file that caches it."""
    if not live:
        return _against_stored(entry, _fresh_golden(entry, "extreme", _fuzz.oracle_cases(entry)))
    worst = 0.0
    for case_id, case in _fuzz.oracle_cases(entry).items():
        try:
            worst = max(worst, oracle_error(entry, case))
        except AssertionError as exc:
            raise AssertionError(f"{case_id}: {exc}") from None
    return worst
