"""The routing table: k-buckets over the 160-bit id space (BEP 5, "Routing Table").

Fill in every function that raises ``NotImplementedError``. The rules (BEP 5, and the
Kademlia paper by Maymounkov and Mazieres, 2002):

**Distance** is XOR: ``d(A, B) = A xor B``, the two 20-byte ids read as unsigned
big-endian integers; smaller is closer. A node's **bucket number** (its index in the flat
list of Kademlia's paper) is the position of the highest bit in which its id differs from
ours: 159 when the very first bit differs, 0 when only the last one does.

**The table** starts as one bucket covering ``[0, 2**160)``. A bucket holds at most ``k``
(8) nodes. When a node we do not know arrives at a full bucket:

1. if the bucket's range contains **our own id** (and is wider than one id), split it into
   two halves, move its nodes (and its waiting replacements) into the half each belongs
   to, keeping their order, and try again: the table becomes finest near us and coarse
   far away;
2. else, if a **bad** node is in the bucket, the newcomer takes the place (the same
   position in ``nodes``) of the first bad one;
3. else, if some nodes are **questionable**, the newcomer waits at the end of the bucket's
   ``replacements`` (at most ``k`` of them, the newest kept, each id once), and
   :meth:`RoutingTable.heard_from` returns the least recently seen questionable node (the
   first one on a tie): the caller pings it, and once it is bad (see
   :meth:`RoutingTable.failed`) the newest replacement takes its place;
4. else every node is good, and the newcomer is dropped (long-lived nodes are the ones
   most likely to stay).

A bucket that is not full takes the newcomer at the end of its ``nodes``. Whenever a
node is stored in a bucket or updated there, the bucket's ``changed`` becomes ``now`` (a
waiting replacement changes nothing); the two halves of a split keep the ``changed`` of
the bucket they came from.

**Liveness** (BEP 5): a node is **good** if it answered one of our queries in the last
:data:`GOOD_FOR` seconds, or has ever answered us and was seen (queried us) in the last
:data:`GOOD_FOR` seconds; **bad** once it failed :data:`MAX_FAILURES` queries in a row;
**questionable** otherwise.

Invariants the grader checks: the buckets tile the id space in order, without gaps or
overlaps; each holds at most ``k`` nodes and ``k`` replacements; our own id is never
stored; a known id arriving from a different address changes nothing (else anyone could
hijack a good node's slot with one spoofed packet).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["ID_SPACE", "GOOD_FOR", "MAX_FAILURES", "distance", "bucket_index", "NodeEntry", "Bucket", "RoutingTable"]

#: Ids are 160-bit numbers (SHA-1's width, so an info hash is a point of the same space).
ID_SPACE = 2**160
#: Seconds a node stays good after its last sign of life.
GOOD_FOR = 15 * 60.0
#: Failed queries in a row that make a node bad.
MAX_FAILURES = 2

Address = tuple[str, int]


def distance(a: bytes, b: bytes) -> int:
    """The XOR distance between two 20-byte ids, as a non-negative integer."""
    raise NotImplementedError


def bucket_index(own_id: bytes, node_id: bytes) -> int:
    """The bucket number of ``node_id`` seen from ``own_id``: the highest differing bit.

    159 when the first bit differs, 0 when only the last bit does.

    :raises ValueError: when the two ids are equal (a node has no bucket for itself).
    """
    raise NotImplementedError


@dataclass(eq=False)
class NodeEntry:
    """What we know of one node."""

    id: bytes
    address: Address
    #: When it last answered us or queried us.
    last_seen: float
    #: When it last answered one of our queries (``None``: never).
    last_reply: float | None = None
    #: Queries it failed to answer since its last answer.
    failures: int = 0

    def status(self, now: float) -> str:
        """``"good"``, ``"questionable"`` or ``"bad"`` at time ``now`` (see the module docstring)."""
        raise NotImplementedError


@dataclass(eq=False)
class Bucket:
    """The nodes whose ids fall in ``[lo, hi)``, and the newcomers waiting for a place."""

    lo: int
    hi: int
    #: When a node was last added to or updated in this bucket (for refreshes).
    changed: float = 0.0
    nodes: list[NodeEntry] = field(default_factory=list)
    replacements: list[NodeEntry] = field(default_factory=list)

    def covers(self, value: int) -> bool:
        """Whether the id ``value`` (an integer) falls in this bucket's range."""
        return self.lo <= value < self.hi

    def random_id(self, rng: random.Random) -> bytes:
        """A random id in this bucket's range (what a refresh looks up)."""
        return rng.randrange(self.lo, self.hi).to_bytes(20, "big")


class RoutingTable:
    """Our view of the DHT: up to ``k`` nodes per bucket, finest near ``own_id``.

    btref's DHT node uses exactly this interface: ``k``, ``buckets``, ``heard_from``,
    ``failed``, ``closest``, ``stale_buckets``, ``len()`` and iteration.
    """

    def __init__(self, own_id: bytes, k: int = 8) -> None:
        if len(own_id) != 20:
            raise ValueError("a node id is 20 bytes")
        self.own_id = own_id
        self.k = k
        #: The buckets in order of their ranges; together they cover [0, ID_SPACE).
        self.buckets: list[Bucket] = [Bucket(0, ID_SPACE)]

    def __len__(self) -> int:
        return sum(len(b.nodes) for b in self.buckets)

    def __iter__(self) -> Iterator[NodeEntry]:
        for bucket in self.buckets:
            yield from bucket.nodes

    def bucket_for(self, node_id: bytes) -> Bucket:
        """The bucket whose range holds ``node_id``."""
        raise NotImplementedError

    def get(self, node_id: bytes) -> NodeEntry | None:
        """The entry for ``node_id``, if the table holds it."""
        return next((n for n in self.bucket_for(node_id).nodes if n.id == node_id), None)

    def heard_from(self, node_id: bytes, address: Address, now: float, *, replied: bool) -> NodeEntry | None:
        """Record a sign of life from ``node_id`` at ``address``: an answer to our query
        (``replied=True``) or a query it sent us (``replied=False``).

        A known node (same id, same address) is updated: ``last_seen`` (and, for an
        answer, ``last_reply`` and ``failures = 0``), and its bucket's ``changed``. A new
        node is stored by the four rules of the module docstring, as
        ``NodeEntry(node_id, address, now, now if replied else None)``.

        Returns the questionable node the caller should ping (rule 3), else ``None``.
        """
        raise NotImplementedError

    def failed(self, node_id: bytes, now: float) -> None:
        """``node_id`` did not answer a query: count the failure; once the node is bad,
        the newest waiting replacement of its bucket takes its place (the same position
        in ``nodes``, and it leaves ``replacements``). Unknown ids are ignored."""
        raise NotImplementedError

    def closest(self, target: bytes, count: int | None = None, now: float | None = None) -> list[NodeEntry]:
        """The ``count`` (default ``k``) known nodes nearest ``target``, nearest first;
        bad nodes left out when ``now`` is given."""
        raise NotImplementedError

    def stale_buckets(self, now: float, after: float = GOOD_FOR) -> list[Bucket]:
        """Buckets unchanged for ``after`` seconds: the node refreshes each with a lookup."""
        return [b for b in self.buckets if now - b.changed >= after]

    def _split(self, bucket: Bucket) -> None:
        """Replace ``bucket`` by its two halves, nodes and replacements moved along (a
        suggested helper for :meth:`heard_from`; the grader never calls it)."""
        raise NotImplementedError
