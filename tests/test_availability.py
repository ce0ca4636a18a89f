"""btref.views.Availability: incremental counts and buckets, and the rarest-first plugin's walk over them."""

from __future__ import annotations

import collections
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref.pieceset import PieceSet
from btref.views import Availability, PeerView, SwarmView
from btref_pickers.rarest_first import RarestFirst


def rarest(availability: Availability, has: PieceSet, count: int, rng: random.Random, exclude=()) -> list[int]:
    """The rarest-first plugin's step 3 over ``availability`` (``exclude``: pieces in progress)."""
    swarm = SwarmView(len(has), PieceSet(len(has)), availability, frozenset(exclude), rng, 0.0)
    return RarestFirst().rarest(swarm, PeerView("p", has), count) if count > 0 else []


def field(n: int, pieces) -> PieceSet:
    f = PieceSet(n)
    for i in pieces:
        f.set(i)
    return f


@given(st.data())
def test_rarest_gives_the_rarest_candidates_and_repeats_itself(data) -> None:
    n = data.draw(st.integers(1, 70))
    counts = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    have = field(n, data.draw(st.sets(st.integers(0, n - 1))))
    has = field(n, data.draw(st.sets(st.integers(0, n - 1))))
    exclude = data.draw(st.sets(st.integers(0, n - 1)))
    count = data.draw(st.integers(0, n + 2))
    seed = data.draw(st.integers(0, 2**32))
    rarity = Availability(n, have, counts)
    # shuffle the buckets' order through updates that cancel out
    for i in data.draw(st.lists(st.integers(0, n - 1), max_size=20)):
        rarity.add(i)
        rarity.add(i, -1)
    picks = rarest(rarity, has, count, random.Random(seed), exclude)
    fresh = [i for i in has if not have[i] and i not in exclude]
    assert len(set(picks)) == len(picks) and set(picks) <= set(fresh)
    assert [counts[i] for i in picks] == sorted(counts[i] for i in fresh)[:count]  # rarest first, in order
    assert rarest(rarity, has, count, random.Random(seed), exclude) == picks


@given(st.data())
def test_add_keeps_counts_buckets_and_positions_true(data) -> None:
    n = data.draw(st.integers(1, 60))
    counts = data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    have = field(n, data.draw(st.sets(st.integers(0, n - 1))))
    rarity, model = Availability(n, have, counts), list(counts)
    for i in data.draw(st.lists(st.integers(0, n - 1), max_size=80)):
        delta = 1 if model[i] == 0 else data.draw(st.sampled_from([1, -1]))  # a count never goes below 0
        assert rarity.add(i, delta) == (not have[i])  # true exactly for the pieces we lack
        model[i] += delta
    assert list(rarity.counts) == model
    for count, bucket in enumerate(rarity.buckets):  # every piece we lack in its count's bucket
        assert all(rarity._pos[i] == pos and model[i] == count for pos, i in enumerate(bucket))
    assert sorted(i for b in rarity.buckets for i in b) == [i for i in range(n) if not have[i]]


def test_rarest_breaks_ties_uniformly() -> None:
    n = 40
    rarity = Availability(n, field(n, []), [1] * 20 + [2] * 20)
    has = field(n, range(n))
    firsts = collections.Counter()
    for seed in range(2000):
        picks = rarest(rarity, has, 25, random.Random(seed))
        assert sorted(picks[:20]) == list(range(20))  # the whole rarest bucket, then five more
        firsts[picks[0]] += 1
        firsts.update(f"second:{i}" for i in picks[20:])
    # each of 20 tied pieces comes first 100 times in 2000 on average; each of the next
    # 20 is among the 5 drawn 500 times
    assert all(60 < firsts[i] < 140 for i in range(20))
    assert all(400 < firsts[f"second:{i}"] < 600 for i in range(20, 40))


def test_updates_move_pieces_between_buckets() -> None:
    have = field(5, [4])
    rarity = Availability(5, have, skip_unseen=True)
    assert sorted(rarity.buckets[0]) == [0, 1, 2, 3]
    rarity.add(2)
    rarity.add(2)
    rarity.add(3)
    rarity.add(4)  # a piece we have is counted, never a candidate
    assert list(rarity.counts) == [0, 0, 2, 1, 1]
    assert rarity.buckets[1] == [3] and rarity.buckets[2] == [2]
    rng = random.Random(1)
    assert rarest(rarity, field(5, range(5)), 5, rng) == [3, 2]  # count 0 skipped, 4 had
    have.set(3)
    rarity.got(3)
    rarity.got(3)  # twice is harmless
    assert rarest(rarity, field(5, range(5)), 5, rng) == [2]
    rarity.add(2, -1)
    assert rarity.buckets[1] == [2] and rarest(rarity, field(5, [2]), 0, rng) == []


def test_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="3 pieces for a torrent of 4"):
        Availability(4, counts=[1, 2, 3])
