"""Quick checks while you work: run `pytest` in this folder. The grader
(`btref lab grade 4 .`) has many more, including hostile inputs and real torrents."""

import hashlib

import pytest

from bencode_lab import BencodeError, decode, decode_prefix, encode, info_hash, info_span


def test_the_bep3_examples() -> None:
    assert decode(b"4:spam") == b"spam"
    assert decode(b"i3e") == 3
    assert decode(b"i-3e") == -3
    assert decode(b"l4:spam4:eggse") == [b"spam", b"eggs"]
    assert decode(b"d3:cow3:moo4:spam4:eggse") == {b"cow": b"moo", b"spam": b"eggs"}


def test_a_value_in_the_middle_of_the_data() -> None:
    assert decode_prefix(b"xxi42eyy", 2) == (42, 6)


def test_bad_input_raises_bencode_error() -> None:
    for bad in (b"", b"i03e", b"i-0e", b"5:spam", b"i1ei2e", b"d4:spami1e3:cowi2ee"):
        with pytest.raises(BencodeError):
            decode(bad)


def test_encode_sorts_the_keys() -> None:
    assert encode({"spam": [b"a", 1], "cow": "moo"}) == b"d3:cow3:moo4:spaml1:ai1eee"


def test_the_info_hash_is_over_the_original_bytes() -> None:
    torrent = b"d8:announce3:url4:infod4:name1:x1:ai1eee"  # keys of info not sorted
    start, end = info_span(torrent)
    assert torrent[start:end] == b"d4:name1:x1:ai1ee"
    assert info_hash(torrent) == hashlib.sha1(b"d4:name1:x1:ai1ee").digest()
