"""The reference tracker on real sockets: asyncio HTTP and UDP servers (BEP 3, 15, 23, 48).

All the tracker's logic lives in :class:`btref.tracker_state.TrackerState`; this module only
moves bytes. The HTTP side reads one request head (bounded by :data:`MAX_HEAD` bytes and a
timeout), answers ``GET /announce`` and ``GET /scrape`` with a bencoded body and closes the
connection (HTTP/1.0 style). The UDP side answers each datagram with at most one datagram.
The clock (``time.monotonic`` by default) is read here and passed in, so the state itself
never reads a clock.

Use it from code::

    async with serve_tracker(interval=30) as tracker:
        print(tracker.http_url, tracker.udp_url)   # ports were picked by the OS

or from a terminal with :func:`run_tracker` (``btref tracker``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any

from btref import bencode
from btref.tracker import MAX_QUERY
from btref.tracker_state import TrackerState

__all__ = ["TrackerServer", "serve_tracker", "run_tracker", "MAX_HEAD"]

log = logging.getLogger(__name__)

#: Most bytes of request line and headers the HTTP server reads before it gives up.
MAX_HEAD = MAX_QUERY + 4096


class TrackerServer:
    """An HTTP and a UDP tracker sharing one :class:`TrackerState`; ``async with`` starts and stops it."""

    def __init__(self, host: str = "127.0.0.1", http_port: int | None = 0, udp_port: int | None = 0, *,
                 interval: int = 120, min_interval: int | None = None, state: TrackerState | None = None,
                 timeout: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.state = state or TrackerState(interval=interval, min_interval=min_interval,
                                             secret=secrets.token_bytes(16))
        self.timeout = timeout
        self.clock = clock
        self._ports = (http_port, udp_port)
        self._http: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        #: Bound ports (``None`` for a server not started or not wanted).
        self.http_port: int | None = None
        self.udp_port: int | None = None

    @property
    def http_url(self) -> str:
        return f"http://{self._url_host}:{self.http_port}/announce"

    @property
    def udp_url(self) -> str:
        return f"udp://{self._url_host}:{self.udp_port}/announce"

    @property
    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    async def start(self) -> TrackerServer:
        loop = asyncio.get_running_loop()
        http_port, udp_port = self._ports
        if http_port is not None:
            self._http = await asyncio.start_server(self._serve_http, self.host, http_port, limit=MAX_HEAD)
            self.http_port = self._http.sockets[0].getsockname()[1]
        if udp_port is not None:
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _UDPTracker(self), local_addr=(self.host, udp_port))
            self.udp_port = self._udp.get_extra_info("sockname")[1]
        return self

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._http is not None:
            self._http.close()
            await self._http.wait_closed()
            self._http = None

    async def __aenter__(self) -> TrackerServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await self._answer_http(reader, writer.get_extra_info("peername")[0])
            head = (f"HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n")
            writer.write(head.encode("ascii") + body)
            await asyncio.wait_for(writer.drain(), self.timeout)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or stalled; nothing to answer
        finally:
            writer.close()

    # [docs: http]
    async def _answer_http(self, reader: asyncio.StreamReader, host: str) -> tuple[str, bytes]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.timeout)
        except (asyncio.LimitOverrunError, ValueError):
            return "431 Request Header Fields Too Large", _failure(f"request head over {MAX_HEAD} bytes")
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
            return "400 Bad Request", _failure("malformed HTTP request line")
        method, target = parts[0], parts[1]
        if method != b"GET":
            return "405 Method Not Allowed", _failure("only GET is served")
        path, _, query = target.partition(b"?")
        if path.endswith(b"/announce"):
            return "200 OK", self.state.http_announce(query, host, self.clock())
        if path.endswith(b"/scrape"):
            return "200 OK", self.state.http_scrape(query)
        return "404 Not Found", _failure("unknown path; this tracker serves /announce and /scrape")
    # [/docs: http]


def _failure(reason: str) -> bytes:
    return bencode.encode({"failure reason": reason})


class _UDPTracker(asyncio.DatagramProtocol):
    def __init__(self, server: TrackerServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    # A datagram endpoint always gets a DatagramTransport; typeshed's DatagramProtocol narrows it the same way.
    def connection_made(self, transport: asyncio.DatagramTransport) -> None:  # type: ignore[override]
        self.transport = transport
        self.ipv6 = transport.get_extra_info("socket").family == socket.AF_INET6

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            answer = self.server.state.udp_packet(data, (addr[0], addr[1]), self.server.clock(), ipv6=self.ipv6)
        except Exception:  # never let one packet stop the tracker
            log.exception("UDP tracker: packet from %s crashed the handler", addr)
            return
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


def serve_tracker(host: str = "127.0.0.1", http_port: int | None = 0, udp_port: int | None = 0,
                  interval: int = 120, **options: Any) -> TrackerServer:
    """A :class:`TrackerServer`, to use as ``async with serve_tracker(...) as tracker``.

    Port ``0`` lets the OS choose (read ``tracker.http_port`` / ``tracker.udp_port``);
    ``None`` leaves that server out.
    """
    return TrackerServer(host, http_port, udp_port, interval=interval, **options)


def run_tracker(http_port: int | None = 6969, udp_port: int | None = 6969, *, host: str = "127.0.0.1",
                interval: int = 120, out: Callable[[str], None] = print) -> int:
    """Serve until Ctrl-C, telling the user where and what to try next (``btref tracker``).

    ``out`` receives each line to show. Returns the exit status: 0 after Ctrl-C, 1 when the
    ports cannot be bound (the reason is printed).
    """

    async def main() -> None:
        async with serve_tracker(host, http_port, udp_port, interval) as tracker:
            if tracker.http_port is not None:
                out(f"btref tracker: HTTP on {tracker.http_url} (scrape: /scrape)")
            if tracker.udp_port is not None:
                out(f"btref tracker: UDP  on {tracker.udp_url}")
            url = tracker.http_url if tracker.http_port is not None else tracker.udp_url
            out(f"Next: btref create FILE --tracker {url}, then seed and download it. Ctrl-C stops.")
            await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        out("btref tracker: stopped")
    except OSError as exc:  # most often: the port is taken
        out(f"btref tracker: cannot listen on {host} (HTTP port {http_port}, UDP port {udp_port}): {exc}")
        out("Is another tracker running there? Choose other ports, or 0 to let the system pick.")
        return 1
    return 0
