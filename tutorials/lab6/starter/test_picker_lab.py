"""Quick checks for lab 6 (run `pytest` in this folder); `btref lab grade 6 .` grades everything.

Each test is one policy of Cohen 2003, section 2 (BEP 3 leaves the order of pieces to the
client). They all fail until you fill in picker_lab/picker.py.
"""

from __future__ import annotations

import random

from btref.views import peer_view, swarm_view

from picker_lab import RarestFirstPicker


def test_nothing_to_pick_is_an_empty_list() -> None:
    swarm, peer = swarm_view(4, have=[0, 1, 2, 3]), peer_view("p", 4, has=[0, 1, 2, 3])
    assert list(RarestFirstPicker().btref_pick_pieces(swarm=swarm, peer=peer, count=3)) == []


def test_a_started_piece_comes_first() -> None:
    swarm = swarm_view(6, have=range(4), availability=[1, 1, 1, 1, 9, 1], in_progress=[4])
    peer = peer_view("p", 6, has=[4, 5])
    assert list(RarestFirstPicker().btref_pick_pieces(swarm=swarm, peer=peer, count=1)) == [4]


def test_the_rarest_pieces_come_first() -> None:
    swarm = swarm_view(5, availability=[5, 1, 4, 2, 3])
    peer = peer_view("p", 5, has=range(5))
    picker = RarestFirstPicker(random_first=0)
    assert list(picker.btref_pick_pieces(swarm=swarm, peer=peer, count=3)) == [1, 3, 4]


def test_the_first_pieces_are_drawn_with_swarm_rng() -> None:
    answers = set()
    for seed in range(20):
        swarm = swarm_view(10, availability=[1] + [9] * 9, rng=random.Random(seed))
        peer = peer_view("p", 10, has=range(10))
        answers.add(tuple(RarestFirstPicker().btref_pick_pieces(swarm=swarm, peer=peer, count=1)))
    assert len(answers) > 1, "with no piece yet, the first piece is drawn at random, not always the rarest"
