"""Per-peer state (btref.peer) and the strategy views (btref.views)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref.pieceset import PieceSet
from btref import wire
from btref.actions import Send
from btref.peer import CHOKE_TABLE, EVENTS, Peer, Rate
from btref.views import PeerView, SwarmView, peer_view, swarm_view


def test_rate_averages_over_the_window():
    rate = Rate(window=10.0, start=0.0)
    assert rate.rate(0.0) == 0.0
    rate.add(1000, 0.2)
    rate.add(1000, 0.7)  # same second: one sample
    assert rate.rate(0.5) == 2000.0  # less than a second of history counts as one second
    rate.add(3000, 4.0)
    assert rate.rate(5.0) == 1000.0  # 5000 bytes over 5 s
    assert rate.rate(12.0) == 300.0  # the samples of second 0 fell out of the window
    assert rate.rate(100.0) == 0.0


@given(st.lists(st.tuples(st.integers(0, 10**6), st.floats(0, 1000)), max_size=50))
def test_rate_is_never_negative_and_bounded(samples):
    rate = Rate(window=20.0)
    now = 0.0
    total = 0
    for nbytes, dt in samples:
        now += dt
        rate.add(nbytes, now)
        total += nbytes
        assert 0.0 <= rate.rate(now) <= total


def test_rate_read_twice_at_one_instant_sees_what_came_between():
    rate = Rate(window=10.0, start=0.0)
    assert rate.rate(1.0) == 0.0
    rate.add(1000, 1.0)  # the answer for t = 1.0 is kept, and must not be reused now
    assert rate.rate(1.0) == 1000.0
    assert rate.rate(2.0) == 500.0


def test_peer_starts_choked_and_uninterested():
    peer = Peer("k", PieceSet(8), 5.0)
    assert peer.am_choking and peer.peer_choking
    assert not peer.am_interested and not peer.peer_interested
    assert peer.waiting_since == peer.last_sent_at == 5.0
    view = peer.view(6.0)
    assert isinstance(view, PeerView) and view.key == "k" and view.connected_at == 5.0
    assert not view.is_seed


def test_queue_depth_follows_rate_and_reqq():
    peer = Peer("k", PieceSet(8), 0.0)
    assert peer.queue_depth(1.0, block=16384, seconds=2, lo=4, hi=250) == 4
    peer.down.add(16384 * 50, 0.0)
    assert peer.queue_depth(1.0, block=16384, seconds=2, lo=4, hi=250) == 100
    peer.reqq = 30
    assert peer.queue_depth(1.0, block=16384, seconds=2, lo=4, hi=250) == 30
    peer.reqq = 0
    assert peer.queue_depth(1.0, block=16384, seconds=2, lo=4, hi=250) == 1


def test_views_are_frozen_and_availability_read_only():
    swarm = swarm_view(4, have=[1], availability=[1, 2, 3, 4], in_progress=[2], now=3.0)
    assert isinstance(swarm, SwarmView)
    assert swarm.have[1] and not swarm.seeding and swarm.in_progress == {2}
    with pytest.raises(TypeError):
        swarm.availability[0] = 9  # type: ignore[index]
    with pytest.raises(AttributeError):
        swarm.now = 4.0  # type: ignore[misc]
    assert swarm_view(2, have=[0, 1]).seeding
    assert list(swarm_view(3).availability) == [0, 0, 0]
    seed = peer_view("s", 3, has=[0, 1, 2], peer_interested=True, download_rate=5.0)
    assert seed.is_seed and seed.peer_interested and seed.download_rate == 5.0
    assert isinstance(swarm_view(1, rng=random.Random(3)).rng, random.Random)


def test_a_peers_view_names_every_field_right():
    # Peer.view builds the tuple by position: every field must get the attribute of its name.
    peer = Peer("k", PieceSet(3), connected_at=1.5, am_choking=False, am_interested=True, peer_choking=False,
                peer_interested=True, snubbed=True, bytes_downloaded=7, bytes_uploaded=9)
    peer.down.add(4000, 2.0)
    peer.up.add(6000, 2.0)
    view = peer.view(3.0)
    rates = {"download_rate": peer.down.rate(3.0), "upload_rate": peer.up.rate(3.0)}
    assert rates["download_rate"] != rates["upload_rate"]
    assert view._asdict() == {name: rates.get(name, getattr(peer, name, None)) for name in PeerView._fields}


# -- the choke/interest table -------------------------------------------------------------


def test_choke_table_is_complete_and_consistent():
    # Each event sets exactly one flag of its direction; the table must say so for every state.
    for (sent, cls), (direction, event) in EVENTS.items():
        for state in [(c, i) for c in (True, False) for i in (True, False)]:
            new = CHOKE_TABLE.get((direction, state, event), state)
            flag = 0 if cls in (wire.Choke, wire.Unchoke) else 1
            value = cls in (wire.Choke, wire.Interested)
            expected = tuple(value if k == flag else state[k] for k in (0, 1))
            assert new == expected, (direction, state, event)
    assert all(new != state for (_, state, _), new in CHOKE_TABLE.items())


@given(st.lists(st.tuples(st.booleans(), st.sampled_from([wire.Choke, wire.Unchoke, wire.Interested, wire.NotInterested]))))
def test_flags_follow_the_last_message_sent_or_received(steps):
    peer = Peer("p", PieceSet(4), 0.0)
    model = {"am_choking": True, "am_interested": False, "peer_choking": True, "peer_interested": False}
    for ours, cls in steps:
        if ours:
            out: list = []
            peer.send(cls(), 1.0, out)  # sending moves our flags
            assert out == [Send("p", cls())]
        else:
            peer.follow(cls(), ours=False)
        who = "am" if ours else "peer"
        what = "choking" if cls in (wire.Choke, wire.Unchoke) else "interested"
        model[f"{who}_{what}"] = cls in (wire.Choke, wire.Interested)
    assert {k: getattr(peer, k) for k in model} == model
