"""Web seeds: pieces fetched from HTTP servers listed in the torrent's ``url-list`` (BEP 19).

BEP 19 ("GetRight style") names plain HTTP servers that hold the torrent's files. A URL
of a single-file torrent is the file itself (or, ending in ``/``, the folder holding a
file of the torrent's ``name``); a URL of a multi-file torrent is a folder, and file
``a/b.txt`` of torrent ``name`` is ``URL/name/a/b.txt``, each path component
percent-encoded (:func:`file_url`). A block becomes one HTTP range request per file it
touches (:func:`block_ranges`); a block that spans two files is two requests.

To the engine a web seed is one more peer. :class:`WebSeed` joins the
:class:`~btref.session.Session` under a :class:`WebSeedKey` as a peer with every piece
(BEP 6 ``have all``) that unchokes us at once and never asks for anything; the session's
``request`` messages come back here, contiguous blocks of a piece are fetched with one
request per file, and the bytes go back to the session as ``piece`` messages. So the
picker, end game, verification and strikes are the session's, unchanged: a server whose
bytes fail the piece hash gets the strikes a lying peer gets, and its ``Ban`` ends it for
good. A server that fails (refused, timeout, 4xx or 5xx, a wrong length) leaves the
session, so its blocks go to other peers, and comes back after ``min(2**failures, 60)``
seconds (:data:`MAX_BACKOFF`).

:class:`HttpConnection` is the HTTP/1.1 client (RFC 9110 range requests, RFC 9112
messages) on asyncio streams: one keep-alive connection at a time, ``http`` and ``https``
only. The server is as untrusted as a peer: the status line and each header line are at
most :data:`MAX_LINE` bytes, at most :data:`MAX_HEADERS` headers, a body is exactly the
length we asked for (a ``Content-Length`` claiming more is refused before a byte of it is
read), at most :data:`MAX_REDIRECTS` redirects per request, every request bounded by
:data:`REQUEST_TIMEOUT`. Each violation raises :class:`~btref.errors.WebSeedError`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import quote, urljoin, urlsplit

from btref import wire
from btref.errors import WebSeedError
from btref.layout import Layout

if TYPE_CHECKING:  # pragma: no cover - names for the annotations only
    from btref.metainfo import Torrent
    from btref.session import Session

__all__ = [
    "WebSeed", "WebSeedKey", "HttpConnection", "file_url", "block_ranges", "Range",
    "MAX_LINE", "MAX_HEADERS", "MAX_REDIRECTS", "REQUEST_TIMEOUT", "MAX_BACKOFF",
]

#: Longest status or header line accepted, in bytes.
MAX_LINE = 8 * 1024
#: Most header lines in one response.
MAX_HEADERS = 100
#: Redirects followed for one range request before it fails.
MAX_REDIRECTS = 5
#: Seconds one range request may take, redirects included (below the session's
#: ``request_timeout``, so the server fails before the session cancels its blocks).
REQUEST_TIMEOUT = 30.0
#: Longest wait, in seconds, before a failed server is asked again.
MAX_BACKOFF = 60.0
#: Most bytes fetched in one go: contiguous blocks of a piece, up to this much.
MAX_SPAN = 4 * 1024 * 1024
#: Characters left as they are in a request target: RFC 3986's reserved and unreserved ones, and ``%``.
URL_SAFE = "/%?#[]@!$&'()*+,;=:~-._"


class WebSeedKey(NamedTuple):
    """The session's key for a web seed: its URL (printed as is in events)."""

    url: str

    def __str__(self) -> str:
        return self.url


class Range(NamedTuple):
    """``length`` bytes at ``start`` of the file at ``url`` (``url`` ``None``: a BEP 47 pad file, zeros)."""

    url: str | None
    start: int
    length: int


# -- mapping pieces to URLs (BEP 19 "url-list") ---------------------------------------------


def file_url(base: str, torrent: Torrent, path: tuple[str, ...]) -> str:
    """The URL of the torrent's file ``path`` (its :attr:`~btref.metainfo.FileEntry.path`) on
    the server at ``base``."""
    single = len(torrent.files) == 1 and len(path) == 1
    if single and not base.endswith("/"):
        return base  # the URL is the file
    folder = base if base.endswith("/") else base + "/"
    return folder + "/".join(quote(part, safe="") for part in path)


def block_ranges(torrent: Torrent, layout: Layout, base: str, index: int, begin: int, length: int) -> list[Range]:
    """The HTTP ranges that hold ``length`` bytes at ``begin`` of piece ``index``, in order."""
    out = []
    for span in layout.block_spans(index, begin, length):
        if span.pad:
            out.append(Range(None, 0, span.length))
        else:
            url = file_url(base, torrent, torrent.files[span.file_index].path)
            out.append(Range(url, span.file_offset, span.length))
    return out


# -- HTTP/1.1 range requests ---------------------------------------------------------------------


