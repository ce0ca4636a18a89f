"""The simulated network: upload and download capacities, link latency, FIFO connections.

A peer is a :class:`Host` with an upload capacity and a download capacity in bytes per
second (access links are the bottleneck of a swarm; the core is not, as in Kurose and
Ross's fluid model). The model, per block (BEP 3: a ``piece`` message carries one 16 KiB
block):

* **Upload sharing.** A host's uplink sends one block at a time at its full rate. Blocks
  waiting to go out are queued per destination and served *round robin*, so *k* busy
  connections each get ``upload / k``: the max-min fair share, recomputed at every block.
* **Weighted sharing.** A choker may split the uplink unequally (PropShare, BitTyrant:
  :class:`~btref.actions.UploadShares`). Then the next block goes to the busy connection
  with the smallest *finish tag*, a counter that grows by ``1 / share`` per block sent
  (start-time fair queueing: Goyal, Vin and Cheng, SIGCOMM 1996), so busy connections
  get blocks in proportion to their shares; a connection that was idle starts at the
  uplink's current tag, so it cannot bank credit while it asked for nothing. Both rules
  live in :class:`btref.uplink.Uplink`, which the asyncio driver's upload limit uses too.
* **Download sharing.** Blocks reaching a host pass its downlink one after another: a
  block arrives no earlier than ``size / download`` after the previous one, so the
  downlink capacity holds however many peers send at once.
* **Latency.** Every message, data or control, takes ``latency`` seconds on the wire.
* **FIFO per connection.** Like TCP, a connection never reorders: a ``choke`` sent after
  a block cannot overtake it.

A block is read from the engine (``Session.block_read``) only when the uplink is about to
send it, so a choke or cancel that came first still stops it, exactly as in a real client
whose send buffer is small. Control messages cost no bandwidth.

Invariants: a host never sends faster than ``upload`` nor receives faster than
``download``; so no run can beat the distribution-time lower bound
(:func:`btref.sim.metrics.lower_bound`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

import attrs

from btref import wire
from btref.sim.loop import EventLoop
from btref.uplink import Uplink

__all__ = ["Host", "Network"]

Request = tuple[int, int, int]  # (index, begin, length): a block a peer asked us for
K = TypeVar("K", bound=Hashable)  # what names a host


@attrs.define(eq=False)
class Host(Generic[K]):
    """One peer's access link."""

    name: K
    #: Capacities in bytes per second.
    upload: float
    download: float
    #: When the downlink finishes receiving what it was given so far.
    down_free: float = 0.0
    #: The uplink is sending a block now.
    busy: bool = False
    #: Requests to serve, per destination, in the order they will be sent (round robin,
    #: or by the choker's shares): the same queue the asyncio driver uses.
    uplink: Uplink[K, Request] = attrs.Factory(Uplink)

    def __attrs_post_init__(self) -> None:
        if not (self.upload > 0 and self.download > 0):
            raise ValueError(f"host {self.name}: capacities must be > 0, got {self.upload}, {self.download}")


class Network(Generic[K]):
    """Moves messages between hosts on the loop's clock.

    ``deliver(dst, src, messages)`` is called when messages arrive; ``serve(src, dst,
    request)`` is called when ``src``'s uplink is free for a block ``dst`` asked for, and
    returns the ``piece`` message to send or ``None`` (no longer wanted: choked, cancelled).
    """

    def __init__(self, loop: EventLoop, *, latency: float,
                 deliver: Callable[[K, K, list[Any]], None],
                 serve: Callable[[K, K, Request], wire.Piece | None]) -> None:
        if latency < 0:
            raise ValueError("latency must be >= 0")
        self.loop = loop
        self.latency = latency
        self.hosts: dict[K, Host[K]] = {}
        self._deliver = deliver
        self._serve = serve
        #: Per directed connection, the arrival time of its last message (FIFO order).
        self._last: dict[tuple[K, K], float] = {}

    def add(self, host: Host[K]) -> None:
        self.hosts[host.name] = host

    def remove(self, name: K) -> None:
        """A host leaves: it sends nothing more (blocks already on the wire still arrive)."""
        self.hosts.pop(name, None)

    def send(self, src: K, dst: K, messages: list[Any]) -> None:
        """Control messages: they arrive after the latency, behind earlier traffic."""
        self._at(src, dst, self.loop.now + self.latency, messages)

    def _at(self, src: K, dst: K, time: float, messages: list[Any]) -> None:
        key = (src, dst)
        time = max(time, self._last.get(key, 0.0))
        self._last[key] = time
        self.loop.at(time, self._deliver, dst, src, messages)

    def queue_upload(self, src: K, dst: K, request: Request) -> None:
        """``dst`` asked ``src`` for a block: queue it; start the uplink if idle."""
        host = self.hosts.get(src)
        if host is None:
            return
        host.uplink.push(dst, request)
        if not host.busy:
            self._send_next(host)

    def set_shares(self, name: K, shares: Mapping[K, float] | Iterable[tuple[K, float]]) -> None:
        """Split ``name``'s uplink among its destinations in these proportions (``{}``: equally)."""
        host = self.hosts.get(name)
        if host is not None:
            host.uplink.set_shares(shares)

    def disconnect(self, a: K, b: K) -> None:
        """The connection between ``a`` and ``b`` closed: forget queued requests both ways."""
        for src, dst in ((a, b), (b, a)):
            host = self.hosts.get(src)
            if host is not None:
                host.uplink.forget(dst)
            self._last.pop((src, dst), None)

    def _uplink_free(self, host: Host[K]) -> None:
        host.busy = False
        if self.hosts.get(host.name) is host:
            self._send_next(host)

    # [docs: send-next]
    def _send_next(self, host: Host[K]) -> None:
        """Send the next block: round robin over destinations (the fair share), or by the
        choker's shares (:class:`~btref.uplink.Uplink`)."""
        uplink = host.uplink
        while uplink:
            dst, request = uplink.pop()
            receiver = self.hosts.get(dst)
            msg = self._serve(host.name, dst, request) if receiver is not None else None
            if receiver is None or msg is None:
                continue
            now = self.loop.now
            size = len(msg.block)
            sent = now + size / host.upload
            arrived = max(sent, max(now, receiver.down_free) + size / receiver.download)
            receiver.down_free = arrived
            host.busy = True
            self.loop.at(sent, self._uplink_free, host)
            self._at(host.name, dst, arrived + self.latency, [msg])
            return
    # [/docs: send-next]
