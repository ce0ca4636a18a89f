"""Tests for btref.wire: message layout, vectors, round trips (BEP 3, 5, 6, 10, 52)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import wire
from btref.errors import ProtocolError

u32 = st.integers(0, 2**32 - 1)
root = st.binary(min_size=32, max_size=32)


def hash_fields(cls):
    return st.builds(cls, root, u32, u32, u32, u32)


#: A strategy for every message kind.
messages = st.one_of(
    st.just(wire.KeepAlive()),
    *(st.just(cls()) for cls in (wire.Choke, wire.Unchoke, wire.Interested, wire.NotInterested, wire.HaveAll, wire.HaveNone)),
    *(st.builds(cls, u32) for cls in (wire.Have, wire.Suggest, wire.AllowedFast)),
    *(st.builds(cls, u32, u32, u32) for cls in (wire.Request, wire.Cancel, wire.Reject)),
    st.builds(wire.Bitfield, st.binary(max_size=64)),
    st.builds(wire.Piece, u32, u32, st.binary(max_size=300)),
    st.builds(wire.Port, st.integers(0, 65535)),
    st.builds(wire.Extended, st.integers(0, 255), st.binary(max_size=100)),
    hash_fields(wire.HashRequest),
    hash_fields(wire.HashReject),
    st.builds(wire.Hashes, root, u32, u32, u32, u32, st.binary(max_size=8).map(lambda b: b * 32)),
)


@given(messages)
def test_every_message_round_trips(msg):
    data = wire.encode(msg)
    assert wire.decode(data) == msg
    assert b"".join(bytes(p) for p in wire.encode_parts(msg)) == data
    assert int.from_bytes(data[:4], "big") == len(data) - 4


@given(st.binary(min_size=20, max_size=20), st.binary(min_size=20, max_size=20), st.binary(min_size=8, max_size=8))
def test_handshake_round_trips(info_hash, peer_id, reserved):
    hs = wire.Handshake(info_hash, peer_id, reserved)
    data = wire.encode(hs)
    assert len(data) == wire.HANDSHAKE_LENGTH
    assert wire.parse_handshake(data) == hs


def test_peer_wire_vectors(vectors):
    doc = json.loads((vectors / "bep3_peer_wire.json").read_text())
    expected = {
        "keep_alive": wire.KeepAlive(), "choke": wire.Choke(), "unchoke": wire.Unchoke(),
        "interested": wire.Interested(), "not_interested": wire.NotInterested(), "have_piece_5": wire.Have(5),
        "bitfield_10_pieces_have_0_and_9": wire.Bitfield(b"\x80\x40"),
        "request_idx1_begin16384_len16384": wire.Request(1, 16384, 16384),
        "piece_idx1_begin0_4bytes": wire.Piece(1, 0, b"abcd"),
        "cancel_idx1_begin16384_len16384": wire.Cancel(1, 16384, 16384),
        "port_6881_bep5": wire.Port(6881),
        "extended_handshake_bep10": wire.Extended(0, b"d1:md11:ut_metadatai3eee"),
    }
    for case in doc["messages"]:
        data = bytes.fromhex(case["hex"])
        assert wire.decode(data) == expected[case["name"]], case["name"]
        assert wire.encode(expected[case["name"]]) == data
    ids = doc["message_ids"]
    assert [ids[k] for k in ("choke", "have", "bitfield", "request", "piece", "cancel")] == [
        wire.Choke.ID, wire.Have.ID, wire.Bitfield.ID, wire.Request.ID, wire.Piece.ID, wire.Cancel.ID]
    assert (ids["port (BEP 5)"], ids["extended (BEP 10)"], ids["hashes (BEP 52)"]) == (9, 20, 22)
    example = doc["handshake_example"]
    hs = wire.parse_handshake(bytes.fromhex(example["hex"]))
    assert hs.info_hash.hex() == example["info_hash"] and hs.peer_id == example["peer_id"].encode()
    assert doc["handshake_size"] == wire.HANDSHAKE_LENGTH


def test_hash_message_ids_match_bep52_vectors(vectors):
    ids = json.loads((vectors / "bep52_merkle.json").read_text())["hash_messages"]["ids"]
    assert (ids["hash request"], ids["hashes"], ids["hash reject"]) == (
        wire.HashRequest.ID, wire.Hashes.ID, wire.HashReject.ID)


def test_fast_extension_ids_are_bep6():
    assert [c.ID for c in (wire.Suggest, wire.HaveAll, wire.HaveNone, wire.Reject, wire.AllowedFast)] == [
        0x0D, 0x0E, 0x0F, 0x10, 0x11]


def test_reserved_bits():
    assert wire.make_reserved() == bytes(8)
    assert wire.make_reserved(extension=True)[5] == 0x10
    assert wire.make_reserved(fast=True, dht=True, v2=True)[7] == 0x15
    hs = wire.Handshake(bytes(20), bytes(20), wire.make_reserved(extension=True, fast=True))
    assert (hs.supports_extension, hs.supports_fast, hs.supports_dht, hs.supports_v2) == (True, True, False, False)
    hs = wire.Handshake(bytes(20), bytes(20), wire.make_reserved(dht=True, v2=True))
    assert (hs.supports_extension, hs.supports_fast, hs.supports_dht, hs.supports_v2) == (False, False, True, True)


def test_piece_parts_do_not_copy_the_block():
    block = memoryview(bytearray(b"x" * 16384))
    header, body = wire.encode_parts(wire.Piece(3, 16384, block))
    assert body is block
    assert header == b"\x00\x00\x40\x09\x07\x00\x00\x00\x03\x00\x00\x40\x00"


@pytest.mark.parametrize(
    "build",
    [
        lambda: wire.Have(-1), lambda: wire.Have(2**32), lambda: wire.Have(True), lambda: wire.Port(70000),
        lambda: wire.Extended(256, b""), lambda: wire.Request(0, 0, "1"),
        lambda: wire.Handshake(bytes(19), bytes(20)), lambda: wire.Handshake(bytes(20), bytes(20), bytes(7)),
        lambda: wire.HashRequest(bytes(31), 0, 0, 2, 0),
    ],
)
def test_fields_must_fit_their_wire_width(build):
    with pytest.raises(ValueError):
        build()


def test_encode_refuses_other_objects():
    with pytest.raises(TypeError, match="not a peer wire message"):
        wire.encode("choke")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00\x00", "no complete length prefix"),
        (b"\x00\x00\x00\x02\x00", "length prefix says 2"),
        (b"\x00\x00\x00\x01\x63", "unknown message id 99"),
        (b"\x00\x00\x00\x02\x00\x00", "choke message with a 1-byte payload"),
        (b"\x00\x00\x00\x04\x04\x00\x00\x00", "have message with a 3-byte payload"),
        (b"\x00\x00\x00\x05\x07\x00\x00\x00\x00", "piece message with a 4-byte"),
        (b"\x00\x00\x00\x01\x14", "without an extension id"),
        (b"\x00\x00\x00\x30\x16" + bytes(47), "hashes message with a 47-byte"),
    ],
)
def test_decode_errors(data, match):
    with pytest.raises(ProtocolError, match=match):
        wire.decode(data)


def test_hashes_needs_whole_hashes():
    body = bytes([wire.Hashes.ID]) + bytes(48) + bytes(33)
    with pytest.raises(ProtocolError, match="multiple of 32"):
        wire.decode_body(body)


def test_decode_body_gives_a_block_as_a_view_and_copies_the_rest():
    """A piece's block is not copied (the session copies it once, into the piece); other
    payloads are, so their buffer may be reused."""
    buf = bytearray(wire.encode(wire.Piece(0, 0, b"abc"))[4:])
    msg = wire.decode_body(memoryview(buf))
    assert isinstance(msg.block, memoryview) and msg.block == b"abc"
    buf = bytearray(wire.encode(wire.Extended(1, b"de"))[4:])
    ext = wire.decode_body(memoryview(buf))
    buf[-1] = ord("z")
    assert ext.payload == b"de" and isinstance(ext.payload, bytes)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (bytes(67), "handshake of 67 bytes"),
        (bytes([19]) + b"BitTorrent protocoX" + bytes(48), "does not start with"),
        (bytes([18]) + b"BitTorrent protocol" + bytes(48), "does not start with"),
    ],
)
def test_handshake_errors(data, match):
    with pytest.raises(ProtocolError, match=match):
        wire.parse_handshake(data)


@given(st.binary(max_size=80))
def test_decode_body_raises_only_protocol_error(body):
    try:
        wire.decode_body(body)
    except ProtocolError:
        pass
