"""Whole downloads through the engine: Sessions wired by an in-memory message pump (no sockets).

The pump plays the driver's part: it delivers every ``Send`` to the other session (as a
message object, like the simulator), serves ``ReadBlock`` from the node's bytes, keeps
``WritePiece`` data and advances a virtual clock with ``tick``.
"""

from __future__ import annotations

import random
from collections import deque

import pytest
from btref_chokers.tit_for_tat import TitForTat
from btref_pickers.rarest_first import RarestFirst

from btref import wire
from btref.pieceset import PieceSet
from btref.io.create import create_torrent
from btref.session import Ban, Broadcast, Close, Complete, Config, Event, ReadBlock, Send, Session, WritePiece
from btref.metainfo import parse
from btref.plugins import plugin_manager


def make_torrent(tmp_path, size, piece_length=32 * 1024, seed=1):
    data = random.Random(seed).randbytes(size)
    path = tmp_path / "payload.bin"
    path.write_bytes(data)
    torrent = parse(create_torrent(path, version="v1", piece_length=piece_length, creation_date=0))
    return torrent, data


class Recorder:
    """An observer plugin that writes down the hooks it hears."""

    family = "observers"

    def __init__(self):
        self.calls = []

    from btref.hookspecs import hookimpl as _impl

    @_impl
    def btref_piece_verified(self, torrent, index):
        self.calls.append(("verified", index))

    @_impl
    def btref_piece_failed(self, torrent, index, peers):
        self.calls.append(("failed", index, tuple(peers)))

    @_impl
    def btref_peer_banned(self, peer, reason):
        self.calls.append(("banned", peer.key))

    @_impl
    def btref_torrent_complete(self, torrent):
        self.calls.append(("complete",))


class Node:
    def __init__(self, name, torrent, data, *, seed, config=None, corrupt=False, fast=True):
        self.name = name
        self.torrent = torrent
        self.recorder = Recorder()
        hook = plugin_manager(
            {"pickers": [RarestFirst()], "chokers": [TitForTat()], "hashes": ["sha1"]}, extra=[self.recorder]
        ).hook
        have = PieceSet.full(torrent.num_pieces) if seed else None
        self.session = Session(torrent, hook, have=have, peer_id=name.encode().ljust(20, b"-"),
                               rng=random.Random(name), config=config)
        self.store = bytearray(data) if seed else bytearray(len(data))
        self.corrupt = corrupt
        self.fast = fast
        self.events = []
        self.complete = False


class Pump:
    """Deliver messages between nodes until nothing moves; tick a virtual clock."""

    def __init__(self, nodes):
        self.nodes = {n.name: n for n in nodes}
        self.queue = deque()
        self.now = 0.0
        self.closed = set()
        self.sent = []

    def connect(self, a, b):
        fast = self.nodes[a].fast and self.nodes[b].fast
        self.handle(a, self.nodes[a].session.peer_connected(b, self.now, fast=fast, extensions=True))
        self.handle(b, self.nodes[b].session.peer_connected(a, self.now, fast=fast, extensions=True))

    def handle(self, name, actions):
        node = self.nodes[name]
        for action in actions:
            if isinstance(action, Broadcast):
                self.handle(name, [Send(key, action.msg) for key in action.keys])
            elif isinstance(action, Send):
                self.sent.append((name, action.key, action.msg))
                if frozenset((name, action.key)) not in self.closed:
                    self.queue.append((action.key, name, action.msg))
            elif isinstance(action, ReadBlock):
                start = action.index * node.torrent.piece_length + action.begin
                block = bytes(node.store[start : start + action.length])
                if node.corrupt:
                    block = bytes(b ^ 0xFF for b in block)
                self.handle(name, node.session.block_read(action.key, action.index, action.begin, block, self.now))
            elif isinstance(action, WritePiece):
                start = action.index * node.torrent.piece_length
                node.store[start : start + len(action.data)] = action.data
            elif isinstance(action, (Close, Ban)):
                self.closed.add(frozenset((name, action.key)))
                node.events.append(action)
                other = self.nodes[action.key]
                self.handle(action.key, other.session.peer_disconnected(name, self.now, "closed by peer"))
            elif isinstance(action, Complete):
                node.complete = True
            else:
                assert isinstance(action, Event)
                node.events.append(action)

    def run(self, *, until=lambda: False, max_steps=200_000, tick_every=50):
        steps = 0
        while steps < max_steps and not until():
            steps += 1
            if self.queue:
                dst, src, msg = self.queue.popleft()
                if frozenset((dst, src)) not in self.closed:
                    self.handle(dst, self.nodes[dst].session.message_received(src, msg, self.now))
            if not self.queue or steps % tick_every == 0:
                self.now += 1.0
                for name, node in self.nodes.items():
                    self.handle(name, node.session.tick(self.now))
        return steps


