"""Lab 3: three chokers of my own (the hook ``btref_rechoke``, see btref/hookspecs.py;
BEP 3 "peer protocol", the part on choking; Cohen 2003, section 3).

(a) ``Top4``: unchoke the four interested peers that send us data fastest.
(b) ``Top4Optimistic``: the same four, plus one *optimistic* slot for another
    interested peer drawn at random and kept for 30 s.
(c) ``MiniPropShare``: the same five peers, our upload split among them in proportion to
    what each sends us (a mini PropShare, Levin et al. 2008).

Rules for every choker (the "Strategies" chapter): do not change the views, take time
from ``now`` and randomness from ``swarm.rng`` only, and do no I/O. The first line of a
class's docstring is what ``btref plugins`` shows.
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

    family = "chokers"  # the hooks this class implements: a choker's (btref_rechoke)
    max_unchoked = 4  # the most peers an answer lists (the conformance suite checks it)
    regular_slots = 4  # the slots that go to the peers sending us the most
    #: The policies this choker keeps, checked by the conformance suite (btref/claims.py):
    #: "tit-for-tat", while we download the regular slots go to the interested peers that
    #: send us the most.
    claims: tuple[str, ...] = ("tit-for-tat",)

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> Answer:
        """The keys of the interested peers with the 4 highest ``download_rate`` (all of
        them, if fewer than 4 are interested), as a list: equal shares of our upload."""
        raise NotImplementedError("lab 3, step 2: rank the interested peers by download_rate")


class Top4Optimistic(Top4):
    """Top 4 by download rate plus one optimistic peer, rotated every 30 s (lab 3, b)."""

    optimistic_interval = 30.0  # seconds between optimistic rotations
    #: ... and "optimistic-unchoke": one more interested peer, drawn at random, holds the
    #: optimistic slot for optimistic_interval seconds.
    claims = ("tit-for-tat", "optimistic-unchoke")

    def __init__(self) -> None:
        self.optimistic: Hashable | None = None  # the key of the peer holding the optimistic slot
        self.rotated_at: float | None = None  # when we last drew it

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> Answer:
        """``Top4``'s answer plus one more interested peer, drawn with ``swarm.rng`` from
        the interested peers ``Top4`` left out.

        The draw holds for ``optimistic_interval`` seconds of ``now``. A peer that drops
        out of the slot (it left, lost interest, or earned a regular slot) is replaced at
        once, but the clock keeps running: the next draw is still ``optimistic_interval``
        after the last rotation.
        """
        raise NotImplementedError("lab 3, step 5: Top4's peers, plus one drawn with swarm.rng")


class MiniPropShare(Top4Optimistic):
    """Top4Optimistic's peers, our upload split in proportion to their download rates (lab 3, c)."""

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> Answer:
        """The peers ``Top4Optimistic`` unchokes, as a mapping ``{key: share}``: each peer's
        share in proportion to its ``download_rate``. A share must be above 0: a peer that
        sends us nothing (the optimistic one) gets the smallest share another peer
        earned; when nobody sends us anything, return the plain list (equal shares)."""
        raise NotImplementedError("lab 3, step 6: shares in proportion to the download rates")
