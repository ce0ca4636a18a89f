"""The peer wire messages and their byte layout (BEP 3 "peer protocol"; BEP 5, 6, 10, 52).

Two peers talk over one TCP stream. It starts with a 68-byte *handshake*::

    <19><"BitTorrent protocol"><8 reserved bytes><20-byte info hash><20-byte peer id>

and then carries *messages*, each framed as ``<length: 4 bytes big-endian><id: 1 byte><payload>``
where ``length`` counts the id and the payload. A length of 0 (no id) is a keep-alive.

This module knows the *layout* only: one attrs value class per message, :func:`encode`
(and :func:`encode_parts`, which never copies a ``piece`` block) and :func:`decode_body`,
which turns one framed body back into a message. *When* a message is allowed (bitfield
only first, fast messages only if both peers said so, request limits) is the job of
:mod:`btref.connection`.

Message ids: choke 0, unchoke 1, interested 2, not interested 3, have 4, bitfield 5,
request 6, piece 7, cancel 8 (BEP 3 "peer messages"); port 9 (BEP 5); suggest 13, have all
14, have none 15, reject 16, allowed fast 17 (BEP 6 "fast extension"); extended 20 (BEP 10);
hash request 21, hashes 22, hash reject 23 (BEP 52).

Invariants: every value class is frozen; every integer field is checked to fit its wire
width when the message is built, so :func:`encode` cannot fail on a built message; and
:func:`decode_body` raises only :class:`~btref.errors.ProtocolError`.
"""

from __future__ import annotations

import struct
from typing import Callable, ClassVar, Union

import attrs

from btref.errors import ProtocolError

__all__ = [
    "PROTOCOL", "HANDSHAKE_LENGTH", "BLOCK_SIZE", "EXTENSION_BIT", "FAST_BIT", "DHT_BIT",
    "V2_BIT", "make_reserved", "has_bit", "Handshake", "KeepAlive", "Choke", "Unchoke",
    "Interested", "NotInterested", "Have", "Bitfield", "Request", "Piece", "Cancel", "Port",
    "Suggest", "HaveAll", "HaveNone", "Reject", "AllowedFast", "Extended", "HashRequest",
    "Hashes", "HashReject", "Message", "MESSAGE_TYPES", "encode", "encode_parts",
    "decode_body", "decode", "parse_handshake",
]

#: The protocol string of the handshake (BEP 3), preceded on the wire by its length, 19.
PROTOCOL = b"BitTorrent protocol"
#: Bytes in a handshake: 1 + 19 + 8 + 20 + 20.
HANDSHAKE_LENGTH = 68
#: The block, btref's one unit of transfer: 16 KiB. Every client requests blocks of this
#: size (BEP 3: larger requests are commonly refused), and BEP 52 merkle leaves hash
#: blocks of the same size. The only definition in btref.
BLOCK_SIZE = 16 * 1024

# Reserved bits: (byte index, mask) in the 8 reserved bytes of the handshake.
#: BEP 10 extension protocol: ``reserved[5] & 0x10``.
EXTENSION_BIT = (5, 0x10)
#: BEP 6 fast extension: ``reserved[7] & 0x04``.
FAST_BIT = (7, 0x04)
#: BEP 5 DHT (the peer may send a ``port`` message): ``reserved[7] & 0x01``.
DHT_BIT = (7, 0x01)
#: BEP 52 "upgrade to v2": ``reserved[7] & 0x10``.
V2_BIT = (7, 0x10)


def make_reserved(*, extension: bool = False, fast: bool = False, dht: bool = False, v2: bool = False) -> bytes:
    """The 8 reserved handshake bytes with the chosen bits set."""
    out = bytearray(8)
    for wanted, (byte, mask) in ((extension, EXTENSION_BIT), (fast, FAST_BIT), (dht, DHT_BIT), (v2, V2_BIT)):
        if wanted:
            out[byte] |= mask
    return bytes(out)


def has_bit(reserved: bytes, bit: tuple[int, int]) -> bool:
    """Whether ``reserved`` has ``bit`` (one of the ``*_BIT`` constants) set."""
    byte, mask = bit
    return bool(reserved[byte] & mask)


# -- field validators: a built message always fits its wire layout ---------------------


