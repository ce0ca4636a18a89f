"""The reference tracker on real loopback sockets, and the tracker clients against it and against fakes.

Every test runs its own event loop (``asyncio.run``), binds port 0 and closes what it opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

import pytest

from btref import bencode, tracker
from btref.discovery import AnnounceRequest, PeerAddress, ScrapeStats
from btref.errors import TrackerError
from btref.net import tracker_server
from btref.net.tracker_server import MAX_HEAD, TrackerServer, run_tracker, serve_tracker
from btref_discovery import udp_tracker
from btref_discovery.http_tracker import HTTPTracker
from btref_discovery.udp_tracker import UDPTracker

IH = b"\xab" * 20


def req(n: int, url: str = "", **kw) -> AnnounceRequest:
    fields = dict(info_hash=IH, peer_id=b"-RF0001-%012d" % n, port=7000 + n, left=10,
                  trackers=[[url]] if url else [])
    fields.update(kw)
    return AnnounceRequest(**fields)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def closed_port(kind: int = socket.SOCK_STREAM) -> int:
    """A loopback port nobody listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- clients against btref's tracker -----------------------------------------------------------


def test_http_client_and_server():
    async def scenario():
        async with serve_tracker(interval=30) as t:
            client = HTTPTracker(timeout=10)
            await client.announce(t.http_url, req(1, event="started"))
            second = await client.btref_announce(request=req(2, t.http_url, event="started", left=0))
            assert second.peers == (PeerAddress("127.0.0.1", 7001),) and second.complete == 1
            body = await client.fetch(tracker.announce_url(t.http_url, req(3), compact=False))
            assert sorted(p[b"port"] for p in bencode.decode(body)[b"peers"]) == [7001, 7002]
            await client.announce(t.http_url, req(1, event="completed", left=0))
            await client.announce(t.http_url, req(3, event="stopped"))
            assert await client.scrape(t.http_url, [IH, b"\x00" * 20]) == {
                IH: ScrapeStats(complete=2, downloaded=1, incomplete=0), b"\x00" * 20: ScrapeStats()}
            with pytest.raises(TrackerError, match="no scrape URL"):
                await client.scrape(f"http://127.0.0.1:{t.http_port}/a", [IH])
            with pytest.raises(TrackerError, match="failure: missing peer_id"):
                tracker.parse_announce_response(await client.fetch(t.http_url + "?info_hash=" + "%00" * 20))
    run(scenario())


def test_udp_client_and_server():
    async def scenario():
        async with serve_tracker(interval=30) as t:
            client = UDPTracker(timeout_base=5)
            first = await client.announce(t.udp_url, req(1, event="started"))
            assert first.peers == () and first.interval == 30 and first.incomplete == 1 and first.url == t.udp_url
            second = await client.btref_announce(request=req(2, t.udp_url, event="started", left=0))
            assert second.peers == (PeerAddress("127.0.0.1", 7001),) and second.complete == 1
            await client.announce(t.udp_url, req(1, event="completed", left=0))
            await client.announce(t.udp_url, req(2, event="stopped"))
            assert await client.scrape(t.udp_url, [IH, b"\x00" * 20]) == {
                IH: ScrapeStats(complete=1, downloaded=1, incomplete=0), b"\x00" * 20: ScrapeStats()}
            assert len(client.connections) == 1  # one connect served every exchange
            with pytest.raises(TrackerError, match="20-byte"):
                await client.scrape(t.udp_url, [b"short"])
            for bad in ("udp://127.0.0.1/announce", "http://127.0.0.1:1/", "udp://127.0.0.1:99999/"):
                with pytest.raises(TrackerError, match="udp://host:port"):
                    await client.announce(bad, req(1))
    run(scenario())


def test_udp_failure_answer_from_tracker():
    async def scenario():
        async with serve_tracker(http_port=None) as t:
            t.state.max_swarms = 0
            client = UDPTracker(timeout_base=5)
            with pytest.raises(TrackerError, match="tracker error: tracker is tracking too many"):
                await client.announce(t.udp_url, req(1))
            assert client.connections == {}  # dropped after an error, in case the id was the cause
            assert t.http_port is None
    run(scenario())


