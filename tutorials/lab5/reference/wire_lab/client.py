"""Lab 5 reference, part 2: a downloading peer, on :class:`btref.connection.Connection`.

btref's own driver (:class:`btref.net.driver.Client`) downloads a whole torrent into a
folder with any number of peers; the lab's interface is one peer, one piece at a time, one
file. So this is a short loop of its own: the ``Connection`` checks the handshake and cuts
the stream into :mod:`btref.wire` messages (with its size limits), and the loop keeps the
lab's state (``choked``, ``pieces``) and checks each piece's SHA-1.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import deque

from btref import wire
from btref.connection import Connection
from btref.io.torrent_file import load
from btref.net.driver import make_peer_id
from btref.pieceset import PieceSet

from wire_lab.messages import BLOCK_SIZE, Message, WireError

READ_SIZE = 65536


class Peer:
    """One connection to a peer, after the handshake. Build it with :meth:`connect`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection) -> None:
        self.reader, self.writer, self.conn = reader, writer, conn
        self.num_pieces = conn.num_pieces
        self.peer_id = b""
        self.pieces: set[int] = set()
        self.choked = True
        self.inbox: deque[wire.Message | wire.Handshake] = deque()

    @classmethod
    async def connect(cls, host: str, port: int, info_hash: bytes, peer_id: bytes, num_pieces: int) -> Peer:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            raise WireError(f"cannot connect to {host}:{port}: {exc}") from exc
        # The framing needs no piece sizes: only a downloader's bookkeeping would.
        peer = cls(reader, writer, Connection(num_pieces, lambda index: 0, peer_id=peer_id, info_hash=info_hash))
        try:
            await peer.send(peer.conn.send(peer.conn.handshake()))
            handshake = await peer._next()
        except BaseException:
            await peer.close()
            raise
        assert isinstance(handshake, wire.Handshake)  # the Connection yields it first
        peer.peer_id = handshake.peer_id
        return peer

    async def send(self, data: bytes) -> None:
        try:
            self.writer.write(data)
            await self.writer.drain()
        except OSError as exc:
            raise WireError(f"cannot send: {exc}") from exc

    async def _next(self) -> wire.Message | wire.Handshake:
        while not self.inbox:
            try:
                data = await self.reader.read(READ_SIZE)
            except OSError as exc:
                raise WireError(f"connection lost: {exc}") from exc
            if not data:
                raise WireError("the peer closed the connection")
            self.inbox.extend(self.conn.receive_data(data))
        msg = self.inbox.popleft()
        if isinstance(msg, wire.Bitfield):
            self.pieces |= set(PieceSet.from_bytes(msg.payload, self.num_pieces))
        elif isinstance(msg, wire.Have):
            self.pieces.add(msg.index)
        elif isinstance(msg, (wire.Choke, wire.Unchoke)):
            self.choked = isinstance(msg, wire.Choke)
        return msg

    async def receive(self) -> Message:
        msg = await self._next()
        frame = b"".join(wire.encode_parts(msg))
        return Message(frame[4] if len(frame) > 4 else None, frame[5:])

    async def wait_unchoked(self) -> None:
        await self.send(self.conn.send(wire.Interested()))
        while self.choked:
            await self.receive()

    async def download_piece(self, index: int, length: int, piece_hash: bytes) -> bytes:
        wanted = {begin: min(BLOCK_SIZE, length - begin) for begin in range(0, length, BLOCK_SIZE)}
        await self.send(b"".join(self.conn.send(wire.Request(index, begin, size)) for begin, size in wanted.items()))
        blocks: dict[int, bytes] = {}
        while len(blocks) < len(wanted):
            msg = await self._next()
            if isinstance(msg, wire.Choke):
                raise WireError(f"choked before piece {index} was complete")
            if isinstance(msg, wire.Piece) and msg.index == index and wanted.get(msg.begin) == len(msg.block):
                blocks[msg.begin] = bytes(msg.block)
        data = b"".join(blocks[begin] for begin in sorted(blocks))
        if hashlib.sha1(data).digest() != piece_hash:
            raise WireError(f"piece {index} fails its SHA-1 check")
        return data

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


async def download(torrent_path: str | os.PathLike[str], host: str, port: int,
                   out_path: str | os.PathLike[str]) -> None:
    torrent = load(torrent_path)
    peer = await Peer.connect(host, port, torrent.info_hash, make_peer_id(), torrent.num_pieces)
    try:
        await peer.wait_unchoked()
        with open(out_path, "wb") as out:  # piece by piece, each verified before it is written
            for index in range(torrent.num_pieces):
                out.write(await peer.download_piece(index, torrent.piece_size(index), torrent.piece_hashes[index]))
    finally:
        await peer.close()
