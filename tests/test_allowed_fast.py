"""BEP 6 allowed fast: the canonical set, granting it to choked peers, and using a grant.

The set comes from the BEP's own example (``tests/vectors/bep6_allowed_fast.json``); the
engine tests wire a seeder that chokes everybody to a leecher through the in-memory pump
of ``tests/test_engine_swarm.py``: the leecher gets exactly its allowed fast pieces.
"""

from __future__ import annotations

import json
import random

from hypothesis import given
from hypothesis import strategies as st

from btref import wire
from btref.allowed_fast import allowed_fast_set
from btref.hookspecs import hookimpl
from btref.pieceset import PieceSet
from btref.plugins import plugin_manager
from btref.session import Close, Config, ReadBlock, Session
from btref_pickers.rarest_first import RarestFirst
from tests.test_engine import block, msgs, of, payload, session  # noqa: F401  (payload: a fixture)
from tests.test_engine_swarm import Node, Pump, make_torrent


def test_the_bep6_example(vectors):
    cases = json.loads((vectors / "bep6_allowed_fast.json").read_text())["cases"]
    for case in cases:
        info_hash = bytes.fromhex(case["info_hash_hex"])
        assert allowed_fast_set(case["ip"], info_hash, case["num_pieces"], case["k"]) == case["expected"]


@given(st.integers(0, 2**32 - 1), st.binary(min_size=20, max_size=20), st.integers(1, 3000), st.integers(0, 12))
def test_the_set_is_distinct_in_range_and_depends_on_the_slash_24_only(ip, info_hash, num_pieces, k):
    address = ".".join(str(b) for b in ip.to_bytes(4, "big"))
    neighbour = ".".join(str(b) for b in ((ip & 0xFFFFFF00) | (~ip & 0xFF)).to_bytes(4, "big"))
    pieces = allowed_fast_set(address, info_hash, num_pieces, k)
    assert len(pieces) == len(set(pieces)) == min(k, num_pieces)
    assert all(0 <= i < num_pieces for i in pieces)
    assert allowed_fast_set(neighbour, info_hash, num_pieces, k) == pieces


def test_no_set_for_ipv6():
    try:
        allowed_fast_set("::1", bytes(20), 10, 5)
    except ValueError:
        return
    raise AssertionError("an IPv6 address has no BEP 6 set")


# -- granting: the seeder's side ----------------------------------------------------------


class ChokeEveryone:
    """A choker that unchokes nobody: only allowed fast pieces can flow."""

    family = "chokers"
    name = "choke-everyone"

    @hookimpl
    def btref_rechoke(self, swarm, peers, now):
        return []


def choking_seed(torrent, config=None):
    """A seed's session whose choker unchokes nobody."""
    hook = plugin_manager({"pickers": [RarestFirst(random_first=0)], "chokers": [ChokeEveryone()],
                           "hashes": ["sha1"]}).hook
    return Session(torrent, hook, have=PieceSet.full(torrent.num_pieces), rng=random.Random(1), config=config)


def test_a_fast_ipv4_peer_is_granted_its_set_and_only_it(payload):  # noqa: F811
    torrent, _ = payload
    s = choking_seed(torrent, Config(allowed_fast_set_size=2))
    expected = allowed_fast_set("10.0.0.7", torrent.info_hash, torrent.num_pieces, 2)
    out = s.peer_connected("p", 0, fast=True, address="10.0.0.7")
    assert [m.index for m in msgs(out, wire.AllowedFast)] == expected
    assert s.peers["p"].granted == frozenset(expected)
    # not without BEP 6, not for IPv6, not with a set size of 0
    assert not msgs(s.peer_connected("q", 0, fast=False, address="10.0.0.8"), wire.AllowedFast)
    assert not msgs(s.peer_connected("r", 0, fast=True, address="::1"), wire.AllowedFast)
    off = choking_seed(torrent, Config(allowed_fast_set_size=0))
    assert not msgs(off.peer_connected("p", 0, fast=True, address="10.0.0.7"), wire.AllowedFast)


def test_a_choked_peer_is_served_its_allowed_pieces_and_rejected_the_rest(payload):  # noqa: F811
    torrent, data = payload
    s = choking_seed(torrent, Config(allowed_fast_set_size=2))
    s.peer_connected("p", 0, fast=True, address="10.0.0.7")
    granted, other = sorted(s.peers["p"].granted)[0], (set(range(torrent.num_pieces)) - s.peers["p"].granted).pop()
    s.message_received("p", wire.Interested(), 0)
    assert s.peers["p"].am_choking
    out = s.message_received("p", wire.Request(granted, 0, 16384), 1)
    assert of(out, ReadBlock) and not msgs(out, wire.Reject)
    served = s.block_read("p", granted, 0, block(data, granted, 0), 1)
    assert [m.index for m in msgs(served, wire.Piece)] == [granted]
    out = s.message_received("p", wire.Request(other, 0, 16384), 1)
    assert msgs(out, wire.Reject) == [wire.Reject(other, 0, 16384)] and not of(out, ReadBlock)


def test_choking_keeps_the_requests_for_allowed_pieces(payload):  # noqa: F811
    torrent, data = payload
    s = session(torrent, seed=True, config=Config(allowed_fast_set_size=2))
    s.peer_connected("p", 0, fast=True, address="10.0.0.7")
    granted = sorted(s.peers["p"].granted)[0]
    other = (set(range(torrent.num_pieces)) - s.peers["p"].granted).pop()
    s.message_received("p", wire.Interested(), 0)
    s.tick(0)  # the choke round unchokes the interested peer
    assert not s.peers["p"].am_choking
    s.message_received("p", wire.Request(granted, 0, 16384), 1)
    s.message_received("p", wire.Request(other, 0, 16384), 1)
    out: list = []
    s.choking.choke(s.peers["p"], 2, out)
    assert msgs(out, wire.Reject) == [wire.Reject(other, 0, 16384)]
    assert s.peers["p"].serving == {(granted, 0, 16384)}
    sent = s.block_read("p", granted, 0, block(data, granted, 0), 2)
    assert [m.index for m in msgs(sent, wire.Piece)] == [granted]


# -- both sides: a choked leecher downloads its allowed pieces ------------------------------


class AddressedPump(Pump):
    """The engine-swarm pump, with an IPv4 address per node (as the asyncio driver passes)."""

    def connect(self, a, b):
        for x, y in ((a, b), (b, a)):
            address = f"10.0.0.{list(self.nodes).index(y) + 1}"
            self.handle(x, self.nodes[x].session.peer_connected(y, self.now, fast=True, extensions=True,
                                                                 address=address))


def test_a_choked_leecher_downloads_its_allowed_fast_pieces_from_a_choking_seed(tmp_path):
    torrent, data = make_torrent(tmp_path, 20 * 16384, piece_length=16384, seed=6)
    seed = Node("seed", torrent, data, seed=True)
    seed.session = choking_seed(torrent, Config(allowed_fast_set_size=4))
    leech = Node("leech", torrent, data, seed=False)
    pump = AddressedPump([seed, leech])
    pump.connect("seed", "leech")
    pump.run(max_steps=5_000)
    granted = allowed_fast_set("10.0.0.2", torrent.info_hash, torrent.num_pieces, 4)
    assert seed.session.peers["leech"].am_choking and leech.session.peers["seed"].peer_choking
    assert sorted(leech.session.have) == sorted(granted)
    for index in granted:
        assert leech.store[index * 16384:(index + 1) * 16384] == data[index * 16384:(index + 1) * 16384]
    assert not any(isinstance(e, Close) for e in leech.events + seed.events)
