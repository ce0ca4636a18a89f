"""The session engine: one torrent's download and upload logic, sans I/O (BEP 3; BEP 6, 10).

A :class:`Session` takes *events* (a peer connected, a message arrived, a block was read
from disk, the clock ticked) and returns *actions* (send this message, read that block,
write this piece, close, ban, note an event). It owns no socket and reads no clock: the
driver (asyncio in :mod:`btref.net`, a virtual clock in :mod:`btref.sim`) does the
handshake, parses the bytes with :mod:`btref.wire` and passes message objects and ``now``.

What it implements: BEP 3 "peer messages" (choke/unchoke, interested, have, bitfield,
request/piece/cancel, the 16 KiB block, end game), BEP 6 "fast extension" (have all/none,
reject, allowed fast, suggest ignored), the ``reqq`` of the BEP 10 extended handshake.
Strategies enter through hooks only: the picker (``btref_pick_pieces``), the choker
(``btref_rechoke``, every :attr:`Config.rechoke_interval` seconds) and the hash schemes
(``btref_verify_piece``, combined by :func:`btref.io.storage.piece_is_good`).

Three halves live in modules of their own and are mixed in: :mod:`btref.interest`
(bitfields, ``have``, availability, interest), :mod:`btref.download` (requesting blocks,
judging pieces) and :mod:`btref.choking` (choke rounds).

Invariants:

* We never request a block of a piece we have, nor from a peer that lacks it; a block is in
  flight to two peers only in end game, and the loser gets a ``Cancel``.
* We upload only to peers we unchoked; choking a BEP 6 peer rejects its queued requests.
* A piece is written and announced (``have``) only after it passed verification.
* A peer that contributed to :attr:`Config.ban_after` failed pieces is banned. A failed
  piece is downloaded again from one peer only ("parole"); when it finally passes, the
  blocks that differ name the liars (banned at once) and the other contributors get their
  strike back ("smart ban", as libtorrent does).
* A peer breaking the protocol at this level gets a ``Close``; the engine never raises.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Any

from btref import wire
from btref.actions import Ban, Broadcast, Close, Complete, Config, Event, ReadBlock, Send, WritePiece
from btref.bencode import decode
from btref.pieceset import PieceSet
from btref.choking import Choking
from btref.errors import BtrefError, ProtocolError
from btref.interest import Interest
from btref.metainfo import Torrent
from btref.peer import Peer
from btref.download import Downloader, PieceInProgress
from btref.views import Availability, SwarmView

__all__ = ["Session", "Config", "Send", "Broadcast", "ReadBlock", "WritePiece", "Close", "Ban", "Event", "Complete"]


class Session(Choking, Downloader, Interest):
    """One torrent's engine: call the event methods, carry out the returned actions.

    :param torrent: the parsed torrent.
    :param hook: the hook relay of :func:`btref.plugins.plugin_manager` holding this
        session's picker, choker, hash schemes and observers.
    :param have: pieces already verified on disk (e.g. by :func:`btref.io.storage.verify`).
    :param peer_id: our 20-byte peer id (for the driver's handshakes and events).
    :param rng: the only randomness; plugins get it as ``swarm.rng``.
    :param config: tunables, see :class:`~btref.actions.Config`.
    :param keep_data: ``False`` counts blocks without keeping their bytes: the hash schemes
        and ``WritePiece`` then get an empty buffer. Only for the simulator's virtual
        payloads (whose hash scheme accepts anything); it saves a 16 KiB copy per block.
    """

    def __init__(
        self,
        torrent: Torrent,
        hook: Any,
        *,
        have: PieceSet | None = None,
        peer_id: bytes = b"",
        rng: random.Random | None = None,
        config: Config | None = None,
        keep_data: bool = True,
    ) -> None:
        self.torrent = torrent
        self.hook = hook
        self.peer_id = peer_id
        self.rng = rng if rng is not None else random.Random(0)
        self.config = config or Config()
        self.keep_data = keep_data
        n = self.num_pieces = torrent.num_pieces
        if have is not None and len(have) != n:
            raise ValueError(f"have bitfield of {len(have)} pieces for a torrent of {n}")
        self.have = have.copy() if have is not None else PieceSet(n)
        self.peers: dict[Hashable, Peer] = {}
        self.pieces: dict[int, PieceInProgress] = {}
        #: Availability counts and the buckets of pieces we lack (see :mod:`btref.views`).
        self.rarity = Availability(n, self.have, skip_unseen=True)
        self.availability = self.rarity.counts
        self._availability = memoryview(self.availability).toreadonly()
        #: Failed pieces waiting to pass: index -> one ``{key: [(block, digest)]}`` per failure.
        self.suspects: dict[int, list[dict[Hashable, list[tuple[int, bytes]]]]] = {}
        self.now = 0.0
        self.last_rechoke: float | None = None
        self.endgame = False
        #: Message class -> its handler method (found by name once, not per message).
        self._handlers: dict[type, Any] = {}

    # -- views for the strategies --------------------------------------------------

    @property
    def seeding(self) -> bool:
        return self.have.complete()

    def swarm_view(self) -> SwarmView:
        return SwarmView(
            num_pieces=self.num_pieces, have=self.have, availability=self._availability,
            in_progress=frozenset(self.pieces), rng=self.rng, now=self.now, seeding=self.seeding,
            rarity=self.rarity,
        )

    # -- events ----------------------------------------------------------------------

    def peer_connected(self, key: Hashable, now: float, *, fast: bool = False, extensions: bool = False) -> list:
        """A handshake finished; returns what we tell the peer first (our pieces)."""
        self.now = now
        if key in self.peers:
            return [Close(key, "a peer with this key is already connected")]
        peer = self.peers[key] = Peer(key, PieceSet(self.num_pieces), now, fast=fast, extensions=extensions)
        peer.down.window = peer.up.window = self.config.rate_window
        out: list = []
        if fast and self.have.count == 0:
            self._send(peer, wire.HaveNone(), out)
        elif fast and self.seeding:
            self._send(peer, wire.HaveAll(), out)
        elif self.have.count:
            self._send(peer, wire.Bitfield(self.have.to_bytes()), out)
        out.append(Event("peer_connected", {"peer": str(key), "fast": fast, "extensions": extensions}))
        self.hook.btref_peer_connected(peer=peer.view(now))
        return out

    def message_received(self, key: Hashable, msg: Any, now: float) -> list:
        """A message from peer ``key``; unknown keys (already closed) are ignored."""
        self.now = now
        peer = self.peers.get(key)
        if peer is None:
            return []
        out: list = []
        handler = self._handlers.get(type(msg))
        if handler is None:  # first message of its kind: find _on_<name>, remember it
            handler = self._handlers[type(msg)] = getattr(self, "_on_" + type(msg).__name__.lower(), None)
        try:
            if handler is None:
                raise ProtocolError(f"unexpected {type(msg).__name__} message")
            handler(peer, msg, out)
        except BtrefError as exc:  # the peer's fault; a plugin's bug is not caught here
            self._close(peer, str(exc), out)
        return out

    def peer_disconnected(self, key: Hashable, now: float, reason: str = "") -> list:
        """The connection to ``key`` ended."""
        self.now = now
        out: list = []
        if key in self.peers:
            self._drop(self.peers[key], reason, out)
        return out

    def block_read(self, key: Hashable, index: int, begin: int, data: bytes | memoryview, now: float) -> list:
        """The driver read a block asked for by :class:`ReadBlock`: send it, if still wanted."""
        self.now = now
        peer = self.peers.get(key)
        request = (index, begin, len(data))
        if peer is None or request not in peer.serving or peer.am_choking:
            return []
        peer.serving.remove(request)
        peer.bytes_uploaded += len(data)
        peer.up.add(len(data), now)
        out: list = []
        self._send(peer, wire.Piece(index, begin, data), out)
        return out

    def tick(self, now: float) -> list:
        """Time passed: rechoke, find snubbing peers, time out requests, keep alive."""
        self.now = now
        out: list = []
        cfg = self.config
        if self.last_rechoke is None or now - self.last_rechoke >= cfg.rechoke_interval:
            self._rechoke(out)
        for peer in list(self.peers.values()):
            if peer.in_flight and not peer.snubbed and now - peer.waiting_since >= cfg.snub_timeout:
                peer.snubbed = True
                out.append(Event("snubbed", {"peer": str(peer.key)}))
            expired = []
            # in_flight is in the order the requests were sent: look further only if the
            # oldest has timed out (most ticks, nothing has)
            if peer.in_flight and now - next(iter(peer.in_flight.values()))[1] >= cfg.request_timeout:
                expired = [k for k, (_, sent) in peer.in_flight.items() if now - sent >= cfg.request_timeout]
            for index, begin in expired:
                length, _ = peer.in_flight[index, begin]
                self._release(peer, index, begin)
                self._send(peer, wire.Cancel(index, begin, length), out)
            if expired:
                out.append(Event("request_timeout", {"peer": str(peer.key), "blocks": len(expired)}))
            if now - peer.last_sent_at >= cfg.keepalive_interval:
                self._send(peer, wire.KeepAlive(), out)
        for peer in list(self.peers.values()):
            if not peer.peer_choking or peer.allowed_fast:  # else _fill has nothing to do
                self._fill(peer, out)
        return out

    # -- message handlers (one per wire message class, by lowercased name) ----------

    def _on_keepalive(self, peer: Peer, msg: Any, out: list) -> None:
        pass

    _on_port = _on_keepalive  # BEP 5: the driver's DHT node may read it before us
    _on_suggest = _on_keepalive  # BEP 6 allows ignoring suggestions; the picker decides
    # BEP 52 hash messages belong to the v2 hash scheme, not to the block engine.
    _on_hashrequest = _on_hashes = _on_hashreject = _on_keepalive

    def _on_handshake(self, peer: Peer, msg: Any, out: list) -> None:
        raise ProtocolError("handshake in the middle of a connection")

    def _on_choke(self, peer: Peer, msg: Any, out: list) -> None:
        peer.peer_choking = True
        # Without BEP 6 a choke drops every pending request; with it the peer should
        # reject them one by one, but we free the blocks now rather than wait (a block
        # that still arrives is accepted if we need it). Allowed-fast requests stay.
        released = [k for k in peer.in_flight if k[0] not in peer.allowed_fast]
        for index, begin in released:
            self._release(peer, index, begin)
        if released:  # those blocks may be asked of others now
            self._fill_all(out, skip=peer)

    def _on_unchoke(self, peer: Peer, msg: Any, out: list) -> None:
        peer.peer_choking = False
        peer.rejected.clear()
        self._fill(peer, out)

    def _on_request(self, peer: Peer, msg: Any, out: list) -> None:
        index, begin, length = msg.index, msg.begin, msg.length
        self._check_index(index)
        if not (0 < length <= self.config.max_request_length and 0 <= begin
                and begin + length <= self.torrent.piece_size(index)):
            raise ProtocolError(f"request ({index}, {begin}, {length}) outside piece {index}")
        if (not self.have[index] or peer.am_choking
                or len(peer.serving) >= self.config.max_peer_requests):
            if peer.fast:  # BEP 6: every request gets an answer, so refuse explicitly
                self._send(peer, wire.Reject(index, begin, length), out)
            return
        if (index, begin, length) not in peer.serving:
            peer.serving.add((index, begin, length))
            out.append(ReadBlock(peer.key, index, begin, length))

    def _on_cancel(self, peer: Peer, msg: Any, out: list) -> None:
        peer.serving.discard((msg.index, msg.begin, msg.length))

    def _on_reject(self, peer: Peer, msg: Any, out: list) -> None:
        self._require(peer.fast, "reject without the fast extension")
        if (msg.index, msg.begin) in peer.in_flight:
            self._release(peer, msg.index, msg.begin)
            peer.rejected.add(msg.index)  # do not ask again until the next unchoke
            self._fill_all(out, skip=peer)

    def _on_allowedfast(self, peer: Peer, msg: Any, out: list) -> None:
        self._require(peer.fast, "allowed fast without the fast extension")
        self._check_index(msg.index)
        peer.allowed_fast.add(msg.index)
        self._fill(peer, out)

    def _on_extended(self, peer: Peer, msg: Any, out: list) -> None:
        self._require(peer.extensions, "extended message without the extension protocol")
        if msg.ext_id != 0:
            return  # ut_metadata, ut_pex...: the driver's plugins handle those
        handshake = decode(msg.payload, strict=False)
        reqq = handshake.get(b"reqq") if isinstance(handshake, dict) else None
        if isinstance(reqq, int) and reqq > 0:
            peer.reqq = min(reqq, self.config.max_queue)

    # [docs: on-piece]
    def _on_piece(self, peer: Peer, msg: Any, out: list) -> None:
        index, begin, block = msg.index, msg.begin, msg.block
        self._check_index(index)
        length = len(block)
        sent = peer.in_flight.pop((index, begin), None)
        if sent is not None and sent[0] != length:
            raise ProtocolError(f"block ({index}, {begin}) of {length} bytes, asked for {sent[0]}")
        if sent is None and not peer.landed(index, begin):
            peer.unexpected += 1
            if peer.unexpected > self.config.unexpected_tolerance:
                raise ProtocolError(f"more than {self.config.unexpected_tolerance} blocks we never asked for")
        piece = self.pieces.get(index)
        number = piece.block_of(begin, length) if piece is not None else None
        if sent is None and (number is None or piece.received[number]):
            return  # late or unasked, and not needed any more
        peer.bytes_downloaded += length
        peer.down.add(length, self.now)
        peer.waiting_since = self.now
        peer.snubbed = False
        if piece is not None and number is not None:
            piece.requested[number].discard(peer.key)
            if piece.store(number, block, peer.key):
                for other in piece.requested[number]:  # end game: the others lost the race
                    self.peers[other].withdraw(index, begin)
                    self._send(self.peers[other], wire.Cancel(index, begin, length), out)
                piece.requested[number].clear()
                if piece.missing == 0:
                    self._piece_done(piece, out)
        self._fill(peer, out)
    # [/docs: on-piece]

    # -- verification, bans, completion -----------------------------------------------

    def _complete(self, out: list) -> None:
        out.append(Complete())
        out.append(Event("complete", {"pieces": self.num_pieces}))
        self.hook.btref_torrent_complete(torrent=self.torrent)
        for peer in list(self.peers.values()):  # end game cancelled every duplicate already
            peer.snubbed = False  # only a downloader can be snubbed
            self._update_interest(peer, out)
        self._rechoke(out)  # seed mode ranks peers differently

    def _ban(self, peer: Peer, reason: str, out: list) -> None:
        out.append(Ban(peer.key, reason))
        out.append(Event("peer_banned", {"peer": str(peer.key), "reason": reason}))
        self.hook.btref_peer_banned(peer=peer.view(self.now), reason=reason)
        self._drop(peer, reason, out)

    # -- peer bookkeeping ------------------------------------------------------------

    def _drop(self, peer: Peer, reason: str, out: list) -> None:
        """Forget a peer: its pieces leave the availability, its blocks go back to the pool."""
        del self.peers[peer.key]
        for index in peer.has:
            self.rarity.add(index, -1)
        for index, begin in list(peer.in_flight):
            self._release(peer, index, begin)
        out.append(Event("peer_disconnected", {"peer": str(peer.key), "reason": reason}))
        self.hook.btref_peer_disconnected(peer=peer.view(self.now), reason=reason)
        if not peer.am_choking and peer.peer_interested:
            self._rechoke(out)
        self._fill_all(out)

    def _close(self, peer: Peer, reason: str, out: list) -> None:
        out.append(Close(peer.key, reason))
        out.append(Event("protocol_error", {"peer": str(peer.key), "reason": reason}))
        self._drop(peer, reason, out)

    def _send(self, peer: Peer, msg: Any, out: list) -> None:
        peer.last_sent_at = self.now
        out.append(Send(peer.key, msg))

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.num_pieces:
            raise ProtocolError(f"piece index {index} out of range 0..{self.num_pieces - 1}")

    @staticmethod
    def _require(condition: bool, message: str) -> None:
        if not condition:
            raise ProtocolError(message)
