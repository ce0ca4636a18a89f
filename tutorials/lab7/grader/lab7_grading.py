"""What Lab 7's grader shares: importing the student's plugins, running their coroutines with
a bound, and the fake trackers that answer badly on purpose (BEP 3, 15, 23).

The fakes run on an event loop in a thread of their own (:class:`LoopThread`), so a
student's client that blocks its own loop cannot stop them from answering. Their answers
are built with btref's codecs (:mod:`btref.tracker`), then spoilt one way each.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any

import pytest

from btref import bencode, tracker
from btref.discovery import AnnounceRequest, PeerAddress, encode_compact_peers
from btref.errors import TrackerError

#: The plugin names the student's classes get while they are graded (conftest.py, ``contract``).
HTTP_NAME, UDP_NAME = "lab7-graded-http", "lab7-graded-udp"
#: Seconds a test gives the student's announce before it fails (a bound on a hang, not a
#: speed test: against trackers on this machine the reference needs milliseconds).
TIME_LIMIT = 20.0


def student(module: str) -> Any:
    """``tracker_lab.<module>`` from the student's folder."""
    return importlib.import_module(f"tracker_lab.{module}")


def plugin(kind: str, **params: Any) -> Any:
    """A fresh ``HTTPTracker`` (``kind="http"``) or ``UDPTracker`` (``"udp"``) of the student's."""
    if kind == "http":
        return student("http_tracker").HTTPTracker(**params)
    return student("udp_tracker").UDPTracker(**params)


def req(info_hash: bytes, n: int = 1, trackers: Any = (), **fields: Any) -> AnnounceRequest:
    """Peer ``n``'s request: peer id ``-LB0007-`` and ``n``, port ``9000 + n``."""
    values: dict[str, Any] = dict(info_hash=info_hash, peer_id=b"-LB0007-%012d" % n, port=9000 + n, left=1000,
                                  event="started", trackers=trackers)
    return AnnounceRequest(**{**values, **fields})


def run(coro: Coroutine[Any, Any, Any], what: str, timeout: float = TIME_LIMIT) -> Any:
    """Run ``coro`` in a fresh event loop; fail the test if it takes longer than ``timeout``."""

    async def bounded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    try:
        return asyncio.run(bounded())
    except TimeoutError:
        pytest.fail(f"{what} did not finish within {timeout:g} s")


def announce(kind: str, request: AnnounceRequest, what: str, **params: Any) -> Any:
    """The student's plugin's ``btref_announce(request)``, awaited (``None`` stays ``None``)."""
    answer = plugin(kind, **params).btref_announce(request=request)
    if answer is None:
        return None

    async def wait() -> Any:
        return await answer

    return run(wait(), what)


def refuses(call: Any, *args: Any, what: str) -> str:
    """``call(*args)`` must raise btref's TrackerError; its message, for more checks."""
    try:
        result = call(*args)
    except TrackerError as exc:
        return str(exc)
    pytest.fail(f"{what}: expected TrackerError, got {result!r}"[:300])


def closed_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 nobody listened on a moment ago."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def compact(*peers: str) -> bytes:
    return encode_compact_peers(PeerAddress.parse(p) for p in peers)[0]


class LoopThread:
    """An event loop in a thread of its own, for the servers the grader runs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lab7-trackers", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class RunningTracker:
    """btref's tracker (``TrackerServer``) running in a :class:`LoopThread`; its state is read there."""

    def __init__(self, server: Any, loop: LoopThread) -> None:
        self.server, self.loop = server, loop
        self.http_url: str = server.http_url
        self.udp_url: str = server.udp_url

    def _read(self, question: Any) -> Any:
        async def ask() -> Any:
            return question(self.server.state)

        return self.loop.call(ask())

    def peers(self, info_hash: bytes) -> list[PeerAddress]:
        """The peers the tracker knows in the swarm of ``info_hash``."""
        return list(self._read(lambda state: state.peers(info_hash)))

    def seeders(self, info_hash: bytes) -> int:
        """How many of them have the whole torrent (the scrape's ``complete``)."""
        return int(self._read(lambda state: state.scrape([info_hash])[info_hash].complete))


# -- a fake HTTP tracker ------------------------------------------------------------------------


def http_answer(body: bytes, status: str = "200 OK") -> bytes:
    return f"HTTP/1.0 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


class FakeHTTPTracker:
    """Answers every GET with ``answer`` (raw HTTP), or never (``answer=None``); counts requests."""

    def __init__(self, answer: bytes | None) -> None:
        self.answer = answer
        self.requests = 0
        self.open: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open.add(writer)
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            if self.answer is None:
                await reader.read()  # silent: until the client gives up and closes
            else:
                writer.write(self.answer)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.open.discard(writer)
            writer.close()

    async def stop(self) -> None:
        self.server.close()
        for writer in list(self.open):
            writer.close()
        await self.server.wait_closed()


# -- a fake UDP tracker -------------------------------------------------------------------------

GOOD_CID, BAD_CID = 0x1122334455667788, 0x0BADC0DE0BADC0DE
#: The peers the fake's true answer lists, and the ones its forged answer lists.
TRUE_PEERS, FORGED_PEERS = ("10.0.0.1:6881", "10.0.0.2:6882"), ("6.6.6.6:666",)


class FakeUDPTracker(asyncio.DatagramProtocol):
    """A UDP tracker that misbehaves one way (``behaviour``), recording every packet it gets.

    * ``"forged"``: before each true answer, an answer with another transaction id (and
      another connection id, other peers);
    * ``"lossy"``: the first packet is lost, the rest answered;
    * ``"silent"``: nothing is ever answered;
    * ``"error"``: every packet gets a BEP 15 error;
    * ``"short"``: the connect answer has the right transaction id and 12 of its 16 bytes.
    """

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.packets: list[tuple[int, int, int]] = []  # (action, transaction id, connection id)

    def connection_made(self, transport: Any) -> None:  # a DatagramTransport
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 16:
            return
        cid, action, tid = struct.unpack_from(">QII", data)
        self.packets.append((action, tid, cid))
        for answer in self.answers(action, tid, cid):
            self.transport.sendto(answer, addr)

    def answers(self, action: int, tid: int, cid: int) -> list[bytes]:
        b = self.behaviour
        if b == "silent" or (b == "lossy" and len(self.packets) == 1):
            return []
        if b == "error":
            return [tracker.udp_error(tid, "torrent not registered")]
        if action == tracker.CONNECT:
            if b == "short":
                return [struct.pack(">IIi", tracker.CONNECT, tid, 7)]
            forged = [tracker.udp_connect_response(tid ^ 0x5A5A5A5A, BAD_CID)] if b == "forged" else []
            return forged + [tracker.udp_connect_response(tid, GOOD_CID)]
        if action == tracker.ANNOUNCE:
            if cid != GOOD_CID:
                return [tracker.udp_error(tid, "unknown connection id")]
            forged = [tracker.udp_announce_response(tid ^ 0x5A5A5A5A, 60, 9, 9, compact(*FORGED_PEERS))]
            true = [tracker.udp_announce_response(tid, 60, 1, 2, compact(*TRUE_PEERS))]
            return (forged if b == "forged" else []) + true
        return []

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        return int(transport.get_extra_info("sockname")[1])

    async def stop(self) -> None:
        self.transport.close()


def bencoded(value: Any) -> bytes:
    return bencode.encode(value)
