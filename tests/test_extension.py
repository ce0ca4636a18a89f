"""Tests for btref.extension: the BEP 10 extension handshake dictionary."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import bencode
from btref.errors import ProtocolError
from btref.extension import MAX_EXTENSIONS, ExtensionHandshake, decode_handshake


def test_bep10_example(vectors):
    doc = json.loads((vectors / "bep9_10_11_extension.json").read_text())
    hs = decode_handshake(bytes.fromhex(doc["bep10"]["example_corrected_from_table"]["bencoded_hex"]))
    assert hs == ExtensionHandshake(m={"LT_metadata": 1, "ut_pex": 2}, p=6881, v="\u00b5Torrent 1.2")
    bep9 = decode_handshake(doc["bep9"]["handshake_example_corrected"]["bencoded"].encode())
    assert bep9.m == {"ut_metadata": 3} and bep9.metadata_size == 31235


def test_unknown_keys_are_ignored_and_m_defaults_empty():
    hs = decode_handshake(b"d12:complete_agoi-1e10:share_modei1ee")
    assert hs == ExtensionHandshake()


names = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=20)


@given(
    st.dictionaries(names, st.integers(0, 255), max_size=10),
    st.none() | st.text(max_size=30),
    st.none() | st.integers(0, 65535),
    st.none() | st.integers(1, 5000),
    st.none() | st.binary(min_size=4, max_size=4) | st.binary(min_size=16, max_size=16),
    st.none() | st.integers(0, 10**7),
)
def test_round_trip(m, v, p, reqq, yourip, metadata_size):
    hs = ExtensionHandshake(m=m, v=v, p=p, reqq=reqq, yourip=yourip, metadata_size=metadata_size)
    assert decode_handshake(hs.encode()) == hs


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"d1:m", "not valid bencoding"),
        (b"li1ee", "must be a dictionary, got list"),
        (b"d1:mi1ee", "'m' must be a dictionary"),
        (b"d1:md3:fooi256eee", "id of b'foo' must be an integer in 0..255"),
        (b"d1:md3:foo3:baree", "id of b'foo'"),
        (b"d1:md" + b"65:" + b"x" * 65 + b"i1eee", "name of 65 bytes"),
        (b"d1:pi70000ee", "'p' must be an integer in 0..65535"),
        (b"d4:reqqi0ee", "'reqq' must be an integer in 1.."),
        (b"d13:metadata_size3:abce", "'metadata_size'"),
        (b"d1:vi1ee", "'v' must be a string"),
        (b"d6:yourip3:abce", "'yourip' must be 4 or 16 bytes"),
    ],
)
def test_bad_handshakes(payload, match):
    with pytest.raises(ProtocolError, match=match):
        decode_handshake(payload)


def test_too_many_extensions():
    m = {f"e{i:03d}".encode(): 1 for i in range(MAX_EXTENSIONS + 1)}
    with pytest.raises(ProtocolError, match="names"):
        decode_handshake(bencode.encode({b"m": m}))


@given(st.binary(max_size=100))
def test_arbitrary_payloads_raise_only_protocol_error(payload):
    try:
        decode_handshake(payload)
    except ProtocolError:
        pass
