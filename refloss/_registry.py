"""The registry: one :class:`Entry` per objective, estimator, bound or metric.

An object registers itself in its own module, value function first, gradient directly below::

    @register(
        name="comp_sum_loss", family="comp_sum", wrt=("logits",),
        params=(Param("target", CLASS_TARGETS), Param("tau", Interval(0.0), "tau"), REDUCTION),
        paper=Paper("...", arxiv="2304.07288"),
        stress=lambda: cases.softmax_stress(tau=(0.0, 0.5, 1.0, 1.5, 2.0)),
    )
    def comp_sum_loss(logits, target, *, tau=1.0, reduction="mean"): ...

    @gradient_of("comp_sum_loss")
    def comp_sum_loss_grad(logits, target, *, tau=1.0, reduction="mean"): ...

Each object has one home: its value, gradient and registration in ``refloss/<pillar>/<family>/<name>.py``
(the family's shared helpers in that package's ``_common.py``). Its definition (SymPy, written once from the
paper) lives in ``proofs/<family>/<name>.py`` under the same name; the registry finds it through the
``proof`` field, which defaults to that path. The formula and gradient a reader sees are not written here:
they are ``sympy.latex`` of the definition, stored in the object's golden file by ``make golden`` and appended
to the two docstrings at registration. Everything generic is driven from here: the property tests loop over
:func:`catalogue`, input strategies are derived from the parameter domains, the package's re-exports and the
docs catalogue are generated from it, golden data is generated from the definitions of its entries, and
``refloss audit`` verifies every entry.

Kinds of object the fields are designed for:

* losses of logits and labels: the gradient returns d(reduced output)/d(``wrt[0]``) in its shape;
* objects with several differentiable inputs (student and teacher logits): ``wrt`` names them and the
  gradient returns a NamedTuple with one field per name;
* vector-valued maps (``log_softmax``): ``grad_kind="jacobian"``, the gradient returns d out_i / d x_j
  with shape ``x.shape + (C,)`` (output index second to last, input index last);
* sample-based estimators, critic-matrix bounds, and bounds or metrics without a gradient: ``wrt=()``,
  no ``gradient_of``, and ``no_gradient=`` saying why (a value made of neighbour counts is piecewise constant in
  the samples); their strategies draw samples and seeds like any other argument, and ``extreme=`` gives their
  extreme finite inputs (the ones derived for logits do not apply to samples);
* an ``accel`` twin that must agree with the reference: ``accel`` names the function in :mod:`accel`.

An object whose value and gradient share their expensive part (a log-softmax over a batch) may also register,
below the gradient, one pass that returns both (``@value_and_grad_of(name)``); :func:`value_and_grad` uses it,
and it must return exactly the numbers of the two separate functions (``tests/test_value_and_grad.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from . import _options
from ._generated import stored_formulas
from ._validate import ArrayArg, Choice, Integers, Interval
from .tolerance import DEFAULT, Tolerance

_ENTRIES: dict[str, "Entry"] = {}

GRAD_KINDS = ("gradient", "jacobian")


@dataclass(frozen=True)
class Param:
    """A named argument and its domain (:class:`Interval`, :class:`Choice` or :class:`ArrayArg`);
    ``optional``: ``None`` is accepted too (no weights, no alpha weighting, nats)."""

    name: str
    domain: Interval | Integers | Choice | ArrayArg
    doc: str = ""
    optional: bool = False


@dataclass(frozen=True)
class Paper:
    """Where an object comes from. ``seed`` is the seed file that lists the paper, or None."""

    title: str
    arxiv: str | None = None
    seed: str | None = None
    where: str = ""  # section / equation, or the non-paper source of a convention (e.g. PyTorch docs)

    def __str__(self) -> str:
        out = self.title + (f" (arXiv:{self.arxiv})" if self.arxiv else "")
        return out + (f", {self.where}" if self.where else "")


@dataclass(frozen=True)
class Entry:
    """One registered object; the fields are those of :func:`register` (see the module docstring)."""

    name: str
    family: str
    fn: Callable
    grad: Callable | None
    wrt: tuple[str, ...]
    grad_kind: str | None
    params: tuple[Param, ...]
    paper: Paper
    formula: str  # generated: sympy.latex of the definition, read from the golden file
    gradient: str
    proof: str
    strategy: Callable[..., Any] | None
    stress: Callable[[], dict] | None
    accel: str | None
    tolerance: Tolerance = DEFAULT
    overflow: str = ""
    shift_invariant: tuple[str, ...] = ()
    module: str = ""
    value_and_grad: Callable | None = None  # one pass returning (value, gradient), where the object has one
    #: (name, rule, kind) of the array parameters with a class axis: the entry takes ``axis=`` and ``where=``
    #: (:mod:`refloss._options`)
    class_axis: tuple = ()
    sample_weight: bool = False  # the entry takes ``sample_weight=`` (scikit-learn's weighted reductions)
    #: The entry's own extreme finite inputs, ``() -> {case id: case}``, judged by the oracle like the stress
    #: points; None: those :mod:`refloss._fuzz` derives for logits and binary labels.
    extreme: Callable[[], dict] | None = None
    no_gradient: str = ""  # why an entry without ``wrt`` has no gradient (piecewise constant, not differentiable)

    def row_arrays(self) -> tuple[str, ...]:
        """The array parameters with a batch axis: the class-axis arrays and class indices (what ``where=`` takes
        away with a row it leaves no class)."""
        return tuple(name for name, _, _ in self.class_axis) + tuple(
            p.name for p in self.params if isinstance(p.domain, ArrayArg) and p.domain.kind == "class_targets")

    def options(self, fn: Callable, role: str) -> Callable:
        """``fn`` (role "value", "grad" or "both") with the options the entry gives (:func:`_options.with_options`)."""
        return _options.with_options(fn, role, axis_rules=self.class_axis, per_row=self.row_arrays(),
                                     sample_weight=self.sample_weight, jacobian=self.grad_kind == "jacobian",
                                     elementwise=not self.class_axis)

    def stress_cases(self) -> dict[str, dict]:
        """The named stress points: inputs that every check runs as explicit examples, every time (the entry's own,
        and those of the options it takes, ``refloss._cases.option_stress``)."""
        from ._cases import option_stress

        cases = {} if self.stress is None else dict(self.stress())
        return {**cases, **option_stress(self, cases)}

    def as_dict(self) -> dict:
        """The JSON-friendly view used by ``refloss list --json`` and the docs."""
        return {
            "name": self.name,
            "family": self.family,
            "module": self.module,
            "function": f"{self.module}.{self.fn.__name__}",
            "grad": f"{self.module}.{self.grad.__name__}" if self.grad else None,
            "wrt": list(self.wrt),
            "grad_kind": self.grad_kind,
            "params": [{"name": p.name, "domain": str(p.domain) + (" or None" if p.optional else ""), "doc": p.doc}
                       for p in self.params],
            "paper": {"title": self.paper.title, "arxiv": self.paper.arxiv, "seed": self.paper.seed,
                      "where": self.paper.where},
            "formula": self.formula,
            "gradient": self.gradient,
            "proof": self.proof,
            "accel": self.accel,
            "tolerance": {"ulps": self.tolerance.ulps, "reason": self.tolerance.reason},
            "overflow": self.overflow,
            "shift_invariant": list(self.shift_invariant),
            "no_gradient": self.no_gradient,
            "options": (["axis", "where"] if self.class_axis else [])
            + (["sample_weight"] if self.sample_weight else []),
        }


def _append_doc(fn: Callable, title: str, latex: str) -> None:
    if latex:
        doc = (fn.__doc__ or "").rstrip()
        fn.__doc__ = f"{doc}\n\n    {title}\n\n    .. math:: {latex}\n"


def _append_options(fn: Callable, entry: "Entry") -> None:
    lines = (([_options.AXIS_DOC, _options.WHERE_DOC] if entry.class_axis else [])
             + ([_options.SAMPLE_WEIGHT_DOC] if entry.sample_weight else []))
    if lines:
        listed = "\n".join(f"    * {line}" for line in lines)
        title = "Options (the same for every entry; see Conventions):"
        fn.__doc__ = f"{(fn.__doc__ or '').rstrip()}\n\n    {title}\n\n{listed}\n"


def register(
    *,
    name: str,
    family: str,
    wrt: tuple[str, ...] = (),
    grad_kind: str = "gradient",
    params: tuple[Param, ...] = (),
    paper: Paper,
    proof: str | None = None,
    strategy: Callable[..., Any] | None = None,
    stress: Callable[[], dict] | None = None,
    accel: str | None = None,
    tolerance: Tolerance = DEFAULT,
    overflow: str = "",
    shift_invariant: tuple[str, ...] = (),
    sample_weight: bool = False,
    extreme: Callable[[], dict] | None = None,
    no_gradient: str = "",
) -> Callable[[Callable], Callable]:
    """Decorator on a value function: record the entry and return the function unchanged.

    The entry's ``formula`` and ``gradient`` are read from its golden file (``sympy.latex`` of the definition's
    displayed value and closed-form gradient, written by ``make golden``) and appended to the value's and the
    gradient's docstrings; before the first ``make golden`` they are empty. ``strategy(extreme: bool)``
    returns a hypothesis strategy of keyword-argument dicts (default: derived from ``params``); ``stress()``
    returns the named stress points. ``tolerance`` widens the policy of :mod:`refloss.tolerance`, with its reason.
    ``sample_weight=True``: the rows are independent and the gradient is per row, so the entry takes scikit-learn's
    ``sample_weight=``; an entry with a class-axis parameter (``ArrayArg.class_axis``) takes ``axis=``. Both are
    added to the value function, the gradient and the one-pass function by :mod:`refloss._options`.
    ``extreme()`` returns the entry's own extreme finite inputs (see :attr:`Entry.extreme`); ``no_gradient``, required
    where ``wrt`` is empty, says why the object has no gradient.
    """
    if grad_kind not in GRAD_KINDS:
        raise ValueError(f"{name}: grad_kind must be one of {GRAD_KINDS}")
    if tolerance.ulps != DEFAULT.ulps and not tolerance.reason:
        raise ValueError(f"{name}: a widened tolerance needs its reason")
    if bool(wrt) == bool(no_gradient):
        raise ValueError(f"{name}: an entry either differentiates (wrt) or says why it has no gradient (no_gradient)")
    proof = proof or f"proofs/{family}/{name}.py::{name}"
    if "::" not in proof:
        raise ValueError(f"{name}: proof must read 'proofs/<family>/<name>.py::<name>'")

    def decorator(fn: Callable) -> Callable:
        if name in _ENTRIES:
            raise ValueError(f"{name} is registered twice")
        formula, gradient = stored_formulas(name)
        _append_doc(fn, "Definition (generated from the checked SymPy definition):", formula)
        entry = Entry(
            name=name, family=family, fn=fn, grad=None, wrt=tuple(wrt), grad_kind=grad_kind if wrt else None,
            params=tuple(params), paper=paper, formula=formula, gradient=gradient, proof=proof,
            strategy=strategy, stress=stress, accel=accel, tolerance=tolerance, overflow=overflow,
            shift_invariant=tuple(shift_invariant), module=fn.__module__,
            class_axis=_options.class_axis_params(params), sample_weight=sample_weight, extreme=extreme,
            no_gradient=no_gradient,
        )
        wrapped = entry.options(fn, "value")
        _append_options(wrapped, entry)
        _ENTRIES[name] = dataclasses.replace(entry, fn=wrapped)
        return wrapped

    return decorator


def gradient_of(name: str) -> Callable[[Callable], Callable]:
    """Decorator on the closed-form gradient, written directly below its value function."""

    def decorator(grad: Callable) -> Callable:
        entry = _ENTRIES.get(name)
        if entry is None:
            raise ValueError(f"gradient_of({name!r}): register the value function first")
        if not entry.wrt:
            raise ValueError(f"{name}: wrt names no differentiable argument")
        if entry.grad is not None:
            raise ValueError(f"{name} has a gradient already")
        _append_doc(grad, "Closed form (generated from the checked SymPy definition):", entry.gradient)
        wrapped = entry.options(grad, "grad")
        _ENTRIES[name] = dataclasses.replace(entry, grad=wrapped)
        return wrapped

    return decorator


def value_and_grad_of(name: str) -> Callable[[Callable], Callable]:
    """Decorator on a function returning ``(value, gradient)`` of a registered object in one pass, written below
    its gradient; it takes the value function's arguments."""

    def decorator(both: Callable) -> Callable:
        entry = _ENTRIES.get(name)
        if entry is None or entry.grad is None:
            raise ValueError(f"value_and_grad_of({name!r}): register the value and its gradient first")
        wrapped = entry.options(both, "both")
        _ENTRIES[name] = dataclasses.replace(entry, value_and_grad=wrapped)
        return wrapped

    return decorator


