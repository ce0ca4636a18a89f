"""Targets for the peer wire conformance suite (BEP 3 "peer protocol"; BEP 6).

A *target* is a seeder we talk to. The scenarios only need four things from it: what
torrent it serves (:class:`TorrentFacts`), a way to open a :class:`Link` (raw bytes in and
out), and a name for the report. Three kinds exist:

* :class:`MemoryTarget`: btref's own :class:`~btref.connection.Connection` playing a
  seeder in memory (no sockets);
* :class:`SocketTarget`: any client listening on ``HOST:PORT`` (``--wire-target``);
* :func:`libtorrent_seeder`: starts a libtorrent session on loopback seeding a small
  torrent, and yields a :class:`SocketTarget` for it.

:class:`Client` is our side of a scenario: a btref ``Connection`` that checks every message
the target sends (so a target sending a bad bitfield fails the scenario), plus raw sending
for the rule-breaking messages a scenario sends on purpose.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

from btref import bencode, wire
from btref.connection import Connection
from btref.errors import ProtocolError
from btref.pieceset import PieceSet

#: Seconds a socket read may wait before the scenario fails (a target that hangs).
TIMEOUT = 10.0


@attrs.frozen
class TorrentFacts:
    """What a scenario must know about the torrent the target seeds (v1 only)."""

    info_hash: bytes
    piece_length: int
    total_length: int
    piece_hashes: tuple[bytes, ...]

    @property
    def num_pieces(self) -> int:
        return len(self.piece_hashes)

    def piece_size(self, index: int) -> int:
        return min(self.piece_length, self.total_length - index * self.piece_length)

    @classmethod
    def from_torrent(cls, data: bytes) -> TorrentFacts:
        top, spans = bencode.decode_with_spans(data)
        info = top[b"info"]
        start, end = spans[b"info"]
        length = info.get(b"length") or sum(f[b"length"] for f in info[b"files"])
        pieces = info[b"pieces"]
        return cls(hashlib.sha1(data[start:end]).digest(), info[b"piece length"], length,
                   tuple(pieces[i : i + 20] for i in range(0, len(pieces), 20)))


class Link:
    """Raw bytes to and from a target. ``recv`` returns ``b""`` once the target closed."""

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def recv(self) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SocketLink(Link):
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:  # the target may close first; the next recv says so
            pass

    def recv(self) -> bytes:
        try:
            return self.sock.recv(65536)
        except ConnectionResetError:
            return b""

    def close(self) -> None:
        self.sock.close()


@attrs.define
class SocketTarget:
    """A client listening on ``host:port`` and seeding the torrent ``facts`` describe."""

    host: str
    port: int
    facts: TorrentFacts
    name: str = "socket"

    def connect(self) -> Link:
        return SocketLink(self.host, self.port)


class MemorySeeder(Link):
    """btref's Connection as a seeder: answers in memory, closes on a ProtocolError."""

    def __init__(self, facts: TorrentFacts, data: bytes) -> None:
        self.facts, self.data = facts, data
        self.conn = Connection(facts.num_pieces, facts.piece_size, peer_id=b"-RF0100-memoryseeder",
                               info_hashes={facts.info_hash}, initiator=False,
                               reserved=wire.make_reserved(fast=True, extension=True))
        self.outbox = bytearray()
        self.closed = False
        self.unchoked = False

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            for msg in self.conn.receive_data(data):
                self._answer(msg)
        except ProtocolError:
            self.closed = True

    def _answer(self, msg: object) -> None:
        conn, out = self.conn, self.outbox
        if isinstance(msg, wire.Handshake):
            out += conn.send(conn.handshake())
            out += conn.send(wire.HaveAll() if conn.fast else wire.Bitfield(bytes(self._full())))
        elif isinstance(msg, wire.Interested):
            out += conn.send(wire.Unchoke())
            self.unchoked = True
        elif isinstance(msg, wire.Request):
            size = self.facts.piece_size(msg.index) if msg.index < self.facts.num_pieces else 0
            if not (0 < msg.length <= wire.BLOCK_SIZE and msg.begin + msg.length <= size):
                self.closed = True  # as a btref session does: a request outside the torrent closes
                return
            if self.unchoked:
                start = msg.index * self.facts.piece_length + msg.begin
                out += conn.send(wire.Piece(msg.index, msg.begin, self.data[start : start + msg.length]))
            elif conn.fast:
                out += conn.send(wire.Reject(msg.index, msg.begin, msg.length))

    def _full(self) -> bytearray:
        n = self.facts.num_pieces
        field = bytearray(b"\xff" * ((n + 7) // 8))
        if n % 8:
            field[-1] = (0xFF << (8 - n % 8)) & 0xFF
        return field

    def recv(self) -> bytes:
        if self.outbox:
            data, self.outbox = bytes(self.outbox), bytearray()
            return data
        if self.closed:
            return b""
        raise TimeoutError("the in-memory seeder has nothing more to say")

    def close(self) -> None:
        self.closed = True


@attrs.define
class MemoryTarget:
    """A btref seeder in memory, serving deterministic data of three pieces (the last short)."""

    data: bytes = bytes(i * 7 % 251 for i in range(2 * 32768 + 5000))
    piece_length: int = 32768
    name: str = "btref"

    @property
    def facts(self) -> TorrentFacts:
        hashes = tuple(hashlib.sha1(self.data[i : i + self.piece_length]).digest()
                       for i in range(0, len(self.data), self.piece_length))
        return TorrentFacts(hashlib.sha1(b"memory target").digest(), self.piece_length, len(self.data), hashes)

    def connect(self) -> Link:
        return MemorySeeder(self.facts, self.data)


@contextlib.contextmanager
def libtorrent_seeder(folder: Path) -> Iterator[SocketTarget]:
    """Start a libtorrent session on 127.0.0.1 seeding a fresh 3-piece torrent; stop it after."""
    import libtorrent as lt

    from tests.ltsession import close_session, loopback_settings, wait_until

    payload = folder / "payload.bin"
    payload.write_bytes(os.urandom(2 * 32768 + 5000))
    fs = lt.file_storage()
    fs.add_file("payload.bin", payload.stat().st_size)
    with warnings.catch_warnings():  # the file_storage constructor is deprecated in 2.x, still the simplest
        warnings.simplefilter("ignore", DeprecationWarning)
        creator = lt.create_torrent(fs, 32768)
    lt.set_piece_hashes(creator, str(folder))
    torrent = lt.bencode(creator.generate())
    session = lt.session(loopback_settings(alert_mask=0))
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = str(folder)
    handle = session.add_torrent(params)
    try:
        wait_until(lambda: handle.status().state == lt.torrent_status.seeding, "libtorrent's check of the data",
                   timeout=TIMEOUT)
        yield SocketTarget("127.0.0.1", session.listen_port(), TorrentFacts.from_torrent(torrent), "libtorrent")
    finally:
        close_session(session)
        del session


class Client:
    """Our side of one scenario: handshake, then messages checked by a btref Connection."""

    def __init__(self, target: SocketTarget | MemoryTarget, *, fast: bool = True,
                 info_hash: bytes | None = None) -> None:
        facts = target.facts
        self.facts = facts
        self.link = target.connect()
        peer_id = b"-RF0100-" + os.urandom(6).hex().encode()  # libtorrent drops a repeated peer id
        self.conn = Connection(facts.num_pieces, facts.piece_size, peer_id=peer_id,
                               info_hash=info_hash or facts.info_hash, reserved=wire.make_reserved(fast=fast))
        self.closed = False
        self.choked = True  # as the target sees it, message by message
        self.interested = False  # we told the target we are interested
        self.pieces = PieceSet(facts.num_pieces)  # what the target says it has
        self.requested: set[tuple[int, int, int]] = set()  # our requests not yet answered
        self.allowed_fast: set[int] = set()
        self.first = True  # the next message may still be a bitfield
        self.pending: list[object] = []

    def handshake(self) -> wire.Handshake | None:
        """Send our handshake; the target's answer, or ``None`` if it closed instead."""
        self.link.send(self.conn.send(self.conn.handshake()))
        return self.next(lambda m: isinstance(m, wire.Handshake))

    def send(self, msg: object) -> None:
        """Send ``msg`` as a well-behaved peer would."""
        if isinstance(msg, wire.Interested):
            self.interested = True
        elif isinstance(msg, wire.Request):
            self.requested.add((msg.index, msg.begin, msg.length))
        self.link.send(self.conn.send(msg))

    def send_raw(self, msg: object) -> None:
        """Send ``msg`` unchecked (a scenario breaking a rule on purpose)."""
        if isinstance(msg, wire.Request):  # so an answering reject is not "unrequested"
            self.requested.add((msg.index, msg.begin, msg.length))
        self.link.send(wire.encode(msg))

    def next(self, wanted: Callable[[object], bool]) -> object | None:
        """Read until a message ``wanted`` accepts (returned) or the target closes (``None``).

        Every message read on the way is checked; a piece while the target chokes us
        (and has not allowed that piece fast) fails the scenario at once.
        """
        while True:
            while self.pending:
                msg = self.pending.pop(0)
                if wanted(msg):
                    return msg
            if self.closed:
                return None
            data = self.link.recv()
            if not data:
                self.closed = True
                continue
            for msg in self.conn.receive_data(data):
                self.check(msg)
                self.pending.append(msg)

    def check(self, msg: object) -> None:
        """The rules of BEP 3 and 6 that depend on what came before; a target breaking one
        fails the scenario with a ProtocolError naming the rule."""
        facts, fast = self.facts, self.conn.fast
        if isinstance(msg, (wire.Handshake, wire.KeepAlive)):
            return
        if isinstance(msg, (wire.HaveAll, wire.HaveNone, wire.Suggest, wire.Reject, wire.AllowedFast)) and not fast:
            raise ProtocolError(f"target sent {type(msg).__name__} but the fast extension was not agreed")
        if isinstance(msg, wire.Extended) and not self.conn.extension:
            raise ProtocolError("target sent extended but the extension protocol was not agreed")
        first, self.first = self.first, self.first and isinstance(msg, (wire.Extended, wire.Port))
        if isinstance(msg, (wire.Bitfield, wire.HaveAll, wire.HaveNone)):
            if not first:
                raise ProtocolError(f"target sent {type(msg).__name__} after other messages (only allowed first)")
            if isinstance(msg, wire.Bitfield):
                self.pieces = PieceSet.from_bytes(msg.payload, facts.num_pieces)
            elif isinstance(msg, wire.HaveAll):
                self.pieces = PieceSet.full(facts.num_pieces)
        elif isinstance(msg, (wire.Choke, wire.Unchoke)):
            self.choked = isinstance(msg, wire.Choke)
            if self.choked and not fast:
                self.requested.clear()  # BEP 3: a choke drops every pending request
        elif isinstance(msg, (wire.Have, wire.AllowedFast, wire.Suggest, wire.Piece, wire.Reject)):
            # a reject echoes our request, even a bad one: it is checked against ours only
            if msg.index >= facts.num_pieces and not isinstance(msg, wire.Reject):
                raise ProtocolError(f"target sent {type(msg).__name__} for piece {msg.index} of {facts.num_pieces}")
            if isinstance(msg, wire.Have):
                self.pieces.set(msg.index)
            elif isinstance(msg, wire.AllowedFast):
                self.allowed_fast.add(msg.index)
            elif isinstance(msg, wire.Reject):
                request = (msg.index, msg.begin, msg.length)
                if request not in self.requested:
                    raise ProtocolError(f"target rejected a request we never made: {msg!r}")
                self.requested.discard(request)
            elif isinstance(msg, wire.Piece):
                size, length = facts.piece_size(msg.index), len(msg.block)
                if not 1 <= length <= wire.BLOCK_SIZE or msg.begin + length > size:
                    raise ProtocolError(f"target sent a block of {length} bytes at {msg.begin} of piece "
                                        f"{msg.index}, which has {size}")
                if self.choked and msg.index not in self.allowed_fast:
                    raise AssertionError(f"target sent a block of piece {msg.index} while choking us")
                self.requested.discard((msg.index, msg.begin, length))

    def close(self) -> None:
        self.link.close()
