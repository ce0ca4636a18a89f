"""The seed-round-robin choker (plugins/btref_chokers/seed_round_robin.py)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from btref_chokers.seed_round_robin import SeedRoundRobin
from btref_chokers.tit_for_tat import TitForTat

from btref import plugins
from btref.errors import PluginError
from btref.views import peer_view, swarm_view


def peers(n, interested=True):
    return [peer_view(i, 4, peer_interested=interested, download_rate=float(i), upload_rate=float(100 * i),
                      connected_at=-1000.0) for i in range(n)]


def rechoke(choker, views, now, *, seeding=True, seed=0):
    swarm = swarm_view(4, rng=random.Random(seed), now=now, seeding=seeding)
    return list(choker.btref_rechoke(swarm=swarm, peers=views, now=now))


def test_registered_by_name_with_tit_for_tat_parameters():
    choker = plugins.create("chokers", "seed-round-robin", turn=20.0, regular_slots=2)
    assert isinstance(choker, SeedRoundRobin) and choker.turn == 20.0 and choker.max_unchoked == 3
    with pytest.raises(PluginError, match="turn=-1.0 is out of range"):
        plugins.create("chokers", "seed-round-robin", turn=-1.0)
    with pytest.raises(PluginError, match="regular_slots=-1 is out of range"):  # a TitForTat parameter
        plugins.create("chokers", "seed-round-robin", regular_slots=-1)


def test_leech_mode_is_tit_for_tat():
    views = peers(12)
    ours = [rechoke(SeedRoundRobin(), views, t, seeding=False, seed=t) for t in (0, 10, 20, 30)]
    choker, theirs = TitForTat(), []
    for t in (0, 10, 20, 30):
        theirs.append(rechoke(choker, views, t, seeding=False, seed=t))
    assert ours[0] == theirs[0] and ours[0][:3] == [11, 10, 9]


def test_seed_turns_last_and_then_rotate_to_the_least_served():
    views = peers(12)
    choker = SeedRoundRobin()  # 4 slots, 30 s turns
    first = rechoke(choker, views, 0.0)
    assert len(first) == 4
    assert rechoke(choker, views, 10.0, seed=1) == first  # a turn is kept
    assert rechoke(choker, views, 20.0, seed=2) == first
    second = rechoke(choker, views, 30.0, seed=3)  # turns over: the never-served get the slots
    assert not set(second) & set(first) and len(second) == 4
    third = rechoke(choker, views, 60.0, seed=4)
    assert not set(third) & (set(first) | set(second))
    fourth = rechoke(choker, views, 90.0, seed=5)
    assert len(fourth) == 4 and set(choker.served.values()) == {30.0}  # everyone had one 30 s turn


def test_every_peer_gets_the_same_time_over_many_rounds():
    views = peers(10)
    choker, turns = SeedRoundRobin(turn=20.0), Counter()
    for step in range(300):
        for key in rechoke(choker, views, 10.0 * step, seed=step):
            turns[key] += 1
    assert set(turns) == set(range(10))
    assert max(turns.values()) - min(turns.values()) <= 2


def test_fast_peers_do_not_keep_the_slots_while_seeding():
    views = peers(8)
    choker, seen = SeedRoundRobin(), set()
    for step in range(12):
        seen |= set(rechoke(choker, views, 10.0 * step, seed=step))
    assert seen == set(range(8))  # tit-for-tat's seed rule would keep 7, 6, 5 for ever


def test_lost_interest_and_departures_free_the_slot_at_once():
    views = peers(6)
    choker = SeedRoundRobin(regular_slots=1, optimistic_slots=1)
    first = rechoke(choker, views, 0.0)
    gone = first[0]
    bored = [peer_view(v.key, 4, peer_interested=v.key != gone) for v in views]
    second = rechoke(choker, bored, 10.0)
    assert gone not in second and first[1] in second and len(second) == 2
    remaining = [v for v in views if v.key not in second]
    third = rechoke(choker, remaining, 20.0)
    assert len(third) == 2 and not set(third) & set(second)
    assert set(choker.served) == {v.key for v in remaining}  # history of the departed is forgotten


def test_back_to_leech_mode_forgets_the_turns():
    views = peers(6)
    choker = SeedRoundRobin()
    rechoke(choker, views, 0.0)
    assert choker.turns
    rechoke(choker, views, 10.0, seeding=False)
    assert choker.turns == {} and choker.seeded_at is None
    assert rechoke(choker, [], 20.0) == [] and rechoke(choker, peers(3, interested=False), 30.0) == []


def test_deterministic_for_a_seed():
    views = peers(20)
    runs = [[rechoke(c, views, t, seed=t, seeding=t >= 60) for t in range(0, 300, 10)]
            for c in (SeedRoundRobin(), SeedRoundRobin())]
    assert runs[0] == runs[1]


def test_a_simulated_swarm_completes_with_it():
    from btref.sim.scenarios import run

    _, metrics = run("walkthrough", choker="seed-round-robin", seed=1)
    assert metrics["summary"]["completed"] == metrics["summary"]["leechers"] == 3
