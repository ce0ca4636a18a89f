"""From a magnet link to a torrent: find peers, fetch the info dictionary (BEP 9, BEP 10; BEP 52).

:func:`fetch_metadata` is the asyncio half of :class:`btref.metadata.MetadataFetcher`:

1. ask the discovery plugins (``btref_announce``: the link's ``tr=`` trackers, the DHT, the
   ``x.pe=`` peers through the ``static`` plugin) for peers, and dial each one as it is found
   (an answer from one plugin is not held up by a slow other);
2. on each connection: the BEP 3 handshake with the extension bit, our BEP 10 handshake
   offering ``ut_metadata`` (no ``metadata_size``: we have none), then read messages,
   keeping only ``extended`` ones (a peer's ``bitfield``/``have`` are ignored: we know no
   piece count yet). Frames are capped at :data:`MAX_FRAME` bytes;
3. carry out the fetcher's actions; a one-second tick hands late pieces to other peers;
4. when the metadata passes its hash, close every connection and build the
   :class:`~btref.metainfo.Torrent` with :func:`btref.metainfo.from_info` (the link's
   trackers become its tiers), and report the peers that were found, so the download that
   follows starts with them.

Invariants: every connection and task started here is closed before the call returns; the
whole fetch is bounded by ``timeout`` (:class:`~btref.errors.MetadataError` on expiry).
"""

from __future__ import annotations

import asyncio
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
from btref.net.driver import make_peer_id
from btref.net.listener import CONNECT_TIMEOUT, RESERVED
from btref.net.peer_io import HANDSHAKE_TIMEOUT
from btref.plugins import plugin_manager

__all__ = ["FetchResult", "fetch_metadata", "MAX_FRAME"]

#: Largest message read while fetching (a ``piece`` message of 16 KiB plus room; 1 MiB for extended).
MAX_FRAME = 1024 * 1024 + 16
#: The id we receive ``ut_metadata`` under while fetching.
OUR_UT_METADATA = 2


@attrs.frozen
class FetchResult:
    """What :func:`fetch_metadata` found: the torrent, the peers, and how long it took."""

    torrent: Torrent
    peers: tuple[PeerAddress, ...]
    seconds: float
    sources: tuple[str, ...]  # the peers that sent the metadata, as host:port


class _Fetch:
    def __init__(self, magnet: Magnet, peer_id: bytes, max_size: int | None) -> None:
        self.magnet, self.peer_id = magnet, peer_id
        kw = {} if max_size is None else {"max_size": max_size}
        self.fetcher: MetadataFetcher[tuple[str, int]] = MetadataFetcher(
            magnet.info_hash_v1, magnet.info_hash_v2, **kw)
        self.writers: dict[Hashable, asyncio.StreamWriter] = {}
        self.found: dict[tuple[str, int], None] = {}
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
            self.spawn(self.peer(key))

    def execute(self, actions: list[MetadataAction]) -> None:
        for action in actions:
            writer = self.writers.get(action.key)
            if type(action) is Send and writer is not None:
                writer.write(wire.encode(action.msg))
            elif type(action) in (Close, Ban) and writer is not None:
                writer.close()
        if self.fetcher.done:
            self.done.set()

    async def peer(self, key: tuple[str, int]) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(*key), CONNECT_TIMEOUT)
        except (OSError, TimeoutError):
            return
        self.writers[key] = writer
        try:
            writer.write(wire.encode(wire.Handshake(self.magnet.info_hash, self.peer_id, RESERVED)))
            theirs = wire.parse_handshake(await asyncio.wait_for(reader.readexactly(68), HANDSHAKE_TIMEOUT))
            if theirs.info_hash != self.magnet.info_hash or not theirs.supports_extension:
                return
            # [docs: fetch-loop]
            ours = ExtensionHandshake(m={"ut_metadata": OUR_UT_METADATA}, v="btref metadata fetch")
            writer.write(wire.encode(wire.Extended(0, ours.encode())))
            while not self.fetcher.done:
                length = struct.unpack(">I", await reader.readexactly(4))[0]
                if length > MAX_FRAME:
                    raise ProtocolError(f"message of {length} bytes while fetching metadata")
                body = await reader.readexactly(length)
                if length < 2 or body[0] != 20:
                    continue  # not an extended message: nothing we can use before the metadata
                now = self.loop.time()
                if body[1] == 0:
                    self.execute(self.fetcher.peer_handshake(key, decode_handshake(body[2:]), now))
                elif body[1] == OUR_UT_METADATA:
                    self.execute(self.fetcher.message_received(key, body[2:], now))
            # [/docs: fetch-loop]
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError, BtrefError):
            pass
        finally:
            writer.close()
            self.writers.pop(key, None)
            self.execute(self.fetcher.peer_disconnected(key, self.loop.time()))

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

    async def ticks(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.execute(self.fetcher.tick(self.loop.time()))


async def fetch_metadata(magnet: Magnet, *, peers: Iterable[str] = (), discovery: Iterable[object] = (),
                         port: int = 6881, peer_id: bytes | None = None, timeout: float = 120.0,
                         max_size: int | None = None) -> FetchResult:
    """Fetch and verify the info dictionary of ``magnet`` from the swarm (BEP 9).

    ``peers`` are more ``host:port`` peers besides the link's ``x.pe``; ``discovery`` are
    discovery plugins (names or instances) to ask; ``port`` is announced as ours.

    :raises MetadataError: no verified metadata within ``timeout`` seconds, or metadata
        that verified but is not a valid info dictionary.
    """
    from btref_discovery.static import StaticPeers

    started = time.monotonic()
    state = _Fetch(magnet, peer_id or make_peer_id(), max_size)
    pm = plugin_manager({"discovery": [*discovery, StaticPeers([*magnet.peers, *peers])]})
    request = AnnounceRequest(info_hash=magnet.info_hash, peer_id=state.peer_id, port=port, left=1,
                              event="started", trackers=[(url,) for url in magnet.trackers])
    await state.announce(pm.hook, request)
    state.spawn(state.ticks())
    try:
        await asyncio.wait_for(state.done.wait(), timeout)
    except TimeoutError:
        raise MetadataError(
            f"no verified metadata within {timeout:g} s from {len(state.found)} peer(s) found"
            + (f"; {len(state.fetcher.banned)} sent metadata that failed its hash" if state.fetcher.banned else "")
        ) from None
    finally:
        for writer in list(state.writers.values()):
            writer.close()
        for task in list(state.tasks):
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
    info = state.fetcher.info_bytes
    assert info is not None
    tiers = [[url.encode()] for url in magnet.trackers]
    try:
        torrent = from_info(info, {b"announce-list": tiers} if tiers else {})
    except BtrefError as exc:
        raise MetadataError(f"the metadata matches the info hash but is not a valid info dictionary: {exc}") from exc
    sources = sorted({f"{h}:{p}" for h, p in state.fetcher.senders.values()})
    return FetchResult(torrent, tuple(PeerAddress(h, p) for h, p in state.found), time.monotonic() - started,
                       tuple(sources))
