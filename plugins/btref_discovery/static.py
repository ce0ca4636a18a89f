"""Discovery from a fixed list of peers (no protocol: the user names them).

The simplest possible source of peers, and the baseline the others are compared to: a lab
swarm on one machine, a test, or "connect to my friend at 10.0.0.5:6881". It answers the
``btref_announce`` hook (:mod:`btref.hookspecs`) at once with the configured peers.

A manually added peer is allowed even for a private torrent (BEP 27 forbids DHT, PEX and
other *automatic* sources; clients such as libtorrent still let the user add peers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable

from btref.discovery import AnnounceRequest, AnnounceResult, PeerAddress
from btref.errors import PluginError
from btref.hookspecs import hookimpl


class StaticPeers:
    """Hand out a fixed list of peers given as host:port (labs, tests, LAN swarms)."""

    family = "discovery"
    name = "static"
    #: Not an automatic source, so it may serve private torrents (see the module docstring).
    public_only = False

    def __init__(self, peers: Iterable[str] | str = (), interval: int = 1800) -> None:
        if isinstance(peers, str):  # "a:1, b:2" from a command line
            peers = peers.replace(",", " ").split()
        try:
            self.peers = tuple(PeerAddress.parse(p) for p in peers)
        except ValueError as exc:
            raise PluginError(f"static: {exc}") from exc
        self.interval = interval

    # [docs: hook]
    @hookimpl
    def btref_announce(self, request: AnnounceRequest) -> Awaitable[AnnounceResult] | None:
        """The configured peers, or ``None`` when none are configured."""
        if not self.peers:
            return None
        return self._answer()

    async def _answer(self) -> AnnounceResult:
        return AnnounceResult(peers=self.peers, interval=self.interval)
    # [/docs: hook]
