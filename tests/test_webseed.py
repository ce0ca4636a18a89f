"""Web seeds (BEP 19): downloads from a real HTTP server on loopback, alone and beside peers.

The server is :class:`tests.webserver.FileServer` (``http.server`` with range requests, in a
thread); the hostile servers are a few lines of asyncio each. Every server, client and
libtorrent session is stopped by the test that started it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from btref import cli
from btref.errors import WebSeedError
from btref.io.create import create_torrent
from btref.layout import Layout
from btref.metainfo import parse
from btref.net.driver import Client
from btref.net.events import read_events
from btref.net.webseed import HttpConnection, Range, WebSeedKey, block_ranges, file_url
from tests.ltsession import free_port, until
from tests.test_driver import make_data, run, same_tree
from tests.webserver import FileServer

# Names that need percent-encoding, and a block that spans three files.
FILES = {"a b.bin": 70_001, "sub/ü.bin": 20_000, "sub/tiny.bin": 5, "z%.bin": 41_000}


def seeded(tmp_path: Path, *urls: str, files: dict[str, int] | None = FILES,
           piece_length: int = 32768) -> tuple[Path, bytes]:
    """(DATA_DIR holding the data, torrent bytes with ``urls`` as its url-list); a single
    file when ``files`` is None."""
    src = tmp_path / "src"
    if files is None:
        src.mkdir(parents=True)
        top = src / "one file.bin"
        top.write_bytes(bytes(range(256)) * 700)
    else:
        top = make_data(src, files=files)
    return src, create_torrent(top, piece_length=piece_length, web_seeds=list(urls))


def download(tmp_path: Path, data: bytes, *, then_peer: Callable[[Client], object] | None = None,
             peer: str = "", timeout: float = 60) -> tuple[bool, list[dict[str, object]], Client]:
    """Download ``data`` into ``tmp_path/dst`` from its web seeds; once ``then_peer(client)``
    holds, add the peer ``peer`` too. Returns (completed, events, client)."""
    events = tmp_path / "events.jsonl"

    async def scenario() -> tuple[bool, Client]:
        async with Client(parse(data), tmp_path / "dst", host="127.0.0.1", discovery=(),
                          events=events) as client:
            async with asyncio.timeout(timeout):
                if then_peer is not None:
                    await until(lambda: then_peer(client), "the web seed's part before the peer joins")
                    client.network.add_peer(peer)
                    client.network.redial(client.loop.time())
                ok = await client.run()
            return ok, client

    ok, client = run(scenario(), timeout + 30)
    return ok, read_events(events), client


# -- mapping ---------------------------------------------------------------------------------


def test_urls_of_a_single_file_and_a_multi_file_torrent(tmp_path: Path) -> None:
    _, single = seeded(tmp_path / "1", files=None)
    one = parse(single)
    assert file_url("http://h/x.bin", one, one.files[0].path) == "http://h/x.bin"
    assert file_url("http://h/d/", one, one.files[0].path) == "http://h/d/one%20file.bin"
    _, multi = seeded(tmp_path / "2")
    many = parse(multi)
    paths = [file_url("http://h/d", many, f.path) for f in many.files]
    assert "http://h/d/payload/a%20b.bin" in paths
    assert "http://h/d/payload/sub/%C3%BC.bin" in paths
    assert "http://h/d/payload/z%25.bin" in paths


def test_a_block_across_files_is_one_range_per_file(tmp_path: Path) -> None:
    _, data = seeded(tmp_path, piece_length=65536)
    torrent = parse(data)
    layout = Layout(torrent)
    # Piece 1 holds the end of "a b.bin" and the start of the next file.
    ranges = block_ranges(torrent, layout, "http://h/", 1, 0, torrent.piece_size(1))
    assert len(ranges) >= 2
    assert ranges[0] == Range("http://h/payload/a%20b.bin", 65536, 70_001 - 65536)
    assert sum(r.length for r in ranges) == torrent.piece_size(1)


# -- downloads from a real server ---------------------------------------------------------------


@pytest.mark.parametrize("files", [None, FILES], ids=["single-file", "multi-file"])
def test_web_seed_alone_downloads_byte_exact(tmp_path: Path, files: dict[str, int] | None) -> None:
    src = tmp_path / "src"
    with FileServer(src) as server:
        base = server.url if files is not None else server.url + "one%20file.bin"
        _, data = seeded(tmp_path, base, files=files)
        ok, events, client = download(tmp_path, data)
    assert ok, client.error
    assert same_tree(src, tmp_path / "dst")
    assert server.requests >= 1
    assert not [e for e in events if e["event"] in ("web_seed_failed", "peer_banned")]


def test_failing_servers_are_backed_off_and_retried(tmp_path: Path) -> None:
    src = tmp_path / "src"
    with FileServer(src, fail_first=1) as busy, FileServer(tmp_path / "empty") as missing:
        # Refused (nothing listens on the dead port), 404 (no files there), 503 once then fine.
        dead = f"http://127.0.0.1:{free_port()}/"
        _, data = seeded(tmp_path, dead, missing.url, busy.url)
        ok, events, client = download(tmp_path, data)
    assert ok, client.error
    assert same_tree(src, tmp_path / "dst")
    failed = {str(e["url"]): str(e["reason"]) for e in events if e["event"] == "web_seed_failed"}
    assert set(failed) == {dead, missing.url, busy.url}
    assert "HTTP 503" in failed[busy.url] and "HTTP 404" in failed[missing.url]
    assert busy.requests > 1  # asked again after its back-off


# -- hostile servers ----------------------------------------------------------------------------


async def serve_raw(answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
                    use: Callable[[str], Awaitable[None]]) -> None:
    """Run ``use(url)`` against a server whose every connection ``answer`` handles."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await answer(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        await use(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/f")
    finally:
        server.close()
        await server.wait_closed()


