"""An uplink's queue: blocks waiting per connection, and which connection sends next (sans-I/O).

A choker may answer with upload shares (:class:`~btref.actions.UploadShares`: PropShare,
BitTyrant): ``{a: 3, b: 1}`` means ``a`` gets three blocks for each of ``b``'s while both
have requests waiting. Whoever owns an uplink and sends one block at a time (the
simulator's :class:`~btref.sim.network.Network`, the asyncio driver with an upload limit)
keeps its waiting blocks in an :class:`Uplink`: one FIFO queue per connection, served
round robin, or by :func:`next_destination` once the choker gave shares. Both drivers use
this one class, so a choker's shares mean the same thing in a simulation and on real
sockets.

The rule is *start-time fair queueing* (Goyal, Vin and Cheng, "Start-time Fair Queuing: a
scheduling algorithm for integrated services packet switching networks", SIGCOMM 1996),
counted in blocks rather than bytes (nearly every ``piece`` message carries one 16 KiB
block, BEP 3):

* each connection has a *finish tag*; sending it a block moves the tag ``1 / share``
  further, so a big share advances slowly and comes up again sooner;
* the next block goes to the busy connection whose *start tag* is smallest (its finish
  tag, or the uplink's clock if that is later); ties go to the first in round-robin order;
* the uplink's clock (its *virtual time*) becomes the start tag of the block just chosen.

Invariants: a connection that had nothing to send for a while starts again at the clock,
so idleness banks no credit (it cannot then take the uplink for a burst); while a set of
connections stays busy, their finish tags (blocks sent divided by share, from a common
start) stay within the largest ``1 / share`` of one another, so each gets blocks in
proportion to its share; a connection missing from the shares gets the smallest listed share (it
is served, never starved); the clock never goes backwards.
No socket, no time: the clock here is a count of blocks, not seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping, MutableMapping
from typing import Generic, TypeVar

__all__ = ["Uplink", "next_destination"]

K = TypeVar("K", bound=Hashable)  # what names a connection
T = TypeVar("T")  # what waits in its queue


# [docs: next-destination]
def next_destination(busy: Iterable[K], shares: Mapping[K, float],
                     tags: MutableMapping[K, float], clock: float) -> tuple[K, float]:
    """Pick the connection that gets the next block; returns ``(it, the new clock)``.

    ``busy`` lists the connections with a block waiting, in round-robin order (not empty);
    ``shares`` is the choker's split (not empty: without shares, plain round robin is the
    same and cheaper); ``tags`` holds each connection's finish tag and is updated for the
    one chosen. The caller keeps ``tags`` and the clock between calls.
    """
    smallest = min(shares.values())  # for a connection the choker did not list
    best, start = None, 0.0
    for key in busy:
        tag = tags.get(key, clock)
        if tag < clock:  # idle for a while: no banked credit
            tag = clock
        if best is None or tag < start:  # strictly smaller: ties keep round-robin order
            best, start = key, tag
    if best is None:
        raise ValueError("next_destination needs at least one busy connection")
    tags[best] = start + 1.0 / shares.get(best, smallest)
    return best, start
# [/docs: next-destination]


# [docs: uplink]
class Uplink(Generic[K, T]):
    """Blocks waiting to be sent, per connection, and the order they leave in.

    Each connection's blocks leave in the order they were pushed (FIFO, like TCP). Among
    connections: plain round robin (every busy connection gets one block per turn, the
    equal share), or, with :meth:`set_shares`, start-time fair queueing by share.
    """

    __slots__ = ("queues", "order", "shares", "tags", "clock")

    def __init__(self) -> None:
        #: Waiting items per connection key, and the round-robin order of the busy keys.
        self.queues: dict[K, deque[T]] = {}
        self.order: deque[K] = deque()
        #: The choker's split (empty: equal shares), each key's finish tag, the clock.
        self.shares: dict[K, float] = {}
        self.tags: dict[K, float] = {}
        self.clock = 0.0

    def __bool__(self) -> bool:
        """Something is waiting."""
        return bool(self.order)

    def push(self, key: K, item: T) -> None:
        """``item`` waits behind ``key``'s earlier ones."""
        waiting = self.queues.get(key)
        if waiting is None:
            waiting = self.queues[key] = deque()
            self.order.append(key)
        waiting.append(item)

    def pop(self) -> tuple[K, T]:
        """The next ``(key, item)`` to send (something must be waiting)."""
        if self.shares:
            key, self.clock = next_destination(self.order, self.shares, self.tags, self.clock)
            self.order.remove(key)
        else:
            key = self.order.popleft()
        waiting = self.queues[key]
        item = waiting.popleft()
        if waiting:  # back at the end of the round
            self.order.append(key)
        else:
            del self.queues[key]
        return key, item

    def set_shares(self, shares: Mapping[K, float] | Iterable[tuple[K, float]]) -> None:
        """The choker's split (an :class:`~btref.actions.UploadShares`); empty: equal shares."""
        self.shares = dict(shares)
        if not self.shares:
            self.tags.clear()

    def forget(self, key: K) -> None:
        """``key``'s connection closed: its waiting items are dropped."""
        if self.queues.pop(key, None) is not None:
            self.order.remove(key)
        self.tags.pop(key, None)
# [/docs: uplink]
