"""The DHT node on real UDP sockets: an asyncio driver for the sans-I/O node (BEP 5, BEP 32).

:class:`DHTServer` is the whole glue: every datagram goes to
:meth:`Node.receive <btref_discovery.dht.node.Node.receive>` with ``loop.time()``;
whatever the node wants to send is sent at once, through the socket of the
destination's address family; one timer is kept armed at
:meth:`Node.next_timer <btref_discovery.dht.node.Node.next_timer>`. Lookups become
awaitables that resolve to the finished :class:`~btref_discovery.dht.lookup.Lookup`.

A server listens on one UDP socket per address family it is given (BEP 32: an IPv4
socket such as ``0.0.0.0`` and an IPv6 one such as ``::`` beside it, on the same port
when it is free). The IPv6 socket is IPv6-only, so IPv4 packets never arrive as
``::ffff:a.b.c.d`` addresses and each family's nodes stay in their own table.

Invariants: every lookup ends (each query has a deadline, and the shortlist is bounded),
so awaiting one never hangs; :meth:`DHTServer.close` cancels the timer and closes the
sockets; ICMP errors ("port unreachable") are ignored, as the query timeout already
covers them; a datagram for a family we have no socket for is not sent (counted in
``node.stats["unroutable"]``) and its query times out.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

from btref.errors import KRPCError

from .krpc import family_of
from .lookup import Lookup
from .node import Node

__all__ = ["DHTServer", "resolve"]

Address = tuple[str, int]


_AF = {4: socket.AF_INET, 6: socket.AF_INET6}


async def resolve(host: str, port: int, families: Sequence[int] = (4,)) -> Address:
    """``(host, port)`` with ``host`` turned into an IP address of one of ``families``
    (tried in that order: a name with both kinds of address gets the first family's).

    :raises KRPCError: when the name has no address of those families.
    """
    loop = asyncio.get_running_loop()
    problem: Exception | None = None
    for family in families:
        try:
            infos = await loop.getaddrinfo(host, port, family=_AF[family], type=socket.SOCK_DGRAM)
        except OSError as exc:
            problem = exc
            continue
        return str(infos[0][4][0]), port  # an AF_INET or AF_INET6 address is a str
    kinds = " or ".join(f"IPv{f}" for f in families)
    raise KRPCError(f"cannot resolve DHT node {host}:{port} to an {kinds} address: {problem}")


class _Socket(asyncio.DatagramProtocol):
    """One UDP socket of a :class:`DHTServer`: hands what it receives to the server."""

    def __init__(self, server: DHTServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    # A datagram endpoint always gets a DatagramTransport; typeshed's DatagramProtocol narrows it the same way.
    def connection_made(self, transport: asyncio.DatagramTransport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.server.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors: the query's timeout handles the silence


class DHTServer:
    """A :class:`~btref_discovery.dht.node.Node` bound to UDP sockets (one per address family)
    in the running loop."""

    def __init__(self, node: Node | None = None, **options: Any) -> None:
        self.node = node
        self.options = options
        #: The socket of each address family we listen on: 4 (IPv4), 6 (IPv6).
        self.sockets: dict[int, _Socket] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self, host: str | Sequence[str] = "0.0.0.0", port: int = 0) -> Address:
        """Bind a socket on ``host`` (or on each of several hosts, one per address family:
        ``("0.0.0.0", "::")``) and start answering; returns the first bound ``(host, port)``.
        With ``port`` 0 the first socket gets any free port and the others try the same one.

        :raises KRPCError: for a host that is not an IP address, two of one family, or a bind that fails.
        """
        hosts = [host] if isinstance(host, str) else list(host)
        try:
            families = [family_of((str(ipaddress.ip_address(h)), 0)) for h in hosts]
        except ValueError as exc:
            raise KRPCError(f"a DHT node listens on IP addresses: {exc}") from None
        if not hosts or len(set(families)) != len(families):
            raise KRPCError(f"a DHT node listens on one IPv4 and/or one IPv6 address, not {hosts}")
        self.loop = asyncio.get_running_loop()
        if self.node is None:
            self.node = Node(now=self.loop.time(), **self.options)
        self.node.families = tuple(families)
        try:
            for h, family in zip(hosts, families):
                await self._bind(h, family, port)
                port = port or self.address[1]  # the next family tries the same port
        except BaseException:
            self.close()
            raise
        self._arm()
        return self.address

    async def _bind(self, host: str, family: int, port: int) -> None:
        assert self.loop is not None
        sock = socket.socket(_AF[family], socket.SOCK_DGRAM)
        try:
            if family == 6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((host, port))
            except OSError:
                if not self.sockets:  # the port asked for is taken: that is the caller's error
                    raise
                sock.bind((host, 0))  # a second family: any port will do
        except OSError as exc:
            sock.close()
            raise KRPCError(f"cannot listen for DHT packets on {host} port {port}: {exc}") from None
        _, endpoint = await self.loop.create_datagram_endpoint(lambda: _Socket(self), sock=sock)
        self.sockets[family] = endpoint

    @property
    def address(self) -> Address:
        """The ``(host, port)`` of the first socket (IPv4 when there is one)."""
        return self.addresses[0]

    @property
    def addresses(self) -> list[Address]:
        """The ``(host, port)`` of each socket, IPv4 first."""
        found = []
        for family in sorted(self.sockets):
            transport = self.sockets[family].transport
            if transport is not None:
                host, port = transport.get_extra_info("sockname")[:2]
                found.append((host, port))
        assert found, "the server is not started"
        return found

    @property
    def families(self) -> list[int]:
        """The address families we listen on, IPv4 first."""
        return sorted(self.sockets)

    # [docs: glue]
    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        assert self.node is not None and self.loop is not None
        self.node.receive(data, (addr[0], addr[1]), self.loop.time())
        self._flush()

    def _on_timer(self) -> None:
        assert self.node is not None and self.loop is not None
        self.node.tick(self.loop.time())
        self._flush()

    def _flush(self) -> None:
        assert self.node is not None
        for data, address in self.node.take():
            endpoint = self.sockets.get(family_of(address))
            if endpoint is None:
                self.node.stats["unroutable"] = self.node.stats.get("unroutable", 0) + 1
            elif endpoint.transport is not None and not endpoint.transport.is_closing():
                endpoint.transport.sendto(data, address)
        self._arm()

    def _arm(self) -> None:
        assert self.node is not None and self.loop is not None
        if self._timer is not None:
            self._timer.cancel()
        if self.open:
            self._timer = self.loop.call_at(self.node.next_timer(), self._on_timer)
    # [/docs: glue]

    @property
    def open(self) -> bool:
        """True from :meth:`start` until :meth:`close`."""
        return any(e.transport is not None and not e.transport.is_closing() for e in self.sockets.values())

    async def lookup(self, target: bytes, method: str = "get_peers", *, announce_port: int | None = None,
                     seeds: Iterable[Address] = (), family: int | None = None) -> Lookup:
        """Run one iterative lookup to its end in the DHT of ``family`` (default: our first
        family; see :meth:`Node.lookup <btref_discovery.dht.node.Node.lookup>`)."""
        assert self.node is not None and self.loop is not None
        done: asyncio.Future[Lookup] = self.loop.create_future()

        def finish(lookup: Lookup) -> None:
            if not done.done():
                done.set_result(lookup)

        self.node.lookup(target, self.loop.time(), method, announce_port=announce_port, seeds=seeds,
                         on_done=finish, family=family or self.families[0])
        self._flush()
        return await done

    async def bootstrap(self, addresses: Iterable[Address]) -> list[Lookup]:
        """Join the DHT through ``addresses``: a lookup of our own id in each family we listen
        on, started from the addresses of that family, else from the nodes its table learnt
        meanwhile (BEP 32: IPv6 nodes named by IPv4 nodes). Returns the lookups run."""
        assert self.node is not None
        seeds = list(addresses)
        with_seeds = [f for f in self.families if any(family_of(a) == f for a in seeds)]
        done = list(await asyncio.gather(*(self.lookup(self.node.id, "find_node", seeds=seeds, family=f)
                                            for f in with_seeds)))
        if len(self.families) > 1:
            await self.settle()  # the pings to the other family's nodes
        for family in self.families:
            if family not in with_seeds and len(self.node.tables[family]):
                done.append(await self.lookup(self.node.id, "find_node", family=family))
        return done

    async def settle(self) -> None:
        """Wait until no query is pending (each has a deadline, so this ends)."""
        while self.node is not None and self.node.pending and self.open:
            await asyncio.sleep(0.01)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for endpoint in self.sockets.values():
            if endpoint.transport is not None:
                endpoint.transport.close()
