"""Many DHT nodes in one process on a virtual clock: how many hops does a lookup take? (BEP 5)

Kademlia's promise is that a lookup among ``N`` nodes takes ``O(log N)`` hops: each hop at
least halves the distance to the target, and k-buckets know nodes at every distance. This
module checks the promise with the real sans-I/O :class:`~btref_discovery.dht.node.Node`:
datagrams are delivered by :class:`btref.sim.loop.EventLoop` (the swarm simulator's
virtual clock) after a fixed latency, so a run is deterministic for a given ``seed`` and
costs no wall-clock waiting.

Building a DHT of 10,000 nodes by letting each bootstrap would take millions of messages;
:func:`build` instead fills each routing table as a long-running DHT would have it: for
every bucket depth, up to ``k`` random nodes of that subtree. Lookups then run over the
network for real. With ``family=6`` every node has an IPv6 address (``fd00::/8``) and
the lookups walk the IPv6 DHT of BEP 32 (``nodes6`` answers, 38-byte entries).
:func:`measure` reports, per ``N``: mean and maximum hops (to the
closest node that answered), messages sent per lookup, and how often the lookup found
the node truly closest to the target.

(The swarm simulator's scenario registry, :mod:`btref.sim.scenarios`, builds swarms of
engine sessions, so a DHT experiment does not fit it; it lives here instead.)
"""

from __future__ import annotations

import bisect
import ipaddress
import math
import random
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from btref.sim.loop import EventLoop

from .node import Node

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.sim.scenarios import Params

__all__ = ["build", "measure", "experiment", "plot"]

Address = tuple[str, int]


def _address(i: int, family: int = 4) -> Address:
    if family == 6:
        return str(ipaddress.IPv6Address((0xFD00 << 112) + i)), 6881
    return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 6881


def build(n: int, rng: random.Random, k: int = 8, family: int = 4) -> dict[Address, Node]:
    """``n`` nodes with random ids and converged routing tables (see the module docstring),
    on IPv4 or IPv6 addresses (``family``)."""
    nodes = {_address(i, family): Node(rng.randbytes(20), rng=random.Random(rng.random()), k=k,
                                       families=(family,)) for i in range(n)}
    ordered = sorted((int.from_bytes(node.id, "big"), address) for address, node in nodes.items())
    keys = [key for key, _ in ordered]
    for address, node in nodes.items():
        me = int.from_bytes(node.id, "big")
        for depth in range(160):
            shift = 159 - depth
            lo = ((me >> shift) ^ 1) << shift  # the sibling subtree at this depth
            a, b = bisect.bisect_left(keys, lo), bisect.bisect_left(keys, lo + (1 << shift))
            for j in rng.sample(range(a, b), min(k, b - a)):
                other = ordered[j][1]
                node.tables[family].heard_from(nodes[other].id, other, 0.0, replied=True)
            same = bisect.bisect_left(keys, (me >> shift) << shift), bisect.bisect_left(keys, ((me >> shift) + 1) << shift)
            if same[1] - same[0] <= 1:  # nobody else shares this prefix: deeper buckets are empty
                break
    return nodes


def measure(n: int, lookups: int = 50, seed: int = 0, latency: float = 0.05, alpha: int = 3,
            family: int = 4) -> dict[str, Any]:
    """Run ``lookups`` ``find_node`` lookups in an IPv4 or IPv6 (``family``) DHT of ``n`` nodes;
    summary figures."""
    rng = random.Random(seed)
    nodes = build(n, rng, family=family)
    loop = EventLoop()
    ids = sorted(node.id for node in nodes.values())

    def send(source: Address) -> None:
        for data, destination in nodes[source].take():
            loop.after(latency, deliver, data, source, destination)

    def deliver(data: bytes, source: Address, destination: Address) -> None:
        node = nodes.get(destination)
        if node is not None:
            node.receive(data, source, loop.now)
            send(destination)

    addresses = list(nodes)
    hops, messages, exact = [], [], 0
    for _ in range(lookups):
        source = rng.choice(addresses)
        target = rng.randbytes(20)
        for node in nodes.values():
            node.alpha = alpha
        lookup = nodes[source].lookup(target, loop.now, family=family)
        send(source)
        loop.run(stop=lambda: lookup.done)
        hops.append(lookup.hops)
        messages.append(lookup.messages)
        truly_closest = min((i for i in ids if i != nodes[source].id),
                            key=lambda i: int.from_bytes(i, "big") ^ int.from_bytes(target, "big"))
        exact += any(c.id == truly_closest and c.state == "answered" for c in lookup.candidates.values())
    return {"n": n, "log2_n": math.log2(n), "lookups": lookups, "hops_mean": statistics.fmean(hops),
            "hops_max": max(hops), "messages_mean": statistics.fmean(messages), "found_closest": exact / lookups}


def experiment(sizes: tuple[int, ...] = (100, 300, 1000, 3000, 10000), lookups: int = 50,
               seed: int = 0) -> list[dict[str, Any]]:
    """:func:`measure` for each size in ``sizes``."""
    return [measure(n, lookups, seed) for n in sizes]


def lookup_scenario(params: Params) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``dht-lookup`` scenario of ``btref sim``: :func:`experiment` for N = 100, 300,
    1,000, ... up to ``--peers`` (50 lookups each, seeded by ``--seed``)."""
    sizes = tuple(n for n in (100, 300, 1000, 3000, 10000, 30000) if n <= params.peers) or (params.peers,)
    results = experiment(sizes, lookups=50, seed=params.seed)
    summary = {f"N={r['n']} (log2 N {r['log2_n']:.1f})":
               f"{r['hops_mean']:.2f} hops mean, {r['hops_max']} max, {r['messages_mean']:.1f} queries, "
               f"closest found {r['found_closest']:.0%}" for r in results}
    return results, {"summary": summary, "results": results}


def lookup_figures(results: list[dict[str, Any]], folder: Path) -> list[Path]:  # pragma: no cover - drawing only
    """The ``dht-lookup`` scenario's figures: :func:`plot` as PNG and SVG in ``folder``."""
    return [plot(results, folder / f"dht-lookup.{kind}") for kind in ("png", "svg")]


def plot(results: list[dict[str, Any]], path: str | Path) -> Path:  # pragma: no cover - drawing only
    """Hops and messages per lookup against log2 N, written to ``path`` (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["log2_n"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(x, [r["hops_mean"] for r in results], "o-", label="mean hops")
    left.plot(x, [r["hops_max"] for r in results], "s--", label="max hops")
    left.set_xlabel("log2 N")
    left.set_ylabel("hops")
    left.legend()
    right.plot(x, [r["messages_mean"] for r in results], "o-")
    right.set_xlabel("log2 N")
    right.set_ylabel("queries per lookup")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
