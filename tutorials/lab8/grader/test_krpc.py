"""Lab 8, group "krpc": btref's DHT node running on the student's routing table (BEP 5).

The node is btref's own (:class:`btref_discovery.dht.node.Node`) with its table swapped
for the student's ``RoutingTable``: every query it receives goes through ``heard_from``,
every ``find_node`` and ``get_peers`` answer comes from ``closest``, every silence goes to
``failed``. The first test runs btref's KRPC conformance suite (``conformance/dht``, what
``btref conformance dht --target HOST:PORT`` runs) against that node over UDP on loopback; the others feed
datagrams to it directly and compare its answers with those of the same node on btref's
own table.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from btref.commands.common import CommandError
from btref.commands.conformance import command
from kademlia_network import describe
from btref_discovery.dht import krpc
from btref_discovery.dht.io import DHTServer
from btref_discovery.dht.node import Node
from btref_discovery.dht.routing import RoutingTable as BtrefTable

Address = tuple[str, int]
ZERO = bytes(20)
HALF = 2**159


def node_on(table_class: Any, node_id: bytes | None = None, now: float = 0.0, seed: int = 8) -> Node:
    """btref's node with a table of ``table_class``."""
    node = Node(node_id, rng=random.Random(seed), query_timeout=5.0, now=now)
    node.table = table_class(node.id, 8)
    for bucket in node.table.buckets:
        bucket.changed = now
    return node


def usable(routing: ModuleType) -> None:
    """Fail at once (instead of after the suite's timeouts) if the table cannot take a node yet."""
    try:
        rng = random.Random(1)
        table = routing.RoutingTable(rng.randbytes(20))
        other = rng.randbytes(20)
        table.heard_from(other, ("127.0.0.1", 1), 0.0, replied=False)
        assert [n.id for n in table.closest(other)] == [other], "closest() does not find the one node stored"
    except Exception as exc:  # the student's code may raise anything
        pytest.fail(f"a node cannot use your RoutingTable yet (heard_from, then closest): {describe(exc)}")


@pytest.fixture
def your_node(routing: ModuleType) -> Iterator[tuple[Address, list[str]]]:
    """btref's node on the student's table, answering on a loopback UDP port in a thread."""
    usable(routing)
    loop = asyncio.new_event_loop()
    errors: list[str] = []
    loop.set_exception_handler(lambda _, context: errors.append(repr(context.get("exception") or context["message"])))
    server = DHTServer(node_on(routing.RoutingTable, now=loop.time()))
    address = loop.run_until_complete(server.start("127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield address, errors
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_the_krpc_conformance_suite_passes_on_your_table(your_node: tuple[Address, list[str]], tmp_path: Path) -> None:
    """btref's KRPC conformance suite (btref conformance dht --target) passes against a DHT node built on your RoutingTable"""
    (host, port), errors = your_node
    try:
        cmd = command("dht", [], target=f"{host}:{port}")
    except CommandError as exc:
        pytest.fail(f"cannot run the KRPC suite: {exc}")
    result = subprocess.run([*cmd, "--no-header", "-rf"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            check=False)
    failed = [line.split("::")[-1].split(" ")[0] for line in result.stdout.splitlines() if line.startswith("FAILED")]
    raised = f"; your table raised in the node: {errors[0]}" if errors else ""
    assert result.returncode == 0, (f"the KRPC suite failed (exit {result.returncode}): "
                                    f"{', '.join(failed) or result.stdout.strip()[-200:]}{raised}")


def ping(node: Node, node_id: bytes, address: Address, now: float, read_only: bool = False) -> None:
    node.receive(krpc.encode_query(b"p1", "ping", node_id, read_only=read_only), address, now)


def find_node(node: Node, target: bytes, now: float) -> list[bytes]:
    """The ids a ``find_node`` answer names (asked by a read-only node, which stays out of the table)."""
    node.take()
    node.receive(krpc.encode_query(b"f1", "find_node", b"\xee" * 20, read_only=True, target=target),
                 ("192.0.2.250", 9), now)
    answers = [krpc.decode(data) for data, to in node.take() if to == ("192.0.2.250", 9)]
    assert len(answers) == 1 and isinstance(answers[0], krpc.Response), f"no find_node answer: {answers}"
    return [nid for nid, _ in krpc.decode_nodes(answers[0].values.get(b"nodes", b""))]


def test_find_node_answers_with_the_closest_nodes_your_table_keeps(routing: ModuleType) -> None:
    """after queries from 60 nodes, find_node answers name the same 8 closest nodes as btref's table would"""
    usable(routing)
    rng = random.Random(60)
    own = rng.randbytes(20)
    mine, ref = node_on(routing.RoutingTable, own), node_on(BtrefTable, own)
    senders = [(rng.randbytes(20), (f"10.1.0.{i}", 6881)) for i in range(60)]
    for i, (node_id, address) in enumerate(senders):
        for node in (mine, ref):
            ping(node, node_id, address, float(i))
            node.take()
    assert len(mine.table) == len(ref.table), f"your table kept {len(mine.table)} nodes, btref's {len(ref.table)}"
    for target in [own, rng.randbytes(20), rng.randbytes(20), senders[7][0]]:
        got, want = find_node(mine, target, 100.0), find_node(ref, target, 100.0)
        assert got == want, f"find_node({target.hex()[:8]}...) named other nodes than expected"


def test_a_node_that_stops_answering_is_replaced(routing: ModuleType) -> None:
    """in a full far bucket the node pings the least recently seen node; after two unanswered pings a waiting newcomer takes its place"""
    usable(routing)
    node = node_on(routing.RoutingTable, ZERO)
    far = [(HALF | i << 8).to_bytes(20, "big") for i in range(12)]
    for i in range(8):
        ping(node, (i + 1).to_bytes(20, "big"), (f"10.2.0.{i}", 6881), 0.0)  # near us
        ping(node, far[i], (f"10.3.0.{i}", 6881), float(i))  # far half: 8 questionable nodes
    node.take()
    for newcomer, now in ((8, 10.0), (9, 20.0)):
        ping(node, far[newcomer], (f"10.3.0.{newcomer}", 6881), now)
        pings = [(krpc.decode(data), to) for data, to in node.take()]
        pinged = [to for message, to in pings if isinstance(message, krpc.Query) and message.method == "ping"]
        assert pinged == [("10.3.0.0", 6881)], f"the node should ping the least recently seen far node, pinged {pinged}"
        node.tick(now + 6.0)  # no answer: the ping times out
    ids = {n.id for n in node.table}
    assert far[0] not in ids, "the node that failed two pings is still in the table"
    assert far[9] in ids, "the newest waiting newcomer should have taken its place"
    assert far[8] not in ids and len(node.table) == 16
