"""Choke rounds of the session engine (BEP 3 "choking"; BEP 6 "reject request").

The choker plugin (``btref_rechoke``) decides whom we upload to; this mixin of
:class:`~btref.session.Session` decides *when* to ask it and carries its answer out.

When the choker is asked (as before the split, so the same decisions):

* every :attr:`~btref.actions.Config.rechoke_interval` seconds, from ``tick`` (mainline:
  every 10 s);
* when an unchoked peer stops being interested or leaves (its slot is free: mainline
  rechokes then too);
* when a choked peer becomes interested (libtorrent unchokes at once if a slot is free).
  Mainline BitTorrent would wait for the next round; with small pieces peers become
  interested after almost every piece, so this is the simulator's most frequent round,
  and :meth:`Choking._rechoke` is kept cheap (one view per peer, nothing else).
  Deferring these rounds to the next tick was measured (see ``docs/core/sim.md``): 25%
  faster, but it delays unchokes and a 300-peer flash crowd finished 10% later, so the
  engine keeps the immediate round.

A choker may also say how our upload is split: an answer ``{key: share}`` instead of a
list of keys (PropShare, BitTyrant) becomes an :class:`~btref.actions.UploadShares`
action whenever the shares change, for the driver's uplink to honour.

Invariants: we upload only to peers we unchoked; choking a BEP 6 peer rejects its queued
requests explicitly (without BEP 6 the choke itself drops them); the driver's shares name
only peers unchoked by the same round.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any

from btref import wire
from btref.actions import Event, UploadShares
from btref.peer import Peer

__all__ = ["Choking"]


class Choking:
    """Asking the choker and applying its answer: mixed into :class:`~btref.session.Session`."""

    # Provided by the Session: hook, peers, now, last_rechoke, swarm_view(), _send().
    hook: Any
    peers: dict[Hashable, Peer]
    now: float
    last_rechoke: float | None
    #: The upload shares last told to the driver (:class:`~btref.actions.UploadShares`);
    #: empty: the unchoked peers share equally.
    upload_shares: tuple[tuple[Hashable, float], ...] = ()

    def _on_interested(self, peer: Peer, msg: Any, out: list) -> None:
        peer.peer_interested = True
        if peer.am_choking:
            self._rechoke(out)

    def _on_notinterested(self, peer: Peer, msg: Any, out: list) -> None:
        peer.peer_interested = False
        if not peer.am_choking:
            self._rechoke(out)

    def _choke(self, peer: Peer, out: list) -> None:
        peer.am_choking = True
        self._send(peer, wire.Choke(), out)  # type: ignore[attr-defined]
        if peer.fast:  # BEP 6: a choke no longer drops requests silently
            for request in sorted(peer.serving):
                self._send(peer, wire.Reject(*request), out)  # type: ignore[attr-defined]
        peer.serving.clear()

    # [docs: rechoke]
    def _rechoke(self, out: list) -> None:
        """Ask the choker whom to unchoke; choke everybody else (BEP 3 "choking")."""
        self.last_rechoke = self.now
        views = [peer.view(self.now) for peer in self.peers.values()]
        chosen = self.hook.btref_rechoke(swarm=self.swarm_view(), peers=views, now=self.now)  # type: ignore[attr-defined]
        if chosen is None:  # no choker registered: everybody interested is served
            chosen = [view.key for view in views]
        shares = _shares(chosen) if isinstance(chosen, Mapping) else None
        listed = shares if shares is not None else chosen
        keys = {key for key in listed if key in self.peers and self.peers[key].peer_interested}
        for peer in self.peers.values():
            if peer.am_choking and peer.key in keys:
                peer.am_choking = False
                self._send(peer, wire.Unchoke(), out)  # type: ignore[attr-defined]
            elif not peer.am_choking and peer.key not in keys:
                self._choke(peer, out)
        # Tell the driver how to split the uplink, only when that changed (most chokers
        # never give shares: their peers share equally, and no action is emitted at all).
        given = tuple((key, share) for key, share in shares.items() if key in keys) if shares else ()
        if given != self.upload_shares:
            self.upload_shares = given
            out.append(UploadShares(given))
        out.append(Event("rechoke", {"unchoked": sorted(str(k) for k in keys)}))
    # [/docs: rechoke]


def _shares(answer: Mapping[Any, Any]) -> dict[Hashable, float]:
    """A choker's ``{key: share}`` answer, keeping the shares that are finite numbers above 0."""
    shares = {}
    for key, share in answer.items():
        if isinstance(share, (int, float)) and not isinstance(share, bool) and math.isfinite(share) and share > 0:
            shares[key] = float(share)
    return shares
