"""Everything the session knows about one connected peer (BEP 3 "peer protocol"; BEP 6; BEP 10).

One :class:`Peer` per connection, owned by the session (:mod:`btref.session`), which is
its only writer; strategies see a frozen :class:`~btref.views.PeerView` made by
:meth:`Peer.view`. It is the one place that holds the connection's protocol state:

* the four BEP 3 flags, two per direction of data flow, moved only as
  :data:`CHOKE_TABLE` says (:meth:`Peer.follow`): blocks flow in a direction only while
  it is *unchoked* and *interested*;

* the pieces it has (``has``, from ``bitfield``, ``have``, BEP 6 ``have all``/``have none``);
* the requests on the wire in both directions: ``requests`` (ours to it, each recorded
  once, with the time it was sent) and ``serving`` (its requests to us);
* rolling rates and counters for the chokers.

Invariants:

* Both sides start choked and not interested (BEP 3).
* ``requests`` holds exactly the requests we sent that were neither answered, cancelled,
  rejected nor dropped by a choke; ``wanted`` counts the pieces the peer has and we lack,
  so "are we interested?" is ``wanted > 0`` without a scan.
* Time is never read here: every method that needs it takes ``now`` from the driver.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any

import attrs

from btref import wire
from btref.actions import Action, Send
from btref.pieceset import PieceSet
from btref.views import PeerView

__all__ = ["CHOKE_TABLE", "EVENTS", "Rate", "Peer"]

# --- the choke/interest state machine: one table ----------------------------------------
# Data flows in two directions, each with its own state (choking, interested):
#   "upload"   (our data to the peer):  (am_choking, peer_interested)
#   "download" (the peer's data to us): (peer_choking, am_interested)
# Blocks flow in a direction only in state (False, True): unchoked and interested.
CHOKED, UNCHOKED = True, False
# [table-start]
#: (direction, (choking, interested), event) -> new (choking, interested).
#: A pair not listed leaves the state as it is (a repeated ``choke`` is legal and changes nothing).
CHOKE_TABLE: dict[tuple[str, tuple[bool, bool], str], tuple[bool, bool]] = {
    # upload: we choke or unchoke, the peer says whether it is interested
    ("upload", (CHOKED, False), "send unchoke"): (UNCHOKED, False),
    ("upload", (CHOKED, False), "recv interested"): (CHOKED, True),
    ("upload", (CHOKED, True), "send unchoke"): (UNCHOKED, True),
    ("upload", (CHOKED, True), "recv not interested"): (CHOKED, False),
    ("upload", (UNCHOKED, False), "send choke"): (CHOKED, False),
    ("upload", (UNCHOKED, False), "recv interested"): (UNCHOKED, True),
    ("upload", (UNCHOKED, True), "send choke"): (CHOKED, True),
    ("upload", (UNCHOKED, True), "recv not interested"): (UNCHOKED, False),
    # download: the peer chokes or unchokes us, we say whether we are interested
    ("download", (CHOKED, False), "recv unchoke"): (UNCHOKED, False),
    ("download", (CHOKED, False), "send interested"): (CHOKED, True),
    ("download", (CHOKED, True), "recv unchoke"): (UNCHOKED, True),
    ("download", (CHOKED, True), "send not interested"): (CHOKED, False),
    ("download", (UNCHOKED, False), "recv choke"): (CHOKED, False),
    ("download", (UNCHOKED, False), "send interested"): (UNCHOKED, True),
    ("download", (UNCHOKED, True), "recv choke"): (CHOKED, True),
    ("download", (UNCHOKED, True), "send not interested"): (UNCHOKED, False),
}
#: Which direction each message moves, and the event name it has in the table.
EVENTS: dict[tuple[bool, type], tuple[str, str]] = {
    # (sent by us?, message type) -> (direction, event)
    (True, wire.Choke): ("upload", "send choke"),
    (True, wire.Unchoke): ("upload", "send unchoke"),
    (False, wire.Interested): ("upload", "recv interested"),
    (False, wire.NotInterested): ("upload", "recv not interested"),
    (False, wire.Choke): ("download", "recv choke"),
    (False, wire.Unchoke): ("download", "recv unchoke"),
    (True, wire.Interested): ("download", "send interested"),
    (True, wire.NotInterested): ("download", "send not interested"),
}
# [table-end]


class Rate:
    """Bytes per second over a sliding window of driver time.

    Samples are summed per whole second of ``now``, so a fast peer costs one deque entry
    per second, not one per block.
    """

    __slots__ = ("window", "_samples", "_total", "_start", "_read_at", "_rate")

    def __init__(self, window: float = 20.0, start: float = 0.0) -> None:
        self.window = window
        self._samples: deque[list[float]] = deque()  # [second, bytes]
        self._total = 0.0
        self._start = start
        # The last answer of rate() and the time it was for: every choker call reads the
        # rates of every peer, mostly at an instant they were read already (bench/sim.py).
        self._read_at: float | None = None
        self._rate = 0.0

    def add(self, nbytes: int, now: float) -> None:
        self._read_at = None
        second = float(int(now))
        if self._samples and self._samples[-1][0] == second:
            self._samples[-1][1] += nbytes
        else:
            self._samples.append([second, float(nbytes)])
        self._total += nbytes

    def rate(self, now: float) -> float:
        """Average bytes per second over the last ``window`` seconds (or since start)."""
        if now == self._read_at:
            return self._rate
        horizon = now - self.window
        samples = self._samples
        while samples and samples[0][0] < horizon:
            self._total -= samples.popleft()[1]
        rate = self._total / max(1.0, min(self.window, now - self._start)) if self._total > 0.0 else 0.0
        self._read_at, self._rate = now, rate
        return rate


_STATE_MESSAGES = (wire.Choke, wire.Unchoke, wire.Interested, wire.NotInterested)


@attrs.define(eq=False)
class Peer:
    """Mutable state of one connection, owned by the engine."""

    key: Hashable
    has: PieceSet
    connected_at: float
    #: The peer negotiated BEP 6 (fast extension) / BEP 10 (extension protocol).
    fast: bool = False
    extensions: bool = False
    am_choking: bool = True
    am_interested: bool = False
    peer_choking: bool = True
    peer_interested: bool = False
    #: BEP 10 ``reqq``: how many requests the peer says it will queue (None: not told).
    reqq: int | None = None
    #: BEP 21: the peer said it only uploads (a seed, or a partial seed that wants no more).
    upload_only: bool = False
    #: Slow start (``Config.slow_start``): a queue depth that grows by one with every block
    #: received, so the queue doubles each round trip until the rate estimate catches up
    #: (the rate is averaged from the connection's start, choked time included). 0: off.
    slow_start: int = 0
    #: Pieces the peer has that we lack (see the module docstring).
    wanted: int = 0
    #: Our requests to the peer, oldest first: ``(index, begin) -> (length, sent_at)``.
    requests: dict[tuple[int, int], tuple[int, float]] = attrs.Factory(dict)
    #: Its requests to us, waiting for the driver's ``block_read``.
    serving: set[tuple[int, int, int]] = attrs.Factory(set)
    #: BEP 6 pieces we may request while choked, and pieces it rejected since its unchoke.
    allowed_fast: set[int] = attrs.Factory(set)
    #: BEP 6 allowed fast set we granted: pieces it may request while we choke it.
    granted: frozenset[int] = frozenset()
    rejected: set[int] = attrs.Factory(set)
    #: Requests we withdrew (cancel, choke, reject, timeout), oldest first, with how many
    #: times: a block for one of them may still be on its way, and is no protocol
    #: violation when it lands.
    withdrawn: dict[tuple[int, int], int] = attrs.Factory(dict)
    #: Blocks it sent that we never asked for at all (a few are tolerated).
    unexpected: int = 0
    snubbed: bool = False
    bytes_downloaded: int = 0
    bytes_uploaded: int = 0
    #: Driver time of its last block, or when we began waiting for one (snub detection).
    waiting_since: float = 0.0
    #: Driver time we last sent it anything (keep-alives).
    last_sent_at: float = 0.0
    #: Rolling rates from the peer (download) and to it (upload), from ``connected_at``.
    down: Rate = attrs.field(init=False)
    up: Rate = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.down = Rate(start=self.connected_at)
        self.up = Rate(start=self.connected_at)
        self.waiting_since = self.last_sent_at = self.connected_at

    def send(self, msg: Any, now: float, out: list[Action]) -> None:
        """Queue ``msg`` for this peer (every message we send goes through here)."""
        if type(msg) in _STATE_MESSAGES:
            self.follow(msg, ours=True)
        self.last_sent_at = now
        out.append(Send(self.key, msg))

    def follow(self, msg: Any, *, ours: bool) -> None:
        """Move the flags for a choke, unchoke, interested or not interested message that we
        sent (``ours``) or received, as :data:`CHOKE_TABLE` says."""
        direction, event = EVENTS[ours, type(msg)]
        if direction == "upload":
            state = (self.am_choking, self.peer_interested)
            self.am_choking, self.peer_interested = CHOKE_TABLE.get((direction, state, event), state)
        else:
            state = (self.peer_choking, self.am_interested)
            self.peer_choking, self.am_interested = CHOKE_TABLE.get((direction, state, event), state)

    def withdraw(self, index: int, begin: int, limit: int = 500) -> None:
        """Forget request ``(index, begin)``, remembering the last ``limit`` withdrawn."""
        if self.requests.pop((index, begin), None) is not None:
            self.withdrawn[index, begin] = self.withdrawn.pop((index, begin), 0) + 1
            if len(self.withdrawn) > limit:
                del self.withdrawn[next(iter(self.withdrawn))]

    def landed(self, index: int, begin: int) -> bool:
        """A block we did not expect arrived: was it for a withdrawn request?"""
        count = self.withdrawn.pop((index, begin), 0)
        if count > 1:
            self.withdrawn[index, begin] = count - 1
        return count > 0

    def queue_depth(self, now: float, *, block: int, seconds: float, lo: int, hi: int) -> int:
        """How many requests to keep outstanding: enough to cover ``seconds`` of the
        peer's current download rate (or the slow-start depth, if larger), clamped to
        ``lo..hi`` and never above its ``reqq``."""
        depth = int(self.down.rate(now) * seconds / block)
        depth = min(max(depth, lo, self.slow_start), hi)
        if self.reqq is not None:
            depth = min(depth, max(1, self.reqq))
        return depth

    def view(self, now: float) -> PeerView:
        """A frozen snapshot for the strategy hooks."""
        # In PeerView's field order, without keywords: a call with twelve keywords costs
        # twice as much, and every choker call makes a view of every connected peer.
        return PeerView(
            self.key, self.has, self.am_choking, self.am_interested, self.peer_choking, self.peer_interested,
            self.down.rate(now), self.up.rate(now), self.connected_at, self.snubbed,
            self.bytes_downloaded, self.bytes_uploaded,
        )
