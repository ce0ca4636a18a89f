"""A live swarm on loopback: one seeder, a few leechers and the reference tracker (BEP 3).

``btref demo`` ends with this act. In one asyncio loop, over real TCP on 127.0.0.1, it
runs what BEP 3 describes: the reference tracker (:mod:`btref.net.tracker_server`, BEP 3
"Trackers"), a seeder and ``leechers`` downloaders, each a
:class:`~btref.net.driver.Client` with its own folder, peer id and listening port.
The torrent is made here (:func:`btref.io.create.create_torrent`) so that it names this
tracker. Every leecher announces, gets the others' addresses, dials them, and from then on
they trade pieces ("peer protocol") with the default rarest-first picker and tit-for-tat
choker.

What it makes visible: the seeder's upload is throttled
(:class:`~btref.net.throttle.TokenBucket`, in :class:`ThrottledSession`), so the leechers
finish mostly on pieces they got *from each other*, and the seeder sends little more than
one copy of the file however many leechers there are. :class:`ByteCounter`, an observer plugin (``btref_peer_connected`` /
``btref_peer_disconnected`` hooks), splits each leecher's bytes by the peer id they came from.

Invariants: everything listens on 127.0.0.1 only and on ports the OS picks; leechers are
started one at a time, each after the tracker has its predecessor, so each one's first
announce lists all earlier peers and the mesh is complete without waiting for an
interval; every session and the tracker are stopped, whatever happens; a copy counts as
good only if its bytes equal the original's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from btref.io.create import create_torrent
from btref.hookspecs import hookimpl
from btref.metainfo import Torrent, parse
from btref.net.driver import Client
from btref.net.throttle import TokenBucket  # here before btref.net.throttle; still importable from here
from btref.net.tracker_server import serve_tracker

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.actions import ReadBlock
    from btref.net.tracker_server import TrackerServer
    from btref.views import PeerView

__all__ = ["TokenBucket", "ThrottledSession", "ByteCounter", "PeerResult", "SwarmReport", "run_swarm",
           "piece_length_for", "FILE_NAME"]

#: The sample file every peer shares.
FILE_NAME = "btref-swarm.bin"
#: Seconds between two redraws of the live display.
REFRESH = 0.5


def piece_length_for(size: int) -> int:
    """A power of two giving about 64 pieces (at least 16 KiB): enough pieces to trade."""
    length = 16 * 1024
    while size // length > 64:
        length *= 2
    return length


def peer_id_for(name: str) -> bytes:
    """A readable BEP 20 style peer id: ``-RF0100-`` and the name, padded to 20 bytes."""
    return b"-RF0100-" + name.encode("ascii")[:12].ljust(12, b"-")


# [docs: throttled-session]
class ThrottledSession(Client):
    """A :class:`Client` whose uploads pass through a :class:`~btref.net.throttle.TokenBucket`.

    The driver serves the engine's ``ReadBlock`` actions in batches (``_serve``: read from
    disk, then ``block_read``, then send); this waits for the bucket before each batch, so
    blocks leave at ``upload_rate`` at most and the requests wait in the engine meanwhile.
    ``Client(upload_limit=...)`` (:mod:`btref.net.throttle`) does the same and
    honours upload shares too; the demo keeps this shorter wrapper to read.
    """

    def __init__(self, *args: Any, upload_rate: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bucket = TokenBucket(upload_rate, burst=upload_rate / 4)

    async def _serve(self, reads: list[ReadBlock]) -> None:
        if await self.bucket.take(sum(r.length for r in reads)):
            await super()._serve(reads)

    async def stop(self) -> None:
        self.bucket.close()
        await super().stop()
# [/docs: throttled-session]


# [docs: byte-counter]
class ByteCounter:
    """Bytes exchanged with each remote peer id, over all connections (an observer)."""

    family = "observers"
    name = "byte-counter"

    def __init__(self) -> None:
        self.session: Client | None = None
        self.ids: dict[Hashable, bytes] = {}  # connection key -> remote peer id
        self.received: dict[bytes, int] = {}  # from closed connections
        self.sent: dict[bytes, int] = {}

    @hookimpl
    def btref_peer_connected(self, peer: PeerView) -> None:
        assert self.session is not None  # the driver registers the link before the engine hears of it
        link = self.session.links.get(peer.key)
        self.ids[peer.key] = link.peer_id if link is not None and link.peer_id else b"?"

    @hookimpl
    def btref_peer_disconnected(self, peer: PeerView, reason: str) -> None:
        pid = self.ids.pop(peer.key, b"?")
        self.received[pid] = self.received.get(pid, 0) + peer.bytes_downloaded
        self.sent[pid] = self.sent.get(pid, 0) + peer.bytes_uploaded

    def totals(self) -> tuple[dict[bytes, int], dict[bytes, int]]:
        """(received, sent) by remote peer id: closed connections plus the open ones now."""
        received, sent = dict(self.received), dict(self.sent)
        engine = self.session.engine if self.session is not None else None
        for key, peer in (engine.peers.items() if engine is not None else ()):
            pid = self.ids.get(key, b"?")
            received[pid] = received.get(pid, 0) + peer.bytes_downloaded
            sent[pid] = sent.get(pid, 0) + peer.bytes_uploaded
        return received, sent
# [/docs: byte-counter]


@attrs.define
class PeerResult:
    """One row of the final table."""

    name: str
    seconds: float | None  # time to finish, from the leecher's start (None: did not finish)
    from_seed: int
    from_peers: int
    uploaded: int
    identical: bool

    def rate(self, size: int) -> float | None:
        """Average download rate in bytes per second."""
        return size / self.seconds if self.seconds else None


@attrs.define
class SwarmReport:
    """What the swarm did: a row per leecher, the seeder's upload, what went wrong."""

    size: int
    piece_length: int
    seed_uploaded: int
    seconds: float
    rows: list[PeerResult]
    problems: list[str]

    @property
    def seed_copies(self) -> float:
        """The seeder's upload as a multiple of the file size."""
        return self.seed_uploaded / self.size

    @property
    def from_peers(self) -> int:
        return sum(r.from_peers for r in self.rows)

    @property
    def from_seed(self) -> int:
        return sum(r.from_seed for r in self.rows)


