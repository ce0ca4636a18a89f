"""``btref dht``: run a DHT node, look an info hash up, or measure lookups (BEP 5; IPv6: BEP 32).

Three actions over the ``dht`` discovery plugin's pieces (:mod:`btref_discovery.dht`):

* ``btref dht`` runs a standalone node (:class:`~btref_discovery.dht.io.DHTServer`) until
  Ctrl-C or ``--stop-after``; others can bootstrap from it (``--bootstrap 127.0.0.1:PORT``);
* ``btref dht lookup INFOHASH`` joins through ``--bootstrap``, runs one ``get_peers``
  lookup and prints the peers found and the lookup path (each node asked, by hop);
* ``btref dht sim`` runs in-memory DHTs of several sizes on a virtual clock
  (:mod:`btref_discovery.dht.sim`) and prints hops and messages per lookup.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TextIO

from btref.commands.common import CommandError

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref_discovery.dht.node import Node
    from btref_discovery.dht.plugin import DHT

    from btref.commands.common import Subparsers

HELP = "run a DHT node, look an info hash up in the DHT, or measure lookups"
DESCRIPTION = """\
The DHT (BEP 5) lets peers find each other without a tracker: every node keeps a
small routing table of other nodes, and a lookup walks toward the info hash,
node by node, until it reaches the nodes that store its peers.

  btref dht                   run a node until Ctrl-C (others bootstrap from it)
  btref dht lookup INFOHASH   find peers for INFOHASH and show the lookup path
  btref dht sim               measure hops per lookup in simulated DHTs
"""
EPILOG = """\
examples:
  btref dht --port 6881
  btref dht --port 6882 --bootstrap 127.0.0.1:6881 --state node2.json
  btref dht --host 127.0.0.1 --host ::1 --port 6881      (IPv4 and IPv6, BEP 32)
  btref dht --host ::1 --port 6883 --bootstrap [::1]:6881
  btref dht lookup 0123456789abcdef0123456789abcdef01234567 --bootstrap 127.0.0.1:6881
  btref dht sim --sizes 100,1000 --lookups 20 --plot hops.png