class HttpConnection:
    """Range requests over one keep-alive HTTP/1.1 connection, reopened when the origin changes."""

    def __init__(self, user_agent: str = "btref") -> None:
        self.user_agent = user_agent
        self._origin: tuple[str, str, int] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def get(self, url: str, start: int, length: int) -> bytes:
        """Bytes ``start`` to ``start + length - 1`` of ``url``, following redirects.

        :raises WebSeedError: an error status, a broken response, a limit passed, a bad URL.
        :raises OSError: the connection failed.
        :raises TimeoutError: after :data:`REQUEST_TIMEOUT` seconds.
        """
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                for _ in range(MAX_REDIRECTS + 1):
                    status, headers = await self._request(url, start, length)
                    if status in (301, 302, 303, 307, 308):
                        location = headers.get("location")
                        self.close()  # its body is not read: the next request needs a fresh connection
                        if not location:
                            raise WebSeedError(f"{url}: HTTP {status} without a Location")
                        url = urljoin(url, location)
                        continue
                    return await self._body(url, status, headers, start, length)
                raise WebSeedError(f"{url}: more than {MAX_REDIRECTS} redirects")
        except BaseException:
            self.close()  # whatever is left unread on the connection would be taken for the next answer
            raise

    async def _request(self, url: str, start: int, length: int) -> tuple[int, dict[str, str]]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebSeedError(f"{url}: only http:// and https:// URLs with a host can be fetched")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise WebSeedError(f"{url}: {exc}") from None
        origin = (parts.scheme, parts.hostname, port)
        if origin != self._origin or self._writer is None or self._writer.is_closing():
            self.close()
            tls = ssl.create_default_context() if parts.scheme == "https" else None
            self._reader, self._writer = await asyncio.open_connection(
                parts.hostname, port, ssl=tls, limit=MAX_LINE)
            self._origin = origin
        assert self._reader is not None and self._writer is not None
        # Spaces, control characters and non-ASCII in the torrent's URL or a Location are
        # percent-encoded, so they cannot end the request line or start a header of their own.
        target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=URL_SAFE)
        host = parts.netloc.rpartition("@")[2]
        if not host.isascii() or not host.isprintable() or " " in host:
            raise WebSeedError(f"{url}: the host {host!r} cannot go into a Host header")
        request = (f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {self.user_agent}\r\n"
                   f"Range: bytes={start}-{start + length - 1}\r\nConnection: keep-alive\r\n\r\n")
        self._writer.write(request.encode("ascii", "strict"))
        await self._writer.drain()
        return await self._head(url)

    async def _line(self, url: str) -> str:
        assert self._reader is not None
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise WebSeedError(f"{url}: a header line over {MAX_LINE} bytes") from None
        except asyncio.IncompleteReadError:
            raise WebSeedError(f"{url}: the server closed the connection mid-header") from None
        return line.decode("latin-1").rstrip("\r\n")

    async def _head(self, url: str) -> tuple[int, dict[str, str]]:
        """The status line and headers (names lower-cased; a repeated header's last value)."""
        fields = (await self._line(url)).split(" ", 2)
        if len(fields) < 2 or not fields[0].startswith("HTTP/1.") or not _digits(fields[1], 3):
            raise WebSeedError(f"{url}: not an HTTP/1.x status line")
        status = int(fields[1])
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = await self._line(url)
            if not line:
                return status, headers
            name, colon, value = line.partition(":")
            if not colon:
                raise WebSeedError(f"{url}: header line without a colon")
            headers[name.strip().lower()] = value.strip()
        raise WebSeedError(f"{url}: more than {MAX_HEADERS} headers")

    async def _body(self, url: str, status: int, headers: dict[str, str], start: int, length: int) -> bytes:
        assert self._reader is not None
        if not 200 <= status < 300:
            raise WebSeedError(f"{url}: HTTP {status}")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise WebSeedError(f"{url}: a chunked response to a range request")
        declared = headers.get("content-length", "")
        if not _digits(declared, 18):
            raise WebSeedError(f"{url}: HTTP {status} without a Content-Length")
        size = int(declared)
        if status == 206:
            expected = f"bytes {start}-{start + length - 1}/"
            if not headers.get("content-range", "").startswith(expected):
                raise WebSeedError(f"{url}: Content-Range {headers.get('content-range')!r} is not {expected}...")
        elif status != 200 or start != 0:  # a 200 is the whole file: usable only if that is what we asked
            raise WebSeedError(f"{url}: HTTP {status} to a range request")
        if size != length:  # never read what the server merely claims
            raise WebSeedError(f"{url}: {size} bytes offered for a range of {length}")
        try:
            body = await self._reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise WebSeedError(f"{url}: body cut short at {len(exc.partial)} of {length} bytes") from None
        if headers.get("connection", "").lower() == "close":
            self.close()
        return body

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
        self._origin = None


def _digits(text: str, most: int) -> bool:
    """``text`` is 1 to ``most`` ASCII digits (``str.isdigit`` also takes "²", and ``int``
    refuses numbers of thousands of digits)."""
    return 0 < len(text) <= most and text.isascii() and text.isdigit()


# -- a web seed as a peer of the session ------------------------------------------------------


