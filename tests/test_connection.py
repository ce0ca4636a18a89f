"""Tests for btref.connection: the handshake and message framing, sans I/O (BEP 3, 6, 10, 52)."""

from __future__ import annotations

import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import wire
from btref.connection import MAX_EXTENDED_PAYLOAD, Connection, info_hashes_of
from btref.errors import ProtocolError

IH = bytes(range(20))
PIECES, PLEN, LAST = 10, 32768, 5000
BOTH = wire.make_reserved(fast=True, extension=True)


def size(index: int) -> int:
    return LAST if index == PIECES - 1 else PLEN


def make(initiator=True, reserved=BOTH, **kw):
    if initiator:
        kw.setdefault("info_hash", IH)
    return Connection(PIECES, size, peer_id=(b"A" if initiator else b"B") * 20, reserved=reserved,
                      initiator=initiator, **kw)


def pair(a_reserved=BOTH, b_reserved=BOTH):
    """An initiator ``a`` and a listener ``b`` after both handshakes."""
    a, b = make(True, a_reserved), make(False, b_reserved, info_hashes={IH})
    assert b.receive_data(a.send(a.handshake())) == [a.handshake()]
    assert a.receive_data(b.send(b.handshake()))[0].peer_id == b"B" * 20
    return a, b


def deliver(src, dst, *msgs):
    return dst.receive_data(b"".join(src.send(m) for m in msgs))


def raw(conn, *msgs):
    return conn.receive_data(b"".join(wire.encode(m) for m in msgs))


# -- handshake ------------------------------------------------------------------------


def test_handshake_negotiates_bits():
    a, b = pair()
    assert a.fast and a.extension and b.fast and b.extension
    a, b = pair(a_reserved=wire.make_reserved(fast=True), b_reserved=BOTH)
    assert a.fast and not a.extension and not b.extension


def test_listener_with_a_callback_learns_the_geometry():
    seen = []

    def accept(info_hash):
        seen.append(info_hash)
        return (3, lambda i: 100)

    a, b = make(), Connection(1, size, peer_id=b"B" * 20, info_hashes=accept, initiator=False)
    b.receive_data(a.send(a.handshake()))
    assert seen == [IH] and b.num_pieces == 3 and b.info_hash == IH and b.piece_size(0) == 100
    assert b.handshake().info_hash == IH


def test_listener_with_a_fixed_info_hash():
    a, b = make(), make(False, info_hash=IH)
    assert b.receive_data(a.send(a.handshake()))[0].info_hash == IH
    c = make(False, info_hash=bytes(20))
    with pytest.raises(ProtocolError, match="not " + bytes(20).hex()):
        c.receive_data(make().send(make().handshake()))


@pytest.mark.parametrize("accept", [{bytes(20)}, lambda ih: False])
def test_listener_refuses_other_torrents(accept):
    a, b = make(), make(False, info_hashes=accept)
    with pytest.raises(ProtocolError, match="which we do not serve"):
        b.receive_data(a.send(a.handshake()))


def test_initiator_refuses_an_answer_for_another_torrent():
    a = make()
    a.send(a.handshake())
    with pytest.raises(ProtocolError, match="peer answered for info hash"):
        a.receive_data(wire.encode(wire.Handshake(bytes(20), bytes(20))))


def test_bad_handshake_is_refused_at_the_first_byte():
    b = make(False, info_hashes={IH})
    with pytest.raises(ProtocolError, match="starts with byte 22"):
        b.receive_data(b"\x16\x03\x01")  # a TLS client hello
    with pytest.raises(ProtocolError, match="already failed"):
        b.receive_data(b"")
    with pytest.raises(ProtocolError, match="already failed"):
        b.send(wire.Choke())


def test_handshake_arrives_in_pieces():
    a, b = make(), make(False, info_hashes={IH})
    data = a.send(a.handshake())
    assert b.receive_data(data[:30]) == []
    assert b.receive_data(data[30:]) == [a.handshake()]


