"""BEP 21 upload-only against libtorrent on loopback.

A btref seed closes its connection to a libtorrent seed (which says ``upload_only`` in its
extension handshake), with libtorrent's own ``close_redundant_connections`` turned off so
that the closing is btref's. (What btref itself says is checked over a socket in
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
from tests.test_driver import make_torrent, run

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
