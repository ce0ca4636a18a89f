"""The routing table: k-buckets over the 160-bit id space (BEP 5, "Routing Table").

Distance is XOR: ``d(A, B) = A xor B`` read as an unsigned integer; smaller is closer.
The table starts as one bucket covering ``[0, 2**160)``. A bucket holds at most ``k``
(8) nodes. When a new node arrives at a full bucket:

* if the bucket's range contains **our own id**, it is split in two halves and the nodes
  are redistributed (so the table is finest near us and coarse far away: about
  ``log2(N)`` buckets for a DHT of ``N`` nodes);
* else, a **bad** node in it is replaced by the newcomer; failing that, the least
  recently seen **questionable** node is returned to the caller, which should ping it
  (the newcomer waits in the bucket's replacement cache and takes the place of any node
  that turns bad); when every node is good, the newcomer is dropped.

Liveness (BEP 5): a node is **good** if it answered one of our queries in the last 15
minutes, or has ever answered and sent us a query in the last 15 minutes; **bad** after
failing :data:`MAX_FAILURES` queries in a row; **questionable** otherwise. A bucket
nobody touched for 15 minutes is **stale** and should be refreshed with a ``find_node``
for a random id in its range (:meth:`RoutingTable.stale_buckets`).

Invariants: the buckets tile the id space without gaps or overlaps, in order; each holds
at most ``k`` nodes and ``k`` replacements; our own id is never stored; a known node's
address is never changed by a later packet from another address (that would let anyone
hijack an entry); an address is in the table under one id at most, so one source that
makes up ids takes one entry, not a bucket after bucket of them (a new id from that
address gets in once the old entry has gone bad).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator

import attrs

__all__ = ["ID_SPACE", "GOOD_FOR", "MAX_FAILURES", "NodeEntry", "Bucket", "RoutingTable", "distance"]

#: Ids are 160-bit numbers (the width of SHA-1, so an info hash is a point in the same space).
ID_SPACE = 2**160
#: Seconds a node stays good after its last sign of life; also the bucket refresh period.
GOOD_FOR = 15 * 60.0
#: Failed queries in a row that make a node bad.
MAX_FAILURES = 2

Address = tuple[str, int]


def distance(a: bytes, b: bytes) -> int:
    """The XOR distance between two 20-byte ids, as an integer."""
    return int.from_bytes(a, "big") ^ int.from_bytes(b, "big")


@attrs.define(eq=False)
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
        if self.failures >= MAX_FAILURES:
            return "bad"
        if self.last_reply is not None and (now - self.last_reply < GOOD_FOR or now - self.last_seen < GOOD_FOR):
            return "good"
        return "questionable"


@attrs.define(eq=False)
class Bucket:
    """The nodes whose ids fall in ``[lo, hi)``."""

    lo: int
    hi: int
    changed: float = 0.0
    nodes: list[NodeEntry] = attrs.Factory(list)
    replacements: list[NodeEntry] = attrs.Factory(list)

    def covers(self, value: int) -> bool:
        return self.lo <= value < self.hi

    def random_id(self, rng: random.Random) -> bytes:
        """A random id in this bucket's range (a refresh target)."""
        return rng.randrange(self.lo, self.hi).to_bytes(20, "big")


