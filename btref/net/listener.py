"""Other peers as addresses: listen, dial, handshake, keep the connection table (BEP 3, 6, 10, 11).

:class:`PeerNetwork` is the asyncio driver's connection manager, one per
:class:`btref.net.driver.Client`. It owns everything that is about sockets and
addresses:

* the listening server (``asyncio.start_server``; with a uTP transport, a
  :class:`~btref.net.utp_io.UtpSocket` on the UDP port of the same number) and our
  listening ``port``;
* the dials (uTP first when the transport allows it, then TCP) and the connections a
  magnet fetch left open (``adopt``);
* each connection's handshake (BEP 3 "handshake": the initiator speaks first, a listener
  answers with the info hash it was asked for, so a hybrid torrent is reachable under both
  its v1 and its truncated v2 id, BEP 52), message stream encryption before it when the
  ``encryption`` policy asks (:mod:`btref.mse`), and our BEP 10 extension handshake;
* the connection table ``links`` (admitted links by ``(host, port)``), the read loop of
  each link, and the BEP 9 and BEP 11 ``extended`` messages (its
  :class:`~btref.net.extensions.Extensions`);
* the addresses: ``known`` (peers to dial, with the earliest time for the next dial), how
  our last try with each went (``last_try``), the back-off, bans by IP address and peer id,
  and the addresses that turned out to be us;
* the download limit (``download_limit``): every read's payload pays a
  :class:`~btref.net.throttle.TokenBucket` before the link reads again.

It decides nothing about pieces and knows no engine. What the engine must hear of a link
(admitted, messages in, gone) goes to its ``driver``, the :class:`Driver` protocol that
:class:`~btref.net.driver.Client` implements, and so do its log lines. The client, in turn,
drives it through a few methods: :meth:`~PeerNetwork.start`, :meth:`~PeerNetwork.close` and
:meth:`~PeerNetwork.wait_closed`; :meth:`~PeerNetwork.adopt`; :meth:`~PeerNetwork.add_peer`,
:meth:`~PeerNetwork.found` and :meth:`~PeerNetwork.redial` for the peers discovery finds;
:meth:`~PeerNetwork.close_link`, :meth:`~PeerNetwork.ban` and :meth:`~PeerNetwork.drop` for
the engine's ``Close`` and ``Ban``; :meth:`~PeerNetwork.drop_idle` and
:meth:`~PeerNetwork.send_pex` at each tick; and it sends on the links it finds in ``links``.

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
:data:`RECONNECT_AFTER` seconds when two seeds hung up on each other; once closed, it
admits no link and dials nobody; a link that leaves ``links``, whoever ended it, is
forgotten by the extensions (BEP 10 ids, BEP 11 PEX state) at that moment, exactly once
(:meth:`PeerNetwork._forget`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Coroutine, Hashable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from btref import wire
from btref.connection import Connection, info_hashes_of
from btref.discovery import PeerAddress
from btref.errors import ProtocolError
from btref.mse import POLICIES, Policy, dials_encrypted
from btref.mse import Handshake as MSEHandshake
from btref.net.peer_io import MAX_BACKLOG, READ_SIZE, PeerKey, PeerLink
from btref.net.throttle import TokenBucket
from btref.net.utp_io import TRANSPORTS, UtpSocket

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.metainfo import Torrent
    from btref.net.extensions import Extensions
    from btref.net.magnet_fetch import OpenConnection

__all__ = ["PeerNetwork", "Driver", "RESERVED", "CONNECT_TIMEOUT", "LinkOutcome", "LastTry", "INACTIVITY_TIMEOUT",
           "ban_address"]

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


# [docs: driver]
class Driver(Protocol):
    """What a :class:`PeerNetwork` asks of the client it connects for
    (:class:`~btref.net.driver.Client`): the engine's side of each admitted link, and the log."""

    def upload_only(self) -> bool:
        """Whether our BEP 10 handshake says ``upload_only`` (BEP 21)."""

    def peer_connected(self, link: PeerLink) -> None:
        """A handshake let ``link`` in (it is in ``links`` already): the engine meets the peer."""

    def messages_received(self, key: PeerKey, msgs: list[wire.Message | wire.Handshake]) -> int:
        """One read's messages from ``key`` for the engine; returns the payload bytes
        (``piece`` blocks) they brought, which the download limit charges."""

    def peer_disconnected(self, key: PeerKey, reason: str) -> None:
        """An admitted link ended and is out of ``links``: the engine forgets the peer."""

    def peer_is_seed(self, key: PeerKey) -> bool:
        """Whether the peer at ``key`` has every piece (asked as its link ends)."""

    def download_complete(self) -> bool:
        """Whether every piece we want is on disk (if the peer is a seed too when a link we
        dialled ends, the two seeds hung up on each other: it is dialled again later)."""

    def event(self, name: str, fields: dict[str, Any]) -> None:
        """One line in the ``--events`` log."""
# [/docs: driver]


