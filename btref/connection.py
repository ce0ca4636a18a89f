"""One peer connection's bytes, as a sans-I/O object: the handshake and message framing
(BEP 3 "peer protocol"; BEP 6, 10 handshake bits; BEP 52 truncated info hashes).

Like h11, a :class:`Connection` reads no socket. The driver feeds it the bytes it
received (:meth:`Connection.receive_data` gives back the messages they complete) and asks
it for the bytes of each message it wants to send (:meth:`Connection.send_parts`).

What it checks, so the session above it sees only well-formed messages:

* the handshake comes first (BEP 3), with the protocol string ``BitTorrent protocol``
  and an info hash we serve (a v2 torrent is known on the wire by its SHA-256 info hash
  truncated to 20 bytes, BEP 52); we send ours once, and nothing before both;
* every message is framed by its 4-byte length, and a message longer than its kind allows
  is refused as soon as its 5-byte header is in, *before* its body is buffered
  (a ``piece`` carries at most :data:`~btref.wire.BLOCK_SIZE` bytes, an extended payload
  at most :data:`MAX_EXTENDED_PAYLOAD`);
* each body has the size its kind says (:func:`btref.wire.decode_body`).

Breaking one of these raises :class:`~btref.errors.ProtocolError`; the connection is then
dead. What a message *means* (choke state, what the peer has, which requests are out) is
the session's to keep, in its :class:`~btref.peer.Peer`: one owner for each fact.

Speed by structure: a ``piece`` message's block is a :class:`memoryview` of the bytes
received, not a copy; the session copies it once, into the piece's buffer. A receive
buffer that has handed out views is never resized: a partial message left at the end of
a read moves to a fresh buffer.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from btref import wire
from btref.errors import ProtocolError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.metainfo import Torrent

__all__ = ["MAX_EXTENDED_PAYLOAD", "MAX_HASHES_PAYLOAD", "Connection", "info_hashes_of"]

#: Largest BEP 10 payload accepted (BEP 9 metadata pieces are 16 KiB; 1 MiB is generous).
MAX_EXTENDED_PAYLOAD = 1 << 20
#: Largest BEP 52 ``hashes`` payload: the 48-byte head and 512 + 32 proof hashes of 32 bytes.
MAX_HASHES_PAYLOAD = 48 + 32 * (512 + 32)
_LENGTH = struct.Struct(">I")

# Accepting an info hash: a fixed one, a set, or a callback that returns False (refuse),
# True (accept), or (num_pieces, piece_size) for a listener that serves several torrents.
Acceptor = Callable[[bytes], "bool | tuple[int, Callable[[int], int]]"]


def info_hashes_of(torrent: Torrent) -> frozenset[bytes]:
    """The 20-byte ids a torrent answers to on the wire: its SHA-1 info hash and/or its
    SHA-256 info hash truncated to 20 bytes (BEP 52: a hybrid torrent answers to both)."""
    ids = {torrent.info_hash_v1, torrent.info_hash_v2[:20] if torrent.info_hash_v2 else None}
    return frozenset(i for i in ids if i is not None)


class Connection:
    """The protocol state of one peer connection, with no I/O.

    ``num_pieces`` and ``piece_size`` (index -> bytes in that piece) describe the torrent;
    ``info_hash`` is the one we want (an initiator must give it), or ``info_hashes`` is a
    collection or callback deciding which handshakes a listener accepts (see
    :data:`Acceptor`). ``reserved`` are our 8 handshake bytes (:func:`btref.wire.make_reserved`).
    """

    def __init__(
        self,
        num_pieces: int,
        piece_size: Callable[[int], int],
        *,
        peer_id: bytes,
        info_hash: bytes | None = None,
        info_hashes: Collection[bytes] | Acceptor | None = None,
        reserved: bytes = bytes(8),
        initiator: bool = True,
    ) -> None:
        if info_hash is None and info_hashes is None:
            raise ValueError("give info_hash or info_hashes")
        if initiator and info_hash is None:
            raise ValueError("an initiator must know the info hash it asks for")
        self.num_pieces, self.piece_size = num_pieces, piece_size
        self.peer_id, self.reserved, self.initiator = peer_id, reserved, initiator
        self.info_hash = info_hash
        self._accept = info_hashes
        #: The peer's handshake, once received.
        self.peer_handshake: wire.Handshake | None = None
        self._sent_handshake = False
        self._buf = bytearray()  # the start of a message not yet complete
        self._failed: ProtocolError | None = None

    @property
    def fast(self) -> bool:
        """Both sides set the BEP 6 fast bit."""
        return self._both(wire.FAST_BIT)

    @property
    def extension(self) -> bool:
        """Both sides set the BEP 10 extension bit."""
        return self._both(wire.EXTENSION_BIT)

    def _both(self, bit: tuple[int, int]) -> bool:
        peer = self.peer_handshake
        return peer is not None and wire.has_bit(self.reserved, bit) and wire.has_bit(peer.reserved, bit)

    def handshake(self) -> wire.Handshake:
        """Our handshake (a listener knows its info hash only after the peer's)."""
        info_hash = self.info_hash
        if info_hash is None and self.peer_handshake is not None:
            info_hash = self.peer_handshake.info_hash
        if info_hash is None:
            raise ProtocolError("cannot send our handshake before we know the info hash")
        return wire.Handshake(info_hash, self.peer_id, self.reserved)

    # -- sending ---------------------------------------------------------------------------
    def send(self, msg: wire.Message | wire.Handshake) -> bytes:
        """Check that we may send ``msg`` now, update our state, and return its bytes."""
        return b"".join(self.send_parts(msg))

    def send_parts(self, msg: wire.Message | wire.Handshake) -> list[bytes | memoryview]:
        """Like :meth:`send`, but as buffers (:func:`btref.wire.encode_parts`: no block copy)."""
        self._check_alive()
        if isinstance(msg, wire.Handshake):
            if self._sent_handshake:
                raise ProtocolError("we already sent our handshake")
            if msg != self.handshake():
                raise ProtocolError(f"our handshake must be {self.handshake()!r}, not {msg!r}")
            self._sent_handshake = True
        elif not (self._sent_handshake and self.peer_handshake):
            raise ProtocolError(f"cannot send {type(msg).__name__} before both handshakes")
        return wire.encode_parts(msg)

    # -- receiving -------------------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray | memoryview) -> list[wire.Message | wire.Handshake]:
        """Feed bytes from the peer; return the messages they complete (the handshake first).

        A ``piece`` message's block is a view of these bytes (or of this connection's
        buffer): valid for as long as the caller keeps it, never changed afterwards.

        :raises ProtocolError: on the first rule the peer breaks; the connection is dead
            afterwards and every later call raises it again.
        """
        self._check_alive()
        if self._buf:  # the rest of a message begun in an earlier read
            self._buf += data
            data = self._buf
        out: list[wire.Message | wire.Handshake] = []
        view = memoryview(data)
        pos, end = 0, len(view)
        try:
            if self.peer_handshake is None:
                if end >= 1 and view[0] != len(wire.PROTOCOL):
                    raise ProtocolError(f"handshake starts with byte {view[0]}, not 19")
                if end < wire.HANDSHAKE_LENGTH:
                    self._buf = bytearray(view)
                    return out
                out.append(self._receive_handshake(wire.parse_handshake(view[: wire.HANDSHAKE_LENGTH])))
                pos = wire.HANDSHAKE_LENGTH
            # [docs: framing]
            while end - pos >= 4:
                (length,) = _LENGTH.unpack_from(view, pos)
                if length and end - pos >= 5:
                    self._check_length(view[pos + 4], length)
                if end - pos - 4 < length or (length and end - pos < 5):
                    break  # the rest of this message comes in a later read
                out.append(wire.decode_body(view[pos + 4 : pos + 4 + length]))
                pos += 4 + length
            # [/docs: framing]
        except ProtocolError as exc:
            self._failed = exc
            raise
        # A fresh buffer for the rest: the old one may back the blocks handed out.
        self._buf = bytearray(view[pos:]) if pos < end else bytearray()
        return out

    def _receive_handshake(self, hs: wire.Handshake) -> wire.Handshake:
        expected, accept = self.info_hash, self._accept
        # An initiator always knows its info hash (the constructor checks it).
        if expected is not None and (self.initiator or accept is None):
            if hs.info_hash != expected:
                raise ProtocolError(f"peer answered for info hash {hs.info_hash.hex()}, not {expected.hex()}")
        else:
            assert accept is not None  # the constructor wants info_hash or info_hashes
            verdict = accept(hs.info_hash) if callable(accept) else hs.info_hash in accept
            if not verdict:
                raise ProtocolError(f"peer asked for info hash {hs.info_hash.hex()}, which we do not serve")
            if isinstance(verdict, tuple):
                self.num_pieces, self.piece_size = verdict
            self.info_hash = hs.info_hash
        self.peer_handshake = hs
        return hs

    def _check_length(self, msg_id: int, length: int) -> None:
        """Refuse a message from its header alone, before its body is buffered."""
        cls = wire.MESSAGE_TYPES.get(msg_id)
        if cls is None:
            raise ProtocolError(f"unknown message id {msg_id} (length {length})")
        limit = {
            wire.Bitfield: 1 + (self.num_pieces + 7) // 8,
            wire.Piece: 9 + wire.BLOCK_SIZE,
            wire.Extended: 2 + MAX_EXTENDED_PAYLOAD,
            wire.Hashes: 1 + MAX_HASHES_PAYLOAD,
        }.get(cls, 64)
        if length > limit:
            raise ProtocolError(f"{cls.__name__.lower()} message of {length} bytes exceeds the limit of {limit}")

    def _check_alive(self) -> None:
        if self._failed is not None:
            raise ProtocolError(f"connection already failed: {self._failed}")
