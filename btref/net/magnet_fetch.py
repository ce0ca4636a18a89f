"""From a magnet link to a torrent: find peers, fetch the info dictionary (BEP 9, BEP 10; BEP 52).

:func:`fetch_metadata` is the asyncio half of :class:`btref.metadata.MetadataFetcher`:

1. ask the discovery plugins (``btref_announce``: the link's ``tr=`` trackers, the DHT, the
   ``x.pe=`` peers through the ``static`` plugin) for peers, and dial each one as it is found
   (an answer from one plugin is not held up by a slow other); ask again every
   :data:`REANNOUNCE_EVERY` seconds, and dial a peer that could not be reached, or hung up,
   again after 1, 2, 4 ... (at most :data:`MAX_RETRY`) seconds;
2. on each connection: message stream encryption first when the ``encryption`` policy
   dials encrypted (``prefer``, ``require``; :mod:`btref.mse`, with the link's info hash as
   SKEY), as :class:`btref.net.driver.Client` dials: ``prefer`` dials an address in
   plaintext after its MSE handshake failed, ``require`` never does; then
   the BEP 3 handshake with the extension bit, our BEP 10 handshake
   offering ``ut_metadata`` (no ``metadata_size``: we have none), then read messages. The
   ``ut_metadata`` answers go to the fetcher; every other message (``bitfield``, ``have``,
   the peer's extension handshake ...) is kept, unread, for the download that follows: we
   know no piece count yet, so nothing here could check them. Frames are capped at
   :data:`MAX_FRAME` bytes, and what is kept at :data:`MAX_KEPT`;
3. carry out the fetcher's actions; a one-second tick hands late pieces to other peers;
4. when the metadata passes its hash, build the :class:`~btref.metainfo.Torrent` with
   :func:`btref.metainfo.from_info` (the link's ``tr=`` trackers become its tiers, its
   ``ws=`` web seeds its BEP 19 ``url-list``, which a web seed cannot fill in before the
   metadata is known: it serves pieces, not the info dictionary), and report the
   peers that were found, so the download that follows starts with them. With
   ``keep_connections=True`` the connections still open are handed over as
   :class:`OpenConnection` objects for :class:`btref.net.driver.Client` to adopt, so the
   download goes on over the same sockets: a peer that allows one connection per address
   (Transmission) would refuse a second one made at once. An encrypted connection is handed
   over with its RC4 streams, which are in the middle of their key streams.

Invariants: every connection and task started here is closed before the call returns,
except the connections handed over (then the caller owns them: adopt or
:meth:`FetchResult.close` them), also when the call is cancelled (the cancel is never
lost: no ``asyncio.wait_for``); the whole fetch is bounded by ``timeout``
(:class:`~btref.errors.MetadataError` on expiry).
"""

from __future__ import annotations

import asyncio
import os
import struct
import time
from collections.abc import Awaitable, Coroutine, Hashable, Iterable
from typing import Any

import attrs
import pluggy

from btref import wire
from btref.actions import Ban, Close, Send
from btref.discovery import AnnounceRequest, AnnounceResult, PeerAddress
from btref.errors import BtrefError, MetadataError, ProtocolError
from btref.extension import ExtensionHandshake, decode_handshake
from btref.magnet import Magnet
from btref.metadata import MetadataAction, MetadataFetcher
from btref.metainfo import Torrent, from_info
from btref.mse import Handshake as MSEHandshake
from btref.mse import Policy, dials_encrypted
from btref.net.driver import make_peer_id
from btref.net.listener import CONNECT_TIMEOUT, RESERVED
from btref.net.peer_io import HANDSHAKE_TIMEOUT, READ_SIZE, exchange_mse
from btref.plugins import plugin_manager

__all__ = ["FetchResult", "OpenConnection", "fetch_metadata", "MAX_FRAME", "MAX_KEPT", "REANNOUNCE_EVERY",
           "MAX_RETRY"]

#: Largest message read while fetching (a ``piece`` message of 16 KiB plus room; 1 MiB for extended).
MAX_FRAME = 1024 * 1024 + 16
#: Most bytes of other messages kept per connection for the download; past it the
#: connection is closed once the metadata is in, instead of handed over.
MAX_KEPT = 4 * 1024 * 1024
#: The id we receive ``ut_metadata`` under while fetching.
OUR_UT_METADATA = 2
#: Seconds between two rounds of asking the discovery plugins for peers.
REANNOUNCE_EVERY = 15.0
#: Longest wait, in seconds, before a peer that failed is dialled again.
MAX_RETRY = 30.0


