"""Your own quick tests for Lab 5 (BEP 3 "peer protocol"): run ``pytest`` in this folder while you work.

They all fail until you fill in ``wire_lab``; the grader (``btref lab grade 5 .``) has many
more, against btref, libtorrent and a seeder that lies. Add tests of your own here.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from btref.io.create import create_torrent
from btref.metainfo import parse
from btref.net.driver import Client

from wire_lab.client import download
from wire_lab.messages import INTERESTED, Message, build_handshake, build_message, parse_message

INFO_HASH = bytes(range(20))
PEER_ID = b"-LB0005-000000000000"


def test_handshake_layout() -> None:
    handshake = build_handshake(INFO_HASH, PEER_ID)
    assert len(handshake) == 68
    assert handshake[:20] == b"\x13BitTorrent protocol"
    assert handshake[20:28] == bytes(8)
    assert handshake[28:] == INFO_HASH + PEER_ID


def test_interested() -> None:
    assert build_message(INTERESTED) == b"\x00\x00\x00\x01\x02"


def test_a_message_in_two_reads() -> None:
    frame = b"\x00\x00\x00\x05\x04\x00\x00\x00\x07"  # have 7
    assert parse_message(frame[:6]) == (None, 0)
    assert parse_message(frame) == (Message(4, b"\x00\x00\x00\x07"), 9)


def test_download_from_a_btref_seeder(tmp_path: Path) -> None:
    """A real btref seeder on 127.0.0.1, in this test's event loop, serving 3 pieces."""
    (tmp_path / "seed").mkdir()
    data = random.Random(1).randbytes(2 * 32768 + 1000)
    (tmp_path / "seed" / "small.bin").write_bytes(data)
    torrent_file = tmp_path / "small.torrent"
    torrent_file.write_bytes(create_torrent(tmp_path / "seed" / "small.bin", version="v1", piece_length=32768))

    async def scenario() -> None:
        torrent = parse(torrent_file.read_bytes())
        async with Client(torrent, tmp_path / "seed", host="127.0.0.1", seed=True, discovery=()) as seeder:
            assert seeder.port is not None
            async with asyncio.timeout(10):
                await download(torrent_file, "127.0.0.1", seeder.port, tmp_path / "small.bin")

    asyncio.run(scenario())
    assert (tmp_path / "small.bin").read_bytes() == data
