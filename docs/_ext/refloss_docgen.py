"""Generate the registry-driven pages before Sphinx reads any source.

On ``builder-inited`` this writes, from :func:`refloss.catalogue`:

* ``catalogue.rst``: one section per entry, grouped by family (formula, gradient, parameters with
  their domains and defaults, paper, definition, stress points, tolerance, accel twin, link to the API docs);
* ``api/<family>.rst``: the family package's docstring (its notation) and the autodoc of every object's
  module (``refloss/<pillar>/<family>/<name>.py``);
* ``derivations/<family>.rst``: the docstring of the family's proof package (``proofs/<family>/``, imported as
  ``refloss.proofs.<family>``: the notation and facts its objects share), then each object's proof module
  (``proofs/<family>/<name>.py``), whose module docstring is the derivation of that object.

All are build products (see ``docs/.gitignore``); nothing in them is written by hand. A file is
rewritten only when its content changes, so incremental builds stay incremental.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import refloss
from refloss._validate import ArrayArg

HEADER = ".. Generated from refloss.catalogue() by docs/_ext/refloss_docgen.py at build time; do not edit.\n\n"


def _escape(text: str) -> str:
    """Free text (titles, descriptions) as reStructuredText that renders literally."""
    for ch in "\\*`_|":
        text = text.replace(ch, "\\" + ch)
    return text


def _title(text: str, underline: str, overline: bool = False) -> str:
    bar = underline * len(text)
    return (bar + "\n" if overline else "") + f"{text}\n{bar}\n\n"


def _math(latex: str) -> str:
    return ".. math::\n\n" + "".join(f"   {line}\n" for line in latex.strip().splitlines()) + "\n"


def _api_ref(fn) -> str:
    """:func: role to ``fn``'s API entry, shown under its public name (``refloss.x``) where it has one."""
    target = f"{fn.__module__}.{fn.__name__}"
    shown = f"refloss.{fn.__name__}" if getattr(refloss, fn.__name__, None) is fn else target
    return f":func:`{shown} <{target}>`"


def _gradient_field(entry) -> str:
    if entry.grad is None:
        return "none (no closed-form gradient)"
    ref = _api_ref(entry.grad)
    wrt = ", ".join(f"``{name}``" for name in entry.wrt)
    if entry.grad_kind == "jacobian":
        return (f"{ref}: the Jacobian of the output with respect to {wrt}, shape ``{entry.wrt[0]}.shape + (C,)`` "
                "(output index second to last, input index last)")
    if len(entry.wrt) > 1:
        return f"{ref}: a NamedTuple of d(reduced output)/d(input) for {wrt}"
    return f"{ref}: d(reduced output)/d {wrt}, in its shape"


def _paper_field(paper: dict) -> str:
    out = f"*{_escape(paper['title'])}*"
    if paper["arxiv"]:
        out += f", `arXiv:{paper['arxiv']} <https://arxiv.org/abs/{paper['arxiv']}>`__"
    if paper["where"]:
        out += f"; {_escape(paper['where'])}"
    if paper["seed"]:
        out += f" (seed list: ``{paper['seed']}``)"
    return out


def _params_table(entry) -> str:
    if not entry.params:
        return ""
    signature = inspect.signature(entry.fn).parameters
    rows = [("Parameter", "Domain", "Default", "Meaning")]
    for p in entry.params:
        domain = _escape(str(p.domain)) if isinstance(p.domain, ArrayArg) else f"``{p.domain}``"
        if p.optional and not isinstance(p.domain, ArrayArg):
            domain += " or ``None``"
        default = signature[p.name].default if p.name in signature else inspect.Parameter.empty
        default = "required" if default is inspect.Parameter.empty else f"``{default!r}``"
        rows.append((f"``{p.name}``", domain, default, _escape(p.doc) if p.doc else ""))
    out = ".. list-table::\n   :header-rows: 1\n   :widths: 18 37 12 33\n\n"
    for row in rows:
        out += "".join(("   * - " if i == 0 else "     - ") + (cell or " ") + "\n" for i, cell in enumerate(row))
    return out + "\n"


def _proof_module(entry) -> str:
    """``proofs/<family>/<name>.py::<name>`` -> ``refloss.proofs.<family>.<name>``."""
    path = entry.proof.split("::")[0]
    return "refloss.proofs." + path.removeprefix("proofs/").removesuffix(".py").replace("/", ".")


def _tolerance_field(entry) -> str:
    ulps = entry.tolerance.ulps
    out = f"{ulps:g} ulps of the policy in :mod:`refloss.tolerance`"
    if entry.tolerance.reason:
        out += f"; widened: {_escape(entry.tolerance.reason)}"
    return out


