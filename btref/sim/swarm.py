"""A simulated swarm: one real engine :class:`~btref.session.Session` per peer, on a virtual clock.

Every simulated peer is the *same* sans-I/O engine the asyncio driver runs (BEP 3 peer
protocol, BEP 6 fast extension), with its own plugin manager holding the picker and the
choker chosen *by name* (:func:`btref.plugins.plugin_manager`), plus the simulator's
:class:`~btref.sim.virtual.VirtualHash`. This module is only a driver: it carries the
engine's actions out on the simulated :class:`~btref.sim.network.Network` instead of
sockets, and plays the tracker (BEP 3 "trackers": a random subset of the peers present).

What a run looks like: peers *arrive* (:class:`PeerSpec`, all at once or spread out),
announce, connect to up to ``degree`` random peers present, download, and *leave*
(on completion, after seeding a while, or never; seeds may leave at a fixed time).
Every ``tick_interval`` each session gets ``tick(now)`` (rechoke every 10 s, timeouts).
``have`` messages travel in batches every ``have_window`` seconds (:mod:`btref.sim.haves`).

What a run records besides bytes (for the lessons of :mod:`btref.sim.lessons`): each peer's
first block and first verified piece (start-up latency); every seed's departure with the
pieces the others still held between them (a single point of failure); every hash-check
failure and ban (``incidents``: a peer with ``lies`` sends corrupt blocks, BEP 3 "pieces"
hashes); and, with ``record_addresses``, whose address each peer learned and how (the
tracker's answers, incoming connections: privacy).

Determinism: the run seed gives the swarm one :class:`random.Random` (arrivals, tracker
answers) and each peer its own, derived from the seed and the peer's name; the event loop
breaks ties by scheduling order. With ``trace=True`` every delivery is hashed into
:attr:`Swarm.digest`, so two runs can be compared byte for byte.
"""

from __future__ import annotations

import gc
import hashlib
import random
from collections.abc import Callable, Hashable
from typing import Any

import attrs

from btref import wire
from btref.actions import Ban, Broadcast, Close, Complete, Config, Event, ReadBlock, Send, UploadShares
from btref.pieceset import PieceSet
from btref.session import Session
from btref.metainfo import Torrent
from btref.plugins import plugin_manager
from btref.sim.haves import Have, HaveBatches
from btref.sim.loop import EventLoop
from btref.sim.network import Host, Network
from btref.sim.virtual import JUNK, ZEROS, VirtualHash

__all__ = ["PeerSpec", "SimPeer", "Swarm"]


@attrs.frozen
class PeerSpec:
    """Who a simulated peer is and how it behaves."""

    name: str
    #: Capacities in bytes per second.
    upload: float
    download: float
    #: Starts with every piece.
    seed: bool = False
    #: Virtual time it joins the swarm.
    arrive: float = 0.0
    #: Plugin choices, with parameters if any (``"rarest-first:random_first=0"``).
    picker: str = "rarest-first"
    choker: str = "tit-for-tat"
    #: Seconds it keeps seeding after completing (``None``: stays to the end).
    linger: float | None = None
    #: Virtual time it leaves whatever its state (a seed that goes away).
    leave_at: float | None = None
    #: Labels for the metrics, e.g. ``("free-rider",)``.
    tags: tuple[str, ...] = ()
    #: Sends corrupt blocks (every byte 0xFF): the hash check must catch it. A liar's
    #: pieces count as no copies, and a lying seed adds nothing to the lower bound.
    lies: bool = False


