"""Step 4 of Lab 1: the hybrid torrent of ``btref demo`` (BEP 47 pad files, BEP 52 info
hashes)."""

from __future__ import annotations

from answer_sheet import Answers, judge
from lab1_grading import Facts


def test_q4_pad_files(answers: Answers, facts: Facts) -> None:
    """Q4: how many files of lab1/btref-sample.torrent are pad files ("pad": true in btref info --json)"""
    given = answers.integer("q4_pad_files")
    judge("q4_pad_files", given == len([f for f in facts.hybrid.files if f.pad]),
          "Count the entries of \"files\" with \"pad\": true.")


def test_q4_pad_lengths(answers: Answers, facts: Facts) -> None:
    """Q4: the length of each pad file, in bytes, in the order of the file list"""
    given = answers.integers("q4_pad_lengths")
    judge("q4_pad_lengths", given == [f.length for f in facts.hybrid.files if f.pad],
          "List the \"length\" of each pad file, in the order they appear.")


def test_q5_v1_client(answers: Answers, facts: Facts) -> None:
    """Q5: the info hash a v1-only client uses for the hybrid torrent (40 hex digits)"""
    given = answers.hex_digest("q5_v1_client_hash", 40)
    assert facts.hybrid.info_hash_v1 is not None
    judge("q5_v1_client_hash", given == facts.hybrid.info_hash_v1.hex(),
          "Which of the two hashes of `btref info lab1/btref-sample.torrent` is SHA-1?")


def test_q5_v2_client(answers: Answers, facts: Facts) -> None:
    """Q5: the info hash a v2 client uses for the hybrid torrent (64 hex digits, in full)"""
    given = answers.hex_digest("q5_v2_client_hash", 64)
    assert facts.hybrid.info_hash_v2 is not None
    judge("q5_v2_client_hash", given == facts.hybrid.info_hash_v2.hex(),
          "Which of the two hashes is SHA-256?")