class PeerNetwork:
    """Listening, dialling, handshakes and the connection table of one torrent's client."""

    def __init__(self, driver: Driver, torrent: Torrent, peer_id: bytes, extensions: Extensions, *,
                 reqq: int, host: str = "0.0.0.0", port: int = 0, transport: str = "tcp",
                 encryption: Policy = "off", max_peers: int = 60, inactivity_timeout: float = INACTIVITY_TIMEOUT,
                 download_limit: float | None = None) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
        if download_limit is not None and not download_limit > 0:
            raise ValueError(f"download_limit must be a rate above 0 bytes/s, got {download_limit}")
        if encryption not in POLICIES:
            raise ValueError(f"encryption must be one of {', '.join(POLICIES)}, got {encryption!r}")
        self.driver, self.torrent, self.peer_id = driver, torrent, peer_id
        self.extensions = extensions  # BEP 9 serving, BEP 11 PEX
        self.reqq = reqq  # the queue of requests we take from a peer, in our BEP 10 handshake
        self.host, self.requested_port = host, port
        self.transport = transport  # how we dial; a uTP socket listens beside TCP unless "tcp"
        self.encryption: Policy = encryption  # message stream encryption (btref.mse)
        self.max_peers = max_peers
        self.inactivity_timeout = inactivity_timeout  # a peer silent this long is dropped
        #: The download limit: every read's payload pays it before the next read.
        self.downlink = None if download_limit is None else TokenBucket(download_limit, burst=download_limit / 4)
        self._server: asyncio.Server | None = None
        self._utp: UtpSocket | None = None
        self.port: int | None = None  # the port we listen on, once started
        # By each link's PeerKey; looked up by the keys the engine and the plugins hand back.
        self.links: dict[Hashable, PeerLink] = {}
        self._open: set[PeerLink] = set()  # every connection, from open to close, handshaken or not
        self._dialing: set[tuple[str, int]] = set()  # dials whose socket is not open yet
        self.known: dict[tuple[str, int], float] = {}  # address -> earliest next dial (loop time)
        self.ids_at: dict[tuple[str, int], bytes] = {}  # address we dialled -> the peer id that answered
        self._failures: dict[tuple[str, int], int] = {}
        self.last_try: dict[tuple[str, int], LastTry] = {}  # address we dialled -> how that ended
        self._dial_plain: set[tuple[str, int]] = set()  # where an MSE dial failed under "prefer"
        self.banned: set[str] = set()  # IP addresses
        self.banned_ids: set[bytes] = set()
        self.ourselves: set[tuple[str, int]] = set()  # addresses that turned out to be us
        #: The tasks that run a connection (accepted, dialled or adopted), until each ends.
        self.tasks: set[asyncio.Task[Any]] = set()
        self.closing = False  # close() was called: no new link, no dial

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen (TCP, and uTP beside it unless the transport is ``tcp``) on ``port``."""
        # The kernel's accept queue holds a crowd of max_peers arriving at once; with asyncio's
        # default (100), the SYNs of the rest are dropped and their senders wait 1 to 5 s to retry.
        self._server = await asyncio.start_server(self._accept, self.host, self.requested_port, limit=READ_SIZE,
                                                  backlog=max(100, self.max_peers))
        self.port = self._server.sockets[0].getsockname()[1]
        if self.transport != "tcp":  # uTP on the UDP port of the same number, as libtorrent does
            self._utp = await UtpSocket.bind(self.host, self.port, self._accept, limit=READ_SIZE)
        self.driver.event("listening", {"host": self.host, "port": self.port})

    def close(self) -> None:
        """Admit no new link and dial nobody; stop listening, close every link and the
        download limit. The tasks of the links end on their own or when cancelled
        (:attr:`tasks`); :meth:`wait_closed` waits for the server."""
        if self.closing:
            return
        self.closing = True
        if self._server is not None:
            self._server.close()
        if self._utp is not None:
            self._utp.close()
        for link in list(self.links.values()):
            link.close()
        if self.downlink is not None:
            self.downlink.close()  # wakes the read loops that wait for it

    async def wait_closed(self) -> None:
        """Wait until the listening server has closed (after :meth:`close`)."""
        if self._server is not None:
            await self._server.wait_closed()

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

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
        self.tasks.add(task)
        try:
            # The cap counts every connection, handshaken or not: checked only against
            # admitted peers, sockets opened first and handshaken later would all get in.
            if self.closing or self.connection_count() >= self.max_peers:
                writer.close()
                return
            host, port = writer.get_extra_info("peername")[:2]
            await self._run_link(PeerLink(reader, writer, self._connection(False), (host, port)))
        finally:
            self.tasks.discard(task)

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
                self.known[key] = self._now() + min(2.0 ** failures, 60.0)
                reason = str(exc) or type(exc).__name__
                self.driver.event("connect_failed", {"peer": f"{host}:{port}", "reason": reason})
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
        if outcome == "seed" and self.driver.download_complete():
            self._failures.pop(key, None)  # two seeds hang up on each other: not again soon
            self.known[key] = self._now() + RECONNECT_AFTER
        else:
            # It hung up before its handshake (busy checking its data, or one connection per
            # address), or while one of us still lacked pieces (Transmission restarts a torrent
            # once it has a magnet link's metadata): try again soon, then less and less often.
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            self.known[key] = self._now() + min(2.0 ** failures, 60.0)

    def adopt(self, conn: OpenConnection) -> None:
        """Go on over a connection a magnet fetch left open (a
        :class:`~btref.net.magnet_fetch.OpenConnection`): no second connection to that peer."""
        if conn.peer_id != self.peer_id or conn.info_hash not in info_hashes_of(self.torrent):
            conn.close()  # the peer knows that connection by another peer id or torrent
            return
        self._dialing.add(conn.key)  # counted, and not dialled, until its link is open
        self._spawn(self._adopted(conn))

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
            if link.conn.extension:  # BEP 9, 10, 11, 21
                ours = self.extensions.handshake(self.port, self.reqq, upload_only=self.driver.upload_only())
                link.queue(wire.Extended(0, ours.encode()))
            self.links[link.key] = link
            admitted = True
            self.driver.peer_connected(link)
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
                self.driver.event("handshake_failed", {"peer": f"{host}:{port}", "reason": reason})
            else:
                outcome = "seed" if self.driver.peer_is_seed(link.key) else "leecher"
            self.drop(link, reason)
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

    def close_link(self, key: Hashable) -> None:
        """The engine closed the peer at ``key`` (``Close`` or ``Ban``; it has forgotten it):
        forget it here and hang up. Its read loop then ends on its own."""
        link = self.links.get(key)
        if link is not None:
            self._forget(link)
            link.close()

    def drop(self, link: PeerLink, reason: str) -> None:
        """A link ended (either side): forget it here, and have the engine forget it."""
        if self.links.get(link.key) is link:
            self._forget(link)
            self.driver.peer_disconnected(link.key, reason)
        link.close()

    def _forget(self, link: PeerLink) -> None:
        """Take an admitted ``link`` out of ``links`` and out of the extensions' tables.

        The one way out of the connection table: whether the engine closed the link
        (:meth:`close_link`) or it ended here (:meth:`drop`), the PEX plugin hears that the
        peer left, so it is listed as dropped (BEP 11) and its state goes with it.
        """
        del self.links[link.key]
        self.extensions.forget(link.key)

    def _admit(self, link: PeerLink, handshake: wire.Handshake) -> None:
        """Refuse ourselves, banned peers, and a second link with the same key."""
        if self.closing:
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
            self.drop(twin, "duplicate connection: the peer's other connection is kept")

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
        """Answer the ``extended`` messages of a read, then pass all of them to the engine
        (through the driver); returns the payload bytes they brought."""
        if not msgs:
            return 0
        for msg in msgs:
            if type(msg) is wire.Extended:
                self._extended(link, msg)
        return self.driver.messages_received(link.key, msgs)

    def _extended(self, link: PeerLink, msg: wire.Extended) -> None:
        """BEP 9 metadata requests and BEP 11 peer exchange (:mod:`btref.net.extensions`)."""
        replies, peers = self.extensions.received(link.key, link.initiator, msg)
        for reply in replies:
            link.queue(reply)
        link.flush()
        for peer in peers:
            self.add_peer(peer)
        now = self._now()
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

    def drop_idle(self, now: float) -> None:
        """Drop the handshaken peers that sent nothing for ``inactivity_timeout`` seconds
        (:data:`INACTIVITY_TIMEOUT` by default): idle connections would otherwise hold the
        ``max_peers`` slots for good."""
        limit = self.inactivity_timeout
        for link in list(self.links.values()):
            if now - link.last_received >= limit:
                self.drop(link, f"sent nothing for {limit:g} s")

    # -- addresses ----------------------------------------------------------------------

    def add_peer(self, peer: PeerAddress | str) -> None:
        """Remember a peer to connect to (dialled at the next redial round)."""
        address = PeerAddress.parse(peer) if isinstance(peer, str) else peer
        if (address.host, address.port) not in self.ourselves:  # trackers list us too
            self.known.setdefault((address.host, address.port), 0.0)

    def found(self, peer: PeerAddress) -> None:
        """A discovery plugin heard of ``peer`` between announces (BEP 14): dial it now."""
        if not self.closing:
            self.add_peer(peer)
            self.redial(self._now())

    def redial(self, now: float) -> None:
        """Connect to known peers we are not connected to (unless banned or backing off)."""
        if self.closing:
            return
        linked = {link.key for link in self._open}
        connected = {link.peer_id for link in self.links.values()}
        for key, not_before in list(self.known.items()):
            if self.connection_count() >= self.max_peers:
                break
            if (now >= not_before and key not in linked and key not in self._dialing
                    and ban_address(key[0]) not in self.banned and self.ids_at.get(key, b"") not in connected):
                self._dialing.add(key)  # counted from now, though the task starts later
                self._spawn(self.dial(*key))

    def tries(self) -> list[LastTry | Literal["untried"]]:
        """How our last try went with each known address we have no link to
        (``"untried"``: never dialled)."""
        return [self.last_try.get(key, "untried") for key in self.known if key not in self.links]
