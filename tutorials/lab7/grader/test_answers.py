"""Group "answers": compact peers (BEP 23) and the bencoded answer of an HTTP tracker (BEP 3)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from btref.discovery import PeerAddress, encode_compact_peers
from lab7_grading import bencoded, compact, refuses, student


def test_compact_example() -> None:
    """parse_compact_peers: 7f 00 00 01 1a e1 is 127.0.0.1:6881 (4 address bytes, then the port)"""
    assert student("http_tracker").parse_compact_peers(b"\x7f\x00\x00\x01\x1a\xe1") == [
        PeerAddress("127.0.0.1", 6881)]


@given(st.lists(st.tuples(st.ip_addresses(v=4), st.integers(1, 65535)), max_size=30))
def test_compact_peers_in_order(peers: list[tuple[object, int]]) -> None:
    """parse_compact_peers gives every 6-byte peer, in order"""
    addresses = [PeerAddress(str(ip), port) for ip, port in peers]
    assert list(student("http_tracker").parse_compact_peers(encode_compact_peers(addresses)[0])) == addresses


def test_truncated_compact_peers_are_refused() -> None:
    """parse_compact_peers raises TrackerError when the length is not a multiple of 6"""
    data = compact("10.0.0.1:6881", "10.0.0.2:6882")
    for size in (11, 7, 5):
        refuses(student("http_tracker").parse_compact_peers, data[:size], what=f"{size} bytes of compact peers")


def test_a_compact_answer() -> None:
    """parse_announce_response reads interval, complete, incomplete and the compact peers"""
    body = bencoded({"interval": 900, "complete": 3, "incomplete": 5,
                     "peers": compact("10.0.0.1:6881", "192.168.1.20:51413")})
    result = student("http_tracker").parse_announce_response(body)
    assert (result.interval, result.complete, result.incomplete) == (900, 3, 5)
    assert list(result.peers) == [PeerAddress("10.0.0.1", 6881), PeerAddress("192.168.1.20", 51413)]


def test_the_original_list_of_dictionaries() -> None:
    """parse_announce_response also reads peers as BEP 3's list of dictionaries (ip, port, peer id)"""
    body = bencoded({"interval": 60, "peers": [{"ip": b"10.0.0.7", "port": 7000, "peer id": b"A" * 20},
                                               {"ip": b"10.0.0.8", "port": 8000, "peer id": b"B" * 20}]})
    result = student("http_tracker").parse_announce_response(body)
    assert [(p.host, p.port) for p in result.peers] == [("10.0.0.7", 7000), ("10.0.0.8", 8000)]


def test_interval_defaults() -> None:
    """parse_announce_response: an answer without interval means 1800 s, and no peers means none"""
    result = student("http_tracker").parse_announce_response(bencoded({"peers": b""}))
    assert (result.interval, list(result.peers)) == (1800, [])


def test_a_failure_reason_is_an_error() -> None:
    """parse_announce_response raises TrackerError carrying the tracker's 'failure reason'"""
    message = refuses(student("http_tracker").parse_announce_response,
                      bencoded({"failure reason": b"unregistered torrent"}), what="an answer with a failure reason")
    assert "unregistered torrent" in message, f"the error should say the tracker's reason, not {message!r}"


def test_malformed_answers_are_errors() -> None:
    """parse_announce_response raises TrackerError for a body that is not a bencoded dictionary of the right types"""
    parse = student("http_tracker").parse_announce_response
    for what, body in [("an HTML page", b"<html><body>Not Found</body></html>"),
                       ("a bencoded list", bencoded([1, 2])),
                       ("peers given as an integer", bencoded({"interval": 60, "peers": 5})),
                       ("a truncated bencoding", bencoded({"interval": 60, "peers": b""})[:-3]),
                       ("truncated compact peers", bencoded({"interval": 60, "peers": b"\x0a\x00\x00\x01\x1a"}))]:
        refuses(parse, body, what=f"{what}")
