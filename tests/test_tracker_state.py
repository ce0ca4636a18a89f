"""The reference tracker's logic with a fake clock (btref.tracker_state): no sockets here."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import bencode, tracker
from btref.discovery import AnnounceRequest, PeerAddress, ScrapeStats
from btref.errors import TrackerError
from btref.tracker_state import TrackerState

IH = b"\x11" * 20


def pid(n: int) -> bytes:
    return b"-RF0001-%012d" % n


def req(n: int, **kw) -> AnnounceRequest:
    fields = dict(info_hash=IH, peer_id=pid(n), port=6000 + n, left=100)
    fields.update(kw)
    return AnnounceRequest(**fields)


def state(**kw) -> TrackerState:
    return TrackerState(secret=b"k", rng=random.Random(1), **kw)


def test_announce_returns_others_and_counts():
    t = state()
    assert t.announce(req(1, event="started"), "10.0.0.1", 0) == ([], ScrapeStats(0, 0, 1))
    peers, stats = t.announce(req(2, left=0, event="started"), "10.0.0.2", 1)
    assert [p.address() for p in peers] == [PeerAddress("10.0.0.1", 6001)]
    assert stats == ScrapeStats(complete=1, downloaded=0, incomplete=1)
    assert sorted(str(p) for p in t.peers(IH)) == ["10.0.0.1:6001", "10.0.0.2:6002"]
    assert t.peers(b"\x00" * 20) == []


def test_completed_counts_once_and_stopped_removes():
    t = state()
    t.announce(req(1, event="started"), "h", 0)
    t.announce(req(1, left=0, event="completed"), "h", 1)
    t.announce(req(1, left=0, event="completed"), "h", 2)  # a repeat is not a second download
    t.announce(req(2, left=0, event="completed"), "h", 2)  # a peer first heard at completion counts
    assert t.scrape([IH]) == {IH: ScrapeStats(complete=2, downloaded=2, incomplete=0)}
    t.announce(req(1, event="stopped"), "h", 3)
    assert t.scrape([IH, b"z" * 20]) == {IH: ScrapeStats(1, 2, 0), b"z" * 20: ScrapeStats()}


def test_numwant_and_cap():
    t = state(max_numwant=3)
    for n in range(10):
        t.announce(req(n), "10.0.0.%d" % n, 0)
    assert len(t.announce(req(0, numwant=2), "10.0.0.0", 0)[0]) == 2
    assert len(t.announce(req(0, numwant=50), "10.0.0.0", 0)[0]) == 3
    assert t.announce(req(0, numwant=0), "10.0.0.0", 0)[0] == []


def test_expiry_after_two_intervals():
    t = state(interval=10)
    t.announce(req(1), "a", 0)
    t.announce(req(2), "b", 15)
    t.expire(20)
    assert len(t.peers(IH)) == 2  # 20 s silent is exactly two intervals: still there
    assert t.announce(req(3), "c", 21)[0][0].port == 6002  # stale peer 1 is not handed out...
    assert len(t.peers(IH)) == 3  # ...though it is swept only every half interval
    t.announce(req(3), "c", 25)
    assert [p.port for p in t.peers(IH)] == [6002, 6003]
    t.expire(100)
    assert t.swarms == {}  # no peers, no downloads: the swarm is forgotten


def test_swarm_with_downloads_survives_expiry():
    t = state(interval=10)
    t.announce(req(1, left=0, event="completed"), "a", 0)
    t.expire(1000)
    assert t.scrape([IH])[IH] == ScrapeStats(0, 1, 0)


def test_max_swarms():
    t = state(max_swarms=1)
    t.announce(req(1), "a", 0)
    with pytest.raises(TrackerError, match="too many torrents"):
        t.announce(req(1, info_hash=b"\x22" * 20), "a", 0)
    body = bencode.decode(t.http_announce(tracker.announce_url("http://x/announce", req(1, info_hash=b"\x22" * 20))
                                          .split("?")[1], "a", 0))
    assert b"too many" in body[b"failure reason"]


def test_interval_must_be_positive():
    with pytest.raises(ValueError):
        TrackerState(interval=0)


def query(r: AnnounceRequest, compact: bool = True) -> str:
    return tracker.announce_url("http://x/announce", r, compact=compact).split("?", 1)[1]


def test_http_announce_compact_and_dicts():
    t = state(min_interval=30)
    t.announce(req(1), "10.0.0.1", 0)
    t.announce(req(3), "::ffff:10.0.0.3", 0)  # an IPv4-mapped address is stored as IPv4
    t.announce(req(4), "2001:db8::4", 0)
    answer = bencode.decode(t.http_announce(query(req(2)), "10.0.0.2", 1))
    assert answer[b"interval"] == 120 and answer[b"min interval"] == 30 and answer[b"incomplete"] == 4
    result = tracker.parse_announce_response(t.http_announce(query(req(2)), "10.0.0.2", 1))
    assert sorted(map(str, result.peers)) == ["10.0.0.1:6001", "10.0.0.3:6003", "[2001:db8::4]:6004"]
    plain = bencode.decode(t.http_announce(query(req(2), compact=False), "10.0.0.2", 1))
    assert sorted(p[b"ip"] for p in plain[b"peers"]) == [b"10.0.0.1", b"10.0.0.3", b"2001:db8::4"]
    assert all(p[b"peer id"].startswith(b"-RF0001-") for p in plain[b"peers"])
    no_id = bencode.decode(t.http_announce(query(req(2), compact=False) + "&no_peer_id=1", "10.0.0.2", 1))
    assert all(b"peer id" not in p for p in no_id[b"peers"])


def test_http_failures_are_bencoded():
    t = state()
    for bad in ("", "info_hash=x", "a=" + "b" * 9000):
        assert b"failure reason" in bencode.decode(t.http_announce(bad, "h", 0))
    assert bencode.decode(t.http_scrape(""))[b"failure reason"].startswith(b"scrape needs")
    assert b"failure reason" in bencode.decode(t.http_scrape("info_hash=short"))
    t.announce(req(1), "h", 0)
    files = bencode.decode(t.http_scrape("info_hash=" + "%11" * 20))[b"files"]
    assert files == {IH: {b"complete": 0, b"downloaded": 0, b"incomplete": 1}}


def test_udp_connect_announce_scrape():
    t = state()
    addr = ("10.0.0.9", 5555)
    connect = tracker.parse_udp_response(t.udp_packet(tracker.udp_connect_request(7), addr, 100.0))
    assert connect.transaction_id == 7
    cid = connect.connection_id
    assert cid == t.connection_id(("10.0.0.9", 1), 100.0)  # the port does not matter
    t.announce(req(1), "10.0.0.1", 100)
    t.announce(req(5), "2001:db8::5", 100)
    reply = tracker.parse_udp_response(t.udp_packet(tracker.udp_announce_request(cid, 8, req(2)), addr, 101))
    assert reply.transaction_id == 8 and reply.result.peers == (PeerAddress("10.0.0.1", 6001),)
    assert (reply.result.incomplete, reply.result.complete, reply.result.interval) == (3, 0, 120)
    six = t.udp_packet(tracker.udp_announce_request(cid, 8, req(2)), addr, 101, ipv6=True)
    assert tracker.parse_udp_response(six, ipv6=True).result.peers == (PeerAddress("2001:db8::5", 6005),)
    scrape = tracker.parse_udp_response(t.udp_packet(tracker.udp_scrape_request(cid, 9, [IH]), addr, 102))
    assert scrape.scrape == (ScrapeStats(0, 0, 3),)


def test_udp_connection_id_lifetime():
    t = state()
    addr = ("10.0.0.9", 5555)
    cid = t.connection_id(addr, 0.0)
    announce = tracker.udp_announce_request(cid, 1, req(1))
    assert tracker.parse_udp_response(t.udp_packet(announce, addr, 119.0)).action == tracker.ANNOUNCE
    expired = tracker.parse_udp_response(t.udp_packet(announce, addr, 180.0))
    assert expired.action == tracker.ERROR and "connection id" in expired.message
    other_host = tracker.parse_udp_response(t.udp_packet(announce, ("10.0.0.8", 5555), 1.0))
    assert other_host.action == tracker.ERROR
    magic = tracker.udp_announce_request(tracker.PROTOCOL_ID, 1, req(1))
    assert tracker.parse_udp_response(t.udp_packet(magic, addr, 1.0)).action == tracker.ERROR


def test_udp_bad_packets():
    t = state(max_swarms=0)
    addr = ("10.0.0.9", 5555)
    assert t.udp_packet(b"short", addr, 0) is None
    error = tracker.parse_udp_response(t.udp_packet(struct.pack(">QII", 1, 9, 77), addr, 0))
    assert (error.action, error.transaction_id) == (tracker.ERROR, 77)
    cid = t.connection_id(addr, 0)
    full = tracker.parse_udp_response(t.udp_packet(tracker.udp_announce_request(cid, 5, req(1)), addr, 0))
    assert full.action == tracker.ERROR and "too many" in full.message


@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["", "started", "completed", "stopped"]),
                          st.integers(0, 1), st.integers(0, 1000)), max_size=40))
def test_counts_stay_consistent(steps):
    t = state(interval=60)
    now = 0
    for n, event, seed, dt in steps:
        now += dt
        t.announce(req(n, event=event, left=0 if seed else 5), "10.0.0.%d" % n, now)
        swarm = t.swarms.get(IH)
        if swarm is not None:
            stats = swarm.stats()
            assert stats.complete + stats.incomplete == len(swarm.peers) <= 6
            assert all(now - p.last_seen <= 2 * 60 + 1000 for p in swarm.peers.values())


def test_an_empty_left_is_a_leecher():
    """WebTorrent announces ``left=`` before it has a magnet link's metadata."""
    t = state()
    q = query(req(1)).replace("left=100", "left=")
    assert "left=&" in q
    answer = bencode.decode(t.http_announce(q, "10.0.0.1", 0))
    assert b"failure reason" not in answer
    assert (answer[b"complete"], answer[b"incomplete"]) == (0, 1)
    t.http_announce(query(req(2, left=0)), "10.0.0.2", 1)
    assert t.scrape([IH])[IH] == ScrapeStats(complete=1, downloaded=0, incomplete=1)
    for bad in ("left=-1", "left=x"):
        assert b"failure reason" in bencode.decode(t.http_announce(q.replace("left=", bad), "h", 0))


