"""Tracker codecs: discovery values, HTTP URLs and answers, BEP 15 packets (btref.discovery, btref.tracker)."""

from __future__ import annotations

import json
import struct
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import bencode, tracker
from btref.discovery import (
    AnnounceRequest, AnnounceResult, PeerAddress, ScrapeStats, decode_compact_peers, decode_compact_peers6,
    encode_compact_peers,
)
from btref.errors import TrackerError
from btref.tracker_state import parse_announce_query, parse_query, parse_scrape_query

IH = bytes(range(20))
PID = b"-BT0001-abcdefghijkl"


def req(**kw):
    fields = dict(info_hash=IH, peer_id=PID, port=6881)
    fields.update(kw)
    return AnnounceRequest(**fields)


# -- btref.discovery ------------------------------------------------------------------------


def test_peer_address_parse_and_str():
    assert PeerAddress.parse("10.0.0.1:6881") == PeerAddress("10.0.0.1", 6881)
    assert PeerAddress.parse("[::1]:80") == PeerAddress("::1", 80)
    assert str(PeerAddress("::1", 80)) == "[::1]:80"
    assert str(PeerAddress("example.org", 1)) == "example.org:1"
    assert PeerAddress("a", 1, b"x" * 20) == PeerAddress("a", 1)  # peer id does not count


@pytest.mark.parametrize("text", ["nohost", ":1", "a:", "a:x", "::1:80", "a:0", "a:65536"])
def test_peer_address_rejects(text):
    with pytest.raises(ValueError):
        PeerAddress.parse(text)


def test_announce_request_validation():
    with pytest.raises(ValueError, match="info_hash"):
        req(info_hash=b"short")
    with pytest.raises(ValueError, match="peer_id"):
        req(peer_id="x" * 20)
    with pytest.raises(ValueError, match="port"):
        req(port=0)
    with pytest.raises(ValueError, match="negative"):
        req(left=-1)
    with pytest.raises(ValueError):
        req(event="paused")
    with pytest.raises(TypeError, match="tiers"):
        req(trackers="http://x/announce")
    r = req(trackers=[["http://a/announce", "udp://b:1"], ["udp://c:2"], ["wss://d"]])
    assert r.trackers == (("http://a/announce", "udp://b:1"), ("udp://c:2",), ("wss://d",))
    assert r.urls("udp") == (("udp://b:1",), ("udp://c:2",))
    assert r.urls("http", "https") == (("http://a/announce",),)
    assert r.urls("dht") == ()


def test_announce_request_for_torrent():
    class FakeTorrent:
        info_hash, trackers, private, total_length = IH, (("http://t/announce",),), True, 1234

    r = AnnounceRequest.for_torrent(FakeTorrent(), peer_id=PID, port=1, event="started")
    assert (r.left, r.private, r.trackers, r.event) == (1234, True, (("http://t/announce",),), "started")
    assert r.torrent is not None


def test_compact_peers_known_bytes():
    data = bytes.fromhex("0a0000011ae1c0a80102c8d5")
    assert decode_compact_peers(data) == [PeerAddress("10.0.0.1", 6881), PeerAddress("192.168.1.2", 51413)]
    assert decode_compact_peers(b"\x01\x02\x03\x04\x00\x00") == []  # port 0 skipped
    six = bytes.fromhex("20010db8000000000000000000000001") + b"\x1a\xe1"
    assert decode_compact_peers6(six) == [PeerAddress("2001:db8::1", 6881)]
    with pytest.raises(TrackerError, match="multiple of 6"):
        decode_compact_peers(b"12345")
    with pytest.raises(TrackerError, match="multiple of 18"):
        decode_compact_peers6(b"x" * 17)
    v4, v6 = encode_compact_peers([PeerAddress("10.0.0.1", 6881), PeerAddress("::ffff:1.2.3.4", 2),
                                   PeerAddress("2001:db8::1", 6881), PeerAddress("name.example", 5)])
    assert v4 == bytes.fromhex("0a0000011ae1") + bytes([1, 2, 3, 4, 0, 2])
    assert v6 == six


peers4 = st.builds(PeerAddress, st.ip_addresses(v=4).map(str), st.integers(1, 65535))
peers6 = st.builds(PeerAddress, st.ip_addresses(v=6).filter(lambda a: a.ipv4_mapped is None).map(str),
                   st.integers(1, 65535))


@given(st.lists(peers4), st.lists(peers6))
def test_compact_roundtrip(v4, v6):
    a, b = encode_compact_peers(v4 + v6)
    assert decode_compact_peers(a) == v4
    assert decode_compact_peers6(b) == v6


