"""Golden data: named cases with values and gradients at 50 digits, stored as versioned, checksummed JSON.

For other frameworks' test suites (load the inputs, compare your outputs) and for refloss itself
(``refloss audit`` and the tests require a match). The file ``data/golden-v1.json`` holds, per case,
the inputs, the value, and the gradient with respect to each differentiable input, every float as
its shortest round-trip string (``repr``), ``-inf`` included. ``data/golden-v1.json.sha256`` holds
its checksum; :func:`load` refuses a file that does not match.

Oracle: values come from the mpmath twins (:mod:`refloss.golden.mp`) at 50 digits; gradients from
central differences of the same twins at 90 digits with step 1e-30 (error ~1e-60), so neither
depends on refloss's float64 code nor on its closed-form gradients. Regenerate with
``python -m refloss.golden.dataset`` (a new version number when a stored value changes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validate import RefLossError

VERSION = 1
DATA = Path(__file__).with_name("data") / f"golden-v{VERSION}.json"
GRAD_DPS, GRAD_STEP = 90, "1e-30"
#: refloss must match every stored value, and every stored gradient relative to its largest entry,
#: to this many units of float64 epsilon (2.2e-16).
GOLDEN_ULPS = 4

_LOG124 = np.log([[1.0, 2.0, 1.0], [1.0, 1.0, 2.0], [3.0, 1.0, 1.0]])  # p = (1/4,1/2,1/4), (1/4,1/4,1/2), (3/5,1/5,1/5)


def _rng_logits(seed, shape, scale=3.0):
    return np.round(np.random.default_rng(seed).normal(size=shape) * scale, 3)


def case_inputs() -> list[tuple[str, str, dict]]:
    """The named cases: (case id, registry name, keyword arguments)."""
    ninf = -np.inf
    z = _rng_logits(1, (4, 5))
    soft = np.random.default_rng(2).dirichlet(np.ones(5), size=4)
    return [
        ("logsumexp__batch", "logsumexp", {"logits": z}),
        ("logsumexp__extreme_and_masked", "logsumexp", {"logits": np.array([[1e4, 1e4 - 1, ninf], [-1e4, 0.0, 30.0]])}),
        ("log_softmax__batch", "log_softmax", {"logits": z[:2]}),
        ("log_softmax__peaked", "log_softmax", {"logits": np.array([100.0, 0.0, -3.0])}),
        ("cross_entropy__mean", "cross_entropy", {"logits": z, "target": np.array([0, 3, 4, 1])}),
        ("cross_entropy__weight__ignore_index__label_smoothing__mean", "cross_entropy",
         {"logits": _LOG124, "target": np.array([1, 0, -100]), "weight": np.array([1.0, 2.0, 3.0]),
          "label_smoothing": 0.3}),
        ("cross_entropy__weight__ignore_index__label_smoothing__sum", "cross_entropy",
         {"logits": z, "target": np.array([2, -100, 0, 4]), "weight": np.array([0.5, 1.0, 2.0, 1.5, 3.0]),
          "label_smoothing": 0.1, "reduction": "sum"}),
        ("cross_entropy__weight__none", "cross_entropy",
         {"logits": z, "target": np.array([2, 1, 0, 4]), "weight": np.array([0.5, 1.0, 2.0, 1.5, 3.0]),
          "reduction": "none"}),
        ("cross_entropy__ignore_index_is_a_class", "cross_entropy",
         {"logits": z, "target": np.array([2, 1, 0, 1]), "ignore_index": 1}),
        ("cross_entropy__probabilities__weight__label_smoothing__mean", "cross_entropy",
         {"logits": z, "target": soft, "weight": np.array([0.5, 1.0, 2.0, 1.5, 3.0]), "label_smoothing": 0.2}),
        ("cross_entropy__spatial", "cross_entropy",
         {"logits": _rng_logits(3, (2, 2, 3)), "target": np.array([[0, 1], [2, 2]]), "label_smoothing": 0.05}),
        ("cross_entropy__extreme_masked", "cross_entropy",
         {"logits": np.array([[1e4, 0.0, ninf], [800.0, -800.0, 0.0]]), "target": np.array([0, 1])}),
        ("binary_cross_entropy_with_logits__weight__pos_weight", "binary_cross_entropy_with_logits",
         {"logits": _rng_logits(4, (3, 4)), "target": np.array([[0, 1, 1, 0], [1, 1, 0, 0], [0.25, 0.5, 1, 0]]),
          "weight": np.array([[1.0], [2.0], [0.5]]), "pos_weight": np.array([1.0, 2.0, 3.0, 0.5])}),
        ("binary_cross_entropy_with_logits__large_logits", "binary_cross_entropy_with_logits",
         {"logits": np.array([40.0, -40.0, 700.0, -700.0]), "target": np.array([1.0, 0.0, 0.0, 0.3]),
          "reduction": "none"}),
        ("focal_loss__gamma2__alpha_vector", "focal_loss",
         {"logits": z, "target": np.array([0, 3, 4, 1]), "gamma": 2.0, "alpha": np.array([0.1, 0.2, 0.3, 0.2, 0.2])}),
        ("focal_loss__gamma_half__near_certain", "focal_loss",
         {"logits": np.array([[30.0, 0.0, -1.0], [0.0, 0.5, 0.0]]), "target": np.array([0, 1]), "gamma": 0.5,
          "reduction": "none"}),
        ("sigmoid_focal_loss__alpha_quarter__gamma2", "sigmoid_focal_loss",
         {"logits": _rng_logits(5, (3, 4)), "target": np.array([[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 0.0]])}),
        ("sigmoid_focal_loss__soft_labels__no_alpha", "sigmoid_focal_loss",
         {"logits": _rng_logits(6, (5,)), "target": np.array([0.1, 0.9, 0.5, 0.0, 1.0]), "alpha": None,
          "gamma": 1.5, "reduction": "none"}),
        ("softmax_entropy__batch", "softmax_entropy", {"logits": z, "reduction": "none"}),
        ("softmax_entropy__peaked_masked", "softmax_entropy",
         {"logits": np.array([[60.0, 0.0, ninf], [0.0, 0.0, 0.0]]), "reduction": "sum"}),
        ("kl_divergence_logits__batch", "kl_divergence_logits",
         {"p_logits": z, "q_logits": _rng_logits(7, (4, 5))}),
        ("kl_divergence_logits__masked", "kl_divergence_logits",
         {"p_logits": np.array([[0.0, ninf, 1.0], [2.0, 0.0, 0.0]]), "q_logits": np.array([[0.0, ninf, -1.0],
                                                                                           [0.0, 1.0, 2.0]]),
          "reduction": "none"}),
    ]


@dataclass(frozen=True)
class GoldenCase:
    id: str
    name: str
    kwargs: dict
    value: np.ndarray
    grads: dict[str, np.ndarray]


def _encode(x):
    if x is None or isinstance(x, (str, int)) and not isinstance(x, bool):
        return x
    if isinstance(x, float):
        return {"float": repr(x)}
    a = np.asarray(x)
    if a.dtype.kind in "iu":
        return {"dtype": "int64", "shape": list(a.shape), "data": a.ravel().tolist()}
    return {"dtype": "float64", "shape": list(a.shape), "data": [repr(float(t)) for t in a.ravel()]}


def _decode(x):
    if not isinstance(x, dict):
        return x
    if "float" in x:
        return float(x["float"])
    if x["dtype"] == "int64":
        return np.array(x["data"], dtype=np.int64).reshape(x["shape"])
    return np.array([float(t) for t in x["data"]], dtype=np.float64).reshape(x["shape"])


def _mp_gradient(entry, kwargs: dict, name: str) -> np.ndarray:
    """d(sum of output)/d kwargs[name] (or the Jacobian for vector maps) by 90-digit central differences."""
    import mpmath

    x = np.asarray(kwargs[name], dtype=np.float64)
    with mpmath.workdps(GRAD_DPS):
        h = mpmath.mpf(GRAD_STEP)

        def f(xx):
            out = np.asarray(entry.mp(**{**kwargs, name: xx}), dtype=object)
            if entry.grad_kind == "jacobian":  # masked outputs are the constant -inf: derivative 0
                return np.where(np.isneginf(out.astype(np.float64)), 0, out)
            return np.array(sum(out.ravel().tolist()), dtype=object)

        out_shape = f(x.astype(object)).shape
        grad = np.zeros(out_shape + x.shape)
        for idx in np.argwhere(np.isfinite(x)):
            idx = tuple(idx)
            up, down = x.astype(object), x.astype(object)
            up[idx], down[idx] = mpmath.mpf(float(x[idx])) + h, mpmath.mpf(float(x[idx])) - h
            diff = (f(up) - f(down)) / (2 * h)
            grad[(...,) + idx] = np.vectorize(float, otypes=[np.float64])(diff)
    if entry.grad_kind == "jacobian":  # out[b, i] w.r.t. x[b, j] -> J[b, i, j]
        n = x.shape[-1]
        rows = int(np.prod(x.shape[:-1]))
        full = grad.reshape(rows, n, rows, n)
        return full[np.arange(rows), :, np.arange(rows), :].reshape(x.shape + (n,))
    return grad


def generate() -> dict:
    """Evaluate every case with the mpmath oracle (takes a minute or two)."""
    import mpmath

    from .. import get

    cases = []
    for case_id, name, kwargs in case_inputs():
        entry = get(name)
        value = np.vectorize(float, otypes=[np.float64])(np.asarray(entry.mp(**kwargs), dtype=object))
        grads = {w: _encode(_mp_gradient(entry, kwargs, w)) for w in entry.wrt}
        cases.append({"id": case_id, "name": name, "kwargs": {k: _encode(v) for k, v in kwargs.items()},
                      "value": _encode(value), "grads": grads})
    return {"format": "refloss-golden", "version": VERSION, "value_dps": 50, "grad_dps": GRAD_DPS,
            "grad_step": GRAD_STEP, "mpmath": mpmath.__version__,
            "generator": "python -m refloss.golden.dataset", "cases": cases}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write(payload: dict, path: Path = DATA) -> None:
    text = json.dumps(payload, indent=1) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.with_name(path.name + ".sha256").write_text(f"{_digest(text)}  {path.name}\n")


def load(path: Path = DATA) -> list[GoldenCase]:
    """The stored cases, after checking the file against its recorded SHA-256.

    >>> cases = load()
    >>> cases[0].id, cases[0].value.shape
    ('logsumexp__batch', (4,))
    """
    text = path.read_text()
    recorded = path.with_name(path.name + ".sha256").read_text().split()[0]
    if _digest(text) != recorded:
        raise RefLossError(f"golden data {path.name} does not match its checksum: regenerate it or restore it")
    payload = json.loads(text)
    return [GoldenCase(c["id"], c["name"], {k: _decode(v) for k, v in c["kwargs"].items()}, _decode(c["value"]),
                       {k: _decode(v) for k, v in c["grads"].items()}) for c in payload["cases"]]


def case_error_ulps(case: GoldenCase) -> float:
    """Largest error of refloss on ``case`` in units of epsilon: value relative to itself (below the
    normal range, to the smallest normal), gradients relative to their largest entry."""
    from .. import get

    entry = get(case.name)
    eps, tiny = np.finfo(np.float64).eps, np.finfo(np.float64).tiny
    got = np.asarray(entry.fn(**case.kwargs), dtype=np.float64)
    worst = float(np.max(np.abs(got - case.value) / np.maximum(np.abs(case.value), tiny))) / eps
    grads = entry.grad(**case.kwargs)
    for name, ref in case.grads.items():
        g = np.asarray(grads if len(entry.wrt) == 1 else getattr(grads, name), dtype=np.float64)
        worst = max(worst, float(np.max(np.abs(g - ref))) / max(float(np.abs(ref).max()), tiny) / eps)
    return worst


if __name__ == "__main__":
    write(generate())
    print(f"wrote {DATA}")
