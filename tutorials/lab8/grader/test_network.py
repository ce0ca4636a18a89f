"""Lab 8, group "network": the student's lookup among thousands of btref nodes (BEP 5).

The simulated DHT is ``btref dht sim``'s (see ``kademlia_network.py`` beside this file,
which a student can also run). Kademlia's promise: a lookup finds the nodes closest to
any target in O(log N) hops, asking a few dozen nodes whatever the size of the network.
btref's own lookup, for scale: about 1.8, 2.2 and 2.6 hops and 10 to 12 queries at
N = 250, 1,000 and 4,000.
"""

from __future__ import annotations

import functools
import math
from types import ModuleType
from typing import Any

import pytest

import kademlia_network as net

#: Every test's lookups are first tried on this small network, so a lookup that cannot
#: run yet fails in a moment instead of after the big networks are built.
SMOKE = 60


def run(lookup_module: ModuleType, n: int, dead_fraction: float = 0.0) -> dict[str, Any]:
    """:func:`kademlia_network.measure` with the student's lookup; their exceptions become one line."""
    try:
        net.measure(SMOKE, lookup_module.Lookup, lookups=2)
        return measured(lookup_module.Lookup, n, dead_fraction)
    except net.TooManyQueries as exc:
        pytest.fail(str(exc))
    except Exception as exc:  # the student's code may raise anything
        pytest.fail(f"your lookup raised {net.describe(exc)}")


@functools.cache
def measured(lookup_class: type[Any], n: int, dead_fraction: float) -> dict[str, Any]:
    # The network never changes (the walk's queries are read-only), so one measurement per size serves every test.
    return net.measure(n, lookup_class, dead_fraction=dead_fraction)


def no_faults(result: dict[str, Any]) -> None:
    assert not result["faults"], f"rule broken: {result['faults'][0]} ({len(result['faults'])} in all)"
    assert result["finished"] == 1.0, f"{1 - result['finished']:.0%} of the lookups never said should_finish()"


def test_the_lookup_finds_the_closest_node(lookup_module: ModuleType) -> None:
    """in 1,000 nodes, nearly every lookup asks the node closest to the target and lists it in closest()"""
    r = run(lookup_module, 1000)
    no_faults(r)
    assert r["found_closest"] >= 0.95, f"found the closest node in {r['found_closest']:.0%} of the lookups"


def test_the_lookup_ends_with_the_k_closest(lookup_module: ModuleType) -> None:
    """in 1,000 nodes, closest() at the end lists the k closest nodes of the whole network, all of which answered"""
    r = run(lookup_module, 1000)
    no_faults(r)
    assert r["k_closest"] >= 0.95, f"closest() held {r['k_closest']:.0%} of the k closest nodes on average"


def test_alpha_queries_are_in_flight_at_once(lookup_module: ModuleType) -> None:
    """the lookup starts with alpha (3) queries at once and never has more than alpha in flight"""
    r = run(lookup_module, 250)
    no_faults(r)
    assert r["max_in_flight"] <= 3, f"{r['max_in_flight']} queries were in flight at once"
    assert r["first_batch"] == 3, f"the first step asked {r['first_batch']} nodes, not alpha = 3 in parallel"


def test_the_lookup_goes_on_past_nodes_that_never_answer(lookup_module: ModuleType) -> None:
    """with 10% of 1,000 nodes dead, lookups still end and find the closest live node (failed() drops a node)"""
    r = run(lookup_module, 1000, dead_fraction=0.1)
    no_faults(r)
    assert r["found_closest"] >= 0.9, f"found the closest live node in {r['found_closest']:.0%} of the lookups"


def test_hops_grow_like_log_n(lookup_module: ModuleType) -> None:
    """mean hops at N = 250, 1,000 and 4,000 fit a + b log2 N (0 < b <= 1), and stay under log2 N"""
    results = [run(lookup_module, n) for n in net.SIZES]
    for r in results:
        no_faults(r)
    a, b, worst = net.fit(results)
    shape = ", ".join(f"{r['hops_mean']:.2f} at N={r['n']}" for r in results)
    assert 0 < b <= 1 and worst <= 0.5, f"mean hops {shape} fit {a:.2f} + {b:.2f} log2 N (residual {worst:.2f})"
    assert all(r["hops_mean"] < math.log2(r["n"]) for r in results), f"mean hops {shape}: more than log2 N"


def test_a_lookup_asks_few_nodes(lookup_module: ModuleType) -> None:
    """queries per lookup grow like log N, not like N: a few dozen at most in 4,000 nodes"""
    small, big = run(lookup_module, net.SIZES[0]), run(lookup_module, net.SIZES[-1])
    no_faults(big)
    assert big["messages_mean"] <= 4 * math.log2(big["n"]), \
        f"{big['messages_mean']:.1f} queries per lookup among {big['n']} nodes"
    assert big["messages_mean"] <= 3 * small["messages_mean"], \
        f"16 times the nodes cost {big['messages_mean'] / small['messages_mean']:.1f} times the queries"