@attrs.define(eq=False)
class OpenConnection:
    """A connection the fetch leaves open for the download: handshakes done (BEP 3, 10).

    ``received`` is every byte the peer sent that the fetch did not consume, in order: its
    handshake, then its messages except our ``ut_metadata`` answers (and possibly the start
    of a message not complete yet). Feeding it to a new :class:`~btref.connection.Connection`
    gives the download the state the peer thinks it is in. ``peer_id`` and ``info_hash``
    are what *our* handshake said. ``mse`` is the connection's MSE state when it is RC4
    encrypted (``received`` is already decrypted; the bytes still in ``reader`` are not).
    """

    key: tuple[str, int]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    peer_id: bytes
    info_hash: bytes
    received: bytes
    mse: MSEHandshake | None = None

    def close(self) -> None:
        self.writer.close()


@attrs.frozen
class FetchResult:
    """What :func:`fetch_metadata` found: the torrent, the peers, and how long it took."""

    torrent: Torrent
    peers: tuple[PeerAddress, ...]
    seconds: float
    sources: tuple[str, ...]  # the peers that sent the metadata, as host:port
    #: With ``keep_connections=True``, the connections left open for the download.
    connections: tuple[OpenConnection, ...] = attrs.field(default=(), eq=False, repr=False)

    def close(self) -> None:
        """Close the connections handed over (for a caller that will not adopt them)."""
        for conn in self.connections:
            conn.close()


@attrs.define(eq=False)
class _Conn:
    """One fetch connection: the peer's raw handshake, the frames kept, the bytes not yet parsed."""

    key: tuple[str, int]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    handshake: bytes = b""
    kept: bytearray = attrs.Factory(bytearray)
    buf: bytearray = attrs.Factory(bytearray)
    #: The MSE handshake when it chose RC4: every byte both ways goes through it.
    mse: MSEHandshake | None = None

    def received(self) -> bytes:
        return self.handshake + bytes(self.kept) + bytes(self.buf)

    def send(self, data: bytes) -> None:
        self.writer.write(data if self.mse is None else self.mse.encrypt(data))

    async def read(self) -> bytes:
        data = await self.reader.read(READ_SIZE)
        return self.mse.decrypt(data) if self.mse is not None and data else data


