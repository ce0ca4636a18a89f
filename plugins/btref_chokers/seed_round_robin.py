"""Seed round robin: tit-for-tat while downloading, a fair rotation once seeding (BEP 3,
"choking"; the seed-state algorithm of mainline 4.x described by Legout et al., "Rarest
First and Choke Algorithms Are Enough", IMC 2006; libtorrent's ``round_robin`` seed
choking).

While we download this is :mod:`btref_chokers.tit_for_tat` unchanged (reciprocity). Once we
seed there is nothing to reciprocate, and "unchoke the fastest downloaders" (the classic
seed rule) lets one fast peer, or a fast free-rider, hold a slot for ever. So in seed mode
the slots *rotate*:

1. **A turn lasts** ``turn`` seconds (30 s by default): a peer we unchoked keeps its slot
   for that long, as long as it stays interested.
2. **Free slots go to who has been served least**: the interested peers ranked by the
   total seconds we kept them unchoked while seeding, fewest first (a newcomer has 0), ties
   broken with ``swarm.rng``. A peer whose turn just ended has the most and waits.

The number of slots is the same in both modes: ``regular_slots + optimistic_slots``.

Invariants (checked by ``conformance/chokers``): at most ``max_unchoked`` keys, only
interested peers, each once, and the same answers for the same ``swarm.rng`` seed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated, Any

from btref_chokers.tit_for_tat import TitForTat

from btref.hookspecs import hookimpl
from btref.plugins import Param
from btref.views import PeerView, SwarmView

__all__ = ["SeedRoundRobin"]


class SeedRoundRobin(TitForTat):
    """Tit-for-tat while leeching; seeds rotate slots by time unchoked (mainline 4.x, libtorrent)."""

    family = "chokers"
    name = "seed-round-robin"
    #: The policies conformance/chokers checks this choker keeps (btref.claims); not
    #: TitForTat's, whose seed mode it replaces.
    claims: tuple[str, ...] = ("tit-for-tat", "optimistic-unchoke", "seed-round-robin")

    def __init__(self, turn: Annotated[float, Param("seconds a peer keeps a seed slot", ge=0)] = 30.0,
                 **tit_for_tat: Any) -> None:
        super().__init__(**tit_for_tat)  # regular_slots, optimistic_slots, ...: see TitForTat
        self.turn = turn
        #: Peers holding a seed slot -> when their turn began.
        self.turns: dict[Hashable, float] = {}
        #: Seconds each connected peer was unchoked while we seeded.
        self.served: dict[Hashable, float] = {}
        self.seeded_at: float | None = None

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[Hashable]:
        if not swarm.seeding:
            self.turns, self.seeded_at = {}, None
            return super().btref_rechoke(swarm, peers, now)
        # [docs: seed-round-robin]
        elapsed = 0.0 if self.seeded_at is None else max(0.0, now - self.seeded_at)
        self.seeded_at = now
        connected = {p.key for p in peers}
        served = {k: self.served.get(k, 0.0) + (elapsed if k in self.turns else 0.0) for k in connected}
        self.served = served
        interested = [p.key for p in peers if p.peer_interested]
        keep = [k for k in self.turns if k in interested and now - self.turns[k] < self.turn]
        rng = swarm.rng
        waiting = sorted((k for k in interested if k not in keep), key=lambda k: (served[k], rng.random()))
        chosen = (keep + waiting)[: self.max_unchoked]
        self.turns = {k: self.turns[k] if k in keep else now for k in chosen}
        # [/docs: seed-round-robin]
        return chosen
