"""The walkthrough tells the article's story, and the story comes from the engine
(btref.sim.walkthrough, the ``walkthrough`` scenario; BEP 3 "pieces", "end game").

The runs are read from what the simulator recorded (every delivered piece and every hash
check the sessions made), not from the printed text.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from btref.sim import walkthrough
from btref.sim.walkthrough import play, read, round_of, rounds, story

#: Seeds whose three blind draws of round 1 differ. Rarest first cannot make them differ:
#: every piece is on the seed alone then (module docstring). Over seeds 0-59 the draws
#: differ in 18 runs, and in 14 of those the whole story below holds.
STORY_SEEDS = [3, 6, 15, 18, 21, 35]


@pytest.mark.parametrize("seed", STORY_SEEDS)
def test_the_article_story_holds(seed: int) -> None:
    walk, swarm, _ = play(seed=seed)
    first = walk.first_draws()
    assert sorted(move.dst for move in first) == ["A", "B", "C"]  # S feeds all three at once
    assert len({move.index for move in first}) == 3  # three different pieces
    assert walk.duplicates() == []  # no upload wasted
    assert walk.seed_needed is not None and walk.seed_needed <= 2
    assert walk.done is not None and walk.done <= 4
    assert walk.draws_differ() and walk.tells_the_article_story()
    # Every arrival passed the real sha1 check, each leecher checked each piece once.
    assert all(move.check is True for move in walk.moves())
    checked = sorted((peer, index) for _, peer, index, passed in swarm.checks if passed)
    assert checked == sorted((peer, index) for peer in "ABC" for index in range(4))


def test_the_default_run_tells_the_story_and_random_tells_a_worse_one() -> None:
    walk, _, _ = play()
    assert (walk.seed, walk.picker) == (walkthrough.SEED, walkthrough.PICKER)
    assert len({move.index for move in walk.first_draws()}) == 3 and not walk.duplicates()
    new_from_s = [move.index for move in walk.moves() if move.src == "S" and move.kind == "new"]
    assert sorted(new_from_s) == [0, 1, 2, 3] and walk.uploads["S"] == 5  # one copy only
    # The same swarm and seed with random picks: same blind round 1, then waste.
    other, _, _ = play(picker="random")
    assert other.rounds[0] == walk.rounds[0]
    assert len(other.duplicates()) == 3 and other.done == 3 > walk.done == 2
    assert not other.tells_the_article_story()
    assert other.uploads["S"] == 7
    # rarest-first with its default random phase (4 pieces: the whole file) is random too.
    phase, _, _ = play(picker="rarest-first")
    assert phase.duplicates() and phase.done == 3


def test_a_collision_in_round_one_is_shown_and_explained() -> None:
    walk, _, _ = play(seed=0)
    drawn = [move.index for move in walk.first_draws()]
    assert drawn == [3, 3, 1]  # A and B drew the same piece from S
    assert not walk.draws_differ() and not walk.tells_the_article_story()
    text = story(walk)
    assert "Piece 3 was picked more than once, so S sent it more than once" in text
    assert "(random picks among 4 pieces differ only 3 times in 8)" in text


def test_the_text_says_what_the_run_did() -> None:
    walk, _, _ = play()
    text = story(walk)
    assert text.startswith("Seed S and 3 empty peers (A, B, C) share 4 pieces")
    assert "S -> A: piece 0 ok: sha1 matches (no peer had it yet)" in text
    assert "The 3 picks differ (random picks among 4 pieces do, 3 times in 8): no piece left S twice." in text
    assert text.count("S could leave now") == 1 and "S was needed for 2 rounds" in text
    assert "No piece arrived twice." in text and "S sent 5 pieces: 4 new to the peers, 1 they had already." in text
    random_text = story(play(picker="random")[0])
    assert "3 pieces arrived twice (end game)." in random_text and "(a duplicate: end game)" in random_text


def test_reading_a_run_judges_each_move() -> None:
    # A hand-made record: a new piece, a copy passed on, a copy from S, a duplicate, a
    # piece that failed its hash check, and an empty round.
    transfers = [(1.0, "S", "A", 0), (1.0, "S", "B", 1), (2.0, "A", "B", 0), (2.0, "S", "A", 1),
                 (2.0, "B", "A", 1), (4.0, "S", "B", 2)]
    checks = [(1.0, "A", 0, True), (1.0, "B", 1, True), (2.0, "B", 0, True), (2.0, "A", 1, True),
              (4.0, "B", 2, False)]
    peers = [{"name": "S", "seed": True, "bytes_up": 4 * 10}, {"name": "A", "seed": False, "bytes_up": 10},
             {"name": "B", "seed": False, "bytes_up": 10}]
    metrics = {"peers": peers, "pieces": 3, "piece_length": 10, "picker": "p", "choker": "c",
               "summary": {"last_completion": None, "completed": 0}}
    walk = read(SimpleNamespace(transfers=transfers, checks=checks, seed=5), metrics)
    assert [[(m.src, m.dst, m.index, m.kind, m.check) for m in moves] for moves in walk.rounds] == [
        [("S", "A", 0, "new", True), ("S", "B", 1, "new", True)],
        [("A", "B", 0, "copy", True), ("S", "A", 1, "copy", True), ("B", "A", 1, "duplicate", None)],
        [],
        [("S", "B", 2, "new", False)]]
    assert walk.seed_needed is None and walk.done is None and walk.uploads == {"S": 4, "A": 1, "B": 1}
    text = story(walk)
    assert "S -> A: piece 1 ok: sha1 matches (a copy: B had it)" in text
    assert "B -> A: piece 1 again: A already had it (a duplicate: end game)" in text
    assert "round 3: nothing arrived" in text and "piece 2 FAILED the sha1 check" in text
    assert "could leave" not in text and "1 piece arrived twice" in text


def test_rounds_forgive_latency_at_a_border() -> None:
    assert [round_of(t) for t in (0.0, 0.3, 1.0, 1.04, 1.06, 2.0)] == [1, 1, 1, 1, 2, 2]
    assert rounds([(0.999, "S", "A", 0), (1.001, "S", "B", 1), (2.5, "A", "B", 0)], 1.0) == [
        [("S", "A", 0), ("S", "B", 1)], [], [("A", "B", 0)]]


def test_more_peers_than_pieces_cannot_all_differ() -> None:
    walk, _, _ = play(seed=21, peers=3, pieces=2)
    assert not walk.draws_differ()
    assert "(3 picks among 2 pieces cannot all differ)" in story(walk)
