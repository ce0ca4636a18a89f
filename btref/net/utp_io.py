"""uTP over a UDP socket for asyncio (BEP 29): the I/O half of :mod:`btref.utp`.

One :class:`UtpSocket` (a ``DatagramProtocol``) owns one UDP socket and any number of
uTP connections on it, told apart by the peer's address and the connection id in each
packet's header. Each connection is a :class:`UtpTransport`, an ``asyncio.Transport``
under the standard ``StreamReader``/``StreamWriter`` pair, so the driver reads and writes
a uTP stream exactly as it does a TCP one (``open_connection`` and ``serve`` mirror
``asyncio.open_connection`` and ``asyncio.start_server``).

What this layer adds to the sans-I/O core: the clock (``loop.time()``), one timer per
connection at :attr:`~btref.utp.UtpConnection.deadline`, random connection ids and
sequence numbers, and flow control both ways: writes pause above
:data:`WRITE_HIGH_WATER` bytes not yet acked (so ``drain`` waits), and while the reader's
buffer is full the bytes stay in the connection, whose shrinking receive window tells the
peer to wait. A datagram that is not uTP, or that names no connection of ours, is dropped.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable, Coroutine
from typing import Any, cast

from btref.errors import UtpError
from btref.utp import Packet, PacketType, State, UtpConnection, decode, encode

__all__ = ["TRANSPORTS", "UtpSocket", "UtpTransport", "open_connection", "serve"]

#: The transports a client can dial with (``--transport``).
TRANSPORTS = ("tcp", "utp", "both")

#: Bytes queued or in flight above which ``drain`` waits (and below a quarter of it, resumes).
WRITE_HIGH_WATER = 1 << 20
#: Kernel buffer asked for each way (Linux caps it at net.core.rmem_max / wmem_max).
SOCKET_BUFFER = 4 << 20
#: Most connections on one socket: each SYN from a stranger would otherwise cost memory.
MAX_CONNECTIONS = 1024
#: A closed connection answers a resent FIN this long before it is forgotten.
LINGER = 10.0

Address = tuple[Any, ...]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


class UtpTransport(asyncio.Transport):
    """One uTP connection as an asyncio transport."""

    def __init__(self, sock: UtpSocket, conn: UtpConnection, peer: Address) -> None:
        super().__init__()
        self._sock, self.conn, self.peer = sock, conn, peer
        self._protocol: asyncio.BaseProtocol | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reading = True
        self._write_paused = False
        self._eof_sent = False
        self._lost = False
        self.connected: asyncio.Future[None] = sock.loop.create_future()

    # -- asyncio.Transport --------------------------------------------------------------

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._protocol is not None
        return self._protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self.peer
        if name == "sockname":
            return self._sock.address
        return default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.is_closing():
            return
        self.conn.send(bytes(data))
        if not self._write_paused and self.conn.pending > WRITE_HIGH_WATER:
            self._write_paused = True
            assert isinstance(self._protocol, asyncio.Protocol)
            self._protocol.pause_writing()
        self._sock.schedule(self)

    def get_write_buffer_size(self) -> int:
        return self.conn.pending

    def is_closing(self) -> bool:
        return self._lost or self.conn.closing

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Send our FIN: uTP's FIN ends only our half, the peer may go on sending."""
        self.close()

    def close(self) -> None:
        self.conn.close()
        self._sock.schedule(self)

    def abort(self) -> None:
        self.conn.abort()
        self._sock.service(self)

    def pause_reading(self) -> None:
        self._reading = False

    def resume_reading(self) -> None:
        self._reading = True
        self._sock.schedule(self)

    def is_reading(self) -> bool:
        return self._reading

    # -- driven by the socket -----------------------------------------------------------

    def _deliver(self) -> None:
        protocol = self._protocol
        if isinstance(protocol, asyncio.Protocol) and self._reading:
            data = self.conn.read()
            if data:
                protocol.data_received(data)
            if self.conn.eof and not self._eof_sent:
                self._eof_sent = True
                protocol.eof_received()
        if self._write_paused and self.conn.pending <= WRITE_HIGH_WATER // 4 and protocol is not None:
            self._write_paused = False
            protocol.resume_writing()
        state = self.conn.state
        if not self.connected.done():
            if state in (State.CONNECTED, State.FIN_SENT, State.SYN_RECV):
                self.connected.set_result(None)
            elif state in (State.RESET, State.CLOSED):
                self.connected.set_exception(ConnectionError(self.conn.error or "uTP connection closed"))
        if state in (State.CLOSED, State.RESET) and not self._lost:
            self._lost = True
            if protocol is not None:
                protocol.connection_lost(ConnectionResetError(self.conn.error) if self.conn.error else None)


