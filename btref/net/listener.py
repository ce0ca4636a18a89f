"""Connections and discovery for the asyncio driver: listen, dial, handshake, announce (BEP 3, 6, 10).

This is the half of :class:`btref.net.driver.Client` that deals with *other
peers as addresses*: it accepts connections (``asyncio.start_server``), dials the peers
the ``btref_announce`` hook found (BEP 3 "Trackers"; the plugins do BEP 12 tiers and BEP 15
UDP), and runs each connection: handshake (BEP 3 "handshake": the initiator speaks first,
a listener answers with the info hash it was asked for, so a hybrid torrent is reachable
under both its v1 and its truncated v2 id, BEP 52), the BEP 10 extension handshake (our
``reqq``), then the read loop that feeds the engine.

Invariants: a connection is keyed by the ``(host, port)`` it runs on, so several
connections per IP are fine; our own peer id is refused (and that address forgotten); when
two peers dial each other at once, one of the two connections is kept, the one the peer
with the greater peer id dialled, as libtorrent decides, so both ends drop the same one
(:meth:`PeerNetwork._keeps_new`); a banned IP address (whatever the port) or peer id is
refused at the handshake and never dialled; at most ``max_peers`` connections exist at any
moment, counting those still connecting or handshaking (a connection accepted over the cap
is closed at once); a peer that sends nothing for ``inactivity_timeout`` seconds
(:data:`INACTIVITY_TIMEOUT`) is dropped (BEP 3 keep-alives come every two minutes); a peer
we dialled is dialled again after ``min(2**failures, 60)`` seconds when it failed to answer
(no connection, or no handshake) or hung up while one side still lacked pieces, and after
:data:`RECONNECT_AFTER` seconds when two seeds hung up on each other. It is a mixin: the
state it uses is made in ``Client.__init__``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Callable, Coroutine, Hashable
from typing import TYPE_CHECKING, Any, Literal

from btref import wire
from btref.connection import Connection, info_hashes_of
from btref.discovery import AnnounceRequest, PeerAddress
from btref.errors import BtrefError, ProtocolError
from btref.mse import Handshake as MSEHandshake
from btref.mse import Policy, dials_encrypted
from btref.net.peer_io import MAX_BACKLOG, READ_SIZE, PeerLink

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    import pluggy

    from btref.actions import Config
    from btref.metainfo import Torrent
    from btref.net.extensions import Extensions
    from btref.net.magnet_fetch import OpenConnection
    from btref.net.throttle import LimitedUplink, TokenBucket
    from btref.net.utp_io import UtpSocket
    from btref.pieceset import PieceSet
    from btref.session import Session

__all__ = ["PeerNetwork", "RESERVED", "CONNECT_TIMEOUT", "LinkOutcome", "INACTIVITY_TIMEOUT", "ban_address"]

#: Our handshake's reserved bits: BEP 10 extension protocol and BEP 6 fast extension.
RESERVED = wire.make_reserved(extension=True, fast=True)
#: Seconds to wait for a TCP connection to open.
CONNECT_TIMEOUT = 10.0
#: With ``--transport both``, how long a uTP dial may take before TCP is tried.
UTP_FALLBACK = 3.0
#: Seconds before a seed whose connection to us, a seed, ended is dialled again.
RECONNECT_AFTER = 30.0
#: How a connection ended: refused at its handshake, or admitted with a peer lacking pieces or a seed.
LinkOutcome = Literal["refused", "leecher", "seed"]
#: How our last connection to an address we dialled ended: no connection, closed before
#: or at the handshake, or admitted and then closed.
LastTry = Literal["connect", "handshake", "left"]
#: Seconds a handshaken peer may send nothing before it is dropped: BEP 3 peers send a
#: keep-alive after two minutes of silence, so this leaves one late keep-alive room.
INACTIVITY_TIMEOUT = 180.0


def ban_address(host: str) -> str:
    """The form of ``host`` bans are kept in: an IPv4 address seen through an IPv6 socket
    (``::ffff:1.2.3.4``) is the IPv4 address, so a dual-stack listener cannot be dodged."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


