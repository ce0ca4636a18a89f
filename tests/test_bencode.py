"""Tests of btref.bencode: examples, limits, error offsets, and hypothesis properties."""

from __future__ import annotations

import re
import tracemalloc
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import bencode
from btref.bencode import (
    INT_MAX,
    INT_MIN,
    MAX_DEPTH,
    MAX_LENGTH,
    decode,
    decode_prefix,
    decode_with_spans,
    encode,
)
from btref.errors import BencodeError, BtrefError

# -- examples ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"i0e", 0),
        (b"i42e", 42),
        (b"i-42e", -42),
        (b"i9223372036854775807e", INT_MAX),
        (b"i-9223372036854775808e", INT_MIN),
        (b"0:", b""),
        (b"4:spam", b"spam"),
        (b"3:\x00\xff:", b"\x00\xff:"),
        (b"le", []),
        (b"de", {}),
        (b"li1el2:abee", [1, [b"ab"]]),
        (b"d1:ad1:bleee", {b"a": {b"b": []}}),
        (b"d0:i1e1:ai2ee", {b"": 1, b"a": 2}),
        (b"d1:a0:2:aai0e1:bi1ee", {b"a": b"", b"aa": 0, b"b": 1}),
    ],
)
def test_decode_and_encode_examples(data: bytes, value: Any) -> None:
    assert decode(data) == value
    assert decode(data, strict=False) == value
    assert encode(value) == data


def test_accepts_bytearray_and_memoryview() -> None:
    data = b"d3:cow3:mooe"
    assert decode(bytearray(data)) == {b"cow": b"moo"}
    assert decode(memoryview(b"xx" + data)[2:]) == {b"cow": b"moo"}
    assert decode_prefix(memoryview(data + b"rest")) == ({b"cow": b"moo"}, len(data))


def test_decoded_strings_are_bytes() -> None:
    assert type(decode(bytearray(b"2:ab"))) is bytes


@pytest.mark.parametrize(
    ("data", "offset", "message"),
    [
        (b"", 0, "unexpected end of data"),
        (b"x", 0, "unexpected byte b'x'"),
        (b"l", 1, "unexpected end of data"),
        (b"li1e", 4, "unexpected end of data"),
        (b"d", 1, "unexpected end of data"),
        (b"d1:a", 4, "unexpected end of data"),
        (b"i", 1, "end of data in integer"),
        (b"i12", 3, "end of data in integer"),
        (b"ie", 1, "expected a digit in integer"),
        (b"i-e", 2, "expected a digit in integer"),
        (b"i--1e", 2, "expected a digit in integer"),
        (b"i+1e", 1, "expected a digit in integer"),
        (b"i 1e", 1, "expected a digit in integer"),
        (b"i1 e", 2, "expected a digit or e"),
        (b"i1.5e", 2, "expected a digit or e"),
        (b"i9223372036854775808e", 20, "64 bits"),
        (b"i-9223372036854775809e", 21, "64 bits"),
        (b"i" + b"1" * 40 + b"e", 33, "more than 32 digits"),
        (b"4", 1, "end of data in string length"),
        (b"4x", 1, "expected ':'"),
        (b"4:ab", 1, "runs past the end of data (2 left)"),
        (b"1" * 25 + b":", 20, "more than 20 digits"),
        (b"%d:" % (MAX_LENGTH + 1), 8, "exceeds the limit"),
        (b"di1ei2ee", 1, "key is not a byte string"),
        (b"dlei2ee", 1, "key is not a byte string"),
        (b"d1:ae", 4, "unexpected byte b'e'"),
        (b"i1ei2e", 3, "3 bytes of trailing data"),
        (b"lee", 2, "trailing data"),
    ],
)
def test_errors_say_what_and_where(data: bytes, offset: int, message: str) -> None:
    for strict in (True, False):
        with pytest.raises(BencodeError, match=re.escape(message)) as info:
            decode(data, strict=strict)
        assert info.value.offset == offset
        assert str(info.value).endswith(f"(at byte {offset})")


