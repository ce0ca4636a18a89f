"""Group "libtorrent seeder": the student's client against libtorrent 2 on 127.0.0.1 (BEP 3).

libtorrent is another implementation, written by other people: a client that only works
with btref has learnt btref, not BitTorrent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab5_grading import Address, Sample, check_download, check_handshake, check_pieces, check_unchoked

pytestmark = pytest.mark.timeout(120)  # a client that blocks the event loop cannot hang the grading


def test_handshake(libtorrent_seeder: Address, sample: Sample) -> None:
    """Peer.connect swaps handshakes with libtorrent (its peer id starts with -LT)"""
    assert check_handshake(libtorrent_seeder, sample).startswith(b"-LT")


def test_bitfield_and_unchoke(libtorrent_seeder: Address, sample: Sample) -> None:
    """wait_unchoked with libtorrent: skip the messages you do not need, fill Peer.pieces from its bitfield"""
    check_unchoked(libtorrent_seeder, sample, set(range(sample.torrent.num_pieces)))


def test_pieces(libtorrent_seeder: Address, sample: Sample) -> None:
    """download_piece from libtorrent, the short last piece included"""
    check_pieces(libtorrent_seeder, sample, [2, sample.torrent.num_pieces - 1])


def test_the_whole_file(libtorrent_seeder: Address, sample: Sample, tmp_path: Path) -> None:
    """download writes the whole file from libtorrent, every piece verified"""
    check_download(libtorrent_seeder, sample, tmp_path / "lab5-sample.bin")