try next: start two nodes as above, then `btref dht lookup` through one of them.
On the Internet, bootstrap from router.bittorrent.com:6881.
"""


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("dht", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", default="serve", choices=["serve", "lookup", "sim"],
                   help="serve (default), lookup or sim")
    p.add_argument("target", nargs="?", metavar="INFOHASH", help="for lookup: 40 hex digits or a magnet link")
    p.add_argument("--host", action="append", metavar="ADDRESS",
                   help="address to listen on, IPv4 and/or IPv6 (repeatable, one per family; default 0.0.0.0, "
                        "and :: too when a --bootstrap node is IPv6)")
    p.add_argument("--port", type=int, default=0, help="UDP port (default 0: any free port)")
    p.add_argument("--bootstrap", action="append", default=[], metavar="HOST:PORT",
                   help="a node to join through (repeatable)")
    p.add_argument("--state", metavar="FILE", help="load the node id and table from FILE, save them on exit")
    p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="query timeout (default 5)")
    p.add_argument("--stop-after", type=float, metavar="SECONDS", help="serve: stop after this many seconds")
    p.add_argument("--json", action="store_true", help="lookup, sim: print JSON")
    p.add_argument("--sizes", default="100,300,1000", help="sim: DHT sizes (default 100,300,1000)")
    p.add_argument("--lookups", type=int, default=20, help="sim: lookups per size (default 20)")
    p.add_argument("--plot", metavar="FILE", help="sim: also draw hops against log2 N (needs matplotlib)")
    p.set_defaults(run=run)


def info_hash(text: str | None) -> bytes:
    """40 hex digits or a magnet link -> the 20-byte info hash."""
    if not text:
        raise CommandError("`btref dht lookup` needs an INFOHASH (40 hex digits or a magnet link)")
    if text.lower().startswith("magnet:"):
        from btref.magnet import parse_magnet

        return parse_magnet(text).info_hash
    try:
        value = bytes.fromhex(text)
    except ValueError:
        value = b""
    if len(value) != 20:
        raise CommandError(f"{text!r} is not an info hash (40 hex digits)")
    return value


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    import asyncio  # the event loop and the DHT plugin: only when a node runs

    from btref_discovery.dht.plugin import DHT

    out = out or sys.stdout

    if args.action == "sim":
        return simulate(args, out)
    plugin = DHT(bootstrap=args.bootstrap, host=args.host or "0.0.0.0", port=args.port, state_file=args.state,
                 query_timeout=args.timeout)
    if args.action == "lookup":
        target = info_hash(args.target)
        return asyncio.run(lookup(plugin, target, args.json, out))
    return asyncio.run(serve(plugin, args.stop_after, out))


async def serve(plugin: DHT, stop_after: float | None, out: TextIO) -> int:
    import asyncio

    server = await plugin.start()
    try:
        from btref_discovery.dht.krpc import show

        node = server.node
        assert node is not None  # a started server has its node
        where = " and ".join(show(a) for a in server.addresses)
        port = server.address[1]
        here = f"[::1]:{port}" if server.families == [6] else f"127.0.0.1:{port}"
        print(f"btref dht: node {node.id.hex()} on {where}, {known(node)} nodes known; "
              f"Ctrl-C stops. Next: btref dht lookup INFOHASH --bootstrap {here}", file=out, flush=True)
        try:
            await asyncio.sleep(stop_after if stop_after is not None else float("inf"))
        finally:
            stats = node.stats
            print(f"btref dht: {known(node)} nodes known, {stats['received']} packets in, "
                  f"{stats['sent']} queries out, {len(node.store.swarms)} torrents stored", file=out)
    finally:
        await plugin.close()
    return 0


def known(node: Node) -> str:
    """How many nodes the routing tables hold: ``"12"``, or ``"12 IPv4 + 9 IPv6"`` in both DHTs."""
    if not len(node.table6):
        return str(len(node.table))
    return f"{len(node.table)} IPv4 + {len(node.table6)} IPv6" if len(node.table) else f"{len(node.table6)} IPv6"


async def lookup(plugin: DHT, target: bytes, as_json: bool, out: TextIO) -> int:
    """One ``get_peers`` lookup in each DHT (IPv4, IPv6) our node got nodes for; prints the
    peers and every path. Exit status 0 when peers were found, else 1."""
    server = await plugin.start()
    try:
        assert server.node is not None  # a started server has its node
        families = [f for f in server.families if len(server.node.tables[f])]
        if not families:
            raise CommandError("no DHT node answered; give one with --bootstrap HOST:PORT")
        found = [await server.lookup(target, "get_peers", family=f) for f in families]
    finally:
        await plugin.close()
    reports = [look.report() for look in found]
    peers = list(dict.fromkeys(peer for report in reports for peer in report["peers"]))
    if as_json:
        report = reports[0] if len(reports) == 1 else {
            "target": target.hex(), "method": "get_peers", "peers": peers, "lookups": reports}
        print(json.dumps(report, indent=1), file=out)
        return 0 if peers else 1
    print(f"{len(peers)} peers for {target.hex()}:", file=out)
    for peer in peers:
        print(f"  {peer}", file=out)
    for look, report in zip(found, reports):
        print(f"IPv{look.family} lookup: {look.messages} queries, {look.hops} hops to the closest node; "
              "path (hop, node, outcome):", file=out)
        for step in report["path"]:
            print(f"  {step['hop']:>2}  {step['address']:<21} {step['id'] or '?':<40}  {step['state']}", file=out)
    return 0 if peers else 1


def simulate(args: argparse.Namespace, out: TextIO) -> int:
    from btref_discovery.dht.sim import experiment, plot

    try:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    except ValueError:
        raise CommandError(f"--sizes {args.sizes!r} is not a comma-separated list of numbers") from None
    if min(sizes) < 2 or args.lookups < 1:
        raise CommandError("a DHT needs at least 2 nodes and 1 lookup")
    results = experiment(sizes, args.lookups)
    if args.json:
        print(json.dumps(results, indent=1), file=out)
    else:
        print(f"{'N':>7} {'log2 N':>7} {'hops':>6} {'max':>4} {'queries':>8} {'found closest':>14}", file=out)
        for r in results:
            print(f"{r['n']:>7} {r['log2_n']:>7.2f} {r['hops_mean']:>6.2f} {r['hops_max']:>4} "
                  f"{r['messages_mean']:>8.2f} {r['found_closest']:>14.0%}", file=out)
    if args.plot:
        print(f"plot: {plot(results, args.plot)}", file=out)
    return 0