def test_error_hierarchy() -> None:
    with pytest.raises(BtrefError):
        decode(b"?")
    with pytest.raises(ValueError):
        decode(b"?")


# -- strict and lenient -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "value", "offset", "message"),
    [
        (b"i03e", 3, 0, "leading zero"),
        (b"i-0e", 0, 0, "-0"),
        (b"i-03e", -3, 0, "leading zero"),
        (b"i00e", 0, 0, "leading zero"),
        (b"04:spam", b"spam", 0, "leading zero"),
        (b"00:", b"", 0, "leading zero"),
        (b"d1:bi1e1:ai2ee", {b"a": 2, b"b": 1}, 7, "out-of-order dictionary key b'a'"),
        (b"d1:ai1e1:ai2ee", {b"a": 2}, 7, "duplicate dictionary key b'a'"),
        (b"ld2:aa0:1:a0:ee", [{b"a": b"", b"aa": b""}], 8, "out-of-order"),
        (b"d1:ad1:bi1e1:bi2eee", {b"a": {b"b": 2}}, 11, "duplicate"),
    ],
)
def test_strict_rejects_what_lenient_reads(data: bytes, value: Any, offset: int, message: str) -> None:
    with pytest.raises(BencodeError, match=message) as info:
        decode(data)
    assert info.value.offset == offset
    assert decode(data, strict=False) == value


def test_lenient_duplicate_keys_last_wins_everywhere() -> None:
    data = b"d1:xi1e4:info3:old1:xi2e4:info3:newe"
    assert decode(data, strict=False) == {b"x": 2, b"info": b"new"}
    result, spans = decode_with_spans(data, strict=False)
    assert result == {b"x": 2, b"info": b"new"}
    assert data[slice(*spans[b"info"])] == b"3:new"


def test_lenient_leading_zeros_within_digit_limits() -> None:
    assert decode(b"i" + b"0" * 31 + b"7e", strict=False) == 7
    assert decode(b"0" * 19 + b"2:ab", strict=False) == b"ab"


# -- limits -----------------------------------------------------------------------------


def _nested(depth: int, kind: str = "l") -> bytes:
    if kind == "l":
        return b"l" * depth + b"e" * depth
    return b"d1:a" * depth + b"i0e" + b"e" * depth


@pytest.mark.parametrize("kind", ["l", "d"])
def test_depth_limit(kind: str) -> None:
    assert decode(_nested(MAX_DEPTH, kind)) is not None
    with pytest.raises(BencodeError, match=f"nested more than {MAX_DEPTH} deep") as info:
        decode(_nested(MAX_DEPTH + 1, kind))
    assert info.value.offset == MAX_DEPTH * (1 if kind == "l" else 4)


def test_very_deep_input_is_refused_not_a_crash() -> None:
    with pytest.raises(BencodeError, match="nested"):
        decode(b"l" * 1_000_000)


def test_depth_limit_in_decode_with_spans() -> None:
    decode_with_spans(b"d1:a" + _nested(MAX_DEPTH - 1) + b"e")
    with pytest.raises(BencodeError, match="nested"):
        decode_with_spans(b"d1:a" + _nested(MAX_DEPTH) + b"e")


@pytest.mark.parametrize("length", [MAX_LENGTH + 1, 99999999999, 10**20 - 1])
def test_huge_declared_length_fails_fast_without_allocating(length: int) -> None:
    data = b"%d:" % length + b"x" * 100
    tracemalloc.start()
    try:
        with pytest.raises(BencodeError, match="exceeds the limit"):
            decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_declared_length_past_the_end_allocates_nothing() -> None:
    data = b"l%d:" % MAX_LENGTH + b"x" * 1000
    tracemalloc.start()
    try:
        with pytest.raises(BencodeError, match="runs past the end"):
            decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_long_digit_runs_are_cut_short() -> None:
    with pytest.raises(BencodeError, match="more than 20 digits"):
        decode(b"9" * 1_000_000)
    with pytest.raises(BencodeError, match="more than 32 digits"):
        decode(b"i" + b"9" * 1_000_000)


# -- decode_prefix and decode_with_spans ---------------------------------------------------


