"""The iterative lookup: walking toward a target id, ``alpha`` queries at a time (BEP 5).

BEP 5, "Routing Table": to find the nodes closest to a target, ask the closest nodes you
know; they answer with nodes closer still; ask those, and stop when no closer node turns
up. This is Kademlia's node lookup (Maymounkov and Mazieres, 2002, section 2.3):

1. the **shortlist** (``candidates``) starts with the ``k`` closest nodes of our routing
   table, each at **hop** 1 (and any bootstrap addresses, whose ids we do not know yet:
   ``id=None``; they sort before every known id, so they are asked first);
2. up to ``alpha`` (3) queries are in flight at once, always to the closest candidates
   not asked yet; each answer adds the nodes it names to the shortlist, one hop further
   than the node that named them;
3. the lookup is over when no query is in flight and each of the ``k`` closest
   candidates not known to have failed has been asked (and so answered).

A :class:`Lookup` only keeps the books: it never sends anything. The caller (btref's DHT
node, or the grader's simulated network) asks :meth:`Lookup.next_queries` whom to query,
reports each answer with :meth:`Lookup.answered` or silence with :meth:`Lookup.failed`,
and stops when :meth:`Lookup.should_finish` says so.

Fill in every method that raises ``NotImplementedError``. Invariants the grader checks:
a node is asked at most once; never more than ``alpha`` queries are in flight; the
shortlist holds at most :data:`MAX_CANDIDATES` nodes, so a node that answers with
thousands of made-up nodes costs bounded memory (when it is over the limit, the farthest
candidate not yet asked is forgotten); an answer from a node we did not ask is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["MAX_CANDIDATES", "MAX_PEERS", "Candidate", "Lookup"]

Address = tuple[str, int]
#: Most shortlist entries kept per lookup.
MAX_CANDIDATES = 64
#: Most peers a lookup collects (from get_peers answers).
MAX_PEERS = 500


@dataclass(eq=False)
class Candidate:
    """One node on the shortlist; ``state`` is ``"new"``, ``"asked"``, ``"answered"`` or ``"failed"``."""

    address: Address
    id: bytes | None
    hop: int
    state: str = "new"
    #: The token a get_peers answer gave (for announce_peer afterwards).
    token: bytes | None = None


@dataclass(eq=False)
class Lookup:
    """The state of one iterative ``find_node`` or ``get_peers`` lookup."""

    target: bytes
    method: str
    started: float
    k: int = 8
    alpha: int = 3
    #: The TCP port to announce once a get_peers lookup is done, or ``None``.
    announce_port: int | None = None
    #: Called with the lookup when it ends.
    on_done: Callable[[Lookup], object] | None = None
    #: The shortlist, by address.
    candidates: dict[Address, Candidate] = field(default_factory=dict)
    #: Peers found by a get_peers lookup, in the order found (a dict keeps the order).
    peers: dict[Address, None] = field(default_factory=dict)
    done: bool = False
    finished: float | None = None

    def add(self, node_id: bytes | None, address: Address, hop: int) -> None:
        """Put a node on the shortlist as a ``new`` candidate; nothing happens if its
        address is already there. Keep at most :data:`MAX_CANDIDATES`: over the limit,
        forget the farthest candidate that was not asked yet (maybe the one just added)."""
        raise NotImplementedError

    def closest(self) -> list[Candidate]:
        """The ``k`` candidates closest to the target among those not ``failed``, closest
        first (candidates without an id first of all)."""
        raise NotImplementedError

    def next_queries(self) -> list[Candidate]:
        """The candidates to ask now, marked ``asked``: the closest ``new`` ones among
        :meth:`closest`, so that at most ``alpha`` are in flight. Nothing once ``done``."""
        raise NotImplementedError

    def should_finish(self) -> bool:
        """True when nothing is in flight and every candidate of :meth:`closest` was asked."""
        raise NotImplementedError

    def answered(self, address: Address, node_id: bytes, nodes: list[tuple[bytes, Address]],
                 peers: list[Address], token: bytes | None) -> None:
        """The candidate at ``address`` answered (ignore it if we did not ask it): mark it
        ``answered``, learn its id and token, keep the ``peers`` (each once, at most
        :data:`MAX_PEERS`), and add each of ``nodes`` (but the answering node itself) one
        hop further than it."""
        raise NotImplementedError

    def failed(self, address: Address) -> None:
        """The candidate at ``address`` did not answer: mark it ``failed`` (if it was asked)."""
        raise NotImplementedError

    def finish(self, now: float) -> None:
        """End the lookup (once) and call ``on_done``."""
        if not self.done:
            self.done, self.finished = True, now
            if self.on_done is not None:
                self.on_done(self)
