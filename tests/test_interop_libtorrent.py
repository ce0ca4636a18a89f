"""btref and libtorrent swap real data over loopback TCP, both ways, v1, hybrid and v2.

Every scenario is run with direct peers (``--peer`` / ``handle.connect_peer``) and through
btref's reference tracker (libtorrent announces to it and finds btref there, and the other
way round). Results are compared byte for byte. Waits are bounded polls that fail with
libtorrent's recent alerts in the message; every session, server and task is stopped by
the test that started it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from btref.net.driver import Client
from btref.net.tracker_server import serve_tracker
from tests.ltsession import LT
from tests.test_driver import make_torrent, run, same_tree

lt = pytest.importorskip("libtorrent")

pytestmark = pytest.mark.interop

VERSIONS = ["v1", "hybrid", "v2"]


@pytest.fixture
def libtorrent_session() -> Iterator[LT]:
    session = LT()
    try:
        yield session
    finally:
        session.close()


async def _complete(leech: Client, lt_side: LT) -> None:
    """Wait for btref's download; on failure, say why (btref's error and lt's alerts)."""
    try:
        async with asyncio.timeout(60):
            ok = await leech.run()
    except TimeoutError:
        ok = False
    if not ok:
        lt_side.collect()
        pytest.fail(f"btref did not finish: {leech.error}; stats {leech.stats()}; libtorrent alerts:\n  "
                    + "\n  ".join(lt_side.alerts[-25:]))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("via", ["peer", "tracker"])
def test_btref_downloads_from_libtorrent(tmp_path: Path, libtorrent_session: LT, version: str, via: str) -> None:
    lts = libtorrent_session

    async def scenario() -> None:
        async with serve_tracker(interval=2, udp_port=None) as tracker:
            trackers = (tracker.http_url,) if via == "tracker" else ()
            data, torrent, src = make_torrent(tmp_path, version, trackers=trackers)
            handle = lts.add(data, src)
            await lts.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")
            if via == "tracker":  # libtorrent announced itself: btref will find it there
                await lts.wait(lambda: tracker.state.peers(torrent.info_hash), "announce to btref's tracker")
            peers = [f"127.0.0.1:{lts.port}"] if via == "peer" else []
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", peers=peers) as leech:
                await _complete(leech, lts)
            assert same_tree(src, tmp_path / "dst")

    run(scenario(), 120)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("via", ["peer", "tracker"])
def test_libtorrent_downloads_from_btref(tmp_path: Path, libtorrent_session: LT, version: str, via: str) -> None:
    lts = libtorrent_session

    async def scenario() -> None:
        async with serve_tracker(interval=2, udp_port=None) as tracker:
            trackers = (tracker.http_url,) if via == "tracker" else ()
            data, torrent, src = make_torrent(tmp_path, version, trackers=trackers)
            async with Client(torrent, src, host="127.0.0.1", seed=True) as seeder:
                await seeder.complete.wait()
                handle = lts.add(data, tmp_path / "dst")
                if via == "peer":
                    handle.connect_peer(("127.0.0.1", seeder.port))
                # Through the tracker, libtorrent learns btref's address from the announce alone.
                await lts.wait(lambda: handle.status().is_seeding, "download from btref")
                assert seeder.uploaded >= torrent.total_length
                # libtorrent says "seeding" once every piece is hashed; its disk thread may still be
                # writing the last ones, so wait for the copy rather than read it at once.
                await lts.wait(lambda: same_tree(src, tmp_path / "dst"), "write out what it downloaded")

    run(scenario(), 120)


def test_btref_leecher_and_libtorrent_leecher_share(tmp_path: Path, libtorrent_session: LT) -> None:
    """A btref seed, a libtorrent leecher and a btref leecher in one swarm via the tracker."""
    lts = libtorrent_session

    async def scenario() -> None:
        async with serve_tracker(interval=2, udp_port=None) as tracker:
            data, torrent, src = make_torrent(tmp_path, "hybrid", trackers=(tracker.http_url,))
            async with Client(torrent, src, host="127.0.0.1", seed=True) as seeder:
                await seeder.complete.wait()
                handle = lts.add(data, tmp_path / "lt")
                async with Client(torrent, tmp_path / "bt", host="127.0.0.1") as leech:
                    await _complete(leech, lts)
                await lts.wait(lambda: handle.status().is_seeding, "download in a mixed swarm")
                await lts.wait(lambda: same_tree(src, tmp_path / "lt"), "write out what it downloaded")
        assert same_tree(src, tmp_path / "bt")

    run(scenario(), 120)