def test_decode_prefix_reports_bytes_used() -> None:
    # A BEP 9 ut_metadata "data" message: a dictionary, then the raw piece.
    message = b"d8:msg_typei1e5:piecei0e10:total_sizei5ee" + b"HELLO"
    value, used = decode_prefix(message)
    assert value == {b"msg_type": 1, b"piece": 0, b"total_size": 5}
    assert message[used:] == b"HELLO"
    assert decode_prefix(b"i1e") == (1, 3)
    with pytest.raises(BencodeError, match="out-of-order"):
        decode_prefix(b"d1:bi1e1:ai1eeXX")
    assert decode_prefix(b"d1:bi1e1:ai1eeXX", strict=False) == ({b"a": 1, b"b": 1}, 14)
    with pytest.raises(BencodeError, match="end of data"):
        decode_prefix(b"")


def test_spans_cover_exact_original_bytes() -> None:
    data = b"d8:announce3:url4:infod6:lengthi5e4:name1:ae5:z-keyli1eee"
    result, spans = decode_with_spans(data)
    assert set(spans) == {b"announce", b"info", b"z-key"}
    assert data[slice(*spans[b"info"])] == b"d6:lengthi5e4:name1:ae"
    assert data[slice(*spans[b"announce"])] == b"3:url"
    assert result == decode(data)


def test_spans_of_non_canonical_info_are_not_a_reencoding() -> None:
    info = b"d4:name1:a6:lengthi05ee"  # unsorted keys and a leading zero
    data = b"d4:info" + info + b"e"
    with pytest.raises(BencodeError):
        decode_with_spans(data)
    result, spans = decode_with_spans(data, strict=False)
    assert data[slice(*spans[b"info"])] == info
    assert encode(result[b"info"]) != info  # so hashing a re-encoding would be wrong


@pytest.mark.parametrize(
    ("data", "offset", "message"),
    [
        (b"", 0, "end of data"),
        (b"le", 0, "expected a dictionary"),
        (b"i1e", 0, "expected a dictionary"),
        (b"dee", 2, "trailing data"),
        (b"d1:a", 4, "end of data"),
        (b"di1ee", 1, "not a byte string"),
        (b"d1:bi1e1:ai1ee", 7, "out-of-order"),
    ],
)
def test_decode_with_spans_errors(data: bytes, offset: int, message: str) -> None:
    with pytest.raises(BencodeError, match=message) as info:
        decode_with_spans(data)
    assert info.value.offset == offset


def test_decode_with_spans_empty_dict() -> None:
    assert decode_with_spans(bytearray(b"de")) == ({}, {})


# -- encode -----------------------------------------------------------------------------


def test_encode_accepts_python_conveniences() -> None:
    assert encode("héllo") == b"6:h\xc3\xa9llo"
    assert encode((1, bytearray(b"x"), memoryview(b"yz"))) == b"li1e1:x2:yze"
    assert encode({"b": 1, b"a": 2}) == b"d1:ai2e1:bi1ee"
    assert encode({b"\xff": 0, b"a": 0}) == b"d1:ai0e1:\xffi0ee"  # raw byte order


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "bool"),
        ([1, False], "bool"),
        (1.5, "type float"),
        (None, "type NoneType"),
        ({1: b"x"}, "key 1 is not bytes or str"),
        ({(1,): 1}, "is not bytes or str"),
        ({"a": 1, b"a": 2}, "duplicate dictionary key b'a'"),
        (INT_MAX + 1, "64 bits"),
        (INT_MIN - 1, "64 bits"),
        ([[10**30]], "64 bits"),
    ],
)
def test_encode_refuses(value: Any, message: str) -> None:
    with pytest.raises(BencodeError, match=message) as info:
        encode(value)
    assert info.value.offset is None


def test_encode_depth_limit_and_cycles() -> None:
    deep: Any = []
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    assert decode(encode(deep)) == deep
    with pytest.raises(BencodeError, match="nested"):
        encode([deep])
    with pytest.raises(BencodeError, match="nested"):
        encode({"a": [deep]})
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(BencodeError, match="cycle"):
        encode(cycle)


