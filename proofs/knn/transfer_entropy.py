r"""``transfer_entropy``: the definition and its machine-checked properties.

**Definition** (Schreiber 2000, eq. 4, as a conditional mutual information). With the target's past
:math:`Y^{(l)}_{t-1} = (y_{t-1}, \dots, y_{t-l})`, the source's past :math:`X^{(m)}_{t-u} = (x_{t-u}, \dots,
x_{t-u-m+1})` and the delay :math:`u \ge 1`,

.. math:: T_{X \to Y} = I\big(Y_t ;\, X^{(m)}_{t-u} \,\big|\, Y^{(l)}_{t-1}\big),

on the time steps :math:`t \ge \max(l, u + m - 1)` (0-based), each a sample of the three variables, estimated by
Frenzel and Pompe's kNN CMI (``ksg_conditional_mutual_information``, whose definition this one calls on the lagged
samples). Schreiber defines it with probabilities of the joint histories; the lag convention (the target's
history ending at t - 1, the source's at t - u) is JIDT's.

**Checked** (``_prove_te``): the lagged samples are the series' values at the stated times (on a series whose
values are their own times); with a constant source the estimate equals the CMI of a constant variable, which is
0's algebra in Frenzel and Pompe's formula: every :math:`n_{xz} = n_z` and :math:`n_{yz}` counts the k - 1 joint
neighbours, so :math:`\psi(k) - \langle\psi(n_{yz} + 1)\rangle = 0`, on 9 distinct points.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .._definitions import define, ell
from .._tactics import assert_identity
from ._common import as_points, unit
from .ksg_conditional_mutual_information import _term_scale as _cmi_scale
from .ksg_conditional_mutual_information import cmi_terms


def lagged(source, target, target_history: int, source_history: int, delay: int):
    """(future, source past, target past) at every t with a full history, from the series as given."""
    x, y = as_points(source), as_points(target)
    start = max(target_history, delay + source_history - 1)
    rows = range(start, len(y))
    future = np.array([y[t] for t in rows])
    source_past = np.array([np.concatenate([x[t - delay - j] for j in range(source_history)]) for t in rows])
    target_past = np.array([np.concatenate([y[t - 1 - j] for j in range(target_history)]) for t in rows])
    return future, source_past, target_past


def _cmi_case(case: dict, exact: dict) -> tuple[dict, dict]:
    future, source_past, target_past = lagged(exact["source"], exact["target"], case["target_history"],
                                              case["source_history"], case["delay"])
    return {"k": case["k"], "base": case["base"], "clip_at_zero": False}, \
        {"x": future, "y": source_past, "z": target_past}


def _build(case, exact):
    cmi_case, samples = _cmi_case(case, exact)
    return sp.Add(*cmi_terms(cmi_case, samples)) / unit(case["base"])


def _term_scale(arguments: dict, bits: int):
    cmi_case, samples = _cmi_case(arguments, arguments)
    return _cmi_scale({**cmi_case, **samples}, bits)


def _formula():
    """The conditional MI estimate of the lagged samples: (future, source past | target past)."""
    cmi = sp.Function(r"\hat{I}")
    return ell(cmi(sp.Symbol("Y_{t}"), sp.Symbol("X^{(m)}_{t-u}"), sp.Symbol("Y^{(l)}_{t-1}")), r"T_{X \to Y}")


def _prove_te():
    times = np.arange(10.0)
    future, source_past, target_past = lagged(times + 100, times, 2, 2, 3)
    # t from max(2, 3 + 2 - 1) = 4: future y_t = t; source x_{t-3}, x_{t-4} (+100); target y_{t-1}, y_{t-2}
    expected = (np.arange(4, 10)[:, None], np.stack([np.arange(1, 7), np.arange(0, 6)], 1) + 100.0,
                np.stack([np.arange(3, 9), np.arange(2, 8)], 1))
    if not all(np.array_equal(a, b) for a, b in zip((future, source_past, target_past), expected)):
        raise AssertionError("the lagged samples are not the series at the stated times")
    series = np.array([0.0, 1.0, 3.0, 7.0, 12.0, 20.0, 30.5, 43.0, 57.25, 73.0])
    case = {"k": 2, "target_history": 1, "source_history": 1, "delay": 1, "base": None}
    value = _build(case, {"source": np.zeros(10), "target": series})
    assert_identity(value, sp.S.Zero, "a constant source transfers nothing (exactly, on distinct points)")


define(
    "transfer_entropy",
    # k = 3 as for KSG; one step of history each and a delay of 1 (Schreiber's simplest case, JIDT's defaults)
    defaults={"k": 3, "target_history": 1, "source_history": 1, "delay": 1, "base": None},
    build=_build,
    formula=_formula,
    gradient_formula=lambda: None,
    prove=_prove_te,
    intermediate_scales=_term_scale,
    exact_inputs=("source", "target"),
)
