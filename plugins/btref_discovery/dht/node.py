"""A BEP 5 DHT node, sans-I/O: datagrams and the time in, datagrams out; IPv4 and IPv6 (BEP 32).

The node never touches a socket or a clock (DEVELOPERS.md, principle 1). A driver (the
asyncio one in :mod:`btref_discovery.dht.io`, or the in-memory simulator in
:mod:`btref_discovery.dht.sim`) calls

* :meth:`Node.receive` with each datagram, its sender address and the time ``now``;
* :meth:`Node.tick` at :meth:`Node.next_timer` (query timeouts, token rotation, bucket
  refresh, peer expiry);
* :meth:`Node.lookup`, :meth:`Node.bootstrap` or :meth:`Node.ping` to start something;

and after each call sends what :meth:`Node.take` returns: ``(bytes, (host, port))``.

What it answers (BEP 5, "DHT Queries"): ``ping``; ``find_node`` (the 8 closest nodes it
knows); ``get_peers`` (the peers it stores for the info hash, else the closest nodes; always
a token); ``announce_peer`` (stores the sender as a peer if its token is right). Anything
else gets error 204; malformed queries get 203; malformed responses and errors are dropped.

**Tokens** (BEP 5, "announce_peer"): the token for an IP address is
``SHA-1(secret + packed IP)``. The secret changes every 5 minutes and the previous one is
still accepted, so a token is good for 5 to 10 minutes, and only from the address that
asked for it: a node cannot announce someone else's address.

**Peer store**: peers announced to us expire :data:`PEER_TTL` (30 minutes) after their last
announce; at most :data:`MAX_HASHES` info hashes and :data:`MAX_PEERS_PER_HASH` peers each
are kept, so announces from a hostile node cannot fill memory, and at most
:data:`MAX_PEERS_PER_IP` entries per IP address (any port, any info hash), so that one
source cannot take the whole store and have everyone else's announces refused (an IPv6
source is its /64 network: :func:`source`).

**IPv6** (BEP 32): the IPv4 and the IPv6 DHT are two networks, and one node may be in
both with the same id. Each address family has its own routing table
(:attr:`Node.tables`, ``table`` and ``table6``): a node enters the table of the family
it spoke to us over, and a lookup walks one family (``nodes`` or ``nodes6`` answers).
``find_node`` and ``get_peers`` answers carry the nodes the query's ``want`` asks for,
else those of the family it came over; ``values`` lists the stored peers of that family
(an IPv6 announce stores an 18-byte IPv6 peer). The peer store and the tokens are shared.
A node told it runs both families (``families=(4, 6)``) asks for the other family too
with ``want`` while that table is short of ``k`` nodes (BEP 32, "Bootstrapping"; once
both are full it asks each family for its own, "Steady-state operation"), and pings the
nodes of the other family it hears of, so one bootstrap node fills both tables. An IPv6
``values`` list holds at most :data:`MAX_VALUES6_SENT` peers, so that the answer stays
under BEP 32's 1,024 bytes.

Invariants: every query we send has a pending transaction that ends by a reply from the
address it was sent to, or by a timeout; nothing a peer sends raises out of
:meth:`Node.receive`; with ``enforce_bep42``, nodes whose id does not match their address
(BEP 42) are answered but never enter the routing table.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from btref.errors import KRPCError

from . import krpc
from .bep42 import id_matches_ip
from .krpc import family_of
from .lookup import Lookup
from .routing import GOOD_FOR, RoutingTable

__all__ = ["Node", "PeerStore", "Pending", "save", "load", "TOKEN_ROTATION", "PEER_TTL", "MAX_HASHES",
           "MAX_PEERS_PER_HASH", "MAX_PEERS_PER_IP", "MAX_VALUES_SENT", "MAX_VALUES6_SENT", "source"]

Address = tuple[str, int]
Datagram = tuple[bytes, Address]
#: Seconds between secret changes; a token stays valid for one or two periods.
TOKEN_ROTATION = 300.0
#: Seconds an announced peer is kept after its last announce.
PEER_TTL = 30 * 60.0
MAX_HASHES = 2000
MAX_PEERS_PER_HASH = 200
#: Most entries (info hash, port) one IP address may hold in the store: a tenth of the
#: info hashes, and room for a lab's whole swarm on 127.0.0.1.
MAX_PEERS_PER_IP = 200
#: Most peers put in one ``get_peers`` answer (a 1,500-byte datagram holds about 150).
MAX_VALUES_SENT = 50
#: Most IPv6 peers in one answer: BEP 32 ("Maximum packet size") caps a datagram at 1,024
#: bytes so that it crosses any IPv6 path (minimum MTU 1,280) whole; 40 entries of 21
#: bytes (``18:`` and the peer) leave 184 bytes for the rest of the answer.
MAX_VALUES6_SENT = 40
#: Most queries in flight; more are refused (a lookup then waits for its next step).
MAX_PENDING = 1024


def source(ip: str) -> str:
    """Who an address counts as for :data:`MAX_PEERS_PER_IP`: the IPv4 address, or the /64
    network of an IPv6 one (a site gets a whole /64, so one host can pick 2**64 addresses)."""
    if ":" not in ip:
        return ip
    return str(ipaddress.IPv6Network((int(ipaddress.IPv6Address(ip)) >> 64 << 64, 64)))


@attrs.define
class PeerStore:
    """Peers announced to us, by info hash, each with its expiry time."""

    swarms: dict[bytes, dict[Address, float]] = attrs.Factory(dict)
    #: Entries held per source (:func:`source`), over every info hash.
    per_ip: dict[str, int] = attrs.Factory(dict)

    def add(self, info_hash: bytes, peer: Address, now: float) -> bool:
        """Store (or refresh) ``peer``; ``False`` if a limit refused it."""
        swarm = self.swarms.get(info_hash)
        if swarm is None or peer not in swarm:  # a new entry: within every limit?
            held = self.per_ip.get(source(peer[0]), 0)
            if (held >= MAX_PEERS_PER_IP or (swarm is None and len(self.swarms) >= MAX_HASHES)
                    or (swarm is not None and len(swarm) >= MAX_PEERS_PER_HASH)):
                return False
            if swarm is None:
                swarm = self.swarms[info_hash] = {}
            self.per_ip[source(peer[0])] = held + 1
        swarm[peer] = now + PEER_TTL
        return True

    def get(self, info_hash: bytes, now: float, count: int = MAX_VALUES_SENT,
            family: int | None = None) -> list[Address]:
        """Up to ``count`` live peers for ``info_hash``; only IPv4 or IPv6 ones with ``family``."""
        swarm = self.swarms.get(info_hash, {})
        return [peer for peer, expiry in swarm.items()
                if expiry > now and (family is None or family_of(peer) == family)][:count]

    def expire(self, now: float) -> None:
        for info_hash in list(self.swarms):
            swarm = self.swarms[info_hash]
            for peer in [p for p, expiry in swarm.items() if expiry <= now]:
                del swarm[peer]
                key = source(peer[0])
                left = self.per_ip[key] = self.per_ip[key] - 1
                if not left:
                    del self.per_ip[key]
            if not swarm:
                del self.swarms[info_hash]


@attrs.define(eq=False)
class Pending:
    """A query waiting for its answer."""

    address: Address
    method: str
    deadline: float
    lookup: Lookup | None = None


class Node:
    """One DHT node: its id, routing tables (one per address family), peer store, tokens and
    running lookups. ``families`` are the address families the driver can send to."""

    def __init__(self, node_id: bytes | None = None, *, rng: random.Random | None = None, k: int = 8,
                 alpha: int = 3, query_timeout: float = 5.0, enforce_bep42: bool = False,
                 read_only: bool = False, now: float = 0.0, families: tuple[int, ...] = (4,)) -> None:
        self.rng = rng or random.Random()
        self.id = node_id if node_id is not None else self.rng.randbytes(20)
        #: The routing tables of the IPv4 and the IPv6 DHT (BEP 32).
        self.table, self.table6 = RoutingTable(self.id, k), RoutingTable(self.id, k)
        self.families = families
        for table in self.tables.values():
            for bucket in table.buckets:
                bucket.changed = now
        self.store = PeerStore()
        self.alpha, self.query_timeout = alpha, query_timeout
        self.enforce_bep42, self.read_only = enforce_bep42, read_only
        self.secrets = [self.rng.randbytes(16), self.rng.randbytes(16)]
        self.next_rotation = now + TOKEN_ROTATION
        self.pending: dict[bytes, Pending] = {}
        self.lookups: list[Lookup] = []
        self._out: list[Datagram] = []
        self._tid = self.rng.randrange(65536)
        #: Counters for tests, the CLI and the simulator.
        self.stats = {"sent": 0, "received": 0, "dropped": 0, "errors_sent": 0, "timeouts": 0}

    @property
    def tables(self) -> dict[int, RoutingTable]:
        """The routing table of each address family: 4 -> :attr:`table`, 6 -> :attr:`table6`."""
        return {4: self.table, 6: self.table6}

    # ------------------------------------------------------------------ driver interface

    def take(self) -> list[Datagram]:
        """The datagrams to send now (the list is handed over and emptied)."""
        out, self._out = self._out, []
        return out

    def next_timer(self) -> float:
        """When :meth:`tick` should run next (a time in the driver's clock)."""
        times = [p.deadline for p in self.pending.values()]
        times.append(self.next_rotation)
        times.append(min(b.changed for t in self.tables.values() for b in t.buckets) + GOOD_FOR)
        return min(times)

    def tick(self, now: float) -> None:
        """Expire queries, rotate the token secret, refresh stale buckets, forget old peers."""
        for tid, p in list(self.pending.items()):
            if p.deadline <= now:
                del self.pending[tid]
                self.stats["timeouts"] += 1
                self._failed(p, now)
        if now >= self.next_rotation:
            self.secrets = [self.rng.randbytes(16), self.secrets[0]]
            self.next_rotation = now + TOKEN_ROTATION
            self.store.expire(now)
        for family, table in self.tables.items():
            for bucket in table.stale_buckets(now):
                bucket.changed = now  # one refresh per period, answered or not (and no busy timer when alone)
                if len(table):
                    self.lookup(bucket.random_id(self.rng), now, family=family)

    # [docs: receive]
    def receive(self, data: bytes, address: Address, now: float) -> None:
        """Handle one datagram from ``address``; never raises for anything a peer sends."""
        self.stats["received"] += 1
        try:
            message = krpc.decode(data)
        except KRPCError as exc:
            self.stats["dropped"] += 1
            if exc.tid is not None:  # a query we could not understand: say so
                self._error(exc.tid, exc.code, str(exc), address)
            return
        if isinstance(message, krpc.Query):
            self._query(message, address, now)
        else:
            pending = self.pending.get(message.tid)
            if pending is None or pending.address != address:
                self.stats["dropped"] += 1  # unsolicited, late, or spoofed from elsewhere
                return
            del self.pending[message.tid]
            if isinstance(message, krpc.Error):
                self._failed(pending, now, alive=True)
            else:
                self._response(message, pending, address, now)
    # [/docs: receive]

    # ------------------------------------------------------------------ starting things

    def ping(self, address: Address, now: float) -> None:
        self._send_query(address, "ping", now)

    def lookup(self, target: bytes, now: float, method: str = "find_node", *, announce_port: int | None = None,
               seeds: Iterable[Address] = (), on_done: Callable[[Lookup], object] | None = None,
               family: int = 4) -> Lookup:
        """Start an iterative lookup of ``target`` in the IPv4 or IPv6 DHT (``family``; see
        :mod:`btref_discovery.dht.lookup`); ``seeds`` of the other family are left out."""
        lookup = Lookup(target, method, now, k=self.table.k, alpha=self.alpha,
                        announce_port=announce_port, on_done=on_done, family=family)
        for address in seeds:
            if family_of(address) == family:
                lookup.add(None, address, 1)
        for entry in self.tables[family].closest(target, now=now):
            lookup.add(entry.id, entry.address, 1)
        self.lookups.append(lookup)
        self._step(lookup, now)
        return lookup

    def bootstrap(self, addresses: Iterable[Address], now: float,
                  on_done: Callable[[Lookup], object] | None = None, family: int = 4) -> Lookup:
        """Join the DHT of ``family``: look up our own id, starting from ``addresses`` (BEP 5,
        "Routing Table")."""
        return self.lookup(self.id, now, seeds=addresses, on_done=on_done, family=family)

    def token(self, ip: str, secret: bytes | None = None) -> bytes:
        """The ``announce_peer`` token for ``ip``: SHA-1 of the secret and the packed address."""
        return hashlib.sha1((secret or self.secrets[0]) + ipaddress.ip_address(ip).packed).digest()

    def token_ok(self, token: bytes, ip: str) -> bool:
        return any(token == self.token(ip, s) for s in self.secrets)

    # ------------------------------------------------------------------ queries we answer

    # [docs: query]
    def _query(self, q: krpc.Query, address: Address, now: float) -> None:
        if q.method == "ping":
            self._reply(q.tid, address)
        elif q.method == "find_node":
            self._reply(q.tid, address, **self._nodes_near(q.args[b"target"], q, address, now))
        elif q.method == "get_peers":
            info_hash = q.args[b"info_hash"]
            family = family_of(address)
            peers = self.store.get(info_hash, now, MAX_VALUES6_SENT if family == 6 else MAX_VALUES_SENT, family)
            answer = {"values": [krpc.encode_peer(p) for p in peers]} if peers else (
                self._nodes_near(info_hash, q, address, now))
            self._reply(q.tid, address, token=self.token(address[0]), **answer)
        elif q.method == "announce_peer":
            if not self.token_ok(q.args[b"token"], address[0]):
                return self._error(q.tid, krpc.PROTOCOL, "bad token", address)
            port = address[1] if q.args.get(b"implied_port") == 1 else q.args[b"port"]
            if not self.store.add(q.args[b"info_hash"], (address[0], port), now):
                return self._error(q.tid, krpc.SERVER, "peer store full", address)
            self._reply(q.tid, address)
        else:
            return self._error(q.tid, krpc.METHOD_UNKNOWN, f"Method Unknown: {q.method[:32]}", address)
        # Only a node that asked a proper question enters the table (BEP 43: unless read-only).
        if not q.read_only and (not self.enforce_bep42 or id_matches_ip(q.sender, address[0])):
            self._heard(q.sender, address, now, replied=False)
    # [/docs: query]

    def _nodes_near(self, target: bytes, q: krpc.Query, address: Address, now: float) -> dict[str, bytes]:
        """``nodes`` and/or ``nodes6`` near ``target``, as the query's ``want`` asks (BEP 32)."""
        return {krpc.NODES_KEY[f].decode(): krpc.encode_nodes(
                    [(n.id, n.address) for n in self.tables[f].closest(target, now=now)], f)
                for f in krpc.wanted(q.args, family_of(address))}

    def _reply(self, tid: bytes, address: Address, **values: Any) -> None:
        self._out.append((krpc.encode_response(tid, self.id, **values), address))

    def _error(self, tid: bytes, code: int, message: str, address: Address) -> None:
        self.stats["errors_sent"] += 1
        self._out.append((krpc.encode_error(tid, code, message), address))

    # ------------------------------------------------------------------ our queries and their answers

    def _send_query(self, address: Address, method: str, now: float, lookup: Lookup | None = None,
                    **args: Any) -> bool:
        if len(self.pending) >= MAX_PENDING:
            return False
        while True:
            self._tid = (self._tid + 1) % 65536
            tid = self._tid.to_bytes(2, "big")
            if tid not in self.pending:
                break
        self.pending[tid] = Pending(address, method, now + self.query_timeout, lookup)
        self._out.append((krpc.encode_query(tid, method, self.id, read_only=self.read_only, **args), address))
        self.stats["sent"] += 1
        return True

    def _heard(self, node_id: bytes, address: Address, now: float, *, replied: bool) -> None:
        to_ping = self.tables[family_of(address)].heard_from(node_id, address, now, replied=replied)
        if to_ping is not None and not any(p.address == to_ping.address for p in self.pending.values()):
            self._send_query(to_ping.address, "ping", now)

    def _response(self, r: krpc.Response, pending: Pending, address: Address, now: float) -> None:
        lookup = pending.lookup
        if not self.enforce_bep42 or id_matches_ip(r.sender, address[0]):
            self._heard(r.sender, address, now, replied=True)
        if lookup is None:
            return
        try:
            found = {f: krpc.decode_nodes(r.values[key], f) for f, key in krpc.NODES_KEY.items() if key in r.values}
            nodes = found.pop(lookup.family, [])
            peers = krpc.decode_values(r.values[b"values"]) if b"values" in r.values else []
            token = r.values.get(b"token")
            if token is not None and (not isinstance(token, bytes) or len(token) > krpc.MAX_TOKEN):
                raise KRPCError("bad token in answer")
        except KRPCError:
            self.stats["dropped"] += 1
            lookup.failed(address)
        else:
            nodes = [(nid, a) for nid, a in nodes if nid != self.id]
            lookup.answered(address, r.sender, nodes, peers, token)
            for family, others in found.items():
                self._meet(family, others, now)
        self._step(lookup, now)

    def _meet(self, family: int, nodes: list[tuple[bytes, Address]], now: float) -> None:
        """Ping nodes of another family that an answer named, while that table is short of
        ``k`` nodes (BEP 32: how a node in both DHTs fills its second table)."""
        table = self.tables[family]
        if family not in self.families or len(table) >= table.k:
            return
        asked = {p.address for p in self.pending.values()}
        for node_id, address in nodes[: table.k - len(table)]:
            if node_id != self.id and table.get(node_id) is None and address not in asked:
                self._send_query(address, "ping", now)

    def _failed(self, pending: Pending, now: float, alive: bool = False) -> None:
        table = self.tables[family_of(pending.address)]
        for entry in table:
            if entry.address == pending.address and not alive:  # an error reply: alive, just unhelpful
                table.failed(entry.id, now)
                break
        if pending.lookup is not None:
            pending.lookup.failed(pending.address)
            self._step(pending.lookup, now)

    # [docs: lookup-step]
    def _step(self, lookup: Lookup, now: float) -> None:
        """Send the lookup's next queries; when it is over, announce if asked to, and report."""
        if lookup.done:
            return
        key = "target" if lookup.method == "find_node" else "info_hash"
        # BEP 32 "want": the default (this lookup's family) is enough, unless another family we
        # run has a table short of k nodes: then ask for both, to fill it.
        short = [f for f in self.families if f != lookup.family and len(self.tables[f]) < self.tables[f].k]
        args: dict[str, Any] = {key: lookup.target}
        if short:
            args["want"] = krpc.want_list((lookup.family, *short))
        for c in lookup.next_queries():
            if not self._send_query(c.address, lookup.method, now, lookup, **args):
                lookup.failed(c.address)
        if lookup.should_finish():
            if lookup.announce_port is not None:
                for c in lookup.announce_targets():
                    self._send_query(c.address, "announce_peer", now, None, info_hash=lookup.target,
                                     port=lookup.announce_port, token=c.token, implied_port=0)
            self.lookups.remove(lookup)
            lookup.finish(now)
    # [/docs: lookup-step]

    # ------------------------------------------------------------------ saving and loading

    def state(self) -> dict[str, Any]:
        """Our id and routing tables, JSON-ready (what :func:`save` writes; IPv6 nodes after IPv4 ones)."""
        return {"id": self.id.hex(), "nodes": [[n.id.hex(), n.address[0], n.address[1]]
                                               for table in self.tables.values() for n in table]}

    def restore(self, state: dict[str, Any], now: float) -> None:
        """Put the nodes of a saved :meth:`state` into the table of their family (as questionable nodes)."""
        for node_hex, host, port in state.get("nodes", []):
            address = (str(ipaddress.ip_address(host)), int(port))
            self.tables[family_of(address)].heard_from(bytes.fromhex(node_hex), address, now, replied=False)


def save(node: Node, path: str | Path) -> None:
    """Write ``node``'s id and routing table to ``path`` (JSON)."""
    Path(path).write_text(json.dumps(node.state(), indent=1), encoding="utf-8")


def load(path: str | Path, now: float = 0.0, **options: Any) -> Node:
    """A node with the id and table saved in ``path``; ``options`` go to :class:`Node`.

    :raises KRPCError: when the file is not a saved node state.
    """
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        node = Node(bytes.fromhex(state["id"]), now=now, **options)
        node.restore(state, now)
    except (ValueError, KeyError, TypeError) as exc:
        raise KRPCError(f"{path}: not a saved DHT node state ({exc})") from exc
    return node
