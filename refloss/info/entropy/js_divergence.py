"""``js_divergence``: the Jensen-Shannon divergence of two softmax distributions; value, closed-form gradients,
registration."""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ... import _cases as cases
from ... import _validate as v
from ..._blocks import as_rows, outputs_by_rows
from ..._reduce import check_reduction, reduce, reduce_scale
from ..._registry import Paper, Param, gradient_of, register, value_and_grad_of
from ...numerics import _log_softmax, one_plus_xm1_expx, softplus
from ._common import _BASE, _REDUCTION, _kl_rows, _log_base, _log_ratios, _logit_gaps

_LIN = Paper("Divergence measures based on the Shannon entropy",
             where="J. Lin, IEEE Trans. Inf. Theory 37(1), 145-151 (1991): the JS divergence with equal weights; its "
                   "equation numbers not checked")


class JSDivergenceGrad(NamedTuple):
    """Gradients of :func:`js_divergence`, one per differentiable input."""

    p_logits: np.ndarray
    q_logits: np.ndarray


def _inputs(p_logits, q_logits, base, reduction):
    a = v.logits(p_logits, "p_logits")
    b = v.logits(q_logits, "q_logits")
    v.same_shape(a, b, "p_logits", "q_logits")
    check_reduction(reduction)
    return a, b, _log_base(base)


@register(
    name="js_divergence",
    family="entropy",
    wrt=("p_logits", "q_logits"),
    params=(
        Param("p_logits", v.LOGITS),
        Param("q_logits", v.ArrayArg("logits of the second distribution, same shape as p_logits", "logits",
                                     class_axis=True)),
        Param("base", _BASE, "None: nats; 2: bits (any base > 0 but 1)", optional=True),
        _REDUCTION,
    ),
    paper=_LIN,
    strategy=lambda extreme: _js_cases(extreme),
    stress=lambda: _stress(),
    shift_invariant=("p_logits", "q_logits"),
    sample_weight=True,
)
def js_divergence(p_logits: ArrayLike, q_logits: ArrayLike, *, base: float | None = None, reduction: str = "mean"):
    r"""Jensen-Shannon divergence of :math:`p = \mathrm{softmax}(a)` and :math:`q = \mathrm{softmax}(b)` along the last
    axis, in nats (or ``base``).

    .. math:: \mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p\,\|\,m) + \tfrac12 \mathrm{KL}(q\,\|\,m),
              \qquad m = \tfrac12 (p + q)

    (Lin 1991, with weights 1/2), symmetric, between 0 (exactly, at :math:`p = q`) and :math:`\log 2`
    (disjoint supports), and finite for any masks. Per class, with :math:`u_j = \log(p_j / q_j)` from differences
    of logits, :math:`\frac{p_j}{m_j} = 2\sigma(u_j)`, so the two terms of class :math:`j` are
    :math:`m_j\,g(u_j)` with :math:`g(u) = \log 2 - H_2(\sigma(u)) \ge 0` (the binary KL divergence of
    :math:`\sigma(u)` from 1/2), which refloss evaluates as :math:`\frac12[\varphi(r(u)) + \varphi(r(-u))]` with KL's
    :math:`\varphi(x) = 1 + (x - 1)e^x \ge 0` and :math:`r(u) = \log 2\sigma(u) =
    -\mathrm{log1p}(\mathrm{expm1}(-u)/2)`: a sum of non-negative terms that keeps its digits for nearly equal
    distributions (:math:`\mathrm{JS} \approx \frac18 \sum_j m_j u_j^2`), where :math:`H(m) - \frac12(H(p) + H(q))`
    is rounding noise. ``base`` as :func:`scipy.stats.entropy`; :func:`scipy.spatial.distance.jensenshannon` returns
    the square root of this (its distance), in its ``base``. ``"mean"`` averages over rows. Gradients:
    :func:`js_divergence_grad`.

    Args:
        p_logits: float array ``(..., C)``; ``-inf`` masks a class.
        q_logits: float array of the same shape.
        base: ``None`` (nats, default) or the base of the logarithm, > 0 and not 1.
        reduction: ``"mean"`` over rows (default), ``"sum"`` or ``"none"``.

    >>> round(js_divergence([0.0, -np.inf], [-np.inf, 0.0]), 15)  # disjoint supports: log 2
    0.693147180559945
    >>> float(js_divergence([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]], base=2))  # p = q
    0.0
    >>> js_divergence([[0.0, 1e-9]], [[0.0, 0.0]], reduction="none")  # (1/8) sum m u^2 = 1e-18 / 32
    array([3.125e-20])
    """
    a, b, log_base = _inputs(p_logits, q_logits, base, reduction)
    (values,) = _passes(a, b, _value)
    if log_base != 1.0:
        values = values / log_base
    return reduce(values.reshape(a.shape[:-1]), reduction)


