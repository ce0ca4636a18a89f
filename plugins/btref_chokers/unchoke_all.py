"""Unchoke all: upload to every interested peer, no incentives at all (BEP 3, "choking":
the choice is left to the client; Cohen 2003, section 3 argues why a client should *not*
do this).

The rule fits in one line: every peer that is interested in us is unchoked, every rechoke,
in leech mode and in seed mode alike. Our upload capacity is shared by however many peers
are served (the transport splits it), and who gives us nothing is served like who gives us
the most. It is the "altruist" of the incentive literature: the control group against which
tit-for-tat, BitTyrant and PropShare are measured, and the best friend of a free-rider.

Invariants (checked by ``conformance/chokers``): only interested, connected peers, each
once; no ``max_unchoked``, since the rule is to have no limit.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from btref.hookspecs import hookimpl
from btref.views import PeerView, SwarmView

__all__ = ["UnchokeAll"]


class UnchokeAll:
    """Upload to every interested peer: no incentives, no limit (the altruist)."""

    family = "chokers"
    name = "unchoke-all"

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[Hashable]:
        # [docs: unchoke-all]
        return [p.key for p in peers if p.peer_interested]
        # [/docs: unchoke-all]
