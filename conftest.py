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


@pytest.fixture(scope="session")
def vectors() -> Path:
    if not VECTORS.is_dir():
        pytest.skip(f"shared test vectors not found at {VECTORS} (../shared is absent in this checkout)")
    return VECTORS
