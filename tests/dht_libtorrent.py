"""libtorrent in a DHT of btref nodes on loopback: what the DHT interop tests share (BEP 5, BEP 32).

``tests/test_dht_libtorrent.py`` (IPv4, BEP 5) and ``tests/test_dht6_libtorrent.py`` (IPv6 on
``::1``, BEP 32) run the same two finds in a DHT of btref nodes that a libtorrent session joins;
the address family is all that differs. :class:`LibtorrentInDHT` starts the btref nodes (the
swarms of ``tests/test_dht_net.py`` and ``tests/test_dht6_net.py``) and the session, runs the
two searches and stops everything. ``tests/test_dht_magnet_libtorrent.py`` uses the
session recipe and the two waits directly.

Every wait is a bounded loop (never a timed assertion). libtorrent is imported when a test
starts, not when this module is imported: without it a test is skipped, and ``make test``
(``BTREF_NO_SKIPS=1``) turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from btref_discovery.dht.io import DHTServer
from btref_discovery.dht.krpc import Address, family_of, show
from btref_discovery.dht.lookup import Lookup
from tests import test_dht6_net, test_dht_net
from tests.ltsession import close_session, dht_settings, libtorrent, loopback_settings, until

#: Where the btref nodes and libtorrent listen, by address family.
LOOPBACK = {4: "127.0.0.1", 6: "::1"}

#: How ``n`` btref nodes on that family's loopback address start and join through the first.
SWARMS: dict[int, Callable[[int], Awaitable[list[DHTServer]]]] = {
    4: test_dht_net.start_swarm, 6: test_dht6_net.start_swarm,
}


def lt_session(bootstrap: Address) -> Any:
    """A libtorrent session whose DHT joins through the btref node at ``bootstrap``.

    It listens on the loopback address of that node's family only, so over ``::1`` its DHT
    is an IPv6 one. Every btref node shares that address: :func:`dht_settings` lets
    libtorrent keep many nodes of one address.
    """
    lt = libtorrent()
    listen = show((LOOPBACK[family_of(bootstrap)], 0))
    return lt.session(loopback_settings(listen_interfaces=listen, **dht_settings(show(bootstrap)),
                                        alert_mask=lt.alert.category_t.all_categories))


async def wait_bootstrapped(ses: Any, log: list[str]) -> None:
    """Wait for libtorrent's ``dht_bootstrap_alert``; every alert's message goes to ``log``."""
    lt = libtorrent()
    booted: list[object] = []

    def bootstrapped() -> object:
        for alert in ses.pop_alerts():
            log.append(alert.message())
            if isinstance(alert, lt.dht_bootstrap_alert):
                booted.append(alert)
        return booted

    await until(bootstrapped, "libtorrent's DHT bootstrap", timeout=30, poll=0.025,
                details=lambda: f"last alerts: {log[-10:]}")


async def seed_once_bootstrapped(ses: Any, data: Path, piece_length: int, log: list[str]) -> tuple[Any, bytes]:
    """Make a v1 torrent of file ``data`` and seed it from its folder in ``ses`` once
    libtorrent's DHT has bootstrapped; returns the torrent handle and the v1 info hash."""
    lt = libtorrent()
    ct = lt.create_torrent(lt.list_files(str(data)), piece_length, flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, str(data.parent))
    ti = lt.torrent_info(lt.bencode(ct.generate()))
    await wait_bootstrapped(ses, log)
    params = lt.add_torrent_params()
    params.ti, params.save_path = ti, str(data.parent)
    return ses.add_torrent(params), bytes.fromhex(str(ti.info_hashes().v1))


class LibtorrentInDHT:
    """``nodes`` btref DHT nodes on the loopback address of ``family`` (4 or 6) and a
    libtorrent session that joins them through the first; ``async with`` starts and stops
    all of them."""

    def __init__(self, nodes: int, family: int) -> None:
        self.nodes, self.family = nodes, family
        self.host = LOOPBACK[family]
        self.servers: list[DHTServer] = []
        self.session: Any = None
        #: libtorrent's alert messages, quoted when a wait fails.
        self.alerts: list[str] = []

    async def __aenter__(self) -> LibtorrentInDHT:
        libtorrent()  # without libtorrent the test stops here, before anything is started
        self.servers = await SWARMS[self.family](self.nodes)
        try:
            self.session = lt_session(self.servers[0].address)
        except BaseException:
            test_dht_net.close_all(self.servers)
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            close_session(self.session)
        finally:
            # Dropping the last reference ends libtorrent's session. Tests reach it through
            # self.session only, so a failure's traceback, which pytest keeps, does not keep it alive.
            self.session = None
            test_dht_net.close_all(self.servers)

    async def seed(self, data: Path, piece_length: int) -> tuple[Any, bytes]:
        """Seed file ``data`` as a v1 torrent once libtorrent's DHT is up: (handle, info hash)."""
        return await seed_once_bootstrapped(self.session, data, piece_length, self.alerts)

    async def libtorrent_finds(self, info_hash: bytes, peer: Address) -> None:
        """Once its DHT is up, run libtorrent's ``get_peers`` for ``info_hash`` until a reply
        names ``peer``; fail the test if none does."""
        lt = libtorrent()
        await wait_bootstrapped(self.session, self.alerts)
        found: set[Address] = set()
        for attempt in range(60):  # one get_peers traversal per round, until a reply names the peer
            self.session.dht_get_peers(lt.sha1_hash(info_hash))
            for _ in range(40):
                for alert in self.session.pop_alerts():
                    if isinstance(alert, lt.dht_get_peers_reply_alert):
                        found.update(alert.peers())
                if peer in found:
                    return
                await asyncio.sleep(0.025)
        pytest.fail(f"libtorrent did not find the peer btref announced over IPv{self.family}; found {found}")

    async def btref_finds_libtorrent(self, info_hash: bytes, handle: Any) -> Lookup:
        """Run btref ``get_peers`` lookups for ``info_hash``, from node after node, until one
        finds libtorrent's port (``handle`` announces again every tenth try); return that lookup."""
        address = (self.host, self.session.listen_port())
        peers: list[Address] = []
        for attempt in range(120):  # libtorrent announces once its DHT is up; we look until we see it
            lookup = await self.servers[attempt % len(self.servers)].lookup(info_hash, "get_peers")
            peers = list(lookup.peers)
            if address in peers:
                return lookup
            if attempt % 10 == 9:
                handle.force_dht_announce()
            self.alerts += [a.message() for a in self.session.pop_alerts()]
            await asyncio.sleep(0.1)
        pytest.fail(f"btref never found libtorrent at {show(address)}; peers {peers}; alerts {self.alerts[-10:]}")
