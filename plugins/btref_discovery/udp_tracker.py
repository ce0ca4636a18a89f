"""Discovery through UDP trackers (BEP 15, with BEP 12 tiers).

One exchange is two round trips: *connect* (the tracker hands out a connection id that
proves we can receive at our address, so nobody can spoof announces), then *announce* or
*scrape* with that id. UDP loses packets, so BEP 15 says how to retry: wait
``15 * 2**n`` seconds for an answer, retransmit and increase ``n``, up to ``n = 8``.
Here the base (15 s) and the number of retries are constructor parameters, so tests can
use milliseconds. A connection id is reused for one minute of the ``clock``, then a new
one is requested.

Every answer must echo the transaction id we sent; packets that do not are ignored (they
may be late answers to an earlier try, or spoofed). An error packet (action 3), a packet
of the wrong action, or an ICMP "port unreachable" becomes a
:class:`~btref.errors.TrackerError`, and so does giving up after the last retry.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from btref.discovery import AnnounceRequest, AnnounceResult, ScrapeStats, TierOrder
from btref.errors import TrackerError
from btref.hookspecs import hookimpl
from btref.tracker import (
    ANNOUNCE, CONNECT, ERROR, SCRAPE, UDPResponse, parse_udp_response, udp_announce_request,
    udp_address, udp_connect_request, udp_scrape_request,
)


class _Link(asyncio.DatagramProtocol):
    """One UDP socket talking to one tracker; what arrives is queued (an ICMP error as an exception)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue(maxsize=64)

    # A datagram endpoint always gets a DatagramTransport; typeshed's DatagramProtocol narrows it the same way.
    def connection_made(self, transport: asyncio.DatagramTransport) -> None:  # type: ignore[override]
        self.transport = transport
        self.ipv6 = transport.get_extra_info("socket").family == socket.AF_INET6

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._put(data)

    def error_received(self, exc: Exception) -> None:
        self._put(exc)

    def _put(self, item: bytes | Exception) -> None:
        if not self.queue.full():
            self.queue.put_nowait(item)

    async def ask(self, build: Callable[[int], bytes], wait: float, action: int) -> UDPResponse | None:
        """Send one packet; the matching answer, or ``None`` if none came within ``wait`` seconds."""
        # [docs: ask]
        tid = secrets.randbits(32)
        self.transport.sendto(build(tid))
        try:
            async with asyncio.timeout(wait):
                while True:
                    item = await self.queue.get()
                    if isinstance(item, Exception):
                        raise TrackerError(f"{self.url}: {item}")
                    if len(item) < 8 or int.from_bytes(item[4:8], "big") != tid:
                        continue  # not an answer to this packet
                    reply = parse_udp_response(item, ipv6=self.ipv6)
                    if reply.action == ERROR:
                        raise TrackerError(f"{self.url}: tracker error: {reply.message}")
                    if reply.action != action:
                        raise TrackerError(f"{self.url}: answer with action {reply.action}, expected {action}")
                    return reply
        except TimeoutError:
            return None
        # [/docs: ask]


class UDPTracker:
    """Announce to UDP trackers: BEP 15 connect, announce, scrape, with retries and back-off."""

    family = "discovery"
    name = "udp-tracker"
    public_only = False

    def __init__(self, timeout_base: float = 15.0, max_retries: int = 8, connection_ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_base = timeout_base
        self.max_retries = max_retries
        self.connection_ttl = connection_ttl
        self.clock = clock
        self.tiers = TierOrder()
        #: Connection ids by tracker address, with the clock time they were obtained.
        self.connections: dict[tuple[str, int], tuple[int, float]] = {}

    @hookimpl
    def btref_announce(self, request: AnnounceRequest) -> Awaitable[AnnounceResult] | None:
        """An awaitable AnnounceResult, or ``None`` when the torrent has no UDP tracker."""
        tiers = request.urls("udp")
        if not tiers:
            return None
        return self.tiers.announce(request.info_hash, tiers, lambda url: self.announce(url, request))

    async def announce(self, url: str, request: AnnounceRequest) -> AnnounceResult:
        """Announce to one tracker ``url`` (no tiers)."""
        reply = await self._exchange(url, ANNOUNCE, lambda cid, tid: udp_announce_request(cid, tid, request))
        assert reply.result is not None
        return attrs.evolve(reply.result, url=url)

    async def scrape(self, url: str, info_hashes: list[bytes]) -> dict[bytes, ScrapeStats]:
        """BEP 15 scrape: counts for each of ``info_hashes`` (at most 74)."""
        udp_scrape_request(0, 0, info_hashes)  # validates the list before any packet is sent
        reply = await self._exchange(url, SCRAPE, lambda cid, tid: udp_scrape_request(cid, tid, info_hashes))
        if len(reply.scrape) < len(info_hashes):
            raise TrackerError(f"{url}: scrape answer has {len(reply.scrape)} entries for {len(info_hashes)} hashes")
        return dict(zip(info_hashes, reply.scrape))

    async def _exchange(self, url: str, action: int, build: Callable[[int, int], bytes]) -> UDPResponse:
        address = udp_address(url)
        loop = asyncio.get_running_loop()
        try:
            transport, link = await loop.create_datagram_endpoint(lambda: _Link(url), remote_addr=address)
        except (OSError, UnicodeError) as exc:  # unreachable, or a name that cannot be resolved
            raise TrackerError(f"{url}: {exc}") from exc
        try:
            # [docs: retry]
            for attempt in range(self.max_retries + 1):
                wait = self.timeout_base * 2**attempt  # BEP 15: 15 * 2^n seconds
                cid, since = self.connections.get(address, (None, 0.0))
                if cid is None or self.clock() - since >= self.connection_ttl:  # BEP 15: reuse for a minute
                    reply = await link.ask(udp_connect_request, wait, CONNECT)
                    if reply is None:
                        continue
                    cid = reply.connection_id
                    assert cid is not None  # a connect answer carries one (parse_udp_response)
                    self.connections[address] = (cid, self.clock())
                try:
                    reply = await link.ask(lambda tid: build(cid, tid), wait, action)
                except TrackerError:
                    self.connections.pop(address, None)  # the id may be why it failed: connect again next time
                    raise
                if reply is not None:
                    return reply
            raise TrackerError(f"{url}: no answer after {self.max_retries + 1} tries")
            # [/docs: retry]
        finally:
            transport.close()