@gradient_of("js_divergence")
def js_divergence_grad(p_logits: ArrayLike, q_logits: ArrayLike, *, base: float | None = None,
                       reduction: str = "mean") -> JSDivergenceGrad:
    r"""Gradients of :func:`js_divergence` with respect to both inputs (closed forms below):
    :math:`\partial \mathrm{JS} / \partial a_j = \frac12 p_j (\log(p_j / m_j) - \mathrm{KL}(p\,\|\,m))`, and the same
    with :math:`q` for :math:`b`.

    :math:`\rho_j = \log(p_j / m_j) = \log 2\sigma(u_j)`, and :math:`\rho_j - \mathrm{KL}(p\,\|\,m) = d_j - \sum_c p_c
    d_c` with :math:`d_j = \rho_j - \rho_k` for the class :math:`k` most probable under :math:`p`, so a peaked
    :math:`p` does not subtract two numbers close to :math:`\rho_k`; and :math:`d_j = \log(\sigma(u_j)/\sigma(u_k))
    = \mathrm{log1p}\big(-\mathrm{expm1}(-g_j) / (e^{u_k} + e^{-g_j})\big)`, with :math:`g_j = u_j - u_k = (a_j - a_k)
    - (b_j - b_k)` from the logits, which keeps its digits where both :math:`\rho` are close to :math:`\log 2` or to
    0 and exponentiates no large :math:`u_j` (elsewhere, where that ratio is below 1/2,
    :math:`\mathrm{softplus}(-u_k) - \mathrm{softplus}(-u_j)`). Where :math:`p` is spread over classes whose
    :math:`\rho` differ by O(1), the differences to one class cancel more than :math:`\rho_j - \sum_c p_c \rho_c`
    does, and that form is taken (per row, by the size of the terms each adds). Masked classes get 0.

    >>> g = js_divergence_grad([[0.0, 0.0]], [[0.0, np.log(3.0)]])  # m = (3/8, 5/8)
    >>> g.p_logits * 8 / np.log(5 / 3), g.q_logits * 32 / (3 * np.log(5 / 9))  # (log(5/3)/8, ...), (3 log(5/9)/32, ...)
    (array([[ 1., -1.]]), array([[ 1., -1.]]))
    """
    a, b, log_base = _inputs(p_logits, q_logits, base, reduction)
    return _scaled(a, *_passes(a, b, _grad_p, _grad_q), reduction, log_base)


@value_and_grad_of("js_divergence")
def _js_divergence_value_and_grad(p_logits: ArrayLike, q_logits: ArrayLike, *, base: float | None = None,
                                  reduction: str = "mean"):
    """:func:`js_divergence` and :func:`js_divergence_grad` from one pass over each block of rows."""
    a, b, log_base = _inputs(p_logits, q_logits, base, reduction)
    values, grad_p, grad_q = _passes(a, b, _value, _grad_p, _grad_q)
    if log_base != 1.0:
        values = values / log_base
    return reduce(values.reshape(a.shape[:-1]), reduction), _scaled(a, grad_p, grad_q, reduction, log_base)


