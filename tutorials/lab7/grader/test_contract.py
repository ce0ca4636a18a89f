"""Group "contract": btref's discovery suite (conformance/discovery), the one that grades
btref's own tracker plugins, run on the student's HTTPTracker and UDPTracker (BEP 3, 15, 27).

Each test runs one check of the suite on both classes, registered for the grading under
the plugin names lab7-graded-http and lab7-graded-udp (see conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from lab7_grading import HTTP_NAME, UDP_NAME, plugin

pytestmark = pytest.mark.timeout(120)  # a client that blocks the event loop cannot hang the grading


def on_both(contract: Any, check: str) -> None:
    for kind, name in (("http", HTTP_NAME), ("udp", UDP_NAME)):
        plugin(kind)  # an import error or a broken constructor shows here, in the student's words
        try:
            getattr(contract, check)(name)
        except Exception as exc:
            detail = f": {exc}" if str(exc) else ""
            pytest.fail(f"the {kind} client: {type(exc).__name__}{detail}"[:300])


def test_plugin_is_well_formed(contract: Any) -> None:
    """contract: family "discovery", a docstring, a btref_announce hookimpl that returns None without trackers"""
    on_both(contract, "test_plugin_is_well_formed")


def test_unknown_tracker_schemes(contract: Any) -> None:
    """contract: a tracker URL of a scheme you do not speak (gopher://) gives None, not an error"""
    on_both(contract, "test_unknown_tracker_schemes")


def test_announce_against_reference_tracker(contract: Any) -> None:
    """contract: announce started, again, then stopped to btref's tracker; it registers and forgets you"""
    on_both(contract, "test_announce_against_reference_tracker")


def test_failures_surface_as_tracker_error(contract: Any) -> None:
    """contract: when every tracker fails (a failure reason, a closed port, a UDP error) raise TrackerError"""
    on_both(contract, "test_failures_surface_as_tracker_error")


def test_private_torrents(contract: Any) -> None:
    """contract: a private torrent (BEP 27) is announced to its trackers; nobody at udp port 1 means TrackerError"""
    on_both(contract, "test_private_torrents")
