"""Lab 8's simulated DHT: your lookup among thousands of btref nodes (BEP 5, Kademlia).

The network is the one of ``btref dht sim`` (:func:`btref_discovery.dht.sim.build`): ``n``
btref nodes with random ids and converged routing tables, on a virtual clock. Your
:class:`kademlia_lab.lookup.Lookup` does the walking: :func:`walk` asks it whom to query,
delivers each ``find_node`` query as a real KRPC datagram to that node (btref's code
answers it), and feeds the answer back, ``latency`` seconds later. Nodes in ``dead`` never
answer: after ``timeout`` seconds the walk reports the silence with ``Lookup.failed``.

Every figure is measured here, never taken from your lookup's own books: the **hop** of a
node is 1 for the nodes the lookup starts from, and one more than the node that first
named it; a lookup's hops are the hop of the closest node that answered it. A lookup is
stopped (and fails) after :data:`MAX_QUERIES` queries: a Kademlia lookup asks a few dozen
nodes at most, whatever the size of the network.

Run it on your own lookup, beside btref's (``--btref``)::

    python tutorials/lab8/grader/kademlia_network.py lab8
    python tutorials/lab8/grader/kademlia_network.py lab8 --btref
"""

from __future__ import annotations

import argparse
import importlib
import math
import random
import statistics
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import attrs

from btref.sim.loop import EventLoop
from btref_discovery.dht import krpc
from btref_discovery.dht.node import Node
from btref_discovery.dht.sim import build

Address = tuple[str, int]
#: Most queries one lookup may send before the walk gives up on it.
MAX_QUERIES = 200
#: The sizes of the log N check, and lookups per size.
SIZES = (250, 1000, 4000)
LOOKUPS = 30


class TooManyQueries(Exception):
    """The lookup asked more than :data:`MAX_QUERIES` nodes."""


@attrs.define
class Walk:
    """What one lookup did, as the network saw it."""

    source: Address
    target: bytes
    asked: list[Address] = attrs.Factory(list)
    answered: set[Address] = attrs.Factory(set)
    hop: dict[Address, int] = attrs.Factory(dict)
    max_in_flight: int = 0
    first_batch: int = 0
    finished: bool = False
    #: Rule breaks seen (asked twice, asked a node nobody named, ...), in words.
    faults: list[str] = attrs.Factory(list)
    #: The ids of ``Lookup.closest()`` at the end.
    result: list[bytes] = attrs.Factory(list)
    hops: int = 0


@cache
def network(n: int, seed: int = 0) -> dict[Address, Node]:
    """``n`` btref nodes with converged tables (built once per size and seed)."""
    return build(n, random.Random(seed))


def walk(nodes: dict[Address, Node], source: Address, target: bytes, lookup_class: type[Any], *,
         dead: frozenset[Address] = frozenset(), loop: EventLoop | None = None, latency: float = 0.05,
         timeout: float = 1.0, alpha: int = 3, k: int = 8) -> Walk:
    """Run one ``find_node`` lookup of ``target`` from ``source`` with ``lookup_class``."""
    loop = loop or EventLoop()
    me = nodes[source]
    record = Walk(source, target)
    in_flight: set[Address] = set()
    tids = iter(range(1, 1 << 30))
    lookup = lookup_class(target, "find_node", loop.now, k=k, alpha=alpha)
    for entry in me.table.closest(target):
        record.hop[entry.address] = 1
        lookup.add(entry.id, entry.address, 1)

    def step() -> None:
        if record.finished:
            return
        queries = list(lookup.next_queries())
        for c in queries:
            address = tuple(c.address)
            if address in in_flight or address in record.asked:
                record.faults.append(f"asked {address} twice")
            if address not in record.hop:
                record.faults.append(f"asked {address}, which no answer named")
            record.asked.append(address)
            if len(record.asked) > MAX_QUERIES:
                raise TooManyQueries(f"the lookup sent more than {MAX_QUERIES} queries in a DHT of {len(nodes)} "
                                     f"nodes (a Kademlia lookup asks a few dozen)")
            in_flight.add(address)
            if address in dead or address not in nodes:
                loop.after(timeout, silence, address)
            else:
                loop.after(latency, deliver, address)
        if not record.asked:
            record.first_batch = 0
        elif record.first_batch == 0:
            record.first_batch = len(queries)
        record.max_in_flight = max(record.max_in_flight, len(in_flight))
        if lookup.should_finish():
            record.finished = True
            if in_flight:
                record.faults.append(f"should_finish() was true with {len(in_flight)} queries in flight")

    def deliver(address: Address) -> None:
        tid = next(tids).to_bytes(4, "big")
        node = nodes[address]
        # Read-only queries (BEP 43) leave the network's tables as they were: every
        # measurement sees the same network, whatever ran before it.
        node.receive(krpc.encode_query(tid, "find_node", me.id, read_only=True, target=target), source, loop.now)
        for data, to in node.take():
            if to == source:
                loop.after(latency, arrive, address, data)

    def arrive(address: Address, data: bytes) -> None:
        in_flight.discard(address)
        message = krpc.decode(data)
        assert isinstance(message, krpc.Response), message
        named = [(nid, a) for nid, a in krpc.decode_nodes(message.values.get(b"nodes", b"")) if nid != me.id]
        record.answered.add(address)
        for _, a in named:
            record.hop.setdefault(a, record.hop[address] + 1)
        lookup.answered(address, message.sender, named, [], None)
        step()

    def silence(address: Address) -> None:
        in_flight.discard(address)
        lookup.failed(address)
        step()

    step()
    loop.run(stop=lambda: record.finished)
    if record.answered:
        closest = min(record.answered, key=lambda a: _distance(nodes[a].id, target))
        record.hops = record.hop[closest]
    record.result = [c.id for c in lookup.closest() if c.id is not None]
    return record