class UtpSocket(asyncio.DatagramProtocol):
    """A UDP socket carrying uTP connections; ``handler`` (if given) serves incoming ones."""

    def __init__(self, handler: Handler | None = None, *, limit: int = 1 << 16) -> None:
        self.loop = asyncio.get_running_loop()
        self.handler = handler
        self.limit = limit
        self.address: Address = ("", 0)
        self._udp: asyncio.DatagramTransport | None = None
        self._connections: dict[tuple[Address, int], UtpTransport] = {}
        self._dirty: set[UtpTransport] = set()
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._rng = random.Random()
        #: Bytes of the uTP datagrams this socket took in and sent out (headers and resends
        #: included): how a test tells that a transfer went over uTP and not TCP.
        self.received = 0
        self.sent = 0

    @classmethod
    async def bind(cls, host: str, port: int = 0, handler: Handler | None = None, *, limit: int = 1 << 16) -> UtpSocket:
        loop = asyncio.get_running_loop()
        _, sock = await loop.create_datagram_endpoint(lambda: cls(handler, limit=limit), local_addr=(host, port))
        return sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's UDP transport does not subclass DatagramTransport; it has its methods.
        self._udp = cast(asyncio.DatagramTransport, transport)
        self.address = transport.get_extra_info("sockname")
        sock = transport.get_extra_info("socket")
        if sock is not None:  # a burst from a fast sender must not overflow the kernel's queue
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)

    def close(self) -> None:
        for conn in list(self._connections.values()):
            conn.abort()
        for task in self._tasks:
            task.cancel()
        if self._udp is not None:
            self._udp.close()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        try:
            packet = decode(data)
        except UtpError:
            return  # not uTP: a stray or hostile datagram
        self.received += len(data)
        key = (addr, packet.connection_id)
        if packet.type is PacketType.SYN:
            key = (addr, (packet.connection_id + 1) & 0xFFFF)
        transport = self._connections.get(key)
        if transport is None:
            if packet.type is PacketType.SYN:
                self._accept(packet, addr)
            elif packet.type is not PacketType.RESET:
                self._reset(packet, addr)
            return
        transport.conn.receive_packet(packet, self.loop.time())
        self.schedule(transport)

    def _reset(self, packet: Packet, addr: Address) -> None:
        """Tell a peer that names a connection we do not have that it is gone."""
        if self._udp is not None:
            self._udp.sendto(encode(Packet(PacketType.RESET, packet.connection_id, 0, packet.seq_nr)), addr)

    def _accept(self, syn: Packet, addr: Address) -> None:
        if self.handler is None or len(self._connections) >= MAX_CONNECTIONS:
            self._reset(syn, addr)  # refused, as TCP answers a SYN to a closed port
            return
        conn = UtpConnection.accept(syn, self._rng.randrange(0x10000), self.loop.time())
        transport = self._register(conn, addr)
        reader, writer = self._streams(transport)
        task = self.loop.create_task(self.handler(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.schedule(transport)

    async def connect(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Dial ``host:port`` over uTP; raises ``ConnectionError`` if nobody answers."""
        infos = await self.loop.getaddrinfo(host, port, type=2)  # SOCK_DGRAM
        addr = infos[0][4]
        recv_id = self._rng.randrange(0x10000)
        while (addr, recv_id) in self._connections:
            recv_id = self._rng.randrange(0x10000)
        transport = self._register(UtpConnection.connect(recv_id, self.loop.time()), addr)
        reader, writer = self._streams(transport)
        self.schedule(transport)
        await transport.connected
        return reader, writer

    def _register(self, conn: UtpConnection, addr: Address) -> UtpTransport:
        transport = UtpTransport(self, conn, addr)
        self._connections[(addr, conn.recv_id)] = transport
        return transport

    def _streams(self, transport: UtpTransport) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader = asyncio.StreamReader(limit=self.limit, loop=self.loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=self.loop)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        return reader, asyncio.StreamWriter(transport, protocol, reader, self.loop)

    def schedule(self, transport: UtpTransport) -> None:
        """Service ``transport`` once this turn of the loop is over, so that the writes and
        datagrams of one turn leave together (one ack for a burst of data)."""
        self._dirty.add(transport)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        for transport in dirty:
            self.service(transport)

    def service(self, transport: UtpTransport) -> None:
        """Send what the connection has to send, hand over what it received, re-arm its timer."""
        now = self.loop.time()
        conn = transport.conn
        if self._udp is not None and not self._udp.is_closing():
            for datagram in conn.datagrams_to_send(now):
                self._udp.sendto(datagram, transport.peer)
                self.sent += len(datagram)
        transport._deliver()
        if transport._timer is not None:
            transport._timer.cancel()
            transport._timer = None
        deadline = conn.deadline
        if deadline is not None:
            transport._timer = self.loop.call_at(deadline, self._tick, transport)
        elif conn.state in (State.CLOSED, State.RESET):
            transport._timer = self.loop.call_at(now + LINGER, self._forget, transport)

    def _tick(self, transport: UtpTransport) -> None:
        transport._timer = None
        transport.conn.tick(self.loop.time())
        self.service(transport)

    def _forget(self, transport: UtpTransport) -> None:
        self._connections.pop((transport.peer, transport.conn.recv_id), None)


async def open_connection(sock: UtpSocket, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Dial over uTP from ``sock``: ``asyncio.open_connection`` for uTP."""
    return await sock.connect(host, port)


async def serve(handler: Handler, host: str, port: int = 0) -> UtpSocket:
    """Serve uTP on ``host:port`` (UDP): ``asyncio.start_server`` for uTP."""
    return await UtpSocket.bind(host, port, handler)