# -- HTTP URLs --------------------------------------------------------------------------------


def test_announce_url_percent_encodes_raw_bytes():
    r = req(info_hash=b"\x12\x34\x56\x78\x9a\xbc\xde\xf1\x23\x45\x67\x89\xab\xcd\xef\x12\x34\x56\x78\x9a",
            event="started", numwant=10, key=0xBEEF, left=5)
    url = tracker.announce_url("http://t.example:6969/announce", r, tracker_id=b"id 1")
    assert url.startswith("http://t.example:6969/announce?info_hash=%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A&")
    assert "peer_id=-BT0001-abcdefghijkl" in url and "event=started" in url and "trackerid=id%201" in url
    assert "compact=1" in url and "numwant=10" in url and "key=0000beef" in url and "left=5" in url
    # The tracker side reads back exactly the same raw bytes.
    parsed = parse_announce_query(urlsplit(url).query)
    assert parsed.request.info_hash == r.info_hash and parsed.request.peer_id == PID and parsed.compact
    assert "event" not in tracker.announce_url("http://t/announce?passkey=x", req(), compact=False)
    assert tracker.announce_url("http://t/announce?passkey=x", req()).startswith("http://t/announce?passkey=x&info")


@given(st.binary(min_size=20, max_size=20), st.binary(min_size=20, max_size=20))
def test_announce_url_roundtrip(info_hash, peer_id):
    url = tracker.announce_url("http://t/announce", req(info_hash=info_hash, peer_id=peer_id))
    query = urlsplit(url).query
    assert all(c.isalnum() or c in "%&=-._~" for c in query)
    parsed = parse_announce_query(query).request
    assert (parsed.info_hash, parsed.peer_id) == (info_hash, peer_id)


@pytest.mark.parametrize("url, expected", [
    ("http://t/announce", "http://t/scrape"),
    ("http://t/x/announce.php", "http://t/x/scrape.php"),
    ("http://t/announce?passkey=1", "http://t/scrape?passkey=1"),
    ("http://t/a", None),
    ("http://t/announce/x", None),
    ("http://t/x%064announce", None),
])
def test_scrape_url(url, expected):
    assert tracker.scrape_url(url) == expected


def test_scrape_url_with_hashes():
    assert tracker.scrape_url("http://t/announce", [b"\x00" * 20]) == "http://t/scrape?info_hash=" + "%00" * 20


def test_http_get():
    host, port, data = tracker.http_get("http://t.example:81/announce?x=1")
    assert (host, port) == ("t.example", 81)
    assert data.startswith(b"GET /announce?x=1 HTTP/1.0\r\nHost: t.example:81\r\n") and data.endswith(b"\r\n\r\n")
    assert tracker.http_get("https://[::1]/")[:2] == ("::1", 443)
    assert tracker.http_get("http://h")[2].startswith(b"GET / HTTP/1.0\r\nHost: h:80")
    assert tracker.http_get("http://h/ann ounce/é?a=%41")[2].startswith(b"GET /ann%20ounce/%C3%A9?a=%41 HTTP/1.0")
    for bad in ("udp://h:1/announce", "http:///x", "http://h:99999/", "http://bücher.example/announce"):
        with pytest.raises(TrackerError):
            tracker.http_get(bad)


# -- HTTP answers -----------------------------------------------------------------------------


def http(body, status=b"200 OK", headers=b""):
    return b"HTTP/1.1 " + status + b"\r\n" + headers + b"\r\n" + body


def test_parse_http_response():
    assert tracker.parse_http_response(http(b"abc")) == b"abc"
    assert tracker.parse_http_response(http(b"abcdef", headers=b"Content-Length: 3\r\n")) == b"abc"
    chunked = b"3\r\nabc\r\n2;ext\r\nde\r\n0\r\n\r\n"
    assert tracker.parse_http_response(http(chunked, headers=b"Transfer-Encoding: chunked\r\n")) == b"abcde"
    bad = [
        (b"no blank line", "blank line"),
        (b"SMTP 200\r\n\r\n", "not an HTTP"),
        (http(b"ab", headers=b"Content-Length: 3\r\n"), "Content-Length"),
        (http(b"zz\r\nab\r\n0\r\n\r\n", headers=b"Transfer-Encoding: chunked\r\n"), "chunk size"),
        (http(b"9\r\nab", headers=b"Transfer-Encoding: chunked\r\n"), "ends early"),
        (http(b"3\r\nabc\r\n", headers=b"Transfer-Encoding: chunked\r\n"), "ends early"),
        (http(b"oops", status=b"404 Not Found"), "HTTP 404"),
        (http(b"d14:failure reason4:nopee", status=b"400 Bad"), "failure: nope"),
    ]
    for raw, message in bad:
        with pytest.raises(TrackerError, match=message):
            tracker.parse_http_response(raw)


