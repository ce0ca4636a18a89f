"""The asyncio driver: runs the sans-I/O engine on real sockets, disks and clocks (BEP 3).

:class:`Client` is what makes btref a real client. It owns, for one torrent:

* a :class:`~btref.io.storage.Storage` (all disk I/O in one worker thread, so the event
  loop never blocks and reads and writes happen in the order they were asked for), and
  ``pieces_on_disk``, the pieces whose write returned;
* a :class:`~btref.session.Session` (the engine: messages in, actions out), fed
  ``now = loop.time()``;
* a plugin manager (:func:`btref.plugins.plugin_manager`) with the chosen picker and
  choker, the hash schemes of the torrent's version, the discovery plugins and observers;
* a :class:`~btref.net.listener.PeerNetwork` (``network``): the listening server, the dials,
  the handshakes and the connection table, one :class:`~btref.net.peer_io.PeerLink` per
  connection keyed by its ``(host, port)``, and every fact about addresses (known peers,
  back-off, bans). The network knows no engine: it tells the client when a link is
  admitted, what it read and when it ended (the methods of the
  :class:`~btref.net.listener.Driver` protocol, in "the network's side" below), and the
  client tells it what to dial, close and ban;
* the announces (``btref_announce``), the transfer totals they report (``uploaded``,
  ``downloaded``), the ``--events`` log, the upload limit and the web seeds.

The loop, in one sentence: bytes from a socket become messages
(:class:`~btref.connection.Connection`), messages go to the engine, and the driver
carries out the actions it returns (:meth:`Client.execute`): ``Send`` queues
on a link (``Broadcast``, on each of its links), ``ReadBlock`` and ``WritePiece`` go to
the disk thread, ``Close``/``Ban`` end a link, ``Event`` goes to the ``--events`` log
(``piece_verified`` once the write returned), ``Complete`` announces ``completed``.
Without ``upload_limit`` blocks are served at once and TCP splits the link among the
connections by what each takes, so ``UploadShares`` has nothing to act on; with one,
the ``ReadBlock``s wait for a
:class:`~btref.net.throttle.LimitedUplink`, which sends at the limit and splits it by the
last ``UploadShares`` (as the simulator does). A tick (``tick``, 1 s) calls ``engine.tick`` (rechoke,
timeouts, keep-alives), drops peers that went silent and redials peers; the tick is the
resolution of every timer the engine keeps. The log notes every ``cancel`` we send.

Web seeds (BEP 19): each URL of the torrent's ``url-list`` is a
:class:`~btref.net.webseed.WebSeed`, a peer of the session without a socket of its own:
``Send`` to its key hands it the message (it fetches what was requested over HTTP),
``Ban`` and ``Close`` end it.

Start (:meth:`~Client.start`): recheck the data (resume is a recheck: good
pieces are never fetched again), listen, take over the connections a magnet fetch left
open (``adopt``), announce ``started`` through the ``btref_announce`` hook and connect
to the peers found. Stop
(:meth:`~Client.stop`): close every link and task, let pending writes finish,
``fsync`` (storage close), announce ``stopped``. Discovery and tracking: BEP 3
"Trackers", BEP 12 tiers (in the plugins).

With ``files`` (a file selection, :func:`btref.layout.choose_files`) the recheck, the
storage and the session know which files and pieces are wanted (skipped files are never
written: :mod:`btref.io.storage`); with ``priorities`` (file index to level,
:func:`btref.layout.file_priorities`) the session asks for the pieces of higher files
first (:meth:`btref.layout.Layout.tiers`); with ``download_limit`` every read's payload pays a
:class:`~btref.net.throttle.TokenBucket` (the network's) before the link reads again.

Invariants: a piece counts as done (``pieces_on_disk``), and is logged as
``piece_verified``, only after its write returned; the download is complete only when
every wanted piece is on disk and flushed; the engine hears of a link only once the
network admitted it, and of its end at most once (not at all when the engine closed it
itself); the rules about connections (bans by
address and peer id, our own peer id refused, at most ``max_peers``) are the network's:
:mod:`btref.net.listener`.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from collections.abc import Collection, Coroutine, Hashable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import IO, TYPE_CHECKING, Any

from btref import wire
from btref.actions import Ban, Broadcast, Close, Complete, Config, Event, ReadBlock, Send, UploadShares, WritePiece
from btref.session import Session
from btref.discovery import AnnounceRequest
from btref.errors import BtrefError, ProtocolError, StorageError
from btref.metainfo import Torrent
from btref.mse import Policy
from btref.net.events import EventLog
from btref.net.extensions import Extensions
from btref.net.listener import INACTIVITY_TIMEOUT, PeerNetwork
from btref.net.peer_io import PeerKey, PeerLink
from btref.net.throttle import LimitedUplink
from btref.net.webseed import WebSeed
from btref.pieceset import PieceSet
from btref.plugins import HASH_SCHEMES, plugin_manager
from btref.io.storage import Storage, VerifyReport, verify

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.net.magnet_fetch import OpenConnection

__all__ = ["Client", "make_peer_id", "TICK", "STOP_ROUND"]

#: Seconds between two engine ticks.
TICK = 1.0
#: Seconds to wait for the ``stopped`` announce at shutdown.
STOP_ANNOUNCE_TIMEOUT = 5.0
#: Seconds :meth:`Client.stop` waits for cancelled tasks before cancelling the rest again.
STOP_ROUND = 1.0
#: Seconds between redial rounds; a peer that failed n times waits min(2**n, 60) s.
REDIAL_EVERY = 5.0


def make_peer_id() -> bytes:
    """An Azureus-style peer id: ``-RF0100-`` and 12 random bytes (BEP 20).

    ``RF`` ("reference") is in none of the client tables of Transmission, libtorrent,
    BiglyBT or WebTorrent's ``bittorrent-peerid``, so other clients show the code itself
    rather than someone else's name (``BR``, say, is BitRocket's).
    """
    return b"-RF0100-" + secrets.token_bytes(12)


class Client:
    """Download and/or seed one torrent over TCP or uTP; ``async with`` starts and stops it."""

    def __init__(self, torrent: Torrent, data_dir: str | os.PathLike[str], *, host: str = "0.0.0.0",
                 port: int = 0, peers: tuple[str, ...] | list[str] = (), picker: str | object = "rarest-first",
                 choker: str | object = "tit-for-tat", discovery: tuple[object, ...] = ("http-tracker", "udp-tracker"),
                 observers: tuple[object, ...] = (), seed: bool = False,
                 events: str | os.PathLike[str] | IO[str] | None = None,
                 config: Config | None = None, peer_id: bytes | None = None, max_peers: int = 60,
                 stall_timeout: float | None = None, recheck: VerifyReport | None = None,
                 upload_limit: float | None = None, inactivity_timeout: float = INACTIVITY_TIMEOUT,
                 adopt: Iterable[OpenConnection] = (), files: Collection[int] | None = None,
                 download_limit: float | None = None, encryption: Policy = "off", transport: str = "tcp",
                 priorities: Mapping[int, int] | None = None, rng: random.Random | None = None,
                 tick: float = TICK) -> None:
        if upload_limit is not None and not upload_limit > 0:
            raise ValueError(f"upload_limit must be a rate above 0 bytes/s, got {upload_limit}")
        self.torrent, self.data_dir = torrent, os.fspath(data_dir)
        self.keep_seeding = seed
        self.peer_id = peer_id or make_peer_id()
        self.stall_timeout = stall_timeout
        sources = list(discovery)
        if peers:
            from btref_discovery.static import StaticPeers  # the built-in plugin, instantiated with our list

            sources.append(StaticPeers(list(peers)))
        self.plugins = plugin_manager({
            "hashes": HASH_SCHEMES[torrent.version], "pickers": [picker], "chokers": [choker],
            "discovery": sources, "observers": list(observers),
        })
        self.hook = self.plugins.hook
        # Refill request queues a quarter at a time (the picker runs about 60 times less
        # often than after every block), grow a new peer's queue by slow start, and hang up
        # when both sides only upload (BEP 21, as libtorrent does by default).
        self.config = config or Config(refill_fraction=0.25, slow_start=True, close_redundant=True)
        #: Sockets and addresses: listening, dialling, handshakes, the links, bans.
        self.network = PeerNetwork(
            self, torrent, self.peer_id, Extensions(torrent, self.plugins), reqq=self.config.max_peer_requests,
            host=host, port=port, transport=transport, encryption=encryption, max_peers=max_peers,
            inactivity_timeout=inactivity_timeout, download_limit=download_limit)
        self._adopt = list(adopt)  # connections a magnet fetch left open, for the network at start
        self.rng = rng  # the session's only randomness (seeded: repeatable choker draws); None: fresh
        self.tick = tick  # seconds between engine ticks: the resolution of every timer the engine keeps
        self._events_target = events
        self._recheck = recheck  # a fresh VerifyReport spares the start-up recheck
        self.upload_limit = upload_limit  # payload bytes per second; None: as fast as TCP goes
        self.files = files  # the files to download (btref.layout.choose_files); None: all
        self.priorities = dict(priorities or {})  # file index -> level (btref.layout.file_priorities)
        self.uplink: LimitedUplink | None = None
        self.events: EventLog | None = None
        self.engine: Session | None = None
        self.storage: Storage | None = None
        # BEP 19 servers, by their WebSeedKey: peers of the session without a socket of their own.
        self.web_seeds: dict[Hashable, WebSeed] = {}
        self.uploaded = self.downloaded = 0  # payload bytes, what the announces report
        self.error: str | None = None
        self.pieces_on_disk: PieceSet | None = None
        self.complete = asyncio.Event()
        self.finished = asyncio.Event()  # complete (and not seeding), failed, or stopped
        self._engine_complete = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._disk: set[asyncio.Task[Any]] = set()
        # Pieces handed to the disk thread, with their piece_verified event once it came.
        self._unwritten: dict[int, Event | None] = {}
        self._announced = False
        self.started_at = self.last_data = 0.0

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> Client:
        """Recheck, listen, announce ``started``, dial; returns once the session runs."""
        loop = self.loop = asyncio.get_running_loop()
        self.started_at = self.last_data = loop.time()
        if self._events_target is not None:
            self.events = EventLog(self._events_target, start=self.started_at)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="btref-disk")
        report = self._recheck
        if report is None:
            report = await loop.run_in_executor(self.executor, partial(
                verify, self.torrent, self.data_dir, self.hook, selected=self.files))
        self.pieces_on_disk = report.good.copy()
        self.storage = Storage(self.torrent, self.data_dir, selected=self.files, parked=report.parked)
        # Pieces an earlier run parked apart, now wanted in their files, go there first.
        await loop.run_in_executor(self.executor, self.storage.restore)
        wanted = None if self.files is None else self.storage.layout.pieces_of(self.files)
        tiers = self.storage.layout.tiers(self.priorities) if self.priorities else ()
        self.engine = Session(self.torrent, self.hook, have=report.good, peer_id=self.peer_id,
                              rng=self.rng or random.Random(), config=self.config, wanted=wanted, tiers=tiers)
        self.event("recheck", {"good": report.good.count, "bad": len(report.bad), "missing": len(report.missing)})
        await self.network.start()
        self._engine_complete = self.engine.done
        if self._engine_complete:
            self._set_complete()
        for conn in self._adopt:  # before the first announce, so that none of them is dialled again
            self.network.adopt(conn)
        self._adopt.clear()
        self._spawn(self._tick_loop(), self._tasks)
        self._spawn(self._announce_loop(), self._tasks)
        for url in self.torrent.web_seeds:
            web = WebSeed(url, self.torrent, self)
            self.web_seeds[web.key] = web
            self._spawn(web.run(), self._tasks)
        if self.upload_limit is not None:
            self.uplink = LimitedUplink(self.upload_limit, self._serve_counted)
            self._spawn(self.uplink.run(), self._tasks)
        return self

    async def stop(self) -> None:
        """Close everything cleanly: links, tasks, pending writes, fsync, ``stopped`` announce."""
        for conn in self._adopt:  # handed over, but the start failed before taking them
            conn.close()
        self._adopt.clear()
        if self.network.closing or not hasattr(self, "executor"):
            return  # stopping, or never started
        # [docs: stop]
        self.network.close()  # stops listening, closes every link, admits no new one
        if self.uplink is not None:
            self.uplink.close()  # wakes the uplink task if it waits for tokens
        # Until none is left: an ending task may spawn another (a dropped link's last
        # actions), and a cancellation can be lost (Python 3.11's wait_for returns its result
        # when the awaited thing finished in the loop turn the cancel came in), so whatever
        # still runs after a round is cancelled again.
        while pending := {task for task in self._tasks | self.network.tasks if not task.done()}:
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=STOP_ROUND)
        while pending := {task for task in self._disk if not task.done()}:
            await asyncio.wait(pending)  # verified data is not dropped
        await self.network.wait_closed()
        if self._announced:
            try:
                await asyncio.wait_for(self.announce("stopped"), STOP_ANNOUNCE_TIMEOUT)
            except (TimeoutError, BtrefError, OSError):
                pass
        if self.storage is not None:  # flush and fsync: what was verified survives a crash
            await self.loop.run_in_executor(self.executor, self.storage.close)
        self.executor.shutdown(wait=True)
        # [/docs: stop]
        self.event("stopped", {"uploaded": self.uploaded, "downloaded": self.downloaded})
        if self.events is not None:
            self.events.close()
        self.finished.set()

    async def __aenter__(self) -> Client:
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def run(self) -> bool:
        """Wait until done (complete and not seeding, failed, or stopped); True if complete."""
        await self.finished.wait()
        return self.complete.is_set() and self.error is None

    def _spawn(self, coro: Coroutine[Any, Any, object], group: set[asyncio.Task[Any]]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        group.add(task)
        task.add_done_callback(group.discard)
        return task

    def fail(self, reason: str) -> None:
        """Give up: :meth:`run` returns False and ``error`` says why."""
        if self.error is None:
            self.error = reason
            self.event("failed", {"reason": reason})
        self.finished.set()

    # -- actions ----------------------------------------------------------------------

    def execute(self, actions: list[Any]) -> None:
        """Carry out the engine's actions in order, then send everything queued."""
        # [docs: execute]
        links = self.network.links
        reads: list[ReadBlock] = []
        writes: list[WritePiece] = []
        broken: list[tuple[PeerLink, str]] = []
        touched: set[PeerLink] = set()
        for action in actions:
            kind = type(action)
            if kind is Send or kind is Broadcast:
                for key in (action.key,) if kind is Send else action.keys:
                    link = links.get(key)
                    if link is None:
                        if key in self.web_seeds:
                            self.web_seeds[key].queue(action.msg)
                        continue
                    try:
                        size = link.queue(action.msg)
                    except ProtocolError as exc:
                        broken.append((link, f"cannot send {type(action.msg).__name__}: {exc}"))
                        continue
                    touched.add(link)
                    if type(action.msg) is wire.Piece:
                        self.uploaded += size - 13
                    elif type(action.msg) is wire.Cancel:  # end game's losers, or a request timed out
                        self.event("cancel", {"peer": str(key), "index": action.msg.index})
            elif kind is ReadBlock:
                reads.append(action)
            elif kind is WritePiece:
                writes.append(action)
                self._unwritten[action.index] = None
            elif kind is Event:
                # The engine says verified before the write; the log says it after (_write),
                # so a log that survives a crash never claims a piece the disk lacks.
                if action.name == "piece_verified" and action.fields.get("index") in self._unwritten:
                    self._unwritten[action.fields["index"]] = action
                else:
                    self.event(action.name, action.fields)
            elif kind is Ban and action.key in self.web_seeds:
                self.web_seeds[action.key].ban()
            elif kind is Close and action.key in self.web_seeds:
                self.web_seeds[action.key].dropped()
            elif kind is Ban:
                broken += [(other, "banned address") for other in self.network.ban(action.key)]
                self._close(action.key)
            elif kind is Close:
                self._close(action.key)
            elif kind is Complete:
                self._engine_complete = True
                if self.engine is not None and self.engine.seeding:  # not for a file selection
                    self._spawn(self.announce("completed"), self._tasks)
            elif kind is UploadShares and self.uplink is not None:
                self.uplink.set_shares(action.shares)
        for link in touched:
            link.flush()
        # Writes first: the disk thread is FIFO, so a later read of a piece finds it written.
        if writes:
            self._spawn(self._write(writes), self._disk)
        if reads:
            self._read_blocks(reads)
        # [/docs: execute]
        for link, reason in broken:
            self.network.drop(link, reason)

    def _close(self, key: Hashable) -> None:
        """The engine closed (or banned) the peer at ``key``: it forgot the peer already."""
        if self.uplink is not None:
            self.uplink.forget(key)
        self.network.close_link(key)

    # [docs: hold]
    def _read_blocks(self, reads: list[ReadBlock]) -> None:
        """Read the blocks asked for, except for a peer we already owe ``HIGH_WATER`` bytes:
        its requests wait on its link (they stay in the engine's ``Peer.serving``, which is
        capped, so a choke or a cancel still reaches them) until :meth:`_release` serves them."""
        ready: list[ReadBlock] = []
        for read in reads:
            link = self.network.links.get(read.key)
            if link is None:
                continue  # gone: the engine forgot its requests too
            if link.held or link.backed_up:
                if not link.held:
                    self._spawn(self._release(link), self._tasks)
                link.held.append(read)
            else:
                link.reading += read.length
                ready.append(read)
        self._serve_soon(ready)

    async def _release(self, link: PeerLink) -> None:
        """Serve the requests ``link`` holds as room frees up (one task while it holds any)."""
        while link.held and await link.room():
            ready: list[ReadBlock] = []
            while link.held and not link.backed_up:
                read = link.held.popleft()
                link.reading += read.length
                ready.append(read)
            self._serve_soon(ready)
    # [/docs: hold]

    def _serve_soon(self, reads: list[ReadBlock]) -> None:
        if reads and self.uplink is not None:  # they wait for their turn at the limit
            self.uplink.queue(reads)
        elif reads:
            self._spawn(self._serve(reads), self._disk)

    async def _write(self, writes: list[WritePiece]) -> None:
        assert self.storage is not None and self.pieces_on_disk is not None
        storage, on_disk = self.storage, self.pieces_on_disk

        def write_all() -> None:
            for w in writes:
                storage.write_piece(w.index, w.data)

        try:
            await self.loop.run_in_executor(self.executor, write_all)
        except StorageError as exc:
            for w in writes:  # not on disk: never logged as verified
                self._unwritten.pop(w.index, None)
            self.fail(f"cannot write to {self.data_dir}: {exc}")
            return
        for w in writes:
            on_disk.set(w.index)
            held = self._unwritten.pop(w.index, None)
            if held is not None:
                self.event(held.name, held.fields)
        if self._engine_complete and not self.complete.is_set() and self._wanted_on_disk():
            await self.loop.run_in_executor(self.executor, storage.flush)
            self._set_complete()

    def _wanted_on_disk(self) -> bool:
        """Every piece the selection wants is written (all of them without a selection)."""
        assert self.engine is not None and self.pieces_on_disk is not None
        on_disk = self.pieces_on_disk
        return on_disk.complete() or all(on_disk[i] for i in self.engine.wanted)

    def _set_complete(self) -> None:
        self.complete.set()
        self.event("on_disk", {"pieces": self.torrent.num_pieces})
        if not self.keep_seeding:
            self.finished.set()

    async def _serve(self, reads: list[ReadBlock]) -> None:
        assert self.storage is not None and self.engine is not None
        storage = self.storage

        def read_all() -> list[bytes | None]:
            blocks: list[bytes | None] = []
            for r in reads:
                try:
                    blocks.append(storage.read_block(r.index, r.begin, r.length))
                except StorageError:
                    blocks.append(None)
            return blocks

        blocks = await self.loop.run_in_executor(self.executor, read_all)
        actions: list[Any] = []
        now = self.loop.time()
        for r, block in zip(reads, blocks):
            if block is None:
                self.event("read_failed", {"piece": r.index, "begin": r.begin})
            else:
                actions += self.engine.block_read(r.key, r.index, r.begin, block, now)
        self.execute(actions)
        for r in reads:  # queued (and counted in the backlog) or dropped: no longer being read
            link = self.network.links.get(r.key)
            if link is not None:
                link.done_reading(r.length)

    async def _serve_counted(self, reads: list[ReadBlock]) -> int:
        """:meth:`_serve` for the limited uplink, which pays for the payload bytes sent."""
        before = self.uploaded
        await self._serve(reads)
        return self.uploaded - before

    # -- the network's side (btref.net.listener.Driver) ------------------------------------

    def upload_only(self) -> bool:
        """We only upload (BEP 21): we seed, unless as a super-seed (BEP 16), which hides
        that, as libtorrent does."""
        assert self.engine is not None
        return self.engine.seeding and self.engine.superseed is None

    def peer_connected(self, link: PeerLink) -> None:
        """The network admitted ``link``: the engine meets the peer (and its answer is sent)."""
        assert self.engine is not None
        self.execute(self.engine.peer_connected(link.key, self.loop.time(), fast=link.conn.fast,
                                                extensions=link.conn.extension, address=link.key[0]))

    def messages_received(self, key: PeerKey, msgs: list[wire.Message | wire.Handshake]) -> int:
        """Pass one read's messages to the engine and carry out what it answers; returns
        the payload bytes (``piece`` blocks) they brought, which a download limit charges."""
        assert self.engine is not None
        now = self.loop.time()
        payload = 0
        for msg in msgs:
            if type(msg) is wire.Piece:
                payload += len(msg.block)
                self.last_data = now
        self.downloaded += payload
        # One call for the whole read: the engine tops up the request queue once.
        self.execute(self.engine.messages_received(key, msgs, now))
        return payload

    def peer_disconnected(self, key: PeerKey, reason: str) -> None:
        """An admitted link ended: the engine forgets the peer (and its queue at the limit goes)."""
        if self.uplink is not None:
            self.uplink.forget(key)
        assert self.engine is not None
        self.execute(self.engine.peer_disconnected(key, self.loop.time(), reason))

    def peer_is_seed(self, key: PeerKey) -> bool:
        """The peer at ``key`` has every piece (False once the engine forgot it)."""
        assert self.engine is not None
        peer = self.engine.peers.get(key)
        return peer is not None and peer.has.complete()

    def download_complete(self) -> bool:
        """Every piece we want is on disk and flushed."""
        return self.complete.is_set()

    # -- time and discovery -------------------------------------------------------------

    # [docs: tick]
    async def _tick_loop(self) -> None:
        assert self.engine is not None
        network, last_dial = self.network, 0.0
        while True:
            await asyncio.sleep(self.tick)
            now = self.loop.time()
            self.execute(self.engine.tick(now))
            network.drop_idle(now)
            network.send_pex(now)
            if now - last_dial >= REDIAL_EVERY:
                last_dial = now
                network.redial(now)
            if (self.stall_timeout is not None and not self.complete.is_set()
                    and now - self.last_data >= self.stall_timeout):
                self.fail(self._stall_reason())
    # [/docs: tick]

    def _stall_reason(self) -> str:
        """Why no data came: the peers found, counted by how our last try with each went."""
        secs = f"{self.stall_timeout:g} s"
        network, engine = self.network, self.engine
        if not network.known and not network.links:
            return (f"no peers found in {secs}: the torrent names no tracker that answered "
                    "and no --peer was given")
        assert engine is not None
        connected = network.links.keys()
        wanted = sum(1 for key in connected if key in engine.peers and engine.peers[key].am_interested)
        others = network.tries()
        counts = (
            (wanted, "connected but sent no data (choked us, or slow)"),
            (len(connected) - wanted, "connected but have nothing we lack"),
            (others.count("left"), "connected, then hung up"),
            (others.count("handshake"), "closed the connection at the handshake "
                                        "(another torrent, a ban, or no room for us)"),
            (others.count("connect"), "could not be connected to (refused, or no answer)"),
            (others.count("untried"), "not dialled yet"),
        )
        found = len(connected) + len(others)
        return f"no data for {secs} from the {found} peer(s) found: " + ", ".join(
            f"{n} {what}" for n, what in counts if n)

    async def _announce_loop(self) -> None:
        interval = await self.announce("started")
        while interval is not None:
            await asyncio.sleep(interval)
            interval = await self.announce("")

    async def announce(self, event: str) -> float | None:
        """Ask every discovery plugin (``btref_announce``); learn peers; return the next interval."""
        network = self.network
        assert network.port is not None and self.pieces_on_disk is not None
        left = sum(self.torrent.piece_size(i) for i in range(self.torrent.num_pieces) if not self.pieces_on_disk[i])
        request = AnnounceRequest.for_torrent(self.torrent, peer_id=self.peer_id, port=network.port, event=event,
                                              uploaded=self.uploaded, downloaded=self.downloaded, left=left,
                                              found=network.found)
        pending = [a for a in self.hook.btref_announce(request=request) if a is not None]
        if event == "started":
            self._announced = True
        results = await asyncio.gather(*pending, return_exceptions=True)
        intervals: list[int] = []
        for result in results:
            if isinstance(result, BaseException):
                if not isinstance(result, (BtrefError, OSError)):
                    raise result
                self.event("announce_failed", {"announce": event, "reason": str(result)})
                continue
            intervals.append(max(1, result.interval))
            for peer in result.peers:
                network.add_peer(peer)
            self.event("announced", {"announce": event, "peers": len(result.peers), "url": result.url})
        if event != "stopped":
            network.redial(self.loop.time())
        return min(intervals) if intervals else None

    # -- reporting ------------------------------------------------------------------------

    def event(self, name: str, fields: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.write(name, fields, self.loop.time())

    def stats(self) -> dict[str, Any]:
        """Numbers for a progress display: pieces and bytes on disk, peers, rates."""
        engine, on_disk, now = self.engine, self.pieces_on_disk, self.loop.time()
        assert engine is not None and on_disk is not None
        wanted, size = engine.wanted, self.torrent.piece_size
        # With a file selection, only the wanted pieces count: 100% is every chosen file.
        done = list(on_disk) if wanted.complete() else [i for i in on_disk if wanted[i]]
        total_bytes = self.torrent.total_length if wanted.complete() else sum(size(i) for i in wanted)
        return {
            "pieces": len(done), "num_pieces": wanted.count, "bytes": sum(size(i) for i in done),
            "total_bytes": total_bytes, "peers": len(self.network.links),
            "down_rate": sum(p.down.rate(now) for p in engine.peers.values()),
            "up_rate": sum(p.up.rate(now) for p in engine.peers.values()),
            "uploaded": self.uploaded, "downloaded": self.downloaded, "complete": self.complete.is_set(),
        }

    # -- the network's facts, for code that holds a client -----------------------------------

    @property
    def port(self) -> int | None:
        """The port we listen on (TCP, and uTP beside it); None until started."""
        return self.network.port

    @property
    def links(self) -> dict[Hashable, PeerLink]:
        """The admitted connections, by their :class:`~btref.net.peer_io.PeerKey`."""
        return self.network.links