def test_a_peer_is_known_by_address_not_peer_id():
    """rtorrent announces again under a new peer id after fetching a magnet link's metadata:
    it replaces its old record, and is not handed its own address."""
    t = state()
    t.announce(req(1, event="started"), "10.0.0.1", 0)
    peers, stats = t.announce(req(1, peer_id=b"-lt0D80-" + b"x" * 12, event="started"), "10.0.0.1", 1)
    assert peers == [] and stats == ScrapeStats(0, 0, 1)
    assert [p.peer_id for p in t.swarms[IH].peers.values()] == [b"-lt0D80-" + b"x" * 12]
    t.announce(req(2), "10.0.0.1", 2)  # another port on the same host is another peer
    assert sorted(p.port for p in t.peers(IH)) == [6001, 6002]
    t.announce(req(9, port=6001, event="stopped"), "10.0.0.1", 3)  # stopped, whatever its id
    assert [p.port for p in t.peers(IH)] == [6002]


@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["", "stopped"]), st.booleans(),
                          st.integers(0, 100)), max_size=80), st.integers(0, 40))
def test_swarm_index_and_sample_stay_consistent(steps, numwant):
    t = state(interval=30)
    now = 0
    for n, event, seed, dt in steps:
        now += dt
        peers, stats = t.announce(req(n, event=event, left=0 if seed else 5, numwant=numwant), "10.0.0.1", now)
        swarm = t.swarms.get(IH)
        if swarm is None:
            continue
        assert sorted(p.key for p in swarm._order) == sorted(swarm.peers)
        assert all(swarm._order[i] is swarm.peers[k] for k, i in swarm._slot.items())
        assert stats.complete == swarm.seeds == sum(p.left == 0 for p in swarm.peers.values())
        keys = [p.key for p in peers]
        assert len(peers) <= numwant and len(set(keys)) == len(keys) and ("10.0.0.1", 6000 + n) not in keys
        assert all(now - p.last_seen <= 60 for p in peers)


@given(st.binary(max_size=200), st.integers(0, 10**6))
def test_udp_packets_never_crash_the_tracker(data, now):
    t = state()
    answer = t.udp_packet(data, ("10.0.0.1", 1), now)
    assert answer is None or tracker.parse_udp_response(answer).action in (tracker.CONNECT, tracker.ERROR)
    # the same bytes behind a valid connection id
    cid = t.connection_id(("10.0.0.1", 1), now).to_bytes(8, "big")
    t.udp_packet(cid + data[8:], ("10.0.0.1", 1), now)


@given(st.text(max_size=300), st.binary(max_size=300))
def test_http_queries_never_crash_the_tracker(text, raw):
    t = state()
    for query in (text.encode("utf-8"), raw, b"info_hash=" + raw + b"&peer_id=" + raw + b"&port=1"):
        assert bencode.decode(t.http_announce(query, "10.0.0.1", 0))
        assert bencode.decode(t.http_scrape(query))