class _Fetch:
    def __init__(self, magnet: Magnet, peer_id: bytes, max_size: int | None, keep: bool,
                 encryption: Policy = "off") -> None:
        self.magnet, self.peer_id, self.keep, self.encryption = magnet, peer_id, keep, encryption
        self.dial_plain: set[tuple[str, int]] = set()  # ``prefer``: MSE failed with these
        self.refused_mse = 0  # MSE handshakes that failed, for the error message
        kw = {} if max_size is None else {"max_size": max_size}
        self.fetcher: MetadataFetcher[tuple[str, int]] = MetadataFetcher(
            magnet.info_hash_v1, magnet.info_hash_v2, **kw)
        self.open: dict[Hashable, _Conn] = {}  # by (host, port), as the fetcher's actions name them
        self.found: dict[tuple[str, int], None] = {}
        self.dialing: set[tuple[str, int]] = set()
        self.retry_at: dict[tuple[str, int], float] = {}  # peer -> when to dial it again
        self.failures: dict[tuple[str, int], int] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.done = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def add(self, peer: PeerAddress) -> None:
        key = (peer.host, peer.port)
        if key not in self.found and key not in self.fetcher.banned:
            self.found[key] = None
            self.dial(key)

    def dial(self, key: tuple[str, int]) -> None:
        self.dialing.add(key)
        self.spawn(self.peer(key))

    def execute(self, actions: list[MetadataAction]) -> None:
        for action in actions:
            conn = self.open.get(action.key)
            if type(action) is Send and conn is not None:
                conn.send(wire.encode(action.msg))
            elif type(action) in (Close, Ban) and conn is not None:
                conn.writer.close()
        if self.fetcher.done:
            self.done.set()

    def retry_later(self, key: tuple[str, int]) -> None:
        """Dial ``key`` again after 1, 2, 4 ... seconds (it was unreachable or hung up)."""
        if key in self.fetcher.banned or self.fetcher.done:
            return
        failures = self.failures[key] = self.failures.get(key, 0) + 1
        self.retry_at[key] = self.loop.time() + min(2.0 ** (failures - 1), MAX_RETRY)

    async def peer(self, key: tuple[str, int]) -> None:
        # asyncio.timeout, never wait_for: on Python 3.11 wait_for returns its result, and the
        # cancel is lost, when what it awaited finished in the loop turn the cancel came in;
        # this task would then run on into the read loop, and a cancelled fetch wait for it.
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(*key, limit=READ_SIZE)
        except (OSError, TimeoutError):
            self.dialing.discard(key)
            self.retry_later(key)
            return
        conn = _Conn(key, reader, writer)
        try:
            if dials_encrypted(self.encryption) and key not in self.dial_plain:
                await self.negotiate(conn)
            conn.send(wire.encode(wire.Handshake(self.magnet.info_hash, self.peer_id, RESERVED)))
            async with asyncio.timeout(HANDSHAKE_TIMEOUT):
                while len(conn.buf) < wire.HANDSHAKE_LENGTH:
                    data = await conn.read()
                    if not data:
                        raise EOFError("peer closed the connection before its handshake")
                    conn.buf += data
            raw = bytes(conn.buf[:wire.HANDSHAKE_LENGTH])
            del conn.buf[:wire.HANDSHAKE_LENGTH]
            theirs = wire.parse_handshake(raw)
            if theirs.info_hash != self.magnet.info_hash or not theirs.supports_extension:
                self.failures[key] = -1  # a peer we can never use: not dialled again
                return
            conn.handshake = raw
            self.open[key] = conn
            self.dialing.discard(key)
            ours = ExtensionHandshake(m={"ut_metadata": OUR_UT_METADATA}, v="btref metadata fetch")
            conn.send(wire.encode(wire.Extended(0, ours.encode())))
            # [docs: fetch-loop]
            self.frames(key, conn)  # what came with the handshake
            while not self.fetcher.done:
                data = await conn.read()
                if not data:
                    raise EOFError("peer closed the connection")
                conn.buf += data
                self.frames(key, conn)
            # [/docs: fetch-loop]
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError, BtrefError):
            pass
        finally:
            # Once the metadata is in, the connections still open are handed over.
            handed_over = (self.fetcher.done and self.keep and key in self.open
                           and len(conn.kept) <= MAX_KEPT and not writer.is_closing())
            if not handed_over:
                writer.close()
                self.open.pop(key, None)
                self.dialing.discard(key)
                if self.failures.get(key) != -1:
                    self.retry_later(key)
                self.execute(self.fetcher.peer_disconnected(key, self.loop.time()))

    async def negotiate(self, conn: _Conn) -> None:
        """Run an MSE handshake as the initiator before BitTorrent's (:mod:`btref.mse`);
        the bytes of the BitTorrent stream that came with it start ``conn.buf``.

        :raises ProtocolError: (an :class:`~btref.errors.EncryptionError`) when the peer
            breaks MSE or refuses every method we offer, hangs up, or takes too long.
        """
        mse = MSEHandshake(initiator=True, policy=self.encryption, random_bytes=os.urandom,
                           info_hash=self.magnet.info_hash)
        try:
            await exchange_mse(conn.reader, conn.writer, mse)
        except ProtocolError:
            self.refused_mse += 1
            if self.encryption == "prefer":  # as libtorrent: the next dial is plaintext
                self.dial_plain.add(conn.key)
            raise
        conn.mse = mse if mse.encrypted else None
        conn.buf += mse.payload

    def frames(self, key: tuple[str, int], conn: _Conn) -> None:
        """Take the complete messages out of ``conn.buf``: ``ut_metadata`` to the fetcher, the rest kept."""
        buf = conn.buf
        while len(buf) >= 4 and not self.fetcher.done:
            length = struct.unpack_from(">I", buf)[0]
            if length > MAX_FRAME:
                raise ProtocolError(f"message of {length} bytes while fetching metadata")
            if len(buf) < 4 + length:
                return
            frame = bytes(buf[: 4 + length])
            del buf[: 4 + length]
            now = self.loop.time()
            if length >= 2 and frame[4] == 20 and frame[5] == OUR_UT_METADATA:
                self.execute(self.fetcher.message_received(key, frame[6:], now))
                continue
            if len(conn.kept) <= MAX_KEPT:
                conn.kept += frame
            if length >= 2 and frame[4] == 20 and frame[5] == 0:
                self.execute(self.fetcher.peer_handshake(key, decode_handshake(frame[6:]), now))

    async def announce(self, hook: pluggy.HookRelay, request: AnnounceRequest) -> None:
        async def one(pending: Awaitable[AnnounceResult]) -> None:
            try:
                result = await pending
            except (BtrefError, OSError):
                return
            for peer in result.peers:
                self.add(peer)

        for pending in hook.btref_announce(request=request):
            if pending is not None:
                self.spawn(one(pending))

    async def ticks(self, hook: pluggy.HookRelay, request: AnnounceRequest) -> None:
        last_announce = self.loop.time()
        while True:
            await asyncio.sleep(1.0)
            now = self.loop.time()
            self.execute(self.fetcher.tick(now))
            for key, when in list(self.retry_at.items()):
                if now >= when and key not in self.open and key not in self.dialing:
                    del self.retry_at[key]
                    self.dial(key)
            if now - last_announce >= REANNOUNCE_EVERY:
                last_announce = now
                await self.announce(hook, attrs.evolve(request, event=""))


