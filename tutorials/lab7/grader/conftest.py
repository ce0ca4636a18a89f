"""Lab 7's grader: btref's tracker, the fake trackers, and btref's discovery suite for the
student's classes (BEP 3, 15, 23).

* ``btref_tracker``: the reference tracker (:mod:`btref.net.tracker_server`, what
  ``btref tracker`` runs), HTTP and UDP on ports the OS picks, for the whole grading;
* ``fake_http``, ``fake_udp``: factories of the misbehaving trackers of
  :mod:`lab7_grading`, each stopped after its test;
* ``contract``: ``conformance/discovery/test_discovery_contract.py``, the suite that grades
  btref's own discovery plugins, with the student's two classes registered under the
  plugin names ``lab7-graded-http`` and ``lab7-graded-udp``. The suite finds plugins by name
  through the entry-point group ``btref``, so the names are declared in a throwaway
  ``.dist-info`` folder put on ``sys.path`` while grading (what ``pip install`` would
  write, without installing anything); its entry points name the classes in the student's
  folder, which is first on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import btref
from btref import plugins
from btref.net.tracker_server import TrackerServer
from lab7_grading import HTTP_NAME, UDP_NAME, FakeHTTPTracker, FakeUDPTracker, LoopThread, RunningTracker

CHECKOUT = Path(btref.__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def servers() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def btref_tracker(servers: LoopThread) -> Iterator[RunningTracker]:
    ref = TrackerServer("127.0.0.1", 0, 0, interval=60)
    servers.call(ref.start())
    yield RunningTracker(ref, servers)
    servers.call(ref.stop())


@pytest.fixture
def fake_http(servers: LoopThread) -> Iterator[Callable[[bytes | None], str]]:
    """``fake_http(answer)``: the announce URL of a fake HTTP tracker that answers ``answer``."""
    started: list[FakeHTTPTracker] = []

    def make(answer: bytes | None) -> str:
        fake = FakeHTTPTracker(answer)
        port = servers.call(fake.start())
        started.append(fake)
        return f"http://127.0.0.1:{port}/announce"

    yield make
    for fake in started:
        servers.call(fake.stop())


@pytest.fixture
def fake_udp(servers: LoopThread) -> Iterator[Callable[[str], tuple[str, FakeUDPTracker]]]:
    """``fake_udp(behaviour)``: ``(announce URL, tracker)`` of a fake UDP tracker."""
    started: list[FakeUDPTracker] = []

    def make(behaviour: str) -> tuple[str, FakeUDPTracker]:
        fake = FakeUDPTracker(behaviour)
        port = servers.call(fake.start())
        started.append(fake)
        return f"udp://127.0.0.1:{port}/announce", fake

    yield make
    for fake in started:
        servers.call(fake.stop())


@pytest.fixture(scope="session")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = CHECKOUT / "conformance" / "discovery" / "test_discovery_contract.py"
    spec = importlib.util.spec_from_file_location("_btref_discovery_contract", path)
    if spec is None or spec.loader is None or not path.is_file():
        pytest.fail(f"btref's discovery suite is missing at {path}: grade in a source checkout of btref")
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    folder = tmp_path_factory.mktemp("lab7-entry-points")
    info = folder / "lab7_graded-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lab7-graded\nVersion: 0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[btref]\n{HTTP_NAME} = tracker_lab.http_tracker:HTTPTracker\n"
        f"{UDP_NAME} = tracker_lab.udp_tracker:UDPTracker\n", encoding="utf-8")
    sys.path.append(str(folder))
    try:
        yield suite
    finally:
        sys.path.remove(str(folder))
        plugins.available.cache_clear()  # type: ignore[attr-defined]  # set in btref.plugins