class PeerNetwork:
    """Listening, dialling and announcing; mixed into :class:`~btref.net.driver.Client`."""

    # Provided by Client (see its __init__).
    torrent: Torrent
    engine: Session | None
    config: Config
    hook: pluggy.HookRelay
    loop: asyncio.AbstractEventLoop
    peer_id: bytes
    port: int | None
    links: dict[Hashable, PeerLink]
    known: dict[tuple[str, int], float]
    ids_at: dict[tuple[str, int], bytes]
    banned: set[str]
    banned_ids: set[bytes]
    ourselves: set[tuple[str, int]]
    pieces_on_disk: PieceSet | None
    complete: asyncio.Event
    max_peers: int
    transport: str
    _utp: UtpSocket | None
    inactivity_timeout: float
    uploaded: int
    downloaded: int
    last_data: float
    _failures: dict[tuple[str, int], int]
    last_try: dict[tuple[str, int], LastTry]
    encryption: Policy
    _dial_plain: set[tuple[str, int]]
    _dialing: set[tuple[str, int]]
    _open: set[PeerLink]
    _tasks: set[asyncio.Task[Any]]
    _stopping: bool
    _announced: bool
    execute: Callable[[list[Any]], None]
    event: Callable[[str, dict[str, Any]], None]
    _spawn: Callable[[Coroutine[Any, Any, object], set[asyncio.Task[Any]]], asyncio.Task[Any]]
    extensions: Extensions
    uplink: LimitedUplink | None
    downlink: TokenBucket | None
    stall_timeout: float | None

    # -- connections --------------------------------------------------------------------

    def _connection(self, initiator: bool) -> Connection:
        t = self.torrent
        if initiator:
            return Connection(t.num_pieces, t.piece_size, peer_id=self.peer_id, info_hash=t.info_hash,
                              reserved=RESERVED)
        return Connection(t.num_pieces, t.piece_size, peer_id=self.peer_id, info_hashes=info_hashes_of(t),
                          reserved=RESERVED, initiator=False)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            # The cap counts every connection, handshaken or not: checked only against
            # admitted peers, sockets opened first and handshaken later would all get in.
            if self._stopping or self.connection_count() >= self.max_peers:
                writer.close()
                return
            host, port = writer.get_extra_info("peername")[:2]
            await self._run_link(PeerLink(reader, writer, self._connection(False), (host, port)))
        finally:
            self._tasks.discard(task)

    def connection_count(self) -> int:
        """Connections open (handshaken or not) and dials under way: what ``max_peers`` caps."""
        return len(self._open) + len(self._dialing)

    async def dial(self, host: str, port: int) -> None:
        """Connect to a peer and run the connection until it ends."""
        key = (host, port)
        self._dialing.add(key)  # until the socket is open; then the link counts in _open
        try:
            try:
                reader, writer = await self._open_stream(host, port)
            except (OSError, TimeoutError) as exc:
                self.last_try[key] = "connect"
                failures = self._failures[key] = self._failures.get(key, 0) + 1
                self.known[key] = self.loop.time() + min(2.0 ** failures, 60.0)
                self.event("connect_failed", {"peer": f"{host}:{port}", "reason": str(exc) or type(exc).__name__})
                return
        finally:
            self._dialing.discard(key)
        self._ended(key, await self._run_link(PeerLink(reader, writer, self._connection(True), key)))

    async def _open_stream(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """uTP first if the transport allows it ("both" falls back to TCP, as libtorrent does)."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation
        # that comes in the loop turn the connection opens, and the link would outlive stop().
        if self._utp is not None and self.transport != "tcp":
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT if self.transport == "utp" else UTP_FALLBACK):
                    return await self._utp.connect(host, port)
            except (OSError, TimeoutError):
                if self.transport == "utp":
                    raise
        async with asyncio.timeout(CONNECT_TIMEOUT):
            return await asyncio.open_connection(host, port, limit=READ_SIZE)

    def _ended(self, key: tuple[str, int], outcome: LinkOutcome) -> None:
        """A connection we made ended: when to dial that address again."""
        if key not in self.known:  # it was us
            return
        self.last_try[key] = "handshake" if outcome == "refused" else "left"
        if outcome == "seed" and self.complete.is_set():
            self._failures.pop(key, None)  # two seeds hang up on each other: not again soon
            self.known[key] = self.loop.time() + RECONNECT_AFTER
        else:
            # It hung up before its handshake (busy checking its data, or one connection per
            # address), or while one of us still lacked pieces (Transmission restarts a torrent
            # once it has a magnet link's metadata): try again soon, then less and less often.
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            self.known[key] = self.loop.time() + min(2.0 ** failures, 60.0)

    def adopt(self, conn: OpenConnection) -> None:
        """Go on over a connection a magnet fetch left open (a
        :class:`~btref.net.magnet_fetch.OpenConnection`): no second connection to that peer."""
        if conn.peer_id != self.peer_id or conn.info_hash not in info_hashes_of(self.torrent):
            conn.close()  # the peer knows that connection by another peer id or torrent
            return
        self._dialing.add(conn.key)  # counted, and not dialled, until its link is open
        self._spawn(self._adopted(conn), self._tasks)

    async def _adopted(self, conn: OpenConnection) -> None:
        key, t = conn.key, self.torrent
        ours = Connection(t.num_pieces, t.piece_size, peer_id=self.peer_id, info_hash=conn.info_hash,
                          reserved=RESERVED)
        ours.send(ours.handshake())  # the fetch sent it, with the same peer id and bits
        self._dialing.discard(key)  # from here on the link counts in _open
        self.known.setdefault(key, 0.0)
        link = PeerLink(conn.reader, conn.writer, ours, key)
        link.mse = conn.mse  # an encrypted fetch's RC4 streams go on where the fetch left them
        self._ended(key, await self._run_link(link, replay=conn.received))

    async def _run_link(self, link: PeerLink, replay: bytes | None = None) -> LinkOutcome:
        """Run ``link`` until it ends; says whether it was admitted, and what the peer had."""
        reason = "session stopped"  # unless something else ends it first
        engine = self.engine
        assert engine is not None
        admitted = False
        outcome: LinkOutcome = "refused"
        self._open.add(link)
        try:
            if replay is not None:  # adopted: both handshakes already crossed
                handshake, first = link.replay(replay)
            else:
                await self._encrypt(link)
                if link.initiator:
                    link.queue(link.conn.handshake())
                    link.flush()
                handshake, first = await link.read_handshake()
            self._admit(link, handshake)
            if not link.initiator:
                link.queue(link.conn.handshake())
            if link.conn.extension:
                # BEP 9, 10, 11, 21; a super-seed (BEP 16) hides that it only uploads, as libtorrent does
                ours = self.extensions.handshake(self.port, self.config.max_peer_requests,
                                                 upload_only=engine.seeding and engine.superseed is None)
                link.queue(wire.Extended(0, ours.encode()))
            self.links[link.key] = link
            admitted = True
            self.execute(engine.peer_connected(link.key, self.loop.time(), fast=link.conn.fast,
                                               extensions=link.conn.extension, address=link.key[0]))
            link.flush()
            msgs = first
            # [docs: read-loop]
            while True:
                payload = self._received(link, msgs)
                if payload and self.downlink is not None and not await self.downlink.take(payload):
                    break  # the limit closed: the client stops
                if link.closed:
                    break
                # Never wait here for the peer to read: if it waited for us the same way, both
                # would wait for ever. Blocks wait instead (PeerLink.backed_up); this is for a
                # peer that provokes other messages and reads none of them.
                if link.backlog > MAX_BACKLOG:
                    unsent = link.backlog
                    link.abort()
                    raise ProtocolError(f"peer reads nothing we send ({unsent} bytes unsent)")
                msgs = await link.read()
            # [/docs: read-loop]
        except ProtocolError as exc:
            reason = str(exc)
        except (EOFError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
        except Exception as exc:  # a bug of ours: logged with its name, and not hidden
            reason = f"internal error: {type(exc).__name__}: {exc}"
            raise
        finally:
            self._open.discard(link)
            if not admitted:  # the engine never heard of it: say why here, or nobody will
                host, port = link.key
                self.event("handshake_failed", {"peer": f"{host}:{port}", "reason": reason})
            else:
                peer = engine.peers.get(link.key)
                outcome = "seed" if peer is not None and peer.has.complete() else "leecher"
            self._drop(link, reason)
            await link.wait_closed()
        return outcome

    # [docs: encrypt]
    async def _encrypt(self, link: PeerLink) -> None:
        """Run message stream encryption first, when the ``--encryption`` policy asks for it.

        We dial with MSE under ``prefer`` and ``require`` (``prefer`` dials an address in
        plaintext once an MSE handshake with it failed, as libtorrent retries); we answer
        MSE or a plaintext handshake, whichever comes, unless the policy is ``off`` (then
        plaintext only; :class:`~btref.mse.Handshake` refuses plaintext under ``require``).
        """
        if link.initiator:
            if not dials_encrypted(self.encryption) or link.key in self._dial_plain:
                return
            mse = MSEHandshake(initiator=True, policy=self.encryption, random_bytes=os.urandom,
                               info_hash=self.torrent.info_hash)
        elif self.encryption == "off":
            return
        else:
            mse = MSEHandshake(initiator=False, policy=self.encryption, random_bytes=os.urandom,
                               info_hashes=info_hashes_of(self.torrent))
        try:
            await link.negotiate(mse)
        except ProtocolError:
            if link.initiator and self.encryption == "prefer":
                self._dial_plain.add(link.key)
            raise
    # [/docs: encrypt]

    def _close(self, key: Hashable) -> None:
        if self.uplink is not None:
            self.uplink.forget(key)
        link = self.links.pop(key, None)
        if link is not None:
            link.close()

    def _drop(self, link: PeerLink, reason: str) -> None:
        """A link ended (either side): forget it here and in the engine."""
        if self.links.get(link.key) is link:
            del self.links[link.key]
            self.extensions.forget(link.key)
            if self.uplink is not None:
                self.uplink.forget(link.key)
            assert self.engine is not None
            self.execute(self.engine.peer_disconnected(link.key, self.loop.time(), reason))
        link.close()

    def _admit(self, link: PeerLink, handshake: wire.Handshake) -> None:
        """Refuse ourselves, banned peers, and a second link with the same key."""
        if self._stopping:
            raise ProtocolError("session stopped")
        if handshake.peer_id == self.peer_id:
            if link.initiator:  # that address is us: never dial it again
                self.known.pop(link.key, None)
                self.ourselves.add(link.key)
            else:  # answer, so that our dialling side sees its own id too, and forgets the address
                link.queue(link.conn.handshake())
                link.flush()
            raise ProtocolError("connected to ourselves (our own peer id)")
        if ban_address(link.key.host) in self.banned or handshake.peer_id in self.banned_ids:
            raise ProtocolError("peer is banned")
        if link.key in self.links:
            raise ProtocolError("already connected to this address")
        if link.initiator:  # that address is this peer id: no need to dial it while connected
            self.ids_at[link.key] = handshake.peer_id
        twin = next((other for other in self.links.values() if other.peer_id == handshake.peer_id), None)
        if twin is not None:
            if not self._keeps_new(link, twin):
                raise ProtocolError("already connected to this peer id (duplicate connection)")
            self._drop(twin, "duplicate connection: the peer's other connection is kept")

    # [docs: duplicates]
    def _keeps_new(self, new: PeerLink, old: PeerLink) -> bool:
        """Two connections to one peer: keep ``new`` and drop ``old``?

        When both sides dialled, keep the connection the greater peer id dialled (BEP 3
        compares nothing here; this is libtorrent's rule, so both ends drop the same
        connection and the peer is not left with none). When one side dialled twice, the
        connection already running stays.
        """
        if new.initiator == old.initiator:
            return False
        we_are_greater = self.peer_id > (new.peer_id or b"")
        return new.initiator == we_are_greater
    # [/docs: duplicates]

    def ban(self, key: Hashable) -> list[PeerLink]:
        """Ban the peer at ``key`` by IP address and peer id; returns the other links from
        that address, which the caller drops too."""
        assert isinstance(key, tuple)  # a PeerKey: the driver's keys are (host, port)
        host = ban_address(str(key[0]))
        self.banned.add(host)
        link = self.links.get(key)
        if link is not None and link.peer_id is not None:
            self.banned_ids.add(link.peer_id)
        return [other for k, other in self.links.items() if k != key and ban_address(other.key.host) == host]

    def _received(self, link: PeerLink, msgs: list[wire.Message | wire.Handshake]) -> int:
        """Pass a batch of messages to the engine and carry out what it answers; returns
        the payload bytes (``piece`` blocks) they brought, which a download limit charges."""
        if not msgs:
            return 0
        assert self.engine is not None
        now = self.loop.time()
        payload = 0
        for msg in msgs:
            if type(msg) is wire.Piece:
                payload += len(msg.block)
                self.last_data = now
            elif type(msg) is wire.Extended:
                self._extended(link, msg, now)
        self.downloaded += payload
        # One call for the whole read: the engine tops up the request queue once.
        self.execute(self.engine.messages_received(link.key, msgs, now))
        return payload

    def _extended(self, link: PeerLink, msg: wire.Extended, now: float) -> None:
        """BEP 9 metadata requests and BEP 11 peer exchange (:mod:`btref.net.extensions`)."""
        replies, peers = self.extensions.received(link.key, link.initiator, msg)
        for reply in replies:
            link.queue(reply)
        link.flush()
        for peer in peers:
            self.add_peer(peer)
        self.send_pex(now)
        if peers:
            self.redial(now)

    def send_pex(self, now: float) -> None:
        """Send the PEX messages that are due (BEP 11: at most one per peer per minute)."""
        for key, msg in self.extensions.messages(now):
            link = self.links.get(key)
            if link is not None and not link.closed:
                link.queue(msg)
                link.flush()

    def _stall_reason(self) -> str:
        """Why no data came: the peers found, counted by how our last try with each went."""
        secs = f"{self.stall_timeout:g} s"
        if not self.known and not self.links:
            return (f"no peers found in {secs}: the torrent names no tracker that answered "
                    "and no --peer was given")
        assert self.engine is not None
        connected = {link.key for link in self.links.values()}
        wanted = sum(1 for key in connected if key in self.engine.peers and self.engine.peers[key].am_interested)
        others = [self.last_try.get(key, "untried") for key in self.known if key not in connected]
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

    # -- discovery ---------------------------------------------------------------------

    def redial(self, now: float) -> None:
        """Connect to known peers we are not connected to (unless banned or backing off)."""
        if self._stopping:
            return
        linked = {link.key for link in self._open}
        connected = {link.peer_id for link in self.links.values()}
        for key, not_before in list(self.known.items()):
            if self.connection_count() >= self.max_peers:
                break
            if (now >= not_before and key not in linked and key not in self._dialing
                    and ban_address(key[0]) not in self.banned and self.ids_at.get(key, b"") not in connected):
                self._dialing.add(key)  # counted from now, though the task starts later
                self._spawn(self.dial(*key), self._tasks)

    def drop_idle(self, now: float) -> None:
        """Drop the handshaken peers that sent nothing for ``inactivity_timeout`` seconds
        (:data:`INACTIVITY_TIMEOUT` by default): idle connections would otherwise hold the
        ``max_peers`` slots for good."""
        limit = self.inactivity_timeout
        for link in list(self.links.values()):
            if now - link.last_received >= limit:
                self._drop(link, f"sent nothing for {limit:g} s")

    async def _announce_loop(self) -> None:
        interval = await self.announce("started")
        while interval is not None:
            await asyncio.sleep(interval)
            interval = await self.announce("")

    async def announce(self, event: str) -> float | None:
        """Ask every discovery plugin (``btref_announce``); learn peers; return the next interval."""
        assert self.port is not None and self.pieces_on_disk is not None
        left = sum(self.torrent.piece_size(i) for i in range(self.torrent.num_pieces) if not self.pieces_on_disk[i])
        request = AnnounceRequest.for_torrent(self.torrent, peer_id=self.peer_id, port=self.port, event=event,
                                              uploaded=self.uploaded, downloaded=self.downloaded, left=left,
                                              found=self.found)
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
                self.add_peer(peer)
            self.event("announced", {"announce": event, "peers": len(result.peers), "url": result.url})
        if event != "stopped":
            self.redial(self.loop.time())
        return min(intervals) if intervals else None

    def found(self, peer: PeerAddress) -> None:
        """A discovery plugin heard of ``peer`` between announces (BEP 14): dial it now."""
        if not self._stopping:
            self.add_peer(peer)
            self.redial(self.loop.time())

    def add_peer(self, peer: PeerAddress | str) -> None:
        """Remember a peer to connect to (dialled at the next redial round)."""
        address = PeerAddress.parse(peer) if isinstance(peer, str) else peer
        if (address.host, address.port) not in self.ourselves:  # trackers list us too
            self.known.setdefault((address.host, address.port), 0.0)
