"""Round trips on values hypothesis makes up: a strict decoder and the encoder are
inverses (BEP 3: every value has exactly one encoding)."""

from __future__ import annotations

from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st
from lab4_grading import GRADING, show

from btref import bencode

INTEGERS = st.integers(min_value=bencode.INT_MIN, max_value=bencode.INT_MAX)
#: Bencoded values as btref decodes them: ints, byte strings, lists, byte-keyed dicts.
VALUES = st.recursive(
    INTEGERS | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.binary(max_size=8), inner, max_size=6),
    max_leaves=30,
)


@GRADING
@given(value=VALUES)
def test_decode_reads_what_encode_writes(lab: ModuleType, value: bencode.Value) -> None:
    """decode(encode(v)) == v for every value: ints, byte strings, lists, dicts (keys as bytes)"""
    data = lab.encode(value)
    assert data == bencode.encode(value), f"encode({value!r}) returned {show(data)}, not the one valid encoding"
    back = lab.decode(data)
    assert back == value, f"decode({show(data)}) returned {back!r}, expected {value!r}"


@GRADING
@given(value=VALUES)
def test_encode_writes_back_what_decode_read(lab: ModuleType, value: bencode.Value) -> None:
    """encode(decode(b)) == b for canonical bytes b (written here by btref)"""
    data = bencode.encode(value)
    again = lab.encode(lab.decode(data))
    assert again == data, f"encode(decode({show(data)})) gave {show(again)}"


@GRADING
@given(value=VALUES, before=st.binary(max_size=10), after=st.binary(max_size=10))
def test_decode_prefix_finds_the_value_and_its_end(lab: ModuleType, value: bencode.Value,
                                                    before: bytes, after: bytes) -> None:
    """decode_prefix(data, start) returns the value starting at start and the offset just past it"""
    encoded = bencode.encode(value)
    data = before + encoded + after
    got = lab.decode_prefix(data, len(before))
    expected = (value, len(before) + len(encoded))
    assert tuple(got) == expected, f"decode_prefix({show(data)}, {len(before)}) returned {got!r}, expected {expected!r}"


@GRADING
@given(pairs=st.dictionaries(st.text(max_size=6), INTEGERS | st.text(max_size=10), max_size=8))
def test_str_is_encoded_as_utf8_and_keys_sorted_as_bytes(lab: ModuleType, pairs: dict[str, object]) -> None:
    """encode: str becomes its UTF-8 bytes; dictionary keys are sorted as raw bytes, whatever their order given"""
    shuffled = dict(reversed(list(pairs.items())))
    got = lab.encode(shuffled)
    expected = bencode.encode(pairs)
    assert got == expected, f"encode({shuffled!r}) returned {show(got)}, expected {show(expected)}"
