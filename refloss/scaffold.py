"""``refloss new NAME --family FAMILY``: add an object the way the project expects, in one command run twice.

The first run writes the object's two homes as stubs, marked ``TODO(refloss new)``:

* ``refloss/<pillar>/<family>/<name>.py``: the registration, the value function and its closed-form gradient
  directly below it, with the docstring's sections to fill;
* ``proofs/<family>/<name>.py``: the definition (the row function written from the paper, the closed form,
  the proof, the paper's defaults) and the derivation in its docstring,

plus the family's two packages if the family is new. It prints what to fill and the accuracy traps to check
(``docs/verification.rst``, *Accuracy traps*). Once no marker is left, the same command generates the
object's golden file (the oracle at its stress points and extreme inputs, the formula a reader sees) and runs
the default tier's audit of the object in a fresh process (the new formula is read at import), timing each
step. It needs a checkout (``pip install -e .``): it writes source files.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

MARKER = "TODO(refloss new)"
PILLARS = ("losses", "info")
KINDS = ("row", "logits")

TRAPS = """\
Accuracy traps and the project's remedies (docs/verification.rst, "Accuracy traps"):
  1. p_y - 1, 1 - p: never by subtraction; expm1(log p_y), -expm1(log p) from the log-softmax.
  2. log p + H, log p - log q, q - p: from differences of logits (or the phi/exprel series), not of rounded logs.
  3. (e^x - 1)/x, log(1 + x): exprel, expm1, log1p; a parameter's removable singularity (tau = 1, q -> 1) is a
     branch of the definition and the limit of the float64 form, not a special case that jumps.
  4. A loss near 0 (a confident row): a sum of non-negative terms; no log C or constant subtracted from a total.
  5. A parameter that enters the logits (temperature, margin, scale): apply it to logit differences; stress it
     with cases.softmax_stress(through=...), so that the effective gaps are 15 to 80.
  6. Masks and one class: 0 log 0 = 0 (numerics.plogq); a masked target gives +inf and a gradient that raises.
  7. Extremes: shift by the row maximum before exp (logits to 1.7e308); (1 - p)^gamma as
     numerics.power_of_exp; a mean whose sum would overflow.
"""


def _root() -> Path:
    root = Path(__file__).resolve().parent.parent
    if not (root / "proofs").is_dir() or not (root / "pyproject.toml").is_file():
        raise SystemExit("refloss new writes source files: run it from a checkout (pip install -e .)")
    return root


def _family_package(root: Path, family: str, pillar: str | None) -> Path:
    found = [p for p in [root / "refloss" / family] + [root / "refloss" / x / family for x in PILLARS] if p.is_dir()]
    if found:
        return found[0]
    if pillar is None:
        raise SystemExit(f"family {family!r} is new: say where it belongs with --pillar {'|'.join(PILLARS)}")
    return root / "refloss" / pillar / family


def _params(specs: list[str]) -> list[tuple[str, float]]:
    out = []
    for spec in specs:
        name, _, default = spec.partition("=")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or not default:
            raise SystemExit(f"--param takes NAME=DEFAULT (the paper's default), got {spec!r}")
        out.append((name, float(default)))
    return out


def source_stub(name: str, family: str, kind: str, params: list[tuple[str, float]]) -> str:
    target = kind == "row"
    args = "logits: ArrayLike" + (", target: ArrayLike" if target else "")
    kw = "".join(f"{p}: float = {d!r}, " for p, d in params) + 'reduction: str = "mean"'
    declared = ['Param("logits", v.LOGITS)'] + (['Param("target", v.CLASS_TARGETS)'] if target else [])
    declared += [f'Param("{p}", v.Interval(0.0), "{MARKER}: meaning and domain")' for p, _ in params]
    declared += ['Param("reduction", v.REDUCTIONS, "\'mean\' over rows | \'sum\' | \'none\'")']
    param_decls = "".join(f"        {d},\n" for d in declared)
    stress_values = ", ".join(f"{p}=({d!r},)" for p, d in params)
    return f'''"""``{name}``: {MARKER}: one line; value, closed-form gradient, registration."""

from __future__ import annotations

from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._registry import Paper, Param, gradient_of, register

_PAPER = Paper("{MARKER}: the paper's title", arxiv=None, where="{MARKER}: section, equation")


@register(
    name="{name}",
    family="{family}",
    wrt=("logits",),
    params=(
{param_decls}    ),
    paper=_PAPER,
    # {MARKER}: the parameter values whose ends and special points matter; cases.softmax_stress(through=...)
    # where a parameter enters the logits
    stress=lambda: cases.softmax_stress(targets={target}, {stress_values}),
)
def {name}({args}, *, {kw}):
    r"""{MARKER}: what it is, in one sentence.

    .. math:: {MARKER}

    Conventions: the class axis is last; {MARKER}: masked classes, one class, the denominator of "mean".
    Gradient: :func:`{name}_grad`.

    >>> {MARKER}

    Reference: {MARKER}.
    """
    raise NotImplementedError("{MARKER}")


@gradient_of("{name}")
def {name}_grad({args}, *, {kw}):
    r"""d(reduced output)/d logits, in their shape: {MARKER}.

    >>> {MARKER}
    """
    raise NotImplementedError("{MARKER}")
'''


def proof_stub(name: str, kind: str, params: list[tuple[str, float]]) -> str:
    target = kind == "row"
    names = [p for p, _ in params]
    symbols = "".join(f'{p.upper()} = sp.Symbol("{p}")\n' for p in names)
    row_args = "".join(f", {p}" for p in names)
    generic = "".join(f", {p.upper()}" for p in names)
    defaults = ", ".join([f'"{p}": {d!r}' for p, d in params] + ['"reduction": "mean"'])
    symbol_of = ", ".join(f'"{p}": {p.upper()}' for p in names)
    generic_row = "GenericRow()" if target else "GenericRow(y=False)"
    return f'''r"""``{name}``: the definition and its machine-checked derivation.

