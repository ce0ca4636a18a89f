"""Plugins that claim what they do not do: the behavioural conformance suites must catch each.

Not installed with btref: ``tests/test_claims.py`` registers them for one run of the suites
through a ``.dist-info`` folder in a temp directory (an entry point like any third-party
package's). Each one keeps the hook contract, so only its claim can fail.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from btref.hookspecs import hookimpl
from btref.views import PeerView, SwarmView


# [docs: most-common-first]
class MostCommonFirst:
    """Claims rarest first, takes the pieces most peers have first."""

    family = "pickers"
    claims = ("rarest-first",)

    @hookimpl
    def btref_pick_pieces(self, swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int]:
        wanted = [i for i in peer.has if not swarm.have[i]]
        return sorted(wanted, key=lambda i: (-swarm.availability[i], i))[: max(count, 0)]
# [/docs: most-common-first]


class NewFirst:
    """Claims strict priority, starts new pieces before finishing partial ones."""

    family = "pickers"
    claims = ("strict-priority",)

    @hookimpl
    def btref_pick_pieces(self, swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int]:
        wanted = [i for i in peer.has if not swarm.have[i]]
        return sorted(wanted, key=lambda i: (i in swarm.in_progress, i))[: max(count, 0)]


class RarestAlways:
    """Claims random first pieces, takes the rarest from the very first piece."""

    family = "pickers"
    claims = ("random-first",)
    random_first = 4

    @hookimpl
    def btref_pick_pieces(self, swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int]:
        wanted = [i for i in peer.has if not swarm.have[i]]
        return sorted(wanted, key=lambda i: (i not in swarm.in_progress, swarm.availability[i], i))[: max(count, 0)]


class LastFirst:
    """Claims sequential, takes the last piece first."""

    family = "pickers"
    claims = ("sequential",)
    window = 1

    @hookimpl
    def btref_pick_pieces(self, swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int]:
        wanted = [i for i in peer.has if not swarm.have[i]]
        return sorted(wanted, reverse=True)[: max(count, 0)]


class SlowestFirst:
    """Claims tit-for-tat, unchokes the peers that send us least."""

    family = "chokers"
    claims = ("tit-for-tat",)
    regular_slots = 3
    max_unchoked = 3

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[Hashable]:
        interested = sorted((p for p in peers if p.peer_interested), key=lambda p: (p.download_rate, str(p.key)))
        return [p.key for p in interested[: self.regular_slots]]


class StickyOptimist:
    """Claims an optimistic unchoke every 30 s, never lets the first one go."""

    family = "chokers"
    claims = ("tit-for-tat", "optimistic-unchoke")
    regular_slots = 3
    max_unchoked = 4

    def __init__(self) -> None:
        self.lucky: Hashable | None = None

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[Hashable]:
        interested = sorted((p for p in peers if p.peer_interested), key=lambda p: (-p.download_rate, str(p.key)))
        regular = [p.key for p in interested if not p.snubbed][: self.regular_slots]
        others = [p.key for p in interested if p.key not in regular]
        if self.lucky not in others:
            self.lucky = swarm.rng.choice(others) if others else None
        return regular + ([self.lucky] if self.lucky is not None else [])


class GreedySeed:
    """Claims seed round robin, keeps serving whoever it served first."""

    family = "chokers"
    claims = ("seed-round-robin",)
    max_unchoked = 2

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[Hashable]:
        return sorted((p.key for p in peers if p.peer_interested), key=str)[: self.max_unchoked]


#: Entry-point name -> object, as a package's ``[project.entry-points.btref]`` would list them.
ENTRY_POINTS = {
    "most-common-first": "MostCommonFirst",
    "new-first": "NewFirst",
    "rarest-always": "RarestAlways",
    "last-first": "LastFirst",
    "slowest-first": "SlowestFirst",
    "sticky-optimist": "StickyOptimist",
    "greedy-seed": "GreedySeed",
}
