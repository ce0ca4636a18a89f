"""A small DHT on loopback whose nodes all run on your routing table (BEP 5).

Nothing to fill in here: this starts ``--nodes`` of btref's own DHT nodes
(:class:`btref_discovery.dht.node.Node`) on 127.0.0.1, each with its table swapped for your
:class:`kademlia_lab.routing.RoutingTable`, joins them into one DHT, and has the last node
announce a peer (port 6881) for the info hash ``sha1(b"lab 8")``. Then look around from
another terminal with btref's own client::

    python serve.py
    btref dht lookup 0b3a...  --bootstrap 127.0.0.1:PORT      (both printed by serve.py)
    btref conformance dht --target 127.0.0.1:PORT

``--stop-after SECONDS`` ends it by itself (else Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random

from btref_discovery.dht.io import DHTServer
from btref_discovery.dht.node import Node

from kademlia_lab.routing import RoutingTable

INFO_HASH = hashlib.sha1(b"lab 8").digest()


async def serve(nodes: int, port: int, stop_after: float | None) -> None:
    loop = asyncio.get_running_loop()
    servers = []
    try:
        for i in range(nodes):
            # Ids from fixed seeds: the same DHT on every run, so two runs can be compared.
            node = Node(rng=random.Random(i), query_timeout=1.0, now=loop.time())
            # Your table instead of btref's: the same interface, another class.
            node.table = RoutingTable(node.id, node.table.k)  # type: ignore[assignment]
            for bucket in node.table.buckets:
                bucket.changed = loop.time()
            server = DHTServer(node)
            await server.start("127.0.0.1", port + i if port else 0)
            servers.append(server)
        first = servers[0].address
        for server in servers[1:]:
            await server.bootstrap([first])
        for server in servers:  # a second round: the early nodes learn of the later ones
            await server.bootstrap([first])
        found = await servers[-1].lookup(INFO_HASH, "get_peers", announce_port=6881)
        await servers[-1].settle()
        sizes = [len(s.node.table) for s in servers if s.node is not None]
        print(f"{nodes} nodes on your RoutingTable, first at {first[0]}:{first[1]}; "
              f"tables hold {min(sizes)} to {max(sizes)} nodes")
        print(f"the last node announced port 6881 for {INFO_HASH.hex()} to {len(found.announce_targets())} nodes")
        print(f"next: btref dht lookup {INFO_HASH.hex()} --bootstrap {first[0]}:{first[1]}", flush=True)
        await asyncio.sleep(stop_after if stop_after is not None else float("inf"))
    finally:
        for server in servers:
            server.close()


def main() -> None:
    p = argparse.ArgumentParser(description="A small DHT on loopback, every node on your routing table.")
    p.add_argument("--nodes", type=int, default=20, help="how many nodes (default %(default)s)")
    p.add_argument("--port", type=int, default=0, help="UDP port of the first node, the others follow (default: any)")
    p.add_argument("--stop-after", type=float, default=None, metavar="SECONDS", help="stop after SECONDS")
    args = p.parse_args()
    try:
        asyncio.run(serve(args.nodes, args.port, args.stop_after))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
