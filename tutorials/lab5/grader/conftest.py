"""Lab 5's grader: the sample torrent and the three live seeders on 127.0.0.1 (BEP 3).

* ``sample``: a 7-piece single-file v1 torrent (32 KiB pieces, the last one 20,000 bytes:
  a full block and a short one), made by btref at grade time from fixed data;
* ``btref_seeder``: btref's own client (:class:`btref.net.driver.Client`) seeding it;
* ``libtorrent_seeder``: a libtorrent session seeding it (the recipe of ``tests/ltsession.py``);
* ``lying_seeder``: a seeder built on :class:`btref.connection.Connection` that sends
  piece :data:`LIE` with its first block inverted, and announces the last piece with a
  ``have`` after its bitfield.

Every seeder listens on a port the OS picks, serves every peer at once (btref's
``unchoke-all`` choker, libtorrent without an unchoke limit), so a connection a test left
open never starves the next test, and is stopped when the grading session ends. btref's
and the liar run on an event loop in a thread of their own: the student's code runs in the
main thread and cannot block them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

import btref
from btref import wire
from btref.connection import Connection
from btref.errors import ProtocolError
from btref.io.create import create_torrent
from btref.metainfo import parse
from btref.net.driver import Client
from btref.pieceset import PieceSet
from lab5_grading import LIE, PIECE_LENGTH, SEEDER_ID, SIZE, Address, Sample

CHECKOUT = Path(btref.__file__).resolve().parent.parent


class LoopThread:
    """An event loop in a thread of its own, for the seeders btref runs in this process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lab5-seeders", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    folder = tmp_path_factory.mktemp("lab5-seed")
    data = random.Random(5).randbytes(SIZE)
    (folder / "lab5-sample.bin").write_bytes(data)
    raw = create_torrent(folder / "lab5-sample.bin", version="v1", piece_length=PIECE_LENGTH)
    (folder / "lab5-sample.torrent").write_bytes(raw)
    return Sample(folder / "lab5-sample.torrent", raw, parse(raw), data, folder)


@pytest.fixture(scope="session")
def seeder_loop() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def btref_seeder(sample: Sample, seeder_loop: LoopThread) -> Iterator[Address]:
    seeder = Client(sample.torrent, sample.folder, host="127.0.0.1", seed=True, choker="unchoke-all",
                    discovery=(), peer_id=SEEDER_ID)
    seeder_loop.call(seeder.start())
    try:
        assert seeder.complete.is_set(), "btref's seeder found its data incomplete"
        assert seeder.port is not None
        yield Address("127.0.0.1", seeder.port)
    finally:
        seeder_loop.call(seeder.stop())


def _ltsession() -> Any:
    """btref's one libtorrent recipe (tests/ltsession.py), loaded by path: the student's
    folder comes first on sys.path and may well have a ``tests`` package of its own."""
    spec = importlib.util.spec_from_file_location("_btref_ltsession", CHECKOUT / "tests" / "ltsession.py")
    if spec is None or spec.loader is None:
        pytest.fail(f"btref's tests/ltsession.py is missing from {CHECKOUT}: grade in a source checkout")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def libtorrent_seeder(sample: Sample) -> Iterator[Address]:
    lt = pytest.importorskip("libtorrent", reason="libtorrent is not installed: python -m pip install libtorrent")
    ltsession = _ltsession()
    # No unchoke limit: every test's connection is served at once.
    session = lt.session(ltsession.loopback_settings(alert_mask=0, unchoke_slots_limit=-1))
    try:
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(lt.bdecode(sample.raw))
        params.save_path = str(sample.folder)
        handle = session.add_torrent(params)
        ltsession.wait_until(lambda: handle.status().is_seeding, "libtorrent's check of the seed's data",
                             timeout=30)
        yield Address("127.0.0.1", session.listen_port())
    finally:
        ltsession.close_session(session)
        del session


class LyingSeeder:
    """Serves the sample like a seeder, but inverts the first block of piece :data:`LIE`."""

    def __init__(self, sample: Sample) -> None:
        self.sample = sample
        self.torrent = sample.torrent
        self.open: set[asyncio.StreamWriter] = set()  # closed at the end, even if a test left one open

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self.torrent.num_pieces, self.torrent.piece_size, peer_id=b"-LIAR01-" + bytes(12),
                          info_hashes={self.torrent.info_hash}, initiator=False)
        self.open.add(writer)
        try:
            while data := await reader.read(65536):
                for msg in conn.receive_data(data):
                    answer = self.answer(conn, msg)
                    if answer is None:
                        return
                    writer.write(answer)
                await writer.drain()
        except (ProtocolError, OSError):
            pass  # a peer that breaks the protocol is hung up on, as btref does
        finally:
            self.open.discard(writer)
            writer.close()

    def answer(self, conn: Connection, msg: object) -> bytes | None:
        """The bytes to send for ``msg``; ``None`` to hang up."""
        last = self.torrent.num_pieces - 1
        if isinstance(msg, wire.Handshake):
            pieces = PieceSet.full(last + 1)
            pieces.clear(last)  # announced later, with a have
            return conn.send(conn.handshake()) + conn.send(wire.Bitfield(pieces.to_bytes()))
        if isinstance(msg, wire.Interested):
            return conn.send(wire.Have(last)) + conn.send(wire.Unchoke())
        if isinstance(msg, wire.Request):
            size = self.torrent.piece_size(msg.index) if msg.index <= last else 0
            if not (0 < msg.length <= wire.BLOCK_SIZE and msg.begin + msg.length <= size):
                return None
            start = msg.index * PIECE_LENGTH + msg.begin
            block = self.sample.data[start : start + msg.length]
            if msg.index == LIE and msg.begin == 0:
                block = bytes(b ^ 0xFF for b in block)
            return conn.send(wire.Piece(msg.index, msg.begin, block))
        return b""


@pytest.fixture(scope="session")
def lying_seeder(sample: Sample, seeder_loop: LoopThread) -> Iterator[Address]:
    liar = LyingSeeder(sample)

    async def start() -> asyncio.Server:
        return await asyncio.start_server(liar.serve, "127.0.0.1", 0)

    async def stop() -> None:
        server.close()
        for writer in list(liar.open):
            writer.close()
        await server.wait_closed()

    server = seeder_loop.call(start())
    try:
        yield Address("127.0.0.1", server.sockets[0].getsockname()[1])
    finally:
        seeder_loop.call(stop())
