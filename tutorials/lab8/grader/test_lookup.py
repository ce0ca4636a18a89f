"""Lab 8, group "lookup": the iterative lookup's books, one rule at a time (BEP 5; Kademlia 2.3).

The last test plays random answers and silences into the student's lookup and into
btref's own (:class:`btref_discovery.dht.lookup.Lookup`) and wants the same choices.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from btref_discovery.dht.lookup import Lookup as BtrefLookup

TARGET = bytes(20)


def node(d: int) -> bytes:
    """The id at XOR distance ``d`` from TARGET."""
    return d.to_bytes(20, "big")


def at(d: int) -> tuple[str, int]:
    return f"10.{d >> 16 & 255}.{d >> 8 & 255}.{d & 255}", 6881


def distance_of(address: tuple[str, int]) -> int:
    """The distance that :func:`at` made ``address`` from."""
    _, b1, b2, b3 = (int(part) for part in address[0].split("."))
    return b1 << 16 | b2 << 8 | b3


def new_lookup(lookup_module: ModuleType, distances: list[int], k: int = 8, alpha: int = 3) -> Any:
    lookup = lookup_module.Lookup(TARGET, "find_node", 0.0, k=k, alpha=alpha)
    for d in distances:
        lookup.add(node(d), at(d), 1)
    return lookup


def asked(queries: list[Any]) -> list[int]:
    return [int.from_bytes(c.id, "big") for c in queries]


def answer(lookup: Any, d: int, named: list[int]) -> None:
    lookup.answered(at(d), node(d), [(node(n), at(n)) for n in named], [], None)


def test_the_first_queries_are_the_alpha_closest(lookup_module: ModuleType) -> None:
    """next_queries() asks the alpha (3) closest candidates first, and marks them asked"""
    lookup = new_lookup(lookup_module, [900, 40, 700, 30, 500, 20, 800])
    first = lookup.next_queries()
    assert sorted(asked(first)) == [20, 30, 40]
    assert all(c.state == "asked" for c in first)
    assert lookup.next_queries() == [], "three are in flight: nothing more to ask until one answers or fails"


def test_never_more_than_alpha_in_flight(lookup_module: ModuleType) -> None:
    """each answer frees one of the alpha slots: next_queries() then asks one more (the closest unasked)"""
    lookup = new_lookup(lookup_module, [900, 40, 700, 30, 500, 20, 800])
    lookup.next_queries()
    answer(lookup, 30, [])
    assert asked(lookup.next_queries()) == [500]
    lookup.failed(at(20))
    assert asked(lookup.next_queries()) == [700]
    assert lookup.next_queries() == []


def test_an_answer_adds_its_nodes_one_hop_further(lookup_module: ModuleType) -> None:
    """an answer puts the nodes it names on the shortlist at the answering node's hop + 1 (never the answering node itself)"""
    lookup = new_lookup(lookup_module, [900, 800])
    lookup.next_queries()
    answer(lookup, 900, [5, 6, 900])
    c5, c6 = lookup.candidates[at(5)], lookup.candidates[at(6)]
    assert (c5.hop, c6.hop, c5.state, c5.id) == (2, 2, "new", node(5))
    assert lookup.candidates[at(900)].state == "answered"
    assert len(lookup.candidates) == 4
    assert sorted(asked(lookup.next_queries())) == [5, 6], "the closer newcomers are asked next"
    answer(lookup, 5, [1])
    assert lookup.candidates[at(1)].hop == 3


def test_an_answer_we_did_not_ask_for_is_ignored(lookup_module: ModuleType) -> None:
    """answered() from a node never asked (or asked and already answered) changes nothing: anyone can send a datagram"""
    lookup = new_lookup(lookup_module, [900, 800, 700, 600])
    lookup.next_queries()
    lookup.answered(at(900), node(900), [(node(1), at(1))], [], None)  # on the list, not asked
    lookup.answered(("192.0.2.9", 1), node(9), [(node(2), at(2))], [], None)  # a stranger
    assert at(1) not in lookup.candidates and at(2) not in lookup.candidates
    assert lookup.candidates[at(900)].state == "new"
    answer(lookup, 600, [])
    lookup.answered(at(600), node(600), [(node(3), at(3))], [], None)  # a second answer
    assert at(3) not in lookup.candidates


def test_a_node_is_asked_only_once(lookup_module: ModuleType) -> None:
    """a node named again by later answers is neither added twice nor asked again"""
    lookup = new_lookup(lookup_module, [900, 800, 700])
    lookup.next_queries()
    answer(lookup, 700, [5])
    answer(lookup, 800, [5, 700])
    answer(lookup, 900, [5, 800])
    assert asked(lookup.next_queries()) == [5]
    answer(lookup, 5, [700, 800, 900, 5])
    assert lookup.next_queries() == []
    assert lookup.should_finish()


