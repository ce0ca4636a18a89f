"""libtorrent joins a DHT of btref nodes on loopback, and each side finds the other's peers (BEP 5).

Thirty btref nodes run in one asyncio loop; a libtorrent session bootstraps from one of
them. Then (1) btref nodes announce a peer and libtorrent's ``dht_get_peers`` finds it;
(2) libtorrent seeds a torrent with DHT on, and a btref lookup finds libtorrent's port.
Every wait is a bounded loop (never a timed assertion); everything started is stopped.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from tests.ltsession import close_session, dht_settings, loopback_settings, until
from tests.test_dht_net import close_all, start_swarm

lt = pytest.importorskip("libtorrent")

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def lt_session(bootstrap: tuple[str, int]) -> lt.session:
    # Every btref node shares 127.0.0.1: dht_settings lets libtorrent keep many nodes of one address.
    return lt.session(loopback_settings(**dht_settings(f"{bootstrap[0]}:{bootstrap[1]}"),
                                        alert_mask=lt.alert.category_t.all_categories))


async def wait_bootstrapped(ses: lt.session, log: list[str]) -> None:
    booted: list[object] = []

    def bootstrapped() -> object:
        for alert in ses.pop_alerts():
            log.append(alert.message())
            if isinstance(alert, lt.dht_bootstrap_alert):
                booted.append(alert)
        return booted

    await until(bootstrapped, "libtorrent's DHT bootstrap", timeout=30, poll=0.025,
                details=lambda: f"last alerts: {log[-10:]}")


async def seed_once_bootstrapped(ses: lt.session, data, piece_length: int, log: list[str]) -> tuple[object, bytes]:
    """Make a v1 torrent of file ``data`` and seed it from its folder in ``ses`` once
    libtorrent's DHT has bootstrapped; returns the torrent handle and the v1 info hash."""
    ct = lt.create_torrent(lt.list_files(str(data)), piece_length, flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, str(data.parent))
    ti = lt.torrent_info(lt.bencode(ct.generate()))
    await wait_bootstrapped(ses, log)
    params = lt.add_torrent_params()
    params.ti, params.save_path = ti, str(data.parent)
    return ses.add_torrent(params), bytes.fromhex(str(ti.info_hashes().v1))


async def lt_finds_btref_peer() -> None:
    servers = await start_swarm(30)
    ses = lt_session(servers[0].address)
    try:
        assert all(len(s.node.table) > 0 for s in servers)
        info_hash = hashlib.sha1(b"btref announces this").digest()
        lookup = await servers[7].lookup(info_hash, "get_peers", announce_port=4321)
        await servers[7].settle()
        assert lookup.announce_targets(), "no btref node gave a token"
        log: list[str] = []
        await wait_bootstrapped(ses, log)
        found: set[tuple[str, int]] = set()
        for attempt in range(60):  # one get_peers traversal per round, until a reply names our peer
            ses.dht_get_peers(lt.sha1_hash(info_hash))
            for _ in range(40):
                for alert in ses.pop_alerts():
                    if isinstance(alert, lt.dht_get_peers_reply_alert):
                        found.update(alert.peers())
                if ("127.0.0.1", 4321) in found:
                    return
                await asyncio.sleep(0.025)
        pytest.fail(f"libtorrent did not find the peer btref announced; found {found}")
    finally:
        close_session(ses)
        del ses
        close_all(servers)


async def btref_finds_lt_torrent(tmp_path) -> None:
    servers = await start_swarm(30)
    ses = lt_session(servers[0].address)
    try:
        data = tmp_path / "dht.bin"
        data.write_bytes(bytes(range(256)) * 64)
        log: list[str] = []
        handle, info_hash = await seed_once_bootstrapped(ses, data, 16384, log)
        port = ses.listen_port()
        peers: list[tuple[str, int]] = []
        for attempt in range(120):  # libtorrent announces once its DHT is up; we look until we see it
            lookup = await servers[attempt % 30].lookup(info_hash, "get_peers")
            peers = list(lookup.peers)
            if ("127.0.0.1", port) in peers:
                assert lookup.hops >= 1 and lookup.messages >= 1 and lookup.path
                return
            if attempt % 10 == 9:
                handle.force_dht_announce()
            log += [a.message() for a in ses.pop_alerts()]
            await asyncio.sleep(0.1)
        pytest.fail(f"btref never found libtorrent at port {port}; peers {peers}; alerts {log[-10:]}")
    finally:
        close_session(ses)
        del ses
        close_all(servers)


def test_libtorrent_finds_a_peer_announced_by_btref_nodes():
    asyncio.run(asyncio.wait_for(lt_finds_btref_peer(), 180))


def test_btref_finds_a_torrent_libtorrent_announced(tmp_path):
    asyncio.run(asyncio.wait_for(btref_finds_lt_torrent(tmp_path), 180))
