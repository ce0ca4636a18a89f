"""Rarest first: fetch the pieces fewest peers have (BEP 3; Cohen 2003, section 2.4).

The rule, in the order a piece is preferred:

1. **Partial pieces first** ("strict priority" in Cohen's paper): a piece we already
   started is finished before a new one is begun, so complete pieces (the only thing
   we can verify and share) appear as early as possible.
2. **Random first**: until we have ``random_first`` pieces, new pieces are picked at
   random. A newcomer needs *something* to trade quickly, and the rarest pieces are by
   definition slow to get (only a few peers have them).
3. **Rarest first** afterwards: new pieces in increasing order of availability (how many
   connected peers have them), ties broken at random with ``swarm.rng``. Copying what is
   rare spreads it, so no piece is lost when the peers holding it leave.

Step 3 does not sort every piece. ``swarm.availability.buckets[c]`` lists the pieces we
lack that exactly ``c`` connected peers have, so the picker walks the buckets from the
lowest count up and stops as soon as it has enough: its cost is the pieces it looks at.

Invariants (checked by ``conformance/pickers``): every answer is a piece the peer has and
we have not verified, no piece twice, at most ``count`` pieces, the same answer for the
same ``swarm.rng`` state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from btref.hookspecs import hookimpl
from btref.plugins import Param
from btref.views import PeerView, SwarmView

__all__ = ["RarestFirst"]


class RarestFirst:
    """Partial pieces first, a few random pieces, then the rarest pieces (BEP 3)."""

    family = "pickers"
    name = "rarest-first"
    #: The policies conformance/pickers checks this picker keeps (btref.claims).
    claims: tuple[str, ...] = ("rarest-first", "strict-priority", "random-first")

    # [docs: parameters]
    def __init__(
        self,
        random_first: Annotated[int, Param("new pieces picked at random until we have this many", ge=0)] = 4,
    ) -> None:
        self.random_first = random_first
    # [/docs: parameters]

    # [docs: rarest-first]
    @hookimpl
    def btref_pick_pieces(self, swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int]:
        if count <= 0:
            return []
        have, availability, started = swarm.have, swarm.availability, swarm.in_progress
        # 1. partial pieces first, the rarest of them first (ties: lowest index). Sorted
        # twice, by index then by count (a stable sort), so that neither sort calls Python
        # code per piece: one of the costs per block of a swarm (bench/sim.py).
        partial = sorted(i for i in peer.has.having(started) if not have[i])
        partial.sort(key=availability.counts.__getitem__)
        picks = partial[:count]
        want = count - len(picks)
        if want <= 0:
            return picks
        if have.count < self.random_first:  # 2. the first few pieces at random
            fresh = [i for i in peer.has if not have[i] and i not in started]
            return picks + swarm.rng.sample(fresh, min(want, len(fresh)))
        return picks + self.rarest(swarm, peer, want)

    def rarest(self, swarm: SwarmView, peer: PeerView, want: int) -> list[int]:
        """3. Up to ``want`` new pieces the peer has, rarest first, ties at random."""
        picks: list[int] = []
        has, started = peer.has, swarm.in_progress
        buckets = swarm.availability.buckets  # buckets[c]: the pieces we lack that c peers have
        for bucket in buckets[1:] if swarm.availability.skip_unseen else buckets:
            if not bucket:
                continue
            found = has.having(bucket)  # one C-level pass over the bucket (bench/sim.py)
            if started:
                found = [i for i in found if i not in started]
            if len(found) >= want - len(picks):  # this bucket fills the answer: draw from it
                return picks + swarm.rng.sample(found, want - len(picks))
            swarm.rng.shuffle(found)
            picks += found
        return picks
    # [/docs: rarest-first]
