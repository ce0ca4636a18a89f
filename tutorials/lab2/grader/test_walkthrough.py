"""Step 1 of Lab 2: the walkthrough, a four-piece swarm round by round (BEP 3; Cohen 2003,
"piece selection"), with its own seed, with ``--seed 0`` and with ``--picker random``."""

from __future__ import annotations

from answer_sheet import Answers, judge
from lab2_grading import Facts


def test_seed_needed(answers: Answers, facts: Facts) -> None:
    """Q1: the round after which the peers hold all four pieces between them (btref sim walkthrough)"""
    given = answers.integer("walkthrough_seed_needed")
    judge("walkthrough_seed_needed", given == facts.walk().seed_needed,
          "Find the round marked `S could leave now` in `btref sim walkthrough`.")


def test_round_2_pieces(answers: Answers, facts: Facts) -> None:
    """Q1: in round 2, the piece S sent that no peer had, and the one a peer already had"""
    new, copy = answers.integer("walkthrough_round2_new_piece"), answers.integer("walkthrough_round2_copy_piece")
    walk = facts.walk()
    sent = [move for move in walk.rounds[1] if move.src in walk.seeds] if len(walk.rounds) > 1 else []
    judge("walkthrough_round2_new_piece", [new] == [m.index for m in sent if m.kind == "new"],
          "Read round 2's lines `S -> ...`: which one says `no peer had it yet`?")
    judge("walkthrough_round2_copy_piece", [copy] == [m.index for m in sent if m.kind == "copy"],
          "Read round 2's lines `S -> ...`: which one says `a copy`?")


def test_done(answers: Answers, facts: Facts) -> None:
    """Q1: the round in which the last peer completes (btref sim walkthrough)"""
    given = answers.integer("walkthrough_done")
    judge("walkthrough_done", given == facts.walk().done, "Read the line after the last round.")


def test_seed_0(answers: Answers, facts: Facts) -> None:
    """Q2: with --seed 0, the piece two peers drew in round 1, and how many pieces S sent in all"""
    twice, sent = answers.integer("seed0_piece_drawn_twice"), answers.integer("seed0_seed_sent")
    walk = facts.walk(seed=0)
    drawn = [move.index for move in walk.first_draws()]
    judge("seed0_piece_drawn_twice", [twice] == sorted({i for i in drawn if drawn.count(i) > 1}),
          "Run `btref sim walkthrough --seed 0` and read round 1.")
    judge("seed0_seed_sent", sent == sum(1 for move in walk.moves() if move.src in walk.seeds),
          "Count the pieces S sent, or read the line `S sent ... pieces`.")


def test_random(answers: Answers, facts: Facts) -> None:
    """Q3: with --picker random, how many pieces arrived twice, and the round the last peer completes"""
    twice, done = answers.integer("random_duplicates"), answers.integer("random_done")
    walk = facts.walk(picker="random")
    judge("random_duplicates", twice == len(walk.duplicates()),
          "Run `btref sim walkthrough --picker random` and count the lines `again: ... (a duplicate: end game)`.")
    judge("random_done", done == walk.done, "Read the line after the last round of the --picker random run.")