def _scaled(a, grad_p, grad_q, reduction, log_base) -> JSDivergenceGrad:
    scale = reduce_scale(a.shape[:-1], reduction) / log_base
    return JSDivergenceGrad(p_logits=(grad_p * scale).reshape(a.shape), q_logits=(grad_q * scale).reshape(a.shape))


def _log_two_sigmoid(u: np.ndarray) -> np.ndarray:
    """r(u) = log(2 sigma(u)) = log 2 - softplus(-u) = -log1p(expm1(-u)/2): relative accuracy near u = 0, where r ~ u/2
    (log 2 at +inf, -inf at -inf)."""
    with np.errstate(over="ignore"):
        return -np.log1p(np.expm1(-u) / 2.0)


def _half_binary_kl(u: np.ndarray) -> np.ndarray:
    """g(u) = log 2 - H_2(sigma(u)) = (phi(r(u)) + phi(r(-u)))/2 >= 0, ~u^2/8 near 0, log 2 at +-inf."""
    return 0.5 * (one_plus_xm1_expx(_log_two_sigmoid(u)) + one_plus_xm1_expx(_log_two_sigmoid(-u)))


def _side_gradient(a: np.ndarray, b: np.ndarray, u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(1/2) p_j (rho_j - sum_c p_c rho_c), rho = log(p / m) = log 2 sigma(u): per row, from the differences
    d_j = rho_j - rho_k to p's mode k (log1p(-expm1(-g_j)/(e^{u_k} + e^{-g_j})), g_j = u_j - u_k from the logits),
    which do not cancel when p is peaked, or from rho itself where its terms are the smaller (p spread over classes
    whose rho differ by O(1), where the differences to one class cancel more than rho does)."""
    live = p > 0
    k = np.argmax(np.where(~np.isneginf(a), a, -np.inf), axis=-1)[..., None]
    at_k = np.take_along_axis
    u_k = at_k(u, k, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        gaps = _logit_gaps(a, b, k)  # g_j = u_j - u_k
        gaps = np.where(np.isfinite(gaps), gaps, u - u_k)
        # sigma(u_j)/sigma(u_k) - 1 = -expm1(-g_j)/(e^{u_k} + e^{-g_j}): no exponential of u_j, whose rounding
        # (of the size of u_j) e^{g_j} would multiply
        x = -np.expm1(-gaps) / (np.exp(u_k) + np.exp(-gaps))
        ok = np.isfinite(x) & (x >= -0.5)
        d = np.where(ok, np.log1p(np.where(ok, x, 0.0)), softplus(-u_k) - softplus(-u))
        d = np.where(np.isposinf(u), softplus(-u_k), d)  # q masks j: rho_j = log 2
        d = np.where(live, d, 0.0)
        rho = np.where(live, _log_two_sigmoid(u), 0.0)
    by_ref = np.abs(d) + (p * np.abs(d)).sum(axis=-1, keepdims=True)
    by_rho = np.abs(rho) + (p * np.abs(rho)).sum(axis=-1, keepdims=True)
    centred = np.where(by_rho < by_ref, rho - (p * rho).sum(axis=-1, keepdims=True),
                       d - (p * d).sum(axis=-1, keepdims=True))
    return 0.5 * p * centred + 0.0


class _Block:
    """A block's log-ratios u = log(p / q), and its value and gradients, each computed when first asked for."""

    def __init__(self, a: np.ndarray, b: np.ndarray):
        self.a, self.b = a, b
        terms = _kl_rows(a, b)
        self.p, self.q = terms.p, terms.q
        self.u = _log_ratios(a, b, _log_softmax(a), _log_softmax(b), terms.log_ratio)

    @cached_property
    def value(self) -> np.ndarray:
        mass = 0.5 * (self.p + self.q)  # m_j
        with np.errstate(invalid="ignore"):
            terms = mass * _half_binary_kl(self.u)
        return np.where(mass > 0, terms, 0.0).sum(axis=-1)

    @cached_property
    def gradients(self) -> tuple[np.ndarray, np.ndarray]:
        return _side_gradient(self.a, self.b, self.u, self.p), _side_gradient(self.b, self.a, -self.u, self.q)


def _passes(a: np.ndarray, b: np.ndarray, *outputs):
    return outputs_by_rows(_Block, outputs, as_rows(a), as_rows(b))


def _value(block: _Block) -> np.ndarray:
    return block.value


def _grad_p(block: _Block) -> np.ndarray:
    return block.gradients[0]


def _grad_q(block: _Block) -> np.ndarray:
    return block.gradients[1]


def _js_cases(extreme):
    st, hnp = cases.hyp()

    @st.composite
    def draw_case(draw):
        a, mask = cases.draw_logits(draw, extreme)
        bound = cases.EXTREME if extreme else cases.MODERATE
        b = draw(hnp.arrays(np.float64, a.shape, elements=cases.floats(bound)))
        if draw(st.booleans()):  # nearly equal distributions, where the divergence is second order in b - a
            b = np.where(mask, 0.0, a) + 1e-3 * b / bound
        # q masks only classes that p masks, so that where= (which keeps one class of p in a row) leaves q a class;
        # p masking a class of q is drawn, the converse (the same by symmetry) is a stress point
        q_mask = mask & draw(hnp.arrays(np.bool_, a.shape))
        return {"p_logits": a, "q_logits": np.where(q_mask, -np.inf, b),
                "base": draw(st.sampled_from([None, 2.0, 10.0, 0.5])),
                "reduction": draw(st.sampled_from(cases.REDUCTIONS))}

    return draw_case()


def _stress():
    gaps, zeros, near = cases.GAP_ROWS, np.zeros_like(cases.GAP_ROWS), cases.TIE_ROWS
    base = np.array([[0.3, -1.2, 2.0], [15.0, 0.0, -3.0], [1e-9, 0.0, 0.0], [40.0, 39.0, 0.0]])
    ninf = -np.inf
    pairs = {
        "peaked_p__uniform_q": (gaps, zeros),
        "uniform_p__peaked_q": (zeros, gaps),
        "both_peaked": (gaps, gaps[::-1] * 0.5),
        "near_ties": (near, near[::-1]),
        # logits 1e-9 apart: JS ~ (1/8) sum m u^2 ~ 1e-19
        "nearly_equal": (base, base + np.array([[1e-9, -2e-9, 0.0], [0.0, 1e-9, 0.0], [0.0, 0.0, 1e-9],
                                                [-1e-9, 0.0, 0.0]])),
        "equal": (base, base.copy()),
        # masks in either, in both, and disjoint supports (log 2)
        "masked": (cases.MASKED_ROWS, np.array([[1.0, 2.0, ninf], [0.0, 0.5, ninf], [ninf, 0.0, 4.0]])),
        "disjoint": (np.array([[0.0, ninf, ninf], [3.0, 1.0, ninf]]), np.array([[ninf, 0.0, 2.0], [ninf, ninf, 5.0]])),
    }
    out = {f"{label}": {"p_logits": a, "q_logits": b, "reduction": "none"} for label, (a, b) in pairs.items()}
    out["reduction_mean"] = {"p_logits": gaps[:3], "q_logits": near[:3], "reduction": "mean"}
    out["reduction_sum"] = {"p_logits": gaps[:3], "q_logits": near[:3], "reduction": "sum"}
    out["defaults"] = {"p_logits": gaps[:3], "q_logits": near[:3]}
    out["base_2__peaked_p"] = {"p_logits": gaps, "q_logits": zeros, "base": 2.0, "reduction": "none"}
    return out