def test_handshake_errors_on_our_side():
    with pytest.raises(ValueError, match="info_hash or info_hashes"):
        Connection(1, size, peer_id=bytes(20), initiator=False)
    with pytest.raises(ValueError, match="initiator must know"):
        Connection(1, size, peer_id=bytes(20), info_hashes={IH})
    b = make(False, info_hashes={IH})
    with pytest.raises(ProtocolError, match="before we know the info hash"):
        b.handshake()
    a = make()
    with pytest.raises(ProtocolError, match="our handshake must be"):
        a.send(wire.Handshake(IH, bytes(20)))
    with pytest.raises(ProtocolError, match="before both handshakes"):
        make().send(wire.Interested())
    a.send(a.handshake())
    with pytest.raises(ProtocolError, match="already sent"):
        a.send(a.handshake())


def test_info_hashes_of():
    hybrid = types.SimpleNamespace(info_hash_v1=b"1" * 20, info_hash_v2=b"2" * 32)
    assert info_hashes_of(hybrid) == {b"1" * 20, b"2" * 20}
    assert info_hashes_of(types.SimpleNamespace(info_hash_v1=None, info_hash_v2=b"2" * 32)) == {b"2" * 20}


# -- limits, checked from the header alone --------------------------------------------------


def test_a_bitfield_longer_than_the_torrent_needs_fails_at_its_header():
    a, b = pair()
    with pytest.raises(ProtocolError, match="exceeds the limit of 3"):
        raw(a, wire.Bitfield(bytes(3)))


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ((9 + 16384 + 1).to_bytes(4, "big") + b"\x07", "piece message of 16394 bytes exceeds"),
        ((2 + MAX_EXTENDED_PAYLOAD + 1).to_bytes(4, "big") + b"\x14", "extended message of"),
        ((2**32 - 1).to_bytes(4, "big") + b"\x16", "hashes message of"),
        ((100).to_bytes(4, "big") + b"\x06", "request message of 100 bytes"),
        ((5).to_bytes(4, "big") + b"\xc8", "unknown message id 200"),
    ],
)
def test_oversized_messages_fail_before_their_body(header, match):
    a, b = pair()
    with pytest.raises(ProtocolError, match=match):
        a.receive_data(header)  # only five bytes were ever given


# -- blocks ---------------------------------------------------------------------------------


def test_blocks_are_sent_and_received_without_copies():
    a, b = pair()
    block = memoryview(bytes(range(256)) * 64)
    parts = b.send_parts(wire.Piece(0, 0, block))
    assert parts[1] is block  # handed to the socket as it is
    data = b"".join(parts)
    first = a.receive_data(data[:-100])  # not yet complete
    [piece] = a.receive_data(data[-100:] + b.send(wire.Have(1))[:3])
    assert first == [] and isinstance(piece.block, memoryview) and piece.block == block
    kept = bytes(piece.block)
    a.receive_data(b.send(wire.Have(1))[3:] + b.send(wire.Piece(1, 0, bytes(16384))))
    assert piece.block == kept  # later reads never overwrite a block handed out


@pytest.mark.parametrize("body", [b"\x01\x00", b"\x04\x00\x00\x00\x01\x00", b"\x07\x00\x00\x00"])
def test_a_wrong_size_after_other_messages_is_a_protocol_error(body):
    """An unchoke with a payload, a 5-byte have, a piece shorter than 8: each after other
    messages in the same read, with blocks still held by the caller."""
    a, b = pair()
    held = a.receive_data(b.send(wire.Piece(0, 0, bytes(100))))
    data = b.send(wire.KeepAlive()) + b.send(wire.Have(2)) + len(body).to_bytes(4, "big") + body
    with pytest.raises(ProtocolError, match="payload"):
        a.receive_data(data)
    with pytest.raises(ProtocolError, match="already failed"):
        a.receive_data(b"")
    assert bytes(held[0].block) == bytes(100)


def test_port_and_hash_messages_pass():
    a, b = pair()
    msgs = [wire.Port(6881), wire.HashRequest(bytes(32), 0, 0, 2, 0), wire.Hashes(bytes(32), 0, 0, 2, 0, bytes(64))]
    assert deliver(b, a, *msgs) == msgs