def test_leecher_downloads_from_seed_byte_exact(tmp_path):
    torrent, data = make_torrent(tmp_path, 300_000)  # 10 pieces, the last one short
    seed = Node("seed", torrent, data, seed=True)
    leech = Node("leech", torrent, data, seed=False)
    pump = Pump([seed, leech])
    pump.connect("seed", "leech")
    pump.run(until=lambda: leech.complete)
    assert leech.complete and bytes(leech.store) == data
    assert leech.session.have.complete()
    assert ("complete",) in leech.recorder.calls
    assert sorted(c[1] for c in leech.recorder.calls if c[0] == "verified") == list(range(torrent.num_pieces))
    # after completion the leecher tells the seed it wants nothing more
    assert any(isinstance(m, wire.NotInterested) for src, _, m in pump.sent if src == "leech")


@pytest.mark.parametrize("fast", [True, False])
def test_three_leechers_and_a_seed(tmp_path, fast):
    torrent, data = make_torrent(tmp_path, 20 * 16384 + 5, piece_length=16384, seed=2)
    nodes = [Node("seed", torrent, data, seed=True, fast=fast)]
    nodes += [Node(f"l{i}", torrent, data, seed=False, fast=fast) for i in range(3)]
    pump = Pump(nodes)
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            pump.connect(a.name, b.name)
    pump.run(until=lambda: all(n.complete for n in nodes[1:]))
    for node in nodes[1:]:
        assert bytes(node.store) == data
    # leechers traded with each other, not only with the seed
    uploads = {n.name: sum(p.bytes_uploaded for p in n.session.peers.values()) for n in nodes[1:]}
    assert sum(uploads.values()) > 0


def test_hostile_peer_is_banned_and_download_completes(tmp_path):
    torrent, data = make_torrent(tmp_path, 16 * 16384, piece_length=16384, seed=3)
    honest = Node("honest", torrent, data, seed=True)
    liar = Node("liar", torrent, data, seed=True, corrupt=True)
    leech = Node("leech", torrent, data, seed=False)
    pump = Pump([liar, honest, leech])
    pump.connect("liar", "leech")
    pump.connect("honest", "leech")
    pump.run(until=lambda: leech.complete)
    assert bytes(leech.store) == data
    bans = [a for a in leech.events if isinstance(a, Ban)]
    assert [b.key for b in bans] == ["liar"]
    assert ("banned", "liar") in leech.recorder.calls
    assert any(c[0] == "failed" for c in leech.recorder.calls)
    assert "honest" in leech.session.peers and "liar" not in leech.session.peers


def test_end_game_sends_cancels(tmp_path):
    torrent, data = make_torrent(tmp_path, 4 * 16384, piece_length=16384, seed=4)
    a = Node("a", torrent, data, seed=True)
    b = Node("b", torrent, data, seed=True)
    leech = Node("leech", torrent, data, seed=False)
    pump = Pump([a, b, leech])
    pump.connect("a", "leech")
    pump.connect("b", "leech")
    pump.run(until=lambda: leech.complete)
    assert bytes(leech.store) == data
    assert any(isinstance(e, Event) and e.name == "endgame" for e in leech.events)
    cancels = [m for src, _, m in pump.sent if src == "leech" and isinstance(m, wire.Cancel)]
    assert cancels, "end game must cancel the duplicate requests"


def test_choke_rounds_rotate_the_optimistic_unchoke(tmp_path):
    torrent, data = make_torrent(tmp_path, 8 * 16384, piece_length=16384, seed=5)
    seed = Node("seed", torrent, data, seed=True, config=Config(min_queue=1, max_queue=1))
    leechers = [Node(f"l{i}", torrent, data, seed=False) for i in range(6)]
    pump = Pump([seed, *leechers])
    for node in leechers:
        pump.connect("seed", node.name)
    pump.run(until=lambda: all(n.complete for n in leechers))
    rechokes = [e for e in seed.events if isinstance(e, Event) and e.name == "rechoke"]
    fills = [e for e in seed.events if isinstance(e, Event) and e.name == "unchoke"]
    assert rechokes and fills
    assert all(len(e.fields["unchoked"]) <= 4 for e in rechokes)
    served = {name for e in rechokes + fills for name in e.fields["unchoked"]}
    assert served == {n.name for n in leechers}
