r"""Losses of a linear head, computed from hidden states: definitions and machine-checked derivations.

Run the proofs with ``python -m refloss.proofs prove linear_cross_entropy linear_kl``.

Notation (as in ``refloss/losses/linear.py``): hidden states :math:`e \in \mathbb{R}^{N \times D}`, classifier
:math:`c \in \mathbb{R}^{V \times D}`, bias :math:`b \in \mathbb{R}^V`, head logits
:math:`u_{n,v} = \sum_d e_{n,d} c_{v,d} + b_v`, soft cap :math:`s`, logits :math:`z = s \tanh(u/s)` (or
:math:`z = u` without a cap), :math:`p_n = \mathrm{softmax}(z_n)`, :math:`\mathrm{LSE}_n = \log\sum_v e^{z_{n,v}}`.

.. rubric:: linear_cross_entropy

**Definition.** For a kept target :math:`y_n \ne \mathtt{ignore\_index}` (:math:`m_n = 1`),

.. math:: \ell_n = \underbrace{(1-\varepsilon)\,w_{y_n}(-\log p_{n,y_n})
          + \frac{\varepsilon}{V}\sum_c w_c\,(-\log p_{n,c})}_{\text{cross\_entropy of } z_n}
          + \lambda\,\mathrm{LSE}_n^2 ,

the cross-entropy of ``check_classification.py`` (PyTorch's weights and smoothing) plus PaLM's z-loss
(arXiv:2204.02311: an auxiliary :math:`10^{-4} \log^2 Z` that keeps the softmax normaliser :math:`\log Z`
near 0), with Gemma 2's soft cap applied to the head's logits (bias included) before the softmax, as
in Cut Cross-Entropy and Liger. Ignored rows contribute 0; ``"mean"`` divides by
:math:`W = \sum_n m_n w_{y_n}` (the z-loss is not class-weighted and shares this denominator: a convention,
stated in the function's docstring, where the peers differ when class weights are given).

**Gradient w.r.t. the logits.** With :math:`a_n` the cross-entropy coefficients
(:math:`\ell^{CE}_n = -\sum_c a_{n,c}\log p_{n,c}`), :math:`\partial \mathrm{LSE}_n/\partial z_{n,j} = p_{n,j}`
and :math:`\frac{d}{du}\, s\tanh(u/s) = 1 - \tanh^2(u/s)`:

.. math:: G_{n,j} = \frac{\partial \ell_n}{\partial u_{n,j}}
          = \Big(p_{n,j}\sum_c a_{n,c} - a_{n,j} + 2\lambda\,\mathrm{LSE}_n\, p_{n,j}\Big)\,
            \big(1 - \tanh^2(u_{n,j}/s)\big).

**Gradients of the head.** :math:`u` is bilinear in :math:`(e, c)` and affine in :math:`b`, so
:math:`\partial u_{n,v}/\partial e_{n,d} = c_{v,d}`, :math:`\partial u_{n,v}/\partial c_{v,d} = e_{n,d}`,
:math:`\partial u_{n,v}/\partial b_v = 1`, and

.. math:: \frac{\partial \ell}{\partial e} = G\,c, \qquad \frac{\partial \ell}{\partial c} = G^\top e,
          \qquad \frac{\partial \ell}{\partial b} = \textstyle\sum_n G_{n,\cdot}

(:math:`G` scaled by :math:`1/W` for ``"mean"``): the three products a chunked kernel computes block by
block without holding :math:`G` whole.

**Evaluation.** The cross-entropy part is :func:`refloss.cross_entropy_grad`'s leave-one-out form, so the
target component :math:`p_y - 1` keeps its digits at any logit gap. The cap's slope is evaluated as
:math:`4e^{-2|t|}/(1 + e^{-2|t|})^2` (:math:`t = u/s`), which keeps relative accuracy where
:math:`\tanh^2 t` rounds to 1 and gives 0 rather than NaN where :math:`t` overflows; where
:math:`|t| < 10^{-8}`, :math:`z = u` exactly (:math:`\tanh t = t` to float64 precision), so a cap of
:math:`10^{300}` does not push :math:`u/s` into the subnormals.

**Checked** (``_prove_linear_cross_entropy``): on a row of three symbolic logits, with symbolic weights,
smoothing and :math:`\lambda`, every target: :math:`\partial\ell_n/\partial z_j` is the bracket above; the
cap's derivative is :math:`1 - \tanh^2(u/s)` and its evaluation form equals it; and, on a symbolic head
(:math:`N = 2`, :math:`D = 2`, :math:`V = 3`, bias, cap, weights, smoothing, z-loss, ``"mean"``), SymPy's
derivatives of the whole definition w.r.t. every entry of :math:`e`, :math:`c` and :math:`b` equal
:math:`Gc`, :math:`G^\top e` and :math:`\sum_n G_n` at random rational points, 50 digits. Stress points:
logit gaps 15 to 80 through the head (target dominant, second, smallest), the same under caps of 30 and 20
with bias and z-loss, weights with smoothing and ``ignore_index`` equal to a valid class under ``"mean"``,
rows copied from the classifier (peaky softmax), ties, one row, one class, every target ignored, a cap of
:math:`10^{300}` on tiny logits and a cap of :math:`10^{-3}`.

.. rubric:: linear_kl

**Definition** (Hinton, Vinyals & Dean, arXiv:1503.02531, section 2). Two heads on the same hidden states,
the teacher's :math:`t = e c_t^\top` and the student's :math:`s = e c_s^\top`, softened by a temperature
:math:`T`: :math:`p = \mathrm{softmax}(t/T)`, :math:`q = \mathrm{softmax}(s/T)`, and per row

.. math:: \ell_n = T^2\,\mathrm{KL}(p_n \| q_n) = T^2 \sum_v p_{n,v}(\log p_{n,v} - \log q_{n,v}),

the KL of ``check_entropy.py`` on the scaled logits; ``"mean"`` divides by :math:`N`. The factor :math:`T^2`
is the paper's: the gradient w.r.t. a soft target's logits scales as :math:`1/T^2` otherwise.

**Gradients.** By the KL's gradients (``check_entropy.py``) and :math:`\partial (t/T)/\partial t = 1/T`,

.. math:: G^t_{n,j} = \frac{\partial \ell_n}{\partial t_{n,j}} = T\,p_{n,j}\,(\log p_{n,j} - \log q_{n,j}
          - \mathrm{KL}_n), \qquad G^s_{n,j} = \frac{\partial \ell_n}{\partial s_{n,j}} = T\,(q_{n,j} - p_{n,j}),

and, both heads being linear in :math:`e`, :math:`\partial\ell/\partial e = G^s c_s + G^t c_t`,
:math:`\partial\ell/\partial c_s = {G^s}^\top e`, :math:`\partial\ell/\partial c_t = {G^t}^\top e`.

**Evaluation.** :math:`G^s + G^t = T(q\,\varphi(u) - p\,\mathrm{KL})` with :math:`u = \log(p/q)` and
:math:`\varphi(u) = 1 + (u - 1)e^u` (the KL's own terms, ``kl_divergence_logits``), so
:math:`\partial\ell/\partial e` is also :math:`(G^s + G^t) c_s + G^t (c_t - c_s)`; each element is taken from
the form with the smaller terms. Near convergence (student close to teacher) the first form sums first-order
terms of opposite sign to a second-order result and the second does not; for heads far apart the first has
the smaller terms.

**Checked** (``_prove_linear_kl``): on rows of three symbolic logits with a symbolic temperature,
:math:`\partial\ell/\partial t_j` and :math:`\partial\ell/\partial s_j` are the closed forms above; on a
symbolic pair of heads (:math:`N = 2`, :math:`D = 2`, :math:`V = 3`, ``"mean"``) SymPy's derivatives of the whole
definition w.r.t. every entry of :math:`e`, :math:`c_s`, :math:`c_t` equal the chain rule, at random rational
points, 50 digits; and :math:`G^s_j + G^t_j = T(q_j\varphi(u_j) - p_j\,\mathrm{KL})`, the evaluation form.
Stress points: logit gaps 15 to 80 through the heads at :math:`T` = 0.5, 1, 2, 20; a student within
:math:`10^{-6}` of its teacher; identical heads (:math:`\ell = 0`); a uniform student; a student whose logits
are thousands apart; ties; one row; one class; :math:`T = 10^{-2}`.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from ._definitions import define, ell, partial
from ._oracle import intermediate_scales
from ._tactics import assert_identities_numerically, assert_identity
from ._views import GenericRow, Row, reduce, symbol_array
from .check_classification import ce_class_target, ce_coefficients
from .check_entropy import kl, kl_gradient_p, kl_gradient_q

EPS = sp.Symbol("varepsilon", nonnegative=True)
TEMP = sp.Symbol("T", positive=True)
LAM = sp.Symbol("lambda", nonnegative=True)
CAP = sp.Symbol("s", positive=True)
UNIT = (0, 1)


class SoftCap(sp.Function):
    """s tanh(u / s) as one function whose derivative SymPy writes sech^2(u / s). The oracle differentiates the
    definition with SymPy; ``tanh``'s own derivative, 1 - tanh^2, would cancel where the cap saturates
    (tanh(73) = 1 - 4e-64), and the oracle would need 64 more digits to see the gradient at all."""

    nargs = 2

    def fdiff(self, argindex=1):
        u, cap = self.args
        if argindex == 1:
            return sp.sech(u / cap) ** 2
        return sp.tanh(u / cap) - u / cap * sp.sech(u / cap) ** 2

    def _eval_evalf(self, prec):
        u, cap = self.args
        return (cap * sp.tanh(u / cap))._eval_evalf(prec)

    _imp_ = staticmethod(lambda u, cap: cap * mpmath.tanh(u / cap))


def capped(u, cap):
    """The logit the softmax sees: s tanh(u / s), or u itself without a cap."""
    return u if cap is None else SoftCap(u, cap)


def cap_slope(u, cap):
    """d z / d u of :func:`capped`."""
    return sp.S.One if cap is None else 1 - sp.tanh(u / cap) ** 2


def linear_row(row, eps, lam):
    """One kept row's loss: cross-entropy of the (capped) logits plus the z-loss lambda LSE^2."""
    return ce_class_target(row, eps) + lam * row.lse() ** 2


