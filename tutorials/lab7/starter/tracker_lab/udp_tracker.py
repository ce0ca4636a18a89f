"""Lab 7, part 2: announce to a UDP tracker (BEP 15).

One announce is two round trips. *Connect*: we send the protocol's magic number, the
tracker answers with a connection id (proof that we receive at our address, so nobody can
announce in someone else's name). *Announce*: with that id, we say who we are, and the
tracker answers with the peers. Every packet we send carries a random 32-bit transaction
id that the answer must echo; a packet with another transaction id is not an answer to
ours (a late answer to an earlier try, or a forgery) and is ignored.

UDP may lose any packet. BEP 15: if no answer comes within ``15 * 2**n`` seconds, send
again and add 1 to ``n`` (starting at 0), up to ``n = 8``. Here the base and the number of
retries are parameters, so the grader can use fractions of a second.

All integers are big-endian. Read ``docs/core/trackers.md`` ("UDP: four packet types,
fixed layouts") and BEP 15; the packet layouts are in the docstrings below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from btref.discovery import AnnounceRequest, AnnounceResult, PeerAddress
from btref.errors import TrackerError
from btref.hookspecs import hookimpl

#: The magic number of a connect request.
PROTOCOL_ID = 0x41727101980
#: The actions: the second field of every packet.
CONNECT, ANNOUNCE, SCRAPE, ERROR = 0, 1, 2, 3
#: BEP 15's event numbers, by the event names of ``AnnounceRequest.event``.
EVENTS = {"": 0, "completed": 1, "started": 2, "stopped": 3}


def connect_request(transaction_id: int) -> bytes:
    """The 16-byte connect request: protocol id (8 bytes), action 0 (4), transaction id (4)."""
    raise NotImplementedError


def announce_request(connection_id: int, transaction_id: int, request: AnnounceRequest) -> bytes:
    """The 98-byte announce request, in this order (sizes in bytes)::

        connection id 8, action 1 (4), transaction id 4, info hash 20, peer id 20,
        downloaded 8, left 8, uploaded 8, event 4 (EVENTS), IP address 4 (0: the sender's),
        key 4 (request.key), num want 4 (request.numwant), port 2
    """
    raise NotImplementedError


def parse_connect_response(data: bytes) -> tuple[int, int]:
    """``(transaction_id, connection_id)`` of a connect answer: action 0 (4 bytes),
    transaction id (4), connection id (8).

    Raise :class:`TrackerError` for an error packet (action 3: the rest of the packet is
    the tracker's message, in UTF-8; put it in the error), for any other action, and for a
    packet shorter than its layout.
    """
    raise NotImplementedError


def parse_announce_response(data: bytes) -> tuple[int, AnnounceResult]:
    """``(transaction_id, result)`` of an announce answer: action 1 (4 bytes), transaction
    id (4), interval (4), leechers (4), seeders (4), then 6 bytes per peer as in BEP 23.

    The result has the peers, ``interval``, ``complete`` (seeders) and ``incomplete``
    (leechers). Bytes after the last whole peer are not a peer: ignore them (BEP 15 lets
    answers grow). :class:`TrackerError` as for :func:`parse_connect_response`.
    """
    raise NotImplementedError


class Inbox(asyncio.DatagramProtocol):
    """What arrives on our UDP socket, queued for :meth:`UDPTracker.announce` to take.

    asyncio calls these methods; make the socket with
    ``loop.create_datagram_endpoint(Inbox, remote_addr=(host, port))`` and wait for a packet
    with ``asyncio.wait_for(inbox.queue.get(), seconds)``.
    """

    def __init__(self) -> None:
        #: Datagrams from the tracker, and errors, in the order they came.
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        """A datagram arrived: queue it."""
        raise NotImplementedError

    def error_received(self, exc: Exception) -> None:
        """The system reported an error for our socket (on 127.0.0.1, an ICMP "port
        unreachable": nobody listens there). Queue it too: ``announce`` then raises a
        :class:`TrackerError` instead of waiting for an answer that cannot come."""
        raise NotImplementedError


class UDPTracker:
    """Announce to UDP trackers (lab 7): BEP 15 connect and announce, with retries."""

    family = "discovery"
    public_only = False

    def __init__(self, timeout_base: float = 15.0, max_retries: int = 8) -> None:
        self.timeout_base = timeout_base
        self.max_retries = max_retries

    @hookimpl
    def btref_announce(self, request: AnnounceRequest) -> Awaitable[AnnounceResult] | None:
        """``None`` when the torrent has no ``udp://`` tracker (``request.urls("udp")``), else an
        awaitable of the first tracker's answer, tier by tier as in ``HTTPTracker``."""
        raise NotImplementedError

    async def announce(self, url: str, request: AnnounceRequest) -> AnnounceResult:
        """Announce to the one tracker ``udp://host:port/...``; the result carries ``url=url``.

        Try ``self.max_retries + 1`` times; try ``n`` (from 0) waits at most
        ``self.timeout_base * 2**n`` seconds for each answer. A try: send a connect request
        with a fresh random transaction id (``secrets.randbits(32)``), take packets until
        one has that transaction id (ignore the others), read the connection id; then the
        same for the announce request. If a wait runs out, go on to the next try. Raise
        :class:`TrackerError` when the tracker answers with an error, when the socket
        reports one (``Inbox.error_received``), and after the last try. Close the socket
        in every case.
        """
        raise NotImplementedError
