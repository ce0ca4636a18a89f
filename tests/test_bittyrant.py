"""The bittyrant choker (plugins/btref_chokers/bittyrant.py)."""

from __future__ import annotations

import random

import pytest
from btref_chokers.bittyrant import BitTyrant

from btref import plugins
from btref.errors import PluginError
from btref.views import peer_view, swarm_view


def view(key, *, interested=True, choking=True, down=0.0, up=0.0):
    return peer_view(key, 4, peer_interested=interested, peer_choking=choking, download_rate=down, upload_rate=up)


def rechoke(choker, views, now, *, seeding=False, seed=0):
    swarm = swarm_view(4, rng=random.Random(seed), now=now, seeding=seeding)
    return list(choker.btref_rechoke(swarm=swarm, peers=views, now=now))


def test_registered_by_name_and_validates():
    choker = plugins.create("chokers", "bittyrant", upload_budget=1e5, max_unchoked=8)
    assert isinstance(choker, BitTyrant) and choker.max_unchoked == 8 and choker.budget() == 1e5
    bad = [{"upload_budget": -1.0}, {"initial_rate": 0.0}, {"delta": -0.1}, {"gamma": 1.0}, {"rounds": 0},
           {"min_unchoked": 5, "max_unchoked": 4}, {"seed_slots": 20}, {"min_unchoked": -1}]
    for params in bad:
        with pytest.raises(PluginError):
            plugins.create("chokers", "bittyrant", **params)
    with pytest.raises(ValueError, match="must not exceed max_unchoked"):  # a rule between two parameters
        BitTyrant(min_unchoked=5, max_unchoked=4)


def test_budget_limits_the_active_set():
    views = [view(k) for k in range(50)]
    # every newcomer costs initial_rate (16 KiB/s): a 64 KiB/s budget pays for four
    assert len(rechoke(BitTyrant(upload_budget=65536.0), views, 0.0)) == 4
    assert len(rechoke(BitTyrant(upload_budget=1e9), views, 0.0)) == 16  # max_unchoked
    assert len(rechoke(BitTyrant(upload_budget=0.0), views, 0.0)) == 2  # min_unchoked


def test_measured_capacity_is_the_default_budget():
    choker = BitTyrant()
    assert choker.budget() == 0.0
    views = [view(k, up=16384.0) for k in range(3)] + [view(k) for k in range(3, 20)]
    assert len(rechoke(choker, views, 0.0)) == 3 and choker.budget() == 3 * 16384.0
    rechoke(choker, [view(k) for k in range(20)], 10.0)
    assert choker.budget() == 3 * 16384.0  # the highest total seen is kept


def test_best_ratio_first():
    choker = BitTyrant(upload_budget=3 * 16384.0, min_unchoked=0)
    choker.d.update({"rich": 80000.0, "fair": 16384.0, "poor": 1000.0})
    choker.u.update({"rich": 16384.0, "fair": 16384.0, "poor": 16384.0})
    views = [view("poor"), view("fair"), view("rich")]
    assert rechoke(choker, views, 0.0)[0] == "rich"
    assert rechoke(BitTyrant(upload_budget=16384.0, min_unchoked=0), views, 0.0) != []


def test_each_unchoked_peer_is_given_its_u_as_its_share():
    # BitTyrant sets each connection's upload rate to u[p]: the answer is {key: u[p]}.
    choker = BitTyrant(upload_budget=1e9, min_unchoked=0)
    choker.u.update({"a": 30000.0, "b": 10000.0})
    swarm = swarm_view(4, rng=random.Random(0), now=0.0)
    answer = choker.btref_rechoke(swarm=swarm, peers=[view("a"), view("b"), view("c")], now=0.0)
    assert answer == {"a": 30000.0, "b": 10000.0, "c": 16384.0}
    seed = swarm_view(4, rng=random.Random(0), now=0.0, seeding=True)
    assert isinstance(choker.btref_rechoke(swarm=seed, peers=[view("a")], now=0.0), list)  # a seed shares equally


