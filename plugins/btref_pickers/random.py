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

from collections.abc import Sequence

from btref.hookspecs import hookimpl
from btref.views import PeerView, SwarmView, sample

__all__ = ["RandomPicker"]


class RandomPicker:
    """Partial pieces first, then new pieces uniformly at random (the baseline)."""

    family = "pickers"
    name = "random"

    def __init__(self, partial_first: bool = True) -> None:
        self.partial_first = partial_first

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
