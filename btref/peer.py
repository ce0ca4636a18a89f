"""Per-peer state the session engine keeps (BEP 3 "peer protocol"; BEP 6; BEP 10 ``reqq``).

One :class:`Peer` per connection: the four BEP 3 flags, the peer's bitfield, the blocks we
asked it for, the blocks it asked us for, rolling rates and counters. The engine
(:mod:`btref.session`) is the only writer; strategies see a frozen
:class:`~btref.views.PeerView` made by :meth:`Peer.view`.

Invariants:

* Both sides start choked and not interested (BEP 3).
* ``in_flight`` holds exactly the requests we sent that were neither answered, cancelled,
  rejected nor dropped by a choke; ``wanted`` counts the pieces the peer has and we lack,
  so "are we interested?" is ``wanted > 0`` without a scan.
* Time is never read here: every method that needs it takes ``now`` from the driver.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

import attrs

from btref.pieceset import PieceSet
from btref.views import PeerView

__all__ = ["Rate", "Peer"]


class Rate:
    """Bytes per second over a sliding window of driver time.

    Samples are summed per whole second of ``now``, so a fast peer costs one deque entry
    per second, not one per block.
    """

    __slots__ = ("window", "_samples", "_total", "_start")

    def __init__(self, window: float = 20.0, start: float = 0.0) -> None:
        self.window = window
        self._samples: deque[list[float]] = deque()  # [second, bytes]
        self._total = 0.0
        self._start = start

    def add(self, nbytes: int, now: float) -> None:
        second = float(int(now))
        if self._samples and self._samples[-1][0] == second:
            self._samples[-1][1] += nbytes
        else:
            self._samples.append([second, float(nbytes)])
        self._total += nbytes

    def rate(self, now: float) -> float:
        """Average bytes per second over the last ``window`` seconds (or since start)."""
        # Called twice per view and a view per peer per rechoke: plain comparisons, no
        # min()/max() calls (the same arithmetic as max(1, min(window, now - start))).
        horizon = now - self.window
        samples = self._samples
        while samples and samples[0][0] < horizon:
            self._total -= samples.popleft()[1]
        span = now - self._start
        if span > self.window:
            span = self.window
        if span < 1.0:
            span = 1.0
        return self._total / span if self._total > 0.0 else 0.0


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
    #: Pieces the peer has that we lack (see the module docstring).
    wanted: int = 0
    #: Our requests to the peer: ``(index, begin) -> (length, sent_at)``.
    in_flight: dict[tuple[int, int], tuple[int, float]] = attrs.Factory(dict)
    #: Its requests to us, waiting for the driver's ``block_read``.
    serving: set[tuple[int, int, int]] = attrs.Factory(set)
    #: BEP 6 pieces we may request while choked, and pieces it rejected since its unchoke.
    allowed_fast: set[int] = attrs.Factory(set)
    rejected: set[int] = attrs.Factory(set)
    #: Requests we withdrew (cancel, choke, reject, timeout), oldest first, with how many
    #: times: a block for one of them may still be on its way, and is no protocol
    #: violation when it lands.
    withdrawn: dict[tuple[int, int], int] = attrs.Factory(dict)
    #: Blocks it sent that we never asked for at all (a few are tolerated).
    unexpected: int = 0
    #: Failed pieces it contributed to (see ``Config.ban_after``).
    strikes: int = 0
    snubbed: bool = False
    bytes_downloaded: int = 0
    bytes_uploaded: int = 0
    #: Driver time of its last block, or when we began waiting for one (snub detection).
    waiting_since: float = 0.0
    #: Driver time we last sent it anything (keep-alives).
    last_sent_at: float = 0.0
    down: Rate = attrs.field(default=None)
    up: Rate = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.down is None:
            self.down = Rate(start=self.connected_at)
        if self.up is None:
            self.up = Rate(start=self.connected_at)
        self.waiting_since = self.last_sent_at = self.connected_at

    def withdraw(self, index: int, begin: int, limit: int = 500) -> None:
        """Forget request ``(index, begin)``, remembering the last ``limit`` withdrawn."""
        if self.in_flight.pop((index, begin), None) is not None:
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
        peer's current download rate, clamped to ``lo..hi`` and never above its ``reqq``."""
        depth = int(self.down.rate(now) * seconds / block)
        depth = min(max(depth, lo), hi)
        if self.reqq is not None:
            depth = min(depth, max(1, self.reqq))
        return depth

    def view(self, now: float) -> PeerView:
        """A frozen snapshot for the strategy hooks."""
        # The engine builds a view of every neighbour at every rechoke, so: positional, in
        # PeerView's field order (half the cost of keywords), and no rate computed for a
        # direction that never carried a byte (most neighbours, most of the time).
        return PeerView(
            self.key, self.has, self.am_choking, self.am_interested, self.peer_choking,
            self.peer_interested, self.down.rate(now) if self.bytes_downloaded else 0.0,
            self.up.rate(now) if self.bytes_uploaded else 0.0, self.connected_at,
            self.snubbed, self.bytes_downloaded, self.bytes_uploaded,
        )
