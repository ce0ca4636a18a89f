"""Lab 8, group "table": the routing table's k-buckets, splits, liveness and replacements (BEP 5).

The example tests each check one rule of ``kademlia_lab/routing.py``'s docstring; the last
test plays random sequences of events into the student's table and into btref's own
(:class:`btref_discovery.dht.routing.RoutingTable`) and wants the same table after each.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from btref_discovery.dht import routing as btref_routing

ZERO = bytes(20)
ID_SPACE = 2**160
HALF = 2**159
ids = st.binary(min_size=20, max_size=20)


def far(i: int) -> bytes:
    """Ids in the far half of the space, seen from ZERO (first bit set)."""
    return (HALF | i << 8).to_bytes(20, "big")


def near(i: int) -> bytes:
    """Ids close to ZERO."""
    return i.to_bytes(20, "big")


def at(i: int) -> tuple[str, int]:
    return f"10.0.{i >> 8 & 255}.{i & 255}", 6881


def table_ids(table: Any) -> set[bytes]:
    return {n.id for n in table}


def check_tiling(table: Any, own: bytes) -> None:
    buckets = table.buckets
    assert buckets[0].lo == 0 and buckets[-1].hi == ID_SPACE, "the buckets must cover [0, 2**160)"
    for a, b in zip(buckets, buckets[1:]):
        assert a.hi == b.lo, f"buckets [{a.lo:x}, {a.hi:x}) and [{b.lo:x}, {b.hi:x}) leave a gap or overlap"
    for bucket in buckets:
        assert len(bucket.nodes) <= table.k, f"a bucket holds {len(bucket.nodes)} nodes, more than k={table.k}"
        assert len(bucket.replacements) <= table.k, f"a bucket keeps {len(bucket.replacements)} replacements"
        for n in bucket.nodes:
            assert bucket.lo <= int.from_bytes(n.id, "big") < bucket.hi, "a node sits in a bucket that does not cover it"
            assert table.bucket_for(n.id) is bucket, "bucket_for(id) is not the bucket holding the node"
    assert own not in table_ids(table), "our own id is in the table"


def test_a_new_table_is_one_bucket_over_the_whole_space(routing: ModuleType) -> None:
    """a new table is one bucket [0, 2**160) and bucket_for finds it for any id"""
    table = routing.RoutingTable(near(5))
    assert [(b.lo, b.hi) for b in table.buckets] == [(0, ID_SPACE)]
    for node_id in (ZERO, far(3), b"\xff" * 20):
        assert table.bucket_for(node_id) is table.buckets[0]


def test_a_new_node_is_stored_and_a_known_one_updated(routing: ModuleType) -> None:
    """heard_from stores a new node, and on a second sign of life updates last_seen (and last_reply, failures for an answer)"""
    table = routing.RoutingTable(ZERO)
    assert table.heard_from(near(1), at(1), 10.0, replied=False) is None
    entry = table.get(near(1))
    assert entry is not None and len(table) == 1, "the node was not stored"
    assert (entry.address, entry.last_seen, entry.last_reply, entry.failures) == (at(1), 10.0, None, 0)
    entry.failures = 1
    assert table.heard_from(near(1), at(1), 20.0, replied=True) is None
    assert len(table) == 1, "a known node must be updated, not stored twice"
    entry = table.get(near(1))
    assert (entry.last_seen, entry.last_reply, entry.failures) == (20.0, 20.0, 0)
    assert table.buckets[0].changed == 20.0, "an update sets the bucket's changed to now"


def test_our_own_id_is_never_stored(routing: ModuleType) -> None:
    """our own id never enters the table (a packet claiming it is ignored)"""
    table = routing.RoutingTable(far(9))
    assert table.heard_from(far(9), at(9), 1.0, replied=True) is None
    assert len(table) == 0


def test_a_known_id_from_another_address_changes_nothing(routing: ModuleType) -> None:
    """a known id arriving from another address changes nothing: one spoofed packet must not steal a slot"""
    table = routing.RoutingTable(ZERO)
    table.heard_from(near(1), at(1), 1.0, replied=True)
    assert table.heard_from(near(1), ("192.0.2.66", 6666), 5.0, replied=True) is None
    entry = table.get(near(1))
    assert entry is not None and entry.address == at(1) and entry.last_seen == 1.0 and len(table) == 1


def test_a_full_bucket_holding_our_id_splits(routing: ModuleType) -> None:
    """a full bucket that covers our own id splits in two halves, its nodes moving to their half, and the newcomer is stored"""
    table = routing.RoutingTable(ZERO)
    for i in range(4):
        table.heard_from(far(i), at(i), 1.0, replied=True)
        table.heard_from(near(i + 1), at(100 + i), 1.0, replied=True)
    assert len(table.buckets) == 1
    table.heard_from(near(50), at(50), 2.0, replied=True)
    assert [(b.lo, b.hi) for b in table.buckets] == [(0, HALF), (HALF, ID_SPACE)], "one split, at 2**159"
    assert [n.id for n in table.buckets[0].nodes] == [near(1), near(2), near(3), near(4), near(50)]
    assert [n.id for n in table.buckets[1].nodes] == [far(0), far(1), far(2), far(3)]
    assert [b.changed for b in table.buckets] == [2.0, 1.0], "each half keeps the split bucket's changed (the low half then got a node)"


def test_splits_go_on_until_the_newcomer_fits(routing: ModuleType) -> None:
    """when all nodes of a full bucket land in the same half, the bucket holding our id splits again, as often as needed"""
    table = routing.RoutingTable(ZERO)
    for i in range(1, 9):
        table.heard_from(near(i), at(i), 1.0, replied=True)  # all within 2**4 of us
    table.heard_from(near(9), at(9), 1.0, replied=True)
    assert len(table) == 9
    assert table.buckets[0].lo == 0 and table.buckets[0].hi <= 16, "the buckets near us must be finer than 2**4"
    check_tiling(table, ZERO)


@given(own=ids, others=st.lists(ids, max_size=120, unique=True))
def test_the_buckets_tile_the_id_space(working_table: ModuleType, own: bytes, others: list[bytes]) -> None:
    """after any inserts the buckets tile [0, 2**160) in order, each with at most k nodes, each node in its bucket"""
    table = working_table.RoutingTable(own)
    for i, node_id in enumerate(others):
        table.heard_from(node_id, at(i), float(i), replied=i % 2 == 0)
    check_tiling(table, own)
    near_us = [b for b in table.buckets if b.covers(int.from_bytes(own, "big"))]
    assert len(near_us) == 1
    # Only a bucket that held our id ever split: each other bucket is a sibling of a bucket closer to us.
    for bucket in table.buckets:
        if bucket is not near_us[0]:
            width = bucket.hi - bucket.lo
            assert (bucket.lo ^ int.from_bytes(own, "big")) >> (width.bit_length() - 1) == 1, \
                "a bucket that never held our id was split"


def full_far_bucket(routing: ModuleType, replied: bool, now: float = 0.0) -> Any:
    """ZERO's table: 8 near nodes and 8 far ones, so the far half is a full bucket not holding our id."""
    table = routing.RoutingTable(ZERO)
    for i in range(8):
        table.heard_from(near(i + 1), at(100 + i), now, replied=True)
        table.heard_from(far(i), at(i), now + i, replied=replied)
    far_bucket = table.bucket_for(far(0))
    assert (far_bucket.lo, far_bucket.hi) == (HALF, ID_SPACE) and len(far_bucket.nodes) == 8
    return table


