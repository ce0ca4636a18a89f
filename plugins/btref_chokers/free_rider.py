"""Free rider: download, never upload (BEP 3, "choking": a client may choke anybody; the
free-riding studies of Locher et al., "Free Riding in BitTorrent is Cheap", HotNets 2006,
and Piatek et al., NSDI 2007).

The rule: every rechoke answers "nobody", so every peer stays choked for the whole session
(BEP 3: connections start choked). The peer still announces its pieces, still says it is
interested and still downloads from whoever unchokes it: from seeds, from optimistic
unchokes, and from chokers without incentives such as ``unchoke-all``. How fast it finishes
anyway is the measure of how well the *other* peers' choker resists free-riding.

Invariants (checked by ``conformance/chokers``): the answer is always ``[]``;
``max_unchoked`` is 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from btref.hookspecs import hookimpl
from btref.views import PeerView, SwarmView

__all__ = ["FreeRider"]


class FreeRider:
    """Never unchoke anybody: download from others, upload nothing (the free-rider)."""

    family = "chokers"
    name = "free-rider"

    #: The most peers one rechoke unchokes: none, ever.
    max_unchoked = 0

    @hookimpl
    def btref_rechoke(self, swarm: SwarmView, peers: Sequence[PeerView], now: float) -> list[Hashable]:
        # [docs: free-rider]
        return []
        # [/docs: free-rider]
