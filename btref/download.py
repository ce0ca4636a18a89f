"""Block bookkeeping and the download half of the session (BEP 3 "peer messages", "end game").

BEP 3 cuts a piece into *blocks* requested separately; every client uses 16 KiB blocks
(:data:`BLOCK`), the last block of a piece may be shorter. A :class:`PieceInProgress`
exists from the first request of a piece until it is verified or dropped; it owns the
piece's buffer, so a block is copied exactly once, from the message into the buffer, and
the finished buffer is handed to storage without another copy.

Invariants:

* ``received[b]`` is set at most once per block; the buffer is complete exactly when
  ``missing == 0``.
* ``requested[b]`` is the set of peer keys with block ``b`` in flight (more than one only
  in end game).
* ``sources[b]`` remembers who sent block ``b``, so a failed piece can be charged to its
  contributors and, after a later pass, the liar named (see :mod:`btref.session`).

:class:`Downloader` is the half of :class:`~btref.session.Session` that asks for blocks and
judges finished pieces: it keeps every peer's request queue full from the picker's
answers, enters end game, and verifies, writes, announces or charges a finished piece.
It lives here only to keep each module short; it uses the session's attributes freely.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterator
from typing import Any

from btref import wire
from btref.actions import Broadcast, Event, WritePiece
from btref.peer import Peer
from btref.io.storage import piece_is_good

__all__ = ["BLOCK", "PieceInProgress", "block_span", "Downloader"]

#: The block size every client requests (BEP 3 recommends 2**14; larger is often refused).
BLOCK = 16 * 1024


def block_span(piece_size: int, block: int) -> tuple[int, int]:
    """``(begin, length)`` of block number ``block`` in a piece of ``piece_size`` bytes."""
    begin = block * BLOCK
    return begin, min(BLOCK, piece_size - begin)


class PieceInProgress:
    """A piece being downloaded: its buffer and the state of each block."""

    __slots__ = ("index", "size", "buffer", "received", "requested", "sources", "missing", "only_from")

    def __init__(self, index: int, size: int, only_from: Hashable | None = None, *, keep_data: bool = True) -> None:
        self.index = index
        self.size = size
        nblocks = -(-size // BLOCK)
        #: The piece's bytes. Empty when the session keeps no payload (``keep_data=False``:
        #: the simulator's virtual pieces, where only which block came from whom matters).
        self.buffer = bytearray(size if keep_data else 0)
        self.received = [False] * nblocks
        self.requested: list[set[Hashable]] = [set() for _ in range(nblocks)]
        self.sources: list[Hashable | None] = [None] * nblocks
        self.missing = nblocks
        #: "Parole": a piece that failed its hash check is downloaded again from one peer
        #: only, so a second failure names a single culprit. ``None``: anyone may help.
        self.only_from = only_from

    @property
    def num_blocks(self) -> int:
        return len(self.received)

    def block_of(self, begin: int, length: int) -> int | None:
        """The block number for ``(begin, length)``, or ``None`` if that is not a block."""
        block, rest = divmod(begin, BLOCK)
        if rest or not 0 <= block < self.num_blocks or block_span(self.size, block)[1] != length:
            return None
        return block

    def unrequested(self) -> Iterator[int]:
        """Blocks nobody has been asked for and nobody has sent."""
        for b in range(self.num_blocks):
            if not self.received[b] and not self.requested[b]:
                yield b

    def open_blocks(self) -> int:
        """How many blocks are neither received nor requested."""
        return sum(1 for _ in self.unrequested())

    def endgame_blocks(self, key: Hashable) -> Iterator[int]:
        """Missing blocks that are requested, but not from ``key`` (end game duplicates)."""
        for b in range(self.num_blocks):
            if not self.received[b] and key not in self.requested[b]:
                yield b

    def store(self, block: int, data: bytes | memoryview, key: Hashable) -> bool:
        """Copy a block into the buffer; ``False`` if it was already there (a duplicate)."""
        if self.received[block]:
            return False
        if self.buffer:
            begin = block * BLOCK
            self.buffer[begin : begin + len(data)] = data
        self.received[block] = True
        self.sources[block] = key
        self.missing -= 1
        return True

    def contributors(self) -> list[Hashable]:
        """The peers that sent blocks of this piece, each once, in block order."""
        seen: dict[Hashable, None] = {}
        for key in self.sources:
            if key is not None:
                seen.setdefault(key, None)
        return list(seen)


class Downloader:
    """Requesting blocks and judging pieces: mixed into :class:`~btref.session.Session`."""

    # Provided by the Session: torrent, hook, config, have, peers, pieces, suspects, now,
    # num_pieces, endgame, seeding, swarm_view(), _send(), _update_interest(), _ban(),
    # _complete().
    torrent: Any
    hook: Any
    config: Any
    have: Any
    peers: dict[Hashable, Peer]
    pieces: dict[int, PieceInProgress]
    suspects: dict[int, list[dict[Hashable, list[tuple[int, bytes]]]]]
    now: float
    num_pieces: int
    endgame: bool
    rarity: Any
    keep_data: bool

    # -- requests ------------------------------------------------------------------

    # [docs: fill]
    def _fill(self, peer: Peer, out: list) -> None:
        """Keep ``peer``'s request queue full (the heart of the download)."""
        # The commonest reason first: most peers choke us most of the time.
        if ((peer.peer_choking and not peer.allowed_fast) or not peer.am_interested or self.seeding
                or self.peers.get(peer.key) is not peer):  # banned a moment ago
            return
        cfg = self.config
        depth = peer.queue_depth(self.now, block=BLOCK, seconds=cfg.pipeline_seconds,
                                 lo=cfg.min_queue, hi=cfg.max_queue)
        if peer.snubbed:  # one request at a time until it sends something again
            depth = 1
        room = depth - len(peer.in_flight)
        # Refill in batches when the driver asks (Config.refill_fraction): fewer picker calls.
        if room <= 0 or (peer.in_flight and room < depth * cfg.refill_fraction):
            return
        if peer.peer_choking:  # BEP 6: only allowed-fast pieces while choked
            candidates: Any = sorted(peer.allowed_fast)
        else:
            # Enough for the started pieces this peer has (a picker may put them first, and
            # they may have no block left to ask for) plus a new piece per free slot.
            started = sum(1 for index in self.pieces if peer.has[index])
            count = min(self.num_pieces, room + started)
            candidates = self.hook.btref_pick_pieces(
                swarm=self.swarm_view(), peer=peer.view(self.now), count=count) or ()
        for index in candidates:
            if room <= 0:
                break
            piece = self._usable_piece(peer, index)
            if piece is not None:
                for number in piece.unrequested():
                    if room <= 0:
                        break
                    self._request(peer, piece, number, out)
                    room -= 1
        if room > 0 and not peer.peer_choking and self._in_endgame(out):
            for piece in list(self.pieces.values()):
                if peer.has[piece.index] and piece.index not in peer.rejected and piece.only_from in (None, peer.key):
                    for number in piece.endgame_blocks(peer.key):
                        if room <= 0:
                            return
                        self._request(peer, piece, number, out)
                        room -= 1
    # [/docs: fill]

    def _usable_piece(self, peer: Peer, index: Any) -> PieceInProgress | None:
        """The piece in progress for a picker's answer, or ``None`` if the answer is unusable."""
        if (type(index) is not int or not 0 <= index < self.num_pieces or self.have[index]
                or not peer.has[index] or index in peer.rejected):
            return None
        piece = self.pieces.get(index)
        if piece is None:
            parole = peer.key if index in self.suspects else None
            piece = self.pieces[index] = PieceInProgress(index, self.torrent.piece_size(index), parole,
                                                         keep_data=self.keep_data)
        return piece if piece.only_from in (None, peer.key) else None

    def _in_endgame(self, out: list) -> bool:
        """End game: every block we lack is received or requested (BEP 3 "end game")."""
        if not self.endgame:
            if self.num_pieces - self.have.count != len(self.pieces):
                return False
            if any(piece.open_blocks() for piece in self.pieces.values()):
                return False
            self.endgame = True
            out.append(Event("endgame", {"pieces_left": len(self.pieces)}))
        return True

    def _request(self, peer: Peer, piece: PieceInProgress, number: int, out: list) -> None:
        begin, length = block_span(piece.size, number)
        if not peer.in_flight:
            peer.waiting_since = self.now
        peer.in_flight[piece.index, begin] = (length, self.now)
        piece.requested[number].add(peer.key)
        self._send(peer, wire.Request(piece.index, begin, length), out)

    def _release(self, peer: Peer, index: int, begin: int) -> None:
        """Forget one request to ``peer``; an untouched piece loses its buffer."""
        peer.withdraw(index, begin)
        piece = self.pieces.get(index)
        if piece is not None:
            piece.requested[begin // BLOCK].discard(peer.key)
            if piece.missing == piece.num_blocks and not any(piece.requested):
                del self.pieces[index]

    def _fill_all(self, out: list, skip: Peer | None = None) -> None:
        for other in list(self.peers.values()):
            if other is not skip:
                self._fill(other, out)

    # [docs: piece-done]
    def _piece_done(self, piece: PieceInProgress, out: list) -> None:
        """Every block of ``piece`` is in: verify, then announce or charge."""
        index = piece.index
        del self.pieces[index]
        if not piece_is_good(self.hook, self.torrent, index, piece.buffer):
            self._piece_failed(piece, out)
            return
        self.have.set(index)
        self.rarity.got(index)
        self._absolve(piece, out)
        out.append(WritePiece(index, piece.buffer))
        # One action for every connection's `have` (a swarm of thousands completes a
        # million pieces: one Send per peer per piece was the simulator's biggest cost).
        redundant = self.config.redundant_haves
        if redundant:
            out.append(Broadcast(tuple(self.peers), wire.Have(index)))
        lacking = []  # the peers that need the news (HAVE suppression, Config.redundant_haves)
        now = self.now
        for peer in self.peers.values():
            peer.last_sent_at = now
            if peer.has[index]:
                peer.wanted -= 1
                if not peer.wanted:  # nothing left to want from it
                    self._update_interest(peer, out)
            elif not redundant:
                lacking.append(peer.key)
        if not redundant:
            out.append(Broadcast(tuple(lacking), wire.Have(index)))
        out.append(Event("piece_verified", {"index": index}))
        self.hook.btref_piece_verified(torrent=self.torrent, index=index)
        if self.seeding:
            self._complete(out)
    # [/docs: piece-done]

    def _piece_failed(self, piece: PieceInProgress, out: list) -> None:
        index = piece.index
        contributors = piece.contributors()
        record: dict[Hashable, list[tuple[int, bytes]]] = {}
        for number, key in enumerate(piece.sources):
            begin, length = block_span(piece.size, number)
            digest = hashlib.sha1(memoryview(piece.buffer)[begin : begin + length]).digest()
            record.setdefault(key, []).append((number, digest))
        self.suspects.setdefault(index, []).append(record)
        out.append(Event("piece_failed", {"index": index, "peers": [str(k) for k in contributors]}))
        self.hook.btref_piece_failed(torrent=self.torrent, index=index, peers=contributors)
        for key in contributors:
            peer = self.peers.get(key)
            if peer is not None:
                peer.strikes += 1
                if peer.strikes >= self.config.ban_after:
                    self._ban(peer, f"sent data for {peer.strikes} pieces that failed the hash check", out)

    def _absolve(self, piece: PieceInProgress, out: list) -> None:
        """A piece that failed before has passed: compare, ban the liars, refund the rest."""
        buffer = memoryview(piece.buffer)
        for record in self.suspects.pop(piece.index, ()):
            for key, blocks in record.items():
                lied = False
                for number, digest in blocks:
                    begin, length = block_span(piece.size, number)
                    lied = lied or hashlib.sha1(buffer[begin : begin + length]).digest() != digest
                peer = self.peers.get(key)
                if peer is None:
                    continue
                if lied:
                    self._ban(peer, f"sent a corrupt block of piece {piece.index}", out)
                else:
                    peer.strikes = max(0, peer.strikes - 1)