def test_a_full_far_bucket_of_good_nodes_keeps_them(routing: ModuleType) -> None:
    """a full bucket without our id, all of its nodes good: the newcomer is dropped and nothing is pinged"""
    table = full_far_bucket(routing, replied=True)
    assert table.heard_from(far(99), at(99), 10.0, replied=True) is None
    assert far(99) not in table_ids(table) and len(table) == 16


def test_a_full_far_bucket_asks_to_ping_its_least_recently_seen_questionable_node(routing: ModuleType) -> None:
    """a full bucket without our id but with questionable nodes returns the least recently seen one to ping; the newcomer waits"""
    table = full_far_bucket(routing, replied=False)
    table.heard_from(far(0), at(0), 5.0, replied=False)  # far(0) seen again: far(1) is now the least recent
    to_ping = table.heard_from(far(99), at(99), 10.0, replied=True)
    assert to_ping is not None and to_ping.id == far(1), "return the questionable node seen longest ago"
    assert far(99) not in table_ids(table), "the newcomer waits: it must not be in the bucket yet"
    assert [r.id for r in table.bucket_for(far(0)).replacements] == [far(99)]
    table.heard_from(far(99), at(99), 11.0, replied=True)
    assert [r.id for r in table.bucket_for(far(0)).replacements] == [far(99)], "each id waits once"


def test_a_bad_node_is_replaced_at_once(routing: ModuleType) -> None:
    """a full bucket without our id holding a bad node: the newcomer takes that node's place at once"""
    table = full_far_bucket(routing, replied=True)
    table.failed(far(3), 1.0)
    table.failed(far(3), 2.0)
    assert table.get(far(3)).status(2.0) == "bad"
    assert table.heard_from(far(99), at(99), 10.0, replied=True) is None
    assert far(3) not in table_ids(table) and far(99) in table_ids(table)
    assert [n.id for n in table.bucket_for(far(0)).nodes][3] == far(99), "in the same position"


def test_a_node_failing_twice_gives_its_place_to_the_newest_replacement(routing: ModuleType) -> None:
    """failed() counts failures; at MAX_FAILURES the node is bad and the newest waiting replacement takes its place"""
    table = full_far_bucket(routing, replied=False)
    for i in (97, 98, 99):
        table.heard_from(far(i), at(i), 10.0, replied=True)
    table.failed(far(0), 11.0)
    assert far(0) in table_ids(table), "one failure does not make a node bad"
    table.failed(far(0), 12.0)
    assert far(0) not in table_ids(table) and far(99) in table_ids(table)
    bucket = table.bucket_for(far(0))
    assert bucket.nodes[0].id == far(99) and [r.id for r in bucket.replacements] == [far(97), far(98)]
    table.failed(near(77), 13.0)  # unknown: ignored