def value_and_grad(fn: Callable | str) -> Callable:
    """``(value, gradient)`` of a registered object from one call, as ``jax.value_and_grad`` returns them.

    ``fn`` is a registered value function (``refloss.cross_entropy``) or its registry name. The returned function
    takes ``fn``'s arguments. Where the object computes both in one pass (the softmax losses: one log-softmax
    instead of two) that pass is used; otherwise the value and the gradient functions are called in turn. Either
    way the numbers are exactly those of ``fn`` and its gradient function, and a gradient that is undefined
    raises as the gradient function does (for instance a target class masked with ``-inf``, whose loss is +inf).

    >>> import refloss
    >>> loss, grad = refloss.value_and_grad(refloss.cross_entropy)([[0.0, 0.0]], [1], reduction="sum")
    >>> round(loss, 15), grad
    (0.693147180559945, array([[ 0.5, -0.5]]))
    """
    entry = get(fn) if isinstance(fn, str) else next((e for e in _ENTRIES.values() if e.fn is fn), None)
    if entry is None:
        raise KeyError(f"{getattr(fn, '__name__', fn)!r} is not a registered value function")
    if entry.grad is None:
        raise ValueError(f"{entry.name} has no gradient (wrt names no differentiable argument)")
    if entry.value_and_grad is not None:
        return entry.value_and_grad

    def both(*args, **kwargs):
        return entry.fn(*args, **kwargs), entry.grad(*args, **kwargs)

    both.__name__ = f"{entry.fn.__name__}_value_and_grad"
    return both


def catalogue() -> list[Entry]:
    """Every registered entry, sorted by family then name (``import refloss`` registers them all)."""
    return sorted(_ENTRIES.values(), key=lambda e: (e.family, e.name))


def get(name: str) -> Entry:
    """The entry registered under ``name``."""
    try:
        return _ENTRIES[name]
    except KeyError:
        raise KeyError(f"no registered object named {name!r}") from None
