"""The download: which blocks to ask whom for, and what to do with a finished piece
(BEP 3 "peer messages", "end game").

BEP 3 cuts a piece into *blocks* of :data:`~btref.wire.BLOCK_SIZE` bytes (16 KiB, the last
one of a piece may be shorter), each requested separately. The :class:`Downloader` owns
every piece in progress and decides what to request:

* :meth:`Downloader.fill` keeps a peer's request queue full from the picker's answers
  (``btref_pick_pieces``), and enters *end game* once every missing block is requested:
  then the last blocks are asked of several peers, and the losers get a ``cancel``.
* :meth:`Downloader.block_received` copies an arriving block into its piece's buffer (the
  one copy a block's bytes make on the way to disk) and hands back a piece once every
  block is in.
* :meth:`Downloader.judge` verifies a finished piece with the hash schemes
  (``btref_verify_piece``) and either keeps it or charges the peers that sent it.

A piece that fails its hash check is downloaded again from one peer only ("parole"), so
a second failure names a single culprit, who earns a strike; when it finally passes,
the earlier blocks that differ from the good ones name the liars ("smart ban", as
libtorrent does), even those that have left.

Invariants:

* A :class:`PieceInProgress` exists from the first request of a piece until it is judged
  or every request for it is withdrawn; ``received[b]`` is set at most once per block.
* A block is requested from a peer only if the peer has the piece and it is not
  ``settled`` (we lack it and want it); it is in flight to two peers only in end game.
* ``asked[b]`` is the set of peers with block ``b`` of the piece in their
  :attr:`~btref.peer.Peer.requests`: the same requests, indexed by block (end game needs
  to know whom to cancel). ``unasked`` lists, in order, the blocks neither received nor
  in flight.
* Only a block we asked for is stored (a late one after a cancel or choke is fine): a
  peer cannot slip unasked data into a piece.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from btref import wire
from btref.actions import Action, Config, Event, WritePiece
from btref.errors import ProtocolError
from btref.metainfo import Torrent
from btref.peer import Peer
from btref.pieceset import PieceSet
from btref.views import Availability, SwarmView

__all__ = ["PieceInProgress", "Downloader", "block_range", "piece_is_good"]

BLOCK = wire.BLOCK_SIZE


def block_range(piece_size: int, number: int) -> tuple[int, int]:
    """``(begin, length)`` of block ``number`` in a piece of ``piece_size`` bytes."""
    begin = number * BLOCK
    return begin, min(BLOCK, piece_size - begin)


class PieceInProgress:
    """A piece being downloaded: its buffer and the state of each block."""

    __slots__ = ("index", "size", "buffer", "received", "asked", "unasked", "sources", "missing", "only_from")

    def __init__(self, index: int, size: int, only_from: Hashable | None = None, *, keep_data: bool = True) -> None:
        self.index = index
        self.size = size
        nblocks = -(-size // BLOCK)
        #: The piece's bytes. Empty when the session keeps no payload (``keep_data=False``:
        #: the simulator's virtual pieces, where only which block came from whom matters).
        self.buffer = bytearray(size if keep_data else 0)
        self.received = [False] * nblocks
        self.asked: list[set[Hashable]] = [set() for _ in range(nblocks)]
        self.unasked = list(range(nblocks))
        #: Who sent each block, so a failed piece can be charged to its contributors.
        self.sources: list[Hashable | None] = [None] * nblocks
        self.missing = nblocks
        #: "Parole": after a failed hash check, only this peer may send the piece again.
        self.only_from = only_from

    @property
    def num_blocks(self) -> int:
        return len(self.received)

    def block_of(self, begin: int, length: int) -> int | None:
        """The block number for ``(begin, length)``, or ``None`` if that is not a block."""
        number, rest = divmod(begin, BLOCK)
        if rest or not 0 <= number < self.num_blocks or block_range(self.size, number)[1] != length:
            return None
        return number

    def ask(self, number: int, key: Hashable) -> None:
        self.asked[number].add(key)
        if self.unasked and self.unasked[0] == number:  # the usual case: lowest first
            del self.unasked[0]
        elif number in self.unasked:
            self.unasked.remove(number)

    def unask(self, number: int, key: Hashable) -> None:
        self.asked[number].discard(key)
        if not self.asked[number] and not self.received[number]:
            bisect.insort(self.unasked, number)

    def endgame_blocks(self, key: Hashable) -> Iterator[int]:
        """Missing blocks that are requested, but not from ``key`` (end game duplicates)."""
        for number in range(self.num_blocks):
            if not self.received[number] and key not in self.asked[number]:
                yield number

    def store(self, number: int, data: bytes | memoryview, key: Hashable) -> bool:
        """Copy a block into the buffer; ``False`` if it was already there (a duplicate)."""
        if self.received[number]:
            return False
        if self.buffer:
            begin = number * BLOCK
            self.buffer[begin : begin + len(data)] = data
        self.received[number] = True
        self.sources[number] = key
        self.missing -= 1
        return True

    def untouched(self) -> bool:
        """Nothing received and nothing in flight: the piece can be forgotten."""
        return self.missing == self.num_blocks and len(self.unasked) == self.num_blocks

    def contributors(self) -> list[Hashable]:
        """The peers that sent blocks of this piece, each once, in block order."""
        return list(dict.fromkeys(key for key in self.sources if key is not None))

    def block_digests(self) -> list[bytes]:
        """The SHA-1 of each block, in order (to tell later which blocks differed)."""
        view = memoryview(self.buffer)
        return [hashlib.sha1(view[begin : begin + length]).digest()
                for begin, length in (block_range(self.size, n) for n in range(self.num_blocks))]


class Downloader:
    """Requests blocks and judges pieces for one session.

    :param torrent: the torrent (piece sizes, hash schemes' input).
    :param hook: the plugin hook relay: the picker and the hash schemes.
    :param config: the session's tunables.
    :param have: the pieces we have verified (shared with the session, which owns it).
    :param availability: the session's piece availability (told when we get a piece).
    :param peers: the session's peer table, by key (read only: to cancel end game losers).
    :param swarm_view: makes the picker's view of the swarm.
    :param keep_data: ``False`` counts blocks without keeping their bytes (the simulator).
    :param settled: the pieces we need no more (the session's: ``have`` plus the pieces
        outside the file selection); ``None``: ``have`` itself. Only pieces outside it are
        requested.
    :param tiers: the file priorities (:meth:`btref.layout.Layout.tiers`: every piece in
        one tier, highest first); the picker is asked for one tier at a time, through a view
        of the peer that shows only that tier's pieces, until the queue is full. Empty: one
        tier, one call, the picker's order alone.
    """

    def __init__(self, torrent: Torrent, hook: Any, config: Config, have: PieceSet, availability: Availability,
                 peers: dict[Hashable, Peer], swarm_view: Callable[[], SwarmView], *, keep_data: bool = True,
                 settled: PieceSet | None = None, tiers: tuple[PieceSet, ...] = ()) -> None:
        self.torrent = torrent
        self.num_pieces = torrent.num_pieces
        self.tiers = tiers if len(tiers) > 1 else ()
        self.hook = hook
        self.config = config
        self.have = have
        self.settled = have if settled is None else settled
        self.availability = availability
        self.peers = peers
        self.swarm_view = swarm_view
        self.keep_data = keep_data
        #: Every piece with a block requested or received and not yet judged, by index.
        self.pieces: dict[int, PieceInProgress] = {}
        #: Failed pieces waiting to pass: index -> one ``{key: [(block, digest)]}`` per failure.
        self.suspects: dict[int, list[dict[Hashable, list[tuple[int, bytes]]]]] = {}
        #: Failed pieces each peer sent alone; kept after the peer leaves.
        self.strikes: dict[Hashable, int] = {}
        self.endgame = False

    # -- asking for blocks ------------------------------------------------------------

    # [docs: fill]
    def fill(self, peer: Peer, now: float, out: list[Action]) -> None:
        """Keep ``peer``'s request queue full (the heart of the download)."""
        if ((peer.peer_choking and not peer.allowed_fast) or not peer.am_interested
                or self.settled.complete() or self.peers.get(peer.key) is not peer):
            return
        cfg = self.config
        depth = 1 if peer.snubbed else peer.queue_depth(now, block=BLOCK, seconds=cfg.pipeline_seconds,
                                                         lo=cfg.min_queue, hi=cfg.max_queue)
        room = depth - len(peer.requests)
        # Top up in batches (Config.refill_fraction): fewer, bigger picker calls.
        if room <= 0 or (peer.requests and room < depth * cfg.refill_fraction):
            return
        candidates: Any
        if peer.peer_choking:  # BEP 6: only allowed-fast pieces while choked
            candidates = sorted(peer.allowed_fast)
        else:
            # Enough for the started pieces this peer has (a picker may put them first, and
            # they may have no block left to ask for) plus a new piece per free slot.
            started = len(peer.has.having(self.pieces))
            count = min(self.num_pieces, room + started)
            if self.tiers:
                candidates = self._pick_by_tier(peer, now, count)
            else:
                candidates = self.hook.btref_pick_pieces(swarm=self.swarm_view(), peer=peer.view(now),
                                                         count=count) or ()
        for index in candidates:
            piece = self._usable_piece(peer, index)
            while piece is not None and piece.unasked and room > 0:
                self._request(peer, piece, piece.unasked[0], now, out)
                room -= 1
            if room <= 0:
                return
        if not peer.peer_choking and self._in_endgame(out):
            for piece in list(self.pieces.values()):
                if peer.has[piece.index] and piece.index not in peer.rejected and piece.only_from in (None, peer.key):
                    for number in piece.endgame_blocks(peer.key):
                        if room <= 0:
                            return
                        self._request(peer, piece, number, now, out)
                        room -= 1
    # [/docs: fill]

    def _pick_by_tier(self, peer: Peer, now: float, count: int) -> Iterator[int]:
        """The picker's answers for each tier in turn, highest first, each through a view
        whose ``has`` is the peer's pieces of that tier; a lower tier is asked only when
        the higher ones could not fill the queue (this is a generator)."""
        view = peer.view(now)
        bits = view.has.to_bytes()
        has = int.from_bytes(bits, "big")
        for tier in self.tiers:
            # One AND of the two bitfields (BEP 3 wire form) as integers: no loop over pieces.
            mine = has & int.from_bytes(tier.to_bytes(), "big")
            if mine:
                offered = PieceSet.from_bytes(mine.to_bytes(len(bits), "big"), len(view.has))
                yield from self.hook.btref_pick_pieces(swarm=self.swarm_view(), peer=view._replace(has=offered),
                                                       count=count) or ()

    def fill_all(self, now: float, out: list[Action], skip: Peer | None = None) -> None:
        """Fill every peer's queue (blocks were released and may be asked of others)."""
        for peer in list(self.peers.values()):
            if peer is not skip and (not peer.peer_choking or peer.allowed_fast):
                self.fill(peer, now, out)

    def _usable_piece(self, peer: Peer, index: Any) -> PieceInProgress | None:
        """The piece in progress for a picker's answer, or ``None`` if the answer is unusable."""
        if (type(index) is not int or not 0 <= index < self.num_pieces or self.settled[index]
                or not peer.has[index] or index in peer.rejected):
            return None
        piece = self.pieces.get(index)
        if piece is None:
            parole = peer.key if index in self.suspects else None
            piece = self.pieces[index] = PieceInProgress(index, self.torrent.piece_size(index), parole,
                                                         keep_data=self.keep_data)
        return piece if piece.only_from in (None, peer.key) else None

    def _in_endgame(self, out: list[Action]) -> bool:
        """End game: every block we lack is received or requested (BEP 3 "end game")."""
        if not self.endgame:
            if self.num_pieces - self.settled.count != len(self.pieces):
                return False
            if any(piece.unasked for piece in self.pieces.values()):
                return False
            self.endgame = True
            out.append(Event("endgame", {"pieces_left": len(self.pieces)}))
        return True

    def _request(self, peer: Peer, piece: PieceInProgress, number: int, now: float, out: list[Action]) -> None:
        begin, length = block_range(piece.size, number)
        if not peer.requests:
            peer.waiting_since = now
        peer.requests[piece.index, begin] = (length, now)
        piece.ask(number, peer.key)
        peer.send(wire.Request(piece.index, begin, length), now, out)

    def release(self, peer: Peer, index: int, begin: int) -> None:
        """Withdraw one request to ``peer``; a piece left untouched is forgotten."""
        peer.withdraw(index, begin)
        piece = self.pieces.get(index)
        if piece is not None:
            piece.unask(begin // BLOCK, peer.key)
            if piece.untouched():
                del self.pieces[index]

    def peer_left(self, key: Hashable) -> None:
        """Peer ``key`` is gone (its requests already released): a piece on parole to it
        starts over, since its blocks came from that peer alone and nobody else may finish it."""
        for index in [index for index, piece in self.pieces.items() if piece.only_from == key]:
            del self.pieces[index]

    # -- receiving blocks ---------------------------------------------------------------

    # [docs: block-received]
    def block_received(self, peer: Peer, index: int, begin: int, block: bytes | memoryview, now: float,
                       out: list[Action]) -> PieceInProgress | None:
        """Store a block from ``peer``; returns the piece it went into (``None``: dropped).
        The piece is complete when its ``missing`` is 0: then :meth:`judge` it.

        :raises ProtocolError: for a block of the wrong length, or more unasked blocks
            than :attr:`~btref.actions.Config.unexpected_tolerance`.
        """
        length = len(block)
        sent = peer.requests.pop((index, begin), None)
        if sent is None:
            if not peer.landed(index, begin):  # never asked, not even before a cancel
                peer.unexpected += 1
                if peer.unexpected > self.config.unexpected_tolerance:
                    raise ProtocolError(f"more than {self.config.unexpected_tolerance} blocks we never asked for")
                return None
        elif sent[0] != length:
            raise ProtocolError(f"block ({index}, {begin}) of {length} bytes, asked for {sent[0]}")
        piece = self.pieces.get(index)
        number = piece.block_of(begin, length) if piece is not None else None
        if piece is None or number is None or (sent is None and piece.received[number]):
            return None  # late, and not needed any more
        peer.bytes_downloaded += length
        peer.down.add(length, now)
        if self.config.slow_start and peer.slow_start < self.config.max_queue:
            peer.slow_start = max(peer.slow_start, self.config.min_queue) + 1
        peer.waiting_since = now
        peer.snubbed = False
        piece.asked[number].discard(peer.key)
        if not piece.store(number, block, peer.key):
            return piece
        for other in piece.asked[number]:  # end game: the others lost the race
            self.peers[other].withdraw(index, begin)
            self.peers[other].send(wire.Cancel(index, begin, length), now, out)
        piece.asked[number].clear()
        if sent is None and number in piece.unasked:  # a late block for a request given back
            piece.unasked.remove(number)
        return piece
    # [/docs: block-received]

    # -- judging pieces -------------------------------------------------------------------

    # [docs: judge]
    def judge(self, piece: PieceInProgress, out: list[Action]) -> tuple[bool, list[tuple[Hashable, str]]]:
        """Verify a finished piece. Returns whether it passed, and the peers to ban with why.

        A good piece is marked in ``have`` and handed to the driver (``WritePiece``, the
        buffer changes hands without a copy); the session then announces it.
        """
        index = piece.index
        del self.pieces[index]
        if not self._verify(piece):
            return False, self._failed(piece, out)
        self.have.set(index)
        self.settled.set(index)  # (the same set as have when every piece is wanted)
        self.availability.got(index)
        out.append(WritePiece(index, piece.buffer))
        return True, self._absolve(piece)
    # [/docs: judge]

    def _verify(self, piece: PieceInProgress) -> bool:
        return piece_is_good(self.hook, self.torrent, piece.index, piece.buffer)

    def _failed(self, piece: PieceInProgress, out: list[Action]) -> list[tuple[Hashable, str]]:
        """Put the piece on parole and remember who sent which block. Returns the peers to ban.

        Only a peer that sent the whole piece alone earns a strike (it is certainly
        guilty); when several sent it, the parole download or the later good copy tells
        which of them lied (:meth:`_absolve`), so an honest peer that happened to share
        a piece with a liar is never struck. Strikes stay with a key after its peer leaves.
        """
        contributors = piece.contributors()
        digests = piece.block_digests()
        record: dict[Hashable, list[tuple[int, bytes]]] = {}
        for number, key in enumerate(piece.sources):
            record.setdefault(key, []).append((number, digests[number]))
        self.suspects.setdefault(piece.index, []).append(record)
        out.append(Event("piece_failed", {"index": piece.index, "peers": [str(k) for k in contributors]}))
        self.hook.btref_piece_failed(torrent=self.torrent, index=piece.index, peers=contributors)
        if len(contributors) != 1:
            return []
        key = contributors[0]
        strikes = self.strikes[key] = self.strikes.get(key, 0) + 1
        if strikes < self.config.ban_after:
            return []
        return [(key, f"sent data for {strikes} pieces that failed the hash check")]

    def _absolve(self, piece: PieceInProgress) -> list[tuple[Hashable, str]]:
        """A piece that failed before has passed: the blocks that differ from the good copy
        name the liars (returned, to be banned, present or gone)."""
        records = self.suspects.pop(piece.index, ())
        good = piece.block_digests() if records else []
        liars: dict[Hashable, str] = {}
        for record in records:
            for key, blocks in record.items():
                if any(digest != good[number] for number, digest in blocks):
                    liars[key] = f"sent a corrupt block of piece {piece.index}"
        return list(liars.items())


def piece_is_good(hook: Any, torrent: Torrent, index: int, data: bytes | bytearray | memoryview) -> bool:
    """Ask every hash scheme about piece ``index``: good when at least one answered and
    none said ``False`` (the rule of :func:`btref.hookspecs.btref_verify_piece`)."""
    answers = [a for a in hook.btref_verify_piece(torrent=torrent, index=index, data=memoryview(data))
               if a is not None]
    return bool(answers) and all(answers)
