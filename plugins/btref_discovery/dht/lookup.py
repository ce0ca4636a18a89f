"""The iterative lookup: walking toward a target id, ``alpha`` queries at a time (BEP 5).

BEP 5, "Routing Table": to find nodes near a target, ask the closest nodes you know;
they answer with nodes closer still; ask those, and stop when no closer node turns up.
This is Kademlia's node lookup (Maymounkov and Mazieres, 2002, section 2.3):

1. the **shortlist** starts with the ``k`` closest nodes of our routing table (and any
   bootstrap addresses, whose ids we do not know yet: they are asked first);
2. up to ``alpha`` (3) queries are in flight at once; each answer adds its nodes to the
   shortlist, one **hop** further than the node that named them;
3. the lookup ends when none is in flight and each of the ``k`` closest live nodes of
   the shortlist has been asked.

A ``get_peers`` lookup also collects the peers in ``values`` answers and the **token**
each node gave, which the node then uses to ``announce_peer`` to the ``k`` closest nodes
that answered (BEP 5, "announce_peer").

:class:`Lookup` only keeps the books; :class:`~btref_discovery.dht.node.Node` sends the
queries and feeds the answers in. The **path** (every node asked, with its hop number and
outcome) is kept for teaching and for the hop-count measurements of
:mod:`btref_discovery.dht.sim`.

Invariants: the shortlist holds at most ``MAX_CANDIDATES`` nodes (the farthest unasked
ones are forgotten first), so a node that answers with thousands of made-up nodes costs
a bounded amount of memory; a node is asked at most once per lookup; peers are kept once
each, in the order found, at most ``MAX_PEERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .krpc import show

__all__ = ["Candidate", "Lookup", "MAX_CANDIDATES", "MAX_PEERS"]

Address = tuple[str, int]
#: Most shortlist entries kept per lookup.
MAX_CANDIDATES = 64
#: Most peers a lookup collects.
MAX_PEERS = 500


@attrs.define(eq=False)
class Candidate:
    """One node on the shortlist: ``state`` is ``new``, ``asked``, ``answered`` or ``failed``."""

    address: Address
    id: bytes | None
    hop: int
    state: str = "new"
    token: bytes | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"hop": self.hop, "address": show(self.address),
                "id": self.id.hex() if self.id else None, "state": self.state}


@attrs.define(eq=False)
class Lookup:
    """The state of one iterative ``find_node`` or ``get_peers`` lookup."""

    target: bytes
    method: str
    started: float
    k: int = 8
    alpha: int = 3
    #: The TCP port to announce once the lookup is done (``get_peers`` only), or ``None``.
    announce_port: int | None = None
    #: Called with the lookup when it ends.
    on_done: Callable[[Lookup], object] | None = None
    #: The DHT it walks: 4 (``nodes``) or 6 (``nodes6``, BEP 32).
    family: int = 4
    candidates: dict[Address, Candidate] = attrs.Factory(dict)
    peers: dict[Address, None] = attrs.Factory(dict)
    #: Every node asked, in order.
    path: list[Candidate] = attrs.Factory(list)
    done: bool = False
    finished: float | None = None

    def add(self, node_id: bytes | None, address: Address, hop: int) -> None:
        """Put a node on the shortlist (ignored if known, or farther than a full list)."""
        if address in self.candidates:
            return
        self.candidates[address] = Candidate(address, node_id, hop)
        if len(self.candidates) > MAX_CANDIDATES:
            unasked = [c for c in self.candidates.values() if c.state == "new"]
            if unasked:
                del self.candidates[max(unasked, key=self._key).address]

    def _key(self, c: Candidate) -> int:
        # Unknown ids (bootstrap addresses) sort first: they must be asked before anything else.
        return -1 if c.id is None else int.from_bytes(c.id, "big") ^ int.from_bytes(self.target, "big")

    def closest(self) -> list[Candidate]:
        """The ``k`` closest candidates not known to have failed."""
        live = [c for c in self.candidates.values() if c.state != "failed"]
        return sorted(live, key=self._key)[: self.k]

    # [docs: step]
    def next_queries(self) -> list[Candidate]:
        """Candidates to ask now (marked ``asked``): the closest unasked, ``alpha`` in flight at most."""
        if self.done:
            return []
        in_flight = sum(c.state == "asked" for c in self.candidates.values())
        chosen = [c for c in self.closest() if c.state == "new"][: max(0, self.alpha - in_flight)]
        for c in chosen:
            c.state = "asked"
            self.path.append(c)
        return chosen

    def should_finish(self) -> bool:
        """True when nothing is in flight and the ``k`` closest live candidates were all asked."""
        if any(c.state == "asked" for c in self.candidates.values()):
            return False
        return all(c.state != "new" for c in self.closest())
    # [/docs: step]

    def answered(self, address: Address, node_id: bytes, nodes: list[tuple[bytes, Address]],
                 peers: list[Address], token: bytes | None) -> None:
        """A candidate answered with ``nodes`` (and, for ``get_peers``, ``peers`` and a ``token``)."""
        c = self.candidates.get(address)
        if c is None or c.state != "asked":
            return
        c.state, c.id, c.token = "answered", node_id, token
        for peer in peers:
            if len(self.peers) < MAX_PEERS:
                self.peers.setdefault(peer, None)
        for nid, addr in nodes:
            if nid != node_id:
                self.add(nid, addr, c.hop + 1)

    def failed(self, address: Address) -> None:
        c = self.candidates.get(address)
        if c is not None and c.state == "asked":
            c.state = "failed"

    def finish(self, now: float) -> None:
        if not self.done:
            self.done, self.finished = True, now
            if self.on_done is not None:
                self.on_done(self)

    def announce_targets(self) -> list[Candidate]:
        """The ``k`` closest nodes that answered with a token: where ``announce_peer`` goes."""
        answered = [c for c in self.candidates.values() if c.state == "answered" and c.token is not None]
        return sorted(answered, key=self._key)[: self.k]

    @property
    def hops(self) -> int:
        """Hops to the closest node that answered (0 if none did)."""
        answered = sorted((c for c in self.candidates.values() if c.state == "answered"), key=self._key)
        return answered[0].hop if answered else 0

    @property
    def messages(self) -> int:
        """Queries this lookup sent."""
        return len(self.path)

    def report(self) -> dict[str, Any]:
        """A JSON-ready summary: target, family, peers found, hops, messages and the path."""
        return {"target": self.target.hex(), "method": self.method, "family": self.family,
                "peers": [show(p) for p in self.peers], "hops": self.hops, "messages": self.messages,
                "path": [c.as_dict() for c in self.path]}