def linear_logit_gradient(row, j, eps, lam):
    """d ell_n / d z_j: p_j sum_c a_c - a_j + 2 lambda LSE p_j (the bracket of G)."""
    a = ce_coefficients(row, eps)
    return row.p(j) * row.sum(a) - a(j) + 2 * lam * row.lse() * row.p(j)


def head_logits(e, c, bias):
    """u = e c^T + b as an object array (N, V) of SymPy expressions."""
    u = np.empty((e.shape[0], c.shape[0]), dtype=object)
    for n in range(e.shape[0]):
        for v in range(c.shape[0]):
            u[n, v] = sp.Add(*[e[n, d] * c[v, d] for d in range(e.shape[1])]) + (0 if bias is None else bias[v])
    return u


def exact_logits(e, c, bias=None) -> np.ndarray:
    """u = e c^T + b of float inputs, exactly, as mpmath numbers (object array (N, V))."""
    e, c = np.asarray(e, dtype=np.float64), np.asarray(c, dtype=np.float64)
    with mpmath.workprec(4400):  # products of float64s lie within 2^-2148 .. 2^2048: their sums are exact
        u = np.empty((e.shape[0], c.shape[0]), dtype=object)
        for n, v in np.ndindex(*u.shape):
            terms = [mpmath.mpf(float(x)) * mpmath.mpf(float(y)) for x, y in zip(e[n], c[v])]
            u[n, v] = mpmath.fsum(terms + ([] if bias is None else [mpmath.mpf(float(bias[v]))]))
    return u


