r"""``knn_kl_divergence``: the definition and its machine-checked derivation.

**Definition** (Wang, Kulkarni and Verdu 2009, eq. 5). From N samples :math:`x_i` of P and M samples
:math:`y_j` of Q in d dimensions,

.. math:: \hat D(P \,\|\, Q) = \log\frac{M}{N - 1} + \frac{d}{N} \sum_{i=1}^N \log\frac{\nu_k(i)}{\rho_k(i)},

:math:`\rho_k(i)` the distance from :math:`x_i` to its k-th nearest other x, :math:`\nu_k(i)` to its k-th nearest
y. It is the difference of two Kozachenko-Leonenko-type estimates at the points of P, of :math:`-\log q` and
:math:`-\log p`; the unit-ball volumes and :math:`\psi(k)` cancel between them, so any norm gives the same
formula (the paper states it with the Euclidean one).

**Gradient.** As for ``kl_entropy``: with the neighbours fixed,
:math:`\partial \hat D / \partial x_m = \frac{d}{N}\big[\nabla\log\nu_k(m) - \nabla\log\rho_k(m) + \sum_{i: j(i)
= m} \nabla\log\rho_k(i)\big]` and :math:`\partial \hat D / \partial y_l = -\frac{d}{N} \sum_{i: l(i) = l}
\nabla \log \nu_k(i)`, each :math:`\nabla \log \|x_i - z\|` taken w.r.t. :math:`x_i`.

**Checked** (``_prove_knn_kl``): SymPy's derivative of the definition equals the closed form the registered
gradient implements (the function is called on the exact points and compared at them), for both norms, on 5 + 4
points in 2 dimensions; the estimate is invariant under a common translation and scaling of both samples.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from .._arb import ball, compile_expressions, to_mpf
from .._definitions import define, ell, partial
from .._structured_views import GenericSamples, Samples
from .._tactics import assert_identity
from ._common import as_points, unit


def divergence_terms(view: Samples, n: int, k: int) -> list[sp.Expr]:
    """log(M/(N-1)) and each (d/N) log nu_k(i), -(d/N) log rho_k(i), on the stacked view (x first, then y)."""
    m, d = view.N - n, view.d
    terms = [sp.log(sp.Rational(m, n - 1))]
    for i in range(n):
        within = sorted((j for j in range(n) if j != i), key=lambda j: (view.exact_distance(i, j), j))[k - 1]
        across = sorted(range(n, view.N), key=lambda j: (view.exact_distance(i, j), j))[k - 1]
        terms += [sp.Rational(d, n) * sp.log(view.distance(i, across)),
                  -sp.Rational(d, n) * sp.log(view.distance(i, within))]
    return terms


def divergence(view: Samples, n: int, k: int) -> sp.Expr:
    """log(M/(N-1)) + (d/N) sum_i log(nu_k(i) / rho_k(i))."""
    return sp.Add(*divergence_terms(view, n, k))


def _view(x_values, y_values, x_points=None, y_points=None, norm="max") -> tuple[Samples, int]:
    x, y = as_points(x_values), as_points(y_values)
    points = None
    if x_points is not None:
        points = np.vstack([np.asarray(x_points, dtype=object).reshape(x.shape),
                            np.asarray(y_points, dtype=object).reshape(y.shape)])
    return Samples(np.vstack([x, y]), points, norm=norm), len(x)


def _build(case, exact):
    view, n = _view(exact["x"], exact["y"], case["x"], case["y"], case["norm"])
    return divergence(view, n, case["k"]) / unit(case["base"])


def _term_scale(arguments: dict, bits: int):
    """The magnitudes of the summed logs: each is rounded once by a float64 implementation (at points near 1e308
    each is about 709, and they cancel)."""
    view, n = _view(arguments["x"], arguments["y"], norm=arguments["norm"])
    total = sp.Add(*[sp.Abs(t) for t in divergence_terms(view, n, arguments["k"])]) / sp.Abs(unit(arguments["base"]))
    shapes = {name: as_points(arguments[name]).shape for name in ("x", "y")}
    return (to_mpf(ball(compile_expressions([total], []).evaluate([], bits)[0])),
            {name: np.full(shape, mpmath.mpf(0), dtype=object) for name, shape in shapes.items()})


def _prove_knn_kl():
    import refloss

    knn_kl_divergence_grad = refloss.get("knn_kl_divergence").grad  # the registered closed form, through its entry

    x = np.array([[0.0, 0.5], [1.0, -0.25], [3.0, 2.0], [-1.5, 0.75], [0.25, 3.5]])
    y = np.array([[2.0, -2.0], [0.5, 1.25], [-1.0, -1.0], [1.75, 0.5]])
    xs = np.array([[sp.Symbol(f"x{i}{c}", real=True) for c in range(2)] for i in range(5)], dtype=object)
    ys = np.array([[sp.Symbol(f"y{i}{c}", real=True) for c in range(2)] for i in range(4)], dtype=object)
    point = {**{xs[i, c]: sp.Rational(*float(x[i, c]).as_integer_ratio()) for i in range(5) for c in range(2)},
             **{ys[i, c]: sp.Rational(*float(y[i, c]).as_integer_ratio()) for i in range(4) for c in range(2)}}
    for norm in ("max", "euclidean"):
        view, n = _view(x, y, xs, ys, norm)
        value = divergence(view, n, 2)
        closed = knn_kl_divergence_grad(x, y, k=2, norm=norm)  # every entry exact at these points but the rounding
        for arr, g in ((xs, closed.x), (ys, closed.y)):
            for index in np.ndindex(arr.shape):
                derivative = sp.diff(value, arr[index]).subs(point)
                if abs(float(derivative) - g[index]) > 1e-15 * max(1.0, abs(float(derivative))):
                    raise AssertionError(f"{norm}: d/d{arr[index]} = {derivative}, the closed form gives {g[index]}")
        moved, _ = _view(x * 4 + 3, y * 4 + 3, norm=norm)
        assert_identity(divergence(moved, 5, 2), divergence(_view(x, y, norm=norm)[0], 5, 2),
                        f"{norm}: invariant under a common translation and scaling")


def _formula():
    s = GenericSamples()
    m = sp.Symbol("M", positive=True, integer=True)
    nu, rho = sp.IndexedBase("nu_k"), sp.IndexedBase("rho_k")
    return ell(sp.log(m / (s.N - 1)) + s.d * s.mean(lambda i: sp.log(nu[i]) - sp.log(rho[i])), r"\hat{D}")


def _gradient_formula():
    s = GenericSamples()
    i, l_ = sp.symbols("i l", integer=True)
    x, y, j = sp.IndexedBase("x"), sp.IndexedBase("y"), sp.Function("l")
    nu = sp.IndexedBase("nu_k")
    term = sp.KroneckerDelta(l_, j(i)) * (x[i] - y[l_]) / nu[i] ** 2
    return partial(-s.d / s.N * sp.Sum(term, (i, 1, s.N)), wrt="y_{l}", of=r"\hat{D}")


define(
    "knn_kl_divergence",
    # k = 3 as for the family (NPEET's default; the paper fixes none); NPEET's max-norm; nats
    defaults={"k": 3, "norm": "max", "base": None},
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove_knn_kl,
    intermediate_scales=_term_scale,
    exact_inputs=("x", "y"),
)