def test_parse_http_response_chunk_sizes_are_hex_digits_only():
    chunked = b"Transfer-Encoding: chunked\r\n"
    # A negative size moves the parser's cursor backwards: "-1" lands on a "0" chunk
    # and reads as an empty body, "-6" lands on itself and would loop forever.
    for body in (b"-1\r\n\r\n0\r\n\r\n", b"0x3\r\nabc\r\n0\r\n\r\n", b"+3\r\nabc\r\n0\r\n\r\n", b"-6\r\n"):
        with pytest.raises(TrackerError, match="chunk size"):
            tracker.parse_http_response(http(body, headers=chunked))


def test_parse_announce_response_vectors(vectors):
    notes = json.loads((vectors / "bep3_peer_wire.json").read_text())["http_tracker"]
    result = tracker.parse_announce_response(bytes.fromhex(notes["constructed_response_compact"]["bencoded_hex"]))
    assert [str(p) for p in result.peers] == notes["constructed_response_compact"]["peers"]
    result = tracker.parse_announce_response(notes["constructed_response_dict_peers"]["bencoded"].encode())
    assert result.peers == (PeerAddress("10.0.0.1", 6881),) and result.peers[0].peer_id == b"a" * 20
    with pytest.raises(TrackerError, match="unknown info_hash"):
        tracker.parse_announce_response(notes["constructed_failure"]["bencoded"].encode())


def test_parse_announce_response_fields():
    body = bencode.encode({"interval": 900, "min interval": 60, "complete": 3, "incomplete": 4,
                           "warning message": "be nice", "tracker id": b"T1",
                           "peers": bytes([10, 0, 0, 1, 0, 80]), "peers6": bytes(15) + b"\x01\x00\x50"})
    r = tracker.parse_announce_response(body, url="http://x")
    assert r == AnnounceResult((PeerAddress("10.0.0.1", 80), PeerAddress("::1", 80)), 900, 60, 3, 4,
                               "be nice", b"T1", "http://x")
    assert tracker.parse_announce_response(b"de") == AnnounceResult()


@pytest.mark.parametrize("body, message", [
    (b"garbage", "not bencoded"),
    (b"li1ee", "not a dictionary"),
    (b"d5:peersi3ee", "neither"),
    (b"d5:peers5:abcdee", "multiple of 6"),
    (b"d6:peers6i1ee", "peers6"),
    (b"d8:intervali0ee", "positive"),
    (b"d8:intervali-5ee", "non-negative"),
    (b"d8:complete1:xe", "complete"),
    (b"d5:peersli1eee", "peer 0 is not"),
    (b"d5:peersld2:ip1:a4:porti0eeee", "peer 0 lacks"),
    (b"d14:failure reasoni7ee", "failure: 7"),
])
def test_parse_announce_response_rejects(body, message):
    with pytest.raises(TrackerError, match=message):
        tracker.parse_announce_response(body)


def test_parse_scrape_response():
    body = bencode.encode({"files": {IH: {"complete": 1, "downloaded": 2, "incomplete": 3}, b"y" * 20: {}}})
    assert tracker.parse_scrape_response(body) == {IH: ScrapeStats(1, 2, 3), b"y" * 20: ScrapeStats()}
    assert tracker.parse_scrape_response(b"de") == {}
    for bad in (b"d5:filesi1ee", b"d5:filesd1:xdeee", b"d5:filesd20:" + IH + b"i1eee"):
        with pytest.raises(TrackerError, match="scrape answer"):
            tracker.parse_scrape_response(bad)


# -- HTTP requests, tracker side --------------------------------------------------------------


def test_parse_query():
    assert parse_query(b"a=1&a=2&b=x+y&c&&d=%41") == {"a": [b"1", b"2"], "b": [b"x y"], "c": [b""], "d": [b"A"]}
    with pytest.raises(TrackerError, match="longer"):
        parse_query("a=" + "x" * tracker.MAX_QUERY)


