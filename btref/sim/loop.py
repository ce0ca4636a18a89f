"""The simulator's event loop: a priority queue of callbacks on a virtual clock.

A discrete-event simulation jumps from one event to the next; nothing happens between two
events, so a minute of swarm life costs only as much as the events in it. Events are kept
in a :mod:`heapq` ordered by ``(time, seq)``: ``seq`` is a counter, so two events at the
same virtual time run in the order they were scheduled. That tie-break (never the
callback, never an address) is what makes a run repeatable byte for byte.

The engine (:mod:`btref.session`, BEP 3 "peer protocol") never reads a clock: the loop's
:attr:`EventLoop.now` is passed to it as ``now`` with every event.

Invariants: time never goes backwards (scheduling in the past raises ``ValueError``);
events at equal times run first-scheduled first.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any, TypeVarTuple, Unpack

Args = TypeVarTuple("Args")  # a callback's arguments, checked against the callback

__all__ = ["EventLoop"]


class EventLoop:
    """A virtual clock and the callbacks waiting for it."""

    __slots__ = ("now", "_queue", "_seq", "processed", "_stopped")

    def __init__(self) -> None:
        #: The current virtual time in seconds.
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[..., object], tuple[Any, ...]]] = []
        self._seq = 0
        #: Events run so far (what ``bench/sim.py`` divides by the wall time).
        self.processed = 0
        self._stopped = False

    def __len__(self) -> int:
        return len(self._queue)

    def at(self, time: float, callback: Callable[[Unpack[Args]], object], *args: Unpack[Args]) -> None:
        """Run ``callback(*args)`` at virtual ``time`` (not before :attr:`now`)."""
        if time < self.now:
            raise ValueError(f"cannot schedule at {time} s, the clock already reads {self.now} s")
        heapq.heappush(self._queue, (time, self._seq, callback, args))
        self._seq += 1

    def after(self, delay: float, callback: Callable[[Unpack[Args]], object], *args: Unpack[Args]) -> None:
        """Run ``callback(*args)`` ``delay`` seconds from now."""
        self.at(self.now + delay, callback, *args)

    def stop(self) -> None:
        """End :meth:`run` after the event running now (an event calls it: the end of the
        story, say). Cheaper than a ``stop`` test after every event."""
        self._stopped = True

    def run(self, until: float = math.inf, stop: Callable[[], bool] | None = None) -> float:
        """Run events in time order until the queue is empty, the next event lies after
        ``until``, an event calls :meth:`stop`, or ``stop()`` turns true (checked after
        each event). Returns :attr:`now`."""
        queue, pop = self._queue, heapq.heappop
        self._stopped = False
        while queue and not self._stopped:
            if queue[0][0] > until:
                self.now = until
                break
            time, _, callback, args = pop(queue)
            self.now = time
            callback(*args)
            self.processed += 1
            if stop is not None and stop():
                break
        return self.now
