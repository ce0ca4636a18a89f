"""The ``dht`` discovery plugin: announce and find peers through the BEP 5 DHT (over IPv6 too, BEP 32).

``btref_announce`` (see :mod:`btref.hookspecs`) answers ``None`` for a private torrent
(BEP 27: private torrents use their trackers only), else an awaitable that

1. makes sure a DHT node runs in the current event loop: the one started with
   :meth:`DHT.start` (long-lived: its routing table keeps improving), or else a temporary
   node that joins through ``bootstrap`` and is closed when the announce is over;
2. runs a ``get_peers`` lookup for the info hash (BEP 5, "get_peers") in each DHT it is
   in (IPv4, IPv6: BEP 32 keeps them apart, so we announce in both);
3. sends ``announce_peer`` with our TCP port to the 8 closest nodes that gave a token
   (not for ``event == "stopped"``: BEP 5 has no way to withdraw, a peer simply expires);
4. returns the peers found as an :class:`~btref.discovery.AnnounceResult`.

The node listens on ``host`` (one address, or one per family such as
``("0.0.0.0", "::")``). A bootstrap node of a family we do not listen on opens that
family's socket too, on the counterpart of the first host: ``::`` beside ``0.0.0.0``,
``::1`` beside ``127.0.0.1`` (and the other way round), so ``--dht-bootstrap [::1]:6881``
works without further options.

Invariants: the node a call started is closed before the call returns; every wait is
bounded by the node's query timeout; DHT failures (an unresolvable bootstrap name) become
:class:`~btref.errors.TrackerError`, as the hook specification asks.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from btref.discovery import AnnounceRequest, AnnounceResult, PeerAddress
from btref.errors import KRPCError, TrackerError
from btref.hookspecs import hookimpl

from .io import DHTServer, resolve
from .krpc import family_of
from .node import load, save

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.sim.scenarios import Scenario

__all__ = ["DHT", "PUBLIC_ROUTERS"]

#: Well-known public bootstrap nodes (not used unless passed in: tests and labs stay local).
PUBLIC_ROUTERS = ("router.bittorrent.com:6881", "dht.transmissionbt.com:6881", "router.utorrent.com:6881")


def _split(text: str) -> tuple[str, int]:
    try:
        peer = PeerAddress.parse(text)
    except ValueError:
        raise KRPCError(f"DHT node {text!r} is not HOST:PORT (e.g. 127.0.0.1:6881, [::1]:6881)") from None
    return peer.host, peer.port


#: The address of the other family that listens where a given one does (see the module docstring).
_COUNTERPART = {"0.0.0.0": "::", "::": "0.0.0.0", "127.0.0.1": "::1", "::1": "127.0.0.1"}


def _is_ip(host: str, family: int) -> bool:
    """True for an IP address (not a name) of ``family``."""
    try:
        return ipaddress.ip_address(host).version == family
    except ValueError:
        return False


class DHT:
    """Find peers without a tracker: a BEP 5 DHT node (get_peers, announce_peer)."""

    family = "discovery"
    name = "dht"

    @staticmethod
    def sim_scenarios() -> list[Scenario]:
        """``btref sim dht-lookup``: hops and queries per lookup as N grows (see :mod:`.sim`)."""
        from btref.sim.scenarios import Scenario

        from .sim import lookup_figures, lookup_scenario

        return [Scenario(name="dht-lookup", peers=1000, pieces=1, runner=lookup_scenario, plot=lookup_figures,
                         summary="BEP 5 lookups among N DHT nodes: hops and queries against log2 N")]

    def __init__(self, bootstrap: Iterable[str] = (), host: str | Iterable[str] = "0.0.0.0", port: int = 0,
                 state_file: str | None = None, query_timeout: float = 5.0, enforce_bep42: bool = False,
                 interval: int = 900) -> None:
        self.bootstrap = [_split(b) for b in bootstrap]
        hosts = [host] if isinstance(host, str) else list(host)
        for family in (4, 6):  # a bootstrap node of a family we would not listen on
            if hosts and not any(family_of((h, 0)) == family for h in hosts) and hosts[0] in _COUNTERPART and any(
                    _is_ip(b, family) for b, _ in self.bootstrap):
                hosts.append(_COUNTERPART[hosts[0]])
        self.hosts = hosts
        self.port = port
        self.state_file = Path(state_file) if state_file else None
        self.options = {"query_timeout": query_timeout, "enforce_bep42": enforce_bep42}
        self.interval = interval
        self.server: DHTServer | None = None

    async def start(self) -> DHTServer:
        """Start a long-lived node in the running loop (loading ``state_file``) and join the DHT."""
        if self.server is None:
            self.server = await self._new_server(self.port)
        return self.server

    async def close(self) -> None:
        """Stop the long-lived node (saving ``state_file``)."""
        if self.server is not None:
            if self.state_file is not None and self.server.node is not None:
                save(self.server.node, self.state_file)
            self.server.close()
            self.server = None

    async def _new_server(self, port: int) -> DHTServer:
        loop = asyncio.get_running_loop()
        node = None
        if self.state_file is not None and self.state_file.is_file():
            node = load(self.state_file, now=loop.time(), **self.options)
        server = DHTServer(node, **self.options)
        await server.start(self.hosts, port)
        try:
            seeds = [await resolve(host, p, server.families) for host, p in self.bootstrap]
            await server.bootstrap(seeds)
        except BaseException:
            server.close()
            raise
        return server

    @hookimpl
    def btref_announce(self, request: AnnounceRequest) -> Awaitable[AnnounceResult] | None:
        """An awaitable AnnounceResult, or ``None`` for a private torrent."""
        if request.private:
            return None
        return self.announce(request)

    # [docs: announce]
    async def announce(self, request: AnnounceRequest) -> AnnounceResult:
        """Look the info hash up, announce our port (unless stopping), return the peers found."""
        running = self.server is not None and self.server.loop is asyncio.get_running_loop()
        try:
            server = self.server if running else await self._new_server(0)
        except KRPCError as exc:
            raise TrackerError(f"dht: {exc}") from exc
        assert server is not None
        try:
            port = None if request.event == "stopped" else request.port
            lookups = await asyncio.gather(*(server.lookup(request.info_hash, "get_peers", announce_port=port,
                                                           family=f) for f in server.families))
            if not running:
                await server.settle()  # let the announce_peer queries be answered
        finally:
            if not running:
                server.close()
        found = dict.fromkeys(peer for lookup in lookups for peer in lookup.peers)
        peers = [PeerAddress(host, p) for host, p in found][: max(request.numwant, 1)]
        return AnnounceResult(peers, interval=self.interval)
    # [/docs: announce]
