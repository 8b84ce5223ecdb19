"""The registry: one :class:`Entry` per objective, estimator, bound or metric.

An object registers itself next to its definition::

    @register(
        name="cross_entropy", family="classification", grad=cross_entropy_grad, wrt=("logits",),
        params=(Param("label_smoothing", UNIT_INTERVAL, "epsilon"), ...),
        paper=Paper("...", arxiv="1512.00567"), formula=r"...", gradient=r"...",
        proof="proofs/check_classification.py::cross_entropy", strategy=strategies.cross_entropy,
        mp=golden.mp.cross_entropy,
    )
    def cross_entropy(logits, target, ...): ...

Everything generic is driven from here: the property tests loop over :func:`catalogue`, the docs
catalogue page is generated from it, and ``refloss audit`` verifies every entry.

Kinds of object the fields are designed for:

* losses of logits and labels: ``grad`` returns d(reduced output)/d(``wrt[0]``) in its shape;
* objects with several differentiable inputs (student and teacher logits, embeddings and a
  classifier): ``wrt`` names them and ``grad`` returns a NamedTuple with one field per name;
* vector-valued maps (``log_softmax``): ``grad_kind="jacobian"``, ``grad`` returns d out_i / d x_j
  with shape ``x.shape + (C,)`` (output index second to last, input index last);
* sample-based estimators (kNN mutual information on (x, y) samples with a seed), critic-matrix
  bounds, and bounds or metrics without a gradient: ``grad=None``, ``wrt=()``; their strategies draw
  samples and seeds like any other argument;
* an ``accel`` twin that must agree with the reference: ``accel`` names the function in :mod:`accel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ._validate import ArrayArg, Choice, Interval

_ENTRIES: dict[str, "Entry"] = {}

GRAD_KINDS = ("gradient", "jacobian")


@dataclass(frozen=True)
class Param:
    """A named argument and its domain (:class:`Interval`, :class:`Choice` or :class:`ArrayArg`)."""

    name: str
    domain: Interval | Choice | ArrayArg
    doc: str = ""


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
    formula: str
    gradient: str
    proof: str
    strategy: Callable[..., Any] | None
    accel: str | None
    mp: Callable | None = None
    mp_scale: Callable | None = None
    shift_invariant: tuple[str, ...] = ()
    module: str = ""

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
            "params": [{"name": p.name, "domain": str(p.domain), "doc": p.doc} for p in self.params],
            "paper": {"title": self.paper.title, "arxiv": self.paper.arxiv, "seed": self.paper.seed,
                      "where": self.paper.where},
            "formula": self.formula,
            "gradient": self.gradient,
            "proof": self.proof,
            "accel": self.accel,
            "precision_check": self.mp is not None,
            "shift_invariant": list(self.shift_invariant),
        }


def register(
    *,
    name: str,
    family: str,
    grad: Callable | None,
    wrt: tuple[str, ...] = (),
    grad_kind: str | None = "gradient",
    params: tuple[Param, ...] = (),
    paper: Paper,
    formula: str,
    gradient: str,
    proof: str,
    strategy: Callable[..., Any] | None,
    accel: str | None = None,
    mp: Callable | None = None,
    mp_scale: Callable | None = None,
    shift_invariant: tuple[str, ...] = (),
) -> Callable[[Callable], Callable]:
    """Class-free decorator: record the entry and return the value function unchanged.

    ``strategy(extreme: bool)`` returns a hypothesis strategy of keyword-argument dicts for ``fn``;
    ``extreme=True`` adds logits up to 1e4 in magnitude, -inf masks and single classes.
    ``mp`` is an mpmath twin taking the same keywords and returning the value at 50 digits;
    ``mp_scale`` (same keywords) returns the magnitude the error is measured against when the value
    itself can be ill-conditioned (default: the value's own magnitude, i.e. relative error).
    """
    if (grad is None) != (not wrt):
        raise ValueError(f"{name}: wrt must name the differentiable arguments exactly when grad is given")
    if grad is not None and grad_kind not in GRAD_KINDS:
        raise ValueError(f"{name}: grad_kind must be one of {GRAD_KINDS}")
    if "::" not in proof:
        raise ValueError(f"{name}: proof must read 'proofs/check_<family>.py::<check name>'")

    def decorator(fn: Callable) -> Callable:
        if name in _ENTRIES:
            raise ValueError(f"{name} is registered twice")
        _ENTRIES[name] = Entry(
            name=name, family=family, fn=fn, grad=grad, wrt=tuple(wrt),
            grad_kind=grad_kind if grad is not None else None, params=tuple(params), paper=paper,
            formula=formula, gradient=gradient, proof=proof, strategy=strategy, accel=accel, mp=mp,
            mp_scale=mp_scale, shift_invariant=tuple(shift_invariant), module=fn.__module__,
        )
        return fn

    return decorator


def catalogue() -> list[Entry]:
    """Every registered entry, sorted by family then name (``import refloss`` registers them all)."""
    return sorted(_ENTRIES.values(), key=lambda e: (e.family, e.name))


def get(name: str) -> Entry:
    try:
        return _ENTRIES[name]
    except KeyError:
        raise KeyError(f"no registered object named {name!r}") from None
