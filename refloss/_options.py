"""Options the registry gives every entry of a kind, written once: ``axis=`` (where the class axis is), ``where=``
(optax's mask of the classes that take part) and ``sample_weight=`` (scikit-learn's weighted reductions).

An entry whose array parameters carry a class axis (``ArrayArg.class_axis``: logits, probability targets, a second
distribution's logits, SciPy's ``b``) takes ``axis=`` and ``where=``; an entry registered with
``sample_weight=True`` (its rows are independent and its gradient is per row) takes ``sample_weight=``. The
registry wraps the value function, the gradient and the one-pass function of such an entry with
:func:`with_options`, so that each object is written once, class axis last and reductions its own, and every option
means the same for every entry. The oracle
applies the same rules to its symbolic case (:func:`move_class_axis`, :func:`weighted`), so the option is judged
like any argument. ``docs/conventions.rst`` states the rules.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from . import _validate as v

#: The options' defaults: the project's conventions (class axis last, every class, no weights), not a paper's.
DEFAULTS = {"axis": -1, "where": None, "sample_weight": None}

AXIS_DOC = ("axis: the class axis of every class-axis array argument (default -1, the last; NumPy's and optax's "
            "``axis``, PyTorch's class dimension)")
WHERE_DOC = ("where: optional boolean mask of the classes that take part, broadcastable to the logits' shape (or of "
             "the batch's shape: one flag per row); a class left out is as if absent: its logit is -inf and its "
             "target 0; a loss's row with no class left is left out (0 in \"none\", not counted by \"mean\")")
SAMPLE_WEIGHT_DOC = ("sample_weight: optional real weights, one per element of the ``\"none\"`` output "
                     "(broadcastable to its shape); ``\"mean\"`` is then scikit-learn's weighted average "
                     "sum(s l) / sum(s), ``\"sum\"`` is sum(s l) and ``\"none\"`` is s l")


def class_axis_params(params) -> tuple[tuple[str, object, str], ...]:
    """``(name, rule, kind)`` of the parameters whose last axis is the class axis (``ArrayArg.class_axis``)."""
    return tuple((p.name, p.domain.class_axis, p.domain.kind) for p in params
                 if isinstance(p.domain, v.ArrayArg) and p.domain.class_axis)


def normalized_axis(axis, ndim: int) -> int:
    """``axis`` as a non-negative index into ``ndim`` axes, or a RefLossError naming ``axis``."""
    axis = v.integer(axis, "axis")
    if not -ndim <= axis < ndim:
        raise v.RefLossError(f"axis {axis} is out of range for an array of {ndim} axes")
    return axis % ndim


def _class_axis_arrays(arrays: dict, rules, first: str):
    """(name, kind, array) of the arrays named in ``rules`` that carry the class axis: those with the first argument's
    number of axes; with rule ``"broadcast"`` one with fewer axes is first broadcast to the first argument's shape
    (SciPy's ``b``). Others (class indices, per-class weights) carry none. Float and the oracle's object arrays."""
    shape = np.shape(arrays[first])
    for name, rule, kind in rules:
        value = arrays.get(name)
        if value is None or isinstance(value, (str, bytes)):
            continue
        arr = value if isinstance(value, np.ndarray) else v.as_array(value, name)
        if rule == "broadcast" and 0 < arr.ndim < len(shape):
            try:
                arr = np.broadcast_to(arr, shape)
            except ValueError:
                raise v.RefLossError(f"{name} of shape {arr.shape} does not broadcast to {first}'s shape "
                                     f"{shape}") from None
        if arr.ndim == len(shape):
            yield name, kind, arr


def move_class_axis(arrays: dict, rules, axis: int, first: str) -> dict:
    """``arrays`` with the class axis of each class-axis array (:func:`_class_axis_arrays`) moved from ``axis`` to
    the last place."""
    return {**arrays, **{name: np.moveaxis(arr, axis, -1) for name, _, arr in _class_axis_arrays(arrays, rules, first)}}


def class_mask(where, shape: tuple) -> np.ndarray:
    """``where`` as a boolean mask of the logits' ``shape`` (class axis last): one of that shape or broadcastable to
    it, or one flag per row (the batch's shape, optax's rule), with a RefLossError naming ``where`` otherwise."""
    mask = v.as_array(where, "where")
    if mask.dtype != np.bool_:
        raise v.RefLossError(f"where must be a boolean mask, got dtype {mask.dtype}")
    if mask.ndim == len(shape) - 1 and mask.ndim:
        mask = mask[..., None]
    try:
        return np.broadcast_to(mask, shape)
    except ValueError:
        raise v.RefLossError(f"where of shape {mask.shape} broadcasts neither to the logits' shape {shape} nor to "
                             "the batch's") from None


def leave_out(arrays: dict, rules, mask: np.ndarray, first: str, minus_infinity, zero) -> dict:
    """The classes ``mask`` leaves out, made absent: a logit (kind "logits") -inf, a target or scale factor 0.
    ``minus_infinity``, ``zero``: those constants in the arrays' number system (float64, or SymPy's)."""
    return {**arrays, **{name: np.where(mask, arr, minus_infinity if kind == "logits" else zero)
                         for name, kind, arr in _class_axis_arrays(arrays, rules, first)
                         if arr.shape == mask.shape and arr.dtype.kind in "fO"}}


def kept_rows(arrays: dict, per_row: tuple, mask: np.ndarray, weights=None):
    """(arrays restricted to the rows ``mask`` keeps a class of, as rows (K, C) / (K,), the rows kept (flat), the
    batch's shape), or None where every row keeps one. ``per_row``: the names of the arrays with a batch axis (the
    class-axis arrays and class indices); ``weights``: per-element sample weights, restricted too."""
    keep = mask.any(axis=-1)
    if keep.all():
        return None
    batch = keep.shape
    flat = keep.reshape(-1)
    out = dict(arrays)
    for name in per_row:
        value = arrays.get(name)
        if isinstance(value, np.ndarray) and value.shape[:len(batch)] == batch and value.ndim in (len(batch),
                                                                                                   len(batch) + 1):
            out[name] = value.reshape((-1,) + value.shape[len(batch):])[flat]
    if weights is not None:  # (the oracle's are symbols, refloss's are checked here)
        weights = np.asarray(weights) if isinstance(weights, np.ndarray) and weights.dtype == object else \
            _weights(weights, batch)
        weights = np.broadcast_to(weights, batch).reshape(-1)[flat]
    return out, weights, flat, batch


def scatter_rows(out, flat: np.ndarray, batch: tuple, role: str):
    """The outputs of the kept rows put back into the batch, 0 in the rows left out: a "none" loss (K,) -> batch, a
    gradient (K, C) -> batch + (C,); reduced values are those of the kept rows already."""
    def put(part):
        if not isinstance(part, np.ndarray) or part.ndim == 0:
            return part
        tail = part.shape[1:]
        full = np.zeros((flat.size,) + tail)
        full[flat] = part
        return full.reshape(batch + tail)

    def grads(g):
        return type(g)(*(put(x) for x in g)) if isinstance(g, tuple) else put(g)

    if role == "value":
        return put(out)
    if role == "grad":
        return grads(out)
    value, grad = out
    return put(value), grads(grad)


def _restore(out, axis: int, ndim: int, jacobian: bool):
    """An output computed with the class axis last, in the caller's layout: arrays with the class axis (a gradient,
    a vector-valued output) get it back at ``axis``; a Jacobian's output index goes to ``axis`` (the input index
    stays last); reduced outputs and per-row losses have no class axis and are returned as they are."""
    if isinstance(out, tuple):
        parts = [_restore(part, axis, ndim, jacobian) for part in out]
        return type(out)(*parts) if hasattr(out, "_fields") else tuple(parts)
    if not isinstance(out, np.ndarray):
        return out
    if jacobian and out.ndim == ndim + 1:
        return np.moveaxis(out, -2, axis)
    return np.moveaxis(out, -1, axis) if out.ndim == ndim else out


def _weights(sample_weight, shape: tuple) -> np.ndarray:
    s = v.real_array(sample_weight, "sample_weight")
    try:
        return np.broadcast_to(s, shape)
    except ValueError:
        raise v.RefLossError(f"sample_weight of shape {s.shape} does not broadcast to the shape {shape} of the "
                             "per-element losses") from None


def _total_weight(s: np.ndarray) -> float:
    """sum(s), the denominator of a weighted mean, by the rule of every weighted mean (:func:`refloss._reduce.
    weighted_denominator`): every weight 0 is the documented 0/0; weights of both signs that cancel to 0 raise."""
    from ._reduce import weighted_denominator

    return weighted_denominator(s, "mean", "the weights of sample_weight")


def _weighted_value(losses: np.ndarray, s: np.ndarray, reduction: str):
    """s l ("none"), or its sum, or its sum over sum(s) ("mean"), by the rules of every reduction
    (:func:`refloss._reduce.reduce`: an overflowing sum, terms of +inf and -inf, the documented 0/0)."""
    from ._reduce import reduce

    with np.errstate(over="ignore", invalid="ignore"):  # (a weight times a loss beyond the range: +-inf)
        weighted = s * losses
    if reduction == "none":
        return weighted
    return reduce(weighted, reduction, _total_weight(s) if reduction == "mean" else None)


def _weighted_grad(grad, s: np.ndarray, reduction: str, elementwise: bool):
    """The per-element gradient (of each element's own loss) times s, over sum(s) for "mean" (0 where that is
    the 0/0 of zero total weight, as for every mean over zero weight)."""
    scale = s if elementwise else s[..., None]
    if reduction == "mean":
        den = _total_weight(s)
        scale = scale * (0.0 if den == 0.0 else 1.0 / den)
    if isinstance(grad, tuple):
        return type(grad)(*(g * scale for g in grad))
    return grad * scale


def with_options(fn, role: str, *, axis_rules=(), per_row=(), sample_weight=False, jacobian=False, elementwise=False):
    """``fn`` (an entry's value function, gradient or one-pass function: ``role`` "value", "grad" or "both") taking
    ``axis=`` and ``where=`` when ``axis_rules`` name class-axis parameters and ``sample_weight=`` when
    ``sample_weight``.

    ``per_row``: the array parameters with a batch axis (what a row left out by ``where`` takes away);
    ``elementwise``: the per-element losses have the first argument's shape (no class axis), so a weight scales the
    gradient entry by entry."""
    if not axis_rules and not sample_weight:
        return fn
    signature = inspect.signature(fn)
    first = next(iter(signature.parameters))
    default_reduction = signature.parameters["reduction"].default if "reduction" in signature.parameters else None

    def weighted_call(arguments: dict, s_given):
        reduction = arguments.get("reduction", default_reduction)
        if s_given is None or reduction is None:
            return fn(**arguments)
        from ._reduce import check_reduction

        check_reduction(reduction)
        per_element = {**arguments, "reduction": "none"}
        if role == "value":
            losses = fn(**per_element)
            return _weighted_value(losses, _weights(s_given, np.shape(losses)), reduction)
        if role == "grad":
            grad = fn(**per_element)
            shape = _batch_shape(grad)
            return _weighted_grad(grad, _weights(s_given, shape), reduction, elementwise)
        losses, grad = fn(**per_element)
        s = _weights(s_given, np.shape(losses))
        return _weighted_value(losses, s, reduction), _weighted_grad(grad, s, reduction, elementwise)

    def _batch_shape(grad):
        first_grad = grad[0] if isinstance(grad, tuple) else grad
        return np.shape(first_grad) if elementwise else np.shape(first_grad)[:-1]

    def masked_call(arguments: dict, mask_given, s_given):
        if mask_given is None:
            return weighted_call(arguments, s_given)
        z = v.as_array(arguments[first], first)
        if z.ndim == 0:  # the function's own check names the scalar
            return weighted_call(arguments, s_given)
        mask = class_mask(mask_given, z.shape)
        arguments = leave_out({**arguments, first: z}, axis_rules, mask, first, -np.inf, 0.0)
        restricted = kept_rows(arguments, per_row, mask, s_given) if default_reduction else None
        if restricted is None:
            return weighted_call(arguments, s_given)
        kept, s_kept, flat, batch = restricted
        return scatter_rows(weighted_call(kept, s_kept), flat, batch, role)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        weights = kwargs.pop("sample_weight", None) if sample_weight else None
        axis = kwargs.pop("axis", -1) if axis_rules else -1
        mask = kwargs.pop("where", None) if axis_rules else None
        if weights is None and mask is None and isinstance(axis, int) and axis == -1:
            return fn(*args, **kwargs)  # no option: the function itself (its own errors, its own speed)
        arguments = signature.bind(*args, **kwargs).arguments
        ndim = np.ndim(arguments[first]) if isinstance(arguments[first], np.ndarray) else \
            np.ndim(v.as_array(arguments[first], first))
        if not axis_rules or ndim == 0:  # (a scalar first argument: the function's own check names it)
            return weighted_call(arguments, weights)
        class_axis = normalized_axis(axis, ndim)
        if class_axis == ndim - 1:
            return masked_call(arguments, mask, weights)
        moved = move_class_axis(arguments, axis_rules, class_axis, first)
        if mask is not None:
            mask = _moved_mask(mask, class_axis, ndim)
        return _restore(masked_call(moved, mask, weights), class_axis, ndim, jacobian)

    extra = []
    if axis_rules:
        extra.append(inspect.Parameter("axis", inspect.Parameter.KEYWORD_ONLY, default=-1))
        extra.append(inspect.Parameter("where", inspect.Parameter.KEYWORD_ONLY, default=None))
    if sample_weight:
        extra.append(inspect.Parameter("sample_weight", inspect.Parameter.KEYWORD_ONLY, default=None))
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])
    return wrapper


def _moved_mask(mask, axis: int, ndim: int):
    """A mask given in the caller's layout, with the class axis moved last: a mask of the logits' number of axes is
    moved like them; a per-row mask (one axis fewer) has no class axis."""
    arr = v.as_array(mask, "where")
    return np.moveaxis(arr, axis, -1) if arr.ndim == ndim else arr
