"""Tests of btref.pieceset: the BEP 3 wire form, spare bits, and a set model under hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref.pieceset import PieceSet
from btref.errors import ProtocolError

# -- examples ---------------------------------------------------------------------------


def test_piece_zero_is_the_high_bit_of_the_first_byte() -> None:
    field = PieceSet(10)
    assert field.set(0) and field.set(9)
    assert field.to_bytes() == b"\x80\x40"
    assert list(field) == [0, 9]
    assert field[0] and field[9] and not field[1]


def test_empty_and_zero_length() -> None:
    field = PieceSet(0)
    assert (len(field), field.count, list(field), field.to_bytes()) == (0, 0, [], b"")
    assert field.complete()  # nothing to have: a zero-piece torrent is complete
    assert PieceSet.from_bytes(b"", 0) == field == PieceSet.full(0)


def test_set_and_clear_report_changes_and_keep_count() -> None:
    field = PieceSet(12)
    assert field.set(5) is True
    assert field.set(5) is False
    assert field.count == 1
    assert field.clear(5) is True
    assert field.clear(5) is False
    assert field.count == 0 and not field.complete()


@pytest.mark.parametrize("length", [1, 7, 8, 9, 15, 16, 17, 1000])
def test_full(length: int) -> None:
    field = PieceSet.full(length)
    assert field.count == length and field.complete()
    assert list(field) == list(range(length))
    assert PieceSet.from_bytes(field.to_bytes(), length) == field  # spare bits are zero


def test_full_is_cheap_for_a_huge_torrent() -> None:
    field = PieceSet.full(10_000_001)
    assert field.count == 10_000_001 and field[10_000_000]
    assert field.to_bytes()[-1] == 0x80


def test_from_bytes_counts_and_copies() -> None:
    payload = bytearray(b"\xf0\x0f\x80")
    field = PieceSet.from_bytes(memoryview(payload), 17)
    assert field.count == 9
    assert list(field) == [0, 1, 2, 3, 12, 13, 14, 15, 16]
    payload[0] = 0  # the bitfield owns its bytes
    assert field[0]


@pytest.mark.parametrize(
    ("payload", "length", "message"),
    [
        (b"", 1, "bitfield of 0 bytes for 1 pieces \\(expected 1\\)"),
        (b"\x00\x00", 8, "bitfield of 2 bytes for 8 pieces \\(expected 1\\)"),
        (b"\x00", 9, "expected 2"),
        (b"\x01", 7, "spare bits set after piece 6"),
        (b"\xff\xc0", 9, "spare bits set after piece 8"),
    ],
)
def test_from_bytes_rejects_bad_payloads(payload: bytes, length: int, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        PieceSet.from_bytes(payload, length)


def test_index_errors() -> None:
    field = PieceSet(3)
    for bad in (-1, 3, 100):
        with pytest.raises(IndexError, match=r"piece .* out of range 0\.\.2"):
            field[bad]
        with pytest.raises(IndexError):
            field.set(bad)
        with pytest.raises(IndexError):
            field.clear(bad)
    with pytest.raises(ValueError, match="negative"):
        PieceSet(-1)


def test_copy_is_independent() -> None:
    field = PieceSet(9)
    field.set(8)
    other = field.copy()
    assert other == field and other is not field
    other.set(0)
    assert other != field and field.count == 1 and other.count == 2


def test_equality_hash_and_repr() -> None:
    assert PieceSet(8) != PieceSet(9)  # same bytes, different length
    assert PieceSet(8) != b"\x00"
    with pytest.raises(TypeError):
        hash(PieceSet(1))  # mutable: never a dict key
    field = PieceSet(4)
    field.set(2)
    assert repr(field) == "PieceSet(1/4)"


# -- properties -------------------------------------------------------------------------


@given(st.integers(0, 200).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, max(n - 1, 0))))))
def test_wire_roundtrip(case: tuple[int, set[int]]) -> None:
    length, indices = case
    indices = {i for i in indices if i < length}
    field = PieceSet(length)
    for i in indices:
        field.set(i)
    data = field.to_bytes()
    assert len(data) == (length + 7) // 8
    parsed = PieceSet.from_bytes(data, length)
    assert parsed == field
    assert list(parsed) == sorted(indices)
    assert parsed.count == len(indices)
    assert parsed.complete() == (len(indices) == length)


@given(st.integers(1, 64), st.lists(st.tuples(st.booleans(), st.integers(0, 63)), max_size=80))
def test_behaves_like_a_set(length: int, operations: list[tuple[bool, int]]) -> None:
    field = PieceSet(length)
    model: set[int] = set()
    for add, index in operations:
        index %= length
        if add:
            assert field.set(index) == (index not in model)
            model.add(index)
        else:
            assert field.clear(index) == (index in model)
            model.discard(index)
        assert field.count == len(model)
    assert list(field) == sorted(model)
    assert [field[i] for i in range(length)] == [i in model for i in range(length)]
    assert field.copy() == field


@given(st.binary(max_size=20), st.integers(0, 170))
def test_from_bytes_accepts_exactly_the_valid_payloads(payload: bytes, length: int) -> None:
    valid_size = len(payload) == (length + 7) // 8
    spare = len(payload) * 8 - length
    valid = valid_size and not (spare and payload[-1] & ((1 << spare) - 1))
    try:
        field = PieceSet.from_bytes(payload, length)
    except ProtocolError:
        assert not valid
    else:
        assert valid
        assert field.to_bytes() == payload
        assert field.count == sum(bin(b).count("1") for b in payload)


@given(st.integers(1, 64).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)),
                                                      st.lists(st.integers(0, n - 1)))))
def test_having_keeps_the_order_given(case: tuple[int, set[int], list[int]]) -> None:
    length, members, asked = case
    field = PieceSet(length)
    for i in members:
        field.set(i)
    assert field.having(asked) == [i for i in asked if field[i]]
    assert field.having(dict.fromkeys(asked)) == [i for i in dict.fromkeys(asked) if i in members]
