"""Lab 5 reference, part 1: the messages as bytes, by :mod:`btref.wire` (BEP 3 "peer messages")."""

from __future__ import annotations

import struct
from typing import NamedTuple

from btref import wire
from btref.errors import ProtocolError as WireError
from btref.pieceset import PieceSet

PROTOCOL = wire.PROTOCOL
HANDSHAKE_LENGTH = wire.HANDSHAKE_LENGTH
BLOCK_SIZE = wire.BLOCK_SIZE
MAX_LENGTH = 1 << 17
CHOKE, UNCHOKE, INTERESTED, NOT_INTERESTED, HAVE, BITFIELD, REQUEST, PIECE, CANCEL = range(9)

__all__ = ["WireError", "Message", "build_handshake", "parse_handshake", "build_message", "parse_message",
           "build_request", "parse_have", "parse_bitfield", "parse_piece"]


class Message(NamedTuple):
    """One message: its ``id`` (``None`` for a keep-alive) and its ``payload``."""

    id: int | None
    payload: bytes


def build_handshake(info_hash: bytes, peer_id: bytes) -> bytes:
    return wire.encode(wire.Handshake(info_hash, peer_id))  # ValueError for a wrong size


def parse_handshake(data: bytes, info_hash: bytes) -> bytes:
    handshake = wire.parse_handshake(data)
    if handshake.info_hash != info_hash:
        raise WireError(f"peer answered for info hash {handshake.info_hash.hex()}, not {info_hash.hex()}")
    return handshake.peer_id


def build_message(msg_id: int | None, payload: bytes = b"") -> bytes:
    if msg_id is None:
        return wire.encode(wire.KeepAlive())
    return struct.pack(">IB", 1 + len(payload), msg_id) + payload


def parse_message(buffer: bytes, max_length: int = MAX_LENGTH) -> tuple[Message | None, int]:
    # btref frames inside Connection.receive_data, which also wants the handshake first;
    # the lab's framing stands alone, so it is these few lines.
    if len(buffer) < 4:
        return None, 0
    (length,) = struct.unpack_from(">I", buffer)
    if length > max_length:
        raise WireError(f"message of {length} bytes exceeds the limit of {max_length}")
    if len(buffer) < 4 + length:
        return None, 0
    if length == 0:
        return Message(None, b""), 4
    return Message(buffer[4], bytes(buffer[5 : 4 + length])), 4 + length


def build_request(index: int, begin: int, length: int) -> bytes:
    return wire.encode(wire.Request(index, begin, length))


def parse_have(payload: bytes) -> int:
    have = wire.decode_body(bytes([HAVE]) + payload)
    assert isinstance(have, wire.Have)
    return have.index


def parse_bitfield(payload: bytes, num_pieces: int) -> set[int]:
    return set(PieceSet.from_bytes(payload, num_pieces))


def parse_piece(payload: bytes) -> tuple[int, int, bytes]:
    piece = wire.decode_body(bytes([PIECE]) + payload)
    assert isinstance(piece, wire.Piece)
    return piece.index, piece.begin, bytes(piece.block)
