r"""``gaussian_transfer_entropy``: the definition and its machine-checked derivation.

**Definition** (Schreiber 2000, eq. 4: the transfer entropy is the reduction of the uncertainty of the target's
next value by the source's past, given the target's own past, :math:`T_{X \to Y} = H(Y_t \mid Y^-) - H(Y_t \mid
Y^-, X^-)`; with the entropies of ``gaussian_entropy``, :math:`h(A \mid B) = h(A, B) - h(B)`, whose
:math:`\log(2\pi e)` terms cancel, :math:`(|Y_t| + |Y^-|) - |Y^-| - (|Y_t| + |Y^-| + |X^-|) + (|X^-| + |Y^-|) =
0`; research/anchors_mi.md, Sec. 6):

.. math:: T_{X \to Y} = \tfrac12\big(\log|\Sigma_{Y_t \cup Y^-}| - \log|\Sigma_{Y^-}|\big)
          - \tfrac12\big(\log|\Sigma_{Y_t \cup X^- \cup Y^-}| - \log|\Sigma_{X^- \cup Y^-}|\big),

on the covariance of the lagged vector: :math:`Y_t` the target's present (``target``), :math:`X^-` the source's
past (``source``: JIDT's :math:`x_{t-u}, \ldots, x_{t-u-m+1}`), :math:`Y^-` the target's past (``target_past``:
:math:`y_{t-1}, \ldots, y_{t-l}`; empty: the lagged mutual information). Rearranged it is
``gaussian_conditional_mutual_information``'s definition with X = source, Y = target, Z = target_past, so
the value, the gradient and their stable forms are that object's (proved in its module):

.. math:: T_{X \to Y} = I(Y_t; X^- \mid Y^-), \qquad
          \frac{\partial T}{\partial\Sigma} = \tfrac12\big(\Sigma_{Y_t \cup Y^-}^{-1} + \Sigma_{X^- \cup
          Y^-}^{-1} - \Sigma_{Y^-}^{-1} - \Sigma_{Y_t \cup X^- \cup Y^-}^{-1}\big)^\top \text{(embedded)}.

**The VAR(1) closed form** (research/anchors_mi.md, Sec. 6). For :math:`X_t = a X_{t-1} + \varepsilon_t`,
:math:`Y_t = b Y_{t-1} + c X_{t-1} + \eta_t` with :math:`\mathrm{Var}\,\eta = \sigma^2` and :math:`(X_{t-1},
Y_{t-1})` of covariance :math:`\begin{pmatrix} s_{xx} & s_{xy} \\ s_{xy} & s_{yy}\end{pmatrix}` (the stationary one
in practice; the identity needs none), the lagged vector :math:`(Y_t, X_{t-1}, Y_{t-1})` has covariance
:math:`\mathrm{Var}\,Y_t = c^2 s_{xx} + 2bc\,s_{xy} + b^2 s_{yy} + \sigma^2`, :math:`\mathrm{Cov}(Y_t, X_{t-1}) = c
s_{xx} + b s_{xy}`, :math:`\mathrm{Cov}(Y_t, Y_{t-1}) = c s_{xy} + b s_{yy}`, and

.. math:: T_{X \to Y} = \tfrac12 \log\frac{c^2\,\mathrm{Var}(X_{t-1} \mid Y_{t-1}) + \sigma^2}{\sigma^2},
          \qquad \mathrm{Var}(X_{t-1} \mid Y_{t-1}) = s_{xx} - s_{xy}^2 / s_{yy};

the other direction, :math:`T_{Y \to X} = I(X_t; Y_{t-1} \mid X_{t-1})`, is 0 (X is not driven by Y). With
a = 0.5, b = 0.6, c = 0.8 and unit noises, :math:`T_{X \to Y} = 0.283038\ldots` (the anchor's 0.28304). IDTxl's
lag-1 case (x i.i.d. standard normal, :math:`y_t = c x_{t-1} + (1 - c)\eta_t`) has :math:`T = -\tfrac12\log(1 -
\rho^2)`, :math:`\rho = c / \sqrt{c^2 + (1 - c)^2}`.

**Checked** (``_prove``): the definition equals the conditional mutual information's (as a rational identity of
the determinants, independent symbols) for d = 3 (one variable each, and the target's past empty) and d = 4
(a source of two lags, or a target's past of two); SymPy's derivative of the definition equals the
conditional mutual information's closed form there, symmetric at a symmetric matrix; the VAR(1) closed form, the
zero of the reverse direction, and IDTxl's lag-1 value, symbolically in a, b, c, :math:`\sigma` and the
covariance of the past.
"""

from __future__ import annotations

import sympy as sp

from .._definitions import define, ell, partial
from ._common import (
    assert_gradient,
    assert_symmetric_at_symmetric,
    assert_zero,
    concrete,
    det,
    exp_twice,
    generic,
    independent,
    indices,
    scalar,
    unit,
)
from .gaussian_conditional_mutual_information import (
    conditional_mutual_information,
    conditional_mutual_information_gradient,
)


