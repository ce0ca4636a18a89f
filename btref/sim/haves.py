"""``have`` messages in batches: how the simulated swarm delivers nine messages in ten (BEP 3
"have"; the coalescing of the BEP 46 draft, "Have message for multiple pieces").

Every verified piece is announced to every neighbour: a swarm of *N* peers with *d*
neighbours each and *P* pieces sends *N·P·d* ``have`` messages, 36 million for a thousand
peers, a thousand pieces and 36 neighbours. One event each would make them the cost of a
run, so the engine announces a piece with one :class:`~btref.actions.Broadcast` and the
swarm hands it to its :class:`HaveBatches`, which coalesces: a ``have`` sent at ``t``
arrives at the first multiple of ``window`` seconds strictly after ``t + latency``, with
every other ``have`` due for that receiver then, and the receiver's engine takes them in
one :meth:`~btref.session.Session.haves_received`.

Invariants: a connection's first message (the bitfield, sent at ``t`` and arriving at
``t + latency``) always arrives before its first ``have`` (strictly after); a batch keeps
the order in which each sender announced; a connection that closes loses the ``have``
messages still on their way. A window of 0 switches batching off: the swarm then sends each ``have`` as an ordinary
message (the ``walkthrough`` scenario, where a quarter of a second is a quarter of a round).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable

from btref.sim.loop import EventLoop

__all__ = ["HaveBatches"]

#: ``(sender, piece index)``: one ``have`` message.
Have = tuple[int, int]


class HaveBatches:
    """The ``have`` messages on their way, one batch per receiver and arrival slot.

    :param loop: the swarm's clock.
    :param latency: the network's one-way latency in seconds.
    :param window: seconds between two arrival slots (0: no batching; then the swarm
        does not use this object).
    :param deliver: called as ``deliver(receiver, batch)`` when a batch arrives, ``batch``
        being the ``(sender, index)`` pairs in the order they were sent.
    """

    def __init__(self, loop: EventLoop, latency: float, window: float,
                 deliver: Callable[[int, list[Have]], None]) -> None:
        if window < 0:
            raise ValueError("have_window must be >= 0")
        self.loop, self.latency, self.window = loop, latency, window
        self._deliver = deliver
        #: The batches on their way to each receiver, oldest first.
        self.in_flight: dict[int, deque[list[Have]]] = {}
        #: The batches still open, for the slot arriving at ``_open_due``, by receiver.
        self._open: dict[int, list[Have]] = {}
        self._open_due = -1.0

    # [docs: have-batches]
    def send(self, sender: int, keys: Iterable[int], index: int) -> None:
        """``sender`` announces piece ``index`` to ``keys``: each receiver gets it in its next batch.

        A ``have`` sent at ``t`` arrives at the first multiple of :attr:`window` strictly
        after ``t + latency``, together with every other ``have`` for the same receiver
        due then. Strictly after: the connection's first message (the bitfield) always
        arrives first.
        """
        window, now = self.window, self.loop.now
        due = (math.floor((now + self.latency) / window) + 1) * window
        if due <= now + self.latency:  # rounding
            due += window
        if due != self._open_due:  # a new slot: every receiver starts a new batch
            self._open_due, self._open = due, {}
        batches, have = self._open, (sender, index)
        # ``keys`` are the engine's connections, all open here: a connection that closes
        # takes its batched ``have`` messages with it (forget).
        for key in keys:
            batch = batches.get(key)
            if batch is None:
                batch = batches[key] = []
                self.in_flight.setdefault(key, deque()).append(batch)
                self.loop.at(due, self._arrive, key)
            batch.append(have)

    def _arrive(self, receiver: int) -> None:
        """The oldest batch for ``receiver`` arrives."""
        self._deliver(receiver, self.in_flight[receiver].popleft())
    # [/docs: have-batches]

    def forget(self, a: int, b: int) -> None:
        """The connection ``a``-``b`` closed: ``have`` messages still on the way between them are lost."""
        for receiver, sender in ((a, b), (b, a)):
            for batch in self.in_flight.get(receiver, ()):
                batch[:] = [have for have in batch if have[0] != sender]
