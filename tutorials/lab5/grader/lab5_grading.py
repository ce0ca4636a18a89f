"""What the live groups of Lab 5's grader share: the sample's facts, running the student's
coroutines with a bound, and the checks made against each seeder (BEP 3 "peer protocol").

The student's modules are imported inside the checks, not at the top of a test file, so a
module that does not import yet fails each test with its error instead of hiding the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from btref.metainfo import Torrent

#: The sample: 7 pieces of 32 KiB, the last one 20,000 bytes (one full block, one of 3,616).
PIECE_LENGTH = 32768
SIZE = 6 * PIECE_LENGTH + 20000
#: The piece the lying seeder corrupts.
LIE = 3
#: The peer id of btref's seeder, so a test can check the student read the peer's handshake.
SEEDER_ID = b"-RF0100-lab5seeder01"
#: Seconds a live test gives the student's code before it fails (a bound on a hang, not a
#: speed test: the reference needs a small fraction of a second).
LIVE_TIMEOUT = 20.0


class Address(NamedTuple):
    host: str
    port: int


class Sample(NamedTuple):
    torrent_path: Path
    raw: bytes  #: the .torrent file's bytes
    torrent: Torrent
    data: bytes  #: the file the torrent describes
    folder: Path  #: where the seeders find it

    def piece(self, index: int) -> bytes:
        return self.data[index * PIECE_LENGTH : index * PIECE_LENGTH + self.torrent.piece_size(index)]


def student(module: str) -> Any:
    """``wire_lab.<module>`` from the student's folder."""
    return importlib.import_module(f"wire_lab.{module}")


def refuses(call: Any, *args: Any, what: str, error: type[BaseException] | None = None) -> None:
    """``call(*args)`` must raise ``error`` (the student's WireError by default); the failure says ``what``."""
    error = error or student("messages").WireError
    try:
        result = call(*args)
    except error:
        return
    pytest.fail(f"{what}: expected {error.__name__}, got {result!r}"[:300])


def run(coro: Coroutine[Any, Any, Any], what: str, timeout: float = LIVE_TIMEOUT) -> Any:
    """Run ``coro`` in a fresh event loop; fail the test if it takes longer than ``timeout``."""

    async def bounded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    try:
        return asyncio.run(bounded())
    except TimeoutError:
        pytest.fail(f"{what} did not finish within {timeout:g} s (waiting for a message that never comes?)")


def new_peer_id() -> bytes:
    # A fresh id per connection: libtorrent hangs up on a second connection with the same id.
    return b"-LB0005-" + os.urandom(6).hex().encode()


@contextlib.asynccontextmanager
async def peer_at(address: Address, sample: Sample, info_hash: bytes | None = None) -> AsyncIterator[Any]:
    """The student's ``Peer.connect`` to ``address``, closed afterwards."""
    peer = await student("client").Peer.connect(address.host, address.port, info_hash or sample.torrent.info_hash,
                                                new_peer_id(), sample.torrent.num_pieces)
    try:
        yield peer
    finally:
        with contextlib.suppress(Exception):  # an unfinished close() must not hide the real result
            await peer.close()


# -- the checks each live seeder is put through ------------------------------------------------


def check_handshake(address: Address, sample: Sample) -> bytes:
    """Connect and return the peer id the student's Peer read from the seeder's handshake."""

    async def scenario() -> bytes:
        async with peer_at(address, sample) as peer:
            assert isinstance(peer.peer_id, bytes) and len(peer.peer_id) == 20, (
                f"Peer.peer_id should be the 20 bytes of the peer's id, not {peer.peer_id!r}")
            return peer.peer_id

    return bytes(run(scenario(), "Peer.connect"))


def check_wrong_info_hash(address: Address, sample: Sample) -> None:
    WireError = student("messages").WireError

    async def scenario() -> None:
        with pytest.raises(WireError):
            async with peer_at(address, sample, info_hash=bytes(20)):
                pass

    run(scenario(), "Peer.connect with an info hash the seeder does not serve")


def check_unchoked(address: Address, sample: Sample, expected: set[int]) -> None:
    async def scenario() -> None:
        async with peer_at(address, sample) as peer:
            await peer.wait_unchoked()
            assert peer.choked is False, "wait_unchoked returned, but Peer.choked is still true"
            assert set(peer.pieces) == expected, (
                f"the seeder has pieces {sorted(expected)}; Peer.pieces says {sorted(peer.pieces)}")

    run(scenario(), "Peer.wait_unchoked")


def check_pieces(address: Address, sample: Sample, indices: list[int]) -> None:
    t = sample.torrent

    async def scenario() -> list[bytes]:
        async with peer_at(address, sample) as peer:
            await peer.wait_unchoked()
            return [bytes(await peer.download_piece(i, t.piece_size(i), t.piece_hashes[i])) for i in indices]

    got = run(scenario(), f"Peer.download_piece of pieces {indices}")
    for index, data in zip(indices, got):
        assert len(data) == t.piece_size(index), f"piece {index}: {len(data)} bytes, expected {t.piece_size(index)}"
        assert data == sample.piece(index), f"piece {index}: the bytes differ from the seeder's file"


def check_download(address: Address, sample: Sample, out: Path) -> None:
    run(student("client").download(sample.torrent_path, address.host, address.port, out), "download")
    assert out.is_file(), f"download returned but wrote no file at {out}"
    data = out.read_bytes()
    assert len(data) == len(sample.data), f"the file has {len(data)} bytes, expected {len(sample.data)}"
    bad = [i for i in range(sample.torrent.num_pieces)
           if data[i * PIECE_LENGTH : i * PIECE_LENGTH + sample.torrent.piece_size(i)] != sample.piece(i)]
    assert not bad, f"pieces {bad} of the file differ from the seeder's"
