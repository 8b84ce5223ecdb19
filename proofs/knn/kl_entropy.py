r"""``kl_entropy``: the definition and its machine-checked derivation.

**Definition** (Kozachenko and Leonenko 1987, as Kraskov et al. 2004 write it in eq. 20). With
:math:`\epsilon_i` the distance from point i to its k-th nearest other point and :math:`c_d` the volume of the unit
ball of the norm,

.. math:: \hat H = \psi(N) - \psi(k) + \log c_d + \frac{d}{N} \sum_{i=1}^N \log \epsilon_i ,
          \qquad c_d = 2^d \ (\text{max-norm}), \quad c_d = \frac{\pi^{d/2}}{\Gamma(d/2 + 1)} \ (\text{Euclidean}).

Kraskov et al. measure :math:`\epsilon_i` as twice the distance and take :math:`c_d = 1` in the max-norm; the two
forms agree term by term, :math:`d \log(2 \epsilon) = \log 2^d + d \log \epsilon`.

**Gradient.** The neighbour j(i) is fixed where no tie decides it, so only :math:`\log\epsilon_i` moves:

.. math:: \frac{\partial \hat H}{\partial x_m} = \frac{d}{N} \sum_i
          \big(\delta_{m i} - \delta_{m j(i)}\big)\, \nabla \log \epsilon_i, \qquad
          \nabla \log \epsilon_i = \frac{x_i - x_{j(i)}}{\epsilon_i^2} \ (\text{Euclidean}),

and in the max-norm :math:`e_c / (x_{i,c} - x_{j(i),c})` at the coordinate c that attains the maximum. The
float64 code scales each difference by its largest coordinate before squaring (no overflow or underflow) and adds
the other coordinates' share with ``log1p``.

**Checked** (``_prove_kl_entropy``): SymPy's derivative of the definition equals the closed form the registered
gradient implements, for both norms, on 6 exact points in 2 dimensions (symbols for every coordinate, the
neighbours decided on the exact values); the value is invariant under a translation and moves by
:math:`d \log a` under a scaling by a; for N = 2, k = 1 in one dimension it is
:math:`\psi(2) - \psi(1) + \log 2 + \log|x_1 - x_2| = 1 + \log(2|x_1 - x_2|)`.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from .._arb import ball, compile_expressions, to_mpf
from .._definitions import define, ell, partial
from .._structured_views import GenericSamples, Samples
from .._tactics import assert_identity
from ._common import as_points, psi, unit


def log_unit_ball(d: int, norm: str) -> sp.Expr:
    return d * sp.log(2) if norm == "max" else sp.Rational(d, 2) * sp.log(sp.pi) - sp.loggamma(sp.Rational(d, 2) + 1)


def entropy(samples: Samples, k: int) -> sp.Expr:
    """psi(N) - psi(k) + log c_d + (d/N) sum_i log eps_i, the neighbours decided on the exact points."""
    n, d = samples.N, samples.d
    logs = [sp.log(samples.distance(i, samples.kth_neighbour(i, k))) for i in range(n)]
    return psi(n) - psi(k) + log_unit_ball(d, samples.norm) + sp.Rational(d, n) * sp.Add(*logs)


def entropy_gradient(samples: Samples, k: int, m: int, c: int) -> sp.Expr:
    """The closed form of refloss.kl_entropy_grad at coordinate c of point m."""
    n, d = samples.N, samples.d
    total = sp.S.Zero
    for i in range(n):
        j = samples.kth_neighbour(i, k)
        sign = (m == i) - (m == j)
        if not sign:
            continue
        if samples.norm == "euclidean":
            diffs = [samples.x(i, a) - samples.x(j, a) for a in range(d)]
            total += sign * diffs[c] / sp.Add(*[t**2 for t in diffs])
        elif c == _attaining(samples, i, j):
            total += sign / (samples.x(i, c) - samples.x(j, c))
    return sp.Rational(d, n) * total


def _attaining(samples: Samples, i: int, j: int) -> int:
    """The coordinate of the max-norm distance of points i and j (the first of equal ones), as Samples takes it."""
    exact = [abs(a - b) for a, b in zip(samples.exact_point(i), samples.exact_point(j))]
    return max(range(samples.d), key=lambda a: exact[a])


def _samples(values, points=None, norm="max") -> Samples:
    shape = as_points(values).shape
    return Samples(as_points(values), None if points is None else np.asarray(points, dtype=object).reshape(shape),
                   norm=norm)


def _build(case, exact):
    view = _samples(exact["x"], case["x"], case["norm"])
    return entropy(view, case["k"]) / unit(case["base"])


def _term_scale(arguments: dict, bits: int):
    """The magnitudes of the summed terms (psi(N), psi(k), log c_d, each (d/N) log eps_i): each is rounded once by
    a float64 implementation, which varying the points alone does not show where they cancel."""
    view = _samples(arguments["x"], norm=arguments["norm"])
    n, d, k = view.N, view.d, arguments["k"]
    logs = [sp.Abs(sp.log(view.distance(i, view.kth_neighbour(i, k)))) for i in range(n)]
    total = (sp.Abs(psi(n)) + sp.Abs(psi(k)) + sp.Abs(log_unit_ball(d, view.norm)) + sp.Rational(d, n) * sp.Add(*logs))
    total = total / sp.Abs(unit(arguments["base"]))
    scale = to_mpf(ball(compile_expressions([total], []).evaluate([], bits)[0]))
    return scale, {"x": np.full(as_points(arguments["x"]).shape, mpmath.mpf(0), dtype=object)}


def _prove_kl_entropy():
    values = np.array([[0.0, 0.5], [1.0, -0.25], [3.0, 2.0], [-1.5, 0.75], [0.25, 3.5], [2.0, -2.0]])
    symbols = np.array([[sp.Symbol(f"x{i}{c}", real=True) for c in range(2)] for i in range(6)], dtype=object)
    for norm in ("max", "euclidean"):
        view = _samples(values, symbols, norm)
        value = entropy(view, 2)
        point = {symbols[i, c]: view.exact_point(i)[c] for i in range(6) for c in range(2)}
        for m in range(6):
            for c in range(2):
                assert_identity(sp.diff(value, symbols[m, c]).subs(point), entropy_gradient(view, 2, m, c).subs(point),
                                f"{norm}-norm: dH/dx[{m},{c}] is the closed form")
        shifted = entropy(_samples(values + 7.0, norm=norm), 2)
        assert_identity(shifted, entropy(_samples(values, norm=norm), 2), f"{norm}: invariant under a translation")
        scaled = entropy(_samples(values * 4.0, norm=norm), 2)
        assert_identity(scaled - entropy(_samples(values, norm=norm), 2), 2 * sp.log(4), f"{norm}: d log a")
    pair = entropy(_samples(np.array([0.5, 3.0])), 1)
    assert_identity(pair, 1 + sp.log(2 * sp.Rational(5, 2)), "N = 2, k = 1: 1 + log(2 |x1 - x2|)")


def _formula():
    s = GenericSamples()
    c_d = sp.Symbol("c_d", positive=True)
    return ell(sp.digamma(s.N) - sp.digamma(s.k) + sp.log(c_d) + s.d * s.mean(lambda i: sp.log(s.epsilon[i])),
               r"\hat{H}")


def _gradient_formula():
    s = GenericSamples()
    i, m = sp.symbols("i m", integer=True)
    x, j = sp.IndexedBase("x"), sp.Function("j")
    term = (sp.KroneckerDelta(m, i) - sp.KroneckerDelta(m, j(i))) * (x[i] - x[j(i)]) / s.epsilon[i] ** 2
    return partial(s.d / s.N * sp.Sum(term, (i, 1, s.N)), wrt="x_{m}", of=r"\hat{H}")


define(
    "kl_entropy",
    # k = 3 is NPEET's and scikit-learn's default (the paper fixes none); the max-norm is Kraskov's; nats
    defaults={"k": 3, "norm": "max", "base": None},
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove_kl_entropy,
    intermediate_scales=_term_scale,
    exact_inputs=("x",),
)
