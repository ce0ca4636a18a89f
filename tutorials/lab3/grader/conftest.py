"""Lab 3's grader: the fixtures ``lab`` (the student's module lab3_chokers) and
``registered`` (the lab's plugins published for btref.plugins; lab3_grading.py)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, Phase, settings
from lab3_grading import register, unregister

# The same examples on every machine and every run: a grade must not change when it is run
# again (the suite's tests take their example counts from their own @settings).
settings.register_profile("btref-lab-grading", derandomize=True, deadline=None, database=None,
                          phases=[Phase.explicit, Phase.generate, Phase.shrink],
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("btref-lab-grading")


def pytest_configure(config: pytest.Config) -> None:
    # The suite's claim tests carry this marker; its own conftest.py (not loaded here)
    # registers it for `btref conformance`.
    config.addinivalue_line("markers", "claim(name): checks one behavioural claim (btref.claims)")


@pytest.fixture(scope="session")
def lab(lab_dir: Path) -> ModuleType:
    """The student's module ``lab3_chokers``."""
    try:
        return importlib.import_module("lab3_chokers")
    except Exception as exc:  # the student's code: any error is theirs to see
        pytest.fail(f"cannot import lab3_chokers from {lab_dir}: {type(exc).__name__}: {exc}")


@pytest.fixture(scope="session")
def registered(lab: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The lab's three plugins, found by name by btref.plugins (and so by the suite)."""
    folder = tmp_path_factory.mktemp("entry-points")
    register(folder)
    yield
    unregister(folder)