@pytest.mark.parametrize("query, message", [
    ("peer_id=" + "a" * 20 + "&port=1", "missing info_hash"),
    ("info_hash=abc&peer_id=" + "a" * 20 + "&port=1", "info_hash must be 20"),
    ("info_hash=" + "a" * 20 + "&peer_id=abc&port=1", "peer_id must be 20"),
    ("info_hash=" + "a" * 20 + "&peer_id=" + "a" * 20, "missing port"),
    ("info_hash=" + "a" * 20 + "&peer_id=" + "a" * 20 + "&port=0", "not in 1..65535"),
    ("info_hash=" + "a" * 20 + "&peer_id=" + "a" * 20 + "&port=x", "not a number"),
    ("info_hash=" + "a" * 20 + "&peer_id=" + "a" * 20 + "&port=1&left=-3", "left must not be negative"),
    ("info_hash=" + "a" * 20 + "&peer_id=" + "a" * 20 + "&port=1&uploaded=" + "9" * 20, "not a number"),
    ("info_hash=" + "a" * 20 + "&peer_id=" + "a" * 20 + "&port=1&event=bogus", "unknown event"),
])
def test_parse_announce_query_rejects(query, message):
    with pytest.raises(TrackerError, match=message):
        parse_announce_query(query)


def test_parse_announce_query_options():
    base = "info_hash=" + "a" * 20 + "&peer_id=" + "b" * 20 + "&port=7"
    parsed = parse_announce_query(base + "&compact=0&no_peer_id=1&event=paused&numwant=3")
    assert not parsed.compact and parsed.no_peer_id and parsed.request.event == "" and parsed.request.numwant == 3


def test_parse_scrape_query():
    assert parse_scrape_query("info_hash=" + "a" * 20) == [b"a" * 20]
    assert parse_scrape_query("") == []
    with pytest.raises(TrackerError, match="20 bytes"):
        parse_scrape_query("info_hash=abc")
    with pytest.raises(TrackerError, match="at most"):
        parse_scrape_query("&".join(["info_hash=" + "a" * 20] * 75))


# -- UDP (BEP 15) -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def udp_vectors(vectors):
    data = json.loads((vectors / "bep15_udp_tracker.json").read_text())
    return {e["name"]: e for e in data["constructed_examples"]}


def test_udp_client_packets_match_vectors(udp_vectors):
    assert tracker.udp_connect_request(0x12345678).hex() == udp_vectors["connect_request"]["hex"]
    r = AnnounceRequest(info_hash=IH, peer_id=PID, port=6881, left=1000, event="started", key=0xDEADBEEF)
    packet = tracker.udp_announce_request(0x0123456789ABCDEF, 0x9ABCDEF0, r)
    expected = udp_vectors["announce_request"]["hex"]
    # The vector asks for the default number of peers (-1); btref sends its numwant.
    assert packet.hex()[:-12] == expected[:-12] and packet[-6:-2] == struct.pack(">i", 50)
    hashes = [IH, b"\xff" * 20]
    assert tracker.udp_scrape_request(0x0123456789ABCDEF, 0x0BADF00D, hashes).hex() == \
        udp_vectors["scrape_request_2_hashes"]["hex"]
    for bad in ([], [b"x"], [IH] * 75):
        with pytest.raises(TrackerError):
            tracker.udp_scrape_request(1, 2, bad)


def test_udp_responses_from_vectors(udp_vectors):
    r = tracker.parse_udp_response(bytes.fromhex(udp_vectors["connect_response"]["hex"]))
    assert (r.action, r.transaction_id, r.connection_id) == (0, 0x12345678, 0x0123456789ABCDEF)
    r = tracker.parse_udp_response(bytes.fromhex(udp_vectors["announce_response_ipv4"]["hex"]))
    assert [str(p) for p in r.result.peers] == ["10.0.0.1:6881", "192.168.1.2:51413"]
    assert (r.result.interval, r.result.incomplete, r.result.complete) == (1800, 2, 3)
    r = tracker.parse_udp_response(bytes.fromhex(udp_vectors["announce_response_ipv6"]["hex"]), ipv6=True)
    assert [str(p) for p in r.result.peers] == ["[2001:db8::1]:6881"]
    r = tracker.parse_udp_response(bytes.fromhex(udp_vectors["scrape_response_2_hashes"]["hex"]))
    assert r.scrape == (ScrapeStats(5, 10, 3), ScrapeStats(0, 0, 0))
    r = tracker.parse_udp_response(bytes.fromhex(udp_vectors["error_response"]["hex"]))
    assert (r.action, r.message) == (3, "unknown info_hash")