@attrs.define
class _Peer:
    name: str
    session: Client
    counter: ByteCounter
    data_dir: Path
    done_at: float | None = None


def _session(cls: type[Client], name: str, torrent: Torrent, data_dir: Path, **options: Any) -> _Peer:
    counter = ByteCounter()
    session = cls(torrent, data_dir, host="127.0.0.1", discovery=("http-tracker",), observers=(counter,),
                  peer_id=peer_id_for(name), seed=True, **options)
    counter.session = session
    return _Peer(name, session, counter, data_dir)


async def _start(peer: _Peer, tracker: TrackerServer, count: int, deadline: float, problems: list[str]) -> bool:
    """Start ``peer``'s session and wait until the tracker lists ``count`` peers; False if it
    never does before ``deadline`` (the announce failed). A failed session is left to
    :func:`_follow`, which reports its error."""
    loop = asyncio.get_running_loop()
    peer.data_dir.mkdir(parents=True, exist_ok=True)
    await peer.session.start()
    while len(tracker.state.peers(peer.session.torrent.info_hash)) < count and peer.session.error is None:
        if loop.time() > deadline:
            problems.append(f"{peer.name}: the tracker never listed it (did its announce fail?)")
            return False
        await asyncio.sleep(0.01)
    return True


async def run_swarm(workdir: Path, data: bytes, *, leechers: int = 4, seed_rate: float = 1 << 20,
                    timeout: float = 300.0, show: Callable[[float, list[dict[str, Any]]], None] | None = None,
                    events: Callable[[str], IO[str]] | None = None) -> SwarmReport:
    """Share ``data`` from one seeder to ``leechers`` leechers on loopback; report who sent what.

    ``show(elapsed, rows)`` is called every :data:`REFRESH` seconds with a dict per peer
    (``name``, ``fraction``, ``down_rate``, ``up_rate``, ``peers``, ``uploaded``, ``done``)
    for a live display; ``events(name)``, if given, is the text stream each session writes
    its ``--events`` log to (the browser view, :mod:`btref.web.server`). Gives up after
    ``timeout`` seconds (the report says so).
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(_quiet_cancellations)
    try:
        return await _swarm(workdir, data, leechers, seed_rate, timeout, show, events)
    finally:
        await asyncio.sleep(0)  # let the callbacks of the tasks just cancelled run first
        loop.set_exception_handler(previous)


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Python 3.11's ``start_server`` reports a connection task cancelled at shutdown as an
    error ("Exception in callback ... CancelledError"); a cancellation is no error here."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


async def _swarm(workdir: Path, data: bytes, leechers: int, seed_rate: float, timeout: float,
                 show: Callable[[float, list[dict[str, Any]]], None] | None,
                 events: Callable[[str], IO[str]] | None = None) -> SwarmReport:
    size = len(data)
    piece_length = piece_length_for(size)
    seed_dir = workdir / "seed"
    seed_dir.mkdir(parents=True, exist_ok=True)
    (seed_dir / FILE_NAME).write_bytes(data)
    loop = asyncio.get_running_loop()
    async with serve_tracker("127.0.0.1", http_port=0, udp_port=None, interval=10) as tracker:
        raw = create_torrent(seed_dir / FILE_NAME, version="hybrid", piece_length=piece_length,
                             trackers=[[tracker.http_url]], creation_date=0, comment="btref demo swarm")
        (workdir / "btref-swarm.torrent").write_bytes(raw)
        torrent = parse(raw)
        seed = _session(ThrottledSession, "seed", torrent, seed_dir, upload_rate=seed_rate,
                        events=events and events("seed"))
        peers = [_session(Client, f"leecher-{n}", torrent, workdir / f"leecher-{n}",
                          events=events and events(f"leecher-{n}")) for n in range(1, leechers + 1)]
        started = loop.time()
        problems: list[str] = []
        try:
            ok = await _start(seed, tracker, 1, started + timeout, problems)
            for n, peer in enumerate(peers, 2):
                ok = ok and await _start(peer, tracker, n, started + timeout, problems)
            if ok:
                await _follow(seed, peers, started, timeout, show, problems)
        finally:
            for peer in [*peers, seed]:
                await peer.session.stop()
        seconds = loop.time() - started
    return _report(torrent, data, seed, peers, seconds, problems)


async def _follow(seed: _Peer, peers: list[_Peer], started: float, timeout: float,
                  show: Callable[[float, list[dict[str, Any]]], None] | None, problems: list[str]) -> None:
    """Note when each leecher completes; call ``show``; stop at the end, a failure or the timeout."""
    loop = asyncio.get_running_loop()
    while True:
        now = loop.time()
        for peer in peers:
            if peer.done_at is None and peer.session.complete.is_set():
                peer.done_at = now
        if show is not None:
            show(now - started, [_snapshot(p) for p in [seed, *peers]])
        failed = [f"{p.name}: {p.session.error}" for p in [seed, *peers] if p.session.error]
        if failed:
            problems.extend(failed)
            return
        if all(p.done_at is not None for p in peers):
            return
        if now - started > timeout:
            problems.append(f"not finished after {timeout:g} s")
            return
        waits = [asyncio.ensure_future(p.session.complete.wait()) for p in peers if p.done_at is None]
        await asyncio.wait(waits, timeout=REFRESH, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()


def _snapshot(peer: _Peer) -> dict[str, Any]:
    stats = peer.session.stats()
    return {"name": peer.name, "fraction": stats["bytes"] / (stats["total_bytes"] or 1),
            "down_rate": stats["down_rate"], "up_rate": stats["up_rate"], "peers": stats["peers"],
            "uploaded": stats["uploaded"], "downloaded": stats["downloaded"], "done": stats["complete"]}


def _report(torrent: Torrent, data: bytes, seed: _Peer, peers: list[_Peer], seconds: float,
            problems: list[str]) -> SwarmReport:
    seed_id = seed.session.peer_id
    rows = []
    for peer in peers:
        received, _ = peer.counter.totals()
        path = peer.data_dir / FILE_NAME
        identical = path.is_file() and path.read_bytes() == data
        if not identical:
            problems.append(f"{peer.name}: {path} {'differs from the original' if path.is_file() else 'is missing'}")
        finished = peer.done_at - peer.session.started_at if peer.done_at is not None else None
        from_seed = received.get(seed_id, 0)
        rows.append(PeerResult(peer.name, finished, from_seed, sum(received.values()) - from_seed,
                               peer.session.uploaded, identical))
    return SwarmReport(size=len(data), piece_length=torrent.piece_length, seed_uploaded=seed.session.uploaded,
                       seconds=seconds, rows=rows, problems=problems)
