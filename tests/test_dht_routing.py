"""k-buckets (BEP 5, "Routing Table"): splitting, liveness, replacement, refresh; BEP 42 ids."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref_discovery.dht import bep42
from btref_discovery.dht.routing import GOOD_FOR, ID_SPACE, RoutingTable, distance

OWN = bytes(20)


def nid(value: int) -> bytes:
    return value.to_bytes(20, "big")


def addr(i: int) -> tuple[str, int]:
    return ("10.0.0.%d" % (i % 250 + 1), 1000 + i)


def test_buckets_split_only_near_our_id():
    table = RoutingTable(OWN)
    far = [nid(ID_SPACE - 1 - i) for i in range(20)]  # all in the top half: bucket [2**159, 2**160)
    for i, node in enumerate(far):
        table.heard_from(node, addr(i), 0.0, replied=True)
    assert [(b.lo, b.hi) for b in table.buckets] == [(0, 2**159), (2**159, ID_SPACE)]
    assert len(table.buckets[1].nodes) == 8  # full, no split: our id is not in that range
    near = [nid(i + 1) for i in range(20)]
    for i, node in enumerate(near):
        table.heard_from(node, addr(100 + i), 0.0, replied=True)
    assert len(table.buckets) > 100  # split down toward our id
    assert all(len(b.nodes) <= 8 for b in table.buckets)
    assert table.closest(nid(3), 2)[0].id == nid(3)
    assert table.heard_from(OWN, addr(1), 0.0, replied=True) is None and table.get(OWN) is None


def test_liveness_and_replacement():
    table = RoutingTable(OWN)
    nodes = [nid(ID_SPACE - 1 - i) for i in range(9)]
    for i, node in enumerate(nodes[:8]):
        table.heard_from(node, addr(i), 0.0, replied=True)
    entry = table.get(nodes[0])
    assert entry.status(0.0) == "good"
    assert table.heard_from(nodes[8], addr(8), 1.0, replied=True) is None  # all good: dropped
    later = GOOD_FOR + 10
    assert entry.status(later) == "questionable"
    to_ping = table.heard_from(nodes[8], addr(8), later, replied=True)
    assert to_ping is not None and to_ping.id == nodes[0]  # least recently seen
    assert table.questionable(later)
    table.failed(to_ping.id, later)
    assert table.get(nodes[0]) is not None  # one failure: still questionable
    table.failed(to_ping.id, later)
    assert table.get(nodes[0]) is None and table.get(nodes[8]) is not None  # bad: replaced
    table.failed(nid(12345), later)  # unknown node: nothing happens


def test_bad_nodes_are_replaced_directly_and_addresses_are_not_hijacked():
    table = RoutingTable(OWN)
    nodes = [nid(ID_SPACE - 1 - i) for i in range(9)]
    for i, node in enumerate(nodes[:8]):
        table.heard_from(node, addr(i), 0.0, replied=True)
    table.heard_from(nodes[0], ("6.6.6.6", 1), 1.0, replied=True)
    assert table.get(nodes[0]).address == addr(0)
    table.failed(nodes[1], 1.0)
    table.failed(nodes[1], 1.0)
    assert table.get(nodes[1]).status(1.0) == "bad"
    assert table.heard_from(nodes[8], addr(8), 2.0, replied=False) is None
    assert table.get(nodes[8]) is not None and table.get(nodes[1]) is None
    assert table.get(nodes[8]).status(2.0) == "questionable"  # never answered us
    table.remove(nodes[8])
    assert table.get(nodes[8]) is None


def test_stale_buckets_and_random_ids():
    table = RoutingTable(OWN)
    table.heard_from(nid(5), addr(5), 100.0, replied=True)
    assert table.stale_buckets(100.0 + GOOD_FOR - 1) == []
    (bucket,) = table.stale_buckets(100.0 + GOOD_FOR)
    target = bucket.random_id(random.Random(1))
    assert bucket.covers(int.from_bytes(target, "big"))
    with pytest.raises(ValueError):
        RoutingTable(b"short")


@given(st.lists(st.binary(min_size=20, max_size=20), max_size=200), st.binary(min_size=20, max_size=20))
def test_table_invariants(ids, own):
    table = RoutingTable(own)
    for i, node in enumerate(ids):
        table.heard_from(node, addr(i), float(i), replied=True)
    assert table.buckets[0].lo == 0 and table.buckets[-1].hi == ID_SPACE
    assert all(a.hi == b.lo for a, b in zip(table.buckets, table.buckets[1:]))
    assert all(len(b.nodes) <= 8 and all(b.covers(int.from_bytes(n.id, "big")) for n in b.nodes)
               for b in table.buckets)
    assert own not in {n.id for n in table}
    target = ids[0] if ids else own
    closest = table.closest(target, 3)
    assert [distance(n.id, target) for n in closest] == sorted(distance(n.id, target) for n in closest)


def test_bep42_vectors(vectors):
    data = json.loads((vectors / "bep42.json").read_text())
    assert bep42.crc32c(b"123456789") == 0xE3069283
    for case in data["vectors"]:
        node_id = bytes.fromhex(case["example_node_id"])
        assert bep42.id_matches_ip(node_id, case["ip"])
        made = bep42.node_id_for(case["ip"], random.Random(0), rand=case["rand"])
        assert made[:2] == node_id[:2] and made[2] & 0xF8 == node_id[2] & 0xF8 and made[19] == case["rand"]
        assert bep42.id_matches_ip(made, case["ip"])
        wrong = bytes([node_id[0] ^ 0x80]) + node_id[1:]
        assert not bep42.id_matches_ip(wrong, case["ip"])
    for net in data["algorithm"]["local_exempt_ipv4"]:
        assert bep42.is_exempt(net.split("/")[0])
    assert bep42.is_exempt("::1") and not bep42.is_exempt("8.8.8.8")
    assert bep42.id_matches_ip(bytes(20), "192.168.1.1")


@given(st.ip_addresses(v=4).map(str), st.integers(0, 255))
def test_bep42_ids_match_their_address(ip, rand):
    assert bep42.id_matches_ip(bep42.node_id_for(ip, rand=rand), ip)


def test_one_address_takes_one_entry_whatever_ids_it_makes_up():
    """A source that sends every packet under a fresh node id (bench/dht_load.py does) took
    an entry per id, bucket after bucket; it keeps one until that one goes bad."""
    table = RoutingTable(OWN)
    rng = random.Random(5)
    source = ("6.6.6.6", 6881)
    first = rng.randbytes(20)
    table.heard_from(first, source, 0.0, replied=False)
    for _ in range(500):
        assert table.heard_from(rng.randbytes(20), source, 1.0, replied=False) is None
    assert [n.id for n in table] == [first]
    table.failed(first, 2.0)
    table.failed(first, 2.0)  # bad now: the address may come back under a new id
    again = rng.randbytes(20)
    table.heard_from(again, source, 3.0, replied=True)
    assert [n.id for n in table] == [again]
    for i in range(20):  # other addresses are welcome as ever
        table.heard_from(rng.randbytes(20), addr(i), 4.0, replied=False)
    assert len(table) > 8 and [n.id for n in table if n.address == source] == [again]
