"""Group "btref seeder": the student's client against btref's own seeder on 127.0.0.1 (BEP 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab5_grading import SEEDER_ID, Address, Sample, check_download, check_handshake, check_pieces, check_unchoked, \
    check_wrong_info_hash

pytestmark = pytest.mark.timeout(120)  # a client that blocks the event loop cannot hang the grading


def test_handshake(btref_seeder: Address, sample: Sample) -> None:
    """Peer.connect swaps handshakes with btref's seeder and keeps the peer id it sent (Peer.peer_id)"""
    assert check_handshake(btref_seeder, sample) == SEEDER_ID


def test_a_torrent_it_does_not_serve(btref_seeder: Address, sample: Sample) -> None:
    """Peer.connect raises WireError when the seeder hangs up on an info hash it does not serve"""
    check_wrong_info_hash(btref_seeder, sample)


def test_bitfield_and_unchoke(btref_seeder: Address, sample: Sample) -> None:
    """wait_unchoked sends interested and reads until unchoke; the seeder's bitfield fills Peer.pieces"""
    check_unchoked(btref_seeder, sample, set(range(sample.torrent.num_pieces)))


def test_one_piece(btref_seeder: Address, sample: Sample) -> None:
    """download_piece requests the piece's two 16 KiB blocks and returns the piece, checked"""
    check_pieces(btref_seeder, sample, [0])


def test_the_short_last_piece(btref_seeder: Address, sample: Sample) -> None:
    """download_piece of the last piece (20,000 bytes): its second block is 3,616 bytes, not 16 KiB"""
    check_pieces(btref_seeder, sample, [sample.torrent.num_pieces - 1])


def test_several_pieces_on_one_connection(btref_seeder: Address, sample: Sample) -> None:
    """download_piece can be called again and again on one Peer (pieces 4, 1, 5 in that order)"""
    check_pieces(btref_seeder, sample, [4, 1, 5])


def test_the_whole_file(btref_seeder: Address, sample: Sample, tmp_path: Path) -> None:
    """download writes the whole file, every piece verified, from btref's seeder"""
    check_download(btref_seeder, sample, tmp_path / "lab5-sample.bin")
