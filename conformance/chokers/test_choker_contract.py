"""What every choker must do (the ``btref_rechoke`` hook, :mod:`btref.hookspecs`).

A choker gets a :class:`~btref.views.SwarmView`, a view of every connected peer and
``now``, and returns the keys of the peers to unchoke, or a mapping ``{key: share}`` that
also says how our upload is split among them. The contract checked here:

1. The answer is a sequence of keys (``[]`` to choke everybody), never ``None``; or a
   mapping whose shares are finite numbers above 0 (``{a: 2.0, b: 1.0}``).
2. Only keys of connected, *interested* peers; each key once.
3. No more than the choker's slots: a choker that limits its uploads says how many peers
   it unchokes at most in a ``max_unchoked`` attribute (tit-for-tat: regular + optimistic
   slots); a choker without that attribute may unchoke every interested peer.
4. Repeatable: two fresh chokers given the same rounds and the same ``rng`` seed answer alike.
5. It copes with no peers, no interested peers and thousands of peers, over many rounds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from btref import plugins
from btref.views import PeerView, SwarmView, peer_view, swarm_view

N = 16  # pieces in the generated torrents


@st.composite
def peer_lists(draw, max_peers=60):
    count = draw(st.integers(0, max_peers))
    views = []
    for key in range(count):
        views.append(peer_view(
            f"peer{key}", N,
            has=draw(st.sampled_from([(), range(N), range(N // 2)])),
            am_choking=draw(st.booleans()), am_interested=draw(st.booleans()),
            peer_choking=draw(st.booleans()), peer_interested=draw(st.booleans()),
            download_rate=draw(st.floats(0, 1e7)), upload_rate=draw(st.floats(0, 1e7)),
            connected_at=draw(st.floats(0, 1000)), snubbed=draw(st.booleans()),
            bytes_downloaded=draw(st.integers(0, 2**40)), bytes_uploaded=draw(st.integers(0, 2**40)),
        ))
    return views


def check_answer(name: str, choker: object, swarm: SwarmView, peers: list[PeerView], answer: object) -> list:
    """Assert rules 1-3 with messages a student can act on; return the answer as a list."""
    interested = {p.key for p in peers if p.peer_interested}
    where = f"choker {name!r} (now={swarm.now}, {len(peers)} peers, {len(interested)} interested, seeding={swarm.seeding})"
    assert answer is not None, f"{where} returned None; return [] to choke everybody"
    assert not isinstance(answer, (str, bytes)) and hasattr(answer, "__iter__"), f"{where} returned {answer!r}, not a sequence of keys"
    keys = list(answer)
    if isinstance(answer, Mapping):
        for key, share in answer.items():
            assert isinstance(share, (int, float)) and not isinstance(share, bool) and math.isfinite(share) \
                and share > 0, f"{where} gave {key!r} the upload share {share!r}; a share must be a finite number above 0"
    assert len(set(keys)) == len(keys), f"{where} unchoked a peer twice: {keys}"
    connected = {p.key for p in peers}
    for key in keys:
        assert key in connected, f"{where} unchoked {key!r}, which is not a connected peer"
        assert key in interested, f"{where} unchoked {key!r}, which is not interested"
    limit = getattr(choker, "max_unchoked", None)
    if limit is not None:
        assert len(keys) <= limit, f"{where} unchoked {len(keys)} peers, more than its max_unchoked={limit}"
    return keys


def rechoke(choker, peers, now, rng, seeding):
    swarm = swarm_view(N, rng=rng, now=now, seeding=seeding, have=range(N) if seeding else ())
    return swarm, choker.btref_rechoke(swarm=swarm, peers=peers, now=now)


@settings(max_examples=40)
@given(rounds=st.lists(peer_lists(max_peers=40), min_size=1, max_size=5), seeding=st.booleans(), seed=st.integers(0, 2**32))
def test_unchokes_only_interested_peers_within_its_slots(choker_name, rounds, seeding, seed):
    choker = plugins.create("chokers", choker_name)
    rng = random.Random(seed)
    for step, peers in enumerate(rounds):
        swarm, answer = rechoke(choker, peers, 10.0 * step, rng, seeding)
        check_answer(choker_name, choker, swarm, peers, answer)


def test_no_peers_and_nobody_interested(choker_name):
    choker = plugins.create("chokers", choker_name)
    rng = random.Random(0)
    for seeding in (False, True):
        swarm, answer = rechoke(choker, [], 0.0, rng, seeding)
        assert check_answer(choker_name, choker, swarm, [], answer) == []
        bored = [peer_view(k, N, download_rate=float(k)) for k in range(10)]
        swarm, answer = rechoke(choker, bored, 10.0, rng, seeding)
        assert check_answer(choker_name, choker, swarm, bored, answer) == [], (
            f"choker {choker_name!r} unchoked peers that are not interested")


def test_thousands_of_peers_over_many_rounds(choker_name):
    rng = random.Random(3)
    choker = plugins.create("chokers", choker_name)
    peers = [peer_view(k, N, peer_interested=rng.random() < 0.7, download_rate=rng.random() * 1e6,
                       upload_rate=rng.random() * 1e6, connected_at=rng.random() * 100) for k in range(3000)]
    for step in range(20):
        swarm, answer = rechoke(choker, peers, 100.0 + 10 * step, rng, step >= 10)
        check_answer(choker_name, choker, swarm, peers, answer)
        peers = peers[1:]  # peers come and go


@settings(max_examples=20)
@given(rounds=st.lists(peer_lists(max_peers=30), min_size=1, max_size=5), seed=st.integers(0, 2**32))
def test_same_seed_same_answers(choker_name, rounds, seed):
    runs = []
    for _ in range(2):
        choker = plugins.create("chokers", choker_name)
        rng = random.Random(seed)
        runs.append([_comparable(rechoke(choker, peers, 10.0 * step, rng, False)[1])
                     for step, peers in enumerate(rounds)])
    assert runs[0] == runs[1], f"choker {choker_name!r} answered differently for the same rng seed: {runs}"


def _comparable(answer: object) -> list:
    """An answer as a list: its keys, or its ``(key, share)`` pairs for a mapping."""
    if isinstance(answer, Mapping):
        return list(answer.items())
    return list(answer or [])  # type: ignore[call-overload]
