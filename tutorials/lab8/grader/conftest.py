"""Lab 8's grader (BEP 5, Kademlia): import the student's ``kademlia_lab`` and share helpers.

``btref lab grade 8 DIR`` puts DIR first on ``sys.path``; the fixtures here import the
student's two modules, so a syntax error or a missing module fails each test with a line
that says so instead of breaking the whole run. Hypothesis runs derandomized: a grade
never changes between two runs of the same code.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

# The grader's own folder, for `import kademlia_network` (the simulated network).
sys.path.insert(1, str(Path(__file__).resolve().parent))

from kademlia_network import describe  # noqa: E402 (needs the path above)

settings.register_profile("lab8", max_examples=40, deadline=None, derandomize=True, report_multiple_bugs=False,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile("lab8")


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a student's module may fail to import in any way
        pytest.fail(f"cannot import {name}: {describe(exc)}")


@pytest.fixture(scope="session")
def routing() -> ModuleType:
    """The student's ``kademlia_lab.routing``."""
    return _import("kademlia_lab.routing")


@pytest.fixture(scope="session")
def lookup_module() -> ModuleType:
    """The student's ``kademlia_lab.lookup``."""
    return _import("kademlia_lab.lookup")


@pytest.fixture(scope="session")
def working_table(routing: ModuleType) -> ModuleType:
    """The student's routing module, once a table took three nodes and answered closest():
    the property tests then fail in a moment on a table still to be written, instead of
    after hypothesis has shrunk a long example."""
    try:
        table = routing.RoutingTable(bytes(20))
        for i in (1, 2, 3):
            table.heard_from(i.to_bytes(20, "big"), ("10.0.0.1", i), 0.0, replied=True)
        table.closest(bytes(20))
        table.failed((1).to_bytes(20, "big"), 1.0)
    except Exception as exc:  # the student's code may raise anything
        pytest.fail(f"the table does not work yet: {describe(exc)}")
    return routing


@pytest.fixture(scope="session")
def working_lookup(lookup_module: ModuleType) -> ModuleType:
    """The student's lookup module, once a lookup took three nodes and made its first step
    (for the same reason as :func:`working_table`)."""
    try:
        lookup = lookup_module.Lookup(bytes(20), "find_node", 0.0)
        for i in (1, 2, 3):
            lookup.add(i.to_bytes(20, "big"), ("10.0.0.1", i), 1)
        lookup.next_queries()
        lookup.answered(("10.0.0.1", 1), (1).to_bytes(20, "big"), [], [], None)
        lookup.failed(("10.0.0.1", 2))
        lookup.should_finish()
        lookup.closest()
    except Exception as exc:  # the student's code may raise anything
        pytest.fail(f"the lookup does not work yet: {describe(exc)}")
    return lookup_module
