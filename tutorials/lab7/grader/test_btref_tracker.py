"""Group "btref tracker": both clients against btref's reference tracker, HTTP and UDP
(BEP 3, 15, 23; the tracker of ``btref tracker``). Each test has a swarm of its own."""

from __future__ import annotations

import hashlib

import pytest

from btref.discovery import PeerAddress
from lab7_grading import RunningTracker, announce, closed_port, req

pytestmark = pytest.mark.timeout(120)  # a client that blocks the event loop cannot hang the grading


def swarm(name: str) -> bytes:
    return hashlib.sha1(name.encode()).digest()


def url_of(ref: RunningTracker, kind: str) -> str:
    return ref.http_url if kind == "http" else ref.udp_url


def peers_meet(ref: RunningTracker, kind: str) -> None:
    ih, url = swarm(f"meet-{kind}"), url_of(ref, kind)
    first = announce(kind, req(ih, 1, [[url]]), f"the {kind} announce of peer 1")
    assert first is not None, "btref_announce returned None for a torrent with a tracker of its kind"
    assert first.url == url, f"the result should carry url={url!r}, not {first.url!r}"
    assert PeerAddress("127.0.0.1", 9001) in ref.peers(ih), "the tracker did not register peer 1"
    second = announce(kind, req(ih, 2, [[url]]), f"the {kind} announce of peer 2")
    assert PeerAddress("127.0.0.1", 9001) in second.peers, f"peer 2 was not told about peer 1: {second.peers}"
    assert (second.complete, second.incomplete) == (0, 2), "the answer's seeders/leechers are wrong"
    assert second.interval == 60


def events(ref: RunningTracker, kind: str) -> None:
    ih, url = swarm(f"events-{kind}"), url_of(ref, kind)
    announce(kind, req(ih, 1, [[url]]), f"the {kind} announce 'started'")
    announce(kind, req(ih, 1, [[url]], event="completed", left=0), f"the {kind} announce 'completed'")
    assert ref.seeders(ih) == 1, "after 'completed' with left=0 the tracker should count one seeder"
    announce(kind, req(ih, 1, [[url]], event="stopped", left=0), f"the {kind} announce 'stopped'")
    assert ref.peers(ih) == [], "after 'stopped' the tracker should have forgotten the peer"


def tiers(ref: RunningTracker, kind: str) -> None:
    ih = swarm(f"tiers-{kind}")
    dead = f"http://127.0.0.1:{closed_port()}/announce" if kind == "http" else "udp://127.0.0.1:1/announce"
    url = url_of(ref, kind)
    result = announce(kind, req(ih, 1, [[dead], [url]]), f"the {kind} announce")
    assert result is not None and result.url == url, f"the answer should come from {url}"
    assert PeerAddress("127.0.0.1", 9001) in ref.peers(ih)


def test_http_peers_meet(btref_tracker: RunningTracker) -> None:
    """HTTP announce: the tracker registers each peer, the second learns the first; the result's url is the tracker's"""
    peers_meet(btref_tracker, "http")


def test_udp_peers_meet(btref_tracker: RunningTracker) -> None:
    """UDP announce: the tracker registers each peer, the second learns the first; the result's url is the tracker's"""
    peers_meet(btref_tracker, "udp")


def test_http_events(btref_tracker: RunningTracker) -> None:
    """HTTP announce sends the event: 'completed' makes you a seeder at the tracker, 'stopped' removes you"""
    events(btref_tracker, "http")


def test_udp_events(btref_tracker: RunningTracker) -> None:
    """UDP announce sends the event (BEP 15 numbers): 'completed' makes you a seeder, 'stopped' removes you"""
    events(btref_tracker, "udp")


def test_http_tiers(btref_tracker: RunningTracker) -> None:
    """HTTP tiers in order: a closed port first, then btref's tracker, which answers (BEP 12)"""
    tiers(btref_tracker, "http")


def test_udp_tiers(btref_tracker: RunningTracker) -> None:
    """UDP tiers in order: nobody at port 1 first (an ICMP error: error_received), then btref's tracker (BEP 12)"""
    tiers(btref_tracker, "udp")


def test_raw_info_hash_bytes_reach_the_tracker(btref_tracker: RunningTracker) -> None:
    """the HTTP announce percent-encodes the raw info hash so the tracker reads back the very same 20 bytes"""
    ih = b"\x00 &=?#%+/\xff\x80" + b"\x7f" * 9
    result = announce("http", req(ih, 1, [[btref_tracker.http_url]]), "the HTTP announce")
    assert result is not None and btref_tracker.peers(ih) == [PeerAddress("127.0.0.1", 9001)], (
        "the tracker registered the peer under another info hash: check the percent-encoding")


def test_each_client_takes_its_own_scheme_only(btref_tracker: RunningTracker) -> None:
    """btref_announce returns None for a torrent without a tracker of its own scheme (http:// or udp://)"""
    ih = swarm("schemes")
    for kind, other in (("http", btref_tracker.udp_url), ("udp", btref_tracker.http_url)):
        assert announce(kind, req(ih, 1, [[other]]), f"the {kind} announce") is None, (
            f"the {kind} client answered for a torrent whose only tracker is {other}")
        assert announce(kind, req(ih, 1, []), f"the {kind} announce") is None, (
            f"the {kind} client answered for a torrent without trackers")
