"""Shared test set-up: hypothesis profiles and the path to the shared vectors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# `make test` runs the "ci" profile: bounded examples and no deadline, so a busy 2-core
# machine never turns a slow example into a failure. Timing lives in bench/, not here.
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

#: ../shared/vectors beside the project root (read in place, never copied in).
VECTORS = Path(__file__).resolve().parent.parent / "shared" / "vectors"
_NO_VECTORS = "shared test vectors not found"


@pytest.fixture(scope="session")
def vectors() -> Path:
    if not VECTORS.is_dir():
        pytest.skip(f"{_NO_VECTORS} at {VECTORS} (../shared is absent in this checkout)")
    return VECTORS


# `make test` sets BTREF_NO_SKIPS=1: there, a skipped test is a failure. Interop tests
# must never skip silently (libtorrent is a test dependency), and neither may anything else.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("BTREF_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if _NO_VECTORS in reason:  # the one allowed skip: a checkout without ../shared
            return
        report.outcome = "failed"
        report.longrepr = f"skipped under `make test` (BTREF_NO_SKIPS=1), which allows no skips: {reason}"