def test_learns_download_rates_from_peers_that_unchoke_us():
    choker = BitTyrant(upload_budget=1e9)
    rechoke(choker, [view("a", choking=False, down=50000.0), view("b")], 0.0)
    assert choker.d == {"a": 50000.0}
    assert rechoke(choker, [view("a", choking=False, down=50000.0), view("b")], 10.0)[0] == "a"


def test_a_peer_that_does_not_reciprocate_costs_more_each_round():
    choker = BitTyrant(upload_budget=1e9)
    views = [view("stingy")]
    rechoke(choker, views, 0.0)
    for step in range(1, 4):
        rechoke(choker, views, 10.0 * step)
        assert choker.u["stingy"] == pytest.approx(16384.0 * 1.2**step)
        assert choker.streak["stingy"] == 0


def test_calls_between_rounds_rank_but_do_not_learn():
    # The engine also rechokes when interest changes (about once a second in a swarm);
    # the paper's estimates move once per 10 s round, so those calls must not count.
    choker = BitTyrant(upload_budget=1e9)
    views = [view("stingy")]
    rechoke(choker, views, 0.0)
    for now in (1.0, 2.5, 9.9):
        assert rechoke(choker, views, now) == ["stingy"]
    assert "stingy" not in choker.u  # no round has passed: still the prior
    rechoke(choker, views, 10.0)
    assert choker.u["stingy"] == pytest.approx(16384.0 * 1.2)
    # a peer unchoked in the middle of a round is not judged at its end
    rechoke(choker, views + [view("late")], 15.0)
    rechoke(choker, views + [view("late")], 20.0)
    assert "late" not in choker.u and choker.u["stingy"] == pytest.approx(16384.0 * 1.2**2)
    with pytest.raises(PluginError, match="out of range"):
        plugins.create("chokers", "bittyrant", round_length=-1.0)


def test_a_steady_reciprocator_is_offered_less_after_r_rounds():
    choker = BitTyrant(upload_budget=1e9, rounds=3)
    views = [view("friend", choking=False, down=20000.0)]
    rechoke(choker, views, 0.0)
    costs = []
    for step in range(1, 6):
        rechoke(choker, views, 10.0 * step)
        costs.append(choker.u.get("friend"))
    assert costs[:2] == [None, None]  # two rounds of reciprocation: no change yet
    assert costs[2] == pytest.approx(16384.0 * 0.9) and costs[4] == pytest.approx(16384.0 * 0.9**3)
    assert choker.streak["friend"] == 5


def test_ratio_ranking_drops_a_peer_that_stops_reciprocating():
    choker = BitTyrant(upload_budget=2 * 16384.0, min_unchoked=0)
    choker.unchoked = {"a", "b"}  # last round we gave to a and b; b does not give back
    views = [view("a", choking=False, down=16384.0), view("b", choking=True), view("c")]
    unchoked = rechoke(choker, views, 10.0)
    assert choker.u["b"] == pytest.approx(16384.0 * 1.2)
    assert sorted(unchoked) == ["a", "c"]  # b's ratio fell below 1: the budget goes to the others


def test_departed_peers_are_forgotten():
    choker = BitTyrant(upload_budget=1e9)
    rechoke(choker, [view("a", choking=False, down=1.0), view("b")], 0.0)
    rechoke(choker, [view("b")], 10.0)
    assert "a" not in choker.d and set(choker.u) == {"b"}


def test_seed_mode_serves_the_fastest_takers():
    views = [view(k, up=float(k)) for k in range(10)] + [view("bored", interested=False, up=1e9)]
    assert rechoke(BitTyrant(), views, 0.0, seeding=True) == [9, 8, 7, 6]


def test_deterministic_for_a_seed():
    def run():
        choker, out = BitTyrant(), []
        for step in range(20):
            views = [view(k, choking=(k + step) % 3 == 0, down=100.0 * k, up=50.0 * k) for k in range(25)]
            out.append(rechoke(choker, views, 10.0 * step, seed=step, seeding=step > 15))
        return out
    assert run() == run()


def test_a_simulated_swarm_completes_with_it():
    from btref.sim.scenarios import run

    _, metrics = run("walkthrough", choker="bittyrant", seed=1)
    assert metrics["summary"]["completed"] == metrics["summary"]["leechers"] == 3
