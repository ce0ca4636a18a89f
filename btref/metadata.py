"""Metadata exchange: fetching the info dictionary from peers (BEP 9 ``ut_metadata`` over BEP 10).

A magnet link names a torrent by its info hash only. BEP 9 lets a client ask peers for the
info dictionary ("the metadata") in pieces of 16 KiB, then check it against that hash. The
extension is announced in the BEP 10 handshake as ``m: {"ut_metadata": id}``, together with
``metadata_size`` (bytes of the bencoded info dictionary). Three messages, each a bencoded
dictionary, the ``data`` one followed by the raw piece bytes (found with
:func:`btref.bencode.decode_prefix`)::

    {"msg_type": 0, "piece": i}                      request
    {"msg_type": 1, "piece": i, "total_size": n}     data  + up to 16 KiB of metadata
    {"msg_type": 2, "piece": i}                      reject

This module is sans-I/O like :mod:`btref.session`: :class:`MetadataFetcher` takes events
(a peer's extension handshake, an ``ut_metadata`` payload, a clock tick) and returns
:class:`~btref.actions.Send` / :class:`~btref.actions.Close` / :class:`~btref.actions.Ban`
actions; :func:`answer_request` is the serving side of a peer that has the metadata.

Invariants (peers are untrusted):

* nothing is allocated for a ``metadata_size`` above :data:`MAX_METADATA_SIZE` (16 MiB); such
  a peer is closed before we ask it anything;
* a ``data`` piece is taken only for a piece we asked *that* peer for, with the agreed
  ``total_size`` and exactly the expected length (16 KiB, or the remainder for the last piece);
* the assembled bytes are accepted only when their SHA-1 is the v1 info hash (BEP 9) and, when
  the link carries a v2 hash (``urn:btmh``, BEP 52), their SHA-256 is that hash too; otherwise
  every peer that sent a piece of them is banned and the fetch starts over with the others;
* a reject or a request unanswered for :data:`REQUEST_TIMEOUT` seconds hands the piece to
  another peer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from typing import Generic, TypeVar, Union

import attrs

from btref import bencode, wire
from btref.actions import Ban, Close, Send
from btref.errors import BencodeError, ProtocolError
from btref.extension import ExtensionHandshake

__all__ = [
    "PIECE_SIZE", "MAX_METADATA_SIZE", "REQUEST_TIMEOUT", "REQUEST", "DATA", "REJECT",
    "MetadataMessage", "encode_message", "decode_message", "answer_request", "MetadataFetcher",
    "MetadataAction",
]

#: What the fetcher asks its driver to do.
MetadataAction = Union[Send, Close, Ban]
K = TypeVar("K", bound=Hashable)  # what names a peer

#: Bytes in one metadata piece (BEP 9: 16 KiB; only the last piece may be shorter).
PIECE_SIZE = 16 * 1024
#: Largest info dictionary we fetch: libtorrent refuses above 4 MiB by default; 16 MiB is generous.
MAX_METADATA_SIZE = 16 * 1024 * 1024
#: Seconds a peer has to answer a request before the piece goes to another peer.
REQUEST_TIMEOUT = 10.0
#: Requests outstanding to one peer at a time.
PER_PEER = 8
REQUEST, DATA, REJECT = 0, 1, 2


@attrs.frozen
class MetadataMessage:
    """One ``ut_metadata`` message: its type, piece, and for ``data`` the total size and bytes."""

    msg_type: int
    piece: int
    total_size: int | None = None
    data: bytes = b""


def encode_message(msg: MetadataMessage) -> bytes:
    """The payload of an ``extended`` message carrying ``msg`` (without the extension id)."""
    d: dict[bytes, object] = {b"msg_type": msg.msg_type, b"piece": msg.piece}
    if msg.total_size is not None:
        d[b"total_size"] = msg.total_size
    return bencode.encode(d) + msg.data


def decode_message(payload: bytes | memoryview) -> MetadataMessage:
    """Parse a ``ut_metadata`` payload.

    A ``msg_type`` other than 0, 1, 2 gives a message with ``piece == -1``, which every
    caller ignores (BEP 9: "an unrecognized message ID MUST be ignored").

    :raises ProtocolError: bad bencoding, a missing or wrong-typed field, a piece index out of range, or trailing bytes that are not a ``data``
        message's piece (or longer than one piece).
    """
    try:
        d, used = bencode.decode_prefix(payload, strict=False)
    except BencodeError as exc:
        raise ProtocolError(f"ut_metadata: not a bencoded dictionary: {exc}") from exc
    if not isinstance(d, dict):
        raise ProtocolError(f"ut_metadata: message must be a dictionary, got {type(d).__name__}")
    msg_type, piece, total = d.get(b"msg_type"), d.get(b"piece"), d.get(b"total_size")
    if not isinstance(msg_type, int) or isinstance(msg_type, bool):
        raise ProtocolError(f"ut_metadata: msg_type must be an integer, got {msg_type!r}")
    if msg_type not in (REQUEST, DATA, REJECT):  # BEP 9: unknown types are ignored (future use)
        return MetadataMessage(msg_type, -1)
    if not isinstance(piece, int) or not 0 <= piece < MAX_METADATA_SIZE // PIECE_SIZE:
        raise ProtocolError(f"ut_metadata: piece must be an integer in 0..{MAX_METADATA_SIZE // PIECE_SIZE - 1}, "
                            f"got {piece!r}")
    data = bytes(payload[used:])
    if msg_type != DATA:
        if data:
            raise ProtocolError(f"ut_metadata: {len(data)} bytes after a msg_type {msg_type} message")
        return MetadataMessage(msg_type, piece)
    if not isinstance(total, int) or not 0 < total:
        raise ProtocolError(f"ut_metadata: data message needs a positive total_size, got {total!r}")
    if len(data) > PIECE_SIZE:
        raise ProtocolError(f"ut_metadata: data piece of {len(data)} bytes (at most {PIECE_SIZE})")
    return MetadataMessage(DATA, piece, total, data)


def num_pieces(size: int) -> int:
    """How many 16 KiB pieces a metadata of ``size`` bytes has."""
    return -(-size // PIECE_SIZE)


def answer_request(info_bytes: bytes, payload: bytes | memoryview) -> bytes | None:
    """The seeder's side: the reply payload to a ``ut_metadata`` message, or ``None`` for none.

    A request for an existing piece gets a ``data`` message; one past the end a ``reject``.
    ``data`` and ``reject`` messages (we never ask) get no reply.

    :raises ProtocolError: the payload is malformed (see :func:`decode_message`).
    """
    msg = decode_message(payload)
    if msg.msg_type != REQUEST:
        return None
    if msg.piece >= num_pieces(len(info_bytes)):
        return encode_message(MetadataMessage(REJECT, msg.piece))
    start = msg.piece * PIECE_SIZE
    chunk = info_bytes[start:start + PIECE_SIZE]
    return encode_message(MetadataMessage(DATA, msg.piece, len(info_bytes), chunk))


@attrs.define
class _Peer:
    ut_metadata: int  # the id the peer wants to receive ut_metadata under
    size: int
    asked: dict[int, float] = attrs.Factory(dict)  # piece -> when we asked


class MetadataFetcher(Generic[K]):
    """Collect the info dictionary of a magnet link from the peers that offer it (BEP 9).

    Feed it :meth:`peer_handshake` (the peer's BEP 10 handshake), :meth:`message_received`
    (an ``ut_metadata`` payload), :meth:`peer_disconnected` and :meth:`tick`; carry out the
    actions they return. When :attr:`info_bytes` is set, the metadata is verified.
    """

    def __init__(self, info_hash_v1: bytes | None, info_hash_v2: bytes | None = None, *,
                 max_size: int = MAX_METADATA_SIZE, timeout: float = REQUEST_TIMEOUT) -> None:
        if info_hash_v1 is None and info_hash_v2 is None:
            raise ValueError("a metadata fetch needs a v1 or a v2 info hash")
        self.info_hash_v1, self.info_hash_v2 = info_hash_v1, info_hash_v2
        self.max_size, self.timeout = max_size, timeout
        self.peers: dict[K, _Peer] = {}
        self.banned: set[K] = set()
        self.size: int | None = None  # the size we are assembling (from the first willing peer)
        self.pieces: list[bytes | None] = []
        self.senders: dict[int, K] = {}  # piece -> the peer that sent it
        self.info_bytes: bytes | None = None
        self.failures = 0

    @property
    def done(self) -> bool:
        return self.info_bytes is not None

    # -- events --------------------------------------------------------------------------

    def peer_handshake(self, key: K, handshake: ExtensionHandshake, now: float) -> list[MetadataAction]:
        """A peer's extension handshake arrived: remember it if it can serve the metadata."""
        ext_id, size = handshake.m.get("ut_metadata", 0), handshake.metadata_size
        if self.done or key in self.banned or not ext_id:
            return []
        if size is not None and not 0 < size <= self.max_size:
            self.peers.pop(key, None)
            return [Close(key, f"metadata_size {size} outside 1..{self.max_size}")]
        if size is None:  # BEP 9: a peer without the metadata leaves the size out
            return []
        self.peers[key] = _Peer(ext_id, size)
        if self.size is None:
            self._begin(size)
        return self._fill(now)

    def message_received(self, key: K, payload: bytes | memoryview, now: float) -> list[MetadataAction]:
        """An ``ut_metadata`` payload from ``key``; a broken one closes that peer."""
        peer = self.peers.get(key)
        try:
            msg = decode_message(payload)
        except ProtocolError as exc:
            self.peers.pop(key, None)
            return [Close(key, str(exc)), *self._fill(now)]
        if msg.msg_type not in (REQUEST, DATA, REJECT):
            return []
        if msg.msg_type == REQUEST:  # we have nothing to serve yet
            return [Send(key, wire.Extended(peer.ut_metadata, encode_message(MetadataMessage(REJECT, msg.piece))))
                    ] if peer is not None else []
        if peer is None or self.done or msg.piece not in peer.asked:
            return []  # unasked-for: ignore (it may be an answer to a request we timed out)
        del peer.asked[msg.piece]
        if msg.msg_type == REJECT:
            peer.size = 0  # it will not serve us: ask the others
            return self._fill(now)
        assert self.size is not None
        expected = min(PIECE_SIZE, self.size - msg.piece * PIECE_SIZE)
        if msg.total_size != self.size or len(msg.data) != expected:
            self.peers.pop(key)
            return [Close(key, f"ut_metadata piece {msg.piece}: {len(msg.data)} bytes of total_size "
                               f"{msg.total_size}, expected {expected} of {self.size}"), *self._fill(now)]
        self.pieces[msg.piece] = msg.data
        self.senders[msg.piece] = key
        if all(p is not None for p in self.pieces):
            return self._check(now)
        return self._fill(now)

    def peer_disconnected(self, key: K, now: float) -> list[MetadataAction]:
        self.peers.pop(key, None)
        return self._fill(now)

    def tick(self, now: float) -> list[MetadataAction]:
        """Time passed: requests older than the timeout go to other peers."""
        for peer in self.peers.values():
            late = [piece for piece, sent in peer.asked.items() if now - sent >= self.timeout]
            for piece in late:
                del peer.asked[piece]
            if late:
                peer.size = 0  # slow or silent: prefer the others from now on
        return self._fill(now)

    # -- bookkeeping -------------------------------------------------------------------

    def _begin(self, size: int) -> None:
        self.size = size
        self.pieces = [None] * num_pieces(size)
        self.senders.clear()

    def _fill(self, now: float) -> list[MetadataAction]:
        """Ask willing peers for the pieces nobody is fetching."""
        if self.done:
            return []
        if self.size is None or not any(p.size == self.size for p in self.peers.values()):
            sizes = [p.size for p in self.peers.values() if p.size]
            if not sizes:
                return []
            self._begin(sizes[0])  # the first peer's claim did not work out: try another's
        wanted = [i for i, p in enumerate(self.pieces) if p is None
                  and not any(i in peer.asked for peer in self.peers.values())]
        out: list[MetadataAction] = []
        for key, peer in self.peers.items():
            while wanted and peer.size == self.size and len(peer.asked) < PER_PEER:
                piece = wanted.pop(0)
                peer.asked[piece] = now
                out.append(Send(key, wire.Extended(peer.ut_metadata, encode_message(MetadataMessage(REQUEST, piece)))))
        return out

    # [docs: check]
    def _check(self, now: float) -> list[MetadataAction]:
        data = b"".join(p for p in self.pieces if p is not None)
        ok = True
        if self.info_hash_v1 is not None:
            ok = hashlib.sha1(data).digest() == self.info_hash_v1
        if ok and self.info_hash_v2 is not None:
            ok = hashlib.sha256(data).digest() == self.info_hash_v2
        if ok:
            self.info_bytes = data
            return []
        # Without per-piece hashes we cannot tell the liar, so all who sent pieces are out.
        self.failures += 1
        out: list[MetadataAction] = []
        for key in sorted(set(self.senders.values()), key=str):
            self.banned.add(key)
            self.peers.pop(key, None)
            out.append(Ban(key, "sent metadata that does not match the info hash"))
        self.size = None
        self.pieces = []
        return out + self._fill(now)
    # [/docs: check]