def refused_with(answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
                 message: str) -> None:
    async def use(url: str) -> None:
        http = HttpConnection()
        try:
            with pytest.raises(WebSeedError, match=message):
                await http.get(url, 0, 16384)
        finally:
            http.close()

    run(serve_raw(answer, use), 30)


def test_a_huge_content_length_is_refused_unread() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-16383/99\r\n"
                     b"Content-Length: 99999999999999\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(30)  # never sends the body it claims

    refused_with(answer, "99999999999999 bytes offered for a range of 16384")


def test_endless_headers_are_cut_off() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 206 Partial Content\r\n")
        for n in range(10_000):
            writer.write(b"X-More-%d: yes\r\n" % n)
            await writer.drain()

    refused_with(answer, "more than 100 headers")


def test_an_endless_header_line_is_cut_off() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 206 Partial Content\r\nX-Long: ")
        for _ in range(100):
            writer.write(b"a" * 1024)
            await writer.drain()

    refused_with(answer, "header line over")


def test_a_redirect_loop_ends() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: /f\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    refused_with(answer, "more than 5 redirects")


def test_a_redirect_to_another_scheme_is_refused() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 301 Moved\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    refused_with(answer, "only http:// and https://")


def test_a_server_ignoring_the_range_is_refused() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-16483/99999\r\n"
                     b"Content-Length: 16384\r\n\r\n" + bytes(16384))
        await writer.drain()

    refused_with(answer, "Content-Range")


@pytest.mark.parametrize(("reply", "message"), [
    (b"HTTP/1.1 206 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked"),
    (b"HTTP/1.1 206 OK\r\nContent-Range: bytes 0-16383/20000\r\n\r\n", "without a Content-Length"),
    (b"HTTP/1.1 206 OK\r\nContent-Range: bytes 0-16383/20000\r\nContent-Length: \xb2\r\n\r\n",
     "without a Content-Length"),
    (b"HTTP/1.1 206 OK\r\nContent-Range: bytes 0-16383/20000\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
     "without a Content-Length"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x status line"),
    (b"HTTP/1.1 206 OK\r\nno colon here\r\n\r\n", "without a colon"),
    (b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n", "without a Location"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 16384\r\n\r\n", None),  # the whole file was the range
    (b"HTTP/1.1 206 OK\r\nContent-Range: bytes 0-16383/20000\r\nContent-Length: 16384\r\n\r\nshort",
     "body cut short at 5 of 16384"),
    (b"HTTP/1.1 206 OK\r\nContent-Range: bytes 0-16383/20000\r\nContent-Length: 16384\r\n", "mid-header"),
], ids=["chunked", "no-length", "superscript-length", "5000-digit-length", "not-http", "no-colon",
        "no-location", "whole-file", "cut-short", "cut-in-headers"])
def test_broken_answers_are_refused(reply: bytes, message: str | None) -> None:
    body = bytes(16384) if message is None else b""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(reply + body)
        await writer.drain()

    if message is not None:
        refused_with(answer, message)
        return

    async def use(url: str) -> None:
        http = HttpConnection()
        try:
            assert await http.get(url, 0, 16384) == body
        finally:
            http.close()

    run(serve_raw(answer, use), 30)


def test_the_request_line_cannot_be_broken_by_the_url() -> None:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        http = HttpConnection()
        try:
            with pytest.raises(WebSeedError, match="HTTP 404"):
                await http.get(f"http://127.0.0.1:{port}/my dir/ü x.bin?a=1", 0, 10)
        finally:
            http.close()
            server.close()
            await server.wait_closed()

    run(scenario(), 30)
    request_line = seen[0].split(b"\r\n")[0]
    assert request_line == b"GET /my%20dir/%C3%BC%20x.bin?a=1 HTTP/1.1"


# -- beside libtorrent ------------------------------------------------------------------------


@pytest.fixture
def lt_seed(tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.ltsession import LT

    session = LT()
    try:
        yield session
    finally:
        session.close()


@pytest.mark.interop
@pytest.mark.parametrize("lie", [False, True], ids=["honest", "lying"])
def test_web_seed_beside_a_libtorrent_peer(tmp_path: Path, lt_seed, lie: bool) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    with FileServer(src, lie=lie) as server:
        _, data = seeded(tmp_path, server.url)
        handle = lt_seed.add(data, src)

        async def seeding() -> None:
            await lt_seed.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")

        run(seeding(), 90)
        # The peer joins once the web seed has sent data (honest) or has been banned (lying),
        # so both sources take part whatever the machine's speed.
        key = WebSeedKey(server.url)
        joins = ((lambda c: c.web_seeds[key].banned) if lie
                 else (lambda c: c.pieces_on_disk is not None and c.pieces_on_disk.count > 0))
        ok, events, client = download(tmp_path, data, then_peer=joins, peer=f"127.0.0.1:{lt_seed.port}")
    assert ok, client.error
    assert same_tree(src, tmp_path / "dst")
    banned = [e for e in events if e["event"] == "peer_banned"]
    if lie:  # its bytes failed the hash: banned like a lying peer, the peer finished the job
        assert [e["peer"] for e in banned] == [server.url]
    else:
        assert banned == []


# -- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://files.example/pub/", "files.example/pub/", "http://"])
def test_create_refuses_a_web_seed_it_cannot_fetch(tmp_path: Path, url: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f.bin").write_bytes(b"x" * 100)
    code = cli.main(["create", str(tmp_path / "f.bin"), "-o", str(tmp_path / "f.torrent"), "--web-seed", url])
    assert code == 2 and not (tmp_path / "f.torrent").exists()
    err = capsys.readouterr().err
    assert "a web seed is an http:// or https:// URL" in err and "Traceback" not in err
