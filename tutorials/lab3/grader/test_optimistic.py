"""Version (b), ``Top4Optimistic``: Top4's peers plus one optimistic slot, drawn with
``swarm.rng`` among the other interested peers and kept for 30 s (Cohen 2003, 3.3: "an
optimistic unchoke ... rotated every 30 seconds")."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from lab3_grading import Asker, keys, peers

#: Four peers that send us data, then twenty newcomers that send nothing.
FAST = [400.0, 300.0, 200.0, 100.0]
TOP = {"p0", "p1", "p2", "p3"}


def crowd(interested: dict[int, bool] | None = None, rates: dict[int, float] | None = None) -> list[Any]:
    rate_list = FAST + [0.0] * 20
    for i, rate in (rates or {}).items():
        rate_list[i] = rate
    flags = [True] * len(rate_list)
    for i, flag in (interested or {}).items():
        flags[i] = flag
    return peers(*rate_list, interested=flags)


def optimistic(answer: Any, regular: set[str] = TOP) -> str:
    """The one key of ``answer`` outside the regular slots."""
    extra = [k for k in keys(answer) if k not in regular]
    assert len(extra) == 1, f"expected the 4 fastest peers and one optimistic peer, got {sorted(keys(answer))}"
    return str(extra[0])


def test_four_plus_one(lab: ModuleType) -> None:
    """Top4Optimistic unchokes Top4's four peers plus one more interested peer, and says max_unchoked = 5"""
    choker = lab.Top4Optimistic()
    answer = Asker(choker)(crowd(), 0.0)
    assert TOP <= set(keys(answer)), f"Top4Optimistic unchoked {sorted(keys(answer))}; the 4 fastest are p0-p3"
    optimistic(answer)
    assert getattr(choker, "max_unchoked", None) == 5, "Top4Optimistic unchokes 5 peers: say max_unchoked = 5"


def test_kept_for_30_seconds(lab: ModuleType) -> None:
    """the optimistic peer keeps its slot for 30 s of `now`, whatever the number of calls in between"""
    ask = Asker(lab.Top4Optimistic())
    first = optimistic(ask(crowd(), 100.0))
    for now in (101.0, 105.5, 110.0, 120.0, 129.9):
        assert optimistic(ask(crowd(), now)) == first, f"the optimistic peer changed at {now - 100:g} s, before 30 s"


def test_rotated_every_30_seconds(lab: ModuleType) -> None:
    """every 30 s of `now` the slot is drawn anew: over 10 minutes many newcomers get a turn"""
    ask = Asker(lab.Top4Optimistic())
    holders = {now: optimistic(ask(crowd(), float(now))) for now in range(0, 600, 10)}
    turns = {holders[now] for now in range(0, 600, 30)}
    assert len(turns) >= 8, f"in 20 rotations only {len(turns)} different peers held the optimistic slot"
    for now, key in holders.items():
        assert key == holders[now - now % 30], f"the optimistic peer changed at {now} s, between two rotations"


def test_drawn_with_swarm_rng(lab: ModuleType) -> None:
    """the optimistic peer is drawn with swarm.rng: the same seed, the same peer; other seeds, other peers"""
    picks = [optimistic(Asker(lab.Top4Optimistic(), seed=seed)(crowd(), 0.0)) for seed in range(12)]
    again = [optimistic(Asker(lab.Top4Optimistic(), seed=seed)(crowd(), 0.0)) for seed in range(12)]
    assert picks == again, "the same swarm.rng seed drew different optimistic peers: draw with swarm.rng only"
    assert len(set(picks)) >= 4, f"twelve rng seeds drew only {sorted(set(picks))}: draw at random with swarm.rng"


def test_replaced_when_it_leaves_or_loses_interest(lab: ModuleType) -> None:
    """a peer that leaves, loses interest or earns a regular slot is replaced at once by another interested peer"""
    for change in ("loses interest", "leaves", "earns a regular slot"):
        ask = Asker(lab.Top4Optimistic())
        first = optimistic(ask(crowd(), 0.0))
        index = int(first[1:])
        if change == "loses interest":
            now_peers = crowd(interested={index: False})
        elif change == "leaves":
            now_peers = [p for p in crowd() if p.key != first]
        else:
            now_peers = crowd(rates={index: 1000.0})
        regular = TOP - {"p3"} | {first} if change == "earns a regular slot" else TOP
        answer = ask(now_peers, 10.0)
        assert len(keys(answer)) == 5, (
            f"the optimistic peer {change} at 10 s: unchoked {sorted(keys(answer))}, expected 4 regular peers and a "
            f"new optimistic one at once")
        replacement = optimistic(answer, regular)
        assert replacement != first, f"the optimistic peer {change} at 10 s, and still holds the slot"


def test_the_30_second_clock_keeps_running(lab: ModuleType) -> None:
    """replacing a peer that left does not restart the 30 s clock: the next draw is 30 s after the last rotation"""
    kept, redrawn = 0, 0
    for seed in range(20):
        ask = Asker(lab.Top4Optimistic(), seed=seed)
        first = optimistic(ask(crowd(), 0.0))
        gone = crowd(interested={int(first[1:]): False})
        second = optimistic(ask(gone, 10.0))
        kept += optimistic(ask(gone, 20.0)) == second
        redrawn += optimistic(ask(gone, 30.0)) != second
    assert kept == 20, "the replacement drawn at 10 s must keep the slot until the rotation at 30 s"
    assert redrawn >= 10, (f"at 30 s, 30 s after the first draw, the slot was drawn anew in only {redrawn} of 20 runs: "
                           f"did the replacement at 10 s restart the clock?")
