"""Lab 8, group "distance": XOR distance and bucket numbers (BEP 5, "Routing Table")."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref_discovery.dht.routing import distance as btref_distance

ZERO = bytes(20)
ids = st.binary(min_size=20, max_size=20)


def one_bit(bit: int) -> bytes:
    """The id with only bit ``bit`` set (159 is the first bit of the first byte)."""
    return (1 << bit).to_bytes(20, "big")


def test_distance_examples(routing: ModuleType) -> None:
    """distance is the XOR of the two ids read as big-endian integers: ids differing in the first bit are 2**159 apart"""
    assert routing.distance(ZERO, ZERO) == 0
    assert routing.distance(ZERO, one_bit(0)) == 1
    assert routing.distance(ZERO, one_bit(159)) == 2**159
    assert routing.distance(b"\xff" * 20, b"\x0f" + b"\xff" * 19) == 0xF0 << 152


@given(ids, ids)
def test_distance_is_xor_for_any_two_ids(routing: ModuleType, a: bytes, b: bytes) -> None:
    """distance(a, b) == int(a) ^ int(b) for every pair of 20-byte ids (an int, never bytes)"""
    got = routing.distance(a, b)
    assert isinstance(got, int) and got == btref_distance(a, b), f"distance({a.hex()}, {b.hex()})"


@given(ids, ids, ids)
def test_distance_is_a_metric_of_xor(routing: ModuleType, a: bytes, b: bytes, c: bytes) -> None:
    """distance is symmetric, zero only from an id to itself, and d(a,b) xor d(b,c) == d(a,c)"""
    assert routing.distance(a, b) == routing.distance(b, a)
    assert (routing.distance(a, b) == 0) == (a == b)
    assert routing.distance(a, b) ^ routing.distance(b, c) == routing.distance(a, c)


def test_bucket_index_examples(routing: ModuleType) -> None:
    """bucket_index is the highest bit in which the ids differ: 159 for the first bit, 0 for the last"""
    assert routing.bucket_index(ZERO, one_bit(159)) == 159
    assert routing.bucket_index(ZERO, one_bit(0)) == 0
    assert routing.bucket_index(one_bit(7), one_bit(0)) == 7
    assert routing.bucket_index(b"\xff" * 20, b"\xfe" + b"\xff" * 19) == 152


@given(ids, ids)
def test_bucket_index_brackets_the_distance(routing: ModuleType, a: bytes, b: bytes) -> None:
    """a node in bucket i is at a distance d with 2**i <= d < 2**(i+1)"""
    if a == b:
        return
    i = routing.bucket_index(a, b)
    assert 2**i <= btref_distance(a, b) < 2 ** (i + 1), f"bucket_index({a.hex()}, {b.hex()}) = {i}"


def test_bucket_index_of_our_own_id_is_an_error(routing: ModuleType) -> None:
    """bucket_index(x, x) raises ValueError: a node is at distance 0 from itself and has no bucket"""
    with pytest.raises(ValueError):
        routing.bucket_index(one_bit(3), one_bit(3))