@attrs.define(eq=False)
class SimPeer:
    """The driver's record of one peer: its engine, its link, what it did."""

    spec: PeerSpec
    #: The engine's name for this peer: its position in the spec list. An ``int``, not the
    #: name, because ``str`` hashes change from one process to the next (hash
    #: randomisation), and the engine keeps peer keys in sets: ints keep runs repeatable.
    key: int
    session: Session
    host: Host[int]
    arrived_at: float
    completed_at: float | None = None
    left_at: float | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    #: Payload bytes received, by sender's key.
    down_from: dict[int, int] = attrs.Factory(dict)
    #: How many rechokes unchoked each other peer (by key), and how many rechokes it ran.
    unchoked: dict[int, int] = attrs.Factory(dict)
    rechokes: int = 0
    connections: set[int] = attrs.Factory(set)
    banned: set[int] = attrs.Factory(set)
    #: Virtual times its first block arrived and its first piece passed the hash check.
    first_block_at: float | None = None
    first_piece_at: float | None = None
    #: Whose addresses it learned (by key), and how first: ``"tracker"`` (an announce
    #: answer) or ``"connection"`` (the peer dialled us). Kept only with ``record_addresses``.
    learned: dict[int, str] = attrs.Factory(dict)
    last_announce: float = 0.0
    present: bool = True

    @property
    def name(self) -> str:
        return self.spec.name