class RoutingTable:
    """Our view of the DHT: up to ``k`` nodes per bucket, finest near ``own_id``."""

    def __init__(self, own_id: bytes, k: int = 8) -> None:
        if len(own_id) != 20:
            raise ValueError("a node id is 20 bytes")
        self.own_id = own_id
        self.own = int.from_bytes(own_id, "big")
        self.k = k
        self.buckets = [Bucket(0, ID_SPACE)]
        self._los = [0]  # bucket lower bounds, for bisect
        self._at: dict[Address, NodeEntry] = {}  # the entry holding each address

    def __len__(self) -> int:
        return sum(len(b.nodes) for b in self.buckets)

    def __iter__(self) -> Iterator[NodeEntry]:
        for bucket in self.buckets:
            yield from bucket.nodes

    def bucket_for(self, node_id: bytes) -> Bucket:
        return self.buckets[bisect.bisect_right(self._los, int.from_bytes(node_id, "big")) - 1]

    def get(self, node_id: bytes) -> NodeEntry | None:
        return next((n for n in self.bucket_for(node_id).nodes if n.id == node_id), None)

    # [docs: heard]
    def heard_from(self, node_id: bytes, address: Address, now: float, *, replied: bool) -> NodeEntry | None:
        """Record a sign of life: a reply (``replied``) or a query from ``node_id`` at ``address``.

        Returns a questionable node the caller should ping because its bucket is full and
        the newcomer waits for its place; else ``None``.
        """
        if node_id == self.own_id:
            return None
        bucket = self.bucket_for(node_id)
        for entry in bucket.nodes:
            if entry.id == node_id:
                if entry.address == address:
                    entry.last_seen = now
                    if replied:
                        entry.last_reply, entry.failures = now, 0
                    bucket.changed = now
                return None
        holder = self._at.get(address)
        if holder is not None:  # that address is here under another id
            if holder.status(now) != "bad":
                return None
            self.remove(holder.id)
        entry = NodeEntry(node_id, address, now, now if replied else None)
        while len(bucket.nodes) >= self.k and bucket.covers(self.own) and bucket.hi - bucket.lo > 1:
            self._split(bucket)
            bucket = self.bucket_for(node_id)
        if len(bucket.nodes) < self.k:
            self._place(bucket, len(bucket.nodes), entry, now)
            return None
        bad = [n for n in bucket.nodes if n.status(now) == "bad"]
        if bad:
            self._place(bucket, bucket.nodes.index(bad[0]), entry, now)
            return None
        questionable = [n for n in bucket.nodes if n.status(now) == "questionable"]
        if questionable:
            if all(r.id != node_id for r in bucket.replacements):
                bucket.replacements = [*bucket.replacements, entry][-self.k :]
            return min(questionable, key=lambda n: n.last_seen)
        return None  # every node is good: keep them (long-lived nodes are the reliable ones)
    # [/docs: heard]

    def failed(self, node_id: bytes, now: float) -> None:
        """``node_id`` did not answer a query; once bad, a waiting replacement takes its place."""
        bucket = self.bucket_for(node_id)
        for i, entry in enumerate(bucket.nodes):
            if entry.id == node_id:
                entry.failures += 1
                while entry.status(now) == "bad" and bucket.replacements:
                    waiting = bucket.replacements.pop()
                    if waiting.address not in self._at or waiting.address == entry.address:
                        self._place(bucket, i, waiting, now)
                        break
                return

    def remove(self, node_id: bytes) -> None:
        bucket = self.bucket_for(node_id)
        for entry in bucket.nodes:
            if entry.id == node_id and self._at.get(entry.address) is entry:
                del self._at[entry.address]
        bucket.nodes = [n for n in bucket.nodes if n.id != node_id]

    def _place(self, bucket: Bucket, at: int, entry: NodeEntry, now: float) -> None:
        """Put ``entry`` in ``bucket`` at index ``at`` (appended at the end, or instead of the node there)."""
        if at < len(bucket.nodes):
            gone = bucket.nodes[at]
            if self._at.get(gone.address) is gone:
                del self._at[gone.address]
            bucket.nodes[at] = entry
        else:
            bucket.nodes.append(entry)
        self._at[entry.address] = entry
        bucket.changed = now

    def _split(self, bucket: Bucket) -> None:
        mid = (bucket.lo + bucket.hi) // 2
        low, high = Bucket(bucket.lo, mid, bucket.changed), Bucket(mid, bucket.hi, bucket.changed)
        for entry in bucket.nodes:
            (low if int.from_bytes(entry.id, "big") < mid else high).nodes.append(entry)
        for entry in bucket.replacements:
            (low if int.from_bytes(entry.id, "big") < mid else high).replacements.append(entry)
        at = self.buckets.index(bucket)
        self.buckets[at : at + 1] = [low, high]
        self._los.insert(at + 1, mid)

    def closest(self, target: bytes, count: int | None = None, now: float | None = None) -> list[NodeEntry]:
        """The ``count`` (default ``k``) known nodes nearest ``target``, bad ones excluded when ``now`` is given."""
        t = int.from_bytes(target, "big")
        nodes = [n for n in self if now is None or n.status(now) != "bad"]
        nodes.sort(key=lambda n: int.from_bytes(n.id, "big") ^ t)
        return nodes[: self.k if count is None else count]

    def stale_buckets(self, now: float, after: float = GOOD_FOR) -> list[Bucket]:
        """Buckets unchanged for ``after`` seconds: each wants a ``find_node`` refresh."""
        return [b for b in self.buckets if now - b.changed >= after]

    def questionable(self, now: float) -> list[NodeEntry]:
        """Nodes that should be pinged to learn whether they are still there."""
        return [n for n in self if n.status(now) == "questionable"]
