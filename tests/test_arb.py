"""The oracle's ball arithmetic (refloss.proofs._arb): enclosures, proven digits, forward-mode derivatives, and
the decisions the oracle makes from them (exact zeros, the precision it stops at)."""

import math

import numpy as np
import pytest
import sympy as sp
from flint import arb, ctx
from refloss.proofs import _arb, _oracle, _tactics

import refloss

x, y = sp.symbols("x y", real=True)


def test_every_result_encloses_the_exact_value_and_its_digits_are_proven():
    program = _arb.compile_expressions([sp.log(sp.exp(x) + sp.exp(y)), x / 3], [x, y])
    lse, third = program.evaluate([1.0, 2.0], 200)
    with ctx.workprec(200):
        assert lse.overlaps(arb(2) + (arb(-1).exp()).log1p())
    assert _arb.decimal(lse, 25) == ("2.313261687518222834048995", True)
    assert _arb.decimal(third, 25) == ("3.333333333333333333333333e-1", True)


def test_log_of_one_plus_a_tiny_term_and_exp_minus_one_stay_tight():
    """log(1 + e^-800) and e^x - 1 at x = 1e-300 need no extra digits: the program uses log1p and expm1."""
    program = _arb.compile_expressions([sp.log(1 + sp.exp(-x)), sp.exp(y) - 1], [x, y])
    softplus, expm1 = program.evaluate([800.0, 1e-300], 100)
    assert _arb.decimal(softplus, 25) == ("3.667874584177687213455496e-348", True)
    assert _arb.decimal(expm1, 25)[1] and math.isclose(float(expm1.mid()), 1e-300)


def test_a_ball_that_holds_zero_proves_no_digit_unless_it_is_exactly_zero():
    with ctx.workprec(100):
        noisy_zero = arb(1) - (arb(1) / 3) * 3
    assert noisy_zero.contains(0) and not _arb.decimal(noisy_zero, 25)[1]
    assert _arb.decimal(arb(0), 25) == ("0.0", True)
    assert _arb.decimal(arb(1, 1e-10), 25)[1] is False  # too wide for 25 digits


def test_rounding_is_half_even_and_both_ends_must_agree():
    assert _arb._round_significant(125, 0, 2) == (1, 12, 1)  # 125 -> 1.2e2
    assert _arb._round_significant(135, 0, 2) == (1, 14, 1)
    assert _arb._round_significant(-999, 0, 2) == (-1, 10, 2)  # -999 -> -1.0e3
    assert _arb._text(1, 15, 0, 2) == "1.5e+1" and _arb._text(-1, 25, -2, 2) == "-2.5e-1"


def test_a_stored_digit_off_by_one_unit_is_contradicted():
    with ctx.workprec(200):
        third = arb(1) / 3
    assert not _arb.contradicts(third, "3.333333333333333333333333e-1", 25)
    assert _arb.contradicts(third, "3.333333333333333333333334e-1", 25)
    assert _arb.contradicts(third, "0.0", 25) and not _arb.contradicts(arb(0), "0.0", 25)
    assert _arb.contradicts(third, "inf", 25) and not _arb.contradicts(arb.pos_inf(), "inf", 25)
    with ctx.workprec(200):
        tiny = (arb(-800)).exp() ** 1000  # e^-800000, far below float64's range
    text, proven = _arb.decimal(tiny, 25)
    assert proven and text.endswith("e-347436") and not _arb.contradicts(tiny, text, 25)


@pytest.mark.parametrize("expr", [sp.exp(x) * sp.log(y), sp.tanh(x / y), sp.sech(x) ** 2 + y ** sp.Rational(1, 3),
                                  x ** y, sp.Max(x, 2 * y), sp.Abs(x - y), sp.loggamma(y) + sp.erf(x),
                                  sp.log(1 + sp.exp(-x)), sp.sqrt(y)])
def test_forward_mode_derivatives_agree_with_sympys(expr):
    program = _arb.compile_expressions([expr], [x, y])
    (value,), (tangent,) = program.evaluate_with_tangents([0.75, 1.5], 200, [0, 1])
    reference = _arb.compile_expressions([sp.diff(expr, x), sp.diff(expr, y)], [x, y]).evaluate([0.75, 1.5], 200)
    for slot, exact in enumerate(reference):
        got = tangent.get(slot, arb(0))
        assert got.overlaps(exact) and got.rad() < 1e-50, (expr, slot, got, exact)


def test_an_unknown_function_names_itself():
    with pytest.raises(_arb.NoBallRoute, match="besselj"):
        _arb.compile_expressions([sp.besselj(0, x)], [x])


def test_undefined_is_nan_with_a_zero_derivative():
    (value,), (tangent,) = _arb.compile_expressions([_arb.UNDEFINED], [x]).evaluate_with_tangents([1.0], 64, [0])
    assert value.is_nan() and tangent == {}


def test_exact_zeros_are_decided_by_simplification_not_by_precision():
    """sum_j q_j - 1 is 0 only as a rational function of the exponentials; the ball never shows it."""
    u = sp.symbols("u0:3", real=True)
    denominator = sum(sp.exp(v) for v in u)
    total = sum(sp.exp(v) / denominator for v in u) - 1
    point = {v: float(k) / 7 for k, v in enumerate(u)}
    assert _oracle._exact_zero(total, point)
    assert not _oracle._exact_zero(total + sp.exp(-u[0]) / 10 ** 30, point)
    assert not _oracle._exact_zero(total + sp.exp(-u[0]) * 1e-30, point)  # not over inexact coefficients
    ball, = _arb.compile_expressions([total], list(u)).evaluate(list(point.values()), 300)
    assert ball.contains(0) and not ball.is_exact()


def test_the_oracle_raises_the_precision_until_the_digits_are_proven():
    """p_y - 1 at a logit gap of 800 is -e^-800: 350 digits below the terms it is made of."""
    entry = refloss.get("log_softmax")
    ref = _oracle.reference(entry, {"logits": np.array([800.0, 0.0])})
    assert ref.text["value"][1] == "-8.0e+2" and ref.why["value"][1] is None
    assert ref.text["logits"][0, 1].startswith("-3.667874584177687213455496e-348")
    assert ref.counts() == (6, 0)


def test_a_numerical_identity_check_fails_on_a_wrong_identity():
    a, b = sp.symbols("a b", positive=True)
    _tactics.assert_identities_numerically([(sp.log(a * b), sp.log(a) + sp.log(b), "log of a product")], "ok")
    with pytest.raises(AssertionError, match="off by 1e-30"):
        _tactics.assert_identities_numerically(
            [(sp.log(a * b), sp.log(a) + sp.log(b) * (1 + sp.Rational(1, 10 ** 30)), "off by 1e-30")], "planted")