def _entry_section(entry) -> str:
    d = entry.as_dict()
    out = f".. _catalogue-{entry.name}:\n\n" + _title(f"``{entry.name}``", "~")
    fields = [
        ("Function", _api_ref(entry.fn)),
        ("Gradient", _gradient_field(entry)),
        ("Paper", _paper_field(d["paper"])),
        ("Definition", f"``{d['proof']}`` (derivation: :doc:`/derivations/{entry.family}`)"),
        ("Stress points", str(len(entry.stress_cases()))),
        ("Tolerance", _tolerance_field(entry)),
        ("accel twin", f":func:`accel.{d['accel']}`" if d["accel"] else "none"),
    ]
    if d["overflow"]:
        fields.append(("Overflow", _escape(d["overflow"])))
    if d["shift_invariant"]:
        fields.append(("Shift invariant in", ", ".join(f"``{n}``" for n in d["shift_invariant"])))
    out += ".. list-table::\n   :stub-columns: 1\n   :widths: 22 78\n\n"
    out += "".join(f"   * - {name}\n     - {value}\n" for name, value in fields) + "\n"
    if d["formula"]:
        out += "Value:\n\n" + _math(d["formula"])
    if d["gradient"]:
        out += "Gradient:\n\n" + _math(d["gradient"])
    return out + _params_table(entry)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _family_title(family: str, titles: dict[str, str]) -> str:
    return titles.get(family) or family.replace("_", " ").capitalize()


def _families(entries) -> dict[str, list]:
    families: dict[str, list] = {}
    for e in entries:
        families.setdefault(e.family, []).append(e)
    return families


def catalogue_rst(entries, titles: dict[str, str]) -> str:
    families = _families(entries)
    out = HEADER + _title("Catalogue", "=")
    out += (
        "Every object registered in refloss, generated from :func:`refloss.catalogue` when these pages are "
        "built; ``refloss list --json`` prints the same records. "
        f"{_count(len(entries), 'object')} in {_count(len(families), 'family', 'families')}. "
        "Notation and conventions: :doc:`conventions`; derivations: one page per family under *Derivations*.\n\n"
    )
    out += ".. list-table::\n   :header-rows: 1\n   :widths: 30 25 45\n\n"
    out += "   * - Object\n     - Family\n     - Source\n"
    for e in entries:
        out += (f"   * - :ref:`{e.name} <catalogue-{e.name}>`\n     - {_escape(_family_title(e.family, titles))}\n"
                f"     - {_escape(e.paper.title)}\n")
    out += "\n"
    for family, members in families.items():
        out += f".. _catalogue-family-{family}:\n\n" + _title(_family_title(family, titles), "-")
        out += "".join(_entry_section(e) for e in members)
    return out


def api_pages(entries, titles: dict[str, str]) -> dict[str, str]:
    """``{family: rst}``: each module is documented once, on the page of the first family it defines."""
    modules: dict[str, str] = {}
    for e in entries:
        modules.setdefault(e.module, e.family)
    pages = {}
    for family, members in _families(entries).items():
        own = sorted(m for m, f in modules.items() if f == family)
        if not own:
            continue
        out = HEADER + _title(_family_title(family, titles), "=")
        out += "Catalogue entries: " + ", ".join(f":ref:`{e.name} <catalogue-{e.name}>`" for e in members) + ".\n\n"
        for package in sorted({m.rpartition(".")[0] for m in own}):
            out += f".. automodule:: {package}\n\n"
        for module in own:
            if len(own) > 1:
                out += _title(f"``{module}``", "-")
            out += f".. automodule:: {module}\n   :members:\n\n"
        pages[family] = out
    return pages


def derivation_pages(entries, titles: dict[str, str]) -> dict[str, str]:
    """``{family: rst}``: the module docstring of each proof module the family's entries name."""
    pages = {}
    for family, members in _families(entries).items():
        modules = sorted({_proof_module(e) for e in members})
        out = HEADER + _title(_family_title(family, titles), "=")
        out += ("Definitions and derivations of " + ", ".join(f":ref:`{e.name} <catalogue-{e.name}>`" for e in members)
                + ", from the docstrings of ``proofs/" + family + "/`` and of its modules "
                + ", ".join(f"``{m.rpartition('.')[2]}.py``" for m in modules) + ".\n\n")
        for package in sorted({m.rpartition(".")[0] for m in modules}):
            out += f".. automodule:: {package}\n\n"
        for module in modules:
            out += _title(f"``{module.rpartition('.')[2]}``", "-") + f".. automodule:: {module}\n\n"
        pages[family] = out
    return pages


