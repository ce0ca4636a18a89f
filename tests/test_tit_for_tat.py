"""The tit-for-tat choker (plugins/btref_chokers/tit_for_tat.py)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from btref_chokers.tit_for_tat import TitForTat
from hypothesis import given
from hypothesis import strategies as st

from btref import plugins
from btref.errors import PluginError
from btref.views import peer_view, swarm_view


def peers(n, **fields):
    return [peer_view(i, 4, peer_interested=True, download_rate=float(i), upload_rate=float(n - i),
                      connected_at=-1000.0, **fields) for i in range(n)]


def rechoke(choker, views, now, *, seeding=False, seed=0):
    swarm = swarm_view(4, rng=random.Random(seed), now=now, seeding=seeding)
    return list(choker.btref_rechoke(swarm=swarm, peers=views, now=now))


def test_registered_by_name_and_validates():
    choker = plugins.create("chokers", "tit-for-tat", regular_slots=2)
    assert isinstance(choker, TitForTat) and choker.max_unchoked == 3
    with pytest.raises(PluginError, match="new_peer_weight=0 is out of range"):
        plugins.create("chokers", "tit-for-tat", new_peer_weight=0)


def test_leech_mode_prefers_fast_uploaders_plus_one_optimistic():
    choker = TitForTat()
    unchoked = rechoke(choker, peers(10), 0.0)
    assert unchoked[:3] == [9, 8, 7]
    assert len(unchoked) == 4 and unchoked[3] not in (9, 8, 7)


def test_seed_mode_ranks_by_upload_rate():
    unchoked = rechoke(TitForTat(), peers(10), 0.0, seeding=True)
    assert unchoked[:3] == [0, 1, 2]


def test_only_interested_and_not_snubbed_peers_get_regular_slots():
    views = peers(6)
    views[5] = peer_view(5, 4, peer_interested=False, download_rate=100.0)
    views[4] = peer_view(4, 4, peer_interested=True, download_rate=99.0, snubbed=True)
    unchoked = rechoke(TitForTat(optimistic_slots=0), views, 0.0)
    assert unchoked == [3, 2, 1]


def test_optimistic_unchoke_rotates_every_interval():
    choker = TitForTat(regular_slots=0)
    views = peers(20)
    first = rechoke(choker, views, 0.0, seed=1)
    assert rechoke(choker, views, 10.0, seed=2) == first  # kept between rotations
    assert rechoke(choker, views, 20.0, seed=3) == first
    picks = {rechoke(choker, views, t, seed=t)[0] for t in range(30, 600, 30)}
    assert len(picks) > 3
    # a vanished optimistic peer is replaced at once
    remaining = [v for v in views if v.key != first[0]]
    assert rechoke(choker, remaining, 31.0 + 600, seed=4) != first


def test_rotation_is_due_on_a_clock_that_sums_floats():
    """A driver's clock adds float steps: three 10 s rounds after a rotation at
    30.000000000000004 may read 59.99999999999999, and the rotation is still due."""
    now, later = 30.000000000000004, 59.99999999999999
    assert later - now < 30.0  # the drift this test is about
    picked = set()
    for seed in range(20):  # a rotation draws anew, so some seed picks someone else
        choker = TitForTat(regular_slots=0)
        views = peers(20)
        first = rechoke(choker, views, now, seed=seed)
        picked.add(rechoke(choker, views, later, seed=seed + 100) != first)
    assert True in picked


def test_new_peers_are_three_times_as_likely():
    views = [peer_view("old", 4, peer_interested=True, connected_at=0.0),
             peer_view("new", 4, peer_interested=True, connected_at=990.0)]
    wins = Counter()
    for seed in range(2000):
        wins[rechoke(TitForTat(regular_slots=0), views, 1000.0, seed=seed)[0]] += 1
    assert 2.4 < wins["new"] / wins["old"] < 3.8


def test_deterministic_for_a_seed():
    views = peers(30)
    runs = [[rechoke(c, views, t, seed=t) for t in range(0, 120, 10)] for c in (TitForTat(), TitForTat())]
    assert runs[0] == runs[1]


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1e6), st.booleans()), max_size=30), st.booleans(), st.integers())
def test_property_regular_slots_go_to_the_best_rates(specs, seeding, seed):
    views = [peer_view(i, 4, peer_interested=interested, download_rate=rate, upload_rate=rate, snubbed=snubbed)
             for i, (interested, rate, snubbed) in enumerate(specs)]
    choker = TitForTat()
    unchoked = rechoke(choker, views, 0.0, seeding=seeding, seed=seed)
    eligible = sorted((v.download_rate for v in views if v.peer_interested and not v.snubbed), reverse=True)
    regular = unchoked[: min(3, len(eligible))]
    assert sorted((views[k].download_rate for k in regular), reverse=True) == eligible[:3]
    assert len(unchoked) <= choker.max_unchoked
    assert all(views[k].peer_interested for k in unchoked)