def test_udp_connection_id_expires_after_ttl():
    now = [1000.0]
    connects = []

    async def scenario():
        async with serve_tracker(http_port=None, clock=lambda: now[0]) as t:
            original = t.state.udp_packet

            def spy(data, addr, when, **kw):
                if struct.unpack_from(">I", data, 8)[0] == tracker.CONNECT:
                    connects.append(when)
                return original(data, addr, when, **kw)

            t.state.udp_packet = spy
            client = UDPTracker(timeout_base=5, clock=lambda: now[0])
            await client.announce(t.udp_url, req(1))
            now[0] += 59.0
            await client.announce(t.udp_url, req(1))
            assert len(connects) == 1  # still within the minute
            now[0] += 1.0
            await client.announce(t.udp_url, req(1))
            assert len(connects) == 2  # BEP 15: a connection id is good for one minute
    run(scenario())


# -- malformed requests to the server ----------------------------------------------------------


async def raw_http(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


def test_server_rejects_malformed_http():
    async def scenario():
        async with serve_tracker(udp_port=None, timeout=5) as t:
            cases = [
                (b"POST /announce HTTP/1.0\r\n\r\n", b"405", b"only GET"),
                (b"garbage\r\n\r\n", b"400", b"malformed"),
                (b"GET /favicon.ico HTTP/1.0\r\n\r\n", b"404", b"unknown path"),
                (b"GET /announce?x=" + b"a" * MAX_HEAD + b" HTTP/1.0\r\n\r\n", b"431", b"request head"),
                (b"GET /announce HTTP/1.0\r\n\r\n", b"200", b"missing info_hash"),
                (b"GET /announce?info_hash=" + b"%00" * 20 + b"&peer_id=" + b"p" * 20 + b"&port=1&left=-1 HTTP/1.1\r\n"
                 b"Host: x\r\n\r\n", b"200", b"left must not be negative"),
                (b"GET /scrape?info_hash=x HTTP/1.0\r\n\r\n", b"200", b"info_hash must be 20 bytes"),
            ]
            for request, status, reason in cases:
                answer = await raw_http(t.http_port, request)
                head, _, body = answer.partition(b"\r\n\r\n")
                assert head.split()[1] == status, request[:40]
                assert reason in bencode.decode(body)[b"failure reason"]
            # a client that connects and goes away, or stalls past the timeout, is dropped quietly
            reader, writer = await asyncio.open_connection("127.0.0.1", t.http_port)
            writer.write(b"GET /annou")
            writer.close()
            assert (await raw_http(t.http_port, b"GET /scrape?info_hash=" + b"%00" * 20 + b" HTTP/1.0\r\n\r\n")
                    ).startswith(b"HTTP/1.0 200 OK")
    run(scenario())


def test_server_http_timeout():
    async def scenario():
        async with serve_tracker(udp_port=None, timeout=0.05) as t:
            reader, writer = await asyncio.open_connection("127.0.0.1", t.http_port)
            writer.write(b"GET /announce")  # never finishes the head
            assert await reader.read() == b""  # the server gave up and closed
            writer.close()
    run(scenario())


class _Collector(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.queue.put_nowait(data)


def test_server_rejects_malformed_udp():
    async def scenario():
        async with serve_tracker(http_port=None) as t:
            loop = asyncio.get_running_loop()
            transport, inbox = await loop.create_datagram_endpoint(_Collector, remote_addr=("127.0.0.1", t.udp_port))
            try:
                transport.sendto(b"tiny")  # no transaction id: no answer
                transport.sendto(struct.pack(">QII", 5, 0, 42))  # connect without the magic
                error = tracker.parse_udp_response(await inbox.queue.get())
                assert (error.action, error.transaction_id) == (tracker.ERROR, 42) and "protocol id" in error.message
                transport.sendto(tracker.udp_announce_request(123, 43, req(1)))  # never connected
                error = tracker.parse_udp_response(await inbox.queue.get())
                assert error.transaction_id == 43 and "connection id" in error.message
                assert inbox.queue.empty()  # "tiny" got nothing back
            finally:
                transport.close()
    run(scenario())


def test_udp_handler_survives_a_crash(caplog):
    async def scenario():
        async with serve_tracker(http_port=None) as t:
            t.state.udp_packet = lambda *a, **k: 1 / 0
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(_Collector, remote_addr=("127.0.0.1", t.udp_port))
            transport.sendto(tracker.udp_connect_request(1))
            for _ in range(100):
                await asyncio.sleep(0.01)
                if "crashed" in caplog.text:
                    break
            transport.close()
    run(scenario())
    assert "crashed the handler" in caplog.text


# -- garbage answers to the clients ------------------------------------------------------------


@contextlib.asynccontextmanager
async def fake_http(answer: bytes, *, stall: bool = False):
    requests: list[bytes] = []

    async def handle(reader, writer):
        requests.append(await reader.readuntil(b"\r\n\r\n"))
        if stall:
            await reader.read()  # until the client gives up and closes
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/announce", requests
    finally:
        server.close()
        await server.wait_closed()


def test_http_client_on_garbage():
    async def scenario():
        client = HTTPTracker(timeout=5, max_response=1000)
        for answer, message in [
            (b"not http at all\r\n\r\n", "not an HTTP"),
            (b"HTTP/1.0 200 OK\r\n\r\nnot bencoded", "not bencoded"),
            (b"HTTP/1.0 500 Oops\r\n\r\n", "HTTP 500"),
            (b"HTTP/1.0 200 OK\r\n\r\nd14:failure reason7:go awaye", "failure: go away"),
            (b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 100_000, "larger than 1000"),
        ]:
            async with fake_http(answer) as (url, _):
                with pytest.raises(TrackerError, match=message):
                    await client.announce(url, req(1))
        async with fake_http(b"", stall=True) as (url, _):
            with pytest.raises(TrackerError, match="within 0.05 s"):
                await HTTPTracker(timeout=0.05).announce(url, req(1))
        with pytest.raises(TrackerError, match="Connect call failed|refused"):
            await client.announce(f"http://127.0.0.1:{closed_port()}/announce", req(1))
    run(scenario())


def test_http_client_echoes_tracker_id():
    async def scenario():
        answer = b"HTTP/1.0 200 OK\r\n\r\n" + bencode.encode({"interval": 5, "peers": b"", "tracker id": b"T 42"})
        async with fake_http(answer) as (url, requests):
            client = HTTPTracker(timeout=5)
            assert (await client.announce(url, req(1))).tracker_id == b"T 42"
            await client.announce(url, req(1))
            assert b"trackerid" not in requests[0] and b"&trackerid=T%2042 " in requests[1]
    run(scenario())


@contextlib.asynccontextmanager
async def fake_udp(reply):
    """A UDP 'tracker' answering each datagram with ``reply(data)`` (bytes, or None for silence)."""
    received: list[bytes] = []

    class Fake(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            received.append(data)
            for answer in reply(data) or ():
                self.transport.sendto(answer, addr)

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(Fake, local_addr=("127.0.0.1", 0))
    try:
        yield f"udp://127.0.0.1:{transport.get_extra_info('sockname')[1]}/announce", received
    finally:
        transport.close()


def tid(data: bytes) -> int:
    return struct.unpack_from(">I", data, 12)[0]


def connect_then(announce_reply):
    def reply(data):
        if struct.unpack_from(">I", data, 8)[0] == tracker.CONNECT:
            return [tracker.udp_connect_response(tid(data), 99)]
        return announce_reply(data)
    return reply


def test_udp_client_on_garbage():
    async def scenario():
        client = UDPTracker(timeout_base=0.01, max_retries=1)
        cases = [
            (lambda d: [struct.pack(">II", tracker.ERROR, tid(d)) + b"go away"], "tracker error: go away"),
            (lambda d: [struct.pack(">II", 7, tid(d))], "unknown action 7"),
            (connect_then(lambda d: [tracker.udp_connect_response(tid(d), 1)]), "action 0, expected 1"),
            (connect_then(lambda d: [struct.pack(">II", tracker.ANNOUNCE, tid(d)) + b"abc"]), "shorter than 20"),
        ]
        for reply, message in cases:
            async with fake_udp(reply) as (url, _):
                with pytest.raises(TrackerError, match=message):
                    await client.announce(url, req(1))
        # answers with a wrong transaction id, or too short to have one, are ignored: the client retries
        async with fake_udp(lambda d: [b"xy", struct.pack(">IIQ", 0, tid(d) ^ 1, 5)]) as (url, received):
            with pytest.raises(TrackerError, match="no answer after 2 tries"):
                await client.announce(url, req(1))
            assert len(received) == 2
        with pytest.raises(TrackerError, match="refused"):
            await UDPTracker(timeout_base=5).announce(f"udp://127.0.0.1:{closed_port(socket.SOCK_DGRAM)}/", req(1))
        with pytest.raises(TrackerError, match="udp://no-such-host.invalid"):
            await client.announce("udp://no-such-host.invalid:1/announce", req(1))
    run(scenario())


def test_udp_retries_back_off(monkeypatch):
    waits: list[float] = []
    real_timeout = asyncio.timeout

    def recording_timeout(delay):
        waits.append(delay)
        return real_timeout(delay)

    monkeypatch.setattr(udp_tracker.asyncio, "timeout", recording_timeout)
    answered = []

    def flaky(data):  # drop the first two connects and the first announce
        answered.append(data)
        if len(answered) in (1, 2, 4):
            return None
        return connect_then(lambda d: [tracker.udp_announce_response(tid(d), 60, 1, 2, b"")])(data)

    async def scenario():
        async with fake_udp(flaky) as (url, received):
            result = await UDPTracker(timeout_base=0.01, max_retries=8).announce(url, req(1))
            assert (result.interval, result.incomplete, result.complete) == (60, 1, 2)
            actions = [struct.unpack_from(">I", d, 8)[0] for d in received]
            assert actions == [0, 0, 0, 1, 1]
        async with fake_udp(lambda d: None) as (url, received):
            with pytest.raises(TrackerError, match="no answer after 4 tries"):
                await UDPTracker(timeout_base=0.001, max_retries=3).announce(url, req(1))
            assert len(received) == 4
    run(scenario())
    assert waits[:5] == [0.01, 0.02, 0.04, 0.04, 0.08]  # 15 * 2^n with base 0.01; n grows per retry
    assert waits[5:] == [0.001, 0.002, 0.004, 0.008]


def test_udp_scrape_short_answer():
    async def scenario():
        async with fake_udp(connect_then(lambda d: [tracker.udp_scrape_response(tid(d), [ScrapeStats()])])) as (url, _):
            with pytest.raises(TrackerError, match="1 entries for 2 hashes"):
                await UDPTracker(timeout_base=1).scrape(url, [IH, IH])
    run(scenario())


# -- run_tracker (what `btref tracker` calls) --------------------------------------------------


def test_run_tracker_prints_and_stops_on_ctrl_c():
    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        if line.startswith("Next:"):
            raise KeyboardInterrupt  # what Ctrl-C does while the tracker waits

    assert run_tracker(0, 0, out=out) == 0
    assert lines[0].startswith("btref tracker: HTTP on http://127.0.0.1:") and "/announce" in lines[0]
    assert lines[1].startswith("btref tracker: UDP  on udp://127.0.0.1:")
    assert lines[-1] == "btref tracker: stopped"
    lines.clear()
    run_tracker(None, 0, out=out)
    assert "udp://127.0.0.1:" in lines[1] and len(lines) == 3


def test_run_tracker_port_taken():
    lines: list[str] = []
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert run_tracker(busy.getsockname()[1], None, out=lines.append) == 1
    assert "cannot listen on 127.0.0.1" in lines[0] and "other ports" in lines[1]


def test_ipv6_loopback_udp():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")

    async def scenario():
        async with TrackerServer("::1", None, 0) as t:
            assert t.udp_url.startswith("udp://[::1]:")
            client = UDPTracker(timeout_base=5)
            await client.announce(t.udp_url, req(1))
            result = await client.announce(t.udp_url, req(2))
            assert result.peers == (PeerAddress("::1", 7001),)
    run(scenario())


def test_module_exports():
    assert set(tracker_server.__all__) == {"TrackerServer", "serve_tracker", "run_tracker", "MAX_HEAD"}
