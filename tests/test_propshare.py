"""The propshare choker (plugins/btref_chokers/propshare.py)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from btref_chokers.propshare import PropShare

from btref import plugins
from btref.errors import PluginError
from btref.views import peer_view, swarm_view


def view(key, given, interested=True):
    return peer_view(key, 4, peer_interested=interested, bytes_downloaded=given)


def rechoke(choker, views, now, *, seeding=False, seed=0):
    swarm = swarm_view(4, rng=random.Random(seed), now=now, seeding=seeding)
    return list(choker.btref_rechoke(swarm=swarm, peers=views, now=now))


def test_registered_by_name_and_validates():
    choker = plugins.create("chokers", "propshare", slots=5, optimistic_fraction=0.4)
    assert isinstance(choker, PropShare) and choker.max_unchoked == 5 and choker.optimistic_slots == 2
    assert PropShare().optimistic_slots == 1  # 20% of 4 slots rounds to 1, never to 0
    assert PropShare(optimistic_fraction=0.0).optimistic_slots == 0
    assert PropShare(slots=0).optimistic_slots == 0
    for bad in ({"slots": -1}, {"optimistic_fraction": 1.5}, {"optimistic_fraction": -0.1}):
        with pytest.raises(PluginError, match="out of range"):
            plugins.create("chokers", "propshare", **bad)


def test_contributors_win_the_proportional_slots():
    views = [view("a", 1000), view("b", 2000), view("c", 3000)] + [view(k, 0) for k in range(20)]
    unchoked = rechoke(PropShare(), views, 10.0)
    assert len(unchoked) == 4 and set(unchoked[:3]) == {"a", "b", "c"}
    assert unchoked[3] in range(20)  # the optimistic slot goes to someone who gave nothing


def test_contribution_is_per_round_not_since_connected():
    choker = PropShare(slots=1, optimistic_fraction=0.0)
    assert rechoke(choker, [view("old", 10**9), view("new", 0)], 0.0) == ["old"]
    # "old" gave nothing since: its past does not buy this round's slot
    assert rechoke(choker, [view("old", 10**9), view("new", 5)], 10.0) == ["new"]
    assert choker.seen == {"old": 10**9, "new": 5}


def test_upload_is_shared_in_proportion_to_contribution():
    # Levin et al.: last round's contributors split our upload in proportion to their gifts,
    # and the optimistic part (20%) goes to a random peer that gave nothing.
    views = [view("x", 1000), view("y", 3000), view("z", 0)]
    swarm = swarm_view(4, rng=random.Random(0), now=0.0)
    shares = PropShare(slots=3, optimistic_fraction=0.2).btref_rechoke(swarm=swarm, peers=views, now=0.0)
    assert shares == pytest.approx({"y": 0.6, "x": 0.2, "z": 0.2})
    assert list(shares) == ["y", "x", "z"]  # biggest contributor first


def test_without_an_optimistic_part_unearned_slots_get_the_smallest_share():
    swarm = swarm_view(4, rng=random.Random(0), now=0.0)
    shares = PropShare(slots=3, optimistic_fraction=0.0).btref_rechoke(
        swarm=swarm, peers=[view("x", 1000), view("y", 3000), view("z", 0)], now=0.0)
    assert shares == pytest.approx({"y": 0.75, "x": 0.25, "z": 0.25})


def test_the_biggest_contributors_earn_the_slots():
    views = [view(k, 1000 * (k + 1)) for k in range(10)]
    unchoked = rechoke(PropShare(slots=4, optimistic_fraction=0.2), views, 0.0)
    assert unchoked[:3] == [9, 8, 7] and unchoked[3] in range(7)


def test_unearned_slots_become_optimistic_and_uninterested_peers_are_skipped():
    views = [view("giver", 500, interested=False), view("a", 0), view("b", 0)]
    assert sorted(rechoke(PropShare(), views, 0.0)) == ["a", "b"]
    assert rechoke(PropShare(), [], 0.0) == []


def test_calls_between_rounds_keep_the_rounds_measure_and_optimistic_peers():
    choker = PropShare(slots=3, optimistic_fraction=0.2)
    views = [view("x", 1000), view("y", 3000)] + [view(k, 0) for k in range(10)]
    first = rechoke(choker, views, 0.0, seed=1)
    # 0.5 s later (a peer became interested): same measure, same optimistic peer, no churn
    views = [view("x", 1000), view("y", 9000)] + [view(k, 0) for k in range(10)] + [view("new", 0)]
    assert rechoke(choker, views, 0.5, seed=2) == first
    # the optimistic peer lost interest mid-round: only its slot is drawn again
    lost = first[2]
    views = [view(k, 0, interested=k != lost) if k not in ("x", "y") else v for k, v in
             [(v.key, v) for v in views]]
    again = rechoke(choker, views, 1.0, seed=3)
    assert again[:2] == first[:2] and again[2] != lost
    # the next round measures what was given since the last one: y gave 6000 more, x nothing
    assert rechoke(choker, views, 10.0, seed=4)[0] == "y" and choker.given["x"] == 0
    with pytest.raises(PluginError, match="out of range"):
        plugins.create("chokers", "propshare", round_length=-1.0)


def test_a_reconnected_peer_does_not_count_negative():
    choker = PropShare(slots=1, optimistic_fraction=0.0)
    rechoke(choker, [view("p", 5000)], 0.0)
    assert rechoke(choker, [view("p", 100), view("q", 0)], 10.0) == ["p"]  # counter reset: 100 new bytes


def test_seed_mode_is_a_random_rotation():
    views = [view(k, 0) for k in range(12)]
    choker, seen = PropShare(), set()
    for step in range(30):
        unchoked = rechoke(choker, views, 10.0 * step, seeding=True, seed=step)
        assert len(unchoked) == 4
        seen |= set(unchoked)
    assert seen == set(range(12))


def test_deterministic_for_a_seed():
    def run():
        choker, out = PropShare(), []
        for step in range(20):
            views = [view(k, step * k * 100) for k in range(15)]
            out.append(rechoke(choker, views, 10.0 * step, seed=step))
        return out
    assert run() == run()


def test_a_simulated_swarm_completes_with_it():
    from btref.sim.scenarios import run

    _, metrics = run("walkthrough", choker="propshare", seed=1)
    assert metrics["summary"]["completed"] == metrics["summary"]["leechers"] == 3


def test_in_a_swarm_the_shares_reach_the_simulated_uplink():
    # The real path: plugin answer -> engine (UploadShares) -> swarm -> network.set_shares.
    from btref.sim import scenarios
    from btref.sim.swarm import Swarm
    from btref.sim.virtual import virtual_torrent

    setup = scenarios.get("flash-crowd").build(scenarios.Params(12, 40, "rarest-first", "propshare", 0))
    swarm = Swarm(virtual_torrent(40, setup.piece_length), setup.specs, seed=0, **setup.options)
    given = []
    set_shares = swarm.network.set_shares
    swarm.network.set_shares = lambda name, shares: (given.append(shares), set_shares(name, shares))
    swarm.run(until=setup.until)
    assert swarm.done
    unequal = [s for s in given if len(set(s.values())) > 1]
    assert unequal, "no propshare peer ever split its upload unequally"
    # the contributors' part (0.8) plus the optimistic part (0.2) when an optimistic peer was found
    assert all(0.8 - 1e-9 <= sum(s.values()) <= 1.0 + 1e-9 for s in unequal)
    assert {} in given  # a peer that completes rechokes in seed mode: equal shares again
