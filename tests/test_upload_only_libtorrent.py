"""BEP 21 upload-only against libtorrent on loopback.

A btref seed closes its connection to a libtorrent seed (which says ``upload_only`` in its
extension handshake), with libtorrent's own ``close_redundant_connections`` turned off so
that the closing is btref's; and a btref leecher, with the default config, hangs up on the
libtorrent seed it downloaded from once it has every piece (the driver's default). (What btref itself says is checked over a socket in
``tests/test_upload_only.py``: libtorrent marks a peer that has every piece upload-only
whatever its handshake says, so it cannot tell.) Waits are bounded polls; every session
is stopped by the test that started it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btref.actions import Config
from btref.net.driver import Client
from tests.ltsession import LT
from tests.test_driver import make_torrent, run, same_tree

lt = pytest.importorskip("libtorrent")

pytestmark = pytest.mark.interop


def test_a_btref_seed_closes_its_connection_to_a_libtorrent_seed(tmp_path: Path) -> None:
    lts = LT(close_redundant_connections=False)

    async def scenario() -> None:
        data, torrent, src = make_torrent(tmp_path)
        handle = lts.add(data, src)
        await lts.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")
        events = tmp_path / "events.jsonl"
        config = Config(refill_fraction=0.25, slow_start=True, close_redundant=True)
        async with Client(torrent, src, host="127.0.0.1", seed=True, events=events, config=config,
                          peers=[f"127.0.0.1:{lts.port}"]) as seeder:
            def closed_by_btref() -> bool:
                lines = events.read_text().splitlines() if events.exists() else []
                return any(json.loads(line).get("event") == "peer_disconnected"
                           and "BEP 21" in json.loads(line).get("reason", "") for line in lines)

            await lts.wait(closed_by_btref, "btref closing a seed-to-seed connection")
            assert seeder.engine is not None and not seeder.engine.peers

    try:
        run(scenario(), 120)
    finally:
        lts.close()


def test_a_btref_leecher_hangs_up_on_its_libtorrent_seed_once_complete(tmp_path: Path) -> None:
    lts = LT()

    async def scenario() -> None:
        data, torrent, src = make_torrent(tmp_path)
        handle = lts.add(data, src)
        await lts.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")
        events = tmp_path / "events.jsonl"
        async with Client(torrent, tmp_path / "dst", host="127.0.0.1", events=events,
                          peers=[f"127.0.0.1:{lts.port}"]) as leech:
            assert await leech.run()
            await lts.wait(lambda: not handle.get_peer_info(), "the seed-to-seed connection closing")
            assert leech.engine is not None and not leech.engine.peers
        reasons = [json.loads(line).get("reason", "") for line in events.read_text().splitlines()
                   if json.loads(line).get("event") == "peer_disconnected"]
        assert reasons and "BEP 21" in reasons[0]

    try:
        run(scenario(), 120)
    finally:
        lts.close()
    assert same_tree(tmp_path / "src", tmp_path / "dst")
