"""Shared test set-up: hypothesis profiles and the path to the test vectors."""

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

#: The public test vectors, vendored in the repository (sources and licenses: PROVENANCE there).
VECTORS = Path(__file__).resolve().parent / "tests" / "vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    # Part of the repository, so a missing folder is a broken checkout: fail, never skip.
    if not (VECTORS / "PROVENANCE").is_file():
        pytest.fail(f"test vectors missing at {VECTORS} (they are part of the repository)")
    return VECTORS


# `make test` sets BTREF_NO_SKIPS=1: there, a skipped test is a failure. Interop tests
# must never skip silently (libtorrent is a test dependency), and neither may anything else.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("BTREF_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under `make test` (BTREF_NO_SKIPS=1), which allows no skips: {reason}"


# A whole module skipped while it is collected (a `pytest.importorskip` at its top) never
# reaches the hook above: under `make test` that is a collection error, so the run fails.
@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("BTREF_NO_SKIPS") == "1" and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under `make test` (BTREF_NO_SKIPS=1), which allows no skips: {reason}"
