"""The free-rider choker (plugins/btref_chokers/free_rider.py)."""

from __future__ import annotations

from btref_chokers.free_rider import FreeRider

from btref import plugins
from btref.views import peer_view, swarm_view


def test_never_unchokes_anybody():
    choker = plugins.create("chokers", "free-rider")
    assert isinstance(choker, FreeRider) and choker.max_unchoked == 0
    views = [peer_view(k, 4, peer_interested=True, download_rate=1e6, peer_choking=False) for k in range(50)]
    for seeding in (False, True):
        for now in (0.0, 10.0, 1e6):
            assert choker.btref_rechoke(swarm=swarm_view(4, seeding=seeding), peers=views, now=now) == []


def test_in_a_simulated_swarm_it_downloads_and_never_uploads():
    from btref.download import BLOCK
    from btref.sim.swarm import PeerSpec, Swarm
    from btref.sim.virtual import virtual_torrent

    specs = [PeerSpec("S", upload=BLOCK, download=4 * BLOCK, seed=True),
             PeerSpec("A", upload=BLOCK, download=4 * BLOCK), PeerSpec("B", upload=BLOCK, download=4 * BLOCK),
             PeerSpec("F", upload=BLOCK, download=4 * BLOCK, choker="free-rider")]
    swarm = Swarm(virtual_torrent(8, BLOCK, name="riders"), specs, seed=1, latency=0.001)
    swarm.run(until=600.0)
    rider = swarm.by_name("F")
    assert swarm.done and rider.completed_at is not None and rider.bytes_up == 0
    assert swarm.by_name("A").bytes_up > 0
