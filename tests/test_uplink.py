"""Tests of btref.uplink: start-time fair queueing by shares, examples and properties."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref.uplink import next_destination


def serve(busy: list, shares: dict, blocks: int, tags: dict | None = None, clock: float = 0.0) -> list:
    """The destinations of ``blocks`` blocks when every connection in ``busy`` stays busy."""
    tags = {} if tags is None else tags
    sent = []
    for _ in range(blocks):
        key, clock = next_destination(busy, shares, tags, clock)
        sent.append(key)
    return sent


def test_three_to_one() -> None:
    sent = serve(["a", "b"], {"a": 3.0, "b": 1.0}, 40)
    assert Counter(sent) == {"a": 30, "b": 10}
    # Interleaved, not in bursts: every window of four blocks holds one of b's.
    assert all("b" in sent[i:i + 4] for i in range(0, 40, 4))


def test_equal_shares_are_round_robin_in_order() -> None:
    assert serve(["x", "y", "z"], {"x": 1.0, "y": 1.0, "z": 1.0}, 6) == ["x", "y", "z"] * 2


def test_ties_go_to_the_first_in_round_robin_order() -> None:
    key, clock = next_destination(["b", "a"], {"a": 1.0, "b": 1.0}, {}, 0.0)
    assert (key, clock) == ("b", 0.0)


def test_unlisted_connection_gets_the_smallest_share() -> None:
    sent = serve(["a", "other"], {"a": 2.0, "b": 0.5}, 50)
    assert Counter(sent) == {"a": 40, "other": 10}


def test_idle_connection_banks_no_credit() -> None:
    tags: dict = {}
    clock = 0.0
    for _ in range(100):  # only "a" is busy for a long time
        _, clock = next_destination(["a"], {"a": 1.0, "b": 1.0}, tags, clock)
    # "b" comes back: it starts at the clock, so it alternates with "a" instead of taking
    # the next hundred blocks.
    sent = serve(["a", "b"], {"a": 1.0, "b": 1.0}, 10, tags, clock)
    assert Counter(sent) == {"a": 5, "b": 5}


def test_updates_only_the_chosen_tag() -> None:
    tags = {"a": 5.0, "b": 2.0}
    key, clock = next_destination(["a", "b"], {"a": 1.0, "b": 4.0}, tags, 1.0)
    assert (key, clock) == ("b", 2.0)
    assert tags == {"a": 5.0, "b": 2.25}


def test_no_busy_connection_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        next_destination([], {"a": 1.0}, {}, 0.0)


@given(shares=st.lists(st.floats(min_value=0.05, max_value=20.0), min_size=1, max_size=6),
       blocks=st.integers(min_value=1, max_value=300))
def test_busy_connections_get_their_share_give_or_take_a_block(shares: list, blocks: int) -> None:
    keys = list(range(len(shares)))
    table = dict(zip(keys, shares))
    tags: dict = {}
    clock = 0.0
    for _ in range(blocks):
        before = clock
        _, clock = next_destination(keys, table, tags, clock)
        assert clock >= before  # virtual time never goes backwards
    # Finish tags are blocks sent / share here (all started at 0): they stay close, so
    # each connection's blocks follow its share.
    finish = [tags.get(k, 0.0) for k in keys]
    assert max(finish) - min(finish) <= max(1.0 / s for s in shares) + 1e-9
    assert sum(round(tags.get(k, 0.0) * table[k]) for k in keys) == blocks


def test_the_uplink_queue_is_fifo_per_connection_and_forgets_closed_ones() -> None:
    from btref.uplink import Uplink

    up = Uplink()
    assert not up
    for item in ("a1", "b1", "a2", "b2", "a3"):
        up.push(item[0], item)
    assert [up.pop() for _ in range(3)] == [("a", "a1"), ("b", "b1"), ("a", "a2")]  # round robin
    up.set_shares({"a": 1.0, "b": 3.0})
    up.pop()
    up.forget("b")  # closed: its blocks and its finish tag go
    assert "b" not in up.tags and up.pop() == ("a", "a3") and not up
    up.set_shares(())  # equal shares again: no tags kept
    assert up.shares == {} and up.tags == {}
