"""Random: fetch the pieces a peer has in random order (BEP 3, "peer messages": the order
is left to the client; Cohen 2003, section 2.3 "Random First Piece").

The baseline every smarter picker is measured against. The rule:

1. **Partial pieces first** (``partial_first``, on by default): a piece we already started
   is finished before a new one is begun, in random order. Without it, random picking
   leaves many half-downloaded pieces that can be neither verified nor shared.
2. **Random** afterwards: new pieces drawn uniformly at random from those the peer has and
   we lack, with ``swarm.rng`` so a seeded simulation repeats itself.

Random picking keeps the copies of pieces roughly balanced in a well-connected swarm (each
peer's choice is independent), but, unlike rarest first, it does nothing to rescue a piece
that only one leaving peer holds.

Invariants (checked by ``conformance/pickers``): every answer is a piece the peer has and
we have not verified, no piece twice, at most ``count`` pieces, the same answer for the
same ``swarm.rng`` state.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from typing import Annotated

from btref.hookspecs import hookimpl
from btref.plugins import Param
from btref.pieceset import PieceSet
from btref.views import PeerView, SwarmView

__all__ = ["RandomPicker", "sample"]


class RandomPicker:
    """Partial pieces first, then new pieces uniformly at random (the baseline)."""

    family = "pickers"
    name = "random"
    #: The policies conformance/pickers checks this picker keeps (btref.claims).
    claims: tuple[str, ...] = ("strict-priority", "random")

    def __init__(
        self,
        partial_first: Annotated[bool, Param("finish the pieces already started before new ones")] = True,
    ) -> None:
        self.partial_first = partial_first
        if not partial_first:  # then partial pieces wait like any other
            self.claims = ("random",)

    @hookimpl
    def btref_pick_pieces(self, swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int]:
        if count <= 0:
            return []
        have, rng = swarm.have, swarm.rng
        # [docs: random]
        picks: list[int] = []
        started: set[int] = set()
        if self.partial_first:
            # sorted first: a set's order is not ours to rely on, the rng's draws are
            started = {i for i in swarm.in_progress if peer.has[i] and not have[i]}
            partial = sorted(started)
            picks = rng.sample(partial, min(count, len(partial)))
        want = count - len(picks)
        if want > 0:  # uniform over the peer's pieces we lack, without a scan of them all
            picks += sample(peer.has, have, want, rng, exclude=started)
        # [/docs: random]
        return picks


def sample(has: PieceSet, have: PieceSet, count: int, rng: random.Random, exclude: Collection[int] = ()) -> list[int]:
    """Up to ``count`` pieces that ``has`` holds and ``have`` lacks, none in ``exclude``,
    drawn uniformly at random with ``rng``.

    The candidates are found as one big integer (piece ``i`` is bit ``8 * size - 1 - i``,
    as on the wire): a few C-level operations over the whole torrent instead of a Python
    loop over it (``bench/sim.py --picker random``). Few candidates (up to about the
    square root of ``4 * count * pieces``) are listed and drawn from; more are drawn by
    trying random pieces until enough are candidates (rejection sampling), which then
    takes at most about that many tries.
    """
    if count <= 0:
        return []
    bits: bytes | bytearray = has.to_bytes()
    if exclude:
        bits = bytearray(bits)
        for index in exclude:
            bits[index >> 3] &= 0xFF ^ (0x80 >> (index & 7))
    size = len(bits)
    fresh = int.from_bytes(bits, "big") & ~int.from_bytes(have.to_bytes(), "big")
    left, n = fresh.bit_count(), len(has)
    if left * left <= 4 * count * n:
        found = []
        while fresh:  # lowest set bit first: the highest piece index
            low = fresh & -fresh
            found.append(8 * size - low.bit_length())
            fresh ^= low
        found.reverse()
        return rng.sample(found, min(count, left))
    candidates = fresh.to_bytes(size, "big")
    picks: list[int] = []
    while len(picks) < count:
        index = rng.randrange(n)
        if candidates[index >> 3] & (0x80 >> (index & 7)) and index not in picks:
            picks.append(index)
    return picks
