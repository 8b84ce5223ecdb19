"""Hypothesis profiles. "ci" (the default tier) and "full" (``--full``, ``make test-full``) are derandomized, so
every failure reproduces as is; "ci" draws few examples per property (the stress points, which every tier runs
in full, carry the known hard inputs), "full" draws as many as the suite did before the tiers. "dev" draws more
from a fresh seed each run. ``HYPOTHESIS_PROFILE`` overrides the choice."""

import os

from hypothesis import HealthCheck, settings

from refloss.checks import TIERS

_COMMON = dict(derandomize=True, deadline=None, print_blob=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=TIERS["default"], **_COMMON)  # what refloss audit --tier default draws
settings.register_profile("full", max_examples=TIERS["full"], **_COMMON)
settings.register_profile("dev", max_examples=300, deadline=None, print_blob=True)


def pytest_configure(config):
    default = "full" if config.getoption("--full") else "ci"
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", default))


def pytest_report_header(config):
    return f"hypothesis profile: {settings._current_profile} (derandomized: {settings().derandomize})"
