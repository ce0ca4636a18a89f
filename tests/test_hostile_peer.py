"""A peer that sends corrupt blocks is banned; the download completes from an honest peer.

The hostile peer is a small asyncio server written here: it speaks the peer wire protocol
through :mod:`btref.wire` (handshake, a full bitfield, unchoke) and answers every request
with a block of the right size and the wrong bytes. The leecher knows only that peer at
first, so the bad pieces and the ban happen before any honest data arrives; then it is
told about an honest seed (btref or libtorrent) and must finish with the right file.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from btref import wire
from btref.pieceset import PieceSet
from btref.connection import Connection
from btref.errors import ProtocolError
from btref.metainfo import Torrent
from btref.net.driver import Client, make_peer_id
from btref.net.events import read_events
from tests.test_driver import make_torrent, run, same_tree


class HostilePeer:
    """Claims every piece and serves garbage; counts its connections."""

    def __init__(self, torrent: Torrent) -> None:
        self.torrent = torrent
        self.connections = 0
        self.blocks_sent = 0
        self.rng = random.Random(7)
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> HostilePeer:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        t = self.torrent
        conn = Connection(t.num_pieces, t.piece_size, peer_id=make_peer_id(), info_hashes={t.info_hash},
                          initiator=False)
        try:
            while data := await reader.read(65536):
                for msg in conn.receive_data(data):
                    if isinstance(msg, wire.Handshake):
                        full = PieceSet.full(t.num_pieces).to_bytes()
                        writer.write(conn.send(conn.handshake()) + conn.send(wire.Bitfield(full)))
                    elif isinstance(msg, wire.Interested):
                        writer.write(conn.send(wire.Unchoke()))
                    elif isinstance(msg, wire.Request):
                        garbage = self.rng.randbytes(msg.length)
                        writer.write(conn.send(wire.Piece(msg.index, msg.begin, garbage)))
                        self.blocks_sent += 1
                await writer.drain()
        except (OSError, ProtocolError):  # the leecher hangs up on us, as it should
            pass
        finally:
            writer.close()


async def _honest_btref(torrent: Torrent, src: Path, stack: Any) -> str:
    seeder = await stack.enter_async_context(Client(torrent, src, host="127.0.0.1", seed=True, discovery=()))
    return f"127.0.0.1:{seeder.port}"


@pytest.mark.parametrize("honest", ["btref", "libtorrent"])
def test_corrupt_blocks_get_the_peer_banned(tmp_path: Path, honest: str) -> None:
    data, torrent, src = make_torrent(tmp_path, "hybrid")
    dst = tmp_path / "dst"
    lt_side = None
    if honest == "libtorrent":
        from tests.ltsession import LT

        lt_side = LT()

    async def scenario() -> None:
        from contextlib import AsyncExitStack

        async with AsyncExitStack() as stack:
            hostile = await stack.enter_async_context(HostilePeer(torrent))
            leech = await stack.enter_async_context(Client(
                torrent, dst, host="127.0.0.1", peers=[f"127.0.0.1:{hostile.port}"], discovery=(),
                events=tmp_path / "ev.jsonl"))
            while not leech.banned:  # bounded by run()'s timeout
                await asyncio.sleep(0.02)
            assert leech.banned == {("127.0.0.1", hostile.port)}
            assert leech.stats()["pieces"] == 0
            # A banned peer is never dialled again, even when a tracker names it once more.
            leech.add_peer(f"127.0.0.1:{hostile.port}")
            leech.redial(leech.loop.time())
            if lt_side is not None:
                handle = lt_side.add(data, src)
                await lt_side.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")
                honest_peer = f"127.0.0.1:{lt_side.port}"
            else:
                honest_peer = await _honest_btref(torrent, src, stack)
            leech.add_peer(honest_peer)
            leech.redial(leech.loop.time())
            assert await leech.run(), leech.error
            assert hostile.connections == 1 and hostile.blocks_sent >= 2

    try:
        run(scenario(), 90)
    finally:
        if lt_side is not None:
            lt_side.close()
    assert same_tree(src, dst)
    events = read_events(tmp_path / "ev.jsonl")
    assert any(e["event"] == "piece_failed" for e in events)
    banned = [e for e in events if e["event"] == "peer_banned"]
    assert len(banned) == 1 and "hash check" in banned[0]["reason"]
