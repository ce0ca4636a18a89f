"""Group "hostile UDP": forged answers, lost packets, silence and errors (BEP 15).

Each test's tracker is a fake (``FakeUDPTracker`` in lab7_grading.py) that records every
packet it receives, so the tests can check what the client sent as well as what it did.
"""

from __future__ import annotations

from typing import Any

import pytest

from btref import tracker
from btref.errors import TrackerError
from lab7_grading import GOOD_CID, TRUE_PEERS, plugin, req, run

pytestmark = pytest.mark.timeout(120)  # a client that blocks the event loop cannot hang the grading

IH = b"\x44" * 20


def outcome(url: str, what: str, **params: Any) -> Any:
    """Announce to ``url`` alone: the result, or the TrackerError raised."""
    answer = plugin("udp", **params).btref_announce(request=req(IH, 1, [[url]]))
    assert answer is not None, "btref_announce returned None for a torrent with a udp:// tracker"

    async def scenario() -> Any:
        try:
            return await answer
        except TrackerError as exc:
            return exc

    return run(scenario(), f"the announce to {what}")


def test_answers_with_another_transaction_id_are_ignored(fake_udp: Any) -> None:
    """packets whose transaction id is not the one you sent are not answers: ignore them, keep waiting"""
    url, fake = fake_udp("forged")
    result = outcome(url, "a tracker that forges answers", timeout_base=2.0, max_retries=1)
    assert not isinstance(result, Exception), f"a forged packet made the announce fail: {result}"
    assert [str(p) for p in result.peers] == list(TRUE_PEERS), (
        f"the peers of a forged answer were taken: {result.peers}")
    announces = [cid for action, _, cid in fake.packets if action == tracker.ANNOUNCE]
    assert announces and announces[0] == GOOD_CID, (
        "the announce carried the connection id of a forged connect answer")


def test_a_lost_packet_is_sent_again(fake_udp: Any) -> None:
    """a request without an answer is sent again after timeout_base * 2**n seconds (the first connect is lost)"""
    url, fake = fake_udp("lossy")
    result = outcome(url, "a tracker that loses the first packet", timeout_base=0.2, max_retries=3)
    assert not isinstance(result, Exception), f"the retry failed: {result}"
    assert [str(p) for p in result.peers] == list(TRUE_PEERS)
    assert [action for action, _, _ in fake.packets][:2] == [tracker.CONNECT, tracker.CONNECT]


def test_silence_ends_after_max_retries(fake_udp: Any) -> None:
    """a silent tracker gets max_retries + 1 connect requests, then the announce raises TrackerError"""
    url, fake = fake_udp("silent")
    result = outcome(url, "a silent tracker", timeout_base=0.05, max_retries=2)
    assert isinstance(result, TrackerError), f"expected TrackerError from a silent tracker, got {result!r}"
    sent = [action for action, _, _ in fake.packets]
    assert sent == [tracker.CONNECT] * 3, f"expected 3 connect requests (1 + max_retries=2), the tracker got {sent}"


def test_an_error_packet(fake_udp: Any) -> None:
    """an error packet (action 3) makes the announce raise TrackerError with the tracker's message"""
    url, _ = fake_udp("error")
    result = outcome(url, "a tracker answering with an error", timeout_base=2.0, max_retries=1)
    assert isinstance(result, TrackerError) and "torrent not registered" in str(result), (
        f"expected TrackerError('...torrent not registered'), got {result!r}")


def test_a_short_answer(fake_udp: Any) -> None:
    """a connect answer too short to hold a connection id is a TrackerError, never another exception"""
    url, _ = fake_udp("short")
    result = outcome(url, "a tracker sending 12-byte connect answers", timeout_base=0.05, max_retries=2)
    assert isinstance(result, TrackerError), f"expected TrackerError, got {result!r}"
