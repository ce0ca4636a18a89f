"""The sequential (streaming) picker (plugins/btref_pickers/sequential.py)."""

from __future__ import annotations

import pytest
from btref_pickers.sequential import Sequential
from hypothesis import given
from hypothesis import strategies as st

from btref import plugins
from btref.errors import PluginError
from btref.views import peer_view, swarm_view


def pick(picker, swarm, peer, count):
    return list(picker.btref_pick_pieces(swarm=swarm, peer=peer, count=count))


def test_registered_by_name_and_validates():
    picker = plugins.create("pickers", "sequential", window=3)
    assert isinstance(picker, Sequential) and picker.window == 3
    with pytest.raises(PluginError, match="window=0 is out of range"):
        plugins.create("pickers", "sequential", window=0)


def test_playhead_is_the_first_missing_piece():
    assert Sequential.playhead(swarm_view(8)) == 0
    assert Sequential.playhead(swarm_view(8, have=[0, 1, 2, 5])) == 3
    assert Sequential.playhead(swarm_view(8, have=range(8))) == 8


def test_window_one_is_strict_file_order():
    n = 20
    swarm = swarm_view(n, have=[0, 1, 3], availability=list(range(n, 0, -1)))
    assert pick(Sequential(window=1), swarm, peer_view("p", n, has=range(n)), 5) == [2, 4, 5, 6, 7]


def test_rarest_first_inside_the_window_file_order_after_it():
    n = 20
    availability = [5] * n
    availability[3], availability[1] = 1, 2  # rare pieces inside the window
    availability[15] = 0  # rarest of all, but far ahead: it waits its turn
    swarm = swarm_view(n, have=[0], availability=availability)
    picks = pick(Sequential(window=4), swarm, peer_view("p", n, has=range(n)), 8)
    assert picks == [3, 1, 2, 4, 5, 6, 7, 8]


def test_started_pieces_beyond_the_window_before_fresh_ones():
    n = 30
    swarm = swarm_view(n, in_progress=[20, 2], availability=[1] * n)
    picks = pick(Sequential(window=4), swarm, peer_view("p", n, has=range(n)), 7)
    assert picks == [0, 1, 2, 3, 20, 4, 5]


def test_only_what_the_peer_has():
    n = 30
    swarm = swarm_view(n, have=[0, 1])
    peer = peer_view("p", n, has=[1, 3, 10, 29])
    assert pick(Sequential(window=4), swarm, peer, 10) == [3, 10, 29]
    assert pick(Sequential(window=4), swarm, peer, 2) == [3, 10]
    assert pick(Sequential(), swarm, peer_view("p", n, has=[0, 1]), 3) == []
    assert pick(Sequential(), swarm, peer, 0) == []


def test_window_fills_the_whole_count():
    n = 40
    swarm = swarm_view(n, in_progress=[30])
    picks = pick(Sequential(window=16), swarm, peer_view("p", n, has=range(n)), 4)
    assert picks == [0, 1, 2, 3]  # the started piece far ahead waits


def test_the_window_slides_as_pieces_arrive():
    n = 12
    picker, peer, have = Sequential(window=3), peer_view("p", n, has=range(n)), []
    order = []
    while len(have) < n:
        nxt = pick(picker, swarm_view(n, have=have), peer, 1)[0]
        order.append(nxt)
        have.append(nxt)
    assert order == list(range(n))


@given(have=st.sets(st.integers(0, 99)), has=st.sets(st.integers(0, 99)), started=st.sets(st.integers(0, 99)),
       window=st.integers(1, 20), count=st.integers(0, 120),
       availability=st.lists(st.integers(0, 9), min_size=100, max_size=100))
def test_properties(have, has, started, window, count, availability):
    n = 100
    swarm = swarm_view(n, have=have, availability=availability, in_progress=started - have)
    picks = pick(Sequential(window=window), swarm, peer_view("p", n, has=has), count)
    eligible = has - have
    assert set(picks) <= eligible and len(picks) == len(set(picks)) == min(count, len(eligible))
    start = Sequential.playhead(swarm)
    inside = sorted(i for i in eligible if i < start + window)
    # window pieces lead, rarest first; every window piece precedes every piece beyond it
    assert picks[: len(inside)] == sorted(inside, key=lambda i: (availability[i], i))[: len(picks)]
    assert pick(Sequential(window=window), swarm, peer_view("p", n, has=has), count) == picks


def test_a_simulated_swarm_completes_with_it():
    from btref.sim.scenarios import run

    _, metrics = run("walkthrough", picker="sequential", seed=1)
    assert metrics["summary"]["completed"] == metrics["summary"]["leechers"] == 3
