"""Choke rounds: when the session asks the choker, and how it carries out the answer
(BEP 3 "choking"; BEP 6 "reject request").

The choker plugin (``btref_rechoke``) decides whom we upload to; a :class:`ChokeRounds`
decides *when* to ask it and applies its answer. The session asks for a round:

* every :attr:`~btref.actions.Config.rechoke_interval` seconds, from ``tick`` (mainline:
  every 10 s), counted from the last round;
* when an unchoked peer stops being interested or leaves (its slot is free: mainline
  rechokes then too);
* when a choked peer becomes interested (libtorrent unchokes at once if a slot is free).

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
from btref.actions import Config, Event, UploadShares
from btref.peer import Peer
from btref.views import SwarmView

__all__ = ["ChokeRounds"]


class ChokeRounds:
    """When to ask the choker, and carrying out its answer, for one session.

    :param hook: the plugin hook relay (``btref_rechoke``).
    :param config: the session's tunables (:attr:`~btref.actions.Config.rechoke_interval`).
    """

    def __init__(self, hook: Any, config: Config) -> None:
        self.hook = hook
        self.config = config
        #: Driver time of the last round (``None``: none yet).
        self.last_round: float | None = None
        #: The upload shares last told to the driver (:class:`~btref.actions.UploadShares`);
        #: empty: the unchoked peers share equally.
        self.upload_shares: tuple[tuple[Hashable, float], ...] = ()

    def due(self, now: float) -> bool:
        """The periodic round is due (the first one comes at the first tick)."""
        return self.last_round is None or now - self.last_round >= self.config.rechoke_interval

    def choke(self, peer: Peer, now: float, out: list[Any]) -> None:
        peer.send(wire.Choke(), now, out)  # sending it moves the flag (Peer.follow)
        if peer.fast:  # BEP 6: a choke no longer drops requests silently
            for request in sorted(peer.serving):
                peer.send(wire.Reject(*request), now, out)
        peer.serving.clear()

    # [docs: rechoke]
    def rechoke(self, peers: dict[Hashable, Peer], swarm: SwarmView, now: float, out: list[Any]) -> None:
        """Ask the choker whom to unchoke; choke everybody else (BEP 3 "choking")."""
        self.last_round = now
        views = [peer.view(now) for peer in peers.values()]
        chosen = self.hook.btref_rechoke(swarm=swarm, peers=views, now=now)
        if chosen is None:  # no choker registered: everybody interested is served
            chosen = [view.key for view in views]
        shares = _shares(chosen) if isinstance(chosen, Mapping) else None
        listed = shares if shares is not None else chosen
        keys = {key for key in listed if key in peers and peers[key].peer_interested}
        for peer in peers.values():
            if peer.am_choking and peer.key in keys:
                peer.send(wire.Unchoke(), now, out)
            elif not peer.am_choking and peer.key not in keys:
                self.choke(peer, now, out)
        # Tell the driver how to split the uplink only when that changed (most chokers
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
