"""Group "handshake": the 68 bytes each side sends first (BEP 3 "handshake")."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from btref import wire
from lab5_grading import refuses, student

IH = bytes(range(20))
PEER = b"-LB0005-abcdefghijkl"
twenty = st.binary(min_size=20, max_size=20)


@given(info_hash=twenty, peer_id=twenty)
def test_handshake_bytes(info_hash: bytes, peer_id: bytes) -> None:
    """build_handshake: 19, 'BitTorrent protocol', 8 zero bytes, the info hash, our peer id (68 bytes)"""
    expected = wire.encode(wire.Handshake(info_hash, peer_id))
    assert student("messages").build_handshake(info_hash, peer_id) == expected


def test_handshake_of_wrong_sizes_is_refused() -> None:
    """build_handshake raises ValueError unless the info hash and the peer id are 20 bytes each"""
    build = student("messages").build_handshake
    for info_hash, peer_id in [(IH[:19], PEER), (IH, PEER + b"x"), (b"", b"")]:
        refuses(build, info_hash, peer_id, error=ValueError,
                what=f"a {len(info_hash)}-byte info hash and a {len(peer_id)}-byte peer id")


@given(peer_id=twenty, reserved=st.binary(min_size=8, max_size=8))
def test_parse_handshake_returns_the_peer_id(peer_id: bytes, reserved: bytes) -> None:
    """parse_handshake returns the peer id (the last 20 bytes) and ignores the reserved bytes"""
    data = wire.encode(wire.Handshake(IH, peer_id, reserved))
    assert student("messages").parse_handshake(data, IH) == peer_id


def test_another_info_hash_is_refused() -> None:
    """parse_handshake raises WireError when the peer answers for another torrent's info hash"""
    data = wire.encode(wire.Handshake(bytes(20), PEER))
    refuses(student("messages").parse_handshake, data, IH, what="a handshake for another info hash")


GOOD = wire.encode(wire.Handshake(IH, PEER))


MALFORMED = {
    "67 bytes": GOOD[:67],
    "69 bytes": GOOD + b"\x00",
    "no bytes": b"",
    "'BitTorrent Protocol' (a capital P)": b"\x13" + b"BitTorrent Protocol" + GOOD[20:],
    "a first byte of 18": b"\x12" + GOOD[1:],
    "68 zero bytes": bytes(68),
}


def test_malformed_handshakes_are_refused() -> None:
    """parse_handshake raises WireError for anything but 68 bytes starting with 19 and 'BitTorrent protocol'"""
    parse = student("messages").parse_handshake
    for what, data in MALFORMED.items():
        refuses(parse, data, IH, what=f"a handshake of {what}")
