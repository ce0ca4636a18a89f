"""Hostile inputs: the bytes a peer or a stranger's .torrent can send. Every one must
raise the lab's BencodeError (nothing else escapes a parser), and a length that is merely
claimed must not be allocated. These tests count only once the decoder reads BEP 3's
examples (the fixture ``decoder``), so a decoder that refuses everything earns nothing here."""

from __future__ import annotations

import tracemalloc
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lab4_grading import GRADING, btref_outcome, raises_lab_error, show

from btref import bencode

#: Refusing bad input counts only once valid input decodes (the fixture ``decoder``).
pytestmark = pytest.mark.usefixtures("decoder")


def _refused(lab: ModuleType, data: bytes, **kwargs: object) -> None:
    ok, what = raises_lab_error(lab, lab.decode, data, **kwargs)
    assert ok, f"decode({show(data)}) {what}; it must raise BencodeError"


def test_the_error_is_a_class_of_its_own(lab: ModuleType) -> None:
    """BencodeError is a class of your own (a subclass of ValueError is fine), not Exception itself"""
    error = lab.BencodeError
    assert isinstance(error, type) and issubclass(error, Exception), "BencodeError must be an exception class"
    for builtin in (Exception, ValueError, LookupError, ArithmeticError):
        assert error is not builtin, f"BencodeError is {builtin.__name__} itself: make it a class of its own"
    for crash in (IndexError, KeyError, RecursionError, MemoryError, TypeError, UnicodeError):
        assert not issubclass(crash, error), f"{crash.__name__} counts as a BencodeError: make it a class of its own"


def test_nesting_is_limited(lab: ModuleType) -> None:
    """lists and dictionaries nest at most MAX_DEPTH = 100 deep: 100 decode, 101 raise BencodeError"""
    assert lab.decode(b"l" * 100 + b"e" * 100) is not None, "100 nested lists must decode"
    _refused(lab, b"l" * 101 + b"e" * 101)
    _refused(lab, b"d1:a" * 101 + b"i1e" + b"e" * 101)


def test_very_deep_nesting_is_no_recursion_error(lab: ModuleType) -> None:
    """a million nested lists ('llll...') raise BencodeError, never RecursionError: count the depth"""
    _refused(lab, b"l" * 1_000_000)
    _refused(lab, b"ld1:a" * 100_000)


def test_a_claimed_length_is_not_allocated(lab: ModuleType) -> None:
    """a string length is checked before it is used: '99999999999:x' raises BencodeError and allocates nothing"""
    assert lab.decode(b"5:abcde") == b"abcde"
    for data in (b"99999999999:abc", b"1000000000000000:x", b"67108865:" + b"x" * 10,
                 b"99999999999999999999999999999999999999:", b"l1000000000:e"):
        tracemalloc.start()
        try:
            _refused(lab, data)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20, f"decode({show(data)}) allocated {peak:,} bytes for a length it was only told"


def test_huge_integers_are_refused(lab: ModuleType) -> None:
    """integers fit in 64 signed bits, and 5,000 digits raise BencodeError (not int()'s ValueError)"""
    assert lab.decode(b"i9223372036854775807e") == 2**63 - 1
    assert lab.decode(b"i-9223372036854775808e") == -(2**63)
    for data in (b"i9223372036854775808e", b"i-9223372036854775809e", b"i" + b"9" * 5000 + b"e",
                 b"l" + b"9" * 5000 + b":"):
        _refused(lab, data)
        _refused(lab, data, strict=False)


@pytest.mark.parametrize("data", [b"i03e", b"i-0e", b"i-03e", b"03:abc", b"00:", b"i00e"])
def test_leading_zeros_and_negative_zero(lab: ModuleType, data: bytes) -> None:
    """strict: no leading zeros (i03e, 03:abc) and no i-0e; strict=False reads them (i03e is 3)"""
    _refused(lab, data)
    _, expected = btref_outcome(data, strict=False)
    got = lab.decode(data, strict=False)
    assert got == expected, f"decode({show(data)}, strict=False) returned {got!r}, expected {expected!r}"


@pytest.mark.parametrize("data", [b"i+1e", b"i 1e", b"i1 e", b"i--1e", b"i-e", b"ie", b"-1:a", b"+1:a", b"1 :a",
                                  b"i\xd9\xa3e", b"\xd9\xa3:abc", b"i1.0e", b"i1e2e"])