class Driver(Protocol):
    """What a :class:`WebSeed` uses of :class:`~btref.net.driver.Client`."""

    engine: Session | None
    downloaded: int
    last_data: float

    def execute(self, actions: list[Any]) -> None: ...

    def event(self, name: str, fields: dict[str, Any]) -> None: ...


class WebSeed:
    """One ``url-list`` server, seen by the session as a peer with every piece."""

    def __init__(self, url: str, torrent: Torrent, driver: Driver) -> None:
        self.url, self.torrent, self.driver = url, torrent, driver
        self.key: Hashable = WebSeedKey(url)
        self.layout = Layout(torrent)
        self.http = HttpConnection()
        self.failures = 0
        self.banned = False
        self.joined = False  # the session knows it as a peer
        self._wanted: list[wire.Request] = []  # in the order the session asked
        # Blocks being fetched and not cancelled since: only those go back to the session,
        # which closes a peer that sends many blocks it no longer wants.
        self._fetching: set[tuple[int, int]] = set()
        self._wake = asyncio.Event()

    def queue(self, msg: object) -> None:
        """A message the session sends this "peer": requests are kept, cancels withdraw them,
        the rest (interested, choke, have, keep-alive) mean nothing to an HTTP server."""
        if type(msg) is wire.Request:
            self._wanted.append(msg)
            self._wake.set()
        elif type(msg) is wire.Cancel:
            self._wanted = [r for r in self._wanted if (r.index, r.begin) != (msg.index, msg.begin)]
            self._fetching.discard((msg.index, msg.begin))

    def ban(self) -> None:
        """The session banned it (its bytes failed the piece hash): never ask it again."""
        self.banned = True
        self.dropped()

    def dropped(self) -> None:
        """The session closed it (``Close`` or ``Ban``): it has forgotten this peer already."""
        self.joined = False
        self._wanted.clear()
        self._fetching.clear()
        self._wake.set()

    # [docs: run]
    async def run(self) -> None:
        """Serve the session's requests; after a failure leave it, wait, and come back."""
        loop = asyncio.get_running_loop()
        try:
            while not self.banned:
                if self.driver.engine is None or self.driver.engine.done:
                    return  # nothing to fetch
                reason = await self._serve(loop)
                if self.banned or self.driver.engine.done:  # done: the session hung up (BEP 21), no failure
                    break
                self._leave(reason, loop.time())
                self.failures += 1
                wait = min(2.0 ** self.failures, MAX_BACKOFF)
                self.driver.event("web_seed_failed", {"url": self.url, "reason": reason, "retry_in": wait})
                await asyncio.sleep(wait)
        finally:
            self.http.close()
            if self.joined:
                self._leave("session stopped", loop.time())

    # [/docs: run]

    def _leave(self, reason: str, now: float) -> None:
        self._wanted.clear()
        if self.joined and self.driver.engine is not None:
            self.joined = False
            self.driver.execute(self.driver.engine.peer_disconnected(self.key, now, reason))

    # [docs: serve]
    async def _serve(self, loop: asyncio.AbstractEventLoop) -> str:
        """Join the session and fetch what it asks for until the server fails; says why."""
        engine = self.driver.engine
        assert engine is not None
        self.joined = True
        self.driver.execute(engine.peer_connected(self.key, loop.time(), fast=True))
        self.driver.execute(engine.messages_received(self.key, [wire.HaveAll(), wire.Unchoke()], loop.time()))
        while self.joined:
            if not self._wanted:
                self._wake.clear()
                await self._wake.wait()
                continue
            run = self._take_run()
            self._fetching = {(r.index, r.begin) for r in run}
            try:
                data = await self._fetch(run[0].index, run[0].begin, sum(r.length for r in run))
            except (WebSeedError, OSError, TimeoutError) as exc:
                return str(exc) or type(exc).__name__
            self.failures = 0
            blocks, pos = [], 0
            view = memoryview(data)
            for r in run:
                if (r.index, r.begin) in self._fetching:
                    blocks.append(wire.Piece(r.index, r.begin, view[pos:pos + r.length]))
                pos += r.length
            if not self.joined:
                break
            now = loop.time()
            self.driver.downloaded += len(data)
            self.driver.last_data = now
            self.driver.execute(engine.messages_received(self.key, blocks, now))
        return "closed by the session"
    # [/docs: serve]

    def _take_run(self) -> list[wire.Request]:
        """The first wanted block and the wanted blocks right after it in the same piece."""
        first = self._wanted[0]
        run, end = [first], first.begin + first.length
        rest: list[wire.Request] = []
        for r in self._wanted[1:]:
            if r.index == first.index and r.begin == end and end - first.begin < MAX_SPAN:
                run.append(r)
                end += r.length
            else:
                rest.append(r)
        self._wanted = rest
        return run

    async def _fetch(self, index: int, begin: int, length: int) -> bytes:
        parts = []
        for r in block_ranges(self.torrent, self.layout, self.url, index, begin, length):
            parts.append(bytes(r.length) if r.url is None else await self.http.get(r.url, r.start, r.length))
        return b"".join(parts)
