"""What a strategy plugin sees: read-only views of the session (BEP 3 "peer protocol").

A piece picker (:func:`~btref.hookspecs.btref_pick_pieces`) and a choker
(:func:`~btref.hookspecs.btref_rechoke`) never touch the session's own state. The session
hands them two small frozen values instead:

* :class:`SwarmView`: *our* side of the swarm: which pieces we have, how many connected
  peers have each piece (:class:`Availability`), which pieces are half downloaded, the
  session's random generator and the driver's clock reading.
* :class:`PeerView`: *one* connected peer: its pieces, the four BEP 3 state flags
  (``am_choking``, ``am_interested``, ``peer_choking``, ``peer_interested``), its rolling
  rates and byte counters.

Invariants:

* Views are named tuples: immutable, and cheap to build (the session builds one per
  connected peer at every rechoke).
* Views are snapshots taken just before the hook call. The piece sets and the
  availability inside are the session's own objects, shared to avoid a copy per call:
  **a plugin reads them and never mutates them**.
* Randomness comes only from ``swarm.rng``, so a seeded simulation is repeatable.
* Rates are in bytes per second, averaged over the session's rate window (20 s by
  default); "download" is data *we* received from that peer, "upload" data we sent to it.

Tests, labs and the conformance suites build views by hand with :func:`swarm_view` and
:func:`peer_view`, which fill in sensible defaults.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, NamedTuple

from btref.pieceset import PieceSet

__all__ = ["Availability", "SwarmView", "PeerView", "swarm_view", "peer_view"]


class Availability:
    """How many connected peers have each piece, grouped so the rarest are found at once.

    ``availability[i]`` is the number of connected peers that have piece ``i``. Every
    piece we still lack also sits in ``buckets[availability[i]]`` (a list in no meaningful
    order), so a rarest-first picker walks the buckets from the lowest count up instead of
    sorting every piece on every pick (see the ``rarest-first`` plugin). Each update
    costs O(1): swap-remove the piece from one bucket, append it to the next.

    The session owns the only instance and is its only writer (:meth:`add`, :meth:`got`);
    plugins see it as ``swarm.availability`` and only read it.

    :param have: the pieces we have (kept by reference: the session updates it in place
        and calls :meth:`got`).
    :param skip_unseen: true when every connected peer is counted (the session), so a piece
        of count 0 is nobody's and a picker may skip ``buckets[0]`` without looking.
    """

    __slots__ = ("counts", "buckets", "_pos", "skip_unseen")

    def __init__(self, num_pieces: int, have: PieceSet | None = None, counts: Iterable[int] | None = None,
                 *, skip_unseen: bool = False) -> None:
        #: ``counts[i]``: how many connected peers have piece ``i`` (read it, never write it;
        #: ``availability[i]`` is the same number).
        # Lists, not arrays: every ``have`` reads and writes both, and a list hands back the
        # int it holds where an array makes a new one (a third of the time, bench/sim.py).
        self.counts = list(counts) if counts is not None else [0] * num_pieces
        if len(self.counts) != num_pieces:
            raise ValueError(f"availability of {len(self.counts)} pieces for a torrent of {num_pieces}")
        self.buckets: list[list[int]] = [[]]
        self._pos = [-1] * num_pieces  # place in its bucket; -1: we have it
        self.skip_unseen = skip_unseen
        for index in range(num_pieces):
            if have is None or not have[index]:
                self._put(index, self.counts[index])

    def __getitem__(self, index: int) -> int:
        return self.counts[index]

    def __len__(self) -> int:
        return len(self.counts)

    def _put(self, index: int, count: int) -> None:
        while len(self.buckets) <= count:
            self.buckets.append([])
        bucket = self.buckets[count]
        self._pos[index] = len(bucket)
        bucket.append(index)

    def _take(self, index: int) -> bool:
        pos = self._pos[index]
        if pos < 0:
            return False
        bucket = self.buckets[self.counts[index]]
        last = bucket.pop()
        if last != index:
            bucket[pos] = last
            self._pos[last] = pos
        self._pos[index] = -1
        return True

    def add(self, index: int, delta: int = 1) -> bool:
        """One more (``delta=-1``: one fewer) connected peer has piece ``index``; returns
        whether it is a piece we lack (one that moved between buckets)."""
        # _take and _put written out: every `have` in a simulated swarm ends here (bench/sim.py).
        counts, pos = self.counts, self._pos
        count = counts[index]
        counts[index] = count + delta
        here = pos[index]
        if here < 0:  # we have it: counted, in no bucket
            return False
        buckets = self.buckets
        bucket = buckets[count]
        last = bucket.pop()
        if last != index:
            bucket[here] = last
            pos[last] = here
        count += delta
        if count >= len(buckets):
            buckets.extend([] for _ in range(count + 1 - len(buckets)))
        bucket = buckets[count]
        pos[index] = len(bucket)
        bucket.append(index)
        return True

    def got(self, index: int) -> None:
        """We verified piece ``index``: it leaves the buckets (its count stays)."""
        self._take(index)


class SwarmView(NamedTuple):
    """Our side of the swarm, as a picker or choker sees it."""

    #: Pieces in the torrent.
    num_pieces: int
    #: Pieces we have verified (do not mutate). When the user chose some files, the pieces
    #: outside that selection are in it too: either way, a picker asks for none of them.
    have: PieceSet
    #: ``availability[i]``: how many connected peers have piece ``i``; its ``buckets``
    #: group the pieces we lack by that count (do not mutate).
    availability: Availability
    #: Pieces with at least one block requested or received but not yet verified.
    in_progress: frozenset[int]
    #: The session's random generator: the only source of randomness a plugin may use.
    rng: random.Random
    #: The driver's time in seconds (monotonic; its origin is arbitrary).
    now: float
    #: True once every piece is verified: we only upload ("seed mode").
    seeding: bool = False


class PeerView(NamedTuple):
    """One connected peer, as a picker or choker sees it."""

    #: The driver's name for the connection (any hashable: an address, an int...).
    key: Hashable
    #: Pieces the peer has told us it has (do not mutate).
    has: PieceSet
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
    field = PieceSet(num_pieces)
    for index in have:
        field.set(index)
    return SwarmView(
        num_pieces=num_pieces,
        have=field,
        availability=Availability(num_pieces, field, availability),
        in_progress=frozenset(in_progress),
        rng=rng if rng is not None else random.Random(0),
        now=now,
        seeding=field.complete() if seeding is None else seeding,
    )


def peer_view(key: Hashable, num_pieces: int, *, has: Iterable[int] = (), **fields: Any) -> PeerView:
    """Build a :class:`PeerView` by hand; ``fields`` are the other attributes by name."""
    field = PieceSet(num_pieces)
    for index in has:
        field.set(index)
    return PeerView(key=key, has=field, **fields)
