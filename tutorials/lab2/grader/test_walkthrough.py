"""Step 1 of Lab 2: the walkthrough, a 4-piece swarm round by round (BEP 3)."""

from __future__ import annotations

from answer_sheet import Answers, judge
from lab2_grading import Facts


def test_seed_needed(answers: Answers, facts: Facts) -> None:
    """the round after which the peers hold all pieces between them (btref sim walkthrough)"""
    given = answers.integer("walkthrough_seed_needed_rounds")
    judge("walkthrough_seed_needed_rounds", given == facts.seed_needed(),
          "Find the round marked `S could leave now` in `btref sim walkthrough`.")


def test_rounds(answers: Answers, facts: Facts) -> None:
    """the round in which the last peer completes (btref sim walkthrough)"""
    given = answers.integer("walkthrough_rounds")
    judge("walkthrough_rounds", given == facts.rounds(), "Count the rounds of the story.")


def test_seed_needed_with_seed_1(answers: Answers, facts: Facts) -> None:
    """the same with --seed 1: the round after which the seed could leave"""
    given = answers.integer("walkthrough_seed1_seed_needed_rounds")
    judge("walkthrough_seed1_seed_needed_rounds", given == facts.seed_needed(seed=1),
          "Run `btref sim walkthrough --seed 1` and read the story again.")


def test_rounds_with_seed_1(answers: Answers, facts: Facts) -> None:
    """the same with --seed 1: the round in which the last peer completes"""
    given = answers.integer("walkthrough_seed1_rounds")
    judge("walkthrough_seed1_rounds", given == facts.rounds(seed=1), "Count the rounds of the --seed 1 story.")
