"""PropShare: reward each peer in proportion to what it gave us last round (BEP 3,
"choking"; Levin, LaCurts, Spring and Bhattacharjee, "BitTorrent is an Auction: Analyzing
and Improving BitTorrent's Incentives", SIGCOMM 2008, section 5).

Levin et al. model a rechoke as an *auction*: peers bid with the bandwidth they gave us,
and tit-for-tat gives equal prizes to the top bidders, which a strategic client games by
bidding just enough (BitTyrant). PropShare instead splits our upload *rate* among last
round's contributors in proportion to their contributions, keeping a share for optimistic
unchokes; the paper shows that this is strategy-proof in its model.

btref's version, every rechoke:

1. **Contributions**: the payload bytes each peer sent us during the last round of
   ``round_length`` seconds (10 s; from ``bytes_downloaded``). The engine also asks between
   rounds, when interest changes; those calls keep the round's measure and its optimistic
   peers and only fill slots that came free.
2. **Proportional slots** (``slots`` minus the optimistic ones) go to the biggest
   contributors (ties at random), and they split ``1 - optimistic_fraction`` of our upload
   in proportion to what each gave: the answer is ``{key: share}``, which the engine
   passes to the driver (:class:`~btref.actions.UploadShares`) and the simulator's
   uplink honours (the asyncio driver's too, under an upload limit).
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
from typing import Annotated

from btref.hookspecs import hookimpl
from btref.plugins import Param
from btref.views import PeerView, SwarmView

__all__ = ["PropShare"]


class PropShare:
    """Split our upload in proportion to what each peer gave last round (Levin et al. 2008)."""

    family = "chokers"
    name = "propshare"

    def __init__(
        self,
        slots: Annotated[int, Param("peers unchoked per rechoke", ge=0)] = 4,
        optimistic_fraction: Annotated[float, Param("share of the slots and of the upload given to random peers "
                                                    "(at least one slot if above 0)", ge=0, le=1)] = 0.2,
        round_length: Annotated[float, Param("seconds over which contributions are measured (0: since the last call)",
                                             ge=0)] = 10.0,
    ) -> None:
        self.slots = slots
        self.optimistic_fraction = optimistic_fraction
        #: Seconds of a round: contributions are measured over rounds (mainline's 10 s).
        self.round_length = round_length
        #: ``bytes_downloaded`` of each connected peer at the start of the current round,
        #: what each gave during the previous round, and this round's optimistic peers.
        self.seen: dict[Hashable, int] = {}
        self.given: dict[Hashable, int] = {}
        self.lucky: list[Hashable] = []
        self.round_at: float | None = None

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
        if self.round_at is None or now - self.round_at >= self.round_length:
            # A new round: what each peer gave in the last one, and new optimistic peers.
            # (The engine also asks between rounds, when interest changes: those calls
            # keep this round's measure and fill free slots only.)
            seen = self.seen  # a counter that went down belongs to a new connection: count it all
            self.given = {p.key: p.bytes_downloaded - seen.get(p.key, 0) if p.bytes_downloaded >= seen.get(p.key, 0)
                          else p.bytes_downloaded for p in peers}
            self.seen = {p.key: p.bytes_downloaded for p in peers}
            self.round_at, self.lucky = now, []
        given = self.given
        interested = [p.key for p in peers if p.peer_interested]
        # The biggest contributors earn the proportional slots (equal gifts: draw lots).
        contributors = sorted((k for k in interested if given.get(k)), key=lambda k: (-given[k], rng.random()))
        earned = contributors[: self.slots - self.optimistic_slots]
        room = self.slots - len(earned)
        wanting = set(interested)
        kept = [k for k in self.lucky if k in wanting and k not in earned][:room]  # optimistic for the round
        others = [k for k in interested if k not in earned and k not in kept]
        lucky = self.lucky = kept + rng.sample(others, min(room - len(kept), len(others)))
        if not earned:  # nobody gave anything: a random rotation, shared equally
            return lucky
        total = sum(given[k] for k in earned)
        shares = {k: (1.0 - self.optimistic_fraction) * given[k] / total for k in earned}
        smallest = min(shares.values())
        for k in lucky:  # the optimistic part, split equally
            shares[k] = self.optimistic_fraction / len(lucky) if self.optimistic_fraction else smallest
        # [/docs: propshare]
        return shares
