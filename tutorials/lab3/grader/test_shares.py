"""Version (c), ``MiniPropShare``: Top4Optimistic's peers, our upload split in proportion
to what each sends us (Levin et al. 2008, "BitTorrent is an Auction"); the hook's
mapping answer ``{key: share}``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import ModuleType

from lab3_grading import Asker, keys, peers

RATES = [50.0, 40.0, 30.0, 20.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_same_peers_as_top4_optimistic(lab: ModuleType) -> None:
    """MiniPropShare unchokes exactly the peers Top4Optimistic unchokes, call after call, for the same swarm.rng seed"""
    for seed in range(5):
        mine, theirs = Asker(lab.MiniPropShare(), seed=seed), Asker(lab.Top4Optimistic(), seed=seed)
        for now in range(0, 120, 10):
            got, expected = set(keys(mine(peers(*RATES), float(now)))), set(keys(theirs(peers(*RATES), float(now))))
            assert got == expected, f"at {now} s (rng seed {seed}) MiniPropShare unchoked {sorted(got)}, " \
                                    f"Top4Optimistic {sorted(expected)}"


def test_shares_follow_the_rates(lab: ModuleType) -> None:
    """shares are proportional to download_rate; a peer that sends nothing gets the smallest share earned"""
    for seed in range(8):
        answer = Asker(lab.MiniPropShare(), seed=seed)(peers(*RATES), 0.0)
        assert isinstance(answer, Mapping), f"MiniPropShare returned {type(answer).__name__}; return {{key: share}}"
        rate = {f"p{i}": r for i, r in enumerate(RATES)}
        earned = {k: s for k, s in answer.items() if rate[k] > 0}
        ratios = {k: s / rate[k] for k, s in earned.items()}
        first = next(iter(ratios.values()))
        for k, ratio in ratios.items():
            assert math.isclose(ratio, first, rel_tol=1e-9), f"shares {dict(answer)} are not in proportion to the " \
                                                             f"download rates {rate}"
        smallest = min(earned.values())
        for k, share in answer.items():
            if rate[k] == 0:
                assert math.isclose(share, smallest, rel_tol=1e-9), (
                    f"{k} sends nothing and got the share {share}; give it the smallest share earned, {smallest}")


def test_equal_shares_when_nobody_sends(lab: ModuleType) -> None:
    """when nobody sends us anything (the start, or we seed), the five peers share equally"""
    for seeding in (False, True):
        answer = Asker(lab.MiniPropShare(), seeding=seeding)(peers(*[0.0] * 9), 0.0)
        assert len(keys(answer)) == 5, f"MiniPropShare unchoked {sorted(keys(answer))}; expected five peers"
        if isinstance(answer, Mapping):
            assert len(set(answer.values())) == 1, f"shares {dict(answer)} are not equal, yet nobody sends anything"