# -- the byte stream --------------------------------------------------------------------------


STREAM = [wire.Bitfield(b"\xff\xc0"), wire.Extended(0, b"d1:pi6881ee"), wire.Unchoke(), wire.KeepAlive(),
          wire.Have(1), wire.Piece(2, 0, bytes(range(256)) * 4), wire.Port(1), wire.Choke()]


def _stream_bytes():
    a, b = pair()
    return b"".join(b.send(m) for m in STREAM)


def test_splitting_the_stream_anywhere_gives_the_same_messages():
    data = _stream_bytes()
    for cut in range(len(data) + 1):
        a, _ = pair()
        assert a.receive_data(data[:cut]) + a.receive_data(data[cut:]) == STREAM, cut


def test_byte_by_byte():
    data = _stream_bytes()
    a, _ = pair()
    got = [m for i in range(len(data)) for m in a.receive_data(data[i : i + 1])]
    assert got == STREAM


def test_many_small_messages_in_one_call():
    a, b = pair()
    data = b.send(wire.HaveNone()) + b"".join(wire.encode(wire.Have(i % PIECES)) for i in range(20000))
    assert len(a.receive_data(data)) == 20001
    assert len(a._buf) == 0


@given(st.binary(max_size=200))
def test_arbitrary_bytes_after_the_handshake_raise_only_protocol_error(data):
    a, b = pair()
    try:
        a.receive_data(data)
    except ProtocolError:
        pass


@given(st.binary(max_size=100))
def test_arbitrary_bytes_instead_of_a_handshake_raise_only_protocol_error(data):
    b = make(False, info_hashes={IH})
    try:
        b.receive_data(data)
    except ProtocolError:
        pass


# -- a bad message after good ones in the same read -----------------------------------------

#: Fixed-size messages with a payload of the wrong size (framed by hand, as a hostile peer
#: would), and a piece too short to hold its index and offset.
WRONG_LENGTHS = {
    "unchoke with a 1-byte payload": b"\x00\x00\x00\x02\x01\x00",
    "have with a 5-byte payload": b"\x00\x00\x00\x06\x04" + bytes(5),
    "piece shorter than 8": b"\x00\x00\x00\x05\x07" + bytes(4),
    "request with 13 bytes": b"\x00\x00\x00\x0e\x06" + bytes(13),
}


@pytest.mark.parametrize("bad", list(WRONG_LENGTHS.values()), ids=list(WRONG_LENGTHS))
@pytest.mark.parametrize("after", ["handshake", "messages"])
def test_a_wrong_length_after_other_bytes_is_a_protocol_error(bad: bytes, after: str) -> None:
    """The message fails after the bytes before it were parsed: still a ProtocolError (no
    buffer that handed out views is resized, so no BufferError can replace it)."""
    a, b = make(True), make(False, info_hashes={IH})
    b.receive_data(a.send(a.handshake()))
    if after == "handshake":
        data = b.send(b.handshake()) + bad
    else:
        a.receive_data(b.send(b.handshake()))
        data = b.send(wire.HaveNone()) + b.send(wire.Unchoke()) + bad
    with pytest.raises(ProtocolError, match="payload"):
        a.receive_data(data)
    with pytest.raises(ProtocolError, match="already failed"):
        a.receive_data(b"\x00\x00\x00\x00")


_framed = st.builds(lambda msg_id, payload: (len(payload) + 1).to_bytes(4, "big") + bytes([msg_id]) + payload,
                   st.integers(0, 21), st.binary(max_size=20))


@given(st.lists(st.sampled_from([wire.KeepAlive(), wire.Interested(), wire.Have(3)]), min_size=1, max_size=5),
       st.lists(_framed, min_size=1, max_size=4))
def test_framed_junk_after_good_messages_raises_only_protocol_error(good, junk):
    a, b = pair()
    try:
        a.receive_data(b"".join(wire.encode(m) for m in good) + b"".join(junk))
    except ProtocolError:
        pass
