"""Choke rounds: when the session asks the choker, and how it carries out the answer
(BEP 3 "choking"; BEP 6 "reject request").

The choker plugin (``btref_rechoke``) decides whom we upload to; a :class:`ChokeRounds`
decides *when* to ask it and applies its answer, as mainline BitTorrent and libtorrent do:

* a **round** every :attr:`~btref.actions.Config.rechoke_interval` seconds (10 s) on a
  fixed clock, from ``tick``: the choker's answer is carried out in full, unchoking its
  choices and choking everybody else;
* a round at once, too, when an unchoked peer leaves its slot (it disconnects or loses
  interest), as mainline does; the clock is not moved;
* a **fill** when a choked peer becomes interested and a slot is free: the choker is
  asked at once, but its answer may only *add* unchokes, up to the number of peers it
  chose (libtorrent's "unchoke at once if a slot is free"), and the clock is not moved.
  A slot is free unless we serve as many interested peers as the choker chose the last
  time it left an interested peer out (its capacity, as its answers show it): then the
  choker is not asked at all, as libtorrent counts its free upload slots before it
  unchokes a newly interested peer.

Each peer can cause an early round or a fill at most once per
:attr:`~btref.actions.Config.unchoke_gap` seconds (1 s); what has to wait runs at the next
tick. So a peer toggling its interest cannot make us ask the choker on every message.

A choker may also say how our upload is split: an answer ``{key: share}`` instead of a
list of keys (PropShare, BitTyrant) becomes an :class:`~btref.actions.UploadShares`
action whenever the shares change, for the driver's uplink to honour.

Invariants: we upload only to peers we unchoked (and a choked BEP 6 peer's allowed fast
pieces); choking a BEP 6 peer rejects its other queued requests explicitly (without BEP 6 the choke itself drops them); the driver's shares name
only peers unchoked by the same round.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from btref import wire
from btref.actions import Action, Config, Event, UploadShares
from btref.peer import Peer
from btref.views import SwarmView

__all__ = ["ChokeRounds"]


class ChokeRounds:
    """When to ask the choker, and carrying out its answer, for one session.

    :param hook: the plugin hook relay (``btref_rechoke``).
    :param config: the session's tunables (``rechoke_interval``, ``unchoke_gap``).
    :param peers: the session's peer table, by key.
    :param swarm_view: makes the choker's view of the swarm.
    """

    def __init__(self, hook: Any, config: Config, peers: dict[Hashable, Peer],
                 swarm_view: Callable[[], SwarmView]) -> None:
        self.hook = hook
        self.config = config
        self.peers = peers
        self.swarm_view = swarm_view
        #: Driver time of the next periodic round (``None``: at the first tick).
        self.next_round: float | None = None
        #: When each peer last made us ask the choker to fill a slot (see ``unchoke_gap``).
        self.triggered: dict[Hashable, float] = {}
        #: A "round" or "fill" that had to wait for ``unchoke_gap``: it runs at the next tick.
        self.pending: str | None = None
        #: The upload shares last told to the driver (:class:`~btref.actions.UploadShares`);
        #: empty: the unchoked peers share equally.
        self.upload_shares: tuple[tuple[Hashable, float], ...] = ()
        #: How many interested peers the choker serves at most, as its last answer showed:
        #: the number it chose if it left an interested peer out; unknown (infinite) if it
        #: chose them all. A fill asks the choker only while fewer are served.
        self.slots = math.inf

    # [docs: rounds]
    def tick(self, now: float, out: list[Action]) -> None:
        """Time passed: the periodic round when it is due (every ``rechoke_interval``
        seconds on a fixed clock), or a fill that had to wait for ``unchoke_gap``."""
        interval = self.config.rechoke_interval
        if self.next_round is None or now >= self.next_round:
            if self.next_round is None:
                self.next_round = now
            while self.next_round <= now:  # the clock stays fixed, whatever came between
                self.next_round += interval
            self.rechoke(now, out)
        elif self.pending == "round":
            self.rechoke(now, out)
        elif self.pending == "fill":
            self.fill(now, out)

    def interest_changed(self, peer: Peer, now: float, out: list[Action]) -> None:
        """Peer ``peer`` became interested while choked, or lost interest (or left) while
        unchoked, and its flags are already updated.

        An unchoked peer that leaves its slot brings a round at once (mainline does the
        same): the choker's answer is carried out in full. A choked peer that becomes
        interested brings a *fill* if a slot is free: its answer may only add unchokes, up
        to the number of peers it lists (libtorrent's "unchoke at once if a slot is free"). Neither
        moves the round clock. Each peer can cause this at most once per ``unchoke_gap``
        seconds, so a peer toggling its interest cannot make us ask the choker on every
        message; what has to wait runs at the next tick.
        """
        last = self.triggered.get(peer.key)
        wants_round = not peer.am_choking or peer.key not in self.peers
        if last is not None and now - last < self.config.unchoke_gap:
            self.pending = "round" if wants_round else (self.pending or "fill")
            return
        self.triggered[peer.key] = now
        if wants_round:
            self.rechoke(now, out)
        else:
            self.fill(now, out)

    def forget(self, key: Hashable) -> None:
        """Peer ``key`` left."""
        self.triggered.pop(key, None)
    # [/docs: rounds]

    def fill(self, now: float, out: list[Action]) -> None:
        """Unchoke as many of the choker's choices as it has slots free; choke nobody.

        A round that is waiting for ``unchoke_gap`` stays pending: a fill cannot choke the
        peer that asked for it, so only the round takes that peer's slot back. With no slot
        free (:attr:`slots`) the choker is not asked: its answer could add nobody."""
        if self.pending == "fill":
            self.pending = None
        peers = self.peers
        serving = sum(1 for peer in peers.values() if not peer.am_choking and peer.peer_interested)
        if serving >= self.slots:  # no slot free: nothing to ask
            return
        keys, _ = self._ask(now)
        free = len(keys) - serving
        added = []
        for key in keys:
            if free <= 0:
                break
            peer = peers[key]
            if peer.am_choking:
                peer.send(wire.Unchoke(), now, out)  # sending it moves the flag (Peer.follow)
                added.append(key)
                free -= 1
        if added:
            out.append(Event("unchoke", {"unchoked": sorted(str(k) for k in added)}))

    # [docs: rechoke]
    def rechoke(self, now: float, out: list[Action]) -> None:
        """A full round: unchoke whom the choker chooses, choke everybody else (BEP 3 "choking")."""
        self.pending = None
        keys, shares = self._ask(now)
        chosen = set(keys)
        for peer in self.peers.values():
            if peer.am_choking and peer.key in chosen:
                peer.send(wire.Unchoke(), now, out)  # sending it moves the flag (Peer.follow)
            elif not peer.am_choking and peer.key not in chosen:
                self.choke(peer, now, out)
        # Tell the driver how to split the uplink only when that changed (most chokers
        # never give shares: their peers share equally, and no action is emitted at all).
        given = tuple((key, share) for key, share in shares.items() if key in chosen) if shares else ()
        if given != self.upload_shares:
            self.upload_shares = given
            out.append(UploadShares(given))
        out.append(Event("rechoke", {"unchoked": sorted(str(k) for k in keys)}))
    # [/docs: rechoke]

    def _ask(self, now: float) -> tuple[list[Hashable], dict[Hashable, float] | None]:
        """The choker's answer: the interested peers to unchoke, in its order, and the shares."""
        peers = self.peers
        views = [peer.view(now) for peer in peers.values()]
        chosen = self.hook.btref_rechoke(swarm=self.swarm_view(), peers=views, now=now)
        if chosen is None:  # no choker registered: everybody interested is served
            chosen = [view.key for view in views]
        shares = _shares(chosen) if isinstance(chosen, Mapping) else None
        listed = shares if shares is not None else chosen
        keys = list(dict.fromkeys(key for key in listed if key in peers and peers[key].peer_interested))
        interested = sum(1 for peer in peers.values() if peer.peer_interested)
        self.slots = len(keys) if len(keys) < interested else math.inf
        return keys, shares

    def choke(self, peer: Peer, now: float, out: list[Action]) -> None:
        """Choke ``peer``, keeping only its queued requests for pieces we granted it."""
        peer.send(wire.Choke(), now, out)  # sending it moves the flag (Peer.follow)
        # BEP 6: requests for its allowed fast pieces stay; every other queued request gets
        # an answer, here a reject (without BEP 6 the choke itself drops them).
        dropped = {request for request in peer.serving if request[0] not in peer.granted}
        if peer.fast:
            for request in sorted(dropped):
                peer.send(wire.Reject(*request), now, out)
        peer.serving -= dropped


def _shares(answer: Mapping[Any, Any]) -> dict[Hashable, float]:
    """A choker's ``{key: share}`` answer, keeping the shares that are finite numbers above 0."""
    shares = {}
    for key, share in answer.items():
        if isinstance(share, (int, float)) and not isinstance(share, bool) and math.isfinite(share) and share > 0:
            shares[key] = float(share)
    return shares
