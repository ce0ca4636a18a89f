"""Steps 5 and 6 of Lab 1: damaged data and ``btref verify`` (BEP 3 piece hashes)."""

from __future__ import annotations

from answer_sheet import Answers, judge
from lab1_grading import Facts

from btref.commands.verify import files_of


def test_q6_piece_v1(answers: Answers, facts: Facts) -> None:
    """Q6: the piece of lab1/v1.torrent that holds byte 20,000 of numbers.bin (the one btref verify flags)"""
    given = answers.integer("q6_piece_v1")
    judge("q6_piece_v1", [given] == facts.flipped["v1_bad"],
          "In v1 the files lie back to back: add README.txt's length to 20,000, divide by the piece length.")


def test_q6_piece_hybrid(answers: Answers, facts: Facts) -> None:
    """Q6: the piece of the hybrid torrent that holds the same byte"""
    given = answers.integer("q6_piece_hybrid")
    judge("q6_piece_hybrid", [given] == facts.flipped["hybrid_bad"],
          "In the hybrid torrent numbers.bin starts on a piece boundary, after a pad file.")


def test_q7_missing_v1(answers: Answers, facts: Facts) -> None:
    """Q7: the pieces of lab1/v1.torrent that btref verify reports missing after truncate -s 20000 verse.txt"""
    judge("q7_missing_v1", sorted(answers.integers("q7_missing_v1")) == facts.truncated(20_000)["v1_missing"],
          "List every piece number of the `missing:` line (3-5 means [3, 4, 5]).")


def test_q7_missing_hybrid(answers: Answers, facts: Facts) -> None:
    """Q7: the pieces of the hybrid torrent that btref verify reports missing after the same truncate"""
    judge("q7_missing_hybrid", sorted(answers.integers("q7_missing_hybrid")) == facts.truncated(20_000)["hybrid_missing"],
          "List every piece number of the `missing:` line.")


def test_q7_shared_piece(answers: Answers, facts: Facts) -> None:
    """Q7: the piece of lab1/v1.torrent that holds bytes of both numbers.bin and verse.txt"""
    given = answers.integer("q7_shared_piece_v1")
    v1 = facts.v1
    shared = [i for i in range(v1.num_pieces)
              if {"numbers.bin", "verse.txt"} <= {path.rsplit("/", 1)[-1] for path in files_of(v1, [i])}]
    judge("q7_shared_piece_v1", [given] == shared,
          "Work out where numbers.bin ends and verse.txt begins in the v1 piece space.")


def test_q8_grown_file(answers: Answers, facts: Facts) -> None:
    """Q8: after truncate -s 30000 verse.txt (it grows), how many pieces of lab1/v1.torrent are bad or missing"""
    given = answers.integer("q8_flagged_v1")
    report = facts.truncated(30_000)
    judge("q8_flagged_v1", given == len(report["v1_bad"]) + len(report["v1_missing"]),
          "Run btref verify on the grown file and count the pieces it flags.")
