"""Tests for btref.connection: the sans-I/O peer connection (BEP 3, 6, 10)."""

from __future__ import annotations

import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import wire
from btref.connection import CHOKE_TABLE, EVENTS, MAX_EXTENDED_PAYLOAD, Connection, info_hashes_of
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
    assert seen == [IH] and b.num_pieces == 3 and b.info_hash == IH and len(b.peer_pieces) == 3
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


# -- what the peer has ---------------------------------------------------------------------


def test_bitfield_first_then_haves():
    a, b = pair()
    field = bytes([0b10000000, 0b01000000])
    assert deliver(b, a, wire.Bitfield(field), wire.Have(3)) == [wire.Bitfield(field), wire.Have(3)]
    assert list(a.peer_pieces) == [0, 3, 9]


def test_bitfield_only_first():
    a, b = pair()
    with pytest.raises(ProtocolError, match="Bitfield after other messages"):
        raw(a, wire.Have(1), wire.Bitfield(bytes(2)))
    a, b = pair()
    a.send(wire.Interested())
    with pytest.raises(ProtocolError, match="we sent HaveAll after other messages"):
        a.send(wire.HaveAll())


def test_extended_and_keepalive_do_not_use_up_the_first_message():
    a, b = pair()
    assert deliver(b, a, wire.KeepAlive(), wire.Extended(0, b"de"), wire.HaveAll())[-1] == wire.HaveAll()
    assert a.peer_pieces.complete()


@pytest.mark.parametrize(
    ("payload", "match"),
    [(bytes(1), "bitfield of 1 bytes"), (b"\x00\x01", "spare bits"), (bytes(3), "exceeds the limit of 3")],
)
def test_bitfield_size_and_spare_bits(payload, match):
    a, b = pair()
    with pytest.raises(ProtocolError, match=match):
        raw(a, wire.Bitfield(payload))


def test_our_bitfield_is_checked_too():
    a, b = pair()
    with pytest.raises(ProtocolError, match="spare bits"):
        a.send(wire.Bitfield(b"\x00\x3f"))


def test_have_none_and_have_all():
    a, b = pair()
    deliver(b, a, wire.HaveNone())
    assert a.peer_pieces.count == 0
    deliver(a, b, wire.HaveAll())
    assert b.peer_pieces.complete()


@pytest.mark.parametrize("msg", [wire.HaveAll(), wire.HaveNone(), wire.Suggest(1), wire.AllowedFast(1), wire.Reject(0, 0, 1)])
def test_fast_messages_need_both_fast_bits(msg):
    a, b = pair(b_reserved=wire.make_reserved(extension=True))
    with pytest.raises(ProtocolError, match=r"fast extension \(BEP 6\) was not agreed"):
        raw(a, msg)
    with pytest.raises(ProtocolError, match="we sent"):
        pair(b_reserved=bytes(8))[0].send(msg)


def test_extended_needs_both_extension_bits():
    a, b = pair(b_reserved=wire.make_reserved(fast=True))
    with pytest.raises(ProtocolError, match=r"extension protocol \(BEP 10\) was not agreed"):
        raw(a, wire.Extended(0, b"de"))


# -- limits, checked from the header alone --------------------------------------------------


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


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        (wire.Request(0, 0, 0), "Request of 0 bytes"),
        (wire.Request(0, 0, 16385), "Request of 16385 bytes"),
        (wire.Request(0, 32768 - 100, 200), "Request for bytes 32668..32868 of piece 0, which has 32768"),
        (wire.Request(9, 4096, 1000), "Request for bytes 4096..5096 of piece 9, which has 5000"),
        (wire.Request(10, 0, 1), "Request for piece 10, but the torrent has 10"),
        (wire.Have(10), "Have for piece 10"),
        (wire.Cancel(0, 0, 16385), "Cancel of 16385 bytes"),
        (wire.Piece(0, 32767, b"ab"), "Piece for bytes 32767..32769"),
        (wire.Piece(0, 0, b""), "Piece of 0 bytes"),
        (wire.Suggest(11), "Suggest for piece 11"),
    ],
)
def test_block_and_index_limits(msg, match):
    a, b = pair()
    with pytest.raises(ProtocolError, match="peer sent " + match):
        raw(a, msg)
    a, b = pair()
    a.state["download"] = (False, True)  # unchoked, so only the limit can refuse
    with pytest.raises(ProtocolError, match="we sent " + match):
        a.send(msg)


