"""Lab 3, the reference solution: three chokers (the hook ``btref_rechoke``, see
btref/hookspecs.py; BEP 3 "peer protocol", the part on choking; Cohen 2003, section 3;
Levin et al. 2008).

btref has no choker with these simple rules (its own, ``plugins/btref_chokers/``, add
anti-snubbing, seed modes and weights), so this is the solution the lab's text builds step
by step, for instructors. ``make test`` grades it and expects full marks
(``tests/test_labs.py``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from btref.hookspecs import hookimpl
from btref.views import PeerView, SwarmView

#: What a choker answers (the hook's contract): the keys to unchoke, equal shares; or
#: ``{key: share}``, each peer's part of our upload.
Answer = Sequence[Hashable] | Mapping[Hashable, float]


class Top4:
    """Unchoke the 4 peers that send us data fastest; no optimistic unchoke (lab 3, a)."""

    family = "chokers"
    max_unchoked = 4
    regular_slots = 4
    claims: tuple[str, ...] = ("tit-for-tat",)

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> Answer:
        interested = [p for p in peers if p.peer_interested]
        ranked = sorted(interested, key=lambda p: -p.download_rate)
        return [p.key for p in ranked[:4]]


class Top4Optimistic(Top4):
    """Top 4 by download rate plus one optimistic peer, rotated every 30 s (lab 3, b)."""

    max_unchoked = 5  # 4 regular slots + 1 optimistic
    optimistic_interval = 30.0  # seconds between optimistic rotations
    claims = ("tit-for-tat", "optimistic-unchoke")

    def __init__(self) -> None:
        self.optimistic: Hashable | None = None  # the key of the peer holding the optimistic slot
        self.rotated_at: float | None = None  # when we last drew it

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> Answer:
        regular = list(super().btref_rechoke(swarm, peers, now))
        others = [p.key for p in peers if p.peer_interested and p.key not in regular]
        due = self.rotated_at is None or now - self.rotated_at >= self.optimistic_interval
        if due or self.optimistic not in others:  # time to rotate, or our peer left
            self.optimistic = swarm.rng.choice(others) if others else None
            if due:
                self.rotated_at = now
        return regular + ([self.optimistic] if self.optimistic is not None else [])


class MiniPropShare(Top4Optimistic):
    """Top4Optimistic's peers, our upload split in proportion to their download rates (lab 3, c)."""

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> Answer:
        keys = list(super().btref_rechoke(swarm, peers, now))
        rate = {p.key: p.download_rate for p in peers}
        earned = {key: rate[key] for key in keys if rate[key] > 0}
        if not earned:  # nobody sends us anything (we seed, or it is the start): equal shares
            return keys
        smallest = min(earned.values())  # what a peer that gave nothing (the optimistic one) gets
        return {key: earned.get(key, smallest) for key in keys}
