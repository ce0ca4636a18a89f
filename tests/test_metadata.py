"""Tests for btref.metadata: BEP 9 messages, the serving side and the sans-I/O fetcher."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import bencode, wire
from btref.actions import Ban, Close, Send
from btref.errors import ProtocolError
from btref.extension import ExtensionHandshake
from btref.metadata import (DATA, MAX_METADATA_SIZE, PIECE_SIZE, REJECT, REQUEST, MetadataFetcher, MetadataMessage,
                            answer_request, decode_message, encode_message, num_pieces)

INFO = bencode.encode({b"name": b"x", b"piece length": 16384, b"pieces": bytes(20), b"length": 1,
                       b"x-padding": bytes(40000)})  # three metadata pieces, the last one short
V1, V2 = hashlib.sha1(INFO).digest(), hashlib.sha256(INFO).digest()


def hs(size: int | None = len(INFO), ext: int = 7) -> ExtensionHandshake:
    return ExtensionHandshake(m={"ut_metadata": ext} if ext else {}, metadata_size=size)


def requests(actions: list) -> list[tuple[object, int]]:
    """(peer, piece) of every ut_metadata request among the actions."""
    out = []
    for a in actions:
        if isinstance(a, Send):
            msg = decode_message(a.msg.payload)
            assert msg.msg_type == REQUEST and a.msg.ext_id == 7
            out.append((a.key, msg.piece))
    return out


def serve(fetcher: MetadataFetcher, actions: list, info: bytes = INFO, now: float = 0.0, limit: int = 100,
          liars: tuple[str, ...] = ()) -> list:
    """Answer every request until nothing more is asked (``liars`` with ``info``, the others with
    the right bytes); returns the other actions."""
    other: list = []
    for _ in range(limit):
        pending = [a for a in actions if isinstance(a, Send)]
        other += [a for a in actions if not isinstance(a, Send)]
        if not pending:
            return other
        actions = []
        for a in pending:
            reply = answer_request(info if a.key in liars or not liars else INFO, a.msg.payload)
            actions += fetcher.message_received(a.key, reply, now)
    raise AssertionError("the fetch did not settle")


# -- messages -------------------------------------------------------------------------------


@given(st.sampled_from([REQUEST, REJECT]), st.integers(0, 1023))
def test_request_and_reject_round_trip(msg_type, piece):
    msg = MetadataMessage(msg_type, piece)
    assert decode_message(encode_message(msg)) == msg


@given(st.integers(0, 1023), st.integers(1, MAX_METADATA_SIZE), st.binary(max_size=PIECE_SIZE))
def test_data_round_trip(piece, total, data):
    msg = MetadataMessage(DATA, piece, total, data)
    assert decode_message(encode_message(msg)) == msg
    assert decode_message(memoryview(encode_message(msg))) == msg


def test_wire_format_is_bep9():
    assert encode_message(MetadataMessage(REQUEST, 0)) == b"d8:msg_typei0e5:piecei0ee"
    assert encode_message(MetadataMessage(DATA, 1, 5, b"ab")) == b"d8:msg_typei1e5:piecei1e10:total_sizei5eeab"


@pytest.mark.parametrize("payload, words", [
    (b"d8:msg_typei0e", "not a bencoded"),
    (b"li0ee", "must be a dictionary"),
    (b"d5:piecei0ee", "msg_type must be an integer"),
    (b"d8:msg_type1:05:piecei0ee", "msg_type must be an integer"),
    (b"d8:msg_typei0e5:piece1:0e", "piece must be"),
    (b"d8:msg_typei0e5:piecei-1ee", "piece must be"),
    (b"d8:msg_typei0e5:piecei1024ee", "piece must be"),
    (b"d8:msg_typei0e5:piecei0eexx", "bytes after"),
    (b"d8:msg_typei1e5:piecei0eexx", "total_size"),
    (b"d8:msg_typei1e5:piecei0e10:total_sizei0eexx", "total_size"),
    (b"d8:msg_typei1e5:piecei0e10:total_sizei9ee" + bytes(PIECE_SIZE + 1), "at most"),
])
def test_malformed_messages(payload, words):
    with pytest.raises(ProtocolError, match=words):
        decode_message(payload)


def test_unknown_message_types_are_ignored():
    """BEP 9: "an unrecognized message ID MUST be ignored" (room for future message types)."""
    payload = b"d8:msg_typei7e5:piece3:xyzeanything"
    assert decode_message(payload) == MetadataMessage(7, -1)
    assert answer_request(INFO, payload) is None
    f = MetadataFetcher(V1)
    f.peer_handshake("a", hs(), 0.0)
    assert f.message_received("a", payload, 0.0) == [] and "a" in f.peers


def test_answer_request_serves_pieces_and_rejects_the_rest():
    pieces = [decode_message(answer_request(INFO, encode_message(MetadataMessage(REQUEST, i))))
              for i in range(num_pieces(len(INFO)))]
    assert all(p.msg_type == DATA and p.total_size == len(INFO) for p in pieces)
    assert [len(p.data) for p in pieces] == [PIECE_SIZE, PIECE_SIZE, len(INFO) - 2 * PIECE_SIZE]
    assert b"".join(p.data for p in pieces) == INFO
    past = decode_message(answer_request(INFO, encode_message(MetadataMessage(REQUEST, 3))))
    assert past == MetadataMessage(REJECT, 3)
    assert answer_request(INFO, encode_message(MetadataMessage(REJECT, 0))) is None
    with pytest.raises(ProtocolError):
        answer_request(INFO, b"junk")


# -- the fetcher ---------------------------------------------------------------------------------


def test_needs_a_hash():
    with pytest.raises(ValueError):
        MetadataFetcher(None, None)


@pytest.mark.parametrize("v1, v2", [(V1, None), (None, V2), (V1, V2)])
def test_fetch_from_one_peer(v1, v2):
    f = MetadataFetcher(v1, v2)
    first = f.peer_handshake("a", hs(), 0.0)
    assert requests(first) == [("a", 0), ("a", 1), ("a", 2)]
    assert serve(f, first) == []
    assert f.done and f.info_bytes == INFO
    assert f.peer_handshake("b", hs(), 1.0) == []  # done: nothing more to ask
    assert f.tick(100.0) == []


def test_pieces_spread_over_peers_and_requests_from_us_are_rejected():
    f = MetadataFetcher(V1, max_size=len(INFO))
    f.peer_handshake("a", ExtensionHandshake(m={"ut_metadata": 7}, metadata_size=len(INFO)), 0.0)
    # a peer asking us before we have anything gets a reject under its own id
    answer = f.message_received("a", encode_message(MetadataMessage(REQUEST, 0)), 0.0)
    assert answer == [Send("a", wire.Extended(7, encode_message(MetadataMessage(REJECT, 0))))]
    assert f.message_received("zz", encode_message(MetadataMessage(REQUEST, 0)), 0.0) == []


def test_peers_that_cannot_serve_are_left_alone():
    f = MetadataFetcher(V1)
    assert f.peer_handshake("a", hs(ext=0), 0.0) == []  # no ut_metadata
    assert f.peer_handshake("b", hs(size=None), 0.0) == []  # does not have it yet
    assert f.peers == {} and f.size is None
    assert f.tick(5.0) == []


def test_oversized_metadata_is_refused_before_allocating():
    f = MetadataFetcher(V1)
    out = f.peer_handshake("a", hs(size=MAX_METADATA_SIZE + 1), 0.0)
    assert out == [Close("a", f"metadata_size {MAX_METADATA_SIZE + 1} outside 1..{MAX_METADATA_SIZE}")]
    assert f.size is None and f.pieces == []
    assert isinstance(f.peer_handshake("b", hs(size=0), 0.0)[0], Close)


def test_reject_moves_the_piece_to_another_peer():
    f = MetadataFetcher(V1)
    out = f.peer_handshake("a", hs(), 0.0)
    out2 = f.peer_handshake("b", hs(), 0.0)
    assert requests(out) == [("a", 0), ("a", 1), ("a", 2)] and out2 == []
    moved = f.message_received("a", encode_message(MetadataMessage(REJECT, 0)), 1.0)
    assert requests(moved) == [("b", 0)]
    serve(f, moved + [Send("a", wire.Extended(7, encode_message(MetadataMessage(REQUEST, i)))) for i in (1, 2)])
    assert f.done


def test_timeout_moves_the_piece_to_another_peer():
    f = MetadataFetcher(V1, timeout=10.0)
    f.peer_handshake("slow", hs(), 0.0)
    f.peer_handshake("b", hs(), 0.0)
    assert f.tick(5.0) == []
    moved = f.tick(10.0)
    assert sorted(p for _, p in requests(moved)) == [0, 1, 2] and {k for k, _ in requests(moved)} == {"b"}
    late = encode_message(MetadataMessage(DATA, 0, len(INFO), INFO[:PIECE_SIZE]))
    assert f.message_received("slow", late, 11.0) == []  # answered too late: ignored
    serve(f, moved)
    assert f.done


def test_disconnect_moves_the_pieces():
    f = MetadataFetcher(V1)
    f.peer_handshake("a", hs(), 0.0)
    f.peer_handshake("b", hs(), 0.0)
    moved = f.peer_disconnected("a", 1.0)
    serve(f, moved)
    assert f.done


def test_wrong_metadata_bans_the_sender_and_an_honest_peer_completes():
    bad = INFO[:-2] + b"xe"
    f = MetadataFetcher(V1, V2)
    liar = f.peer_handshake("liar", hs(), 0.0)
    f.peer_handshake("honest", hs(), 0.0)
    # the honest peer is asked for everything once the liar's pieces are thrown away
    outcome = serve(f, liar, info=bad, liars=("liar",))
    assert outcome == [Ban("liar", "sent metadata that does not match the info hash")]
    assert f.failures == 1 and "liar" in f.banned
    assert f.done and f.info_bytes == INFO and set(f.senders.values()) == {"honest"}
    assert f.peer_handshake("liar", hs(), 2.0) == []  # banned peers are not asked again


def test_a_peer_with_a_different_size_takes_over_when_the_first_leaves():
    f = MetadataFetcher(V1)
    f.peer_handshake("short", hs(size=100), 0.0)
    assert f.size == 100
    assert f.peer_handshake("right", hs(), 0.0) == []  # busy with the first claim
    moved = f.peer_disconnected("short", 1.0)
    assert f.size == len(INFO) and len(requests(moved)) == 3
    serve(f, moved)
    assert f.done


@pytest.mark.parametrize("data, total", [(INFO[:100], len(INFO)), (INFO[:PIECE_SIZE], len(INFO) + 1)])
def test_pieces_of_the_wrong_length_or_total_close_the_peer(data, total):
    f = MetadataFetcher(V1)
    f.peer_handshake("a", hs(), 0.0)
    out = f.message_received("a", encode_message(MetadataMessage(DATA, 0, total, data)), 0.0)
    assert isinstance(out[0], Close) and "a" not in f.peers


def test_malformed_payload_closes_the_peer():
    f = MetadataFetcher(V1)
    f.peer_handshake("a", hs(), 0.0)
    out = f.message_received("a", b"not bencoding", 0.0)
    assert isinstance(out[0], Close) and out[0].key == "a"


def test_unasked_pieces_are_ignored():
    f = MetadataFetcher(V1)
    assert f.message_received("nobody", encode_message(MetadataMessage(DATA, 0, 5, b"abcde")), 0.0) == []
    f.peer_handshake("a", hs(), 0.0)
    f.peer_handshake("b", hs(), 0.0)
    assert f.message_received("b", encode_message(MetadataMessage(DATA, 0, len(INFO), INFO[:PIECE_SIZE])), 0.0) == []
