"""Block-level tit for tat: upload to a neighbour only while it owes us less than Δ
(BEP 3, "choking"; Bharambe, Herley and Padmanabhan, "Analyzing and Improving a
BitTorrent Network's Performance Mechanisms", INFOCOM 2006, section on fairness).

Rate-based tit for tat (the ``tit-for-tat`` plugin) compares *rates* over the last 20
seconds, so it never looks at the running balance with a neighbour: a fast peer keeps
giving to slower partners and to its optimistic picks, and ends up uploading far more
than it downloads. Bharambe et al. add a per-neighbour *deficit*::

    deficit(p) = bytes we uploaded to p - bytes we downloaded from p

and let a peer upload to ``p`` only while ``deficit(p) < Δ``, the unfairness threshold
(a couple of blocks). A newcomer owes nothing, so it gets up to Δ for free, which is how
it starts; after that it must pay back what it received before it receives more.

btref's version, every rechoke:

1. **Leech mode.** The peers that owe us ``delta`` blocks or more (of 16 KiB,
   :data:`btref.wire.BLOCK_SIZE`, counted from ``bytes_uploaded`` and
   ``bytes_downloaded`` of :class:`~btref.views.PeerView`) are left choked. Among the
   others the choice is exactly ``tit-for-tat``'s: the regular slots to those that send
   us the most, one optimistic slot rotated every 30 s (the same class, composed).
2. **Seed mode.** A seed owes nobody and is owed nothing: ``tit-for-tat``'s seed mode
   over every interested peer (the fastest takers, plus the optimistic slot).

The deficit is checked when the engine asks, at every rechoke (every 10 s,
``Config.rechoke_interval``) and when interest changes, not per block: an unchoked peer
may run past Δ by what it receives until the next call. Bharambe et al.'s simulator
checked before every block; a shorter ``rechoke_interval`` brings btref closer to that.

Invariants (checked by ``conformance/chokers``): at most ``max_unchoked`` keys, only
interested peers, each once, the same answers for the same ``swarm.rng`` seed; while
downloading, no peer owing us ``delta`` blocks or more is unchoked (claim
``deficit-bound``); while seeding, the fastest takers (``seed-fastest``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated

from btref.hookspecs import hookimpl
from btref.plugins import Param
from btref.views import PeerView, SwarmView
from btref.wire import BLOCK_SIZE
from btref_chokers.tit_for_tat import TitForTat

__all__ = ["BlockTitForTat"]


class BlockTitForTat:
    """Tit for tat among the peers that owe us less than Δ blocks (Bharambe et al. 2006)."""

    family = "chokers"
    name = "block-tit-for-tat"
    #: The policies conformance/chokers checks this choker keeps (btref.claims).
    claims: tuple[str, ...] = ("deficit-bound", "seed-fastest")

    def __init__(
        self,
        delta: Annotated[float, Param("blocks of 16 KiB a peer may owe us (uploaded to it minus received "
                                      "from it) and still be unchoked while we download", ge=0)] = 2.0,
        regular_slots: Annotated[int, Param("peers unchoked for their rate (to us; from us once we seed)", ge=0)] = 3,
        optimistic_slots: Annotated[int, Param("interested peers unchoked at random", ge=0)] = 1,
        optimistic_interval: Annotated[float, Param("seconds an optimistic unchoke lasts", ge=0)] = 30.0,
    ) -> None:
        self.delta = delta
        #: The choice among the peers within their deficit: rate-based tit for tat.
        self.rate_based = TitForTat(regular_slots=regular_slots, optimistic_slots=optimistic_slots,
                                    optimistic_interval=optimistic_interval)

    @property
    def regular_slots(self) -> int:
        """Peers unchoked for their rate (the ``seed-fastest`` claim reads it)."""
        return self.rate_based.regular_slots

    @property
    def max_unchoked(self) -> int:
        """The most peers one rechoke unchokes."""
        return self.rate_based.max_unchoked

    @property
    def threshold(self) -> float:
        """Δ in bytes: a peer owing us this much or more stays choked while we download."""
        return self.delta * BLOCK_SIZE

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[Hashable]:
        # [docs: deficit]
        if not swarm.seeding:  # a seed gains nothing back: no deficit to keep
            peers = [p for p in peers if p.bytes_uploaded - p.bytes_downloaded < self.threshold]
        return self.rate_based.btref_rechoke(swarm, peers, now)
        # [/docs: deficit]
