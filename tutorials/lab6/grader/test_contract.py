"""Lab 6, group "contract": what every btref picker must do (``btref_pick_pieces`` in
btref/hookspecs.py; BEP 3 leaves the choice of pieces to the client), checked by btref's own
pickers conformance suite and a few examples.

The suite (``conformance/pickers``, what ``btref conformance pickers NAME`` runs) is run
unchanged in a fresh ``python``, on the student's picker published as ``lab6-graded``
(conftest.py, ``suite``); this group reads its contract tests, the group "claims" the rest.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from btref import plugins
from btref.views import peer_view, swarm_view


def ask(picker: Any, swarm: Any, peer: Any, count: int) -> list[int]:
    answer = picker.btref_pick_pieces(swarm=swarm, peer=peer, count=count)
    assert answer is not None, "btref_pick_pieces returned None; return [] when there is nothing to pick"
    return list(answer)


def test_the_pickers_contract_suite_passes(suite: dict[str, Any]) -> None:
    """btref's pickers contract (conformance/pickers/test_picker_contract.py) passes on your picker"""
    contract = [name for name, result in suite.items() if result.module == "test_picker_contract"]
    assert contract, "the suite ran no test of test_picker_contract.py: is conformance/pickers complete?"
    failed = [f"{name}: {suite[name].message}" for name in sorted(contract) if suite[name].outcome != "passed"]
    assert not failed, f"{len(failed)} failed; first {failed[0]}"


def test_nothing_to_pick_is_an_empty_answer(picker: Callable[..., Any]) -> None:
    """with nothing to pick (count 0, a peer without pieces we need) the answer is [], never None"""
    p = picker()
    assert ask(p, swarm_view(6), peer_view("p", 6, has=range(6)), 0) == []
    assert ask(p, swarm_view(6), peer_view("p", 6), 3) == []
    assert ask(p, swarm_view(6, have=range(6)), peer_view("p", 6, has=range(6)), 3) == []
    assert ask(p, swarm_view(6, have=[0, 1]), peer_view("p", 6, has=[0, 1]), 3) == []


def test_picks_are_offered_pieces_at_most_count_each_once(picker: Callable[..., Any]) -> None:
    """every pick is a piece the peer has and we lack, none twice, and as many as count allows (count, or all offered)"""
    rng = random.Random(6)
    for _ in range(200):
        n = rng.randrange(1, 40)
        have = rng.sample(range(n), rng.randrange(n + 1))
        has = rng.sample(range(n), rng.randrange(n + 1))
        lacking = [i for i in range(n) if i not in have]
        swarm = swarm_view(n, have=have, availability=[rng.randrange(1, 9) for _ in range(n)],
                           in_progress=rng.sample(lacking, rng.randrange(len(lacking) + 1)),
                           rng=random.Random(rng.random()))
        count = rng.randrange(0, n + 2)
        picks = ask(picker(), swarm, peer_view("p", n, has=has), count)
        offered = {i for i in has if i not in have}
        assert set(picks) <= offered, f"picked {sorted(set(picks) - offered)}, not offered by the peer or ours already"
        assert len(picks) == len(set(picks)), f"a piece twice: {picks}"
        assert len(picks) == min(count, len(offered)), \
            f"{len(picks)} picks for count={count} with {len(offered)} pieces offered: take as many as you may"


def test_the_views_are_left_untouched(picker: Callable[..., Any]) -> None:
    """btref_pick_pieces changes nothing it is shown (swarm.have, peer.has, the availability)"""
    swarm = swarm_view(10, have=[0, 1, 2, 3, 4], availability=[3, 1, 4, 1, 5, 9, 2, 6, 5, 3], in_progress=[7])
    peer = peer_view("p", 10, has=range(10))
    have, has, copies = swarm.have.copy(), peer.has.copy(), [swarm.availability[i] for i in range(10)]
    ask(picker(), swarm, peer, 4)
    assert swarm.have == have and peer.has == has and [swarm.availability[i] for i in range(10)] == copies


def test_the_same_seed_gives_the_same_answers(picker: Callable[..., Any]) -> None:
    """randomness comes from swarm.rng only: the same seed gives the same answers, whatever the random module does"""
    answers = []
    for noise in (1, 2):
        random.seed(noise)  # a picker that draws from the random module answers differently
        rng = random.Random(42)
        p = picker()
        answers.append([ask(p, swarm_view(30, have=range(k), availability=[1 + i % 3 for i in range(30)], rng=rng),
                            peer_view("p", 30, has=range(30)), 3) for k in range(8)])
    assert answers[0] == answers[1]


def test_random_first_is_a_declared_parameter(picker_class: type[Any]) -> None:
    """random_first is a parameter btref can show and set: an int, default 4, declared with Param(..., ge=0)"""
    found = {p.name: p for p in plugins.parameters(picker_class)}
    assert "random_first" in found, f"the constructor takes {sorted(found) or 'no parameters'}, not random_first"
    param = found["random_first"]
    assert (param.type, param.default, param.declared.ge) == (int, 4, 0), \
        f"random_first is {param.type_name} = {param.default!r} with ge={param.declared.ge}"
    assert param.meaning, "give random_first its one-line meaning: Annotated[int, Param('...', ge=0)]"
