"""refloss conform for the calibration family: torchmetrics' and netcal's calibration errors on the golden cases
(the judge with no drawn case, so that each test stays within a few seconds), the bin-edge conventions' answers
against the peers' own numbers, and the findings the records hold, pinned on their minimal inputs."""

import math
import warnings

import numpy as np
import pytest

import refloss
from refloss.conform import conventions
from refloss.conform._judge import CaseBook, judge
from refloss.golden import dataset


@pytest.fixture(scope="module")
def book():
    return CaseBook(0)  # the golden cases only


def _golden(suffix):
    return next(c for c in dataset.load("expected_calibration_error") if c.id.endswith(suffix)).kwargs


def test_torchmetrics_binning_is_refloss_s_over_its_own_groups(book):
    pytest.importorskip("torchmetrics")
    from refloss.conform import torchmetrics_peer

    public, private = torchmetrics_peer.functions()
    row = judge(private, book)
    assert row.verdict == "convention" and set(row.conventions) == {conventions.TORCHMETRICS_BINS.key}
    assert row.refloss_ulps <= 16 and row.value_ulps <= 16
    # on the tenths the groups differ ([lo, hi) of linspace's edges, 1.0 apart) and the numbers with them
    case = _golden("edges_tenths__n_bins_10")
    assert conventions.TORCHMETRICS_BINS.applies(case)
    peer = float(private.call(case).value)
    assert peer == pytest.approx(float(conventions.TORCHMETRICS_BINS.answer(case).value), rel=1e-15)
    assert abs(peer - refloss.expected_calibration_error(**case)) > 1e-3


def test_torchmetrics_public_metric_computes_in_float32(book):
    """The record's finding: MulticlassCalibrationError casts the confidences to float32, whatever the input's dtype,
    and keeps about 7 digits (0.04 exactly, as refloss computes it, is returned as 0.039999961853027344)."""
    pytest.importorskip("torchmetrics")
    from refloss.conform import torchmetrics_peer

    public, _ = torchmetrics_peer.functions()
    case = _golden("all_in_one_bin")
    exact = refloss.expected_calibration_error(**case)
    got = float(public.call(case).value)
    assert exact == pytest.approx(0.04, rel=1e-15) and got == 0.039999961853027344
    assert judge(public, book).verdict == "mismatch"


def test_netcal_equal_width_ece_and_mce(book):
    pytest.importorskip("netcal")
    from refloss.conform import netcal_peer

    ece, _, mce = netcal_peer.functions()
    row = judge(ece, book)
    assert row.verdict == "convention" and set(row.conventions) == {conventions.NETCAL_BINS.key}
    assert judge(mce, book).verdict in ("agree", "convention")
    # 2/3 in float64 (0.6666666666666666) is below the exact 2/3 (refloss: the second of three bins) and is
    # linspace's edge (netcal: [2/3, 1], the third)
    case = _golden("edges_thirds__n_bins_3")
    assert conventions.NETCAL_BINS.applies(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = float(ece.call(case).value)
    assert peer == pytest.approx(float(conventions.NETCAL_BINS.answer(case).value), rel=1e-15)


def test_netcal_equal_mass_raises_where_quantile_edges_coincide():
    """The record's finding: tied confidences that span a quantile level make two of netcal's edges equal, and
    scipy's binned_statistic_dd refuses them; refloss keeps the tie in one bin."""
    pytest.importorskip("netcal")
    from netcal.metrics import ECE

    case = _golden("mass_most_tied__three_classes__n_bins_3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="edge difference is numerically 0"):
            ECE(bins=3, equal_intervals=False).measure(case["probs"], case["target"])
    assert math.isfinite(refloss.expected_calibration_error(**case))


def test_netcal_switches_to_binary_mode_on_the_labels_present():
    """Why only cases with three distinct labels are judged: with at most two label values netcal asserts a binary
    problem, whatever the number of classes."""
    pytest.importorskip("netcal")
    from netcal.metrics import ECE

    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="binary"):
            ECE(bins=5).measure(probs, np.array([0, 1, 1]))
        assert ECE(bins=5).measure(probs, np.array([0, 1, 2])) == pytest.approx(
            refloss.expected_calibration_error(probs, [0, 1, 2], n_bins=5), rel=1e-14)