def head_scales(scales, heads) -> dict:
    """The scale each head input gets from the logits' rounding: with S the scale of the logits' gradient G
    under relative perturbations of the logits (``scales``, by logit name), S |c| for e's gradient G c,
    S^T |e| for c's G^T e and the sums of S over rows for b's. ``heads``: logit name -> (name of its
    classifier, classifier, hidden states, name of its bias or None)."""
    extra = {}
    for logits, (c_name, c, e, b_name) in heads.items():
        absolute = {k: np.vectorize(mpmath.mpf, otypes=[object])(np.abs(np.asarray(a, dtype=np.float64)))
                    for k, a in (("c", c), ("e", e))}
        extra["e"] = extra.get("e", 0) + scales[logits].dot(absolute["c"])
        extra[c_name] = scales[logits].T.dot(absolute["e"])
        if b_name is not None:
            extra[b_name] = scales[logits].sum(axis=0)
    return extra


def _row_blocks(logits: dict) -> list:
    """One block per row of the logits (every head's): a row's loss and gradient involve that row alone."""
    rows = next(iter(logits.values())).shape[0]
    blocks = []
    for n in range(rows):
        block = {name: np.zeros(u.shape, dtype=bool) for name, u in logits.items()}
        for mask in block.values():
            mask[n] = True
        blocks.append(block)
    return blocks


