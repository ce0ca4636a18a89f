"""Serve the view live on 127.0.0.1: the page, and the events as they happen.

A small asyncio HTTP/1.1 handler, no framework. ``GET /`` is the page of
:mod:`btref.web.page` with no records inside; ``GET /events`` is a ``text/event-stream``
(WHATWG HTML, "Server-sent events"): every record so far, then each new one as the
sessions report it, one ``data:`` line each. A :class:`Hub` holds the records; the
sessions write into it through :meth:`Hub.stream` (a text stream an
:class:`~btref.net.events.EventLog` can write to, as it writes a ``--events`` file).

Invariants: it listens on 127.0.0.1 only; a browser is only ever a reader: a page that
closes, stalls or never comes changes nothing in the swarm (a subscriber's queue is
dropped when its connection ends, and writing to the hub never waits); requests are read
with a size limit, and anything but the two paths gets 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from collections.abc import AsyncIterator
from typing import IO, Any, TextIO

from btref.web.page import render

__all__ = ["Hub", "ClientStream", "serve", "one_client"]

#: The longest request head read (the page's requests are a few hundred bytes).
MAX_REQUEST = 8192


class Hub:
    """Every record of a live run, in order, and the pages following it."""

    def __init__(self, title: str = "btref live swarm") -> None:
        self.title = title
        self.records: list[dict[str, Any]] = []
        self._queues: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self.started = time.monotonic()

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        for queue in self._queues:
            queue.put_nowait(record)

    def stream(self, client: str) -> ClientStream:
        """A text stream for one session's :class:`~btref.net.events.EventLog`."""
        return ClientStream(self, client)

    def close(self) -> None:
        """The run is over: every page's stream ends."""
        for queue in self._queues:
            queue.put_nowait(None)

    async def follow(self) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        backlog = list(self.records)
        self._queues.add(queue)
        try:
            for record in backlog:
                yield record
            while (more := await queue.get()) is not None:
                yield more
        finally:
            self._queues.discard(queue)


class ClientStream(io.StringIO):
    """What an :class:`~btref.net.events.EventLog` writes to: each JSON line becomes a
    record of ``client``, timed on the hub's clock (every session counts from its own start).
    A text stream (``io.StringIO`` for its type) that keeps nothing itself."""

    def __init__(self, hub: Hub, client: str, also: IO[str] | None = None) -> None:
        super().__init__()
        self.hub, self.client, self.also = hub, client, also

    def write(self, text: str) -> int:
        if self.also is not None:  # the --events file gets the lines as the engine wrote them
            self.also.write(text)
            self.also.flush()
        for line in text.splitlines():
            if line.strip():
                record = json.loads(line)
                record["t"] = round(time.monotonic() - self.hub.started, 6)
                record["client"] = self.client
                self.hub.add(record)
        return len(text)



async def _handle(hub: Hub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    parts = head.split(b"\r\n", 1)[0].split()
    path = parts[1].decode("ascii", "replace").split("?")[0] if len(parts) >= 2 else ""
    try:
        if path == "/":
            body = render([], title=hub.title, live=True).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        elif path == "/events":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                         b"Connection: close\r\n\r\n")
            async for record in hub.follow():
                writer.write(b"data: " + json.dumps(record, separators=(",", ":"), default=str).encode() + b"\n\n")
                await writer.drain()
        else:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
    except ConnectionError:
        pass  # the page went away: nothing to do
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def serve(hub: Hub, port: int = 0) -> AsyncIterator[str]:
    """Serve ``hub`` on 127.0.0.1:``port`` (0: a free port) while the block runs; yields the URL."""
    server = await asyncio.start_server(lambda r, w: _handle(hub, r, w), "127.0.0.1", port, limit=MAX_REQUEST)
    try:
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        yield url
    finally:
        hub.close()
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


@contextlib.asynccontextmanager
async def one_client(port: int, name: str, pieces: int, seed: bool, title: str, out: TextIO,
                     events: str | None = None) -> AsyncIterator[ClientStream]:
    """The live view of one client (``btref download --web``, ``btref seed --web``): serves
    it, prints the URL to ``out`` and yields the stream for the client's ``events`` (which
    also appends to the ``--events`` file ``events``, if given).

    :raises OSError: the port is taken.
    """
    hub = Hub(title)
    from btref.web.events import header

    hub.add(header(pieces, [(name, seed)], title))
    with contextlib.ExitStack() as files:
        also = files.enter_context(open(events, "a", encoding="utf-8")) if events else None
        async with serve(hub, port) as url:
            print(f"watch it in a browser: {url} (the page only reads; closing it changes nothing)",
                  file=out, flush=True)
            yield ClientStream(hub, name, also)
