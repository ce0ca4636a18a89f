"""Rarest first, with random first pieces and strict priority (BEP 3; Cohen 2003, section 2).

BEP 3 leaves the order of pieces to the client; Cohen's paper ("Incentives Build
Robustness in BitTorrent", 2003, section 2 "Piece selection") gives the policies that every
client since has kept. Your picker answers ``btref_pick_pieces(swarm, peer, count)`` (see
``btref/hookspecs.py``) with up to ``count`` piece indices, best first, each a piece the
peer has and we have not verified, in this order:

1. **Strict priority**: every piece we started (``swarm.in_progress``) that the peer has
   comes first, the rarest of them (fewest copies) first. Only a complete piece can be
   verified and shared.
2. **Random first**: while we have fewer than ``random_first`` pieces
   (``swarm.have.count``), the new pieces are drawn at random with ``swarm.rng``, whatever
   their copies. A newcomer needs a whole piece to trade, fast, and rare pieces are slow.
3. **Rarest first**: afterwards, new pieces in increasing order of their copies
   (``swarm.availability[i]``, how many connected peers have piece ``i``), best first;
   pieces with the same number of copies are taken in a random order drawn with
   ``swarm.rng``, so that peers do not all start on the same piece.

A *new* piece is one the peer has, we have not verified, and is not in progress. The answer
is as long as ``count`` allows: ``count`` pieces, or every piece the peer offers if it
offers fewer. The rules every picker keeps (``conformance/pickers``): never ``None`` (``[]``
for nothing), no index twice, at most ``count``; leave ``swarm`` and ``peer`` untouched;
take randomness from ``swarm.rng`` only, so the same seed gives the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from btref.hookspecs import hookimpl
from btref.plugins import Param
from btref.views import PeerView, SwarmView

__all__ = ["RarestFirstPicker"]


class RarestFirstPicker:
    """Partial pieces first, a few random pieces, then the rarest pieces (lab 6)."""

    #: Which hooks the class implements: btref_pick_pieces.
    family = "pickers"
    name = "lab6-rarest-first"
    #: The policies this picker keeps, which ``btref conformance pickers`` checks (btref.claims).
    claims = ("rarest-first", "strict-priority", "random-first")

    def __init__(
        self,
        random_first: Annotated[int, Param("new pieces picked at random until we have this many", ge=0)] = 4,
    ) -> None:
        if random_first < 0:
            raise ValueError("random_first must be >= 0")
        self.random_first = random_first

    @hookimpl
    def btref_pick_pieces(self, swarm: SwarmView, peer: PeerView, count: int) -> Sequence[int]:
        """Up to ``count`` pieces to download from ``peer``, best first (the three steps above)."""
        raise NotImplementedError

    # Suggested helpers; the grader only calls btref_pick_pieces.

    def partial_pieces(self, swarm: SwarmView, peer: PeerView) -> list[int]:
        """Step 1: the pieces in progress that the peer has (and we have not verified),
        fewest copies first."""
        raise NotImplementedError

    def random_pieces(self, swarm: SwarmView, peer: PeerView, want: int) -> list[int]:
        """Step 2: up to ``want`` new pieces of the peer, drawn with ``swarm.rng``."""
        raise NotImplementedError

    def rarest_pieces(self, swarm: SwarmView, peer: PeerView, want: int) -> list[int]:
        """Step 3: up to ``want`` new pieces of the peer, fewest copies first, ties in an
        order drawn with ``swarm.rng``."""
        raise NotImplementedError
