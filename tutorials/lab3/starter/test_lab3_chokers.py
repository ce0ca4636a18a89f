"""Quick checks while you work: run `pytest` in this folder. The grader
(`btref lab grade 3 .`) has more: the chokers conformance suite on all three classes,
and the behaviour the lab asks for."""

import random

from btref.views import peer_view, swarm_view

from lab3_chokers import MiniPropShare, Top4, Top4Optimistic

N = 16  # pieces


def peers(*rates, interested=True):
    return [peer_view(f"p{i}", N, peer_interested=interested, download_rate=rate) for i, rate in enumerate(rates)]


def ask(choker, peer_list, now=0.0, seed=0):
    swarm = swarm_view(N, rng=random.Random(seed), now=now, seeding=False)
    return choker.btref_rechoke(swarm=swarm, peers=peer_list, now=now)


def test_top4_picks_the_fastest_interested_peers():
    assert sorted(ask(Top4(), peers(10, 50, 20, 40, 30, 0))) == ["p1", "p2", "p3", "p4"]


def test_top4_ignores_peers_that_are_not_interested():
    assert list(ask(Top4(), peers(10, 20, interested=False))) == []


def test_top4_optimistic_adds_one_more_peer():
    answer = list(ask(Top4Optimistic(), peers(10, 50, 20, 40, 30, 0, 0)))
    assert len(answer) == 5 and {"p1", "p2", "p3", "p4"} <= set(answer)


def test_mini_propshare_shares_follow_the_rates():
    answer = ask(MiniPropShare(), peers(10, 50, 20, 40, 30))
    assert answer["p1"] / answer["p3"] == 50 / 40
