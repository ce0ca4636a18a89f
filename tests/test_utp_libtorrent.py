"""btref and libtorrent swap a torrent over uTP only (BEP 29), both ways, on loopback.

libtorrent is set to refuse TCP both ways, so the bytes can only travel over uTP; the
downloaded files are compared byte for byte. btref listens for uTP on the UDP port of the
same number as its TCP port, as libtorrent does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from btref.net.driver import Client
from tests.ltsession import LT
from tests.test_driver import make_torrent, run, same_tree

lt = pytest.importorskip("libtorrent")

pytestmark = pytest.mark.interop

#: The issue's target size: long enough for LEDBAT's window, loss recovery and reassembly to matter.
SIZE = 64 << 20
UTP_ONLY = {"enable_outgoing_tcp": False, "enable_incoming_tcp": False,
            "enable_outgoing_utp": True, "enable_incoming_utp": True}


@pytest.fixture
def utp_libtorrent() -> Iterator[LT]:
    session = LT(**UTP_ONLY)
    try:
        yield session
    finally:
        session.close()


def test_btref_downloads_from_libtorrent_over_utp(tmp_path: Path, utp_libtorrent: LT) -> None:
    async def scenario() -> None:
        data, torrent, src = make_torrent(tmp_path, piece_length=1 << 20, files={"big.bin": SIZE})
        handle = utp_libtorrent.add(data, src)
        await utp_libtorrent.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")
        async with Client(torrent, tmp_path / "dst", host="127.0.0.1", transport="utp",
                          peers=[f"127.0.0.1:{utp_libtorrent.port}"]) as leech:
            async with asyncio.timeout(90):
                ok = await leech.run()
            assert ok, f"btref did not finish: {leech.error}; {utp_libtorrent.recent()}"
        assert same_tree(src, tmp_path / "dst")

    run(scenario(), 120)


def test_libtorrent_downloads_from_btref_over_utp(tmp_path: Path, utp_libtorrent: LT) -> None:
    async def scenario() -> None:
        data, torrent, src = make_torrent(tmp_path, piece_length=1 << 20, files={"big.bin": SIZE})
        async with Client(torrent, src, host="127.0.0.1", seed=True, transport="utp") as seeder:
            await seeder.complete.wait()
            handle = utp_libtorrent.add(data, tmp_path / "dst")
            handle.connect_peer(("127.0.0.1", seeder.port))
            await utp_libtorrent.wait(lambda: handle.status().is_seeding, "download from btref over uTP", 90)
            assert seeder.uploaded >= torrent.total_length
        assert same_tree(src, tmp_path / "dst")

    run(scenario(), 120)


def test_btref_to_btref_over_utp(tmp_path: Path) -> None:
    async def scenario() -> None:
        _, torrent, src = make_torrent(tmp_path, piece_length=1 << 18, files={"big.bin": 2 << 20})
        async with Client(torrent, src, host="127.0.0.1", seed=True, transport="utp") as seeder:
            await seeder.complete.wait()
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", transport="utp",
                              peers=[f"127.0.0.1:{seeder.port}"]) as leech:
                async with asyncio.timeout(60):
                    assert await leech.run(), leech.error
                assert leech.network._utp is not None and leech.network._utp._connections  # it did go over uTP
        assert same_tree(src, tmp_path / "dst")

    run(scenario(), 90)