**Definition** ({MARKER}: the paper, its equation).

**Gradient.** {MARKER}: the closed form, step by step.

**Evaluation.** {MARKER}: the float64 form and why it keeps its digits (``refloss new`` printed the traps).
"""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from .._tactics import prove_row_gradient
from .._views import GenericRow, reduce, rows

{symbols}

def {name}(row{row_args}):
    """{MARKER}: the loss of one row, from the paper, in ``row.p(j)``, ``row.log_p(j)``, ``row.z(j)``,
    ``row.sum(term)``{', ``row.y``' if target else ''}."""
    raise NotImplementedError


def {name}_gradient(row, j{row_args}):
    """{MARKER}: the closed form that ``{name}_grad`` implements, d ell / d z_j."""
    raise NotImplementedError


def _prove():
    prove_row_gradient({name}, {name}_gradient, "{name}",
                       targets={target}, params={{{symbol_of}}})


define(
    "{name}",
    # the paper's defaults, which the signature must repeat: {MARKER}: where the paper states them
    defaults={{{defaults}}},
    build=lambda case: reduce(rows(case, {name}, target={'"target"' if target else 'None'},
                                   params={tuple(names)!r}), case["reduction"]),
    formula=lambda: ell({name}({generic_row}{generic})),
    gradient_formula=lambda: partial(
        {name}_gradient({generic_row}, sp.Symbol("j"){generic})),
    prove=_prove,
)
'''


def _write_new(path: Path, text: str, written: list[Path]) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)


def run(name: str, family: str, *, pillar: str | None = None, kind: str = "row", params: list[str] = ()) -> int:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise SystemExit(f"NAME must be a lower-case Python name, got {name!r}")
    root = _root()
    package = _family_package(root, family, pillar)
    source, proof = package / f"{name}.py", root / "proofs" / family / f"{name}.py"
    written: list[Path] = []
    parsed = _params(list(params))
    family_doc = f'"""The {family} family: {MARKER}: its notation and what its objects share."""\n'
    _write_new(package / "__init__.py", family_doc, written)
    proof_doc = f'r"""The {family} family\'s definitions: {MARKER}: the notation and facts its objects share."""\n'
    _write_new(root / "proofs" / family / "__init__.py", proof_doc, written)
    _write_new(source, source_stub(name, family, kind, parsed), written)
    _write_new(proof, proof_stub(name, kind, parsed), written)
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    left = [p for p in (source, proof, package / "__init__.py", root / "proofs" / family / "__init__.py")
            if MARKER in p.read_text()]
    if left:
        print(f"\nFill in every {MARKER} in:")
        for path in left:
            print(f"  {path.relative_to(root)}")
        print("then run the same command again: it generates the golden file and audits the object.\n")
        print(TRAPS)
        return 1
    steps = [("golden file (oracle, formula)", [sys.executable, "-m", "refloss.golden.dataset", name]),
             ("audit, default tier", [sys.executable, "-m", "refloss", "audit", "--tier", "default", name])]
    for label, command in steps:
        start = time.perf_counter()
        print(f"== {label}: {' '.join(command[1:])}", flush=True)
        code = subprocess.call(command, cwd=root)
        print(f"== {label}: {time.perf_counter() - start:.1f} s, exit {code}", flush=True)
        if code:
            return code
    print(f"\nDone: run `make test` (and `make test-full` before resolving the issue); `refloss show {name}`.")
    return 0
