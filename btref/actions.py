"""What the session engine asks its driver to do, and the knobs it is tuned with (BEP 3).

The engine (:mod:`btref.session`) is sans-I/O: every event method returns a list of the
*actions* below, and the driver (asyncio or the simulator) carries them out in order.
All actions are frozen values, so a test can compare them and a simulator can log them.

* :class:`Send`: put a :mod:`btref.wire` message on a connection.
* :class:`Broadcast`: put the same message on several connections (a ``have``).
* :class:`ReadBlock`: read a block for a peer's request, then call ``block_read``.
* :class:`WritePiece`: store a verified piece (the buffer changes hands: no copy).
* :class:`Close` / :class:`Ban`: end a connection (and, for a ban, refuse the peer later).
* :class:`UploadShares`: split our upload among the unchoked peers in these proportions.
* :class:`Event`: something worth recording (``--events FILE.jsonl``, simulator metrics).
* :class:`Complete`: every piece is verified.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import attrs

from btref.wire import Message

__all__ = ["Config", "Send", "Broadcast", "ReadBlock", "WritePiece", "Close", "Ban", "UploadShares", "Event",
           "Complete", "Action"]


@attrs.frozen
class Config:
    """Tunables of a session; the defaults follow mainline BitTorrent and libtorrent."""

    #: Seconds between two choke rounds, on a fixed clock (mainline: 10 s).
    rechoke_interval: float = 10.0
    #: Least seconds between two choker calls that one peer causes by changing its interest
    #: (or leaving); a fill that must wait runs at the next tick (see btref.choking).
    unchoke_gap: float = 1.0
    #: A peer with requests outstanding and no block for this long is ``snubbed``.
    snub_timeout: float = 60.0
    #: A request unanswered this long is cancelled so another peer can take the block.
    request_timeout: float = 60.0
    #: Send a keep-alive after this long without sending anything (BEP 3: two minutes).
    keepalive_interval: float = 120.0
    #: Queue depth covers this many seconds of the peer's rate, clamped to min..max_queue.
    pipeline_seconds: float = 2.0
    min_queue: int = 4
    max_queue: int = 250
    #: Grow a peer's queue by one request per block received (TCP-like slow start) until
    #: its rate fills it, so a fast peer is not held at ``min_queue`` for the first 20 s
    #: of rate history; reset when a request times out. The asyncio driver turns it on.
    slow_start: bool = False
    #: Top a peer's request queue up only once this fraction of it is free (0: after every
    #: block). Fewer, bigger picker calls; the asyncio driver uses 0.25.
    refill_fraction: float = 0.0
    #: Announce a verified piece to peers that already have it too (libtorrent's
    #: ``send_redundant_have``, on by default: it keeps their availability counts whole).
    #: Off, a ``have`` goes only to peers that lack the piece ("HAVE suppression").
    redundant_haves: bool = True
    #: Requests we queue per peer before rejecting (or dropping) more.
    max_peer_requests: int = 500
    #: Blocks we never asked for that a peer may send before we close (late after a cancel).
    unexpected_tolerance: int = 16
    #: Failed pieces a peer may send alone before it is banned (see :mod:`btref.download`).
    ban_after: int = 2
    #: Seconds of history in the rolling rates.
    rate_window: float = 20.0
    #: Pieces a choked BEP 6 peer may still request from us: the size of the allowed fast
    #: set we grant it (libtorrent's ``allowed_fast_set_size``, 5). 0: grant none.
    allowed_fast_set_size: int = 5
    #: Close a connection in which neither side wants anything: we seed and the peer is a
    #: seed or says it only uploads (BEP 21 ``upload_only``), as libtorrent's
    #: ``close_redundant_connections`` does (on by default there). The asyncio driver turns
    #: it on; the simulator keeps it off: its connections between seeds cost nothing.
    close_redundant: bool = False
    #: Super-seed (BEP 16, see btref.superseed): a session that starts as a seed hides its
    #: pieces and offers each peer one at a time, the next once the last has passed on.
    #: For a torrent's first seed with little upload; off, as in libtorrent.
    super_seed: bool = False


# -- actions: what the driver must do --------------------------------------------------


@attrs.frozen
class Send:
    """Send ``msg`` (a :mod:`btref.wire` message) to peer ``key``."""

    key: Hashable
    msg: Message


@attrs.frozen
class Broadcast:
    """Send ``msg`` to every peer in ``keys``, in that order (a ``have`` after each verified
    piece goes to every connection: one action, not one :class:`Send` per peer)."""

    keys: tuple[Hashable, ...]
    msg: Message


@attrs.frozen
class ReadBlock:
    """Read a block from storage and call :meth:`Session.block_read` with it."""

    key: Hashable
    index: int
    begin: int
    length: int


@attrs.frozen(eq=False)
class WritePiece:
    """Write verified piece ``index``; ``data`` is the piece buffer, now owned by the driver."""

    index: int
    data: bytearray


@attrs.frozen
class Close:
    """Close the connection to ``key`` (the engine has already forgotten the peer)."""

    key: Hashable
    reason: str


@attrs.frozen
class Ban:
    """Close the connection to ``key`` and never accept that peer again."""

    key: Hashable
    reason: str


@attrs.frozen
class UploadShares:
    """Split our upload among the unchoked peers in proportion to ``shares``.

    ``shares`` pairs a peer key with its relative share (a finite number above 0), as the
    choker answered (:func:`~btref.hookspecs.btref_rechoke` returning a mapping); an empty
    tuple means equal shares again, the BEP 3 default. The engine emits it only when the
    shares change. A driver whose uplink is a shared resource it schedules (the simulator;
    the asyncio driver with an upload limit) serves each busy connection in proportion
    (:func:`btref.uplink.next_destination`); a peer missing from ``shares`` gets the
    smallest share listed.
    """

    shares: tuple[tuple[Hashable, float], ...]


@attrs.frozen
class Event:
    """Something noteworthy, for logs (``--events FILE.jsonl``) and simulator metrics."""

    name: str
    fields: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen
class Complete:
    """Every piece is verified: tell the tracker ``completed`` and go on seeding."""


#: Any of the actions above: what every event method of the session returns a list of.
Action = Send | Broadcast | ReadBlock | WritePiece | Close | Ban | UploadShares | Event | Complete