def test_failed_nodes_leave_the_closest(lookup_module: ModuleType) -> None:
    """a failed candidate is out of closest(), and the next closest takes its place in the k closest"""
    lookup = new_lookup(lookup_module, [10, 20, 30, 40], k=2, alpha=1)
    assert asked(lookup.next_queries()) == [10]
    lookup.failed(at(10))
    assert [c.address for c in lookup.closest()] == [at(20), at(30)]
    assert asked(lookup.next_queries()) == [20]


def test_the_lookup_finishes_when_the_k_closest_have_answered(lookup_module: ModuleType) -> None:
    """should_finish() only when nothing is in flight and each of the k closest live candidates was asked"""
    lookup = new_lookup(lookup_module, [10, 20, 30, 40], k=2, alpha=2)
    assert not lookup.should_finish(), "nobody was asked yet"
    lookup.next_queries()
    answer(lookup, 10, [])
    assert not lookup.should_finish(), "20 is still in flight"
    answer(lookup, 20, [15])
    assert not lookup.should_finish(), "15 is closer than 20 and was not asked"
    assert asked(lookup.next_queries()) == [15]
    answer(lookup, 15, [])
    assert lookup.should_finish(), "10 and 15, the two closest, answered: 30 and 40 need not be asked"


def test_bootstrap_addresses_are_asked_first(lookup_module: ModuleType) -> None:
    """a candidate without an id (a bootstrap address) comes before every known id, so it is asked first"""
    lookup = new_lookup(lookup_module, [1, 2, 3], alpha=1)
    lookup.add(None, ("192.0.2.7", 6881), 1)
    first = lookup.next_queries()
    assert [c.address for c in first] == [("192.0.2.7", 6881)]
    lookup.answered(("192.0.2.7", 6881), node(500), [], [], None)
    assert lookup.candidates[("192.0.2.7", 6881)].id == node(500), "the answer tells us its id"


def test_a_flood_of_made_up_nodes_costs_bounded_memory(lookup_module: ModuleType) -> None:
    """an answer naming 2,000 nodes keeps at most MAX_CANDIDATES on the shortlist, the closest ones"""
    lookup = new_lookup(lookup_module, [10**9])
    lookup.next_queries()
    named = list(range(3000, 1000, -1))
    answer(lookup, 10**9, named)
    assert len(lookup.candidates) <= lookup_module.MAX_CANDIDATES == 64
    assert [c.address for c in lookup.closest()] == [at(d) for d in range(1001, 1009)]


def test_get_peers_answers_keep_each_peer_once(lookup_module: ModuleType) -> None:
    """peers from get_peers answers are kept once each, in the order found, with the token of each node"""
    lookup = new_lookup(lookup_module, [900, 800])
    lookup.next_queries()
    lookup.answered(at(900), node(900), [], [("192.0.2.1", 1), ("192.0.2.2", 2)], b"t9")
    lookup.answered(at(800), node(800), [], [("192.0.2.2", 2), ("192.0.2.3", 3)], b"t8")
    assert list(lookup.peers) == [("192.0.2.1", 1), ("192.0.2.2", 2), ("192.0.2.3", 3)]
    assert lookup.candidates[at(900)].token == b"t9"


def test_a_finished_lookup_asks_nothing(lookup_module: ModuleType) -> None:
    """once finish() was called, next_queries() returns nothing"""
    lookup = new_lookup(lookup_module, [1, 2])
    lookup.finish(1.0)
    assert lookup.done and lookup.next_queries() == []


# A run: start distances, then per step (which in-flight node, answer or fail, names).
runs = st.tuples(
    st.lists(st.integers(1, 2**16), min_size=1, max_size=12, unique=True),
    st.lists(st.tuples(st.integers(0, 2), st.booleans(), st.lists(st.integers(1, 2**16), max_size=10)),
             max_size=40),
    st.sampled_from([(8, 3), (4, 1), (2, 5)]),
)


@given(runs)
def test_the_same_choices_as_btref(working_lookup: ModuleType, run: Any) -> None:
    """for any answers and silences, the same queries, states and closest() as btref's lookup"""
    start, steps, (k, alpha) = run
    mine = new_lookup(working_lookup, start, k=k, alpha=alpha)
    ref = BtrefLookup(TARGET, "find_node", 0.0, k=k, alpha=alpha)
    for d in start:
        ref.add(node(d), at(d), 1)
    for i, (which, ok, named) in enumerate([(0, True, [])] + steps):
        got, want = mine.next_queries(), ref.next_queries()
        assert sorted(c.address for c in got) == sorted(c.address for c in want), f"step {i}: other queries"
        assert mine.should_finish() == ref.should_finish(), f"step {i}: should_finish() differs"
        assert [c.address for c in mine.closest()] == [c.address for c in ref.closest()], f"step {i}: closest()"
        assert {a: c.state for a, c in mine.candidates.items()} == {a: c.state for a, c in ref.candidates.items()}
        flying = sorted(a for a, c in ref.candidates.items() if c.state == "asked")
        if not flying:
            break
        address = flying[which % len(flying)]
        d = distance_of(address)
        for lookup in (mine, ref):
            if ok:
                answer(lookup, d, named)
            else:
                lookup.failed(address)
