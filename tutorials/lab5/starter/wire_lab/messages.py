"""Lab 5, part 1: the peer wire messages as bytes (BEP 3 "peer protocol", "peer messages").

Nothing in this module touches a socket: bytes in, values out, and the other way round.
The network code in ``client.py`` uses these functions, and the grader tests them on
their own, with inputs a hostile peer could send.

A connection starts with a 68-byte handshake each way::

    <19><"BitTorrent protocol"><8 reserved bytes><20-byte info hash><20-byte peer id>

then carries messages, each ``<length: 4 bytes, big-endian><id: 1 byte><payload>``, where
``length`` counts the id and the payload. A length of 0 (no id, no payload) is a
keep-alive. Integers in payloads are 4 bytes, big-endian.

Read ``docs/core/wire.md`` ("The handshake", "Messages", "Bitfields") as you go.
"""

from __future__ import annotations

from typing import NamedTuple

#: The protocol string of the handshake, sent after its length (19).
PROTOCOL = b"BitTorrent protocol"
#: Bytes in a handshake: 1 + 19 + 8 + 20 + 20.
HANDSHAKE_LENGTH = 68
#: The size of a block, the unit of a request: 16 KiB (larger requests are refused by most clients).
BLOCK_SIZE = 16 * 1024
#: The longest message ``parse_message`` accepts by default: a ``piece`` message with a
#: full block is 9 + 16384 bytes; a bitfield of 100,000 pieces is 12,501. Anything longer
#: is a peer trying to make us buffer what it merely claims.
MAX_LENGTH = 1 << 17

# The message ids of BEP 3.
CHOKE, UNCHOKE, INTERESTED, NOT_INTERESTED, HAVE, BITFIELD, REQUEST, PIECE, CANCEL = range(9)


class WireError(Exception):
    """The peer broke the protocol or sent data we cannot accept (a bad handshake, a
    message too long, a piece that fails its hash check). The connection should close."""


class Message(NamedTuple):
    """One message: its ``id`` (``None`` for a keep-alive) and its ``payload`` (the bytes after the id)."""

    id: int | None
    payload: bytes


def build_handshake(info_hash: bytes, peer_id: bytes) -> bytes:
    """The 68 bytes of our handshake, with the 8 reserved bytes all zero (no extensions).

    ``info_hash`` and ``peer_id`` are 20 bytes each; raise ``ValueError`` otherwise.
    """
    raise NotImplementedError


def parse_handshake(data: bytes, info_hash: bytes) -> bytes:
    """Check the peer's 68-byte handshake and return its 20-byte peer id.

    Raise :class:`WireError` unless ``data`` is exactly 68 bytes, starts with 19 and
    ``BitTorrent protocol``, and carries ``info_hash`` (a peer that answers for another
    torrent is not our peer). The reserved bytes may hold anything: ignore them.
    """
    raise NotImplementedError


def build_message(msg_id: int | None, payload: bytes = b"") -> bytes:
    """One framed message: the 4-byte length, the id, the payload. ``None`` is a keep-alive
    (four zero bytes, no id). For example, ``build_message(INTERESTED)`` is the five
    bytes ``00 00 00 01 02``.
    """
    raise NotImplementedError


def parse_message(buffer: bytes, max_length: int = MAX_LENGTH) -> tuple[Message | None, int]:
    """The first complete message at the start of ``buffer``, and how many bytes it used.

    TCP delivers a stream, not messages: a read may end in the middle of a length prefix
    or of a payload, and may hold several messages. So:

    * if ``buffer`` does not hold a whole message yet, return ``(None, 0)`` (the caller
      reads more and calls again with the longer buffer);
    * else return ``(Message(id, payload), 4 + length)``; a keep-alive is ``Message(None, b"")``.

    Raise :class:`WireError` when the length prefix is above ``max_length``, as soon as
    the 4 bytes of the prefix are in (never wait for, or buffer, the body a peer claims).
    Any id is framed the same way: deciding what an id means is not this function's job.
    """
    raise NotImplementedError


def build_request(index: int, begin: int, length: int) -> bytes:
    """A framed ``request`` message: id 6, then ``index``, ``begin`` and ``length`` (4 bytes each)."""
    raise NotImplementedError


def parse_have(payload: bytes) -> int:
    """The piece index of a ``have`` payload (exactly 4 bytes, else :class:`WireError`)."""
    raise NotImplementedError


def parse_bitfield(payload: bytes, num_pieces: int) -> set[int]:
    """The pieces a ``bitfield`` payload says the peer has.

    Piece 0 is the high bit of the first byte. The payload has exactly
    ``ceil(num_pieces / 8)`` bytes, and the spare bits after the last piece are zero;
    raise :class:`WireError` when either rule is broken.
    """
    raise NotImplementedError


def parse_piece(payload: bytes) -> tuple[int, int, bytes]:
    """``(index, begin, block)`` of a ``piece`` payload; :class:`WireError` if it is shorter than 8 bytes."""
    raise NotImplementedError
