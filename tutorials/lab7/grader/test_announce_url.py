"""Group "announce URL": the query string of an HTTP announce (BEP 3 "Trackers")."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from lab7_grading import req, student

IH = bytes(range(0x20, 0x34))


def query(url: str) -> dict[str, bytes]:
    """The parameters of ``url``'s query, each value decoded to raw bytes."""
    pairs = [p.split("=", 1) for p in urlsplit(url).query.split("&") if p]
    return {name: unquote_to_bytes(value) for name, value in pairs}


def test_every_field_is_sent() -> None:
    """announce_url sends info_hash, peer_id, port, uploaded, downloaded, left, compact=1 and the event"""
    request = req(IH, 7, uploaded=11, downloaded=22, left=33, event="started")
    url = student("http_tracker").announce_url("http://tracker.example:6969/announce", request)
    assert url.startswith("http://tracker.example:6969/announce?"), url
    got = query(url)
    expected = {"info_hash": IH, "peer_id": request.peer_id, "port": b"9007", "uploaded": b"11",
                "downloaded": b"22", "left": b"33", "compact": b"1", "event": b"started"}
    for name, value in expected.items():
        assert got.get(name) == value, f"parameter {name}: expected {value!r}, got {got.get(name)!r} in {url}"


def test_no_event_on_a_regular_announce() -> None:
    """announce_url leaves event out when request.event is '' (a regular announce)"""
    url = student("http_tracker").announce_url("http://t.example/announce", req(IH, event=""))
    assert "event" not in query(url), url


def test_a_query_already_in_the_url_is_kept() -> None:
    """announce_url adds its parameters with & when the announce URL has a query (a private tracker's passkey)"""
    url = student("http_tracker").announce_url("http://t.example/announce?passkey=abc", req(IH))
    assert url.startswith("http://t.example/announce?passkey=abc&"), url
    assert query(url)["info_hash"] == IH


@given(info_hash=st.binary(min_size=20, max_size=20), peer_id=st.binary(min_size=20, max_size=20))
def test_raw_bytes_are_percent_encoded(info_hash: bytes, peer_id: bytes) -> None:
    """info_hash and peer_id are raw bytes: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX"""
    url = student("http_tracker").announce_url("http://t.example/announce", req(info_hash, peer_id=peer_id))
    for name, value in (("info_hash", info_hash), ("peer_id", peer_id)):
        raw = re.search(rf"[?&]{name}=([^&]*)", url)
        assert raw is not None, f"no {name} in {url}"
        assert re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})*", raw.group(1)), (
            f"{name}={raw.group(1)} has a character that must be percent-encoded")
        assert unquote_to_bytes(raw.group(1)) == value, f"{name}={raw.group(1)} does not decode to the raw bytes"
