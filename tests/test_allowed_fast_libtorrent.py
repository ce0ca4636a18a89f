"""BEP 6 allowed fast against libtorrent on loopback, both ways.

A seed that chokes everybody still serves each peer its allowed fast set: a btref seed
whose choker unchokes nobody lets libtorrent download the pieces of the canonical set for
127.0.0.1 (and nothing else); a libtorrent seed with no unchoke slots
(``unchoke_slots_limit`` 0) lets btref download the pieces libtorrent grants it. Waits are
bounded polls that fail with libtorrent's recent alerts; every session is stopped by the
test that started it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from btref.allowed_fast import allowed_fast_set
from btref.hookspecs import hookimpl
from btref.net.driver import Client
from btref.views import PeerView, SwarmView
from tests.ltsession import LT
from tests.test_driver import make_torrent, run

lt = pytest.importorskip("libtorrent")

pytestmark = pytest.mark.interop


class ChokeEveryone:
    """A choker that unchokes nobody: only allowed fast pieces can flow."""

    family = "chokers"
    name = "choke-everyone"

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[object]:
        return []


def test_libtorrent_downloads_its_allowed_fast_pieces_from_a_choking_btref_seed(tmp_path: Path) -> None:
    lts = LT()

    async def scenario() -> None:
        data, torrent, src = make_torrent(tmp_path)
        granted = allowed_fast_set("127.0.0.1", torrent.info_hash, torrent.num_pieces, 5)
        async with Client(torrent, src, host="127.0.0.1", seed=True, choker=ChokeEveryone()) as seeder:
            await seeder.complete.wait()
            handle = lts.add(data, tmp_path / "dst")
            handle.connect_peer(("127.0.0.1", seeder.port))
            await lts.wait(lambda: all(handle.have_piece(i) for i in granted), "the allowed fast pieces")
            await asyncio.sleep(0.5)  # room for a wrong extra piece to show up (not a timing assertion)
            have = {i for i in range(torrent.num_pieces) if handle.have_piece(i)}
            assert have == set(granted)
            assert seeder.uploaded == sum(torrent.piece_size(i) for i in granted)

    try:
        run(scenario(), 120)
    finally:
        lts.close()


def test_btref_downloads_the_allowed_fast_pieces_of_a_choking_libtorrent_seed(tmp_path: Path) -> None:
    lts = LT(unchoke_slots_limit=0)
    # libtorrent's "local" peer class ignores the unchoke slots (every peer here is local):
    # make it count them, so the seed really chokes btref.
    local = lts.session.get_peer_class(lt.session.local_peer_class_id)
    local["ignore_unchoke_slots"] = False
    lts.session.set_peer_class(lt.session.local_peer_class_id, local)

    async def scenario() -> None:
        data, torrent, src = make_torrent(tmp_path)
        handle = lts.add(data, src)
        await lts.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")
        async with Client(torrent, tmp_path / "dst", host="127.0.0.1", peers=[f"127.0.0.1:{lts.port}"]) as leech:
            task = asyncio.create_task(leech.run())
            try:
                def granted() -> set[int]:
                    engine = leech.engine
                    return {i for p in engine.peers.values() for i in p.allowed_fast} if engine else set()

                def all_granted_on_disk() -> bool:
                    on_disk = leech.pieces_on_disk
                    return len(granted()) == 5 and on_disk is not None and all(on_disk[i] for i in granted())

                await lts.wait(all_granted_on_disk, "btref downloading its allowed fast pieces")
                engine = leech.engine
                assert engine is not None
                assert all(p.peer_choking for p in engine.peers.values()), "libtorrent unchoked btref"
                assert set(engine.have) == granted()
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    try:
        run(scenario(), 120)
    finally:
        lts.close()
