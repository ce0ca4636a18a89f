"""BitTyrant: unchoke the peers that give the most per byte we give, within an upload
budget (BEP 3, "choking"; Piatek, Isdal, Anderson, Krishnamurthy and Venkataramani, "Do
Incentives Build Robustness in BitTorrent?", NSDI 2007, section 4).

A strategic client: it keeps, for every peer *p*, two estimates,

* ``d[p]``: the rate *p* gives us when it unchokes us (observed ``download_rate``; a prior
  ``initial_rate`` until we have seen it), and
* ``u[p]``: the upload rate we must give *p* for it to reciprocate (prior ``initial_rate``),

and every rechoke:

1. **Learns** from the last round (one step per ``round_length`` seconds, 10 s: the engine
   also asks between rounds, when interest changes, and then only step 2 runs): a peer we
   kept unchoked all round that still chokes us wants more, so
   ``u[p] *= 1 + delta``; one that unchoked us for ``rounds`` rounds in a row probably
   wants less, so ``u[p] *= 1 - gamma`` (the paper's δ = 0.2, γ = 0.1, r = 3).
2. **Ranks** interested peers by return on investment ``d[p] / u[p]``, best first (ties at
   random with ``swarm.rng``) and unchokes them in that order while the sum of their
   ``u[p]`` fits in the upload budget (``upload_budget`` bytes per second; ``None``: the
   highest total upload rate measured so far), at least ``min_unchoked`` and at most
   ``max_unchoked`` peers. A newcomer has ratio 1 (both priors equal), so it gets tried:
   that is BitTyrant's exploration.
3. **Allocates**: the answer is ``{key: u[p]}``, so each unchoked peer gets its ``u[p]``
   out of our upload, as BitTyrant sets each connection's rate (the engine passes the
   shares to the driver as :class:`~btref.actions.UploadShares`; the simulator's uplink
   splits itself in those proportions, and so does the asyncio driver's under an upload
   limit).

In seed mode the ``seed_slots`` interested peers that take data fastest are unchoked,
sharing equally (a plain list: a seed has nothing to gain).

Invariants (checked by ``conformance/chokers``): at most ``max_unchoked`` keys, only
interested peers, each once, the same answers for the same ``swarm.rng`` seed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated

from btref.hookspecs import hookimpl
from btref.plugins import Param
from btref.views import PeerView, SwarmView

__all__ = ["BitTyrant"]


class BitTyrant:
    """Best download-per-upload ratio first, within an upload budget (Piatek et al. 2007)."""

    family = "chokers"
    name = "bittyrant"
    #: The policies conformance/chokers checks this choker keeps (btref.claims): its
    #: leech mode is its own (return on investment), its seed mode the classic one.
    claims: tuple[str, ...] = ("seed-fastest",)

    def __init__(
        self,
        upload_budget: Annotated[float | None, Param("upload to spend, bytes/s (none: the most measured so far)",
                                                     ge=0)] = None,
        initial_rate: Annotated[float, Param("bytes/s: the prior of both estimates d[p] and u[p]", gt=0)] = 16384.0,
        delta: Annotated[float, Param("u[p] grows by this fraction when p did not reciprocate", ge=0)] = 0.2,
        gamma: Annotated[float, Param("u[p] shrinks by this fraction after `rounds` rounds of reciprocation",
                                      ge=0, lt=1)] = 0.1,
        rounds: Annotated[int, Param("rounds of reciprocation before u[p] shrinks", ge=1)] = 3,
        min_unchoked: Annotated[int, Param("peers unchoked even over budget", ge=0)] = 2,
        max_unchoked: Annotated[int, Param("peers unchoked at most", ge=0)] = 16,
        seed_slots: Annotated[int, Param("peers unchoked once we seed, the fastest takers", ge=0)] = 4,
        round_length: Annotated[float, Param("seconds between learning steps (0: at every call)", ge=0)] = 10.0,
    ) -> None:
        if not min_unchoked <= max_unchoked or not seed_slots <= max_unchoked:
            raise ValueError("min_unchoked and seed_slots must not exceed max_unchoked")
        self.upload_budget = upload_budget
        self.initial_rate = initial_rate
        self.delta, self.gamma, self.rounds = delta, gamma, rounds
        self.min_unchoked, self.max_unchoked, self.seed_slots = min_unchoked, max_unchoked, seed_slots
        self.round_length = round_length
        #: When the estimates were last updated (the start of the current round).
        self.learned_at: float | None = None
        #: Estimated rate a peer gives us when it unchokes us (bytes/s).
        self.d: dict[Hashable, float] = {}
        #: Estimated upload rate a peer needs from us to reciprocate (bytes/s).
        self.u: dict[Hashable, float] = {}
        #: Rounds in a row each peer we unchoked has unchoked us back.
        self.streak: dict[Hashable, int] = {}
        #: The peers unchoked since the start of the round (the ones the next round judges).
        self.unchoked: set[Hashable] = set()
        #: The highest total upload rate seen: our capacity when no budget is given.
        self.capacity = 0.0

    def budget(self) -> float:
        """The upload rate (bytes/s) we are willing to spend this round."""
        return self.capacity if self.upload_budget is None else self.upload_budget

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float
                      ) -> list[Hashable] | dict[Hashable, float]:
        rng = swarm.rng
        self.capacity = max(self.capacity, sum(p.upload_rate for p in peers))
        interested = [p for p in peers if p.peer_interested]
        if swarm.seeding:
            ranked = sorted(interested, key=lambda p: (-p.upload_rate, rng.random()))
            self.unchoked = {p.key for p in ranked[: self.seed_slots]}
            return [p.key for p in ranked[: self.seed_slots]]
        # [docs: learn]
        # One learning step per round (round_length, 10 s): the engine also asks between
        # rounds (a peer became interested, a slot came free), and those calls only rank
        # with what was learned so far. Judged: the peers we kept unchoked all round.
        learning = self.learned_at is None or now - self.learned_at >= self.round_length
        d, u, streak = self.d, self.u, self.streak
        if learning:
            self.learned_at = now
            for p in peers:
                k = p.key
                if not p.peer_choking and p.download_rate > 0:
                    d[k] = p.download_rate  # observed reciprocation
                if k in self.unchoked:
                    if p.peer_choking:  # we gave, it did not give back: it wants more
                        u[k] = u.get(k, self.initial_rate) * (1 + self.delta)
                        streak[k] = 0
                    else:
                        streak[k] = streak.get(k, 0) + 1
                        if streak[k] >= self.rounds:  # reciprocated for long: try giving less
                            u[k] = u.get(k, self.initial_rate) * (1 - self.gamma)
            connected = {p.key for p in peers}
            for table in (d, u, streak):
                for k in [k for k in table if k not in connected]:
                    del table[k]
        # [/docs: learn]
        # [docs: unchoke]
        def ratio(p: PeerView) -> float:
            return d.get(p.key, self.initial_rate) / max(u.get(p.key, self.initial_rate), 1e-9)

        chosen: list[Hashable] = []
        spent, budget = 0.0, self.budget()
        for p in sorted(interested, key=lambda p: (-ratio(p), rng.random())):
            cost = u.get(p.key, self.initial_rate)
            if len(chosen) >= self.max_unchoked or (len(chosen) >= self.min_unchoked and spent + cost > budget):
                break
            chosen.append(p.key)
            spent += cost
        # [/docs: unchoke]
        # A new round judges those unchoked from now on; between rounds, only those kept.
        self.unchoked = set(chosen) if learning else self.unchoked & set(chosen)
        return {k: u.get(k, self.initial_rate) for k in chosen}  # each gets its u[p]
