"""Group "lying seeder": a seeder that sends a corrupt block of piece 3 (BEP 3: a piece counts
only once its SHA-1 matches the torrent's).

The seeder also leaves the last piece out of its bitfield and announces it with a ``have``
just before it unchokes us.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab5_grading import LIE, PIECE_LENGTH, Address, Sample, check_pieces, check_unchoked, run, student

pytestmark = pytest.mark.timeout(120)  # a client that blocks the event loop cannot hang the grading


def test_have_after_the_bitfield(lying_seeder: Address, sample: Sample) -> None:
    """Peer.pieces takes the bitfield, then every have: this seeder announces its last piece with a have"""
    check_unchoked(lying_seeder, sample, set(range(sample.torrent.num_pieces)))


def test_its_good_pieces_are_taken(lying_seeder: Address, sample: Sample) -> None:
    """download_piece accepts the pieces whose hash matches, even from a peer that lies about another one"""
    check_pieces(lying_seeder, sample, [LIE - 1, LIE + 1])


def test_the_corrupt_piece_is_refused(lying_seeder: Address, sample: Sample) -> None:
    """download_piece raises WireError when the piece's SHA-1 differs from the torrent's piece hash"""
    t, WireError = sample.torrent, student("messages").WireError

    async def scenario() -> None:
        peer = await student("client").Peer.connect(lying_seeder.host, lying_seeder.port, t.info_hash,
                                                    b"-LB0005-lyingtest001", t.num_pieces)
        try:
            await peer.wait_unchoked()
            with pytest.raises(WireError):
                await peer.download_piece(LIE, t.piece_size(LIE), t.piece_hashes[LIE])
        finally:
            await peer.close()

    run(scenario(), f"download_piece of the corrupt piece {LIE}")


def test_download_keeps_no_unverified_bytes(lying_seeder: Address, sample: Sample, tmp_path: Path) -> None:
    """download raises WireError on the corrupt piece, and the file holds no byte of it (only verified pieces)"""
    out, t = tmp_path / "lab5-sample.bin", sample.torrent

    async def scenario() -> None:
        with pytest.raises(student("messages").WireError):
            await student("client").download(sample.torrent_path, lying_seeder.host, lying_seeder.port, out)

    run(scenario(), "download from the lying seeder")
    data = out.read_bytes() if out.exists() else b""
    for index in range(t.num_pieces):
        region = data[index * PIECE_LENGTH : index * PIECE_LENGTH + t.piece_size(index)]
        assert region in (sample.piece(index), bytes(len(region))), (
            f"the file holds unverified bytes in piece {index}: write a piece only after its hash check")
