"""The free-rider choker (plugins/btref_chokers/free_rider.py)."""

from __future__ import annotations

from btref_chokers.free_rider import FreeRider

from btref import plugins
from btref.strategy import peer_view, swarm_view


def test_never_unchokes_anybody():
    choker = plugins.create("chokers", "free-rider")
    assert isinstance(choker, FreeRider) and choker.max_unchoked == 0
    views = [peer_view(k, 4, peer_interested=True, download_rate=1e6, peer_choking=False) for k in range(50)]
    for seeding in (False, True):
        for now in (0.0, 10.0, 1e6):
            assert choker.btref_rechoke(swarm=swarm_view(4, seeding=seeding), peers=views, now=now) == []
