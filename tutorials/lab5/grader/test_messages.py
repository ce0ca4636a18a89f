"""Group "messages": the payloads of have, bitfield, request and piece (BEP 3 "peer messages")."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from btref import wire
from btref.pieceset import PieceSet
from lab5_grading import refuses, student

u32 = st.integers(0, 2**32 - 1)


@given(index=u32, begin=u32, length=u32)
def test_request_bytes(index: int, begin: int, length: int) -> None:
    """build_request: length 13, id 6, then index, begin and length as 4-byte big-endian integers"""
    assert student("messages").build_request(index, begin, length) == wire.encode(wire.Request(index, begin, length))


@given(index=u32)
def test_have(index: int) -> None:
    """parse_have reads the 4-byte big-endian piece index of a have payload"""
    assert student("messages").parse_have(index.to_bytes(4, "big")) == index


def test_have_of_the_wrong_size() -> None:
    """parse_have raises WireError unless the payload is exactly 4 bytes"""
    for payload in [b"", b"\x00\x00\x01", b"\x00\x00\x00\x01\x00"]:
        refuses(student("messages").parse_have, payload, what=f"a have payload of {len(payload)} bytes")


def test_bitfield_example() -> None:
    """parse_bitfield: piece 0 is the high bit of the first byte (10 pieces, a0 40 -> {0, 2, 9})"""
    assert student("messages").parse_bitfield(b"\xa0\x40", 10) == {0, 2, 9}


@given(data=st.data(), num_pieces=st.integers(1, 200))
def test_bitfield_of_any_pieces(data: st.DataObject, num_pieces: int) -> None:
    """parse_bitfield gives back exactly the pieces whose bits are set"""
    pieces = data.draw(st.sets(st.integers(0, num_pieces - 1)))
    field = PieceSet(num_pieces)
    for index in pieces:
        field.set(index)
    assert student("messages").parse_bitfield(field.to_bytes(), num_pieces) == pieces


BAD_BITFIELDS = [
    (b"\xff", 10, "1 byte for 10 pieces"),
    (b"\xff\xc0\x00", 10, "3 bytes for 10 pieces"),
    (b"\xff\xe0", 10, "ff e0 for 10 pieces (a spare bit set)"),
    (b"\x01", 7, "01 for 7 pieces (the one spare bit set)"),
    (b"", 1, "no bytes for 1 piece"),
]


def test_bad_bitfields_are_refused() -> None:
    """parse_bitfield raises WireError for the wrong number of bytes or a spare bit set after the last piece"""
    for payload, num_pieces, what in BAD_BITFIELDS:
        refuses(student("messages").parse_bitfield, payload, num_pieces, what=f"a bitfield of {what}")


@given(index=u32, begin=u32, block=st.binary(max_size=1000))
def test_piece(index: int, begin: int, block: bytes) -> None:
    """parse_piece returns (index, begin, block): two 4-byte integers, then the block"""
    payload = wire.encode(wire.Piece(index, begin, block))[5:]
    got = student("messages").parse_piece(payload)
    assert (got[0], got[1], bytes(got[2])) == (index, begin, block)


def test_short_piece_is_refused() -> None:
    """parse_piece raises WireError for a payload shorter than its 8 bytes of index and begin"""
    for payload in [b"", b"\x00" * 7]:
        refuses(student("messages").parse_piece, payload, what=f"a piece payload of {len(payload)} bytes")