def describe(exc: BaseException) -> str:
    """An exception in one line: its type, and its message or what a bare one means."""
    if isinstance(exc, NotImplementedError) and not str(exc):
        return "NotImplementedError (a function of the starter is still to be written)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _distance(a: bytes, b: bytes) -> int:
    return int.from_bytes(a, "big") ^ int.from_bytes(b, "big")


def measure(n: int, lookup_class: type[Any], *, lookups: int = LOOKUPS, seed: int = 0,
            dead_fraction: float = 0.0, k: int = 8, alpha: int = 3) -> dict[str, Any]:
    """``lookups`` lookups of random targets in a DHT of ``n`` nodes: summary figures.

    ``found_closest``: the share of lookups that asked the live node closest to the target
    and listed it in ``closest()``; ``k_closest``: the mean share of the ``k`` closest live
    nodes that ``closest()`` lists. Raises whatever the lookup raises.
    """
    nodes = network(n, seed)
    rng = random.Random(f"lab8 {n} {seed} {dead_fraction}")
    addresses = list(nodes)
    dead = frozenset(rng.sample(addresses, int(dead_fraction * n)))
    live = sorted((node.id, a) for a, node in nodes.items() if a not in dead)
    loop = EventLoop()
    walks = []
    for _ in range(lookups):
        source = rng.choice([a for a in addresses[:64] if a not in dead])
        target = rng.randbytes(20)
        walks.append(walk(nodes, source, target, lookup_class, dead=dead, loop=loop, k=k, alpha=alpha))
    found = kfound = 0.0
    for w in walks:
        own = nodes[w.source].id
        truly = [i for i, _ in sorted(live, key=lambda x: _distance(x[0], w.target)) if i != own][:k]
        asked_ids = {nodes[a].id for a in w.answered}
        found += truly[0] in asked_ids and truly[0] in w.result
        kfound += len(set(truly) & set(w.result) & asked_ids) / len(truly)
    return {"n": n, "log2_n": math.log2(n), "lookups": lookups,
            "hops_mean": statistics.fmean(w.hops for w in walks), "hops_max": max(w.hops for w in walks),
            "messages_mean": statistics.fmean(len(w.asked) for w in walks),
            "messages_max": max(len(w.asked) for w in walks),
            "max_in_flight": max(w.max_in_flight for w in walks),
            "first_batch": min(w.first_batch for w in walks),
            "finished": sum(w.finished for w in walks) / lookups,
            "found_closest": found / lookups, "k_closest": kfound / lookups,
            "faults": [f for w in walks for f in w.faults]}


def fit(results: list[dict[str, Any]]) -> tuple[float, float, float]:
    """Least squares ``hops = a + b log2 N`` over ``results``: ``(a, b, largest residual)``."""
    xs = [r["log2_n"] for r in results]
    ys = [r["hops_mean"] for r in results]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    a = my - b * mx
    return a, b, max(abs(y - (a + b * x)) for x, y in zip(xs, ys))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Your lab 8 lookup in btref's simulated DHT: hops against log2 N.")
    p.add_argument("folder", type=Path, help="your lab folder (holding kademlia_lab/)")
    p.add_argument("--btref", action="store_true", help="run btref's own lookup instead, for comparison")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="DHT sizes (default %(default)s)")
    p.add_argument("--lookups", type=int, default=LOOKUPS, help="lookups per size (default %(default)s)")
    p.add_argument("--dead", type=float, default=0.0, help="share of nodes that never answer (default 0)")
    p.add_argument("--alpha", type=int, default=3, help="queries in flight (default %(default)s)")
    p.add_argument("-k", type=int, default=8, help="the lookup's k: closest nodes it ends with (default %(default)s)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(args.folder.resolve()))
    module = "btref_discovery.dht.lookup" if args.btref else "kademlia_lab.lookup"
    try:
        lookup_class = importlib.import_module(module).Lookup
        results = [measure(int(n), lookup_class, lookups=args.lookups, dead_fraction=args.dead, k=args.k,
                           alpha=args.alpha) for n in args.sizes.split(",")]
    except Exception as exc:  # the student's lookup may raise anything: one line, as btref's commands do
        print(f"kademlia_network: your lookup raised {describe(exc)}", file=sys.stderr)
        return 2
    print(f"{'N':>6} {'log2 N':>7} {'hops':>5} {'max':>4} {'queries':>8} {'closest':>8} {'k closest':>10}")
    for r in results:
        print(f"{r['n']:>6} {r['log2_n']:>7.2f} {r['hops_mean']:>5.2f} {r['hops_max']:>4} "
              f"{r['messages_mean']:>8.2f} {r['found_closest']:>8.0%} {r['k_closest']:>10.0%}")
    if len(results) > 1:
        a, b, worst = fit(results)
        print(f"fit: hops = {a:.2f} + {b:.2f} log2 N (largest residual {worst:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
