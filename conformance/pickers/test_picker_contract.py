"""What every piece picker must do (the ``btref_pick_pieces`` hook, :mod:`btref.hookspecs`).

A picker gets a :class:`~btref.views.SwarmView`, a :class:`~btref.views.PeerView`
and a ``count``, and returns piece indices, best first. The contract checked here:

1. The answer is a sequence (``[]`` for "nothing"), never ``None``.
2. Every index is an ``int`` in range, a piece the peer has and we have not verified.
3. No index twice; at most ``count`` indices.
4. Progress: if the peer has a piece we lack and ``count > 0``, at least one is picked.
5. The views are left untouched (no bits set or cleared).
6. Repeatable: two fresh pickers given the same calls and the same ``rng`` seed answer alike.
7. It copes with empty and full bitfields, big torrents and thousands of peers.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from btref import plugins
from btref.views import PeerView, SwarmView, peer_view, swarm_view


@st.composite
def situations(draw, max_pieces=300):
    """A random swarm state: (swarm view, peer view, count)."""
    n = draw(st.integers(1, max_pieces))
    pieces = st.lists(st.integers(0, n - 1), max_size=n, unique=True)
    have = draw(st.one_of(pieces, st.just(list(range(n))), st.just([])))
    has = draw(st.one_of(pieces, st.just(list(range(n))), st.just([])))
    lacking = [i for i in range(n) if i not in set(have)]
    in_progress = draw(st.lists(st.sampled_from(lacking), unique=True)) if lacking else []
    availability = draw(st.lists(st.integers(0, 5000), min_size=n, max_size=n))
    swarm = swarm_view(n, have=have, availability=availability, in_progress=in_progress,
                       rng=random.Random(draw(st.integers(0, 2**32))), now=draw(st.floats(0, 1e6)))
    peer = peer_view("peer", n, has=has, am_interested=True, peer_choking=False)
    return swarm, peer, draw(st.integers(0, 2 * n))


def check_answer(name: str, swarm: SwarmView, peer: PeerView, count: int, answer: object) -> list[int]:
    """Assert rules 1-4 with messages a student can act on; return the answer as a list."""
    where = f"picker {name!r} (count={count}, {swarm.num_pieces} pieces, we have {swarm.have.count}, peer has {peer.has.count})"
    assert answer is not None, f"{where} returned None; return [] when there is nothing to pick"
    assert not isinstance(answer, (str, bytes)) and hasattr(answer, "__iter__"), f"{where} returned {answer!r}, not a sequence"
    picks = list(answer)
    assert len(picks) <= count, f"{where} returned {len(picks)} pieces, more than count={count}"
    assert len(set(picks)) == len(picks), f"{where} returned a piece twice: {picks}"
    for index in picks:
        assert type(index) is int, f"{where} returned {index!r} ({type(index).__name__}), not an int piece index"
        assert 0 <= index < swarm.num_pieces, f"{where} returned piece {index}, out of range 0..{swarm.num_pieces - 1}"
        assert peer.has[index], f"{where} picked piece {index}, which the peer does not have"
        assert not swarm.have[index], f"{where} picked piece {index}, which we already have"
    eligible = any(not swarm.have[i] for i in peer.has)
    if eligible and count > 0:
        assert picks, f"{where} picked nothing although the peer has pieces we lack"
    return picks


def call(picker, swarm, peer, count):
    return picker.btref_pick_pieces(swarm=swarm, peer=peer, count=count)


@settings(max_examples=100)
@given(situation=situations())
def test_picks_are_pieces_the_peer_has_and_we_lack(picker_name, situation):
    swarm, peer, count = situation
    have, has = swarm.have.copy(), peer.has.copy()
    check_answer(picker_name, swarm, peer, count, call(plugins.create("pickers", picker_name), swarm, peer, count))
    assert swarm.have == have and peer.has == has, f"picker {picker_name!r} changed a bitfield it was shown"


def test_empty_and_full_bitfields(picker_name):
    picker = plugins.create("pickers", picker_name)
    n = 64
    cases = [
        (swarm_view(n), peer_view("empty", n), 10),  # the peer has nothing
        (swarm_view(n, have=range(n)), peer_view("seed", n, has=range(n)), 10),  # we have everything
        (swarm_view(n), peer_view("seed", n, has=range(n)), 0),  # count 0
        (swarm_view(n, availability=[1] * n), peer_view("seed", n, has=range(n)), 10),  # newcomer meets a seed
        (swarm_view(n, availability=[1] * n), peer_view("seed", n, has=range(n)), 1000),  # count above n
    ]
    for swarm, peer, count in cases:
        check_answer(picker_name, swarm, peer, count, call(picker, swarm, peer, count))


def test_thousands_of_peers_and_pieces(picker_name):
    rng = random.Random(5)
    n = 4000
    availability = [rng.randrange(3000) for _ in range(n)]
    swarm = swarm_view(n, have=rng.sample(range(n), 1000), availability=availability,
                       in_progress=rng.sample(range(n), 20), rng=random.Random(1))
    picker = plugins.create("pickers", picker_name)
    for key in range(2000):
        peer = peer_view(key, n, has=rng.sample(range(n), rng.randrange(0, 50)) if key % 100 else range(n))
        check_answer(picker_name, swarm, peer, 8, call(picker, swarm, peer, 8))


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32), calls=st.lists(situations(max_pieces=80), min_size=1, max_size=5))
def test_same_seed_same_answers(picker_name, seed, calls):
    answers = []
    for _ in range(2):
        picker = plugins.create("pickers", picker_name)
        rng = random.Random(seed)
        run = []
        for swarm, peer, count in calls:
            swarm = SwarmView(num_pieces=swarm.num_pieces, have=swarm.have, availability=swarm.availability,
                              in_progress=swarm.in_progress, rng=rng, now=swarm.now, seeding=swarm.seeding)
            run.append(list(call(picker, swarm, peer, count) or []))
        answers.append(run)
    assert answers[0] == answers[1], f"picker {picker_name!r} answered differently for the same rng seed: {answers}"
