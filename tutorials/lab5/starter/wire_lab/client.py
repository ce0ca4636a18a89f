"""Lab 5, part 2: a downloading peer in plain asyncio (BEP 3 "peer protocol").

One :class:`Peer` is one TCP connection to a seeder. The life of a download, in the order
you write it:

1. :meth:`Peer.connect`: open the connection, swap handshakes, check the peer's;
2. :meth:`Peer.receive`: read one message at a time (``parse_message`` cuts the stream),
   keeping track of what the peer says: choke/unchoke, bitfield, have;
3. :meth:`Peer.wait_unchoked`: say ``interested``, wait for ``unchoke``;
4. :meth:`Peer.download_piece`: request a piece's blocks, put them together, check the
   piece's SHA-1 against the torrent, and never hand out a piece that fails;
5. :func:`download`: all of it for every piece of a torrent, into a file.

Plain asyncio only (``asyncio.open_connection``, ``reader.read``/``readexactly``,
``writer.write``/``drain``): no blocking socket calls, no ``time.sleep``.
"""

from __future__ import annotations

import asyncio
import os

from wire_lab.messages import Message, WireError  # noqa: F401  (and the rest of messages.py as you need it)


class Peer:
    """One connection to a peer, after the handshake. Build it with :meth:`connect`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer_id: bytes,
                 num_pieces: int) -> None:
        self.reader, self.writer = reader, writer
        #: The 20-byte id the peer sent in its handshake.
        self.peer_id = peer_id
        #: Pieces in the torrent (a bitfield's size depends on it).
        self.num_pieces = num_pieces
        #: The pieces the peer has: its bitfield, then every ``have`` it sends.
        self.pieces: set[int] = set()
        #: Whether the peer chokes us. Every connection starts choked (BEP 3).
        self.choked = True
        #: Bytes read from the socket that do not make a whole message yet.
        self.buffer = b""

    @classmethod
    async def connect(cls, host: str, port: int, info_hash: bytes, peer_id: bytes, num_pieces: int) -> Peer:
        """Open a TCP connection to ``host:port``, send our handshake and check the peer's.

        Raise :class:`WireError` when the connection fails or closes before the peer's
        68 bytes arrived (a peer that does not serve ``info_hash`` simply hangs up), or
        when ``parse_handshake`` refuses them. Close the connection before raising.
        """
        raise NotImplementedError

    async def send(self, data: bytes) -> None:
        """Send ``data`` (one or more framed messages) and wait until it is handed to the socket."""
        raise NotImplementedError

    async def receive(self) -> Message:
        """The next message from the peer, keep-alives included.

        Read from the socket until :attr:`buffer` holds a whole message (``parse_message``),
        then keep what the message says: ``choke``/``unchoke`` set :attr:`choked`,
        ``bitfield`` and ``have`` add to :attr:`pieces`. Ids you do not know (a peer may
        speak extensions) are returned like any other message. Raise :class:`WireError`
        when the peer closes the connection.
        """
        raise NotImplementedError

    async def wait_unchoked(self) -> None:
        """Tell the peer we are ``interested``, then receive until it unchokes us."""
        raise NotImplementedError

    async def download_piece(self, index: int, length: int, piece_hash: bytes) -> bytes:
        """Piece ``index`` (``length`` bytes), checked against its 20-byte SHA-1 ``piece_hash``.

        Request it in blocks of ``BLOCK_SIZE`` bytes (the last block may be shorter), all
        at once or a few at a time; receive until every block is in, put the blocks in
        order of ``begin``, and check the hash. Raise :class:`WireError` if the piece
        fails its check (never return data you have not verified), or if the peer chokes
        us before the piece is complete.
        """
        raise NotImplementedError

    async def close(self) -> None:
        """Close the connection (and wait until it is closed)."""
        raise NotImplementedError


async def download(torrent_path: str | os.PathLike[str], host: str, port: int,
                   out_path: str | os.PathLike[str]) -> None:
    """Download the (single-file, v1) torrent at ``torrent_path`` from the seeder at
    ``host:port`` into the file ``out_path``.

    Read the torrent with btref (``from btref.io.torrent_file import load``: ``info_hash``,
    ``num_pieces``, ``piece_size(i)``, ``piece_hashes[i]``); make a peer id of 20 bytes
    of your own (e.g. ``b"-LB0005-"`` and 12 random bytes); connect, wait to be unchoked,
    and download every piece. ``out_path`` may only ever hold verified data: a piece that
    fails its check raises :class:`WireError`, and none of its bytes reach the file.
    Close the connection in every case.
    """
    raise NotImplementedError

