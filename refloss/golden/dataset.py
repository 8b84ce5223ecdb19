"""Golden data: one checksummed JSON file per registered object, generated from its definition.

For other frameworks' test suites (load the inputs, compare your outputs) and for refloss itself (the audit and
the tests require a match under :mod:`refloss.tolerance`). ``data/<name>.json`` holds the entry's named stress
points: the inputs, the value and the gradient with respect to each differentiable input at 25 significant
digits, the condition scale of every element (6 digits: it sets the unit of the tolerance), so that anyone can
apply the same tolerance policy, the working precision that proved the digits (``bits``) and, under
``uncertified``, each element whose digits are not proven with the reason (field -> flat index -> reason).
``data/<name>.json.sha256`` holds its checksum; :func:`load` refuses a file that does not match. Floats of the
inputs are shortest round-trip strings (``repr``), ``-inf`` included.

Oracle: the object's SymPy definition (``proofs/<family>/<name>.py``) and SymPy's derivative of it, evaluated in
Arb ball arithmetic until both ends of every ball round to the stored digits (``docs/verification.rst``, *What
is proven*): neither depends on refloss's float64 code nor on its closed-form gradients.

**The file is the cache of the oracle.** The oracle costs up to a second per stress point, so it runs once, when the
definition or its inputs change, not on every test run (as Boost.Math's generated test data and SciPy's
``_precompute``). The file's ``fingerprint`` records what produced it (:func:`fingerprint`: digests of the
definition's source and of the oracle engine's, of the stress inputs, the differentiated inputs, and the SymPy,
mpmath and python-flint releases); :func:`stale` compares it with the checkout, without SymPy or the oracle, and
the default test tier fails on a stale file, naming ``make golden``, which regenerates exactly the stale files
(``python -m refloss.golden.dataset --stale``; ``python -m refloss.golden.dataset NAME ...`` regenerates the
named ones). The full tier regenerates every file and requires it byte for byte.

The file also stores the LaTeX a reader sees (``formula``, ``gradient``): ``sympy.latex`` of the definition,
generated here and appended to the value's and gradient's docstrings at registration, so no formula is pasted
by hand and a SymPy upgrade is one regeneration commit. Bump :data:`VERSION` when a stored field changes
meaning.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from .. import _fuzz, tolerance
from .._generated import DATA, path_of, stored_formulas  # noqa: F401 - part of this module's interface
from .._validate import RefLossError

VERSION = 4


@dataclass(frozen=True)
class GoldenCase:
    """One stored case: inputs, the oracle's value and gradients rounded to float64 with their condition scales,
    the stored digits themselves (``texts``: ``"value"`` and each input name to the flat list), the working
    precision that proved them (``bits``) and the elements whose digits are not proven (``uncertified``:
    field -> flat index -> reason)."""

    id: str
    name: str
    kwargs: dict
    value: np.ndarray
    value_scale: np.ndarray
    grads: dict[str, np.ndarray]
    grad_scales: dict[str, np.ndarray]
    texts: dict[str, list[str]]
    bits: int
    uncertified: dict[str, dict[str, str]]

    def counts(self) -> tuple[int, int]:
        """(certified, uncertified) stored values and gradient components."""
        total = sum(len(t) for t in self.texts.values())
        unproven = sum(len(u) for u in self.uncertified.values())
        return total - unproven, unproven


def _encode_input(x):
    if x is None or isinstance(x, (str, bool)) or (isinstance(x, (int, np.integer)) and not isinstance(x, bool)):
        return int(x) if isinstance(x, np.integer) else x
    if isinstance(x, (float, np.floating)):
        return {"float": repr(float(x))}
    a = np.asarray(x)
    if a.dtype == np.bool_:  # a where= mask
        return {"dtype": "bool", "shape": list(a.shape), "data": a.ravel().tolist()}
    if a.dtype.kind in "iu":
        return {"dtype": "int64", "shape": list(a.shape), "data": a.ravel().tolist()}
    return {"dtype": "float64", "shape": list(a.shape), "data": [repr(float(t)) for t in a.ravel()]}


def _decode(x):
    if not isinstance(x, dict):
        return x
    if "float" in x:
        return float(x["float"])
    if x["dtype"] in ("int64", "bool"):
        return np.array(x["data"], dtype=x["dtype"]).reshape(x["shape"])
    return np.array([float(t) for t in x["data"]], dtype=np.float64).reshape(x["shape"])


#: The releases of the oracle's toolchain a file was generated with, to the precision that pyproject.toml pins
#: them (a minor release may change SymPy's LaTeX or mpmath's last digits; a patch release may not).
TOOLCHAIN = ("sympy", "mpmath", "python-flint")


def _release(package: str) -> str:
    try:
        return ".".join(metadata.version(package).split(".")[:2])
    except metadata.PackageNotFoundError:
        return "not installed"


def _proofs_dir() -> Path:
    spec = importlib.util.find_spec("refloss.proofs")  # the package's __init__ imports nothing heavy
    return Path(next(iter(spec.submodule_search_locations)))


def _imported(path: Path, root: Path) -> list[Path]:
    """The proof modules that ``path`` imports relatively (``from ._common import``, ``from ..x.y import``)."""
    out = []
    for dots, dotted in re.findall(r"^from (\.+)([\w.]*) import", path.read_text(), re.M):
        base = path.parent
        for _ in range(len(dots) - 1):
            base = base.parent
        target = base.joinpath(*dotted.split(".")) if dotted else base
        for candidate in (target.with_suffix(".py"), target / "__init__.py"):
            if candidate.is_file() and root in candidate.parents:
                out.append(candidate)
    return out


def _definition_sources(entry) -> list[Path]:
    """The files whose text determines the entry's definition and oracle: its proof module and every proof module
    it imports (its family's shared parts, another object's definition, the engine's views and tactics), and the
    oracle (``proofs/_oracle.py``) with what it imports; the engine's modules (``proofs/_*.py``) last, sorted. A
    new engine module (a view no definition uses yet) leaves every file fresh."""
    root = _proofs_dir()
    todo, seen = [root / "_oracle.py", root / entry.proof.split("::")[0].removeprefix("proofs/")], []
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.append(path)
        todo += _imported(path, root)
    engine = sorted(p for p in seen if p.parent == root and p.name.startswith("_"))
    return [p for p in seen if p not in engine] + engine


def _inputs(cases: dict) -> list:
    return [[case_id, {k: _encode_input(v) for k, v in sorted(kwargs.items())}] for case_id, kwargs in cases.items()]


def fingerprint(entry) -> dict:
    """What the entry's golden file depends on, as digests and release numbers (no SymPy import needed)."""
    definition = hashlib.sha256()
    for path in _definition_sources(entry):
        definition.update(path.relative_to(_proofs_dir()).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return {"version": VERSION,
            "definition": definition.hexdigest(),
            "stress": _digest(json.dumps(_inputs(entry.stress_cases()), sort_keys=True)),
            "extreme": _digest(json.dumps(_inputs(_fuzz.oracle_cases(entry)), sort_keys=True)),
            "wrt": list(entry.wrt), "grad_kind": entry.grad_kind,
            **{package: _release(package) for package in TOOLCHAIN}}


_WHY = {"version": "the golden format changed", "definition": "the definition or the oracle engine changed",
        "stress": "the stress points changed", "extreme": "the extreme inputs of refloss._fuzz changed",
        "wrt": "the differentiated inputs changed",
        "grad_kind": "the gradient's kind changed",
        **{package: f"the installed {package} release differs" for package in TOOLCHAIN}}


def stale(name: str) -> list[str]:
    """Why the stored golden file of ``name`` no longer matches what would generate it ([] when fresh)."""
    from .._registry import get

    path = path_of(name)
    if not path.is_file():
        return ["no golden file"]
    stored = json.loads(path.read_text()).get("fingerprint", {})
    current = fingerprint(get(name))
    return [f"{_WHY[key]} ({key}: stored {stored.get(key)!r}, now {value!r})" for key, value in current.items()
            if stored.get(key) != value]


def generate(name: str) -> dict:
    """The oracle of the entry's definition at its stress points and extreme inputs, and its LaTeX."""
    from .._oracle import decimal_text, definition_of, latex, reference, stored_digits
    from .._registry import get

    entry = get(name)
    definition = definition_of(entry)
    gradient = definition.gradient_formula()
    digits, scale_digits = stored_digits()

    def exact(texts) -> dict:
        return {"dtype": "float64", "shape": list(texts.shape), "data": list(texts.flat)}

    def scales(arr) -> dict:
        arr = np.asarray(arr, dtype=object)
        return {"dtype": "float64", "shape": list(arr.shape), "data": [decimal_text(x, scale_digits) for x in arr.flat]}

    def evaluated(cases: dict) -> list[dict]:
        out = []
        for case_id, kwargs in cases.items():
            ref = reference(entry, kwargs)
            out.append({"id": f"{name}__{case_id}", "kwargs": {k: _encode_input(v) for k, v in kwargs.items()},
                        "value": exact(ref.text["value"]), "value_scale": scales(ref.value_scale),
                        "grads": {w: exact(ref.text[w]) for w in ref.grads},
                        "grad_scales": {w: scales(g) for w, g in ref.grad_scales.items()},
                        "bits": ref.bits, "uncertified": ref.uncertified()})
        return out

    return {"format": "refloss-golden", "version": VERSION, "name": name, "digits": digits,
            "oracle": f"{entry.proof} (SymPy definition) in Arb ball arithmetic, "
                      f"python-flint {_release('python-flint')}",
            "certified": "every digit of a value or gradient component is proven (both ends of an Arb enclosure "
                         "of the exact value round to it) unless the case's 'uncertified' names it (field -> "
                         "flat index -> reason)",
            "policy": f"|got - value| <= {tolerance.ULPS} * 2^-52 * max(|value| + scale, 2^-1022), elementwise",
            "generator": f"python -m refloss.golden.dataset {name}",
            "fingerprint": fingerprint(entry),
            "formula": latex(definition.formula()),
            "gradient": latex(gradient) if gradient is not None else "",
            "cases": evaluated(entry.stress_cases()),
            "extreme": evaluated(_fuzz.oracle_cases(entry))}


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


def load(name: str, path: Path | None = None, section: str = "cases") -> list[GoldenCase]:
    """The stored cases of one object, after checking the file against its recorded SHA-256: its stress
    points (``section="cases"``), or the extreme finite inputs of ``refloss._fuzz.oracle_cases``
    (``section="extreme"``).

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
                       {k: _decode(v) for k, v in c["grad_scales"].items()},
                       {"value": c["value"]["data"], **{k: v["data"] for k, v in c["grads"].items()}},
                       c["bits"], c["uncertified"]) for c in payload[section]]


def same_inputs(a: dict, b: dict) -> bool:
    """The same arguments: equal keys, arrays of equal shape, dtype and entries, scalars of equal type and value."""
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
                    and x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)):
                return False
        elif x != y or type(x) is not type(y):
            return False
    return True


@dataclass(frozen=True)
class CachedReference:
    """The oracle's answer read from a golden file, in the fields of the live oracle's ``Reference`` (float64
    arrays: the stored 25 digits rounded, which is all a float64 comparison uses)."""

    value: np.ndarray
    value_scale: np.ndarray
    grads: dict
    grad_scales: dict


def cached_reference(entry, case: dict):
    """The oracle's answer for ``case``: read from the entry's golden file where ``case`` is one of its stored
    stress points and the file is fresh, else evaluated now (``refloss._oracle.reference``). For suites
    that judge another implementation at the stress points (the accel twins), at the cost of a file read."""
    from .._oracle import reference

    if path_of(entry.name).is_file() and not stale(entry.name):
        for stored in load(entry.name):
            if same_inputs(stored.kwargs, case):
                return CachedReference(stored.value, stored.value_scale, stored.grads, stored.grad_scales)
    return reference(entry, case)


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


def main(argv: list[str]) -> int:
    """``python -m refloss.golden.dataset [--stale] [NAME ...]``: regenerate the named files (default: all), or
    with ``--stale`` only those whose fingerprint no longer matches (what ``make golden`` runs)."""
    import time

    from .._registry import catalogue

    only_stale = "--stale" in argv
    names = [a for a in argv if a != "--stale"] or [e.name for e in catalogue()]
    for name in names:
        reasons = stale(name)
        if only_stale and not reasons:
            continue
        start = time.perf_counter()
        path = write(generate(name))
        why = f" ({'; '.join(reasons)})" if reasons else ""
        print(f"wrote {path.name} in {time.perf_counter() - start:.1f} s{why}", flush=True)
    return 0


if __name__ == "__main__":
    import sys

    import refloss  # noqa: F401 - registers every entry

    raise SystemExit(main(sys.argv[1:]))