def transfer_entropy(target_and_past, past, all_three, source_and_past):
    """h(Y_t | Y^-) - h(Y_t | Y^-, X^-) from the views of four blocks (the log(2 pi e) terms cancelled)."""
    return (sp.log(det(target_and_past)) - sp.log(det(past))) / 2 - (sp.log(det(all_three))
                                                                     - sp.log(det(source_and_past))) / 2


def _blocks(view, source: list[int], target: list[int], past: list[int]):
    return tuple(view.block(rows) for rows in (target + past, past, target + source + past, source + past))


class _View:
    """A plain SymPy matrix with ``block`` (the proofs' symbols)."""

    def __init__(self, m: sp.Matrix):
        self.matrix, self.d = m, m.shape[0]

    def block(self, rows):
        return _View(self.matrix.extract(list(rows), list(rows)))


def _var1() -> None:
    a, b, c = sp.symbols("a b c", real=True)
    sigma2, sxx, syy = sp.symbols("sigma2 s_xx s_yy", positive=True)
    sxy = sp.Symbol("s_xy", real=True)
    var_y = c**2 * sxx + 2 * b * c * sxy + b**2 * syy + sigma2
    cov = sp.Matrix([[var_y, c * sxx + b * sxy, c * sxy + b * syy],
                     [c * sxx + b * sxy, sxx, sxy],
                     [c * sxy + b * syy, sxy, syy]])  # (Y_t, X_{t-1}, Y_{t-1})
    te = transfer_entropy(*_blocks(_View(cov), [1], [0], [2]))
    closed = (c**2 * (sxx - sxy**2 / syy) + sigma2) / sigma2
    assert_zero(exp_twice(te) - closed, "VAR(1): TE = 1/2 log((c^2 Var(X | Y) + sigma^2) / sigma^2)")
    # the reverse direction: (X_t, Y_{t-1}, X_{t-1}), X_t = a X_{t-1} + e, Var e = tau2
    tau2 = sp.Symbol("tau2", positive=True)
    rev = sp.Matrix([[a**2 * sxx + tau2, a * sxy, a * sxx], [a * sxy, syy, sxy], [a * sxx, sxy, sxx]])
    assert_zero(exp_twice(transfer_entropy(*_blocks(_View(rev), [1], [0], [2]))) - 1, "VAR(1): TE_{Y -> X} = 0")
    # IDTxl's lag-1 case: (Y_t, X_{t-1}, Y_{t-1}) with x i.i.d. N(0, 1), y_t = c x_{t-1} + (1 - c) eta_t
    v = c**2 + (1 - c) ** 2
    idtxl = sp.Matrix([[v, c, 0], [c, 1, 0], [0, 0, v]])
    rho2 = c**2 / v
    assert_zero(exp_twice(transfer_entropy(*_blocks(_View(idtxl), [1], [0], [2]))) - 1 / (1 - rho2),
                "IDTxl's lag-1 case: -1/2 log(1 - rho^2)")
    assert_zero(exp_twice(transfer_entropy(*_blocks(_View(idtxl), [1], [0], []))) - 1 / (1 - rho2),
                "... and without the target's past (Y_{t-1} independent of both)")


def _prove():
    for d, source, target, past in ((3, [1], [0], [2]), (3, [2], [0], []), (4, [1, 2], [0], [3]),
                                    (4, [3], [1], [0, 2])):
        s = independent(d)
        view = _View(s)
        te = transfer_entropy(*_blocks(view, source, target, past))
        cmi_blocks = tuple(view.block(rows) for rows in (source + past, target + past, past, source + target + past))
        cmi = conditional_mutual_information(*cmi_blocks)
        what = f"(d = {d}, source = {source}, target = {target}, target_past = {past})"
        assert_zero(exp_twice(te) - exp_twice(cmi), f"TE = I(Y_t; X^- | Y^-) {what}")
        closed = conditional_mutual_information_gradient(s, source, target, past)
        assert_gradient(te, s, closed, f"gaussian TE {what}")
        assert_symmetric_at_symmetric(closed, f"gaussian TE's gradient {what}")
    _var1()


def _build(case):
    s = concrete(case)
    source, target, past = indices(case, "source"), indices(case, "target"), indices(case, "target_past")
    return scalar(transfer_entropy(*_blocks(s, source, target, past)) / unit(case))


_LABELS = (r"Y_t \cup Y^{-}", r"Y^{-}", r"Y_t \cup X^{-} \cup Y^{-}", r"X^{-} \cup Y^{-}")


def _formula():
    g = generic()
    return ell(transfer_entropy(*(g.block(label) for label in _LABELS)), r"T_{X \to Y}")


def _gradient_formula():
    g = generic()
    inv = {label: g.block(label).matrix.I for label in _LABELS}
    terms = inv[_LABELS[0]] + inv[_LABELS[3]] - inv[_LABELS[1]] - inv[_LABELS[2]]
    return partial(sp.MatMul(sp.S.Half, terms), r"\Sigma", r"T_{X \to Y}")


define(
    "gaussian_transfer_entropy",
    defaults={"base": None},  # nats
    build=_build,
    formula=_formula,
    gradient_formula=_gradient_formula,
    prove=_prove,
)
