"""Peer exchange: connected peers tell each other whom else they know (BEP 11 ``ut_pex``).

Every peer that announced ``ut_pex`` in its BEP 10 handshake gets, at most once a minute, a
bencoded dictionary of the changes since the last message we sent it::

    added / added.f       compact IPv4 peers (BEP 23) and one flag byte each
    added6 / added6.f     the same for IPv6 (18 bytes per peer, BEP 7)
    dropped / dropped6    peers we are no longer connected to

Flags (``added.f``): ``0x02`` seed, ``0x10`` reachable (we connected out to it). Rules kept:
at most :attr:`PEX.max_entries` (50) added and 50 dropped per message, never a message for a
private torrent (BEP 27: ``public_only``), never the peer's own address, and no more than one
message per peer per :attr:`PEX.interval` seconds (60). Received lists longer than BEP 11
allows are cut, not trusted; a malformed message is a :class:`~btref.errors.ProtocolError`.

The driver feeds the plugin (:meth:`peer_connected`, :meth:`message_received`,
:meth:`peer_disconnected`) and sends what :meth:`messages` returns. Peers learnt reach the
driver like every discovery result: :meth:`message_received` returns them at once, and the
``btref_announce`` hook hands out those learnt since the last announce.
"""

from __future__ import annotations

from collections.abc import Awaitable, Hashable

from btref import bencode
from btref.discovery import (AnnounceRequest, AnnounceResult, PeerAddress, decode_compact_peers,
                             decode_compact_peers6, encode_compact_peers)
from btref.errors import BencodeError, ProtocolError, TrackerError
from btref.hookspecs import hookimpl

REACHABLE, SEED = 0x10, 0x02


def encode_pex(added: list[tuple[PeerAddress, int]], dropped: list[PeerAddress]) -> bytes:
    """The ``ut_pex`` payload for these changes (flags in the same order as ``added``)."""
    msg: dict[bytes, bytes] = {}
    for family, key in ((4, b"added"), (6, b"added6")):
        chosen = [(p, f) for p, f in added if (":" in p.host) == (family == 6)]
        msg[key] = encode_compact_peers(p for p, _ in chosen)[family == 6]
        msg[key + b".f"] = bytes(f for _, f in chosen)
    v4, v6 = encode_compact_peers(dropped)
    msg[b"dropped"], msg[b"dropped6"] = v4, v6
    return bencode.encode(msg)


def decode_pex(payload: bytes | memoryview, limit: int = 50) -> tuple[list[PeerAddress], list[PeerAddress]]:
    """``(added, dropped)`` of a ``ut_pex`` payload, each cut to ``limit`` peers per family.

    :raises ProtocolError: not a bencoded dictionary, or a peer list of the wrong length.
    """
    try:
        msg = bencode.decode(payload, strict=False)
    except BencodeError as exc:
        raise ProtocolError(f"ut_pex: not valid bencoding: {exc}") from exc
    if not isinstance(msg, dict):
        raise ProtocolError("ut_pex: message must be a dictionary")
    lists = []
    for keys in ((b"added", b"added6"), (b"dropped", b"dropped6")):
        peers: list[PeerAddress] = []
        for key, decode, size in zip(keys, (decode_compact_peers, decode_compact_peers6), (6, 18)):
            value = msg.get(key, b"")
            if not isinstance(value, bytes):
                raise ProtocolError(f"ut_pex: {key.decode()!r} must be a string")
            try:  # cut before decoding: a peer's claim costs us at most `limit` entries
                peers += decode(value[:limit * size]) if len(value) % size == 0 else decode(value)
            except TrackerError as exc:
                raise ProtocolError(f"ut_pex: {key.decode()!r}: {exc}") from exc
        lists.append(peers)
    return lists[0], lists[1]


class PEX:
    """Peer exchange (BEP 11 ut_pex): learn peers from the peers we are connected to."""

    family = "discovery"
    name = "pex"
    #: BEP 27: never for a private torrent.
    public_only = True

    def __init__(self, interval: float = 60.0, max_entries: int = 50) -> None:
        self.interval, self.max_entries = interval, max_entries
        self.connected: dict[Hashable, tuple[PeerAddress | None, int]] = {}  # key -> (listen address, flags)
        self.ut_pex: dict[Hashable, int] = {}  # peers that take ut_pex -> their id for it
        self.told: dict[Hashable, set[PeerAddress]] = {}  # what each peer has heard from us
        self.last_sent: dict[Hashable, float] = {}
        self.learnt: list[PeerAddress] = []  # since the last announce

    # -- driver side -------------------------------------------------------------------

    def peer_connected(self, key: Hashable, address: PeerAddress | None, ut_pex: int = 0, flags: int = 0) -> None:
        """A peer finished its handshakes; ``address`` is where it listens (if known)."""
        self.connected[key] = (address, flags)
        if ut_pex:
            self.ut_pex[key] = ut_pex
            self.told.setdefault(key, set())

    def peer_disconnected(self, key: Hashable) -> None:
        for table in (self.connected, self.ut_pex, self.told, self.last_sent):
            table.pop(key, None)

    def message_received(self, key: Hashable, payload: bytes | memoryview) -> list[PeerAddress]:
        """The peers a ``ut_pex`` message adds (also kept for the next announce)."""
        added, _ = decode_pex(payload, self.max_entries)
        self.learnt += added
        return added

    # [docs: messages]
    def messages(self, now: float, *, private: bool = False) -> list[tuple[Hashable, int, bytes]]:
        """``(key, ut_pex id, payload)`` for each peer due a message (changes, and a minute passed)."""
        if private:
            return []
        listening = {addr: flags for addr, flags in self.connected.values() if addr is not None}
        out = []
        for key, ext_id in self.ut_pex.items():
            last = self.last_sent.get(key)
            if last is not None and now - last < self.interval:
                continue
            own, told = self.connected[key][0], self.told[key]
            added = [a for a in listening if a not in told and a != own][:self.max_entries]
            dropped = [a for a in told if a not in listening][:self.max_entries]
            if not (added or dropped):
                continue
            told.update(added)
            told.difference_update(dropped)
            self.last_sent[key] = now
            out.append((key, ext_id, encode_pex([(a, listening[a]) for a in added], dropped)))
        return out
    # [/docs: messages]

    # -- the discovery hook ------------------------------------------------------------

    @hookimpl
    def btref_announce(self, request: AnnounceRequest) -> Awaitable[AnnounceResult] | None:
        """Peers learnt by PEX since the last announce; ``None`` for a private torrent."""
        if request.private:
            return None
        return self._answer()

    async def _answer(self) -> AnnounceResult:
        peers, self.learnt = list(dict.fromkeys(self.learnt)), []
        return AnnounceResult(peers=peers, interval=1800)
