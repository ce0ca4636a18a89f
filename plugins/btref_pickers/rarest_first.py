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
   rare spreads it, so no piece is lost when the peers holding it leave. The engine's
   :class:`~btref.views.Availability` buckets (``swarm.rarity``) make this step cost
   the pieces looked at, not every piece of the torrent.

Invariants (checked by ``conformance/pickers``): every answer is a piece the peer has and
we have not verified, no piece twice, at most ``count`` pieces, the same answer for the
same ``swarm.rng`` state.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from btref.hookspecs import hookimpl
from btref.views import PeerView, SwarmView

__all__ = ["RarestFirst"]


class RarestFirst:
    """Partial pieces first, a few random pieces, then the rarest pieces (BEP 3)."""

    family = "pickers"
    name = "rarest-first"

    def __init__(self, random_first: int = 4) -> None:
        if random_first < 0:
            raise ValueError("random_first must be >= 0")
        self.random_first = random_first

    @hookimpl
    def btref_pick_pieces(self, swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int]:
        if count <= 0:
            return []
        have, availability = swarm.have, swarm.availability
        # [docs: rarest-first]
        partial = sorted(
            (i for i in swarm.in_progress if peer.has[i] and not have[i]),
            key=lambda i: (availability[i], i),
        )
        picks = partial[:count]
        want = count - len(picks)
        if want <= 0:
            return picks
        if have.count >= self.random_first and swarm.rarity is not None:
            # rarest first from the engine's buckets: no scan of every piece
            picks += swarm.rarity.rarest(peer.has, want, swarm.rng, exclude=swarm.in_progress)
            return picks
        rng = swarm.rng
        fresh = [i for i in peer.has if not have[i] and i not in swarm.in_progress]
        if have.count < self.random_first:  # the first few pieces at random
            picks += rng.sample(fresh, min(want, len(fresh)))
        else:  # rarest first by a scan (a view built without the engine's buckets)
            picks += [i for _, _, i in heapq.nsmallest(want, ((availability[i], rng.random(), i) for i in fresh))]
        # [/docs: rarest-first]
        return picks
