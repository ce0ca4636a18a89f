"""Group "framing": length-prefixed messages on a stream that arrives in pieces (BEP 3 "peer messages")."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from btref import wire
from lab5_grading import refuses, student


def test_keep_alive_and_interested() -> None:
    """build_message(None) is the keep-alive 00 00 00 00; build_message(2) is interested, 00 00 00 01 02"""
    build = student("messages").build_message
    assert build(None) == b"\x00\x00\x00\x00"
    assert build(wire.Interested.ID) == wire.encode(wire.Interested())
    assert build(wire.Unchoke.ID) == wire.encode(wire.Unchoke())


@given(msg_id=st.integers(0, 255), payload=st.binary(max_size=300))
def test_build_message_counts_the_id_in_the_length(msg_id: int, payload: bytes) -> None:
    """build_message: a 4-byte big-endian length that counts the id byte and the payload, then both"""
    assert student("messages").build_message(msg_id, payload) == (1 + len(payload)).to_bytes(4, "big") + bytes(
        [msg_id]) + payload


def test_one_whole_message() -> None:
    """parse_message of a whole 'have 7' returns (Message(4, payload), 9): the message and the bytes it used"""
    messages = student("messages")
    frame = wire.encode(wire.Have(7))
    msg, used = messages.parse_message(frame)
    assert (msg.id, bytes(msg.payload), used) == (4, b"\x00\x00\x00\x07", 9)


def test_keep_alive_is_parsed() -> None:
    """parse_message of 00 00 00 00 is a keep-alive: (Message(None, b''), 4)"""
    msg, used = student("messages").parse_message(b"\x00\x00\x00\x00")
    assert (msg.id, bytes(msg.payload), used) == (None, b"", 4)


def test_incomplete_buffers_wait_for_more() -> None:
    """parse_message returns (None, 0) for every prefix of a message: part of the length, or part of the payload"""
    parse = student("messages").parse_message
    frame = wire.encode(wire.Request(1, 16384, 16384))
    for cut in range(len(frame)):
        assert parse(frame[:cut]) == (None, 0), f"parse_message of the first {cut} of {len(frame)} bytes"


def test_the_rest_of_the_buffer_is_left() -> None:
    """parse_message takes only the first message; what follows is parsed by the next call"""
    parse = student("messages").parse_message
    stream = wire.encode(wire.Unchoke()) + wire.encode(wire.Have(3)) + b"\x00\x00"
    first, used = parse(stream)
    assert (first.id, used) == (1, 5)
    second, used2 = parse(stream[used:])
    assert (second.id, bytes(second.payload), used2) == (4, b"\x00\x00\x00\x03", 9)
    assert parse(stream[used + used2 :]) == (None, 0)


def test_unknown_ids_are_framed_like_any_other() -> None:
    """parse_message frames an id it does not know (an extension's) instead of refusing it"""
    msg, used = student("messages").parse_message(b"\x00\x00\x00\x04\x63xyz")
    assert (msg.id, bytes(msg.payload), used) == (0x63, b"xyz", 8)


MESSAGES = st.one_of(
    st.just(wire.KeepAlive()), st.just(wire.Choke()), st.just(wire.Unchoke()), st.just(wire.Interested()),
    st.builds(wire.Have, st.integers(0, 2**32 - 1)),
    st.builds(wire.Bitfield, st.binary(max_size=40)),
    st.builds(wire.Request, st.integers(0, 5000), st.integers(0, 2**20), st.integers(1, 16384)),
    st.builds(wire.Piece, st.integers(0, 5000), st.integers(0, 2**20), st.binary(max_size=2000)),
)


@given(msgs=st.lists(MESSAGES, max_size=8), cuts=st.lists(st.integers(0, 4000), max_size=10))
def test_a_stream_cut_anywhere(msgs: list[wire.Message], cuts: list[int]) -> None:
    """Fed a stream in reads of any size, parse_message gives back every message, in order, exactly once"""
    parse = student("messages").parse_message
    stream = b"".join(wire.encode(m) for m in msgs)
    edges = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    buffer, got = b"", []
    for start, end in zip(edges, edges[1:]):
        buffer += stream[start:end]  # one read from the socket
        while True:
            msg, used = parse(buffer)
            if msg is None:
                break
            assert used > 0
            got.append((msg.id, bytes(msg.payload)))
            buffer = buffer[used:]
    expected = [(getattr(m, "ID", None), wire.encode(m)[5:]) for m in msgs]
    assert got == expected and buffer == b""


def test_a_long_length_is_refused_from_the_prefix_alone() -> None:
    """parse_message raises WireError as soon as a length prefix above max_length is in, before any body"""
    parse = student("messages").parse_message
    refuses(lambda: parse((1001).to_bytes(4, "big"), max_length=1000),
            what="the 4 bytes of a length prefix of 1001, with max_length=1000")
    refuses(parse, b"\xff\xff\xff\xff\x07", what="a length prefix of 4 GiB (ff ff ff ff), default max_length")


def test_a_length_at_the_limit_is_accepted() -> None:
    """parse_message accepts a message whose length is exactly max_length"""
    msg, used = student("messages").parse_message((1000).to_bytes(4, "big") + b"\x05" + bytes(999), max_length=1000)
    assert (msg.id, len(msg.payload), used) == (5, 999, 1004)


def test_the_default_limit_takes_a_full_block() -> None:
    """parse_message's default max_length lets a piece message with a 16 KiB block through"""
    frame = wire.encode(wire.Piece(0, 0, bytes(16384)))
    msg, used = student("messages").parse_message(frame)
    assert (msg.id, used) == (7, len(frame))