# -- requests, rejects, choking --------------------------------------------------------------


def test_request_needs_an_unchoke_or_allowed_fast():
    a, b = pair()
    with pytest.raises(ProtocolError, match="the peer chokes us"):
        a.send(wire.Request(0, 0, 16384))
    a, b = pair()
    deliver(b, a, wire.AllowedFast(2))
    assert a.allowed_fast == {2}
    deliver(a, b, wire.Request(2, 0, 16384))
    assert a.requested == {(2, 0, 16384)}


def test_requests_are_answered_by_pieces_and_rejects():
    a, b = pair()
    deliver(b, a, wire.Unchoke())
    got = deliver(a, b, wire.Interested(), wire.Request(0, 0, 16384), wire.Request(0, 16384, 16384))
    assert got[1:] == [wire.Request(0, 0, 16384), wire.Request(0, 16384, 16384)]
    block = memoryview(bytes(16384))
    parts = b.send_parts(wire.Piece(0, 0, block))
    assert parts[1] is block
    a.receive_data(b"".join(parts) + b.send(wire.Reject(0, 16384, 16384)))
    assert a.requested == set()
    with pytest.raises(ProtocolError, match="rejected a request we never made"):
        deliver(b, a, wire.Reject(0, 16384, 16384))


def test_choke_without_fast_drops_requests_and_cancel_forgets():
    a, b = pair(a_reserved=bytes(8))
    deliver(b, a, wire.Unchoke())
    deliver(a, b, wire.Request(0, 0, 100), wire.Request(1, 0, 100), wire.Cancel(1, 0, 100))
    assert a.requested == {(0, 0, 100)}
    deliver(b, a, wire.Choke())
    assert a.requested == set() and a.peer_choking


def test_choke_with_fast_keeps_requests_until_rejected():
    a, b = pair()
    deliver(b, a, wire.Unchoke())
    deliver(a, b, wire.Request(0, 0, 100), wire.Cancel(0, 0, 100))
    deliver(b, a, wire.Choke())
    assert a.requested == {(0, 0, 100)}
    deliver(b, a, wire.Reject(0, 0, 100))
    assert a.requested == set()


def test_port_and_hash_messages_pass():
    a, b = pair()
    msgs = [wire.Port(6881), wire.HashRequest(bytes(32), 0, 0, 2, 0), wire.Hashes(bytes(32), 0, 0, 2, 0, bytes(64))]
    assert deliver(b, a, *msgs) == msgs


def test_choke_table_is_complete_and_consistent():
    # Each event sets exactly one flag of its direction; the table must say so for every state.
    for (sent, cls), (direction, event) in EVENTS.items():
        for state in [(c, i) for c in (True, False) for i in (True, False)]:
            new = CHOKE_TABLE.get((direction, state, event), state)
            flag = 0 if cls in (wire.Choke, wire.Unchoke) else 1
            value = cls in (wire.Choke, wire.Interested)
            expected = tuple(value if k == flag else state[k] for k in (0, 1))
            assert new == expected, (direction, state, event)
    assert all(new != state for (_, state, _), new in CHOKE_TABLE.items())


@given(st.lists(st.tuples(st.booleans(), st.sampled_from([wire.Choke, wire.Unchoke, wire.Interested, wire.NotInterested]))))
def test_choke_state_follows_the_last_message(steps):
    a, b = pair()
    model = {"am_choking": True, "am_interested": False, "peer_choking": True, "peer_interested": False}
    for ours, cls in steps:
        deliver(a, b, cls()) if ours else deliver(b, a, cls())
        who = "am" if ours else "peer"
        what = "choking" if cls in (wire.Choke, wire.Unchoke) else "interested"
        model[f"{who}_{what}"] = cls in (wire.Choke, wire.Interested)
    assert {k: getattr(a, k) for k in model} == model
    mirrored = {"am_choking": "peer_choking", "am_interested": "peer_interested"}
    for k, v in mirrored.items():
        assert getattr(b, k) == model[v] and getattr(b, v) == model[k]


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
    assert len(a.receive_data(data)) == 20001 and a.peer_pieces.complete()
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
