"""PropShare: reward each peer in proportion to what it gave us last round (BEP 3,
"choking"; Levin, LaCurts, Spring and Bhattacharjee, "BitTorrent is an Auction: Analyzing
and Improving BitTorrent's Incentives", SIGCOMM 2008, section 5).

Levin et al. model a rechoke as an *auction*: peers bid with the bandwidth they gave us,
and tit-for-tat gives equal prizes to the top bidders, which a strategic client games by
bidding just enough (BitTyrant). PropShare instead splits our upload *rate* among last
round's contributors in proportion to their contributions, keeping a share for optimistic
unchokes; the paper shows that this is strategy-proof in its model.

The rechoke hook answers *whom* to unchoke, not at what rate (the engine serves unchoked
peers as fast as they ask), so btref's version shares *slots*, not bytes per second:

1. **Contributions**: the payload bytes each interested peer sent us since the last rechoke
   (from ``bytes_downloaded``).
2. **Proportional slots** (``slots`` minus the optimistic ones): drawn without replacement
   among the peers that contributed, a peer's chance weighted by its contribution. Over
   many rounds a peer is unchoked roughly in proportion to what it gives.
3. **Optimistic slots** (``optimistic_fraction`` of ``slots``, at least one if the fraction
   is above 0, plus any proportional slot nobody earned): random interested peers, so
   newcomers get a start and we discover new partners.

In seed mode nobody contributes, so every slot is optimistic: a random rotation.

Invariants (checked by ``conformance/chokers``): at most ``max_unchoked`` (``slots``)
keys, only interested peers, each once, the same answers for the same ``swarm.rng`` seed.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

from btref.hookspecs import hookimpl
from btref.strategy import PeerView, SwarmView

__all__ = ["PropShare"]


class PropShare:
    """Unchoke peers with chances proportional to what they gave last round (Levin et al. 2008)."""

    family = "chokers"
    name = "propshare"

    def __init__(self, slots: int = 4, optimistic_fraction: float = 0.2) -> None:
        if slots < 0 or not 0.0 <= optimistic_fraction <= 1.0:
            raise ValueError("slots must be >= 0 and optimistic_fraction within 0..1")
        self.slots = slots
        self.optimistic_fraction = optimistic_fraction
        #: ``bytes_downloaded`` of each connected peer at the previous rechoke.
        self.seen: dict[Hashable, int] = {}

    @property
    def max_unchoked(self) -> int:
        """The most peers one rechoke unchokes."""
        return self.slots

    @property
    def optimistic_slots(self) -> int:
        """Slots given at random every round (at least one if the fraction is above 0)."""
        if self.optimistic_fraction == 0.0 or self.slots == 0:
            return 0
        return max(1, round(self.slots * self.optimistic_fraction))

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[Hashable]:
        rng = swarm.rng
        # [docs: propshare]
        seen = self.seen  # a counter that went down belongs to a new connection: count it all
        given = {p.key: p.bytes_downloaded - seen.get(p.key, 0) if p.bytes_downloaded >= seen.get(p.key, 0)
                 else p.bytes_downloaded for p in peers}
        self.seen = {p.key: p.bytes_downloaded for p in peers}
        interested = [p.key for p in peers if p.peer_interested]
        # Weighted sampling without replacement (Efraimidis and Spirakis 2006): each peer
        # draws log(u) / weight, u uniform in (0, 1]; the largest draws win.
        draws = sorted(((math.log(1.0 - rng.random()) / given[k], i) for i, k in enumerate(interested) if given[k]),
                       reverse=True)
        chosen = [interested[i] for _, i in draws[: self.slots - self.optimistic_slots]]
        others = [k for k in interested if k not in chosen]
        chosen += rng.sample(others, min(self.slots - len(chosen), len(others)))
        # [/docs: propshare]
        return chosen
