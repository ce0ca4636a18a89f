"""Group "UDP packets": the BEP 15 connect and announce packets, both ways."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from btref import tracker
from btref.discovery import PeerAddress
from lab7_grading import compact, refuses, req, student

u32 = st.integers(0, 2**32 - 1)
IH = bytes(range(20))


@given(tid=u32)
def test_connect_request(tid: int) -> None:
    """connect_request: the magic 0x41727101980 (8 bytes), action 0, the transaction id (16 bytes)"""
    assert student("udp_tracker").connect_request(tid) == tracker.udp_connect_request(tid)


@given(cid=st.integers(0, 2**64 - 1), tid=u32, event=st.sampled_from(["", "completed", "started", "stopped"]),
       counters=st.tuples(st.integers(0, 2**40), st.integers(0, 2**40), st.integers(0, 2**40)),
       key=u32, numwant=st.integers(0, 500), port=st.integers(1, 65535))
def test_announce_request(cid: int, tid: int, event: str, counters: tuple[int, int, int], key: int, numwant: int,
                          port: int) -> None:
    """announce_request: 98 bytes, every field in BEP 15's order and width, big-endian"""
    uploaded, downloaded, left = counters
    request = req(IH, 3, event=event, uploaded=uploaded, downloaded=downloaded, left=left, key=key,
                  numwant=numwant, port=port)
    assert student("udp_tracker").announce_request(cid, tid, request) == tracker.udp_announce_request(cid, tid, request)


@given(tid=u32, cid=st.integers(0, 2**64 - 1))
def test_connect_response(tid: int, cid: int) -> None:
    """parse_connect_response returns (transaction id, connection id)"""
    assert student("udp_tracker").parse_connect_response(tracker.udp_connect_response(tid, cid)) == (tid, cid)


def test_announce_response() -> None:
    """parse_announce_response: (transaction id, result) with interval, seeders as complete, leechers as incomplete"""
    data = tracker.udp_announce_response(77, 1800, 4, 2, compact("10.0.0.1:6881", "10.0.0.2:6882"))
    tid, result = student("udp_tracker").parse_announce_response(data)
    assert tid == 77
    assert (result.interval, result.complete, result.incomplete) == (1800, 2, 4)
    assert list(result.peers) == [PeerAddress("10.0.0.1", 6881), PeerAddress("10.0.0.2", 6882)]


def test_bytes_after_the_last_peer_are_not_a_peer() -> None:
    """parse_announce_response ignores bytes after the last whole 6-byte peer (BEP 15 lets answers grow)"""
    data = tracker.udp_announce_response(5, 60, 0, 1, compact("10.0.0.1:6881")) + b"\x01\x02\x03"
    assert list(student("udp_tracker").parse_announce_response(data)[1].peers) == [PeerAddress("10.0.0.1", 6881)]


def test_error_packets_are_errors() -> None:
    """an error packet (action 3) is a TrackerError carrying the tracker's message, from either parser"""
    udp = student("udp_tracker")
    for parse in (udp.parse_connect_response, udp.parse_announce_response):
        message = refuses(parse, tracker.udp_error(9, "torrent not registered"), what=f"{parse.__name__} of an error")
        assert "torrent not registered" in message, f"the error should say the tracker's message, not {message!r}"


def test_other_actions_and_short_packets_are_errors() -> None:
    """both parsers raise TrackerError for another action than theirs and for packets shorter than their layout"""
    udp = student("udp_tracker")
    connect, announce = tracker.udp_connect_response(1, 2), tracker.udp_announce_response(1, 60, 0, 0, b"")
    cases = [(udp.parse_connect_response, announce, "an announce answer"),
             (udp.parse_announce_response, connect, "a connect answer"),
             (udp.parse_connect_response, connect[:12], "12 bytes of a connect answer"),
             (udp.parse_announce_response, announce[:16], "16 bytes of an announce answer"),
             (udp.parse_connect_response, struct.pack(">I", 0), "4 bytes")]
    for parse, data, what in cases:
        refuses(parse, data, what=f"{parse.__name__} of {what}")
