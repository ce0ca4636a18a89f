"""``have`` messages in batches: how the simulated swarm delivers nine messages in ten (BEP 3
"have"; the coalescing of the BEP 46 draft, "Have message for multiple pieces").

Every verified piece is announced to every neighbour: a swarm of *N* peers with *d*
neighbours each and *P* pieces sends *N·P·d* ``have`` messages, 36 million for a thousand
peers, a thousand pieces and 36 neighbours. One event each would make them the cost of a
run, so the engine announces a piece with one :class:`~btref.actions.Broadcast` and the
swarm coalesces: a ``have`` sent at ``t`` arrives at the first multiple of ``have_window``
seconds strictly after ``t + latency``, with every other ``have`` due for that receiver
then, and the receiver's engine takes them in one
:meth:`~btref.session.Session.haves_received`.

Invariants: a connection's first message (the bitfield, sent at ``t`` and arriving at
``t + latency``) always arrives before its first ``have`` (strictly after); a batch keeps
the order in which each sender announced; a connection that closes loses the ``have``
messages still on their way. ``have_window = 0`` switches batching off: each ``have`` is an
ordinary message (the ``walkthrough`` scenario, where a quarter of a second is a quarter of a round).

:class:`HaveBatches` is mixed into :class:`~btref.sim.swarm.Swarm`; it lives here only to
keep each module about one concept.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from btref import wire

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from hashlib import _Hash

    from btref.sim.loop import EventLoop
    from btref.sim.network import Network
    from btref.sim.swarm import SimPeer

__all__ = ["HaveBatches"]


class HaveBatches:
    """Coalescing ``have`` messages per receiver: mixed into :class:`~btref.sim.swarm.Swarm`."""

    # Provided by the Swarm.
    loop: EventLoop
    network: Network[int]
    peers: dict[int, SimPeer]
    digest: _Hash | None
    _apply: Callable[[SimPeer, list[Any]], None]
    _trace: Callable[..., None]

    def _init_haves(self, have_window: float) -> None:
        if have_window < 0:
            raise ValueError("have_window must be >= 0")
        #: Seconds between two arrivals of ``have`` batches (0: no batching).
        self.have_window = have_window
        #: ``have`` batches on their way to each receiver, oldest first: lists of
        #: ``(sender, index)`` pairs in the order sent; and those still open, for the slot
        #: arriving at ``_open_due``.
        self._in_flight: dict[int, deque[list[tuple[int, int]]]] = {}
        self._open: dict[int, list[tuple[int, int]]] = {}
        self._open_due = -1.0

    # [docs: have-batches]
    def _send_have(self, peer: SimPeer, keys: Iterable[int], index: int) -> None:
        """``peer`` announces piece ``index`` to ``keys``: each receiver gets it in its next batch.

        Nine messages in ten are ``have`` messages (a piece is announced to every neighbour), so
        they travel in batches: a ``have`` sent at ``t`` arrives at the first multiple of
        :attr:`have_window` strictly after ``t + latency``, together with every other
        ``have`` for the same receiver due then, and the receiver's engine takes them all in
        one :meth:`~btref.session.Session.haves_received`. Strictly after: the connection's
        first message (the bitfield) always arrives first.
        """
        window = self.have_window
        due = (math.floor((self.loop.now + self.network.latency) / window) + 1) * window
        if due <= self.loop.now + self.network.latency:  # rounding
            due += window
        if due != self._open_due:  # a new slot: every receiver starts a new batch
            self._open_due, self._open = due, {}
        batches, have = self._open, (peer.key, index)
        # ``keys`` are the engine's connections, all open here: a connection that closes
        # takes its batched ``have`` messages with it (_forget_haves).
        for key in keys:
            batch = batches.get(key)
            if batch is None:
                batch = batches[key] = []
                self._in_flight.setdefault(key, deque()).append(batch)
                self.loop.at(due, self._deliver_haves, key)
            batch.append(have)

    def _deliver_haves(self, dst: int) -> None:
        """The oldest ``have`` batch for ``dst`` arrives."""
        batch = self._in_flight[dst].popleft()
        peer = self.peers[dst]
        if not peer.present:
            return
        if self.digest is not None:
            for src, index in batch:
                self._trace("msg", src, dst, repr(wire.Have(index)))
        self._apply(peer, peer.session.haves_received(batch, self.loop.now))
    # [/docs: have-batches]

    def _forget_haves(self, a: int, b: int) -> None:
        """The connection ``a``-``b`` closed: ``have`` messages still on the way between them are lost."""
        for dst, src in ((a, b), (b, a)):
            for batch in self._in_flight.get(dst, ()):
                batch[:] = [have for have in batch if have[0] != src]
