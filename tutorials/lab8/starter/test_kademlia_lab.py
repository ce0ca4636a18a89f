"""Quick checks for lab 8 (run `pytest` in this folder); `btref lab grade 8 .` grades everything.

Each test is one rule of BEP 5 (and the Kademlia paper). They all fail until you fill in
kademlia_lab/routing.py and kademlia_lab/lookup.py.
"""

from kademlia_lab.lookup import Lookup
from kademlia_lab.routing import RoutingTable, bucket_index, distance

ZERO = bytes(20)


def id_at(value: int) -> bytes:
    """The 20-byte id of the integer ``value``."""
    return value.to_bytes(20, "big")


def test_distance_is_xor() -> None:
    assert distance(id_at(0b1100), id_at(0b1010)) == 0b0110
    assert distance(ZERO, id_at(2**159)) == 2**159


def test_bucket_index_is_the_highest_differing_bit() -> None:
    assert bucket_index(ZERO, id_at(1)) == 0
    assert bucket_index(ZERO, id_at(2**159 + 5)) == 159
    assert bucket_index(id_at(0b1000), id_at(0b1011)) == 1


def test_a_stored_node_is_found() -> None:
    table = RoutingTable(ZERO)
    assert table.heard_from(id_at(7), ("10.0.0.7", 6881), 0.0, replied=True) is None
    assert [n.id for n in table.closest(id_at(6))] == [id_at(7)]


def test_the_bucket_holding_our_id_splits() -> None:
    table = RoutingTable(ZERO)
    for i in range(1, 10):  # nine nodes: one more than k = 8
        table.heard_from(id_at(i << 150), ("10.0.0.1", 6880 + i), 0.0, replied=True)
    assert len(table) == 9
    assert len(table.buckets) > 1


def test_a_lookup_asks_the_three_closest_first() -> None:
    lookup = Lookup(ZERO, "find_node", 0.0)
    for d in (50, 10, 40, 20, 30):
        lookup.add(id_at(d), ("10.0.0.1", d), 1)
    assert sorted(c.address[1] for c in lookup.next_queries()) == [10, 20, 30]


def test_a_lookup_ends_when_its_closest_have_answered() -> None:
    lookup = Lookup(ZERO, "find_node", 0.0, k=2)
    for d in (10, 20):
        lookup.add(id_at(d), ("10.0.0.1", d), 1)
    for c in lookup.next_queries():
        lookup.answered(c.address, id_at(c.address[1]), [], [], None)
    assert lookup.should_finish()
