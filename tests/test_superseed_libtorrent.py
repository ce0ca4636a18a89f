"""Super-seeding (BEP 16) against libtorrent on loopback, both ways.

A btref super-seed feeds two libtorrent leechers that also know each other: both finish
byte-exact, though the seed showed each of them one piece at a time. And a libtorrent seed
with its ``super_seeding`` flag feeds a btref leecher to the last byte. Waits are bounded
polls that fail with libtorrent's recent alerts; every session is stopped by the test that
started it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from btref.actions import Config
from btref.net.driver import Client
from tests.ltsession import LT
from tests.test_driver import make_torrent, run, same_tree

lt = pytest.importorskip("libtorrent")

pytestmark = pytest.mark.interop


def test_a_btref_super_seed_feeds_two_libtorrent_leechers(tmp_path: Path) -> None:
    a, b = LT(), LT()

    async def scenario() -> int:
        data, torrent, src = make_torrent(tmp_path)
        config = Config(refill_fraction=0.25, slow_start=True, super_seed=True)
        async with Client(torrent, src, host="127.0.0.1", seed=True, config=config) as seeder:
            await seeder.complete.wait()
            handles = [a.add(data, tmp_path / "a"), b.add(data, tmp_path / "b")]
            for lts, handle in zip((a, b), handles):  # a torrent still checking its files refuses peers
                await lts.wait(lambda: handle.status().state == lt.torrent_status.downloading, "the check")
            for handle in handles:
                handle.connect_peer(("127.0.0.1", seeder.port))
            # Each dials the other: the leechers must trade, or no offered piece ever passes on.
            handles[0].connect_peer(("127.0.0.1", b.port))
            handles[1].connect_peer(("127.0.0.1", a.port))
            await a.wait(lambda: handles[0].status().is_seeding, "leecher a finishing")
            await b.wait(lambda: handles[1].status().is_seeding, "leecher b finishing")
            assert seeder.engine is not None and seeder.engine.superseed is not None
            return seeder.uploaded

    try:
        uploaded = run(scenario(), 120)
    finally:
        a.close()
        b.close()
    src = tmp_path / "src"
    assert same_tree(src, tmp_path / "a") and same_tree(src, tmp_path / "b")
    print(f"the btref super-seed uploaded {uploaded / sum(f.stat().st_size for f in src.rglob('*') if f.is_file()):.2f}"
          " times the torrent")


def test_a_libtorrent_super_seed_feeds_btref(tmp_path: Path) -> None:
    lts = LT()

    async def scenario() -> None:
        data, torrent, src = make_torrent(tmp_path)
        handle = lts.add(data, src)
        await lts.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")
        handle.set_flags(lt.torrent_flags.super_seeding)
        assert handle.flags() & lt.torrent_flags.super_seeding
        async with Client(torrent, tmp_path / "dst", host="127.0.0.1", peers=[f"127.0.0.1:{lts.port}"]) as leech:
            assert await leech.run()

    try:
        run(scenario(), 120)
    finally:
        lts.close()
    assert same_tree(tmp_path / "src", tmp_path / "dst")
