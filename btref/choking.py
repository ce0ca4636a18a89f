"""Choke rounds of the session engine (BEP 3 "choking"; BEP 6 "reject request").

The choker plugin (``btref_rechoke``) decides whom we upload to; this mixin of
:class:`~btref.engine.Session` decides *when* to ask it and carries its answer out.

When the choker is asked:

* every :attr:`~btref.actions.Config.rechoke_interval` seconds, from ``tick`` (mainline:
  every 10 s);
* when an unchoked peer leaves (its slot is free: mainline rechokes then too);
* when an unchoked peer stops being interested: it is choked at once (the choker only
  ever unchokes interested peers, so that is its answer too), and the choker is asked at
  the driver's next ``tick`` whom to give the free slot (mainline asks at once; one round
  per tick serves every peer that lost interest meanwhile);
* when a choked peer becomes interested: at once if no other interested peer is choked
  (an unchoke slot may be free); otherwise at the driver's next ``tick``, once for all the
  peers that became interested since. Mainline BitTorrent waits for the next 10 s round
  in that case (its choker rechokes on interest only for unchoked peers); asking at the
  next tick keeps the quick start of a flash crowd. Asking on every ``interested`` was
  the simulator's largest cost: with small pieces peers become interested after almost
  every piece.

Invariants: we upload only to peers we unchoked; choking a BEP 6 peer rejects its queued
requests explicitly (without BEP 6 the choke itself drops them).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from btref import wire
from btref.actions import Event
from btref.peer import Peer

__all__ = ["Choking"]


class Choking:
    """Asking the choker and applying its answer: mixed into :class:`~btref.engine.Session`."""

    # Provided by the Session: hook, peers, now, last_rechoke, swarm_view(), _send().
    hook: Any
    peers: dict[Hashable, Peer]
    now: float
    last_rechoke: float | None
    #: A choked peer became interested while others waited: rechoke at the next ``tick``.
    rechoke_due: bool = False

    def _on_interested(self, peer: Peer, msg: Any, out: list) -> None:
        peer.peer_interested = True
        if peer.am_choking:
            if any(p.peer_interested and p.am_choking for p in self.peers.values() if p is not peer):
                self.rechoke_due = True  # others wait too: one round at the next tick
            else:
                self._rechoke(out)

    def _on_notinterested(self, peer: Peer, msg: Any, out: list) -> None:
        peer.peer_interested = False
        if not peer.am_choking:  # what the choker would do to it; the free slot: next tick
            self._choke(peer, out)
            self.rechoke_due = True

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
        self.rechoke_due = False
        views = [peer.view(self.now) for peer in self.peers.values()]
        chosen = self.hook.btref_rechoke(swarm=self.swarm_view(), peers=views, now=self.now)  # type: ignore[attr-defined]
        if chosen is None:  # no choker registered: everybody interested is served
            chosen = [view.key for view in views]
        keys = {key for key in chosen if key in self.peers and self.peers[key].peer_interested}
        for peer in self.peers.values():
            if peer.am_choking and peer.key in keys:
                peer.am_choking = False
                self._send(peer, wire.Unchoke(), out)  # type: ignore[attr-defined]
            elif not peer.am_choking and peer.key not in keys:
                self._choke(peer, out)
        out.append(Event("rechoke", {"unchoked": sorted(str(k) for k in keys)}))
    # [/docs: rechoke]
