"""btref.strategy.Availability: incremental counts and buckets, and a rarest pick equal to the plain scan."""

from __future__ import annotations

import heapq
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref.bitfield import Bitfield
from btref.strategy import Availability


def field(n: int, pieces) -> Bitfield:
    f = Bitfield(n)
    for i in pieces:
        f.set(i)
    return f


def plain(counts, have, has, count, rng, exclude):
    """The scan the buckets replace (what rarest-first did before)."""
    fresh = [i for i in has if not have[i] and i not in exclude]
    return [i for _, _, i in heapq.nsmallest(count, ((counts[i], rng.random(), i) for i in fresh))]


@given(st.data())
def test_rarest_equals_the_plain_scan_and_leaves_the_rng_alike(data) -> None:
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
    a, b = random.Random(seed), random.Random(seed)
    expected = plain(counts, have, has, count, a, exclude) if count > 0 else []
    assert rarity.rarest(has, count, b, exclude) == expected
    assert a.random() == b.random()


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
    assert rarity.rarest(field(5, range(5)), 5, rng) == [3, 2]  # count 0 skipped, 4 had
    have.set(3)
    rarity.got(3)
    rarity.got(3)  # twice is harmless
    assert rarity.rarest(field(5, range(5)), 5, rng) == [2]
    rarity.add(2, -1)
    assert rarity.buckets[1] == [2] and rarity.rarest(field(5, [2]), 0, rng) == []


def test_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="3 pieces for a torrent of 4"):
        Availability(4, counts=[1, 2, 3])
