"""What a strategy plugin sees: read-only views of the session (BEP 3, "peer protocol").

A piece picker (:func:`~btref.hookspecs.btref_pick_pieces`) and a choker
(:func:`~btref.hookspecs.btref_rechoke`) never touch the engine's own state. The engine
hands them two small frozen values instead:

* :class:`SwarmView`: *our* side of the swarm: which pieces we have, how many connected
  peers have each piece (availability), which pieces are half downloaded, the session's
  random generator and the driver's clock reading.
* :class:`PeerView`: *one* connected peer: its bitfield, the four BEP 3 state flags
  (``am_choking``, ``am_interested``, ``peer_choking``, ``peer_interested``), its rolling
  rates and byte counters.

Invariants:

* Views are snapshots taken just before the hook call; a plugin may keep them, but they
  describe the moment of the call. The bitfields and the availability inside are shared
  with the engine for speed (no copy per call): **never mutate them**
  (``availability`` is a read-only :class:`memoryview`, so writing to it raises).
* Randomness comes only from ``swarm.rng`` so a seeded simulation is repeatable.
* Rates are in bytes per second, averaged over the engine's rate window (20 s by default),
  "download" meaning data *we* received from that peer and "upload" data we sent to it.

Tests and conformance suites build views directly with :func:`swarm_view` and
:func:`peer_view`, which fill in sensible defaults.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import attrs

from btref.bitfield import Bitfield

__all__ = ["SwarmView", "PeerView", "swarm_view", "peer_view"]


@attrs.frozen
class SwarmView:
    """Our side of the swarm, as a picker or choker sees it."""

    #: Pieces in the torrent.
    num_pieces: int
    #: Pieces we have verified (do not mutate).
    have: Bitfield
    #: ``availability[i]``: how many connected peers have piece ``i`` (read-only).
    availability: Sequence[int]
    #: Pieces with at least one block requested or received but not yet verified.
    in_progress: frozenset[int]
    #: The session's random generator: the only source of randomness a plugin may use.
    rng: random.Random
    #: The driver's time in seconds (monotonic; its origin is arbitrary).
    now: float
    #: True once every piece is verified: we only upload ("seed mode").
    seeding: bool = False


@attrs.frozen
class PeerView:
    """One connected peer, as a picker or choker sees it."""

    #: The driver's name for the connection (any hashable: an address, an int...).
    key: Hashable
    #: Pieces the peer has told us it has (do not mutate).
    has: Bitfield
    #: We refuse to upload to the peer (BEP 3: every connection starts choked).
    am_choking: bool = True
    #: We want data from the peer.
    am_interested: bool = False
    #: The peer refuses to upload to us.
    peer_choking: bool = True
    #: The peer wants data from us.
    peer_interested: bool = False
    #: Bytes per second we received from the peer (rolling average).
    download_rate: float = 0.0
    #: Bytes per second we sent to the peer (rolling average).
    upload_rate: float = 0.0
    #: When the handshake finished, in driver time.
    connected_at: float = 0.0
    #: The peer kept our requests unanswered for too long (see ``Config.snub_timeout``).
    snubbed: bool = False
    #: Payload bytes received from the peer since it connected.
    bytes_downloaded: int = 0
    #: Payload bytes sent to the peer since it connected.
    bytes_uploaded: int = 0

    @property
    def is_seed(self) -> bool:
        """The peer has every piece."""
        return self.has.complete()


def swarm_view(
    num_pieces: int,
    *,
    have: Iterable[int] = (),
    availability: Sequence[int] | None = None,
    in_progress: Iterable[int] = (),
    rng: random.Random | None = None,
    now: float = 0.0,
    seeding: bool | None = None,
) -> SwarmView:
    """Build a :class:`SwarmView` by hand (for tests, labs and the conformance suites)."""
    field = Bitfield(num_pieces)
    for index in have:
        field.set(index)
    counts = array("l", availability if availability is not None else [0] * num_pieces)
    return SwarmView(
        num_pieces=num_pieces,
        have=field,
        availability=memoryview(counts).toreadonly(),
        in_progress=frozenset(in_progress),
        rng=rng if rng is not None else random.Random(0),
        now=now,
        seeding=field.complete() if seeding is None else seeding,
    )


def peer_view(key: Hashable, num_pieces: int, *, has: Iterable[int] = (), **fields: Any) -> PeerView:
    """Build a :class:`PeerView` by hand; ``fields`` are the other attributes by name."""
    field = Bitfield(num_pieces)
    for index in has:
        field.set(index)
    return PeerView(key=key, has=field, **fields)
