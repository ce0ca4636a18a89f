"""Sequential: fetch pieces in file order for streaming, rarest first inside a small
look-ahead window (BEP 3 leaves the order to the client; the sliding window of Shah and
Pâris, "Peer-to-Peer Multimedia Streaming Using BitTorrent", IPCCC 2007).

A media player reads a file from the front, so a streaming client wants the pieces in
order. Strict order has a cost: every peer then wants the same piece at the same moment,
and a peer holds nothing its neighbours lack, so it has nothing to trade. The sliding
window is the compromise. The rule, in the order a piece is preferred:

1. **The window**: the *playhead* is the first piece we do not have (where playback
   stalls). The ``window`` pieces from the playhead on are wanted soon; among those the
   peer has, the rarest (fewest connected peers have it) come first, ties in file order.
   ``window=1`` is strict in-order download.
2. **Started pieces** beyond the window, in file order: finish what is begun.
3. **Everything else** beyond the window, in file order.

As pieces arrive the playhead moves and the window slides with it. No randomness is used:
the answer depends on the views only.

Invariants (checked by ``conformance/pickers``): every answer is a piece the peer has and
we have not verified, no piece twice, at most ``count`` pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from btref.hookspecs import hookimpl
from btref.plugins import Param
from btref.views import PeerView, SwarmView

__all__ = ["Sequential"]


class Sequential:
    """Pieces in file order, rarest first inside a look-ahead window (streaming)."""

    family = "pickers"
    name = "sequential"
    #: The policies conformance/pickers checks this picker keeps (btref.claims).
    claims: tuple[str, ...] = ("sequential",)

    def __init__(
        self,
        window: Annotated[int, Param("pieces from the playhead on, picked rarest first (1: strict file order)",
                                     ge=1)] = 8,
    ) -> None:
        self.window = window

    @staticmethod
    def playhead(swarm: SwarmView) -> int:
        """The first piece we do not have (``num_pieces`` once we have them all)."""
        have = swarm.have
        bits = have.to_bytes()
        # whole bytes of pieces we have are skipped in C, then at most 8 bits are looked at
        start = 8 * (len(bits) - len(bits.lstrip(b"\xff")))
        return next((i for i in range(start, swarm.num_pieces) if not have[i]), swarm.num_pieces)

    @hookimpl
    def btref_pick_pieces(self, swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int]:
        if count <= 0:
            return []
        have, has, availability = swarm.have, peer.has, swarm.availability
        # [docs: sequential]
        start = self.playhead(swarm)
        end = min(start + self.window, swarm.num_pieces)
        wanted = [i for i in range(start, end) if has[i] and not have[i]]
        picks = sorted(wanted, key=lambda i: (availability[i], i))[:count]
        if len(picks) < count:
            picks += sorted(i for i in swarm.in_progress if i >= end and has[i] and not have[i])[: count - len(picks)]
        if len(picks) < count:
            taken = set(picks)
            for i in has:  # set bits in increasing order
                if i >= end and not have[i] and i not in taken:
                    picks.append(i)
                    if len(picks) == count:
                        break
        # [/docs: sequential]
        return picks
