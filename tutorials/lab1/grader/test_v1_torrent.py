"""Steps 2 and 3 of Lab 1: the v1 torrent, its pieces, its keys and its info hash (BEP 3
"metainfo files")."""

from __future__ import annotations

from answer_sheet import Answers, judge
from lab1_grading import Facts


def test_q1_pieces(answers: Answers, facts: Facts) -> None:
    """Q1: the number of pieces of lab1/v1.torrent (btref create and btref info print it)"""
    judge("q1_pieces", answers.integer("q1_pieces") == facts.v1.num_pieces,
          "Read the line `wrote lab1/v1.torrent: ...` of Step 2.")


def test_q1_last_piece_length(answers: Answers, facts: Facts) -> None:
    """Q1: the last piece is what is left of the 68,920 bytes after the full pieces"""
    given = answers.integer("q1_last_piece_length")
    v1 = facts.v1
    judge("q1_last_piece_length", given == v1.piece_size(v1.num_pieces - 1),
          "Subtract the full pieces' bytes from the total size (in bytes, not KiB).")


def test_q2_info_keys(answers: Answers, facts: Facts) -> None:
    """Q2: the keys of the info dictionary of lab1/v1.torrent, as they are spelled in the file"""
    given = answers.words("q2_info_keys")
    judge("q2_info_keys", given == {k.decode() for k in facts.v1_top[b"info"]},
          "List every key of the info dictionary once, spelled as in the bytes (e.g. \"piece length\"), "
          "and no key of the dictionaries inside it.")


def test_q2_outer_keys(answers: Answers, facts: Facts) -> None:
    """Q2: the keys of lab1/v1.torrent that lie outside the info dictionary"""
    given = answers.words("q2_outer_keys")
    judge("q2_outer_keys", given == {k.decode() for k in facts.v1_top if k != b"info"},
          "List the top-level keys of the file other than \"info\" itself.")


def test_q3_info_hash(answers: Answers, facts: Facts) -> None:
    """Q3: the v1 info hash of lab1/v1.torrent, 40 hex digits"""
    given = answers.hex_digest("q3_info_hash", 40)
    assert facts.v1.info_hash_v1 is not None
    judge("q3_info_hash", given == facts.v1.info_hash_v1.hex(),
          "Copy it from `btref info lab1/v1.torrent`, and make the torrent exactly as in Step 2.")


def test_q3_tracker(answers: Answers, facts: Facts) -> None:
    """Q3: does adding --tracker change the info hash? Try it: where does the tracker go in the file?"""
    given = answers.boolean("q3_tracker_changes_hash")
    changed = facts.create("tracker.torrent", "--tracker", "http://example.org/announce").info_hash != facts.v1.info_hash
    judge("q3_tracker_changes_hash", given == changed,
          "Make the torrent with --tracker and compare the two info hashes.")


def test_q3_private(answers: Answers, facts: Facts) -> None:
    """Q3: does adding --private change the info hash? Try it: where does the private flag go?"""
    given = answers.boolean("q3_private_changes_hash")
    changed = facts.create("private.torrent", "--private").info_hash != facts.v1.info_hash
    judge("q3_private_changes_hash", given == changed,
          "Make the torrent with --private and compare the two info hashes.")
