"""The random picker (plugins/btref_pickers/random.py)."""

from __future__ import annotations

import random
from collections import Counter

from btref_pickers.random import RandomPicker
from hypothesis import given
from hypothesis import strategies as st

from btref import plugins
from btref.views import peer_view, swarm_view
from btref_pickers.random import sample


def pick(picker, swarm, peer, count):
    return list(picker.btref_pick_pieces(swarm=swarm, peer=peer, count=count))


def test_registered_by_name():
    picker = plugins.create("pickers", "random", partial_first=False)
    assert isinstance(picker, RandomPicker) and picker.partial_first is False


def test_count_zero_and_nothing_to_pick():
    n = 16
    assert pick(RandomPicker(), swarm_view(n), peer_view("p", n, has=range(n)), 0) == []
    assert pick(RandomPicker(), swarm_view(n), peer_view("p", n), 5) == []
    assert pick(RandomPicker(), swarm_view(n, have=range(n)), peer_view("p", n, has=range(n)), 5) == []


def test_partial_pieces_come_first():
    n = 100
    swarm = swarm_view(n, have=[0, 1], in_progress=[1, 7, 8, 9, 50], rng=random.Random(3))
    peer = peer_view("p", n, has=[0, 1, 7, 9, 50, *range(60, 100)])
    picks = pick(RandomPicker(), swarm, peer, 5)
    assert set(picks[:3]) == {7, 9, 50}  # 1 is ours, 8 the peer lacks
    assert all(i >= 60 for i in picks[3:]) and len(picks) == 5
    assert sorted(pick(RandomPicker(), swarm, peer, 2)) in ([7, 9], [7, 50], [9, 50])


def test_without_partial_first_started_pieces_are_not_preferred():
    n = 1000
    wins = 0
    for seed in range(50):
        swarm = swarm_view(n, in_progress=[0], rng=random.Random(seed))
        wins += pick(RandomPicker(partial_first=False), swarm, peer_view("p", n, has=range(n)), 1) == [0]
    assert wins < 5  # picked with chance 1/1000, not always


def test_uniform_over_the_peers_pieces():
    n = 10
    counts = Counter()
    rng = random.Random(1)
    peer = peer_view("p", n, has=range(n))
    for _ in range(5000):
        counts[pick(RandomPicker(), swarm_view(n, rng=rng), peer, 1)[0]] += 1
    assert set(counts) == set(range(n))
    assert max(counts.values()) < 1.3 * min(counts.values())


@given(seed=st.integers(0, 2**32), have=st.sets(st.integers(0, 63)), has=st.sets(st.integers(0, 63)),
       started=st.sets(st.integers(0, 63)), count=st.integers(0, 80))
def test_picks_everything_it_may_when_count_allows(seed, have, has, started, count):
    n = 64
    swarm = swarm_view(n, have=have, in_progress=started - have, rng=random.Random(seed))
    peer = peer_view("p", n, has=has)
    picks = pick(RandomPicker(), swarm, peer, count)
    eligible = has - have
    assert set(picks) <= eligible and len(picks) == len(set(picks)) == min(count, len(eligible))
    partial = eligible & started
    assert set(picks[: len(partial)]) <= partial  # partial pieces lead the answer
    again = pick(RandomPicker(), swarm_view(n, have=have, in_progress=started - have, rng=random.Random(seed)),
                 peer, count)
    assert again == picks


def test_a_simulated_swarm_completes_with_it():
    from btref.sim.scenarios import run

    _, metrics = run("walkthrough", picker="random", seed=1)
    assert metrics["summary"]["completed"] == metrics["summary"]["leechers"] == 3


def bits(n, pieces):
    return swarm_view(n, have=pieces).have


@given(seed=st.integers(0, 2**32), n=st.integers(1, 600), data=st.data())
def test_sample_draws_distinct_candidates_repeatably(seed, n, data):
    has = data.draw(st.sets(st.integers(0, n - 1)))
    have = data.draw(st.sets(st.integers(0, n - 1)))
    exclude = data.draw(st.sets(st.integers(0, n - 1)))
    count = data.draw(st.integers(0, 20))
    picks = sample(bits(n, has), bits(n, have), count, random.Random(seed), exclude)
    eligible = has - have - exclude
    assert set(picks) <= eligible and len(picks) == len(set(picks)) == min(count, len(eligible))
    assert sample(bits(n, has), bits(n, have), count, random.Random(seed), exclude) == picks


def test_sample_is_uniform_with_few_and_with_many_candidates():
    n = 1000
    for candidates in (range(0, 1000, 50), range(0, 1000, 2)):  # 20 listed, 500 by rejection
        has, rng = bits(n, candidates), random.Random(3)
        counts = Counter(i for _ in range(4000) for i in sample(has, bits(n, []), 2, rng))
        assert set(counts) <= set(candidates)
        expected = 8000 / len(candidates)
        if len(candidates) == 20:
            assert set(counts) == set(candidates) and all(0.75 * expected < c < 1.25 * expected for c in counts.values())
        else:  # 16 per piece expected: check the spread, not each piece
            assert len(counts) > 0.95 * len(candidates) and max(counts.values()) < 4 * expected