def _build_on_logits(case, u):
    """The reduced loss from the head logits ``u`` (N, V): rows of the capped logits, PyTorch's weights,
    smoothing and mean."""
    cap, eps, lam = case["softcap"], case["label_smoothing"], case["z_loss"]
    weight = case.get("weight")
    per_class = {} if weight is None else {"w": list(weight)}
    losses = np.empty(u.shape[:1], dtype=object)
    total_weight = sp.S.Zero
    for n in range(u.shape[0]):
        y = int(case["target"][n])
        if y == case["ignore_index"]:
            losses[n] = sp.S.Zero
            continue
        row = Row([capped(x, cap) for x in u[n]], y, **per_class)
        losses[n] = linear_row(row, eps, lam)
        total_weight += 1 if weight is None else weight[y]
    return reduce(losses, case["reduction"], total_weight)


def _build(case):
    """The reduced loss of a case (:func:`_build_on_logits` of its head logits)."""
    return _build_on_logits(case, head_logits(case["e"], case["c"], case.get("bias")))


def _logits(case) -> dict:
    return {"u": exact_logits(case["e"], case["c"], case.get("bias"))}


def _intermediate_scales(case, dps: int):
    """The head logits, and with a soft cap the capped logits, are rounded by every implementation
    (refloss.tolerance): the scales they add. The capped logits' scale of the gradient w.r.t. them reaches G
    through the cap's slope."""
    u = _logits(case)["u"]
    value_scale, scales = intermediate_scales(lambda x: _build_on_logits(case, x["u"]), {"u": u}, dps,
                                              _row_blocks({"u": u}))
    cap = case.get("softcap")
    if cap is not None:
        with mpmath.workdps(dps):
            z = np.vectorize(lambda x: cap * mpmath.tanh(x / cap), otypes=[object])(u)
            slope = np.vectorize(lambda x: mpmath.sech(x / cap) ** 2, otypes=[object])(u)
        uncapped = {**case, "softcap": None}
        capped_scale, capped_scales = intermediate_scales(lambda x: _build_on_logits(uncapped, x["z"]), {"z": z},
                                                          dps, _row_blocks({"z": z}))
        value_scale = value_scale + capped_scale
        scales = {"u": scales["u"] + capped_scales["z"] * slope}
    heads = {"u": ("c", case["c"], case["e"], None if case.get("bias") is None else "bias")}
    return value_scale, head_scales(scales, heads)


def _generic_gradient():
    row, j = GenericRow("w"), sp.Symbol("j")
    return cap_slope(sp.IndexedBase("u")[j], CAP) * linear_logit_gradient(row, j, EPS, LAM)


def _prove_linear_cross_entropy():
    z = list(sp.symbols("z0:3", real=True))
    w = list(sp.symbols("w0:3", positive=True))
    for y in range(3):
        row = Row(z, y, w=w)
        for j in range(3):
            assert_identity(sp.diff(linear_row(row, EPS, LAM), z[j]), linear_logit_gradient(row, j, EPS, LAM),
                            f"d ell / d z_{j} (target {y})", logits=z, domains={EPS: UNIT})
    u = sp.Symbol("u", real=True)
    assert_identity(sp.diff(CAP * sp.tanh(u / CAP), u), cap_slope(u, CAP), "d/du s tanh(u/s)")
    assert_identity(sp.diff(capped(u, CAP), u), cap_slope(u, CAP), "SoftCap's derivative sech^2(u/s)")
    assert_identity(sp.diff(capped(u, CAP), CAP), sp.diff(CAP * sp.tanh(u / CAP), CAP), "SoftCap's d/ds")
    t = u / CAP
    assert_identity(4 * sp.exp(-2 * t) / (1 + sp.exp(-2 * t)) ** 2, cap_slope(u, CAP),
                    "1 - tanh^2 t = 4 e^{-2t} / (1 + e^{-2t})^2 (even in t, so |t| may replace t)")
    _prove_head_chain_rule()