class Swarm:
    """Peers, network and clock of one simulation run; :meth:`run` plays it out."""

    def __init__(self, torrent: Torrent, specs: list[PeerSpec], *, seed: int = 0, latency: float = 0.05,
                 degree: int = 20, max_connections: int = 50, tick_interval: float = 1.0,
                 announce_interval: float = 30.0, sample_interval: float = 5.0, star: bool = False,
                 have_window: float = 0.25, config: Config | None = None, trace: bool = False,
                 record_transfers: bool = False, record_addresses: bool = False,
                 hashes: tuple[str, ...] = ()) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError("peer names must be unique")
        self.torrent = torrent
        self.specs = list(specs)
        self.seed = seed
        self.degree, self.max_connections, self.star = degree, max_connections, star
        self.tick_interval, self.announce_interval = tick_interval, announce_interval
        self.sample_interval = sample_interval
        self.config = config or Config()
        self.loop = EventLoop()
        self.network = Network(self.loop, latency=latency, deliver=self._deliver, serve=self._serve)
        #: ``have`` messages travel in batches every ``have_window`` seconds (0: one by one).
        self.haves = HaveBatches(self.loop, latency, have_window, self._deliver_haves)
        self.rng = random.Random(f"{seed}:swarm")
        #: Every peer that arrived, by key (see :attr:`SimPeer.key`).
        self.peers: dict[int, SimPeer] = {}
        self.keys = {spec.name: key for key, spec in enumerate(specs)}
        self._present: list[SimPeer] = []
        self._index: dict[int, int] = {}
        #: Copies of each piece among the peers present (seeds included).
        self.copies = [0] * torrent.num_pieces
        #: ``(time, copies of the rarest piece, entropy of the copies)`` every sample.
        self.replication: list[tuple[float, int, float]] = []
        #: ``(time, src, dst, index)`` of every block delivered, if ``record_transfers``.
        self.transfers: list[tuple[float, str, str, int]] | None = [] if record_transfers else None
        #: ``(time, peer, index, passed)`` of every hash check, if ``record_transfers``.
        self.checks: list[tuple[float, str, int, bool]] | None = [] if record_transfers else None
        #: ``(time, peer, event)`` of every rechoke and unchoke, if ``record_transfers`` (the
        #: browser view, :mod:`btref.web`, draws the choke changes).
        self.chokes: list[tuple[float, str, Event]] | None = [] if record_transfers else None
        #: Hash schemes by name that check payloads for real (the sessions then keep their
        #: blocks; the torrent needs the payloads' digests: ``virtual_torrent(hashed=True)``).
        #: Empty: :class:`VirtualHash` checks that a piece is all zeros.
        self.hashes = hashes
        self.record_addresses = record_addresses
        #: When a seed leaves: ``(time, seed, pieces the peers present still hold, leechers
        #: completed, bytes downloaded by all peers so far)``.
        self.departures: list[tuple[float, str, int, int, int]] = []
        #: ``(time, peer, event name, fields)`` of every ``piece_failed`` and ``peer_banned``.
        self.incidents: list[tuple[float, str, str, dict[str, Any]]] = []
        # A liar's blocks must reach a hash check that can see them, so every session then
        # keeps its payload (VirtualHash checks that it is all zeros).
        self._keep_data = any(s.lies for s in specs) or bool(hashes)
        self.digest = hashlib.sha256() if trace else None
        self.leechers = self.remaining = sum(1 for s in specs if not s.seed)
        for key, spec in enumerate(specs):
            self.loop.at(spec.arrive, self._arrive, key, spec)
            if spec.leave_at is not None:
                self.loop.at(spec.leave_at, self._leave_by_key, key)

    # -- running --------------------------------------------------------------------

    def run(self, until: float = 3600.0, stop: Callable[[], bool] | None = None) -> float:
        """Play until every leecher completed, ``until``, or ``stop()`` turns true (say, a
        wall-clock budget: ``bench/sim.py --budget``); returns the virtual end time."""
        if not self.replication:  # the first call starts the sampler
            self.loop.at(self.loop.now, self._sample)
        # Python's cycle collector is off while the loop runs: its passes walk every live
        # object, and a large swarm holds millions (bitfields, requests, buckets) but makes
        # almost no cycles (a 300-peer crowd: about 2,000 objects in a whole run), so the
        # passes cost 10% of the run and found nothing. Reference counting frees the rest.
        collecting = gc.isenabled()
        gc.disable()
        try:
            # The last completion stops the loop (_complete); ``stop`` is the caller's.
            end = self.loop.run(until=until, stop=stop) if self.remaining else self.loop.now
        finally:
            if collecting:
                gc.enable()
        self._sample(reschedule=False)
        return end

    @property
    def done(self) -> bool:
        """Every peer that started empty has completed."""
        return self.remaining == 0

    # -- peers come and go ------------------------------------------------------------

    def by_name(self, name: str) -> SimPeer:
        """The peer called ``name`` (it must have arrived)."""
        return self.peers[self.keys[name]]

    def _arrive(self, key: int, spec: PeerSpec) -> None:
        now = self.loop.now
        rng = random.Random(f"{self.seed}:{spec.name}")
        chosen = {"pickers": [spec.picker], "chokers": [spec.choker], "hashes": list(self.hashes)}
        hook = plugin_manager(chosen, extra=[] if self.hashes else [VirtualHash()]).hook
        n = self.torrent.num_pieces
        session = Session(self.torrent, hook, have=PieceSet.full(n) if spec.seed else None,
                          peer_id=spec.name.encode()[:20].ljust(20, b"-"), rng=rng, config=self.config,
                          keep_data=self._keep_data)
        host = Host(key, spec.upload, spec.download, down_free=now)
        peer = self.peers[key] = SimPeer(spec, key, session, host, arrived_at=now)
        self.network.add(host)
        if spec.seed and not spec.lies:  # a liar's pieces are no copies
            self.copies = [c + 1 for c in self.copies]
        self._trace("arrive", key)
        self._announce(peer)
        self._index[key] = len(self._present)
        self._present.append(peer)
        self.loop.after(rng.uniform(0, self.tick_interval), self._tick, peer)

    def _announce(self, peer: SimPeer) -> None:
        """Play the tracker: connect ``peer`` to random peers present (seeds only if ``star``)."""
        peer.last_announce = self.loop.now
        want = self.degree - len(peer.connections)
        pool = self._present
        if want <= 0 or not pool:
            return
        if self.star:
            candidates = [p for p in pool if p.spec.seed]
        else:
            candidates = self.rng.sample(pool, min(len(pool), 2 * self.degree + len(peer.connections)))
        if self.record_addresses:  # the tracker's answer: every address in it is now known
            for other in candidates:
                if other is not peer:
                    peer.learned.setdefault(other.key, "tracker")
        for other in candidates:
            if want <= 0:
                break
            if (other is not peer and other.key not in peer.connections and other.key not in peer.banned
                    and peer.key not in other.banned and len(other.connections) < self.max_connections
                    and (self.star or not (peer.session.seeding and other.session.seeding))):
                self._connect(peer, other)
                want -= 1

    def _connect(self, a: SimPeer, b: SimPeer) -> None:
        now = self.loop.now
        a.connections.add(b.key)
        b.connections.add(a.key)
        if self.record_addresses:  # ``a`` dialled: ``b`` sees the address it came from
            b.learned.setdefault(a.key, "connection")
        self._trace("connect", a.key, b.key)
        self._apply(a, a.session.peer_connected(b.key, now, fast=True))
        self._apply(b, b.session.peer_connected(a.key, now, fast=True))

    def _disconnect(self, peer: SimPeer, other_key: int, reason: str) -> None:
        """``peer``'s engine closed the connection; tell the other side."""
        peer.connections.discard(other_key)
        other = self.peers[other_key]
        other.connections.discard(peer.key)
        self.network.disconnect(peer.key, other_key)
        self.haves.forget(peer.key, other_key)
        self._trace("close", peer.key, other_key)
        self._apply(other, other.session.peer_disconnected(peer.key, self.loop.now, reason))

    def _leave_by_key(self, key: int) -> None:
        peer = self.peers.get(key)
        if peer is not None:
            self._leave(peer)

    def _leave(self, peer: SimPeer) -> None:
        if not peer.present:
            return
        now = self.loop.now
        peer.present, peer.left_at = False, now
        self._trace("leave", peer.key)
        self.network.remove(peer.key)
        if not peer.spec.lies:
            for index in peer.session.have:
                self.copies[index] -= 1
        if peer.spec.seed:
            held = sum(1 for c in self.copies if c)
            down = sum(p.bytes_down for p in self.peers.values())
            self.departures.append((now, peer.name, held, self.leechers - self.remaining, down))
        last = self._present.pop()  # swap-remove from the tracker's list
        if last is not peer:
            slot = self._index[peer.key]
            self._present[slot] = last
            self._index[last.key] = slot
        del self._index[peer.key]
        for key in sorted(peer.connections):
            other = self.peers[key]
            other.connections.discard(peer.key)
            self.network.disconnect(peer.key, key)
            self.haves.forget(peer.key, key)
            self._apply(other, other.session.peer_disconnected(peer.key, now, "peer left the swarm"))
        peer.connections.clear()

    def _tick(self, peer: SimPeer) -> None:
        if not peer.present:
            return
        self._apply(peer, peer.session.tick(self.loop.now))
        if (len(peer.connections) < self.degree // 2 and not self.star
                and self.loop.now - peer.last_announce >= self.announce_interval):
            self._announce(peer)
        self.loop.after(self.tick_interval, self._tick, peer)

    def _sample(self, reschedule: bool = True) -> None:
        from btref.sim.metrics import entropy  # metrics imports nothing from here at module level

        copies = self.copies
        self.replication.append((self.loop.now, min(copies), entropy(copies)))
        if reschedule:
            self.loop.after(self.sample_interval, self._sample)

    # -- the driver's half of the engine's contract ---------------------------------------

    def _deliver(self, dst: int, src: int, messages: list[Any]) -> None:
        peer = self.peers[dst]
        if not peer.present or src not in peer.connections:
            return  # closed while the messages were on the wire
        now = self.loop.now
        for msg in messages:
            if self.digest is not None:
                self._trace("msg", src, dst, _describe(msg))
            if type(msg) is wire.Piece:
                size = len(msg.block)
                if peer.first_block_at is None:
                    peer.first_block_at = now
                peer.bytes_down += size
                peer.down_from[src] = peer.down_from.get(src, 0) + size
                self.peers[src].bytes_up += size
                if self.transfers is not None:
                    self.transfers.append((now, self.peers[src].name, peer.name, msg.index))
        # One call for the whole delivery: the engine tops the request queue up once, after
        # the last message, as it does for one read of a socket.
        self._apply(peer, peer.session.messages_received(src, messages, now))

    def _deliver_haves(self, dst: int, batch: list[Have]) -> None:
        """A batch of ``have`` messages arrives (:class:`~btref.sim.haves.HaveBatches`)."""
        peer = self.peers[dst]
        if not peer.present:
            return
        if self.digest is not None:
            for src, index in batch:
                self._trace("msg", src, dst, repr(wire.Have(index)))
        self._apply(peer, peer.session.haves_received(batch, self.loop.now))

    def _serve(self, src: int, dst: int, request: tuple[int, int, int]) -> wire.Piece | None:
        """The uplink is free: read the block (virtually) and let the engine send it."""
        index, begin, length = request
        peer = self.peers[src]
        for action in peer.session.block_read(dst, index, begin, ZEROS[:length], self.loop.now):
            if type(action) is Send and type(action.msg) is wire.Piece:
                return wire.Piece(index, begin, JUNK[:length]) if peer.spec.lies else action.msg
        return None

    def _apply(self, peer: SimPeer, actions: list[Any]) -> None:
        """Carry out a session's actions in order (see :mod:`btref.actions`)."""
        batch: dict[Hashable, list[Any]] = {}
        for action in actions:
            kind = type(action)
            if kind is Send:
                batch.setdefault(action.key, []).append(action.msg)
            elif kind is Broadcast:
                if self.haves.window and type(action.msg) is wire.Have:
                    self.haves.send(peer.key, action.keys, action.msg.index)
                else:
                    for key in action.keys:
                        batch.setdefault(key, []).append(action.msg)
            elif kind is ReadBlock:
                self._flush(peer, batch)  # what was said before the block goes before it
                self.network.queue_upload(peer.key, action.key, (action.index, action.begin, action.length))
            elif kind is Event:
                self._event(peer, action)
            elif kind is Close or kind is Ban:
                self._flush(peer, batch)
                if kind is Ban:
                    peer.banned.add(action.key)
                if action.key in peer.connections:
                    self._disconnect(peer, action.key, action.reason)
            elif kind is Complete:
                self._complete(peer)
            elif kind is UploadShares:
                self.network.set_shares(peer.key, dict(action.shares))
            # WritePiece: the payload is virtual, there is nothing to store.
        self._flush(peer, batch)

    def _flush(self, peer: SimPeer, batch: dict[Hashable, list[Any]]) -> None:
        for key, messages in batch.items():
            if key in peer.connections:
                self.network.send(peer.key, key, messages)
        batch.clear()

    def _event(self, peer: SimPeer, event: Event) -> None:
        if self.checks is not None and event.name in ("piece_verified", "piece_failed"):
            self.checks.append((self.loop.now, peer.name, event.fields["index"], event.name == "piece_verified"))
        if event.name == "piece_verified":
            if not peer.spec.lies:
                self.copies[event.fields["index"]] += 1
            if peer.first_piece_at is None:
                peer.first_piece_at = self.loop.now
        elif event.name == "rechoke" or event.name == "unchoke":
            if self.chokes is not None:
                self.chokes.append((self.loop.now, peer.name, event))
            if event.name == "unchoke":
                return
            peer.rechokes += 1
            for text in event.fields["unchoked"]:  # the engine reports keys as text
                key = int(text)
                peer.unchoked[key] = peer.unchoked.get(key, 0) + 1
        elif event.name == "piece_failed" or event.name == "peer_banned":
            self.incidents.append((self.loop.now, peer.name, event.name, event.fields))

    def _complete(self, peer: SimPeer) -> None:
        peer.completed_at = self.loop.now
        self._trace("complete", peer.key)
        if not peer.spec.seed:
            self.remaining -= 1
            if self.remaining == 0:  # every leecher is done: the run ends here
                self.loop.stop()
        if peer.spec.linger is not None:
            self.loop.after(peer.spec.linger, self._leave, peer)

    def _trace(self, *parts: object) -> None:
        if self.digest is not None:
            self.digest.update(f"{self.loop.now!r} {' '.join(map(str, parts))}\n".encode())


def _describe(msg: object) -> str:
    """A message as text for the trace (a block by its place and size, not its bytes)."""
    if type(msg) is wire.Piece:
        return f"Piece({msg.index}, {msg.begin}, {len(msg.block)})"
    return repr(msg)
