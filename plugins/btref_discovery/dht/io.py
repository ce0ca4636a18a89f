"""The DHT node on a real UDP socket: an asyncio driver for the sans-I/O node (BEP 5).

:class:`DHTServer` is the whole glue: every datagram goes to
:meth:`Node.receive <btref_discovery.dht.node.Node.receive>` with ``loop.time()``;
whatever the node wants to send is sent at once; one timer is kept armed at
:meth:`Node.next_timer <btref_discovery.dht.node.Node.next_timer>`. Lookups become
awaitables that resolve to the finished :class:`~btref_discovery.dht.lookup.Lookup`.

Invariants: every lookup ends (each query has a deadline, and the shortlist is bounded),
so awaiting one never hangs; :meth:`DHTServer.close` cancels the timer and closes the socket;
ICMP errors ("port unreachable") are ignored, as the query timeout already covers them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

from btref.errors import KRPCError

from .lookup import Lookup
from .node import Node

__all__ = ["DHTServer", "resolve"]

Address = tuple[str, int]


async def resolve(host: str, port: int) -> Address:
    """``(host, port)`` with ``host`` turned into an IPv4 address (BEP 5 contacts are IPv4).

    :raises KRPCError: when the name cannot be resolved.
    """
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise KRPCError(f"cannot resolve DHT node {host}:{port}: {exc}") from exc
    return str(infos[0][4][0]), port  # an AF_INET address is a str


class DHTServer(asyncio.DatagramProtocol):
    """A :class:`~btref_discovery.dht.node.Node` bound to a UDP socket in the running loop."""

    def __init__(self, node: Node | None = None, **options: Any) -> None:
        self.node = node
        self.options = options
        self.transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self, host: str = "0.0.0.0", port: int = 0) -> Address:
        """Bind and start answering; returns the bound ``(host, port)``."""
        self.loop = asyncio.get_running_loop()
        if self.node is None:
            self.node = Node(now=self.loop.time(), **self.options)
        await self.loop.create_datagram_endpoint(lambda: self, local_addr=(host, port), family=socket.AF_INET)
        self._arm()
        return self.address

    @property
    def address(self) -> Address:
        assert self.transport is not None, "the server is not started"
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    # A datagram endpoint always gets a DatagramTransport; typeshed's DatagramProtocol narrows it the same way.
    def connection_made(self, transport: asyncio.DatagramTransport) -> None:  # type: ignore[override]
        self.transport = transport

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
            if self.transport is not None and not self.transport.is_closing():
                self.transport.sendto(data, address)
        self._arm()

    def _arm(self) -> None:
        assert self.node is not None and self.loop is not None
        if self._timer is not None:
            self._timer.cancel()
        if self.transport is not None and not self.transport.is_closing():
            self._timer = self.loop.call_at(self.node.next_timer(), self._on_timer)
    # [/docs: glue]

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors: the query's timeout handles the silence

    async def lookup(self, target: bytes, method: str = "get_peers", *, announce_port: int | None = None,
                     seeds: Iterable[Address] = ()) -> Lookup:
        """Run one iterative lookup to its end (see :meth:`Node.lookup <btref_discovery.dht.node.Node.lookup>`)."""
        assert self.node is not None and self.loop is not None
        done: asyncio.Future[Lookup] = self.loop.create_future()

        def finish(lookup: Lookup) -> None:
            if not done.done():
                done.set_result(lookup)

        self.node.lookup(target, self.loop.time(), method, announce_port=announce_port, seeds=seeds,
                         on_done=finish)
        self._flush()
        return await done

    async def bootstrap(self, addresses: Iterable[Address]) -> Lookup:
        """Join the DHT through ``addresses`` (a lookup of our own id)."""
        assert self.node is not None
        return await self.lookup(self.node.id, "find_node", seeds=addresses)

    async def settle(self) -> None:
        """Wait until no query is pending (each has a deadline, so this ends)."""
        while self.node is not None and self.node.pending and self.transport and not self.transport.is_closing():
            await asyncio.sleep(0.01)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.close()