def _write_pages(folder: Path, pages: dict[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("*.rst"):
        if stale.stem not in pages:
            stale.unlink()
    for family, text in pages.items():
        _write_if_changed(folder / f"{family}.rst", text)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generate(app) -> None:
    src = Path(app.srcdir)
    entries = refloss.catalogue()
    titles = app.config.refloss_family_titles
    _write_if_changed(src / "catalogue.rst", catalogue_rst(entries, titles))
    _write_pages(src / "api", api_pages(entries, titles))
    _write_pages(src / "derivations", derivation_pages(entries, titles))
    _write_if_changed(src / "conformance.rst", conformance_rst(src / "conformance"))
    record = src / "benchmarks" / "mi_tasks.json"
    _write_if_changed(src / "mi_benchmark.rst", mi_benchmark_rst(record))
    mi_benchmark_figure(record, src / "benchmarks" / "mi_tasks.png")
    taylor_radius_figure(src / "guarantees" / "taylor_radius.png")
    consistency_bound_figure(src / "guarantees" / "consistency_bounds.png")


def _mean_std(values) -> tuple[float, float]:
    import math
    import statistics

    finite = [v for v in values if not math.isnan(v)]
    return (statistics.fmean(finite), statistics.pstdev(finite)) if finite else (math.nan, math.nan)


def mi_benchmark_rst(record_path: Path) -> str:
    """The estimator-by-task page, from the record ``benchmarks/mi_tasks.py --json`` keeps in the docs."""
    import json

    record = json.loads(record_path.read_text(encoding="utf-8"))
    methods = list(record["rows"][0]["estimates"])
    out = HEADER + _title("kNN estimators on ground-truth tasks", "=")
    out += (f"Mean and standard deviation over {record['seeds']} seeds of each estimator at N = {record['n']} "
            f"(k = {record['k']}), on tasks of :mod:`refloss.info.tasks` (benchmark-mi's, \"Beyond Normal\"), "
            "every estimator on the same samples, standardised per coordinate. Regenerate the record with "
            "``python benchmarks/mi_tasks.py --json docs/benchmarks/mi_tasks.json``; the figure is drawn from it "
            "when the docs are built. scikit-learn estimates one feature against a one-dimensional target only "
            "(n/a elsewhere).\n\n")
    out += (".. figure:: benchmarks/mi_tasks.png\n   :alt: estimate over true MI per task and estimator\n"
            "   :width: 100%\n\n")
    out += "   Each estimator's mean estimate divided by the true MI (1: exact), with its standard deviation.\n\n"
    out += ".. list-table::\n   :header-rows: 1\n\n   * - task\n     - dims\n     - true (nats)\n"
    out += "".join(f"     - {_escape(m)}\n" for m in methods)
    for row in record["rows"]:
        out += f"   * - ``{row['task']}``\n     - {row['dim_x']} x {row['dim_y']}\n     - {row['true']:.3f}\n"
        for m in methods:
            mean, std = _mean_std(row["estimates"][m]["values"])
            out += "     - n/a\n" if mean != mean else f"     - {mean:.3f} ± {std:.3f}\n"
    return out + "\n"


def mi_benchmark_figure(record_path: Path, png: Path) -> None:
    """Estimate / true MI per task (rows) and estimator (markers), drawn with matplotlib at build time."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    record = json.loads(record_path.read_text(encoding="utf-8"))
    rows, methods = record["rows"], list(record["rows"][0]["estimates"])
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.2))
    for k, method in enumerate(methods):
        offset = (k - (len(methods) - 1) / 2) * 0.12
        for i, row in enumerate(rows):
            mean, std = _mean_std(row["estimates"][method]["values"])
            if mean == mean:
                ax.errorbar(mean / row["true"], i + offset, xerr=std / row["true"], fmt="o", ms=3.5,
                            color=f"C{k}", label=method if i == 0 else None)
    ax.axvline(1.0, color="0.4", lw=0.8)
    ax.set_yticks(range(len(rows)), [row["task"] for row in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("estimate / true MI")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    png.parent.mkdir(exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def consistency_bound_figure(png: Path) -> None:
    """Gamma_tau(eps), the zero-one excess error a comp-sum surrogate's excess eps guarantees at most, for several
    tau and numbers of classes n (refloss.h_consistency_bound, without minimizability gaps)."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    eps = np.geomspace(1e-4, 1.0, 300)
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
    for ax, n in zip(axes, (2, 10)):
        for k, tau in enumerate((0.0, 0.5, 1.0, 1.5, 2.0)):
            ax.plot(eps, refloss.h_consistency_bound(eps, tau=tau, n=n), color=f"C{k}", label=f"tau = {tau:g}")
        ax.set_xscale("log")
        ax.set_title(f"n = {n} classes", fontsize=9)
        ax.set_xlabel("surrogate excess error")
    axes[0].set_ylabel("bound on the zero-one excess error")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    png.parent.mkdir(exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def radius_example():
    """The step of the guarantees page: one example through a linear head (logits c e, exactly linear in the
    step), three classes, the step along the normalised negative gradient w.r.t. the classifier; returns the logits
    z, the directional derivatives a = v e, the target and the nearest complex zero of the partition function
    (mpmath's findroot from a grid of starting points in the upper half-plane; the zeros come in conjugate pairs)."""
    import mpmath
    import numpy as np

    e, c, y = np.array([1.5, -0.5]), np.array([[1.0, 0.5], [0.2, -1.0], [-0.5, 0.3]]), 1
    z = c @ e
    g = refloss.linear_cross_entropy_grad(e[None], c, np.array([y])).c
    a = (-g / np.linalg.norm(g)) @ e
    with mpmath.workdps(30):
        def partition(t):
            return sum(mpmath.exp(mpmath.mpf(float(zk)) + mpmath.mpf(float(ak)) * t) for zk, ak in zip(z, a))

        zeros = []
        for x in np.linspace(-4.0, 4.0, 9):
            for im in np.linspace(0.5, 6.0, 8):
                root = mpmath.findroot(partition, mpmath.mpc(x, im), maxsteps=60, verify=False)
                if abs(partition(root)) < 1e-15:
                    zeros.append(complex(root))
    return z, a, y, min(zeros, key=abs)


def taylor_radius_figure(png: Path) -> None:
    """The loss along the step and its Taylor polynomials in the step size, which follow it inside the radius
    (the nearest complex zero of the partition function) and leave it beyond; refloss's lower bound marked."""
    import math

    import matplotlib
    import mpmath
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z, a, y, zero = radius_example()
    rho, bound = abs(zero), refloss.softmax_taylor_radius(z, a)
    with mpmath.workdps(40):
        def loss(t):
            return mpmath.log(sum(mpmath.exp(mpmath.mpf(float(zk)) + mpmath.mpf(float(ak)) * t)
                                  for zk, ak in zip(z, a))) - float(z[y]) - float(a[y]) * t

        coefficients = [float(x) for x in mpmath.taylor(loss, 0, 24)]
    taus = np.linspace(0.0, 2.2 * rho, 400)
    exact = np.array([float(loss(t)) for t in taus])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(taus, exact, color="k", lw=2, label="cross-entropy along the step")
    for k, order in enumerate((6, 12, 24)):
        poly = sum(coefficients[n] * taus**n for n in range(order + 1))
        ax.plot(taus, poly, color=f"C{k}", lw=1.2, label=f"Taylor polynomial, order {order}")
    ax.axvline(bound, color="0.3", ls="--", lw=1, label=f"softmax_taylor_radius = {bound:.3f}")
    ax.axvline(rho, color="C3", lw=1, label=f"nearest complex zero, |tau| = {rho:.3f}")
    span = exact.max() - exact.min()
    ax.set_ylim(exact.min() - 0.5 * span, exact.max() + 0.5 * span)
    ax.set_xlabel("step size tau")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    png.parent.mkdir(exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    assert math.isfinite(rho) and bound <= rho


def conformance_rst(folder: Path) -> str:
    """The conformance page, from the records of ``refloss conform FRAMEWORK --json`` kept in ``folder``."""
    import json

    from refloss.conform import FRAMEWORKS
    from refloss.conform._report import rst_page

    records = [json.loads((folder / f"{name}.json").read_text(encoding="utf-8")) for name in FRAMEWORKS
               if (folder / f"{name}.json").is_file()]
    return rst_page(records)


def resolve_public_name(app, env, node, contnode):
    """Resolve ``refloss.name`` to where ``name`` is defined and documented (``refloss.numerics.name``...).

    The package re-exports its public functions; the API pages document them in their own modules, so
    :func:`refloss.cross_entropy` in a page or a docstring would otherwise find no target.
    """
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("refloss.") or target.count(".") != 1:
        return None
    obj = getattr(refloss, target.partition(".")[2], None)
    module, name = getattr(obj, "__module__", None), getattr(obj, "__name__", None)
    if not module or not name or module == "refloss":
        return None
    return env.get_domain("py").resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], f"{module}.{name}", node, contnode)


def drop_type_docstring(app, what, name, obj, options, lines):
    """A module constant (``golden.dataset.VERSION``) has no docstring of its own: do not show its type's."""
    own = type(obj).__doc__
    if what == "data" and lines and own and "\n".join(lines).strip() == inspect.cleandoc(own):
        lines.clear()


def setup(app):
    app.add_config_value("refloss_family_titles", {}, "env")
    app.connect("builder-inited", generate)
    app.connect("missing-reference", resolve_public_name)
    app.connect("autodoc-process-docstring", drop_type_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