def test_not_a_number(lab: ModuleType, data: bytes) -> None:
    """a number is ASCII digits with at most a leading '-': no '+', spaces, dots or other digits"""
    _refused(lab, data)
    _refused(lab, data, strict=False)


@pytest.mark.parametrize("data", [b"d1:bi1e1:ai2ee", b"d1:ai1e1:ai2ee", b"d2:abi1e1:ai2ee"])
def test_unsorted_and_duplicate_keys(lab: ModuleType, data: bytes) -> None:
    """strict: keys sorted as raw bytes, each once; strict=False accepts both, the last of a repeated key wins"""
    _refused(lab, data)
    _, expected = btref_outcome(data, strict=False)
    got = lab.decode(data, strict=False)
    assert got == expected, f"decode({show(data)}, strict=False) returned {got!r}, expected {expected!r}"


@pytest.mark.parametrize("data", [b"di1ei2ee", b"dlei1ee", b"ddei1ee", b"d1:ae", b"d1:a", b"d", b"l", b"e", b"",
                                  b"x", b"\xff", b"i1ei2e", b"4:spam4:eggs", b"lee", b"i1ee", b"0:0:"])
def test_malformed_structures(lab: ModuleType, data: bytes) -> None:
    """non-string keys, a key without a value, an unterminated list or dict, trailing bytes: BencodeError"""
    _refused(lab, data)
    _refused(lab, data, strict=False)


def test_decode_prefix_checks_its_start(lab: ModuleType) -> None:
    """decode_prefix with start at or past the end, or negative, raises BencodeError"""
    assert tuple(lab.decode_prefix(b"i1ei2e", 3)) == (2, 6)
    for start in (6, 7, 100, -1):
        ok, what = raises_lab_error(lab, lab.decode_prefix, b"i1ei2e", start)
        assert ok, f"decode_prefix(b'i1ei2e', {start}) {what}; it must raise BencodeError"


@pytest.mark.usefixtures("encoder")
@pytest.mark.parametrize("value", [True, False, 1.5, None, {1: 2}, {b"a": 1, "a": 2}, object(), {"a": [set()]},
                                   2**63, -(2**63) - 1])
def test_encode_refuses_what_bencoding_cannot_say(lab: ModuleType, value: object) -> None:
    """encode raises BencodeError for bool, float, None, non-string keys, keys twice, integers beyond 64 bits"""
    ok, what = raises_lab_error(lab, lab.encode, value)
    assert ok, f"encode({value!r}) {what}; it must raise BencodeError"


@GRADING
@given(data=st.binary(max_size=60))
def test_random_bytes(lab: ModuleType, data: bytes) -> None:
    """any bytes at all: decode returns a value or raises BencodeError, and what strict decode accepts is canonical"""
    for strict in (True, False):
        kind, expected = btref_outcome(data, strict=strict)
        try:
            got = lab.decode(data, strict=strict)
        except lab.BencodeError:
            assert kind == "error", f"decode({show(data)}, strict={strict}) raised BencodeError; expected {expected!r}"
            continue
        assert kind == "ok" and got == expected, (
            f"decode({show(data)}, strict={strict}) returned {got!r}; it is not valid bencoding")


_VALUES = st.recursive(st.integers(-1000, 1000) | st.binary(max_size=6),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.binary(max_size=3), inner,
                                                                                   max_size=4), max_leaves=10)


@GRADING
@given(value=_VALUES, data=st.data())
def test_damaged_encodings(lab: ModuleType, value: bencode.Value, data: st.DataObject) -> None:
    """a valid encoding with one byte changed, inserted or removed: the same answer as btref, never a crash"""
    encoded = bytearray(bencode.encode(value))
    where = data.draw(st.integers(0, len(encoded)), label="where")
    how = data.draw(st.sampled_from(["change", "insert", "remove"]), label="how")
    byte = data.draw(st.sampled_from(b"0123456789-:iedlx\x00"), label="byte")
    if how == "change" and where < len(encoded):
        encoded[where] = byte
    elif how == "insert":
        encoded.insert(where, byte)
    elif where < len(encoded):
        del encoded[where]
    damaged = bytes(encoded)
    for strict in (True, False):
        kind, expected = btref_outcome(damaged, strict=strict)
        try:
            got = lab.decode(damaged, strict=strict)
        except lab.BencodeError:
            assert kind == "error", f"decode({show(damaged)}, strict={strict}) raised BencodeError; expected {expected!r}"
            continue
        assert kind == "ok" and got == expected, f"decode({show(damaged)}, strict={strict}) returned {got!r}"
