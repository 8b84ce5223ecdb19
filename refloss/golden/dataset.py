"""Golden data: one checksummed JSON file per registered object, generated from its definition.

For other frameworks' test suites (load the inputs, compare your outputs) and for refloss itself (the audit and
the tests require a match under :mod:`refloss.tolerance`). ``data/<name>.json`` holds the entry's named stress
points: the inputs, the value and the gradient with respect to each differentiable input at 25 significant
digits of the 50-digit oracle, and the condition scale of every element (6 digits: it sets the unit of the
tolerance), so that anyone can apply the same tolerance policy. ``data/<name>.json.sha256`` holds its checksum;
:func:`load` refuses a file that does not match. Floats of the inputs are shortest round-trip strings
(``repr``), ``-inf`` included.

Oracle: the object's SymPy definition (``proofs/check_<family>.py``), evaluated by mpmath with as many digits
as it needs, and SymPy's derivative of it: neither depends on refloss's float64 code nor on its closed-form
gradients. Regenerate with ``python -m refloss.golden.dataset [NAME ...]``; bump :data:`VERSION` of a file
when a stored value changes meaning (not when an input is added).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import tolerance
from .._validate import RefLossError

VERSION = 2
DATA = Path(__file__).with_name("data")
DIGITS = 25  # of the 50 correct ones, enough to round to float64 (17) with room to spare
SCALE_DIGITS = 6  # a condition scale sets the unit of the tolerance; it is not a value to match


def path_of(name: str) -> Path:
    return DATA / f"{name}.json"


@dataclass(frozen=True)
class GoldenCase:
    id: str
    name: str
    kwargs: dict
    value: np.ndarray
    value_scale: np.ndarray
    grads: dict[str, np.ndarray]
    grad_scales: dict[str, np.ndarray]


def _encode_input(x):
    if x is None or isinstance(x, (str, bool)) or (isinstance(x, (int, np.integer)) and not isinstance(x, bool)):
        return int(x) if isinstance(x, np.integer) else x
    if isinstance(x, (float, np.floating)):
        return {"float": repr(float(x))}
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


def _encode_exact(arr, digits: int = DIGITS) -> dict:
    import mpmath

    a = np.asarray(arr, dtype=object)
    return {"dtype": "float64", "shape": list(a.shape),
            "data": [mpmath.nstr(t, digits, min_fixed=1, max_fixed=0) if mpmath.isfinite(t) else str(float(t))
                     for t in a.ravel()]}


def generate(name: str) -> dict:
    """Evaluate the entry's stress points with the oracle of its definition."""
    import mpmath

    from .. import get
    from .._oracle import reference

    entry = get(name)
    out = []
    for case_id, kwargs in entry.stress_cases().items():
        ref = reference(entry, kwargs)
        out.append({"id": f"{name}__{case_id}", "kwargs": {k: _encode_input(v) for k, v in kwargs.items()},
                    "value": _encode_exact(ref.value), "value_scale": _encode_exact(ref.value_scale, SCALE_DIGITS),
                    "grads": {w: _encode_exact(g) for w, g in ref.grads.items()},
                    "grad_scales": {w: _encode_exact(g, SCALE_DIGITS) for w, g in ref.grad_scales.items()}})
    return {"format": "refloss-golden", "version": VERSION, "name": name, "digits": DIGITS,
            "oracle": f"{entry.proof} (SymPy definition), mpmath {mpmath.__version__}",
            "policy": f"|got - value| <= {tolerance.ULPS} * 2^-52 * max(|value| + scale, 2^-1022), elementwise",
            "generator": f"python -m refloss.golden.dataset {name}", "cases": out}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dumps(payload: dict) -> str:
    return json.dumps(payload, indent=1) + "\n"


def write(payload: dict) -> Path:
    path = path_of(payload["name"])
    text = dumps(payload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.with_name(path.name + ".sha256").write_text(f"{_digest(text)}  {path.name}\n")
    return path


def load(name: str, path: Path | None = None) -> list[GoldenCase]:
    """The stored cases of one object, after checking the file against its recorded SHA-256.

    >>> cases = load("logsumexp")
    >>> cases[0].id, cases[0].value.shape
    ('logsumexp__gaps__target_dominant', (7,))
    """
    path = path or path_of(name)
    if not path.is_file():
        raise RefLossError(f"no golden data for {name!r}: run python -m refloss.golden.dataset {name}")
    text = path.read_text()
    recorded = path.with_name(path.name + ".sha256").read_text().split()[0]
    if _digest(text) != recorded:
        raise RefLossError(f"golden data {path.name} does not match its checksum: regenerate it or restore it")
    payload = json.loads(text)
    return [GoldenCase(c["id"], payload["name"], {k: _decode(v) for k, v in c["kwargs"].items()},
                       _decode(c["value"]), _decode(c["value_scale"]),
                       {k: _decode(v) for k, v in c["grads"].items()},
                       {k: _decode(v) for k, v in c["grad_scales"].items()}) for c in payload["cases"]]


def case_error_ulps(case: GoldenCase) -> float:
    """Largest error of refloss on ``case`` under the tolerance policy: value and every gradient component."""
    from .. import get
    from .._oracle import gradient_components

    entry = get(case.name)
    worst = tolerance.worst_ulps(np.asarray(entry.fn(**case.kwargs), dtype=np.float64), case.value, case.value_scale)
    if case.grads:
        got = gradient_components(entry, entry.grad(**case.kwargs))
        for name, ref in case.grads.items():
            worst = max(worst, tolerance.worst_ulps(got[name], ref, case.grad_scales[name]))
    return worst


if __name__ == "__main__":
    import sys

    from .. import catalogue

    for entry_name in sys.argv[1:] or [e.name for e in catalogue()]:
        print(f"wrote {write(generate(entry_name))}")
