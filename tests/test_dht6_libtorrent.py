"""libtorrent joins an IPv6 DHT of btref nodes on ::1, and each side finds the other's peers (BEP 32).

Twelve btref nodes listen on ``::1`` only; a libtorrent session listens on ``[::1]``
(``listen_interfaces``) and bootstraps from one of them (``tests/dht_libtorrent.py`` starts
and stops both). Then (1) btref nodes announce a peer and libtorrent's ``dht_get_peers``
finds it as an IPv6 peer (an 18-byte ``values`` entry); (2) libtorrent seeds a torrent and
a btref lookup in the IPv6 DHT finds libtorrent's port at ``::1``. libtorrent's packets are
checked too: they carry ``nodes6`` and no ``nodes``. Every wait is a bounded loop;
everything started is stopped.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from tests.dht_libtorrent import LibtorrentInDHT

pytestmark = [pytest.mark.interop, pytest.mark.slow]


async def lt_finds_btref_peer() -> None:
    async with LibtorrentInDHT(nodes=12, family=6) as dht:
        info_hash = hashlib.sha1(b"btref announces this over IPv6").digest()
        lookup = await dht.servers[7].lookup(info_hash, "get_peers", announce_port=4321)
        await dht.servers[7].settle()
        assert lookup.family == 6 and lookup.announce_targets(), "no btref node gave a token"
        await dht.libtorrent_finds(info_hash, ("::1", 4321))
        assert any(len(s.node.table6) and not len(s.node.table) for s in dht.servers)


async def btref_finds_lt_torrent(tmp_path) -> None:
    async with LibtorrentInDHT(nodes=12, family=6) as dht:
        seen: list[bytes] = []
        original = dht.servers[0].node.receive

        def spy(data: bytes, address: tuple[str, int], now: float) -> None:
            seen.append(data)
            original(data, address, now)

        dht.servers[0].node.receive = spy  # type: ignore[method-assign]
        data = tmp_path / "dht6.bin"
        data.write_bytes(bytes(range(256)) * 64)
        handle, info_hash = await dht.seed(data, 16384)
        lookup = await dht.btref_finds_libtorrent(info_hash, handle)
        assert lookup.family == 6 and lookup.hops >= 1 and lookup.path
        # ask libtorrent directly (its DHT shares the listen port): over IPv6 it answers with nodes6
        port = dht.session.listen_port()
        ask = await dht.servers[0].lookup(hashlib.sha1(b"near").digest(), "find_node", seeds=[("::1", port)])
        assert any(c.address == ("::1", port) and c.state == "answered" for c in ask.path)
        answers = [p for p in seen if b"1:v4:LT" in p and b"1:y1:r" in p]
        assert answers and all(b"6:nodes6" in p and b"5:nodes" not in p for p in answers)


def test_libtorrent_finds_a_peer_announced_by_btref_nodes_over_ipv6():
    asyncio.run(asyncio.wait_for(lt_finds_btref_peer(), 180))


def test_btref_finds_a_torrent_libtorrent_announced_over_ipv6(tmp_path):
    asyncio.run(asyncio.wait_for(btref_finds_lt_torrent(tmp_path), 180))
