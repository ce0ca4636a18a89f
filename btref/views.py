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

* Views are named tuples (:class:`typing.NamedTuple`): immutable, and cheap to build,
  which matters since the engine builds one per connected peer at every rechoke.
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
from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import Any, NamedTuple

from btref.pieceset import PieceSet

__all__ = ["Availability", "sample", "SwarmView", "PeerView", "swarm_view", "peer_view"]


class Availability:
    """Piece availability kept up to date one ``have`` at a time, for fast rarest-first picks.

    ``counts[i]`` is how many connected peers have piece ``i``. Every piece we still lack
    also sits in ``buckets[counts[i]]`` (a list in no meaningful order), so the rarest
    pieces are found by walking the buckets from the lowest count up instead of sorting
    every piece on every pick. Each update costs O(1): swap-remove from one bucket, append
    to the next. The engine owns the only instance; plugins see it as ``swarm.rarity`` and
    must only read it (:meth:`rarest` is the way to ask).

    :param have: the pieces we have (kept by reference: the engine updates it in place and
        calls :meth:`got`).
    :param skip_unseen: every peer asked about is counted (true in the engine), so pieces
        of count 0 are nobody's and :meth:`rarest` skips them without looking.
    """

    __slots__ = ("counts", "buckets", "_pos", "_have", "skip_unseen")

    def __init__(self, num_pieces: int, have: PieceSet | None = None, counts: Iterable[int] | None = None,
                 *, skip_unseen: bool = False) -> None:
        self.counts = array("l", counts if counts is not None else [0] * num_pieces)
        if len(self.counts) != num_pieces:
            raise ValueError(f"availability of {len(self.counts)} pieces for a torrent of {num_pieces}")
        self._have = have if have is not None else PieceSet(num_pieces)
        self.buckets: list[list[int]] = [[]]
        self._pos = array("l", [-1] * num_pieces)  # place in its bucket; -1: we have it
        self.skip_unseen = skip_unseen
        for index in range(num_pieces):
            if not self._have[index]:
                self._put(index, self.counts[index])

    def _put(self, index: int, count: int) -> None:
        buckets = self.buckets
        while len(buckets) <= count:
            buckets.append([])
        bucket = buckets[count]
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
        whether it is a piece we lack (one that moved between buckets).

        Written out in one function rather than :meth:`_take` then :meth:`_put`: in a
        simulated swarm every ``have`` of every peer ends here, millions of times a run.
        """
        counts, pos = self.counts, self._pos
        count = counts[index]
        counts[index] = count + delta
        here = pos[index]
        if here < 0:  # we have it: counted, in no bucket
            return False
        buckets = self.buckets
        bucket = buckets[count]  # swap-remove from its bucket...
        last = bucket.pop()
        if last != index:
            bucket[here] = last
            pos[last] = here
        count += delta
        while len(buckets) <= count:  # ...and append to the next one
            buckets.append([])
        bucket = buckets[count]
        pos[index] = len(bucket)
        bucket.append(index)
        return True

    def got(self, index: int) -> None:
        """We verified piece ``index``: it is no candidate any more."""
        self._take(index)

    # [docs: rarest]
    def rarest(self, has: PieceSet, count: int, rng: random.Random, exclude: Collection[int] = ()) -> list[int]:
        """Up to ``count`` pieces we lack that ``has`` holds, none in ``exclude``, rarest first.

        The buckets are walked from the lowest count up, and only their members are looked
        at: a bucket that fits whole is taken in random order, the bucket that would overflow
        gives a uniformly random choice of what is left to pick (``rng.sample``). So ties
        are broken at random, and the same ``rng`` state gives the same answer.
        """
        if count <= 0:
            return []
        # The candidates as bytes: testing a bucket member is one byte lookup, not a call.
        fresh, size = _fresh(has, self._have, exclude)
        left = fresh.bit_count()
        bits = fresh.to_bytes(size, "big")
        picks: list[int] = []
        for bucket in self.buckets[1:] if self.skip_unseen else self.buckets:
            if not left:
                break
            if not bucket:
                continue
            found = [i for i in bucket if bits[i >> 3] & (0x80 >> (i & 7))]
            want = count - len(picks)
            if len(found) >= want:
                return picks + rng.sample(found, want)
            rng.shuffle(found)
            picks += found
            left -= len(found)
        return picks
    # [/docs: rarest]


def _fresh(has: PieceSet, have: PieceSet, exclude: Collection[int]) -> tuple[int, int]:
    """The pieces ``has`` holds, ``have`` lacks and ``exclude`` does not name, as one integer
    (piece ``i`` is bit ``8 * size - 1 - i``, as on the wire), and the bitfields' size in
    bytes: a few C-level operations over the whole torrent instead of a loop over it."""
    bits: bytes | bytearray = has.to_bytes()
    if exclude:  # clear them byte by byte: small-int work, not a torrent-sized int per piece
        bits = bytearray(bits)
        for index in exclude:
            bits[index >> 3] &= 0xFF ^ (0x80 >> (index & 7))
    return int.from_bytes(bits, "big") & ~int.from_bytes(have.to_bytes(), "big"), len(bits)


def sample(has: PieceSet, have: PieceSet, count: int, rng: random.Random, exclude: Collection[int] = ()) -> list[int]:
    """Up to ``count`` pieces that ``has`` holds and ``have`` lacks, none in ``exclude``,
    drawn uniformly at random with ``rng`` (the ``random`` picker's step).

    Without a scan of the torrent. Few candidates (up to about the square root of
    ``4 * count * pieces``) are listed bit by bit and drawn from; more are drawn by picking
    random pieces until enough of them are candidates (rejection sampling), which then
    takes at most about that many draws.
    """
    if count <= 0:
        return []
    fresh, size = _fresh(has, have, exclude)
    left, n = fresh.bit_count(), len(has)
    if left * left <= 4 * count * n:
        found = []
        while fresh:  # lowest set bit first: the highest piece index
            low = fresh & -fresh
            found.append(8 * size - low.bit_length())
            fresh ^= low
        found.reverse()
        return rng.sample(found, min(count, left))
    bits = fresh.to_bytes(size, "big")
    picks: list[int] = []
    while len(picks) < count:
        index = rng.randrange(n)
        if bits[index >> 3] & (0x80 >> (index & 7)) and index not in picks:
            picks.append(index)
    return picks


class SwarmView(NamedTuple):
    """Our side of the swarm, as a picker or choker sees it."""

    #: Pieces in the torrent.
    num_pieces: int
    #: Pieces we have verified (do not mutate).
    have: PieceSet
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
    #: The pieces we lack grouped by availability (read-only; ask with
    #: :meth:`Availability.rarest`). ``None`` in views built by hand without it.
    rarity: Availability | None = None


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
    counts = array("l", availability if availability is not None else [0] * num_pieces)
    rarity = Availability(num_pieces, field, counts)
    return SwarmView(
        num_pieces=num_pieces,
        have=field,
        availability=memoryview(rarity.counts).toreadonly(),
        in_progress=frozenset(in_progress),
        rng=rng if rng is not None else random.Random(0),
        now=now,
        seeding=field.complete() if seeding is None else seeding,
        rarity=rarity,
    )


def peer_view(key: Hashable, num_pieces: int, *, has: Iterable[int] = (), **fields: Any) -> PeerView:
    """Build a :class:`PeerView` by hand; ``fields`` are the other attributes by name."""
    field = PieceSet(num_pieces)
    for index in has:
        field.set(index)
    return PeerView(key=key, has=field, **fields)
