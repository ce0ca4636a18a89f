"""libtorrent joins a DHT of btref nodes on loopback, and each side finds the other's peers (BEP 5).

Thirty btref nodes run in one asyncio loop; a libtorrent session bootstraps from one of
them (``tests/dht_libtorrent.py`` starts and stops both). Then (1) btref nodes announce a
peer and libtorrent's ``dht_get_peers`` finds it; (2) libtorrent seeds a torrent with DHT
on, and a btref lookup finds libtorrent's port. Every wait is a bounded loop (never a
timed assertion); everything started is stopped.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from tests.dht_libtorrent import LibtorrentInDHT

pytestmark = [pytest.mark.interop, pytest.mark.slow]


async def lt_finds_btref_peer() -> None:
    async with LibtorrentInDHT(nodes=30, family=4) as dht:
        assert all(len(s.node.table) > 0 for s in dht.servers)
        info_hash = hashlib.sha1(b"btref announces this").digest()
        lookup = await dht.servers[7].lookup(info_hash, "get_peers", announce_port=4321)
        await dht.servers[7].settle()
        assert lookup.announce_targets(), "no btref node gave a token"
        await dht.libtorrent_finds(info_hash, ("127.0.0.1", 4321))


async def btref_finds_lt_torrent(tmp_path) -> None:
    async with LibtorrentInDHT(nodes=30, family=4) as dht:
        data = tmp_path / "dht.bin"
        data.write_bytes(bytes(range(256)) * 64)
        handle, info_hash = await dht.seed(data, 16384)
        lookup = await dht.btref_finds_libtorrent(info_hash, handle)
        assert lookup.hops >= 1 and lookup.messages >= 1 and lookup.path


def test_libtorrent_finds_a_peer_announced_by_btref_nodes():
    asyncio.run(asyncio.wait_for(lt_finds_btref_peer(), 180))


def test_btref_finds_a_torrent_libtorrent_announced(tmp_path):
    asyncio.run(asyncio.wait_for(btref_finds_lt_torrent(tmp_path), 180))