def _prove_head_chain_rule():
    """d loss / d (e, c, b) = (G c, G^T e, sum_n G_n) on a symbolic head, "mean" over two kept rows."""
    e, c, b = symbol_array("e", (2, 2), real=True), symbol_array("c", (3, 2), real=True), \
        symbol_array("b", (3,), real=True)
    w = np.array(sp.symbols("w0:3", positive=True), dtype=object)
    target = np.array([0, 2])
    case = {"e": e, "c": c, "bias": b, "target": target, "weight": w, "ignore_index": -100,
            "label_smoothing": EPS, "z_loss": LAM, "softcap": CAP, "reduction": "mean"}
    loss = _build(case)[()]
    u = head_logits(e, c, b)
    total = w[target[0]] + w[target[1]]
    g = np.empty(u.shape, dtype=object)
    for n in range(2):
        row = Row([capped(x, CAP) for x in u[n]], int(target[n]), w=list(w))
        for v in range(3):
            g[n, v] = linear_logit_gradient(row, v, EPS, LAM) * cap_slope(u[n, v], CAP) / total
    pairs = [(sp.diff(loss, x), sum(g[n, v] * c[v, d] for v in range(3)), f"d loss / d e[{n},{d}]")
             for (n, d), x in np.ndenumerate(e)]
    pairs += [(sp.diff(loss, x), sum(g[n, v] * e[n, d] for n in range(2)), f"d loss / d c[{v},{d}]")
              for (v, d), x in np.ndenumerate(c)]
    pairs += [(sp.diff(loss, x), g[0, v] + g[1, v], f"d loss / d b[{v}]") for (v,), x in np.ndenumerate(b)]
    assert_identities_numerically(pairs, "chain rule of the head", domains={EPS: UNIT, CAP: (1, 4)}, points=3)

define(
    "linear_cross_entropy",
    # the paper's defaults, which the signature must repeat: PyTorch's F.cross_entropy on e c^T; no z-loss, no cap
    # (CCE's defaults)
    defaults={"bias": None, "weight": None, "ignore_index": -100, "label_smoothing": 0.0, "z_loss": 0.0,
              "softcap": None, "reduction": "mean"},
    build=_build,
    formula=lambda: ell(linear_row(GenericRow("w"), EPS, LAM)),
    gradient_formula=lambda: partial(_generic_gradient(), wrt="u_{j}"),
    prove=_prove_linear_cross_entropy,
    intermediate_values=_logits,
    intermediate_scales=_intermediate_scales,
)


# -- linear_kl ------------------------------------------------------------------------------------------------


def distillation_row(teacher, student, temp):
    """T^2 KL(softmax(t / T) || softmax(s / T)) of one row, from rows of the scaled logits t / T and s / T."""
    return temp**2 * kl(teacher, student)


def _kl_build(case):
    """The reduced loss: per row, T^2 KL of the teacher head's softened distribution to the student's."""
    return _kl_on_logits(case, head_logits(case["e"], case["c_teacher"], None),
                         head_logits(case["e"], case["c_student"], None))


def _kl_logits(case) -> dict:
    return {"t": exact_logits(case["e"], case["c_teacher"]), "s": exact_logits(case["e"], case["c_student"])}


def _kl_intermediate_scales(case, dps: int):
    """Both heads' logits are rounded by every implementation (refloss.tolerance): the scales they add."""
    logits = _kl_logits(case)
    value_scale, scales = intermediate_scales(lambda x: _kl_on_logits(case, x["t"], x["s"]), logits, dps,
                                              _row_blocks(logits))
    heads = {"t": ("c_teacher", case["c_teacher"], case["e"], None),
             "s": ("c_student", case["c_student"], case["e"], None)}
    return value_scale, head_scales(scales, heads)


def _kl_on_logits(case, t, s):
    """:func:`_kl_build` from the teacher's and the student's head logits (N, V)."""
    temp = case["temperature"]
    losses = np.empty(t.shape[:1], dtype=object)
    for n in range(t.shape[0]):
        losses[n] = distillation_row(Row([x / temp for x in t[n]]), Row([x / temp for x in s[n]]), temp)
    return reduce(losses, case["reduction"])


