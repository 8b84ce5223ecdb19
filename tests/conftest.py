"""Hypothesis profiles: "ci" (default) is bounded and derandomized, so every failure reproduces as is;
"dev" draws more examples from a fresh seed each run. Select with HYPOTHESIS_PROFILE=dev."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, derandomize=True, deadline=None, print_blob=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=300, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_report_header(config):
    return f"hypothesis profile: {settings._current_profile} (derandomized: {settings().derandomize})"