def _uint(bits: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    top = (1 << bits) - 1

    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if type(value) is not int or not 0 <= value <= top:  # (a bool's type is bool, not int)
            raise ValueError(f"{type(instance).__name__}.{attribute.name} must be an int in 0..{top}, got {value!r}")

    return check


def _sized(size: int) -> Callable[[object, attrs.Attribute[bytes], bytes], None]:
    def check(instance: object, attribute: attrs.Attribute[bytes], value: bytes) -> None:
        if len(value) != size:
            raise ValueError(f"{type(instance).__name__}.{attribute.name} must be {size} bytes, got {len(value)}")

    return check


_U8, _U16, _U32 = _uint(8), _uint(16), _uint(32)


@attrs.frozen
class Handshake:
    """The first 68 bytes each side sends (BEP 3 "handshake")."""

    info_hash: bytes = attrs.field(validator=_sized(20))
    peer_id: bytes = attrs.field(validator=_sized(20))
    reserved: bytes = attrs.field(default=bytes(8), validator=_sized(8))

    @property
    def supports_extension(self) -> bool:
        """BEP 10 bit set."""
        return has_bit(self.reserved, EXTENSION_BIT)

    @property
    def supports_fast(self) -> bool:
        """BEP 6 bit set."""
        return has_bit(self.reserved, FAST_BIT)

    @property
    def supports_dht(self) -> bool:
        """BEP 5 bit set."""
        return has_bit(self.reserved, DHT_BIT)

    @property
    def supports_v2(self) -> bool:
        """BEP 52 bit set."""
        return has_bit(self.reserved, V2_BIT)


@attrs.frozen
class KeepAlive:
    """A zero-length message: "I am still here" (BEP 3; send one every 2 minutes or so)."""


# Messages without a payload. ID is a ClassVar, so attrs leaves it out of the fields.
@attrs.frozen
class Choke:
    """I will not answer your requests (BEP 3)."""
    ID: ClassVar[int] = 0


@attrs.frozen
class Unchoke:
    """I will answer your requests (BEP 3)."""
    ID: ClassVar[int] = 1


@attrs.frozen
class Interested:
    """You have pieces I want (BEP 3)."""
    ID: ClassVar[int] = 2


@attrs.frozen
class NotInterested:
    """You have nothing I want (BEP 3)."""
    ID: ClassVar[int] = 3


@attrs.frozen
class HaveAll:
    """I have every piece: a seed's short bitfield (BEP 6)."""
    ID: ClassVar[int] = 0x0E


@attrs.frozen
class HaveNone:
    """I have no piece yet (BEP 6)."""
    ID: ClassVar[int] = 0x0F


@attrs.frozen
class Have:
    """I just got piece ``index`` and checked it (BEP 3)."""
    ID: ClassVar[int] = 4
    index: int = attrs.field(validator=_U32)


@attrs.frozen
class Suggest:
    """You might like piece ``index`` (BEP 6; advisory)."""
    ID: ClassVar[int] = 0x0D
    index: int = attrs.field(validator=_U32)


@attrs.frozen
class AllowedFast:
    """You may request blocks of piece ``index`` even while I choke you (BEP 6)."""
    ID: ClassVar[int] = 0x11
    index: int = attrs.field(validator=_U32)


@attrs.frozen
class Bitfield:
    """Which pieces I have, piece 0 in the high bit of the first byte (BEP 3)."""
    ID: ClassVar[int] = 5
    payload: bytes


@attrs.frozen
class Request:
    """Send me ``length`` bytes of piece ``index`` from offset ``begin`` (BEP 3)."""
    ID: ClassVar[int] = 6
    index: int = attrs.field(validator=_U32)
    begin: int = attrs.field(validator=_U32)
    length: int = attrs.field(validator=_U32)


@attrs.frozen
class Cancel:
    """Forget my request with these fields (BEP 3; used in end game)."""
    ID: ClassVar[int] = 8
    index: int = attrs.field(validator=_U32)
    begin: int = attrs.field(validator=_U32)
    length: int = attrs.field(validator=_U32)


@attrs.frozen
class Reject:
    """I will not answer your request with these fields (BEP 6)."""
    ID: ClassVar[int] = 0x10
    index: int = attrs.field(validator=_U32)
    begin: int = attrs.field(validator=_U32)
    length: int = attrs.field(validator=_U32)


@attrs.frozen
class Piece:
    """A block of data: ``block`` is piece ``index`` from offset ``begin`` (BEP 3).

    ``block`` may be any bytes-like object (a ``memoryview`` into a read buffer, say):
    :func:`encode_parts` hands it to the socket without copying it.
    """

    ID: ClassVar[int] = 7
    index: int = attrs.field(validator=_U32)
    begin: int = attrs.field(validator=_U32)
    block: bytes | memoryview


@attrs.frozen
class Port:
    """My DHT node listens on UDP ``port`` (BEP 5)."""
    ID: ClassVar[int] = 9
    port: int = attrs.field(validator=_U16)


@attrs.frozen
class Extended:
    """A BEP 10 message: ``ext_id`` 0 is the extension handshake, others as agreed in ``m``."""
    ID: ClassVar[int] = 20
    ext_id: int = attrs.field(validator=_U8)
    payload: bytes


@attrs.frozen
class HashRequest:
    """Send me hashes of a file's merkle tree (BEP 52 "hash request")."""
    ID: ClassVar[int] = 21
    pieces_root: bytes = attrs.field(validator=_sized(32))
    base_layer: int = attrs.field(validator=_U32)
    index: int = attrs.field(validator=_U32)
    length: int = attrs.field(validator=_U32)
    proof_layers: int = attrs.field(validator=_U32)


@attrs.frozen
class HashReject:
    """I will not answer that hash request (BEP 52 "hash reject"; same fields)."""
    ID: ClassVar[int] = 23
    pieces_root: bytes = attrs.field(validator=_sized(32))
    base_layer: int = attrs.field(validator=_U32)
    index: int = attrs.field(validator=_U32)
    length: int = attrs.field(validator=_U32)
    proof_layers: int = attrs.field(validator=_U32)


@attrs.frozen
class Hashes:
    """The answer to a hash request: the request's fields, then 32-byte hashes (BEP 52)."""
    ID: ClassVar[int] = 22
    pieces_root: bytes = attrs.field(validator=_sized(32))
    base_layer: int = attrs.field(validator=_U32)
    index: int = attrs.field(validator=_U32)
    length: int = attrs.field(validator=_U32)
    proof_layers: int = attrs.field(validator=_U32)
    hashes: bytes = b""


Message = Union[
    KeepAlive, Choke, Unchoke, Interested, NotInterested, Have, Bitfield, Request, Piece, Cancel,
    Port, Suggest, HaveAll, HaveNone, Reject, AllowedFast, Extended, HashRequest, Hashes, HashReject,
]

#: Every framed message class by its id.
MESSAGE_TYPES: dict[int, type[Message]] = {
    cls.ID: cls
    for cls in (Choke, Unchoke, Interested, NotInterested, Have, Bitfield, Request, Piece, Cancel, Port,
                Suggest, HaveAll, HaveNone, Reject, AllowedFast, Extended, HashRequest, Hashes, HashReject)
}

# Fixed-layout payloads: the struct format after the id byte. The variable ones
# (bitfield, piece, extended, hashes) are handled by name below.
_FIXED: dict[type[Message], struct.Struct] = {
    cls: struct.Struct(fmt)
    for cls, fmt in (
        (Choke, ">"), (Unchoke, ">"), (Interested, ">"), (NotInterested, ">"), (HaveAll, ">"),
        (HaveNone, ">"), (Have, ">I"), (Suggest, ">I"), (AllowedFast, ">I"), (Port, ">H"),
        (Request, ">III"), (Cancel, ">III"), (Reject, ">III"),
        (HashRequest, ">32sIIII"), (HashReject, ">32sIIII"),
    )
}
_HEADER = struct.Struct(">IB")  # length prefix and id
_PIECE_HEADER = struct.Struct(">IBII")  # ... and index, begin
_REQUEST = struct.Struct(">IBIII")
_HASHES_HEAD = struct.Struct(">32sIIII")
_KEEPALIVE = bytes(4)


def encode_parts(msg: Message | Handshake) -> list[bytes | memoryview]:
    """The wire bytes of ``msg`` as a list of buffers, for ``writelines``/``sendmsg``.

    A :class:`Piece` gives ``[header, block]`` with ``block`` itself (not a copy): the
    16 KiB of data are the bulk of all traffic, and a seeder should not copy them twice.
    """
    if type(msg) is Piece:
        return [_PIECE_HEADER.pack(9 + len(msg.block), Piece.ID, msg.index, msg.begin), msg.block]
    if type(msg) is Request:  # one per block we download: its own line, no generic lookup
        return [_REQUEST.pack(13, Request.ID, msg.index, msg.begin, msg.length)]
    if isinstance(msg, Handshake):
        return [bytes((len(PROTOCOL),)) + PROTOCOL + msg.reserved + msg.info_hash + msg.peer_id]
    if isinstance(msg, KeepAlive):
        return [_KEEPALIVE]
    layout = _FIXED.get(type(msg))
    if layout is not None:
        body = layout.pack(*[getattr(msg, field.name) for field in attrs.fields(type(msg))])
    elif isinstance(msg, Bitfield):
        body = msg.payload
    elif isinstance(msg, Extended):
        body = bytes((msg.ext_id,)) + msg.payload
    elif isinstance(msg, Hashes):
        body = _HASHES_HEAD.pack(msg.pieces_root, msg.base_layer, msg.index, msg.length, msg.proof_layers) + msg.hashes
    else:
        raise TypeError(f"not a peer wire message: {msg!r}")
    return [_HEADER.pack(1 + len(body), msg.ID) + body]


def encode(msg: Message | Handshake) -> bytes:
    """The wire bytes of ``msg`` (length prefix included) as one ``bytes``."""
    parts = encode_parts(msg)
    first = parts[0]
    return first if len(parts) == 1 and isinstance(first, bytes) else b"".join(parts)


def decode_body(body: bytes | memoryview) -> Message:
    """Turn one message body (the id and payload, *without* the length prefix) into a message.

    An empty body is a keep-alive. A ``piece`` message's block is a view of ``body``
    (its 16 KiB are copied once, later, into the piece's buffer); every other message
    holds copies, so only a caller that keeps blocks must leave their buffer unchanged.

    :raises ProtocolError: for an unknown id or a payload of the wrong size.
    """
    if len(body) == 0:
        return KeepAlive()
    msg_id = body[0]
    cls = MESSAGE_TYPES.get(msg_id)
    if cls is None:
        raise ProtocolError(f"unknown message id {msg_id}")
    payload = body[1:]
    layout = _FIXED.get(cls)
    if layout is not None:
        if len(payload) != layout.size:
            name = cls.__name__.lower()
            raise ProtocolError(f"{name} message with a {len(payload)}-byte payload (expected {layout.size})")
        return cls(*layout.unpack(payload))
    if cls is Piece:
        if len(payload) < 8:
            raise ProtocolError(f"piece message with a {len(payload)}-byte payload (at least 8 expected)")
        index, begin = struct.unpack_from(">II", payload)
        return Piece(index, begin, memoryview(payload)[8:])
    if cls is Extended:
        if len(payload) < 1:
            raise ProtocolError("extended message without an extension id")
        return Extended(payload[0], bytes(payload[1:]))
    if cls is Hashes:
        if len(payload) < _HASHES_HEAD.size or (len(payload) - _HASHES_HEAD.size) % 32:
            raise ProtocolError(f"hashes message with a {len(payload)}-byte payload (48 + a multiple of 32 expected)")
        root, base_layer, index, length, proof_layers = _HASHES_HEAD.unpack_from(payload)
        return Hashes(root, base_layer, index, length, proof_layers, bytes(payload[_HASHES_HEAD.size:]))
    return Bitfield(bytes(payload))


def decode(data: bytes | memoryview) -> Message:
    """Decode exactly one framed message (length prefix included), e.g. a test vector.

    :raises ProtocolError: if the length prefix does not match the data.
    """
    if len(data) < 4:
        raise ProtocolError(f"message of {len(data)} bytes has no complete length prefix")
    (length,) = struct.unpack_from(">I", data)
    if length != len(data) - 4:
        raise ProtocolError(f"length prefix says {length} bytes but {len(data) - 4} follow")
    return decode_body(memoryview(data)[4:])


def parse_handshake(data: bytes | memoryview) -> Handshake:
    """Parse the 68 bytes of a handshake.

    :raises ProtocolError: for a wrong size or a protocol string other than BEP 3's.
    """
    if len(data) != HANDSHAKE_LENGTH:
        raise ProtocolError(f"handshake of {len(data)} bytes (expected {HANDSHAKE_LENGTH})")
    data = bytes(data)
    if data[0] != len(PROTOCOL) or data[1:20] != PROTOCOL:
        raise ProtocolError(f"handshake does not start with 19 'BitTorrent protocol': {data[:20]!r}")
    return Handshake(info_hash=data[28:48], peer_id=data[48:68], reserved=data[20:28])
