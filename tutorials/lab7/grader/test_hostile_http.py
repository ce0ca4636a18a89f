"""Group "hostile HTTP": trackers that say no, lie about sizes, or never answer (BEP 3, 23).

Each test's tracker is a fake that answers every announce the same bad way; the client
must turn every one of them into a TrackerError, and never wait or read without bound.
"""

from __future__ import annotations

from typing import Any

import pytest

from btref.errors import TrackerError
from lab7_grading import bencoded, compact, http_answer, plugin, req, run

pytestmark = pytest.mark.timeout(120)  # a client that blocks the event loop cannot hang the grading

IH = b"\x33" * 20


def fails(url: str, what: str, **params: Any) -> str:
    """Announce to ``url`` alone; the TrackerError's message (the test fails without one)."""
    answer = plugin("http", **params).btref_announce(request=req(IH, 1, [[url]]))
    assert answer is not None, "btref_announce returned None for a torrent with an http:// tracker"

    async def scenario() -> str:
        try:
            result = await answer
        except TrackerError as exc:
            return str(exc)
        pytest.fail(f"{what}: expected TrackerError, got {result!r}"[:300])

    return str(run(scenario(), f"the announce to {what}"))


def test_failure_reason(fake_http: Any) -> None:
    """a tracker that answers 'failure reason' makes the announce raise TrackerError with that reason"""
    url = fake_http(http_answer(bencoded({"failure reason": b"torrent not allowed here"})))
    assert "torrent not allowed here" in fails(url, "a tracker saying no"), "the error should carry the reason"


def test_truncated_compact_peers(fake_http: Any) -> None:
    """a compact peer list whose length is not a multiple of 6 is a TrackerError, not a wrong peer"""
    url = fake_http(http_answer(bencoded({"interval": 60, "peers": compact("10.0.0.1:6881", "10.0.0.2:6882")[:-2]})))
    fails(url, "a tracker sending 10 bytes of compact peers")


def test_an_http_error_status(fake_http: Any) -> None:
    """an answer with another status than 200 is a TrackerError"""
    url = fake_http(http_answer(b"<html>Internal Server Error</html>", "500 Internal Server Error"))
    fails(url, "a tracker answering HTTP 500")


def test_a_body_that_is_not_bencoded(fake_http: Any) -> None:
    """a 200 answer whose body is not bencoded is a TrackerError"""
    url = fake_http(http_answer(b"<html>Welcome to my tracker</html>"))
    fails(url, "a tracker answering an HTML page")


def test_an_answer_above_max_response(fake_http: Any) -> None:
    """an answer larger than max_response is a TrackerError, however valid: stop reading at the limit"""
    peers = b"\x0a\x00\x00\x01\x1a\xe1" * (700 * 1024 // 6)  # 700 KiB of valid compact peers
    url = fake_http(http_answer(bencoded({"interval": 60, "peers": peers})))
    fails(url, "a tracker sending 700 KiB with max_response=64 KiB", max_response=64 * 1024)


def test_a_tracker_that_never_answers(fake_http: Any) -> None:
    """a tracker that accepts the connection and says nothing is a TrackerError after timeout seconds"""
    url = fake_http(None)
    fails(url, "a silent tracker, with timeout=0.5", timeout=0.5)


def test_the_first_good_answer_wins(fake_http: Any) -> None:
    """tiers: after a tracker that fails, the next one is asked, and its answer is the result (BEP 12)"""
    bad = fake_http(http_answer(bencoded({"failure reason": b"go away"})))
    good = fake_http(http_answer(bencoded({"interval": 60, "peers": compact("10.9.8.7:6881")})))
    answer = plugin("http").btref_announce(request=req(IH, 1, [[bad, good]]))
    assert answer is not None

    async def wait() -> Any:
        return await answer

    result = run(wait(), "the announce to two trackers")
    assert result.url == good and [str(p) for p in result.peers] == ["10.9.8.7:6881"]
