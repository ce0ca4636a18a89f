"""libtorrent joins an IPv6 DHT of btref nodes on ::1, and each side finds the other's peers (BEP 32).

Twelve btref nodes listen on ``::1`` only; a libtorrent session listens on ``[::1]``
(``listen_interfaces``) and bootstraps from one of them. Then (1) btref nodes announce a
peer and libtorrent's ``dht_get_peers`` finds it as an IPv6 peer (an 18-byte ``values``
entry); (2) libtorrent seeds a torrent and a btref lookup in the IPv6 DHT finds
libtorrent's port at ``::1``. libtorrent's packets are checked too: they carry ``nodes6``
and no ``nodes``. Every wait is a bounded loop; everything started is stopped.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from tests.ltsession import close_session, dht_settings, loopback_settings
from tests.test_dht6_net import close_all, start_swarm
from tests.test_dht_libtorrent import seed_once_bootstrapped, wait_bootstrapped

lt = pytest.importorskip("libtorrent")

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def lt_session(bootstrap: tuple[str, int]) -> lt.session:
    # dht_settings lets libtorrent keep many nodes of one address (every btref node is ::1).
    return lt.session(loopback_settings(listen_interfaces="[::1]:0", **dht_settings(f"[{bootstrap[0]}]:{bootstrap[1]}"),
                                        alert_mask=lt.alert.category_t.all_categories))


async def lt_finds_btref_peer() -> None:
    servers = await start_swarm(12)
    ses = lt_session(servers[0].address)
    try:
        info_hash = hashlib.sha1(b"btref announces this over IPv6").digest()
        lookup = await servers[7].lookup(info_hash, "get_peers", announce_port=4321)
        await servers[7].settle()
        assert lookup.family == 6 and lookup.announce_targets(), "no btref node gave a token"
        log: list[str] = []
        await wait_bootstrapped(ses, log)
        found: set[tuple[str, int]] = set()
        for attempt in range(60):  # one get_peers traversal per round, until a reply names our peer
            ses.dht_get_peers(lt.sha1_hash(info_hash))
            for _ in range(40):
                for alert in ses.pop_alerts():
                    if isinstance(alert, lt.dht_get_peers_reply_alert):
                        found.update(alert.peers())
                if ("::1", 4321) in found:
                    assert any(len(s.node.table6) and not len(s.node.table) for s in servers)
                    return
                await asyncio.sleep(0.025)
        pytest.fail(f"libtorrent did not find the peer btref announced over IPv6; found {found}")
    finally:
        close_session(ses)
        del ses
        close_all(servers)


async def btref_finds_lt_torrent(tmp_path) -> None:
    servers = await start_swarm(12)
    ses = lt_session(servers[0].address)
    seen: list[bytes] = []
    original = servers[0].node.receive

    def spy(data: bytes, address: tuple[str, int], now: float) -> None:
        seen.append(data)
        original(data, address, now)

    servers[0].node.receive = spy  # type: ignore[method-assign]
    try:
        data = tmp_path / "dht6.bin"
        data.write_bytes(bytes(range(256)) * 64)
        log: list[str] = []
        handle, info_hash = await seed_once_bootstrapped(ses, data, 16384, log)
        port = ses.listen_port()
        peers: list[tuple[str, int]] = []
        for attempt in range(120):  # libtorrent announces once its DHT is up; we look until we see it
            lookup = await servers[attempt % 12].lookup(info_hash, "get_peers")
            peers = list(lookup.peers)
            if ("::1", port) in peers:
                assert lookup.family == 6 and lookup.hops >= 1 and lookup.path
                # ask libtorrent directly (its DHT shares the listen port): over IPv6 it answers with nodes6
                ask = await servers[0].lookup(hashlib.sha1(b"near").digest(), "find_node", seeds=[("::1", port)])
                assert any(c.address == ("::1", port) and c.state == "answered" for c in ask.path)
                answers = [p for p in seen if b"1:v4:LT" in p and b"1:y1:r" in p]
                assert answers and all(b"6:nodes6" in p and b"5:nodes" not in p for p in answers)
                return
            if attempt % 10 == 9:
                handle.force_dht_announce()
            log += [a.message() for a in ses.pop_alerts()]
            await asyncio.sleep(0.1)
        pytest.fail(f"btref never found libtorrent at [::1]:{port}; peers {peers}; alerts {log[-10:]}")
    finally:
        close_session(ses)
        del ses
        close_all(servers)


def test_libtorrent_finds_a_peer_announced_by_btref_nodes_over_ipv6():
    asyncio.run(asyncio.wait_for(lt_finds_btref_peer(), 180))


def test_btref_finds_a_torrent_libtorrent_announced_over_ipv6(tmp_path):
    asyncio.run(asyncio.wait_for(btref_finds_lt_torrent(tmp_path), 180))