def _generic_pair():
    """The teacher's row (p) and the student's (q) a reader sees."""
    teacher, student = GenericRow(y=False), GenericRow(y=False)
    student._p = sp.IndexedBase("q")
    return teacher, student


def _kl_gradients(teacher, student, j, temp):
    """(d ell / d t_j, d ell / d s_j): T p_j (log p_j - log q_j - KL) and T (q_j - p_j)."""
    return temp * kl_gradient_p(teacher, student, j), temp * kl_gradient_q(teacher, student, j)


def _prove_linear_kl():
    t, s = list(sp.symbols("t0:3", real=True)), list(sp.symbols("s0:3", real=True))
    teacher, student = Row([x / TEMP for x in t]), Row([x / TEMP for x in s])
    value = distillation_row(teacher, student, TEMP)
    for j in range(3):
        d_t, d_s = _kl_gradients(teacher, student, j, TEMP)
        assert_identity(sp.diff(value, t[j]), d_t, f"d ell / d t_{j}", logits=t + s, domains={TEMP: (1, 4)})
        assert_identity(sp.diff(value, s[j]), d_s, f"d ell / d s_{j}", logits=t + s, domains={TEMP: (1, 4)})
        # the evaluation form of G^s + G^t (linear_kl_grad): T (q_j phi(u_j) - p_j KL), phi(u) = 1 + (u - 1) e^u
        u = teacher.log_p(j) - student.log_p(j)
        summed = TEMP * (student.p(j) * (1 + (u - 1) * sp.exp(u)) - teacher.p(j) * kl(teacher, student))
        assert_identity(d_t + d_s, summed,
                        f"G^s_{j} + G^t_{j} = T (q_{j} phi(u_{j}) - p_{j} KL)", logits=t + s, domains={TEMP: (1, 4)})
    _prove_kl_chain_rule()


def _prove_kl_chain_rule():
    """d loss / d (e, c_s, c_t) = (G^s c_s + G^t c_t, G^s^T e, G^t^T e) on a symbolic head, "mean" over 2 rows."""
    e = symbol_array("e", (2, 2), real=True)
    c_s, c_t = symbol_array("c", (3, 2), real=True), symbol_array("k", (3, 2), real=True)
    case = {"e": e, "c_student": c_s, "c_teacher": c_t, "temperature": TEMP, "reduction": "mean"}
    loss = _kl_build(case)[()]
    t, s = head_logits(e, c_t, None), head_logits(e, c_s, None)
    g_t, g_s = np.empty(t.shape, dtype=object), np.empty(s.shape, dtype=object)
    for n in range(2):
        teacher, student = Row([x / TEMP for x in t[n]]), Row([x / TEMP for x in s[n]])
        for v in range(3):
            d_t, d_s = _kl_gradients(teacher, student, v, TEMP)
            g_t[n, v], g_s[n, v] = d_t / 2, d_s / 2
    pairs = [(sp.diff(loss, x), sum(g_s[n, v] * c_s[v, d] + g_t[n, v] * c_t[v, d] for v in range(3)),
              f"d loss / d e[{n},{d}]") for (n, d), x in np.ndenumerate(e)]
    pairs += [(sp.diff(loss, x), sum(g_s[n, v] * e[n, d] for n in range(2)), f"d loss / d c_s[{v},{d}]")
              for (v, d), x in np.ndenumerate(c_s)]
    pairs += [(sp.diff(loss, x), sum(g_t[n, v] * e[n, d] for n in range(2)), f"d loss / d c_t[{v},{d}]")
              for (v, d), x in np.ndenumerate(c_t)]
    assert_identities_numerically(pairs, "chain rule of the two heads", domains={TEMP: (1, 4)}, points=3)


define(
    "linear_kl",
    # the paper's defaults, which the signature must repeat: T = 1 (Hinton et al.'s T^2 factor is then 1)
    defaults={"temperature": 1.0, "reduction": "mean"},
    build=_kl_build,
    formula=lambda: ell(distillation_row(*_generic_pair(), TEMP)),
    gradient_formula=lambda: sp.Tuple(*(partial(g, wrt=w) for g, w in zip(
        _kl_gradients(*_generic_pair(), sp.Symbol("j"), TEMP), ("t_{j}", "s_{j}")))),
    prove=_prove_linear_kl,
    intermediate_values=_kl_logits,
    intermediate_scales=_kl_intermediate_scales,
)
