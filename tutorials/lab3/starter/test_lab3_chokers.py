"""Quick checks while you work: run `pytest` in this folder. The grader
(`btref lab grade 3 .`) has more: the chokers conformance suite on all three classes,
and the behaviour the lab asks for."""

import random
from collections.abc import Mapping

from btref.views import PeerView, peer_view, swarm_view

from lab3_chokers import Answer, MiniPropShare, Top4, Top4Optimistic

N = 16  # pieces


def peers(*rates: float, interested: bool = True) -> list[PeerView]:
    return [peer_view(f"p{i}", N, peer_interested=interested, download_rate=rate) for i, rate in enumerate(rates)]


def ask(choker: Top4, peer_list: list[PeerView], now: float = 0.0, seed: int = 0) -> Answer:
    swarm = swarm_view(N, rng=random.Random(seed), now=now, seeding=False)
    return choker.btref_rechoke(swarm=swarm, peers=peer_list, now=now)


def test_top4_picks_the_fastest_interested_peers() -> None:
    assert set(ask(Top4(), peers(10, 50, 20, 40, 30, 0))) == {"p1", "p2", "p3", "p4"}


def test_top4_ignores_peers_that_are_not_interested() -> None:
    assert list(ask(Top4(), peers(10, 20, interested=False))) == []


def test_top4_optimistic_adds_one_more_peer() -> None:
    answer = list(ask(Top4Optimistic(), peers(10, 50, 20, 40, 30, 0, 0)))
    assert len(answer) == 5 and {"p1", "p2", "p3", "p4"} <= set(answer)


def test_mini_propshare_shares_follow_the_rates() -> None:
    answer = ask(MiniPropShare(), peers(10, 50, 20, 40, 30))
    assert isinstance(answer, Mapping) and answer["p1"] / answer["p3"] == 50 / 40