def test_node_status(routing: ModuleType) -> None:
    """good: answered within 15 min, or ever answered and seen within 15 min; bad: 2 failures in a row; else questionable"""
    entry = routing.NodeEntry(near(1), at(1), last_seen=100.0, last_reply=100.0)
    assert entry.status(100.0 + 899) == "good"
    assert entry.status(100.0 + 901) == "questionable"
    entry.last_seen = 1000.0  # it queried us later: once it answered, that keeps it good
    assert entry.status(1500.0) == "good"
    assert routing.NodeEntry(near(2), at(2), last_seen=100.0).status(101.0) == "questionable", \
        "a node that never answered is questionable"
    entry.failures = 1
    assert entry.status(1500.0) == "good"
    entry.failures = 2
    assert entry.status(1500.0) == "bad"


@given(target=ids, others=st.lists(ids, min_size=1, max_size=60, unique=True), count=st.sampled_from([None, 3, 20]))
def test_closest_is_sorted_by_xor_distance(working_table: ModuleType, target: bytes, others: list[bytes],
                                           count: int | None) -> None:
    """closest(target) lists the known nodes nearest the target by XOR, nearest first, k of them by default"""
    table = working_table.RoutingTable(ZERO)
    for i, node_id in enumerate(others):
        table.heard_from(node_id, at(i), 0.0, replied=True)
    known = sorted(table_ids(table), key=lambda n: int.from_bytes(n, "big") ^ int.from_bytes(target, "big"))
    got = [n.id for n in (table.closest(target) if count is None else table.closest(target, count))]
    assert got == known[: 8 if count is None else count]


def test_closest_leaves_out_bad_nodes_when_given_the_time(routing: ModuleType) -> None:
    """closest(target, now=...) leaves out bad nodes (closest(target) without now does not)"""
    table = routing.RoutingTable(ZERO)
    for i in range(1, 6):
        table.heard_from(near(i), at(i), 0.0, replied=True)
    table.failed(near(1), 1.0)
    table.failed(near(1), 2.0)
    assert [n.id for n in table.closest(ZERO, now=3.0)] == [near(2), near(3), near(4), near(5)]
    assert [n.id for n in table.closest(ZERO)] == [near(1), near(2), near(3), near(4), near(5)]


# One event for both tables: heard_from (id, address, replied), failed (id), or time passing.
events = st.lists(st.one_of(
    st.tuples(st.just("heard"), st.integers(0, 40), st.booleans(), st.booleans()),
    st.tuples(st.just("failed"), st.integers(0, 40)),
    st.tuples(st.just("wait"), st.sampled_from([1.0, 300.0, 1000.0])),
), max_size=150)


def snapshot(table: Any, now: float) -> list[Any]:
    return [((b.lo, b.hi), b.changed,
             sorted((n.id, n.address, n.last_seen, n.last_reply, n.failures, n.status(now)) for n in b.nodes),
             sorted(r.id for r in b.replacements)) for b in table.buckets]


@given(seed=st.integers(0, 2**32), events=events)
def test_the_same_table_as_btref_after_any_events(working_table: ModuleType, seed: int, events: list[Any]) -> None:
    """after any sequence of heard_from, failed and time passing, the table equals btref's (same buckets, nodes, replacements)"""
    rng = random.Random(seed)  # ids from a seed: hypothesis shrinks one number, not 41 ids
    own, pool = rng.randbytes(20), [rng.randbytes(20) for _ in range(41)]
    mine, ref = working_table.RoutingTable(own), btref_routing.RoutingTable(own)
    # Every id of the pool first, so the far buckets are full before the random events start.
    warm_up = [("heard", j, rng.random() < 0.5, False) for j in range(41)]
    now = 0.0
    for i, event in enumerate(warm_up + events):
        if event[0] == "wait":
            now += event[1]
            continue
        node_id = pool[event[1]]
        if event[0] == "failed":
            mine.failed(node_id, now)
            ref.failed(node_id, now)
        else:
            address = at(event[1]) if not event[3] else ("192.0.2.1", 1000 + event[1])
            got = mine.heard_from(node_id, address, now, replied=event[2])
            want = ref.heard_from(node_id, address, now, replied=event[2])
            assert (got and got.id) == (want and want.id), \
                f"event {i}: heard_from returned {got and got.id.hex()}, expected {want and want.id.hex()}"
        assert snapshot(mine, now) == snapshot(ref, now), f"event {i} ({event[0]}): the tables differ"
        assert [n.id for n in mine.closest(pool[i % 41], now=now)] == [n.id for n in ref.closest(pool[i % 41], now=now)]
