"""The unchoke-all choker (plugins/btref_chokers/unchoke_all.py)."""

from __future__ import annotations

import random

from btref_chokers.unchoke_all import UnchokeAll

from btref import plugins
from btref.views import peer_view, swarm_view


def test_unchokes_every_interested_peer_in_both_modes():
    choker = plugins.create("chokers", "unchoke-all")
    assert isinstance(choker, UnchokeAll) and not hasattr(choker, "max_unchoked")
    views = [peer_view(k, 4, peer_interested=k % 3 != 0, download_rate=float(k)) for k in range(200)]
    for seeding in (False, True):
        swarm = swarm_view(4, rng=random.Random(0), seeding=seeding)
        assert choker.btref_rechoke(swarm=swarm, peers=views, now=0.0) == [k for k in range(200) if k % 3]
    assert choker.btref_rechoke(swarm=swarm_view(4), peers=[], now=0.0) == []


def test_a_simulated_swarm_completes_with_it():
    from btref.sim.scenarios import run

    _, metrics = run("walkthrough", choker="unchoke-all", seed=1)
    assert metrics["summary"]["completed"] == metrics["summary"]["leechers"] == 3
