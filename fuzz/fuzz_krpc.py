"""Fuzz the DHT message parser (BEP 5, "KRPC Protocol"): ``btref_discovery.dht.krpc``.

One input is one UDP datagram. :func:`krpc.decode` may refuse it only with
:class:`~btref.errors.KRPCError`; a response's ``nodes`` and ``values`` go through
:func:`krpc.decode_nodes` and :func:`krpc.decode_values`, which document the same error.
The datagram is then handed to a sans-I/O DHT :class:`~btref_discovery.dht.node.Node`,
whose :meth:`~btref_discovery.dht.node.Node.receive` promises never to raise for anything
a peer sends. That node has a ``get_peers`` lookup waiting on an answer from the sender,
so a response carrying its transaction id (its random generator is seeded, so the id is
fixed; a seed carries it) reaches the lookup code too.

Seeds: the BEP 5 example packets (vectors), plus queries and answers built here.
"""

from __future__ import annotations

import random

import atheris

import harness

with atheris.instrument_imports(include=harness.INSTRUMENTED):
    from btref.errors import KRPCError
    from btref_discovery.dht import krpc
    from btref_discovery.dht.node import Node

SENDER = ("10.0.0.1", 6881)
INFO_HASH = bytes(range(20))


def waiting_node() -> tuple[Node, bytes]:
    """A node with one ``get_peers`` query to :data:`SENDER` in flight, and that query's tid."""
    node = Node(bytes(20), rng=random.Random(1))
    node.lookup(INFO_HASH, 0.0, "get_peers", seeds=[SENDER])
    (tid,) = node.pending
    return node, tid


def TestOneInput(data: bytes) -> None:
    try:
        message = krpc.decode(data)
        if isinstance(message, krpc.Response):
            if b"nodes" in message.values:
                krpc.decode_nodes(message.values[b"nodes"])
            if b"values" in message.values:
                krpc.decode_values(message.values[b"values"])
    except KRPCError:
        pass
    node, _ = waiting_node()
    node.receive(data, SENDER, 1.0)
    node.take()


def seeds() -> list[bytes]:
    _, tid = waiting_node()
    me, peer = b"m" * 20, b"\x0a\x00\x00\x02\x1a\xe1"
    out = [
        krpc.encode_query(b"aa", "ping", me),
        krpc.encode_query(b"ab", "find_node", me, target=INFO_HASH),
        krpc.encode_query(b"ac", "get_peers", me, info_hash=INFO_HASH),
        krpc.encode_query(b"ad", "announce_peer", me, info_hash=INFO_HASH, port=6881, token=b"tok", implied_port=0),
        krpc.encode_query(b"ae", "vote", me, read_only=True),
        krpc.encode_response(tid, me, token=b"tok", values=[peer, peer]),
        krpc.encode_response(tid, me, token=b"tok", nodes=b"n" * 20 + peer),
        krpc.encode_error(tid, 201, "A Generic Error Ocurred"),
    ]
    for case in (harness.vector_json("bep5_krpc.json") or {}).get("messages", []):
        out.append(bytes.fromhex(case["bencoded_hex"]))
    return out


if __name__ == "__main__":
    harness.run(TestOneInput, seeds())
