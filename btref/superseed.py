"""Super-seeding: a first seed that hides its pieces and offers one at a time (BEP 16).

A torrent's first seed has to upload every piece at least once, and often uploads the
same pieces many times: its peers ask it for whatever they lack, and the fast ones come
back for more before what they took has spread. BEP 16 ("Superseeding") makes the seed
pretend to have nothing (no ``bitfield``; ``have none`` under BEP 6) and offer each peer
one piece with a ``have``: a piece never offered, else the rarest among the peers
connected. The peer can ask for that piece only. It is offered a next piece once the
first has *passed on*: another peer announces the piece offered to it. So the seed's
upload goes into pieces the swarm lacks, about one copy of each, and the peers do the
rest among themselves.

:class:`SuperSeed` owns that state for one session; the session asks it what to offer
when a peer connects and tells it every piece a peer announces. A peer's offer also
ends (it gets a next one) when

* its first ``bitfield`` or ``have all`` shows it already had the piece (it did not come
  from us), or
* it announces the piece itself and no other connected peer lacks it: there is nobody
  to pass it on to, and waiting would stall a lone downloader for ever (btref's rule,
  beyond the BEP).

Only a session that is a seed from its start super-seeds: a downloader has already told
its peers what it has, so it has nothing left to hide.

Invariants: each peer has at most one offer open, a piece it lacked when offered; a
piece is served to a peer only if it was offered to that peer (:meth:`shown`); the
offer counts only grow; no socket, no clock, the only randomness is the session's.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable

from btref.pieceset import PieceSet
from btref.views import Availability

__all__ = ["SuperSeed"]


class SuperSeed:
    """One seed's super-seeding: which piece each peer is offered, and when it gets the next.

    :param num_pieces: the torrent's number of pieces.
    :param availability: how many connected peers have each piece (the session's).
    :param rng: breaks ties between equally good pieces.
    """

    __slots__ = ("availability", "rng", "offers", "shown_to", "times_offered")

    def __init__(self, num_pieces: int, availability: Availability, rng: random.Random) -> None:
        self.availability = availability
        self.rng = rng
        #: The open offer of each peer: the piece it should take and pass on.
        self.offers: dict[Hashable, int] = {}
        #: Every piece offered to each peer: the ones it may request.
        self.shown_to: dict[Hashable, set[int]] = {}
        #: How many times each piece was offered (to anybody).
        self.times_offered = [0] * num_pieces

    # [docs: choose]
    def choose(self, has: PieceSet) -> int | None:
        """The piece to offer a peer that has ``has``, among those it lacks (``None``: it
        lacks none): a piece never offered, else the rarest among the peers connected (a
        piece offered but announced by nobody yet counts as held by none), then the one
        offered least; ties broken at random."""
        best: list[int] = []
        best_rank = (False, 0, 0)
        for index in range(len(self.times_offered)):
            if has[index]:
                continue
            rank = (self.times_offered[index] > 0, self.availability[index], self.times_offered[index])
            if not best or rank < best_rank:
                best, best_rank = [index], rank
            elif rank == best_rank:
                best.append(index)
        return self.rng.choice(best) if best else None
    # [/docs: choose]

    def offer(self, key: Hashable, has: PieceSet) -> int | None:
        """Open a new offer for peer ``key``; returns the piece to announce with ``have``."""
        index = self.choose(has)
        if index is None:
            self.offers.pop(key, None)
            return None
        self.offers[key] = index
        self.shown_to.setdefault(key, set()).add(index)
        self.times_offered[index] += 1
        return index

    def shown(self, key: Hashable, index: int) -> bool:
        """Was piece ``index`` offered to peer ``key``? (Only those may be requested.)"""
        return index in self.shown_to.get(key, ())

    # [docs: seen]
    def seen(self, key: Hashable, pieces: Iterable[int], everyone_has: Callable[[int], bool], *,
             had: bool) -> list[Hashable]:
        """Peer ``key`` announced ``pieces`` (``had``: in its first ``bitfield`` or
        ``have all``, so not from us). Returns the peers whose offer is now done, in a
        stable order: they each get a next piece (:meth:`offer`).

        ``everyone_has(index)`` says whether every connected peer has piece ``index`` (counting
        what ``key`` just announced).
        """
        done: list[Hashable] = []
        for index in pieces:
            for other, offered in self.offers.items():
                if offered != index or other in done:
                    continue
                if other != key:  # passed on: someone else has the piece offered to ``other``
                    done.append(other)
                elif had or everyone_has(index):
                    done.append(other)  # it had it already, or nobody is left to pass it to
        return done
    # [/docs: seen]

    def forget(self, key: Hashable) -> None:
        """Peer ``key`` left."""
        self.offers.pop(key, None)
        self.shown_to.pop(key, None)
