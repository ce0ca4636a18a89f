"""A magnet link and nothing else, both ways, through a DHT of btref nodes (BEP 5, BEP 9).

Thirty btref DHT nodes run on loopback UDP in a background asyncio loop; a libtorrent
session bootstraps from one of them and seeds a torrent with its DHT on. The magnet link
has no ``tr=`` and no ``x.pe=``: ``btref download MAGNET --dht-bootstrap NODE`` must find
libtorrent through the DHT, fetch the metadata from it (BEP 9) and download byte-exact.
The other way round, a btref seeder announces itself through the DHT plugin, and libtorrent,
given only the magnet link, finds it through the btref nodes and downloads from it.
Every wait is bounded; everything started is stopped by this test.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from btref import cli
from btref.magnet import Magnet
from tests.dht_libtorrent import lt_session, seed_once_bootstrapped, wait_bootstrapped
from tests.ltsession import close_session, until
from tests.test_dht_net import close_all, start_swarm

lt = pytest.importorskip("libtorrent")

pytestmark = [pytest.mark.interop, pytest.mark.slow]


async def dht_with_a_libtorrent_seeder(folder: Path, holder: dict[str, Any], ready: threading.Event) -> None:
    servers = await start_swarm(30)
    ses = lt_session(servers[0].address)
    holder["stop"] = asyncio.Event()
    try:
        data = folder / "dht-magnet.bin"
        data.write_bytes(b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(12_000)))  # 375 KiB
        log: list[str] = []
        handle, info_hash = await seed_once_bootstrapped(ses, data, 32768, log)
        holder["info_hash"] = info_hash
        port = ses.listen_port()
        for attempt in range(120):  # until libtorrent's announce_peer is stored in the btref DHT
            lookup = await servers[attempt % 30].lookup(info_hash, "get_peers")
            if ("127.0.0.1", port) in lookup.peers:
                break
            if attempt % 10 == 9:
                handle.force_dht_announce()
            log += [a.message() for a in ses.pop_alerts()]
            await asyncio.sleep(0.1)
        else:
            holder["error"] = f"libtorrent never announced into the btref DHT; alerts {log[-10:]}"
        holder["boot"] = "%s:%d" % servers[5].address
        ready.set()
        await holder["stop"].wait()
    finally:
        ready.set()
        close_session(ses)
        del ses
        close_all(servers)


def test_magnet_download_finds_a_libtorrent_seeder_through_the_dht(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}
    thread = threading.Thread(target=loop.run_until_complete,
                              args=(dht_with_a_libtorrent_seeder(seed_dir, holder, ready),))
    thread.start()
    try:
        assert ready.wait(120), "the DHT and the libtorrent seeder did not come up"
        assert "error" not in holder, holder.get("error")
        uri = Magnet(info_hash_v1=holder["info_hash"], name="dht-magnet.bin").to_uri()
        assert "x.pe" not in uri and "tr=" not in uri
        code = cli.main(["download", uri, "-o", str(tmp_path / "out"), "--host", "127.0.0.1",
                         "--timeout", "60", "--dht-bootstrap", holder["boot"]])
    finally:
        if "stop" in holder:
            loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(60)
        loop.close()
    out = capsys.readouterr().out
    assert code == 0, out
    assert (tmp_path / "out" / "dht-magnet.bin").read_bytes() == (seed_dir / "dht-magnet.bin").read_bytes()


async def libtorrent_downloads_from_btref_through_the_dht(tmp_path: Path) -> None:
    from btref import plugins
    from btref.io.create import create_torrent
    from btref.metainfo import parse
    from btref.net.driver import Client

    src = tmp_path / "src"
    src.mkdir()
    (src / "from-btref.bin").write_bytes(b"".join(hashlib.sha1(b"%d" % i).digest() for i in range(20_000)))
    torrent = parse(create_torrent(src / "from-btref.bin", version="v1", piece_length=32768))
    servers = await start_swarm(30)
    ses = lt_session(servers[0].address)
    try:
        boot = "%s:%d" % servers[3].address
        dht = plugins.create("discovery", "dht", bootstrap=[boot], host="127.0.0.1", query_timeout=1.0)
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(dht,)):
            log: list[str] = []
            await wait_bootstrapped(ses, log)
            uri = Magnet.from_torrent(torrent).to_uri()
            assert "x.pe" not in uri and "tr=" not in uri
            params = lt.parse_magnet_uri(uri)
            params.save_path = str(tmp_path / "lt")
            handle = ses.add_torrent(params)

            def finished() -> bool:
                log.extend(a.message() for a in ses.pop_alerts())
                return handle.status().is_seeding

            await until(finished, "libtorrent downloading from btref through the DHT", timeout=90,
                        details=lambda: f"state {handle.status().state}; last alerts {log[-10:]}")
    finally:
        close_session(ses)
        del ses
        close_all(servers)
    assert (tmp_path / "lt" / "from-btref.bin").read_bytes() == (src / "from-btref.bin").read_bytes()


def test_libtorrent_finds_a_btref_seeder_through_btref_nodes(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(libtorrent_downloads_from_btref_through_the_dht(tmp_path), 180))