def test_encode_string_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bencode, "MAX_LENGTH", 4)
    assert encode(b"abcd") == b"4:abcd"
    with pytest.raises(BencodeError, match="exceeds the limit of 4"):
        encode(b"abcde")
    with pytest.raises(BencodeError, match="exceeds the limit of 4"):
        decode(b"5:abcde")


# -- properties -------------------------------------------------------------------------

integers = st.integers(INT_MIN, INT_MAX)
values = st.recursive(
    integers | st.binary(max_size=40),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.binary(max_size=8), children, max_size=6),
    max_leaves=30,
)


@given(values)
def test_roundtrip(value: Any) -> None:
    data = encode(value)
    assert decode(data) == value
    assert decode(data, strict=False) == value
    assert decode_prefix(data + b"trailer") == (value, len(data))
    assert encode(decode(data)) == data


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_bencode_error(data: bytes) -> None:
    for strict in (True, False):
        try:
            value = decode(data, strict=strict)
        except BencodeError as exc:
            assert exc.offset is not None and 0 <= exc.offset <= len(data)
        else:
            if strict:
                assert encode(value) == data  # strict accepts canonical encodings only


@given(values, st.data())
def test_mutated_encodings_raise_only_bencode_error(value: Any, data: st.DataObject) -> None:
    raw = bytearray(encode(value))
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = data.draw(st.integers(0, len(raw)))
        byte = data.draw(st.sampled_from(b"ilde:-0123456789x\x00\xff"))
        if kind == "flip" and at < len(raw):
            raw[at] = byte
        elif kind == "insert":
            raw.insert(at, byte)
        elif kind == "delete" and at < len(raw):
            del raw[at]
        else:
            del raw[at:]
    for strict in (True, False):
        try:
            decode(bytes(raw), strict=strict)
            decode_with_spans(bytes(raw), strict=strict)
        except BencodeError:
            pass


def _sloppy(value: Any, data: st.DataObject) -> bytes:
    """An encoding of ``value`` with the non-canonical forms lenient mode must read."""
    if isinstance(value, int):
        zeros = b"0" * data.draw(st.integers(0, 3))
        if value == 0 and data.draw(st.booleans()):
            return b"i-" + zeros + b"0e"
        return b"i%s%s%de" % (b"-" if value < 0 else b"", zeros, abs(value))
    if isinstance(value, bytes):
        return b"0" * data.draw(st.integers(0, 2)) + b"%d:" % len(value) + value
    if isinstance(value, list):
        return b"l" + b"".join(_sloppy(v, data) for v in value) + b"e"
    keys = data.draw(st.permutations(sorted(value)))
    parts = []
    for key in keys:
        if data.draw(st.booleans()):  # a duplicate that the real value overrides later
            parts.append(_sloppy(key, data) + b"i0e")
        parts.append(_sloppy(key, data) + _sloppy(value[key], data))
    return b"d" + b"".join(parts) + b"e"


@given(st.dictionaries(st.binary(max_size=6), values, max_size=6), st.data())
def test_spans_give_original_bytes_of_non_canonical_input(value: dict[bytes, Any], data: st.DataObject) -> None:
    keys = data.draw(st.permutations(sorted(value)))
    raw = b"d"
    original: dict[bytes, bytes] = {}
    for key in keys:
        encoded_value = _sloppy(value[key], data)
        raw += _sloppy(key, data)
        original[key] = encoded_value
        raw += encoded_value
    raw += b"e"
    result, spans = decode_with_spans(raw, strict=False)
    assert result == value == decode(raw, strict=False)
    assert {key: raw[start:end] for key, (start, end) in spans.items()} == original
    for key, (start, end) in spans.items():
        assert decode(raw[start:end], strict=False) == value[key]


@given(st.integers(MAX_LENGTH + 1, 10**20 - 1), st.binary(max_size=64))
def test_any_oversized_length_is_refused(length: int, tail: bytes) -> None:
    with pytest.raises(BencodeError, match="exceeds the limit"):
        decode(b"l%d:" % length + tail)