def test_udp_tracker_side_roundtrip(udp_vectors):
    assert tracker.udp_connect_response(0x12345678, 0x0123456789ABCDEF).hex() == udp_vectors["connect_response"]["hex"]
    peers = encode_compact_peers([PeerAddress("10.0.0.1", 6881), PeerAddress("192.168.1.2", 51413)])[0]
    assert tracker.udp_announce_response(0x9ABCDEF0, 1800, 2, 3, peers).hex() == \
        udp_vectors["announce_response_ipv4"]["hex"]
    assert tracker.udp_scrape_response(0x0BADF00D, [ScrapeStats(5, 10, 3), ScrapeStats()]).hex() == \
        udp_vectors["scrape_response_2_hashes"]["hex"]
    assert tracker.udp_error(0x0BADF00D, "unknown info_hash").hex() == udp_vectors["error_response"]["hex"]
    req_ = tracker.parse_udp_request(bytes.fromhex(udp_vectors["announce_request"]["hex"]))
    assert req_.connection_id == 0x0123456789ABCDEF and req_.transaction_id == 0x9ABCDEF0
    a = req_.announce
    assert (a.info_hash, a.peer_id, a.left, a.event, a.key, a.numwant, a.port) == \
        (IH, PID, 1000, "started", 0xDEADBEEF, 50, 6881)
    s = tracker.parse_udp_request(bytes.fromhex(udp_vectors["scrape_request_2_hashes"]["hex"]))
    assert s.info_hashes == (IH, b"\xff" * 20)
    c = tracker.parse_udp_request(bytes.fromhex(udp_vectors["connect_request"]["hex"]))
    assert (c.action, c.transaction_id) == (0, 0x12345678)


def test_udp_response_extensions_and_errors():
    extra = tracker.udp_announce_response(1, 60, 0, 0, bytes([1, 2, 3, 4, 0, 9])) + b"xyz"
    assert tracker.parse_udp_response(extra).result.peers == (PeerAddress("1.2.3.4", 9),)
    for bad, message in [(b"1234567", "shorter than 8"), (struct.pack(">II", 0, 1), "connect response"),
                         (struct.pack(">II", 1, 1), "announce response"), (struct.pack(">II", 9, 1), "unknown action")]:
        with pytest.raises(TrackerError, match=message):
            tracker.parse_udp_response(bad)


@pytest.mark.parametrize("packet, message", [
    (b"x" * 15, "short"),
    (struct.pack(">QII", 1, 0, 5), "protocol id"),
    (struct.pack(">QII", 1, 1, 5) + b"x" * 10, "expected 98"),
    (struct.pack(">QII", 1, 2, 5), "scrape must carry"),
    (struct.pack(">QII", 1, 2, 5) + b"x" * 21, "scrape must carry"),
    (struct.pack(">QII", 1, 7, 5), "unknown action"),
])
def test_parse_udp_request_rejects(packet, message):
    with pytest.raises(TrackerError, match=message):
        tracker.parse_udp_request(packet)


def test_parse_udp_request_bad_announce_fields():
    good = tracker.udp_announce_request(1, 2, req())
    with pytest.raises(TrackerError, match="unknown event"):
        tracker.parse_udp_request(good[:80] + struct.pack(">I", 9) + good[84:])
    with pytest.raises(TrackerError, match="port"):
        tracker.parse_udp_request(good[:96] + b"\x00\x00")


# -- untrusted input: nothing but TrackerError escapes -------------------------------------


@given(st.binary(max_size=300))
def test_client_parsers_only_raise_tracker_error(data):
    for parse in (tracker.parse_http_response, tracker.parse_announce_response, tracker.parse_scrape_response,
                  tracker.parse_udp_response, tracker.parse_udp_request):
        try:
            parse(data)
        except TrackerError:
            pass


@given(st.dictionaries(st.sampled_from([b"interval", b"peers", b"peers6", b"complete", b"min interval",
                                        b"tracker id", b"warning message", b"failure reason"]),
                       st.one_of(st.integers(-5, 5), st.binary(max_size=40),
                                 st.lists(st.dictionaries(st.sampled_from([b"ip", b"port", b"peer id"]),
                                                          st.one_of(st.integers(-1, 70000), st.binary(max_size=8))),
                                          max_size=3))))
def test_announce_answers_only_raise_tracker_error(answer):
    try:
        result = tracker.parse_announce_response(bencode.encode(answer))
    except TrackerError:
        return
    assert result.interval > 0 and all(0 < p.port < 65536 for p in result.peers)
