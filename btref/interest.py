"""What a peer has, and whether we want it: the interest half of the session (BEP 3 "have",
"bitfield", "interested"; BEP 6 "have all", "have none").

A peer tells us its pieces once (``bitfield``, or BEP 6 ``have all`` / ``have none``), then
one ``have`` per piece it verifies. For each connection the engine keeps the peer's bitfield
and ``Peer.wanted``, how many of its pieces we lack, so "are we interested?" is a counter
test, never a scan; and every piece a peer announces counts once in the session's
availability (:class:`~btref.views.Availability`), which rarest-first reads.

:meth:`Interest.haves_received` takes many ``have`` messages in one event: in a simulated
swarm nine messages in ten are ``have`` messages, so their path is one tight loop (a bit
set, a count moved) and one interest and request update per peer at the end.

:class:`Interest` is mixed into :class:`~btref.session.Session`; it lives here only to keep
each module about one concept, and uses the session's attributes freely.

Invariants: ``peer.wanted`` is the number of pieces in ``peer.has`` missing from our
``have``; we are interested in a peer exactly when that is positive and we are not seeding.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from btref import wire
from btref.pieceset import PieceSet
from btref.errors import ProtocolError
from btref.peer import Peer

__all__ = ["Interest"]


class Interest:
    """Bitfields, availability and interest: mixed into :class:`~btref.session.Session`."""

    # Provided by the Session: peers, have, num_pieces, rarity, seeding, now, _fill(),
    # _send(), _close(), _check_index(), _require().
    peers: dict[Hashable, Peer]
    have: PieceSet
    num_pieces: int
    rarity: Any
    seeding: bool
    now: float

    def haves_received(self, haves: Iterable[tuple[Hashable, int]], now: float) -> list:
        """Many ``have`` messages at once: ``haves`` lists ``(key, index)`` pairs, peer
        ``key`` announcing piece ``index``, in the order they arrived.

        The same as :meth:`~btref.session.Session.message_received` with ``Have(index)``
        for each pair in turn, except that each peer's interest and request queue are
        brought up to date once, after the last pair. A driver that parsed several
        ``have`` messages in one read may use it; the simulator does, since nine in ten of
        its messages are ``have`` messages. Unknown keys are ignored; a peer naming a piece
        out of range is closed, and its later pairs are ignored with it.
        """
        self.now = now
        out: list = []
        peers, n, add = self.peers, self.num_pieces, self.rarity.add
        news: dict[Hashable, int] = {}  # key -> how many pieces we lack it announced
        # The innermost loop of a simulated swarm: a handful of operations per pair.
        for key, index in haves:
            peer = peers.get(key)
            if peer is None:
                continue
            if not 0 <= index < n:
                self._close(peer, f"piece index {index} out of range 0..{n - 1}", out)
            elif peer.has.set(index) and add(index):  # add() is true for pieces we lack
                news[key] = news.get(key, 0) + 1
        for key, count in news.items():
            peer = peers.get(key)
            if peer is None:  # closed by a later pair
                continue
            peer.wanted += count
            if not peer.am_interested:
                self._update_interest(peer, out)
            if not peer.peer_choking or peer.allowed_fast:  # else _fill would do nothing
                self._fill(peer, out)
        return out

    def _on_have(self, peer: Peer, msg: Any, out: list) -> None:
        self._check_index(msg.index)
        if peer.has.set(msg.index) and self.rarity.add(msg.index):  # a piece we lack
            peer.wanted += 1
            self._update_interest(peer, out)
            self._fill(peer, out)

    def _on_bitfield(self, peer: Peer, msg: Any, out: list) -> None:
        if peer.has.count:
            raise ProtocolError("bitfield after have messages")
        self._set_has(peer, PieceSet.from_bytes(msg.payload, self.num_pieces), out)

    def _on_haveall(self, peer: Peer, msg: Any, out: list) -> None:
        self._require(peer.fast, "have all without the fast extension")
        self._set_has(peer, PieceSet.full(self.num_pieces), out)

    def _on_havenone(self, peer: Peer, msg: Any, out: list) -> None:
        self._require(peer.fast, "have none without the fast extension")

    def _set_has(self, peer: Peer, has: PieceSet, out: list) -> None:
        for index in peer.has:  # `have`s before a `have all`: count each piece once
            self.rarity.add(index, -1)
        peer.has = has
        peer.wanted = 0
        for index in has:
            self.rarity.add(index)
            if not self.have[index]:
                peer.wanted += 1
        self._update_interest(peer, out)
        self._fill(peer, out)

    def _update_interest(self, peer: Peer, out: list) -> None:
        interested = peer.wanted > 0 and not self.seeding
        if interested != peer.am_interested:
            peer.am_interested = interested
            self._send(peer, wire.Interested() if interested else wire.NotInterested(), out)
