"""The session: one torrent's download and upload logic, sans I/O (BEP 3; BEP 6, 10).

A :class:`Session` takes *events* (a peer connected, a message arrived, a block was read
from disk, the clock ticked) and returns *actions* (send this message, read that block,
write this piece, close, ban, note an event; see :mod:`btref.actions`). It owns no socket
and reads no clock: the driver (asyncio in :mod:`btref.net`, a virtual clock in
:mod:`btref.sim`) does the handshake, turns bytes into :mod:`btref.wire` messages and
passes them in with ``now``.

The session is made of plain objects, each owning its part of the state:

* ``peers``: one :class:`~btref.peer.Peer` per connection (flags, pieces, requests);
* ``have`` and ``availability``: our pieces, and how many peers have each piece;
* ``wanted`` and ``settled``: the pieces the file selection covers (every piece unless the
  user chose files), and the pieces we need no more: those we have and those not wanted.
  ``settled`` is the one place that says what is left to fetch: the availability's
  buckets, the picker's view, interest, end game and completion all read it;
* ``download``: a :class:`~btref.download.Downloader` (pieces in progress, requests,
  verification, strikes);
* ``choking``: a :class:`~btref.choking.ChokeRounds` (when to ask the choker, and its answer).

This module handles each message (one ``_on_<message>`` method per wire message) and
keeps *interest*: we are interested in a peer exactly when it has a piece we lack.

What it implements: BEP 3 "peer messages" (choke/unchoke, interested, have, bitfield,
request/piece/cancel, end game), BEP 6 "fast extension" (have all/none, reject, allowed
fast both ways, suggest ignored), the ``reqq`` of the BEP 10 extended handshake and its
BEP 21 ``upload_only`` (with ``Config.close_redundant``, a seed drops peers that want
nothing either), and BEP 16 super-seeding with ``Config.super_seed`` (the state and its
rules in :mod:`btref.superseed`; the session hides its pieces at connect time, tells it
each piece a peer announces and refuses requests for pieces not offered). Strategies enter
through hooks only: the picker, the choker and the hash schemes.

Invariants:

* We never request a block of a piece we have, nor from a peer that lacks it.
* We upload only to peers we unchoked, and to a choked BEP 6 peer only the pieces of
  the allowed fast set we granted it.
* A piece is written and announced (``have``) only after it passed verification.
* ``settled`` is ``have`` plus every piece outside ``wanted``; we request only pieces
  outside ``settled``, and ``Complete`` comes once ``settled`` is complete (every wanted
  piece verified; a seed only when ``wanted`` is every piece).
* A peer breaking the protocol at this level gets a ``Close``; the session never raises.
* Tolerant where real clients deviate harmlessly: a ``bitfield``, ``have all`` or
  ``have none`` after other messages (aria2, WebTorrent send them) is merged into what
  the peer has; a block that arrives after we withdrew its request is still used.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from btref import wire
from btref.allowed_fast import allowed_fast_set
from btref.actions import Action, Ban, Broadcast, Close, Complete, Config, Event, ReadBlock, Send, WritePiece
from btref.bencode import decode
from btref.choking import ChokeRounds
from btref.download import Downloader
from btref.errors import BtrefError, ProtocolError
from btref.metainfo import Torrent
from btref.peer import Peer
from btref.pieceset import PieceSet
from btref.superseed import SuperSeed
from btref.views import Availability, SwarmView

__all__ = ["Session", "Config", "Send", "Broadcast", "ReadBlock", "WritePiece", "Close", "Ban", "Event", "Complete"]

Actions = list[Action]


class Session:
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
        payloads (whose hash scheme accepts anything).
    :param wanted: the pieces to download (file selection: :meth:`btref.layout.Layout.pieces_of`);
        ``None``: every piece.
    :param tiers: the file priorities as pieces, highest first (:meth:`btref.layout.Layout.tiers`),
        for the :class:`~btref.download.Downloader`; empty: no priorities.
    """

    def __init__(self, torrent: Torrent, hook: Any, *, have: PieceSet | None = None, peer_id: bytes = b"",
                 rng: random.Random | None = None, config: Config | None = None, keep_data: bool = True,
                 wanted: PieceSet | None = None, tiers: tuple[PieceSet, ...] = ()) -> None:
        self.torrent = torrent
        self.hook = hook
        self.peer_id = peer_id
        self.rng = rng if rng is not None else random.Random(0)
        self.config = config or Config()
        n = self.num_pieces = torrent.num_pieces
        if have is not None and len(have) != n:
            raise ValueError(f"have bitfield of {len(have)} pieces for a torrent of {n}")
        self.have = have.copy() if have is not None else PieceSet(n)
        if wanted is not None and len(wanted) != n:
            raise ValueError(f"wanted bitfield of {len(wanted)} pieces for a torrent of {n}")
        self.wanted = wanted.copy() if wanted is not None else PieceSet.full(n)
        #: Pieces we need no more: ``have`` plus the pieces outside ``wanted``. Without a
        #: selection that is ``have`` itself (the same object: one set to update, not two).
        self.settled = self.have if wanted is None else _settled(self.have, self.wanted)
        self.peers: dict[Hashable, Peer] = {}
        self.availability = Availability(n, self.settled, skip_unseen=True)
        self.download = Downloader(torrent, hook, self.config, self.have, self.availability, self.peers,
                                   self.swarm_view, keep_data=keep_data, settled=self.settled, tiers=tiers)
        self.choking = ChokeRounds(hook, self.config, self.peers, self.swarm_view)
        #: BEP 16: only a seed from the start super-seeds (a downloader told what it has).
        self.superseed = (SuperSeed(n, self.availability, self.rng) if self.config.super_seed and self.seeding
                          else None)
        #: Keys we banned (a liar that left is banned too, by the key it had).
        self.banned: set[Hashable] = set()
        self.now = 0.0
        self._handlers: dict[type, Callable[[Peer, Any, Actions], None]] = {
            wire.KeepAlive: self._ignore, wire.Port: self._ignore,  # BEP 5: the driver's DHT node
            wire.Suggest: self._ignore,  # BEP 6 lets us ignore suggestions: the picker decides
            wire.HashRequest: self._ignore, wire.Hashes: self._ignore,  # BEP 52: the hash scheme's
            wire.HashReject: self._ignore,
            wire.Choke: self._on_choke, wire.Unchoke: self._on_unchoke,
            wire.Interested: self._on_interested, wire.NotInterested: self._on_not_interested,
            wire.Have: self._on_have, wire.Bitfield: self._on_bitfield,
            wire.HaveAll: self._on_have_all, wire.HaveNone: self._on_have_none,
            wire.Request: self._on_request, wire.Cancel: self._on_cancel, wire.Piece: self._on_piece,
            wire.Reject: self._on_reject, wire.AllowedFast: self._on_allowed_fast, wire.Extended: self._on_extended,
        }

    @property
    def seeding(self) -> bool:
        return self.have.complete()

    @property
    def done(self) -> bool:
        """Every wanted piece is in: a seed, unless files were left out."""
        return self.settled.complete()

    def swarm_view(self) -> SwarmView:
        """What the picker and the choker see of our side of the swarm: as ``have``, the
        pieces we need no more, so a picker never asks for a piece outside the selection."""
        return SwarmView(num_pieces=self.num_pieces, have=self.settled, availability=self.availability,
                         in_progress=frozenset(self.download.pieces), rng=self.rng, now=self.now,
                         seeding=self.seeding)

    # -- events ----------------------------------------------------------------------

    def peer_connected(self, key: Hashable, now: float, *, fast: bool = False, extensions: bool = False,
                       address: str | None = None) -> Actions:
        """A handshake finished; returns what we tell the peer first (our pieces, and for a
        BEP 6 peer at IPv4 ``address`` its allowed fast set)."""
        self.now = now
        if key in self.peers:
            return [Close(key, "a peer with this key is already connected")]
        peer = self.peers[key] = Peer(key, PieceSet(self.num_pieces), now, fast=fast, extensions=extensions)
        peer.down.window = peer.up.window = self.config.rate_window
        out: Actions = []
        if self.superseed is not None:  # BEP 16: pretend to have nothing, then offer one piece
            if fast:
                peer.send(wire.HaveNone(), now, out)
            self._offer(peer, out)
        elif fast and self.have.count == 0:
            peer.send(wire.HaveNone(), now, out)
        elif fast and self.seeding:
            peer.send(wire.HaveAll(), now, out)
        elif self.have.count:
            peer.send(wire.Bitfield(self.have.to_bytes()), now, out)
        if fast and address is not None:
            self._grant_allowed_fast(peer, address, out)
        out.append(Event("peer_connected", {"peer": str(key), "fast": fast, "extensions": extensions}))
        self.hook.btref_peer_connected(peer=peer.view(now))
        return out

    def message_received(self, key: Hashable, msg: Any, now: float) -> Actions:
        """A message from peer ``key``; unknown keys (already closed) are ignored."""
        return self.messages_received(key, (msg,), now)

    def messages_received(self, key: Hashable, msgs: Iterable[Any], now: float) -> Actions:
        """Messages from peer ``key``, in the order they arrived (say, all that one read
        of its socket brought): each is handled in turn, and the peer's request queue is
        topped up once, after the last, if blocks came in."""
        self.now = now
        peer = self.peers.get(key)
        out: Actions = []
        if peer is None:
            return out
        received = peer.bytes_downloaded
        try:
            for msg in msgs:
                handler = self._handlers.get(type(msg))
                if handler is None:
                    raise ProtocolError(f"unexpected {type(msg).__name__} message")
                handler(peer, msg, out)
                if self.peers.get(key) is not peer:  # banned on the way
                    return out
        except BtrefError as exc:  # the peer's fault; a plugin's bug is not caught here
            self._close(peer, str(exc), out)
            return out
        if peer.bytes_downloaded != received:  # blocks came in: ask for more
            self.download.fill(peer, now, out)
        return out

    def haves_received(self, haves: Iterable[tuple[Hashable, int]], now: float) -> Actions:
        """Many ``have`` messages at once: ``(key, index)`` pairs, peer ``key`` announcing
        piece ``index``, in the order they arrived.

        The same as :meth:`message_received` with ``Have(index)`` for each pair, except that
        each peer's interest and request queue are updated once, after the last pair. A
        driver that parsed several ``have`` messages in one read may use it; the simulator
        does, since most of its messages are ``have`` messages. Unknown keys are ignored;
        a peer naming a piece out of range is closed, and its later pairs are ignored.
        """
        self.now = now
        out: Actions = []
        news: dict[Hashable, int] = {}  # key -> how many of the announced pieces we lack
        # Bound once: this loop runs once per have message, 36 million times in a crowd of
        # 1,000 x 1,000 (bench/sim.py). Only a session that wants nothing more finds a peer
        # redundant, and haves never change what we have.
        peers, availability, num_pieces, done = self.peers, self.availability, self.num_pieces, self.done
        for key, index in haves:
            peer = peers.get(key)
            if peer is None:
                continue
            if not 0 <= index < num_pieces:
                self._close(peer, f"piece index {index} out of range 0..{num_pieces - 1}", out)
            elif peer.has.set(index) and availability.add(index):  # true for a piece we lack
                news[key] = news.get(key, 0) + 1
            else:
                if self.superseed is not None:
                    self._super_seen(peer, (index,), False, out)
                if done and self._redundant(peer):  # its last piece, and we seed: a seed like us
                    self._drop_redundant(peer, out)
        for key, count in news.items():
            peer = self.peers.get(key)
            if peer is not None:  # (None: closed by a later pair)
                peer.wanted += count
                if not peer.am_interested:  # news can only make us interested
                    self._update_interest(peer, out)
                if not peer.peer_choking or peer.allowed_fast:  # else it would not send
                    self.download.fill(peer, now, out)
        return out

    def peer_disconnected(self, key: Hashable, now: float, reason: str = "") -> Actions:
        """The connection to ``key`` ended."""
        self.now = now
        out: Actions = []
        if key in self.peers:
            self._drop(self.peers[key], reason, out)
        return out

    def block_read(self, key: Hashable, index: int, begin: int, data: bytes | memoryview, now: float) -> Actions:
        """The driver read a block asked for by :class:`ReadBlock`: send it, if still wanted."""
        self.now = now
        peer = self.peers.get(key)
        request = (index, begin, len(data))
        if peer is None or request not in peer.serving or (peer.am_choking and index not in peer.granted):
            return []
        peer.serving.remove(request)
        peer.bytes_uploaded += len(data)
        peer.up.add(len(data), now)
        out: Actions = []
        peer.send(wire.Piece(index, begin, data), now, out)
        return out

    def tick(self, now: float) -> Actions:
        """Time passed: rechoke, find snubbing peers, time out requests, keep alive."""
        self.now = now
        out: Actions = []
        cfg = self.config
        self.choking.tick(now, out)
        for peer in list(self.peers.values()):
            if peer.requests and not peer.snubbed and now - peer.waiting_since >= cfg.snub_timeout:
                peer.snubbed = True
                out.append(Event("snubbed", {"peer": str(peer.key), "since": peer.waiting_since}))
            # requests are in the order they were sent: look further only if the oldest expired
            if peer.requests and now - next(iter(peer.requests.values()))[1] >= cfg.request_timeout:
                expired = [(k, length) for k, (length, sent) in peer.requests.items()
                           if now - sent >= cfg.request_timeout]
                peer.slow_start = 0  # the peer cannot keep up: start over from the rate
                for (index, begin), length in expired:
                    self.download.release(peer, index, begin)
                    peer.send(wire.Cancel(index, begin, length), now, out)
                out.append(Event("request_timeout", {"peer": str(peer.key), "blocks": len(expired)}))
            if now - peer.last_sent_at >= cfg.keepalive_interval:
                peer.send(wire.KeepAlive(), now, out)
        self.download.fill_all(now, out)
        return out

    # -- what the peer has, and our interest (BEP 3 "have", "bitfield"; BEP 6) ------------

    def _on_have(self, peer: Peer, msg: wire.Have, out: Actions) -> None:
        out += self.haves_received([(peer.key, msg.index)], self.now)  # one path for every have

    def _on_bitfield(self, peer: Peer, msg: wire.Bitfield, out: Actions) -> None:
        self._merge_pieces(peer, PieceSet.from_bytes(msg.payload, self.num_pieces), out)

    def _on_have_all(self, peer: Peer, msg: wire.HaveAll, out: Actions) -> None:
        self._require(peer.fast, "have all without the fast extension")
        self._merge_pieces(peer, PieceSet.full(self.num_pieces), out)

    def _on_have_none(self, peer: Peer, msg: wire.HaveNone, out: Actions) -> None:
        self._require(peer.fast, "have none without the fast extension")  # merging nothing changes nothing

    def _merge_pieces(self, peer: Peer, pieces: PieceSet, out: Actions) -> None:
        """Add a peer's ``bitfield`` (or ``have all``) to what it has; pieces never vanish."""
        if peer.has.count == 0:  # the usual case: the first message, a fresh set
            peer.has = pieces
            new = list(pieces)
        else:
            new = [index for index in pieces if peer.has.set(index)]
        for index in new:
            if self.availability.add(index):
                peer.wanted += 1
        if self.superseed is not None:
            self._super_seen(peer, new, True, out)
        if self._redundant(peer):
            self._drop_redundant(peer, out)
            return
        self._update_interest(peer, out)
        self.download.fill(peer, self.now, out)

    def _update_interest(self, peer: Peer, out: Actions) -> None:
        interested = peer.wanted > 0 and not self.seeding
        if interested != peer.am_interested:  # sending it moves the flag (Peer.follow)
            peer.send(wire.Interested() if interested else wire.NotInterested(), self.now, out)

    # -- super-seeding (BEP 16) -------------------------------------------------------------

    def _offer(self, peer: Peer, out: Actions) -> None:
        """Offer ``peer`` its next piece: a ``have`` for the piece :class:`SuperSeed` chose."""
        assert self.superseed is not None
        index = self.superseed.offer(peer.key, peer.has)
        if index is not None:
            peer.send(wire.Have(index), self.now, out)

    def _super_seen(self, peer: Peer, pieces: Iterable[int], had: bool, out: Actions) -> None:
        """``peer`` announced ``pieces``: the peers whose offered piece has passed on get a next one."""
        assert self.superseed is not None
        def everyone_has(index: int) -> bool:
            return all(other.has[index] for other in self.peers.values())

        for key in self.superseed.seen(peer.key, pieces, everyone_has, had=had):
            self._offer(self.peers[key], out)

    # -- choking (BEP 3 "choking"; BEP 6 "reject", "allowed fast") ------------------------

    def _on_choke(self, peer: Peer, msg: wire.Choke, out: Actions) -> None:
        peer.follow(msg, ours=False)
        # Without BEP 6 a choke drops every pending request; with it the peer should
        # reject them one by one, but we free the blocks now rather than wait (a block
        # that still arrives is used if we need it). Allowed-fast requests stay.
        released = [k for k in peer.requests if k[0] not in peer.allowed_fast]
        for index, begin in released:
            self.download.release(peer, index, begin)
        if released:  # those blocks may be asked of others now
            self.download.fill_all(self.now, out, skip=peer)

    def _on_unchoke(self, peer: Peer, msg: wire.Unchoke, out: Actions) -> None:
        peer.follow(msg, ours=False)
        peer.rejected.clear()
        self.download.fill(peer, self.now, out)

    def _on_interested(self, peer: Peer, msg: wire.Interested, out: Actions) -> None:
        peer.follow(msg, ours=False)
        if peer.am_choking:  # it may take a free slot
            self.choking.interest_changed(peer, self.now, out)

    def _on_not_interested(self, peer: Peer, msg: wire.NotInterested, out: Actions) -> None:
        peer.follow(msg, ours=False)
        if not peer.am_choking:  # its slot is free
            self.choking.interest_changed(peer, self.now, out)

    def _on_reject(self, peer: Peer, msg: wire.Reject, out: Actions) -> None:
        self._require(peer.fast, "reject without the fast extension")
        if (msg.index, msg.begin) in peer.requests:  # else late or never ours: harmless
            self.download.release(peer, msg.index, msg.begin)
            peer.rejected.add(msg.index)  # do not ask again until the next unchoke
            self.download.fill_all(self.now, out, skip=peer)

    def _grant_allowed_fast(self, peer: Peer, address: str, out: Actions) -> None:
        """Give a new BEP 6 peer its canonical allowed fast set. The whole set, also the
        pieces we lack: the set is the same from every uploader, and the peer asks for a
        piece only once we announce it."""
        size = self.config.allowed_fast_set_size
        try:
            pieces = allowed_fast_set(address, self.torrent.info_hash, self.num_pieces, size) if size > 0 else []
        except ValueError:  # BEP 6 defines the set for IPv4 only
            return
        peer.granted = frozenset(pieces)
        for index in pieces:
            peer.send(wire.AllowedFast(index), self.now, out)

    def _on_allowed_fast(self, peer: Peer, msg: wire.AllowedFast, out: Actions) -> None:
        self._require(peer.fast, "allowed fast without the fast extension")
        self._check_index(msg.index)
        peer.allowed_fast.add(msg.index)
        self.download.fill(peer, self.now, out)

    # -- serving: requests for our blocks -------------------------------------------------

    def _on_request(self, peer: Peer, msg: wire.Request, out: Actions) -> None:
        index, begin, length = msg.index, msg.begin, msg.length
        self._check_index(index)
        if not (0 < length <= wire.BLOCK_SIZE and 0 <= begin and begin + length <= self.torrent.piece_size(index)):
            raise ProtocolError(f"request ({index}, {begin}, {length}) outside piece {index}")
        choked = peer.am_choking and index not in peer.granted  # BEP 6: granted pieces pass a choke
        hidden = self.superseed is not None and not self.superseed.shown(peer.key, index)  # BEP 16
        if not self.have[index] or hidden or choked or len(peer.serving) >= self.config.max_peer_requests:
            if peer.fast:  # BEP 6: every request gets an answer, so refuse explicitly
                peer.send(wire.Reject(index, begin, length), self.now, out)
            return
        if (index, begin, length) not in peer.serving:
            peer.serving.add((index, begin, length))
            out.append(ReadBlock(peer.key, index, begin, length))

    def _on_cancel(self, peer: Peer, msg: wire.Cancel, out: Actions) -> None:
        peer.serving.discard((msg.index, msg.begin, msg.length))

    def _on_extended(self, peer: Peer, msg: wire.Extended, out: Actions) -> None:
        self._require(peer.extensions, "extended message without the extension protocol")
        if msg.ext_id != 0:
            return  # ut_metadata, ut_pex...: the driver's plugins handle those
        handshake = decode(msg.payload, strict=False)
        if not isinstance(handshake, dict):
            return
        reqq = handshake.get(b"reqq")
        if isinstance(reqq, int) and reqq > 0:
            peer.reqq = min(reqq, self.config.max_queue)
        upload_only = handshake.get(b"upload_only")  # BEP 21
        peer.upload_only = isinstance(upload_only, int) and upload_only != 0
        if self._redundant(peer):
            self._drop_redundant(peer, out)

    # -- downloading: a block arrives -------------------------------------------------------

    # [docs: on-piece]
    def _on_piece(self, peer: Peer, msg: wire.Piece, out: Actions) -> None:
        self._check_index(msg.index)
        piece = self.download.block_received(peer, msg.index, msg.begin, msg.block, self.now, out)
        if piece is None:
            return  # unasked, or late and no longer needed
        if not piece.missing:  # the last block: verify the piece
            passed, bans = self.download.judge(piece, out)
            if passed:
                self._announce(piece.index, out)
            for key, reason in bans:
                self._ban(key, reason, out)
    # [/docs: on-piece]

    # [docs: announce]
    def _announce(self, index: int, out: Actions) -> None:
        """A verified piece: tell every peer (``have``), update interest, maybe complete."""
        holders = [peer for peer in self.peers.values() if peer.has[index]]
        if self.config.redundant_haves:  # libtorrent's default: every peer hears of it
            told = tuple(self.peers)
        else:  # "have suppression": only the peers that lack it
            told = tuple(key for key, peer in self.peers.items() if not peer.has[index])
        out.append(Broadcast(told, wire.Have(index)))
        for key in told:
            self.peers[key].last_sent_at = self.now
        for peer in holders:  # one piece fewer we want from each of them
            peer.wanted -= 1
            if peer.wanted == 0:  # nothing left to want (completion updates everybody)
                self._update_interest(peer, out)
        out.append(Event("piece_verified", {"index": index}))
        self.hook.btref_piece_verified(torrent=self.torrent, index=index)
        if self.done:
            self._complete(out)
    # [/docs: announce]

    def _complete(self, out: Actions) -> None:
        out.append(Complete())
        out.append(Event("complete", {"pieces": self.have.count}))
        self.hook.btref_torrent_complete(torrent=self.torrent)
        for peer in list(self.peers.values()):  # end game cancelled every duplicate already
            if self._redundant(peer):
                self._drop_redundant(peer, out)
                continue
            peer.snubbed = False  # only a downloader can be snubbed
            self._update_interest(peer, out)
        self.choking.rechoke(self.now, out)  # seed mode ranks peers differently

    # -- peers leaving ------------------------------------------------------------------

    def _redundant(self, peer: Peer) -> bool:
        """Neither side wants anything: we seed, and the peer is a seed or only uploads (BEP 21)."""
        return self.config.close_redundant and self.seeding and (peer.upload_only or peer.has.complete())

    def _drop_redundant(self, peer: Peer, out: Actions) -> None:
        reason = "both sides only upload (BEP 21)"
        out.append(Close(peer.key, reason))
        self._drop(peer, reason, out)

    def _ban(self, key: Hashable, reason: str, out: Actions) -> None:
        """Refuse ``key`` from now on; drop it if it is still connected."""
        if key in self.banned:
            return
        self.banned.add(key)
        out.append(Ban(key, reason))
        out.append(Event("peer_banned", {"peer": str(key), "reason": reason}))
        peer = self.peers.get(key)
        if peer is not None:
            self.hook.btref_peer_banned(peer=peer.view(self.now), reason=reason)
            self._drop(peer, reason, out)

    def _close(self, peer: Peer, reason: str, out: Actions) -> None:
        out.append(Close(peer.key, reason))
        out.append(Event("protocol_error", {"peer": str(peer.key), "reason": reason}))
        self._drop(peer, reason, out)

    def _drop(self, peer: Peer, reason: str, out: Actions) -> None:
        """Forget a peer: its pieces leave the availability, its blocks go back to the pool."""
        del self.peers[peer.key]
        for index in peer.has:
            self.availability.add(index, -1)
        for index, begin in list(peer.requests):
            self.download.release(peer, index, begin)
        self.download.peer_left(peer.key)
        if self.superseed is not None:
            self.superseed.forget(peer.key)
        out.append(Event("peer_disconnected", {"peer": str(peer.key), "reason": reason}))
        self.hook.btref_peer_disconnected(peer=peer.view(self.now), reason=reason)
        if not peer.am_choking and peer.peer_interested:  # its slot is free
            self.choking.interest_changed(peer, self.now, out)
        self.choking.forget(peer.key)
        self.download.fill_all(self.now, out)

    # -- checks -----------------------------------------------------------------------------

    def _ignore(self, peer: Peer, msg: Any, out: Actions) -> None:
        pass

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.num_pieces:
            raise ProtocolError(f"piece index {index} out of range 0..{self.num_pieces - 1}")

    @staticmethod
    def _require(condition: bool, message: str) -> None:
        if not condition:
            raise ProtocolError(message)


def _settled(have: PieceSet, wanted: PieceSet) -> PieceSet:
    """``have`` plus every piece outside ``wanted``."""
    settled = PieceSet.full(len(have))
    for index in wanted:
        if not have[index]:
            settled.clear(index)
    return settled