async def fetch_metadata(magnet: Magnet, *, peers: Iterable[str] = (), discovery: Iterable[object] = (),
                         port: int = 6881, peer_id: bytes | None = None, timeout: float = 120.0,
                         max_size: int | None = None, keep_connections: bool = False,
                         encryption: Policy = "off") -> FetchResult:
    """Fetch and verify the info dictionary of ``magnet`` from the swarm (BEP 9).

    ``peers`` are more ``host:port`` peers besides the link's ``x.pe``; ``discovery`` are
    discovery plugins (names or instances) to ask; ``port`` is announced as ours. With
    ``keep_connections`` the connections still open afterwards are in the result's
    ``connections``, for a :class:`~btref.net.driver.Client` with the same ``peer_id`` to
    adopt (pass ``adopt=result.connections``). ``encryption`` is the ``--encryption``
    policy: ``prefer`` and ``require`` dial with MSE (``off`` and ``allow`` dial plaintext,
    and the fetch accepts no connection to answer).

    :raises MetadataError: no verified metadata within ``timeout`` seconds, or metadata
        that verified but is not a valid info dictionary.
    """
    from btref_discovery.static import StaticPeers

    started = time.monotonic()
    state = _Fetch(magnet, peer_id or make_peer_id(), max_size, keep_connections, encryption)
    pm = plugin_manager({"discovery": [*discovery, StaticPeers([*magnet.peers, *peers])]})
    request = AnnounceRequest(info_hash=magnet.info_hash, peer_id=state.peer_id, port=port, left=1,
                              event="started", trackers=[(url,) for url in magnet.trackers])
    await state.announce(pm.hook, request)
    state.spawn(state.ticks(pm.hook, request))
    try:
        async with asyncio.timeout(timeout):  # not wait_for, which can lose a cancel (see _Fetch.peer)
            await state.done.wait()
    except TimeoutError:
        raise MetadataError(
            f"no verified metadata within {timeout:g} s from {len(state.found)} peer(s) found"
            + (f"; {len(state.fetcher.banned)} sent metadata that failed its hash" if state.fetcher.banned else "")
            + (f"; {state.refused_mse} MSE handshake(s) failed (--encryption {encryption})"
               if state.refused_mse else "")
        ) from None
    finally:
        for task in list(state.tasks):
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
    connections = tuple(OpenConnection(c.key, c.reader, c.writer, state.peer_id, magnet.info_hash, c.received(),
                                       c.mse) for c in state.open.values())
    info = state.fetcher.info_bytes
    assert info is not None
    outer: dict[bytes, object] = {}
    if magnet.trackers:
        outer[b"announce-list"] = [[url.encode()] for url in magnet.trackers]
    if magnet.web_seeds:
        outer[b"url-list"] = [url.encode() for url in magnet.web_seeds]
    try:
        torrent = from_info(info, outer)
    except BtrefError as exc:
        for conn in connections:
            conn.close()
        raise MetadataError(f"the metadata matches the info hash but is not a valid info dictionary: {exc}") from exc
    sources = sorted({f"{h}:{p}" for h, p in state.fetcher.senders.values()})
    return FetchResult(torrent, tuple(PeerAddress(h, p) for h, p in state.found), time.monotonic() - started,
                       tuple(sources), connections)
