"""The rarest-first picker (plugins/btref_pickers/rarest_first.py)."""

from __future__ import annotations

import random

import pytest
from btref_pickers.rarest_first import RarestFirst
from hypothesis import given
from hypothesis import strategies as st

from btref import plugins
from btref.errors import PluginError
from btref.views import peer_view, swarm_view


def pick(picker, swarm, peer, count):
    return list(picker.btref_pick_pieces(swarm=swarm, peer=peer, count=count))


def test_registered_by_name():
    picker = plugins.create("pickers", "rarest-first", random_first=2)
    assert isinstance(picker, RarestFirst) and picker.random_first == 2
    with pytest.raises(PluginError, match=r"random_first=-1 is out of range \(must be >= 0\)"):
        plugins.create("pickers", "rarest-first", random_first=-1)


def test_rarest_first_after_the_random_start():
    swarm = swarm_view(8, have=range(4), availability=[9, 9, 9, 9, 5, 1, 7, 3])
    peer = peer_view("p", 8, has=range(8))
    assert pick(RarestFirst(), swarm, peer, 4) == [5, 7, 4, 6]
    assert pick(RarestFirst(), swarm, peer, 2) == [5, 7]
    assert pick(RarestFirst(), swarm, peer, 0) == []


def test_partial_pieces_come_first():
    swarm = swarm_view(8, have=range(4), availability=[9, 9, 9, 9, 5, 1, 7, 3], in_progress=[6, 4])
    peer = peer_view("p", 8, has=range(8))
    assert pick(RarestFirst(), swarm, peer, 3) == [4, 6, 5]
    assert pick(RarestFirst(), swarm, peer, 1) == [4]
    lacking = peer_view("q", 8, has=[5, 6])
    assert pick(RarestFirst(), swarm, lacking, 5) == [6, 5]


def test_random_first_is_random_but_repeatable():
    peer = peer_view("p", 100, has=range(100))
    availability = list(range(100))
    first = pick(RarestFirst(), swarm_view(100, availability=availability, rng=random.Random(1)), peer, 5)
    again = pick(RarestFirst(), swarm_view(100, availability=availability, rng=random.Random(1)), peer, 5)
    assert first == again and first != [0, 1, 2, 3, 4]
    assert pick(RarestFirst(random_first=0), swarm_view(100, availability=availability), peer, 5) == [0, 1, 2, 3, 4]


def test_ties_are_broken_at_random():
    peer = peer_view("p", 50, has=range(50))
    seen = {tuple(pick(RarestFirst(0), swarm_view(50, availability=[1] * 50, rng=random.Random(s)), peer, 3))
            for s in range(5)}
    assert len(seen) > 1


@given(st.data())
def test_property_picks_are_the_rarest_after_the_random_start(data):
    n = data.draw(st.integers(5, 80))
    have = data.draw(st.lists(st.integers(0, n - 1), min_size=4, unique=True))
    availability = data.draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    has = data.draw(st.lists(st.integers(0, n - 1), unique=True))
    count = data.draw(st.integers(1, n))
    swarm = swarm_view(n, have=have, availability=availability, rng=random.Random(data.draw(st.integers())))
    picks = pick(RarestFirst(), swarm, peer_view("p", n, has=has), count)
    candidates = sorted(availability[i] for i in has if i not in set(have))
    assert sorted(availability[i] for i in picks) == candidates[:count]
