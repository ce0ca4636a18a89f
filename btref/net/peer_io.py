"""One peer connection on a real socket: asyncio streams around a sans-I/O Connection (BEP 3).

:class:`PeerLink` joins three things: an asyncio ``StreamReader``/``StreamWriter`` pair,
a :class:`btref.connection.Connection` that checks every message in both directions (BEP 3
"peer protocol", BEP 6 fast extension, BEP 10 extension protocol), and a little output
queue. It decides nothing: the driver (:mod:`btref.net.driver`) asks the engine what to
do and tells the link what to send.

Speed by design:

* reads are big (:data:`READ_SIZE`, 256 KiB): one ``receive_data`` call parses dozens of
  blocks, so per-call costs are paid once per chunk, not once per message;
* sends are *corked*: :meth:`PeerLink.queue` only collects the buffers of a message
  (a ``piece`` message is its 13-byte header plus the block itself, not a copy) and
  :meth:`PeerLink.flush` hands the whole batch to the transport in one ``writelines``;
* back-pressure on what we send, never on what we read: while a link has
  :data:`HIGH_WATER` bytes of blocks queued or being read from disk for it
  (:attr:`PeerLink.backed_up`), the driver holds that peer's further requests
  (:attr:`PeerLink.held`) and serves them as :meth:`PeerLink.room` frees up. The socket
  is read all the while: two peers that each wait for the other to read before they read
  again would wait for ever (both stuck in ``drain()``, each with more than a kernel
  buffer's worth of blocks for the other). A peer that lets :data:`MAX_BACKLOG` bytes
  pile up reads nothing we send, and is dropped.

Message stream encryption (:mod:`btref.mse`): :meth:`PeerLink.negotiate` runs it before
BitTorrent's handshake when the policy asks; on a link where it chose RC4, each read is
decrypted before the :class:`~btref.connection.Connection` sees it and each flushed batch
is joined and encrypted in one call (a key stream is used in order).

Invariants: the handshake is the first thing read (after MSE, if any) and, on a connection we opened, the
first thing sent (BEP 3 "handshake"); a link that is closed sends nothing more, and its
reader sees the end of the stream at once; every wait for the handshake is bounded
(:data:`HANDSHAKE_TIMEOUT`); ``last_received`` is the loop time bytes last came in;
``reading`` counts the bytes of blocks handed to the disk (or the upload limit) for this
link and not yet queued, so ``backlog + reading`` is what we owe the peer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import NamedTuple

from btref import wire
from btref.actions import ReadBlock
from btref.connection import Connection
from btref.errors import ProtocolError
from btref.mse import Handshake as MSEHandshake

__all__ = ["READ_SIZE", "HIGH_WATER", "MAX_BACKLOG", "HANDSHAKE_TIMEOUT", "CLOSE_TIMEOUT", "PeerKey", "PeerLink", "exchange_mse"]

#: Bytes asked of the socket per read (and the StreamReader's buffer limit).
READ_SIZE = 256 * 1024
#: Bytes of blocks owed to a peer (queued, or being read for it) above which its further
#: requests wait until some of them are sent.
HIGH_WATER = 1024 * 1024
#: Unsent bytes at which a peer counts as reading nothing we send (it is dropped): blocks
#: stop at HIGH_WATER, so only other messages it provokes and never reads get this far.
MAX_BACKLOG = 4 * HIGH_WATER
#: Seconds a peer has to complete its handshake.
HANDSHAKE_TIMEOUT = 30.0
#: Seconds a closing socket may take to hand its last bytes to a peer before it is aborted.
CLOSE_TIMEOUT = 5.0


async def exchange_mse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mse: MSEHandshake,
                       timeout: float = HANDSHAKE_TIMEOUT) -> None:
    """Carry the MSE handshake ``mse`` over a stream until it is done; the BitTorrent bytes
    that came with its end are ``mse.payload``. A peer link and the magnet fetch both use it.

    :raises ProtocolError: (an :class:`~btref.errors.EncryptionError`) when the peer breaks
        MSE or our policy refuses it; also for a timeout or an early hang-up.
    """
    try:
        async with asyncio.timeout(timeout):
            writer.write(mse.start())
            while not mse.done:
                data = await reader.read(READ_SIZE)
                if not data:
                    raise ProtocolError("peer closed the connection during the MSE handshake")
                reply = mse.receive_data(data)
                if reply:
                    writer.write(reply)
    except TimeoutError:
        raise ProtocolError(f"no MSE handshake within {timeout:g} s") from None


class PeerKey(NamedTuple):
    """A connection's ``(host, port)``: equal to the plain tuple, printed as ``host:port``."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class PeerLink:
    """One TCP connection to a peer, keyed by its ``(host, port)``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: Connection,
                 key: tuple[str, int]) -> None:
        self.reader, self.writer, self.conn = reader, writer, conn
        self.key = PeerKey(*key)
        self.peer_id: bytes | None = None
        self.closed = False
        #: Loop time of the last bytes received (or of the link's creation).
        self.last_received = asyncio.get_running_loop().time()
        self._out: list[bytes | memoryview] = []
        #: Bytes of blocks being read from disk (or waiting for the upload limit) for this peer.
        self.reading = 0
        #: The peer's requests that wait for room (see :attr:`backed_up`), oldest first.
        self.held: deque[ReadBlock] = deque()
        self._less_reading = asyncio.Event()
        #: The link's MSE streams once an encrypted handshake chose RC4 (``None``: plaintext).
        self.mse: MSEHandshake | None = None
        #: BitTorrent bytes that came with the MSE handshake, read before the socket's.
        self._pending = b""

    @property
    def initiator(self) -> bool:
        return self.conn.initiator

    def queue(self, msg: wire.Message | wire.Handshake) -> int:
        """Check ``msg`` against the protocol and queue its buffers; returns its size in bytes.

        :raises ProtocolError: when we may not send it now (a bug of ours, or a state the
            engine and the connection see differently): the driver closes the link.
        """
        if self.closed:
            return 0
        parts = self.conn.send_parts(msg)
        self._out.extend(parts)
        return sum(len(p) for p in parts)

    def flush(self) -> None:
        """Hand everything queued to the transport at once."""
        if self._out and not self.closed:
            out, self._out = self._out, []
            if self.mse is not None:  # RC4 is a stream: one call over the batch, in order
                self.writer.write(self.mse.encrypt(b"".join(out)))
            else:
                self.writer.writelines(out)

    @property
    def backlog(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        transport = self.writer.transport
        return 0 if transport.is_closing() else transport.get_write_buffer_size()

    @property
    def backed_up(self) -> bool:
        """Do we owe the peer :data:`HIGH_WATER` bytes or more (queued, or being read)?"""
        return self.backlog + self.reading >= HIGH_WATER

    def done_reading(self, length: int) -> None:
        """A block of ``length`` bytes counted in ``reading`` was queued (or dropped)."""
        self.reading = max(0, self.reading - length)
        self._less_reading.set()

    async def room(self) -> bool:
        """Wait until the link is no longer :attr:`backed_up`; False if it closed meanwhile."""
        while self.backed_up and not self.closed:
            if self.reading:  # blocks on their way from the disk: wait for one to be queued
                self._less_reading.clear()
                await self._less_reading.wait()
                continue
            try:  # all of it queued, far above the transport's own high-water mark: drain waits
                await self.writer.drain()
            except OSError:
                return False
        return not self.closed

    async def negotiate(self, mse: MSEHandshake, timeout: float = HANDSHAKE_TIMEOUT) -> None:
        """Run a message stream encryption handshake (:mod:`btref.mse`) before BitTorrent's.

        Afterwards the link encrypts and decrypts by itself when RC4 was chosen.

        :raises ProtocolError: (an :class:`~btref.errors.EncryptionError`) when the peer
            breaks MSE or our policy refuses it; also for a timeout or an early hang-up.
        """
        await exchange_mse(self.reader, self.writer, mse, timeout)
        self.last_received = asyncio.get_running_loop().time()
        if mse.encrypted:
            self.mse = mse
        self._pending = mse.payload

    async def read_handshake(
        self, timeout: float = HANDSHAKE_TIMEOUT
    ) -> tuple[wire.Handshake, list[wire.Message | wire.Handshake]]:
        """Read until the peer's handshake is in; returns it and any messages that came with it.

        :raises ProtocolError: for a bad handshake, a timeout or a peer that hangs up first.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    data, self._pending = self._pending, b""
                    if not data:
                        data = await self._read_stream()
                        if not data:
                            raise ProtocolError("peer closed the connection before its handshake")
                        self.last_received = asyncio.get_running_loop().time()
                    msgs = self.conn.receive_data(data)
                    if msgs:
                        handshake = msgs[0]
                        assert isinstance(handshake, wire.Handshake)  # Connection returns it first
                        self.peer_id = handshake.peer_id
                        return handshake, msgs[1:]
        except TimeoutError:
            raise ProtocolError(f"no handshake within {timeout:g} s") from None

    def replay(self, data: bytes) -> tuple[wire.Handshake, list[wire.Message | wire.Handshake]]:
        """Like :meth:`read_handshake`, for a connection opened before this link: ``data`` is
        what the peer sent so far, its handshake first (a magnet fetch hands it over).

        :raises ProtocolError: for a bad handshake or message, or none in ``data``.
        """
        msgs = self.conn.receive_data(data)
        if not msgs or not isinstance(msgs[0], wire.Handshake):
            raise ProtocolError("no handshake in the bytes handed over")
        self.peer_id = msgs[0].peer_id
        return msgs[0], msgs[1:]

    async def read(self) -> list[wire.Message | wire.Handshake]:
        """The messages the next chunk of bytes completes; ``[]`` may just mean "not yet".

        :raises EOFError: when the peer closed the connection.
        :raises ProtocolError: when it broke the protocol.
        """
        data = await self._read_stream()
        if not data:
            raise EOFError("peer closed the connection")
        self.last_received = asyncio.get_running_loop().time()
        return self.conn.receive_data(data)

    async def _read_stream(self) -> bytes:
        """The next chunk of the BitTorrent stream (decrypted, on an RC4 link); b"" at its end."""
        data = await self.reader.read(READ_SIZE)
        return self.mse.decrypt(data) if self.mse is not None and data else data

    def close(self) -> None:
        """Close the socket (nothing queued is sent); calling it again does nothing.

        The reader is told the stream ended, so a read loop waiting for this peer returns at
        once: the transport may take long to report the close if it still holds bytes for a
        peer that does not read."""
        if not self.closed:
            self.closed = True
            self._out.clear()
            self.held.clear()
            self._less_reading.set()  # wakes a room() waiter
            self.writer.close()  # stops reading, so no data can follow the end below
            self.reader.feed_eof()

    def abort(self) -> None:
        """Close at once, dropping the bytes the transport still holds (a peer that reads
        nothing would make a close wait :data:`CLOSE_TIMEOUT` for them)."""
        self.close()
        self.writer.transport.abort()

    async def wait_closed(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Wait for the socket to close. A closing transport still writes what it holds, so
        a peer that stopped reading (say, itself waiting for *us* to drain) would make this
        wait forever: after ``timeout``, or if the wait is cancelled, the connection is
        aborted instead."""
        try:
            async with asyncio.timeout(timeout):
                await self.writer.wait_closed()
        except TimeoutError:
            self.writer.transport.abort()
        except OSError:
            pass
        except asyncio.CancelledError:
            self.writer.transport.abort()
            raise
