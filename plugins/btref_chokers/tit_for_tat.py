"""Tit for tat: upload to those who upload to us, plus one optimistic unchoke (BEP 3;
Cohen 2003, "Incentives Build Robustness in BitTorrent", sections 3.1-3.4).

Every rechoke (10 s) the choker unchokes:

* **Regular slots** (``regular_slots``, 3): the interested peers with the best rate: the
  rate at which *they* send to *us* while we download (reciprocity: "tit for tat"), the
  rate at which *we* send to *them* once we seed (serve whoever can take the data
  fastest, since a seed has nothing to gain). Snubbed peers get no regular slot: they
  took our unchoke and sent nothing back for a minute ("anti-snubbing"). Among equal
  rates a peer already unchoked keeps its slot (choking and unchoking again only costs
  messages and rejected requests); remaining ties are broken with ``swarm.rng``.
* **Optimistic slots** (``optimistic_slots``, 1): other interested peers picked at random,
  kept for ``optimistic_interval`` seconds (30 s, three rechokes) and then rotated. This is
  how a newcomer with nothing to offer gets its first pieces, and how we discover peers
  better than our current partners. A peer connected for less than ``new_peer_age``
  seconds is ``new_peer_weight`` (3) times as likely to be picked.

Invariants (checked by ``conformance/chokers``): at most ``max_unchoked`` keys, only
interested peers, each once, and the same answers for the same ``swarm.rng`` seed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated

from btref.hookspecs import hookimpl
from btref.plugins import Param
from btref.views import PeerView, SwarmView

__all__ = ["TitForTat"]


class TitForTat:
    """Unchoke the best reciprocators plus one rotating optimistic peer (BEP 3, Cohen 2003)."""

    family = "chokers"
    name = "tit-for-tat"
    #: The policies conformance/chokers checks this choker keeps (btref.claims).
    claims: tuple[str, ...] = ("tit-for-tat", "optimistic-unchoke", "seed-fastest")

    def __init__(
        self,
        regular_slots: Annotated[int, Param("peers unchoked for their rate (to us; from us once we seed)", ge=0)] = 3,
        optimistic_slots: Annotated[int, Param("interested peers unchoked at random", ge=0)] = 1,
        optimistic_interval: Annotated[float, Param("seconds an optimistic unchoke lasts", ge=0)] = 30.0,
        new_peer_age: Annotated[float, Param("seconds a peer counts as new", ge=0)] = 60.0,
        new_peer_weight: Annotated[int, Param("how many times likelier a new peer is to be optimistic", ge=1)] = 3,
    ) -> None:
        self.regular_slots = regular_slots
        self.optimistic_slots = optimistic_slots
        self.optimistic_interval = optimistic_interval
        self.new_peer_age = new_peer_age
        self.new_peer_weight = new_peer_weight
        #: The peers holding optimistic slots, and when they were last rotated.
        self.optimistic: list[Hashable] = []
        self.rotated_at: float | None = None

    @property
    def max_unchoked(self) -> int:
        """The most peers one rechoke unchokes."""
        return self.regular_slots + self.optimistic_slots

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[Hashable]:
        rng = swarm.rng
        interested = [p for p in peers if p.peer_interested]
        # [docs: regular]
        def rate(p: PeerView) -> float:
            return p.upload_rate if swarm.seeding else p.download_rate

        # Equal rates: keep whom we already unchoked (no churn), then draw lots.
        ranked = sorted((p for p in interested if not p.snubbed),
                        key=lambda p: (-rate(p), p.am_choking, rng.random()))
        regular = [p.key for p in ranked[: self.regular_slots]]
        # [/docs: regular]
        # [docs: optimistic]
        others = [p for p in interested if p.key not in regular]
        # A microsecond of slack: a driver's clock is a sum of float steps, and three 10 s
        # rounds after 30.000000000000004 may read 59.99999999999999.
        if self.rotated_at is None or now - self.rotated_at >= self.optimistic_interval - 1e-6:
            self.optimistic, self.rotated_at = [], now
        keys = {p.key for p in others}
        self.optimistic = [k for k in self.optimistic if k in keys]  # left, lost interest, or promoted
        pool = [p for p in others if p.key not in self.optimistic]
        while len(self.optimistic) < self.optimistic_slots and pool:
            weights = [self.new_peer_weight if now - p.connected_at < self.new_peer_age else 1 for p in pool]
            chosen = rng.choices(range(len(pool)), weights=weights)[0]
            self.optimistic.append(pool.pop(chosen).key)
        # [/docs: optimistic]
        return regular + self.optimistic
