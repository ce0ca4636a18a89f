"""PropShare: reward each peer in proportion to what it gave us last round (BEP 3,
"choking"; Levin, LaCurts, Spring and Bhattacharjee, "BitTorrent is an Auction: Analyzing
and Improving BitTorrent's Incentives", SIGCOMM 2008, section 5).

Levin et al. model a rechoke as an *auction*: peers bid with the bandwidth they gave us,
and tit-for-tat gives equal prizes to the top bidders, which a strategic client games by
bidding just enough (BitTyrant). PropShare instead splits our upload *rate* among last
round's contributors in proportion to their contributions, keeping a share for optimistic
unchokes; the paper shows that this is strategy-proof in its model.

btref's version, every rechoke:

1. **Contributions**: the payload bytes each interested peer sent us since the last rechoke
   (from ``bytes_downloaded``).
2. **Proportional slots** (``slots`` minus the optimistic ones) go to the biggest
   contributors (ties at random), and they split ``1 - optimistic_fraction`` of our upload
   in proportion to what each gave: the answer is ``{key: share}``, which the engine
   passes to the driver (:class:`~btref.actions.UploadShares`) and the simulator's
   uplink honours.
3. **Optimistic slots** (``optimistic_fraction`` of ``slots``, at least one if the fraction
   is above 0, plus any proportional slot nobody earned): random interested peers, sharing
   ``optimistic_fraction`` of the upload equally (the smallest earned share each if the
   fraction is 0).

``slots`` caps the peers served at once, as every real client must; the paper's rule is
the shares. When nobody contributed (in seed mode, say) every slot is optimistic and the
answer is a plain list: a random rotation with equal shares.

Invariants (checked by ``conformance/chokers``): at most ``max_unchoked`` (``slots``)
keys, only interested peers, each once, the same answers for the same ``swarm.rng`` seed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from btref.hookspecs import hookimpl
from btref.strategy import PeerView, SwarmView

__all__ = ["PropShare"]


class PropShare:
    """Split our upload in proportion to what each peer gave last round (Levin et al. 2008)."""

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
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float
                      ) -> list[Hashable] | dict[Hashable, float]:
        rng = swarm.rng
        # [docs: propshare]
        seen = self.seen  # a counter that went down belongs to a new connection: count it all
        given = {p.key: p.bytes_downloaded - seen.get(p.key, 0) if p.bytes_downloaded >= seen.get(p.key, 0)
                 else p.bytes_downloaded for p in peers}
        self.seen = {p.key: p.bytes_downloaded for p in peers}
        interested = [p.key for p in peers if p.peer_interested]
        # The biggest contributors earn the proportional slots (equal gifts: draw lots).
        contributors = sorted((k for k in interested if given[k]), key=lambda k: (-given[k], rng.random()))
        earned = contributors[: self.slots - self.optimistic_slots]
        others = [k for k in interested if k not in earned]
        lucky = rng.sample(others, min(self.slots - len(earned), len(others)))
        if not earned:  # nobody gave anything: a random rotation, shared equally
            return lucky
        total = sum(given[k] for k in earned)
        shares = {k: (1.0 - self.optimistic_fraction) * given[k] / total for k in earned}
        smallest = min(shares.values())
        for k in lucky:  # the optimistic part, split equally
            shares[k] = self.optimistic_fraction / len(lucky) if self.optimistic_fraction else smallest
        # [/docs: propshare]
        return shares
