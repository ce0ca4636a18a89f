"""One peer connection as a sans-I/O state machine (BEP 3 "peer protocol"; BEP 6, 10).

Like h11: a :class:`Connection` reads no socket. The driver feeds it the bytes it
received (:meth:`Connection.receive_data` gives back the messages they complete) and asks
it for the bytes of each message it wants to send (:meth:`Connection.send`). Both
directions are checked against the protocol, so a broken peer *and* a bug of our own
surface as a :class:`~btref.errors.ProtocolError` naming the rule.

Rules kept (each violation is a ``ProtocolError``; the connection is then dead):

* the handshake comes first (BEP 3), with the protocol string ``BitTorrent protocol`` and
  an info hash we serve (a v2 torrent is known on the wire by its SHA-256 info hash
  truncated to 20 bytes, BEP 52);
* ``bitfield`` (or BEP 6 ``have all``/``have none``) only as the first message after the
  handshake, exactly ``ceil(num_pieces / 8)`` bytes with the spare bits zero;
* piece indices below ``num_pieces``; ``request``, ``cancel``, ``reject`` and ``piece``
  inside the piece, at most 16 KiB (:data:`~btref.wire.BLOCK_SIZE`);
* BEP 6 messages only when both handshakes set the fast bit, BEP 10 ``extended`` only
  when both set the extension bit; a ``reject`` only for a request we made;
* a message longer than its kind allows is refused as soon as its 5-byte header is
  in, *before* its body is buffered; extended payloads are at most 1 MiB.

The choke/interest state lives in one table, :data:`CHOKE_TABLE`, which the code
follows and the book draws. The receive buffer is one ``bytearray`` parsed through a
``memoryview`` and compacted once per :meth:`~Connection.receive_data` call, so many
small messages cost linear time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from btref import wire
from btref.pieceset import PieceSet
from btref.errors import ProtocolError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.metainfo import Torrent

__all__ = ["CHOKE_TABLE", "EVENTS", "MAX_EXTENDED_PAYLOAD", "Connection", "info_hashes_of"]

# --- the choke/interest state machine: one table ----------------------------------------
# Data flows in two directions, each with its own state (choking, interested):
#   "upload"   (our data to the peer):  (am_choking, peer_interested)
#   "download" (the peer's data to us): (peer_choking, am_interested)
# Blocks flow in a direction only in state (False, True): unchoked and interested.
CHOKED, UNCHOKED = True, False
# [table-start]
#: (direction, (choking, interested), event) -> new (choking, interested).
#: A pair not listed leaves the state as it is (a repeated ``choke`` is legal and changes nothing).
CHOKE_TABLE: dict[tuple[str, tuple[bool, bool], str], tuple[bool, bool]] = {
    # upload: we choke or unchoke, the peer says whether it is interested
    ("upload", (CHOKED, False), "send unchoke"): (UNCHOKED, False),
    ("upload", (CHOKED, False), "recv interested"): (CHOKED, True),
    ("upload", (CHOKED, True), "send unchoke"): (UNCHOKED, True),
    ("upload", (CHOKED, True), "recv not interested"): (CHOKED, False),
    ("upload", (UNCHOKED, False), "send choke"): (CHOKED, False),
    ("upload", (UNCHOKED, False), "recv interested"): (UNCHOKED, True),
    ("upload", (UNCHOKED, True), "send choke"): (CHOKED, True),
    ("upload", (UNCHOKED, True), "recv not interested"): (UNCHOKED, False),
    # download: the peer chokes or unchokes us, we say whether we are interested
    ("download", (CHOKED, False), "recv unchoke"): (UNCHOKED, False),
    ("download", (CHOKED, False), "send interested"): (CHOKED, True),
    ("download", (CHOKED, True), "recv unchoke"): (UNCHOKED, True),
    ("download", (CHOKED, True), "send not interested"): (CHOKED, False),
    ("download", (UNCHOKED, False), "recv choke"): (CHOKED, False),
    ("download", (UNCHOKED, False), "send interested"): (UNCHOKED, True),
    ("download", (UNCHOKED, True), "recv choke"): (CHOKED, True),
    ("download", (UNCHOKED, True), "send not interested"): (UNCHOKED, False),
}
#: Which direction each message moves, and the event name it has in the table.
EVENTS: dict[tuple[bool, type], tuple[str, str]] = {
    # (sent by us?, message type) -> (direction, event)
    (True, wire.Choke): ("upload", "send choke"),
    (True, wire.Unchoke): ("upload", "send unchoke"),
    (False, wire.Interested): ("upload", "recv interested"),
    (False, wire.NotInterested): ("upload", "recv not interested"),
    (False, wire.Choke): ("download", "recv choke"),
    (False, wire.Unchoke): ("download", "recv unchoke"),
    (True, wire.Interested): ("download", "send interested"),
    (True, wire.NotInterested): ("download", "send not interested"),
}
# [table-end]

#: Largest BEP 10 payload accepted (BEP 9 metadata pieces are 16 KiB; 1 MiB is generous).
MAX_EXTENDED_PAYLOAD = 1 << 20
#: Largest BEP 52 ``hashes`` payload: the 48-byte head and 512 + 32 proof hashes of 32 bytes.
MAX_HASHES_PAYLOAD = 48 + 32 * (512 + 32)
_FAST = (wire.HaveAll, wire.HaveNone, wire.Suggest, wire.Reject, wire.AllowedFast)
_FIRST = (wire.Bitfield, wire.HaveAll, wire.HaveNone)
_BLOCK_MSGS = (wire.Request, wire.Cancel)

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
        # "first": the next message may be a bitfield; "open": it may not.
        self._phase = {"send": "first", "recv": "first"}
        #: Per direction, (choking, interested); see :data:`CHOKE_TABLE`.
        self.state = {"upload": (True, False), "download": (True, False)}
        #: The pieces the peer has (from bitfield, have all/none and have messages).
        self.peer_pieces = PieceSet(num_pieces)
        #: Requests we sent and have not had answered (piece, reject, or choke without BEP 6).
        self.requested: set[tuple[int, int, int]] = set()
        #: Pieces the peer lets us request while it chokes us (BEP 6 allowed fast).
        self.allowed_fast: set[int] = set()
        self._buf = bytearray()
        self._failed: ProtocolError | None = None

    # -- state, by the names BEP 3 uses ------------------------------------------------
    @property
    def am_choking(self) -> bool:
        return self.state["upload"][0]

    @property
    def peer_interested(self) -> bool:
        return self.state["upload"][1]

    @property
    def peer_choking(self) -> bool:
        return self.state["download"][0]

    @property
    def am_interested(self) -> bool:
        return self.state["download"][1]

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
        else:
            if not (self._sent_handshake and self.peer_handshake):
                raise ProtocolError(f"cannot send {type(msg).__name__} before both handshakes")
            self._apply(msg, ours=True)
        return wire.encode_parts(msg)

    # -- receiving -------------------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray | memoryview) -> list[wire.Message | wire.Handshake]:
        """Feed bytes from the peer; return the messages they complete (the handshake first).

        :raises ProtocolError: on the first rule the peer breaks; the connection is dead
            afterwards and every later call raises it again.
        """
        self._check_alive()
        self._buf += data
        out: list[wire.Message | wire.Handshake] = []
        pos = 0
        try:
            with memoryview(self._buf) as view:
                end = len(view)
                if self.peer_handshake is None:
                    if end >= 1 and view[0] != len(wire.PROTOCOL):
                        raise ProtocolError(f"handshake starts with byte {view[0]}, not 19")
                    if end < wire.HANDSHAKE_LENGTH:
                        return out
                    out.append(self._receive_handshake(wire.parse_handshake(view[: wire.HANDSHAKE_LENGTH])))
                    pos = wire.HANDSHAKE_LENGTH
                while end - pos >= 4:
                    (length,) = struct.unpack_from(">I", view, pos)
                    if length and end - pos >= 5:
                        self._check_length(view[pos + 4], length)
                    elif length:
                        break
                    if end - pos - 4 < length:
                        break
                    msg = wire.decode_body(view[pos + 4 : pos + 4 + length])
                    pos += 4 + length
                    self._apply(msg, ours=False)
                    out.append(msg)
        except ProtocolError as exc:
            self._failed = exc
            raise
        finally:
            del self._buf[:pos]
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
                self.peer_pieces = PieceSet(self.num_pieces)
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

    # -- the rules, for both directions -----------------------------------------------------
    def _apply(self, msg: wire.Message, *, ours: bool) -> None:
        who = "we" if ours else "peer"
        side = "send" if ours else "recv"
        name = type(msg).__name__
        if isinstance(msg, wire.KeepAlive):
            return
        if isinstance(msg, _FAST) and not self.fast:
            raise ProtocolError(f"{who} sent {name} but the fast extension (BEP 6) was not agreed")
        if isinstance(msg, wire.Extended) and not self.extension:
            raise ProtocolError(f"{who} sent extended but the extension protocol (BEP 10) was not agreed")
        first = self._phase[side] == "first"
        if not isinstance(msg, (wire.Extended, wire.Port)):  # sent around the bitfield by real clients
            self._phase[side] = "open"
        if isinstance(msg, _FIRST):
            if not first:
                raise ProtocolError(f"{who} sent {name} after other messages (only allowed first)")
            if isinstance(msg, wire.Bitfield):  # checks size and spare bits, both directions
                pieces = PieceSet.from_bytes(msg.payload, self.num_pieces)
            else:
                pieces = PieceSet.full(self.num_pieces) if isinstance(msg, wire.HaveAll) else PieceSet(self.num_pieces)
            if not ours:
                self.peer_pieces = pieces
            return
        event = EVENTS.get((ours, type(msg)))
        if event is not None:
            direction, what = event
            self.state[direction] = CHOKE_TABLE.get((direction, self.state[direction], what), self.state[direction])
            if what == "recv choke" and not self.fast:
                self.requested.clear()  # BEP 3: a choke drops every pending request
            return
        # A reject echoes a request (even a bad one): it is checked against ``requested`` only.
        if isinstance(msg, (wire.Have, wire.Suggest, wire.AllowedFast, wire.Piece, *_BLOCK_MSGS)):
            self._check_index(msg.index, who, name)
        if isinstance(msg, _BLOCK_MSGS):
            self._check_block(msg.index, msg.begin, msg.length, who, name)
        if isinstance(msg, wire.Piece):
            self._check_block(msg.index, msg.begin, len(msg.block), who, name)
        if ours:
            self._sent(msg)
        else:
            self._received(msg)

    def _sent(self, msg: wire.Message) -> None:
        if isinstance(msg, wire.Request):
            if self.peer_choking and msg.index not in self.allowed_fast:
                raise ProtocolError(f"we may not request piece {msg.index}: the peer chokes us")
            self.requested.add((msg.index, msg.begin, msg.length))
        elif isinstance(msg, wire.Cancel) and not self.fast:
            self.requested.discard((msg.index, msg.begin, msg.length))

    def _received(self, msg: wire.Message) -> None:
        if isinstance(msg, wire.Have):
            self.peer_pieces.set(msg.index)
        elif isinstance(msg, wire.AllowedFast):
            self.allowed_fast.add(msg.index)
        elif isinstance(msg, wire.Piece):
            self.requested.discard((msg.index, msg.begin, len(msg.block)))
        elif isinstance(msg, wire.Reject):
            key = (msg.index, msg.begin, msg.length)
            if key not in self.requested:
                raise ProtocolError(f"peer rejected a request we never made: {msg!r}")
            self.requested.discard(key)

    def _check_index(self, index: int, who: str, name: str) -> None:
        if index >= self.num_pieces:
            raise ProtocolError(f"{who} sent {name} for piece {index}, but the torrent has {self.num_pieces}")

    def _check_block(self, index: int, begin: int, length: int, who: str, name: str) -> None:
        if not 1 <= length <= wire.BLOCK_SIZE:
            raise ProtocolError(f"{who} sent {name} of {length} bytes (1..{wire.BLOCK_SIZE} allowed)")
        size = self.piece_size(index)
        if begin + length > size:
            span = f"{begin}..{begin + length}"
            raise ProtocolError(f"{who} sent {name} for bytes {span} of piece {index}, which has {size}")

    def _check_alive(self) -> None:
        if self._failed is not None:
            raise ProtocolError(f"connection already failed: {self._failed}")
