"""The precision metric against mpmath values."""

import math

import mpmath
import numpy as np

from refloss import golden
from refloss.golden import mp


def _mp(values):
    out = np.empty(len(values), dtype=object)
    for i, x in enumerate(values):
        out[i] = mpmath.mpf(x)
    return out


def test_relative_error():
    assert golden.precision_error([1.0], _mp(["1.0"])) == 0.0
    assert golden.precision_error([1.0 + 2.0**-52], _mp(["1.0"])) == 2.0**-52


def test_scale_and_subnormal_floor():
    # |1e-20 - 0| measured against the scale 1, not against the value
    assert golden.precision_error([1e-20], _mp(["0"]), scale=_mp(["1"])) == 1e-20
    assert golden.precision_error([0.0], _mp(["1e-320"])) < 1e-11  # below the normal range: vs TINY


def test_nan_and_inf_must_match():
    assert golden.precision_error([np.inf], _mp(["inf"])) == 0.0
    assert golden.precision_error([1e308], _mp(["inf"])) == math.inf
    assert golden.precision_error([np.nan], _mp(["1"])) == math.inf


def test_twins_are_exact_on_closed_forms():
    with mpmath.workdps(50):
        assert abs(mp.logsumexp(np.full(3, 2.0))[()] - (2 + mpmath.log(3))) < mpmath.mpf("1e-45")
        assert abs(mp.softmax_entropy(np.zeros(4))[()] - mpmath.log(4)) < mpmath.mpf("1e-45")


def test_stored_golden_data_is_the_oracle_output():
    """Regenerating from the mpmath oracle gives the stored file byte for byte (data and code agree)."""
    import json

    from refloss.golden import dataset

    assert json.dumps(dataset.generate(), indent=1) + "\n" == dataset.DATA.read_text()


def test_every_registered_object_has_golden_cases_and_matches_them():
    import refloss
    from refloss.golden import dataset

    cases = dataset.load()
    assert {c.name for c in cases} == {e.name for e in refloss.catalogue()}
    for case in cases:
        assert dataset.case_error_ulps(case) <= dataset.GOLDEN_ULPS, case.id


def test_tampered_golden_data_is_refused(tmp_path):
    import pytest

    from refloss import RefLossError
    from refloss.golden import dataset

    copy = tmp_path / dataset.DATA.name
    copy.write_text(dataset.DATA.read_text().replace('"1.037"', '"1.038"', 1))
    (tmp_path / (dataset.DATA.name + ".sha256")).write_text(
        dataset.DATA.with_name(dataset.DATA.name + ".sha256").read_text())
    with pytest.raises(RefLossError, match="checksum"):
        dataset.load(copy)
