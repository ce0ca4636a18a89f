"""A peer that sends corrupt blocks is banned; the download completes from an honest peer.

The hostile peer is a small asyncio server written here: it speaks the peer wire protocol
through :mod:`btref.wire` (handshake, a full bitfield, unchoke) and answers every request
with a block of the right size and the wrong bytes. The leecher knows only that peer at
first, so the bad pieces and the ban happen before any honest data arrives; then it is
told about an honest seed (btref or libtorrent) and must finish with the right file.

Bans are by IP address, so the hostile peers here run on their own loopback address
(:data:`HOSTILE_HOST`; Linux routes all of 127.0.0.0/8 to the loopback device) and the
honest ones on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from btref import wire
from btref.pieceset import PieceSet
from btref.connection import Connection
from btref.discovery import PeerAddress
from btref.errors import ProtocolError, StorageError
from btref.extension import ExtensionHandshake, decode_handshake
from btref.io.storage import Storage, verify
from btref.metadata import REQUEST, MetadataMessage, encode_message
from btref.metainfo import Torrent
from btref.net.driver import Client, make_peer_id
from btref.net.events import read_events
from btref.net.peer_io import PeerKey
from btref_discovery.pex import PEX, decode_pex, encode_pex
from tests.test_driver import make_torrent, run, same_tree

#: The address hostile peers listen on and connect from.
HOSTILE_HOST = "127.0.0.2"


class HostilePeer:
    """Claims every piece and serves garbage; counts its connections."""

    def __init__(self, torrent: Torrent) -> None:
        self.torrent = torrent
        self.connections = 0
        self.blocks_sent = 0
        self.rng = random.Random(7)
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> HostilePeer:
        self.server = await asyncio.start_server(self.serve, HOSTILE_HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        t = self.torrent
        conn = Connection(t.num_pieces, t.piece_size, peer_id=make_peer_id(), info_hashes={t.info_hash},
                          initiator=False)
        try:
            while data := await reader.read(65536):
                for msg in conn.receive_data(data):
                    if isinstance(msg, wire.Handshake):
                        full = PieceSet.full(t.num_pieces).to_bytes()
                        writer.write(conn.send(conn.handshake()) + conn.send(wire.Bitfield(full)))
                    elif isinstance(msg, wire.Interested):
                        writer.write(conn.send(wire.Unchoke()))
                    elif isinstance(msg, wire.Request):
                        garbage = self.rng.randbytes(msg.length)
                        writer.write(conn.send(wire.Piece(msg.index, msg.begin, garbage)))
                        self.blocks_sent += 1
                await writer.drain()
        except (OSError, ProtocolError):  # the leecher hangs up on us, as it should
            pass
        finally:
            writer.close()


async def _honest_btref(torrent: Torrent, src: Path, stack: Any) -> str:
    seeder = await stack.enter_async_context(Client(torrent, src, host="127.0.0.1", seed=True, discovery=()))
    return f"127.0.0.1:{seeder.port}"


@pytest.mark.parametrize("honest", ["btref", "libtorrent"])
def test_corrupt_blocks_get_the_peer_banned(tmp_path: Path, honest: str) -> None:
    data, torrent, src = make_torrent(tmp_path, "hybrid")
    dst = tmp_path / "dst"
    lt_side = None
    if honest == "libtorrent":
        from tests.ltsession import LT

        lt_side = LT()

    async def scenario() -> None:
        from contextlib import AsyncExitStack

        async with AsyncExitStack() as stack:
            hostile = await stack.enter_async_context(HostilePeer(torrent))
            leech = await stack.enter_async_context(Client(
                torrent, dst, host="127.0.0.1", peers=[f"{HOSTILE_HOST}:{hostile.port}"], discovery=(),
                events=tmp_path / "ev.jsonl"))
            while not leech.network.banned:  # bounded by run()'s timeout
                await asyncio.sleep(0.02)
            assert leech.network.banned == {HOSTILE_HOST}
            assert leech.stats()["pieces"] == 0
            # A banned peer is never dialled again, even when a tracker names it once more.
            leech.network.add_peer(f"{HOSTILE_HOST}:{hostile.port}")
            leech.network.redial(leech.loop.time())
            if lt_side is not None:
                handle = lt_side.add(data, src)
                await lt_side.wait(lambda: handle.status().is_seeding, "recheck of the seed's data")
                honest_peer = f"127.0.0.1:{lt_side.port}"
            else:
                honest_peer = await _honest_btref(torrent, src, stack)
            leech.network.add_peer(honest_peer)
            leech.network.redial(leech.loop.time())
            assert await leech.run(), leech.error
            assert hostile.connections == 1 and hostile.blocks_sent >= 2

    try:
        run(scenario(), 90)
    finally:
        if lt_side is not None:
            lt_side.close()
    assert same_tree(src, dst)
    events = read_events(tmp_path / "ev.jsonl")
    assert any(e["event"] == "piece_failed" for e in events)
    banned = [e for e in events if e["event"] == "peer_banned"]
    assert len(banned) == 1 and "hash check" in banned[0]["reason"]


# -- findings of a hostile tester, attacked the way they were found ---------------------------


async def _raw_peer(port: int, torrent: Torrent, *, host: str = "127.0.0.1",
                    peer_id: bytes | None = None) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """A hand-made peer on HOSTILE_HOST (a new source port each time): connect to ``host:port``
    and send our handshake; returns the streams and the handshake's bytes."""
    reader, writer = await asyncio.open_connection(host, port, local_addr=(HOSTILE_HOST, 0))
    hs = wire.encode(wire.Handshake(torrent.info_hash, peer_id or make_peer_id(), wire.make_reserved(fast=True)))
    return reader, writer, hs


async def _answered(reader: asyncio.StreamReader) -> bool:
    """True if the other side answered our handshake with its own (False: it hung up)."""
    try:
        await reader.readexactly(wire.HANDSHAKE_LENGTH)
        return True
    except (asyncio.IncompleteReadError, OSError):
        return False


#: Fixed-size messages with the wrong payload size, framed by hand (finding 1).
WRONG_LENGTHS = {
    "unchoke-1": b"\x00\x00\x00\x02\x01\x00",
    "have-5": b"\x00\x00\x00\x06\x04" + bytes(5),
    "piece-4": b"\x00\x00\x00\x05\x07" + bytes(4),
}


def test_a_wrong_length_after_other_bytes_is_a_protocol_error(tmp_path: Path) -> None:
    """Finding 1: the bad message comes in the same read as the bytes before it (the
    handshake, or a have-none). ``btref seed`` printed a traceback per connection and
    logged ``session stopped``; the reason is the protocol error, and nothing is printed."""
    from tests.test_cli_network import btref_process

    data, torrent, src = make_torrent(tmp_path)
    path, log = tmp_path / "t.torrent", tmp_path / "seed.jsonl"
    path.write_bytes(data)

    async def attack(port: int) -> None:
        for bad in WRONG_LENGTHS.values():
            reader, writer, hs = await _raw_peer(port, torrent)
            writer.write(hs + bad)  # with the handshake: the connection ends before admission
            while await reader.read(65536):
                pass
            writer.close()
            reader, writer, hs = await _raw_peer(port, torrent)
            writer.write(hs)
            assert await _answered(reader)
            writer.write(b"\x00\x00\x00\x01\x0f" + bad)  # have none, then the bad message
            while await reader.read(65536):
                pass
            writer.close()

    with btref_process("seed", str(path), str(src), "--host", "127.0.0.1", "--no-trackers",
                       "--events", str(log)) as (proc, first):
        match = re.search(r"on 127\.0\.0\.1:(\d+)", first)
        assert match, first
        run(attack(int(match.group(1))))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        printed = proc.stdout.read() if proc.stdout else ""
    assert "Traceback" not in printed and "Error" not in printed, printed
    events = read_events(log)
    failed = [e["reason"] for e in events if e["event"] == "handshake_failed"]
    dropped = [e["reason"] for e in events if e["event"] == "peer_disconnected"]
    assert len(failed) == len(dropped) == len(WRONG_LENGTHS)
    assert all("payload" in reason for reason in failed + dropped), (failed, dropped)


def test_half_open_connections_count_against_the_cap(tmp_path: Path) -> None:
    """Finding 2: open many sockets first, handshake them later; the cap (here 5) must hold."""
    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(), max_peers=5) as seed:
            peers = [await _raw_peer(seed.port, torrent) for _ in range(30)]
            for _, writer, hs in peers:
                writer.write(hs)
            answered = [await _answered(reader) for reader, _, _ in peers]
            assert sum(answered) == 5 and len(seed.links) == 5
            assert seed.network.connection_count() <= 5
            for _, writer, _ in peers:
                writer.close()

    run(scenario())


def test_a_peer_that_stops_reading_its_blocks_gets_them_later(tmp_path: Path) -> None:
    """A peer asks for 4 MiB of blocks and reads nothing for a while: the seed queues about
    HIGH_WATER of them and holds the other requests (it goes on reading the peer's
    messages); once the peer reads again, every block it asked for arrives."""
    import socket

    from btref.net.peer_io import HIGH_WATER

    _, torrent, src = make_torrent(tmp_path, piece_length=1 << 20, files={"big.bin": 4 << 20})
    blocks = [(i, begin) for i in range(torrent.num_pieces) for begin in range(0, 1 << 20, wire.BLOCK_SIZE)]

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.bind((HOSTILE_HOST, 0))
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", seed.port))
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(wire.encode(wire.Handshake(torrent.info_hash, make_peer_id(), bytes(8)))
                         + wire.encode(wire.Interested()))
            assert await _answered(reader)
            (link,) = seed.links.values()
            link.writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

            async def message_id() -> int:  # reads one message (framed by hand); its id
                body = await reader.readexactly(int.from_bytes(await reader.readexactly(4), "big"))
                return body[0] if body else -1

            while await message_id() != 1:  # until unchoked (bounded by run())
                pass
            writer.write(b"".join(wire.encode(wire.Request(i, b, wire.BLOCK_SIZE)) for i, b in blocks))
            while not link.held:  # the seed holds requests it owes too much to serve (bounded by run())
                assert link.backlog + link.reading <= HIGH_WATER + wire.BLOCK_SIZE
                await asyncio.sleep(0.01)
            got = 0
            while got < len(blocks):  # now read: the held requests are served as room frees up
                got += await message_id() == 7
                assert link.backlog + link.reading <= HIGH_WATER + wire.BLOCK_SIZE
            assert not link.held and link in seed.links.values()
            writer.close()

    run(scenario())


def test_a_crowd_arriving_at_once_is_queued_by_the_kernel(tmp_path: Path) -> None:
    """150 connections opened in one burst, before the seeder's loop can accept any: the
    kernel completes them only while its accept queue (the listen backlog) has room, and
    drops the rest of the SYNs, which their senders repeat after 1, then 3 s. With
    asyncio's default backlog of 100, a crowd of 200 leechers waited up to 5 s for a
    handshake (bench/seeder_load.py); the backlog follows ``max_peers``."""
    import select
    import socket

    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> int:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(), max_peers=200) as seed:
            socks = [socket.socket() for _ in range(150)]
            try:
                for sock in socks:  # the loop is not running meanwhile: nothing is accepted
                    sock.setblocking(False)
                    sock.connect_ex(("127.0.0.1", seed.port))
                poller = select.poll()
                for sock in socks:
                    poller.register(sock, select.POLLOUT)
                connected: set[int] = set()
                deadline = time.monotonic() + 0.5  # well before the first SYN is sent again (1 s)
                while len(connected) < len(socks) and time.monotonic() < deadline:
                    connected |= {fd for fd, _ in poller.poll(50)}
                return len(connected)
            finally:
                for sock in socks:
                    sock.close()

    assert run(scenario()) == 150


def test_idle_peers_are_dropped_and_an_honest_one_gets_in(tmp_path: Path) -> None:
    """Finding 2: handshaken peers that then say nothing held every slot for good. They are
    dropped after ``inactivity_timeout``; one that sends keep-alives stays."""
    _, torrent, src = make_torrent(tmp_path)

    async def keep_alive(writer: asyncio.StreamWriter) -> None:
        while True:
            writer.write(wire.encode(wire.KeepAlive()))
            await asyncio.sleep(0.2)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(), max_peers=3,
                          inactivity_timeout=1.5, events=tmp_path / "seed.jsonl") as seed:
            peers = [await _raw_peer(seed.port, torrent) for _ in range(3)]
            for reader, writer, hs in peers:
                writer.write(hs)
                assert await _answered(reader)
            talker = asyncio.ensure_future(keep_alive(peers[0][1]))
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", discovery=()) as leech:
                await leech.network.dial("127.0.0.1", seed.port)  # every slot is taken: closed at once
                assert not leech.links
                for reader, _, _ in peers[1:]:  # the silent ones are dropped (bounded by run())
                    while await reader.read(65536):
                        pass
                leech.network.add_peer(f"127.0.0.1:{seed.port}")
                leech.network.known[("127.0.0.1", seed.port)] = 0.0
                leech.network.redial(leech.loop.time())
                assert await leech.run()
            assert any(link.key.host == HOSTILE_HOST for link in seed.links.values())  # the talker
            talker.cancel()
            for _, writer, _ in peers:
                writer.close()

    run(scenario())
    reasons = [e["reason"] for e in read_events(tmp_path / "seed.jsonl") if e["event"] == "peer_disconnected"]
    assert reasons.count("sent nothing for 1.5 s") == 2


def test_a_peer_that_reads_nothing_is_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer that sends requests while choked and never reads the rejects: the seed reads
    on (it never waits for a peer to read: two peers waiting for each other would wait for
    ever), so the rejects pile up, and past ``MAX_BACKLOG`` the peer is dropped."""
    import socket

    import btref.net.listener as listener

    monkeypatch.setattr(listener, "MAX_BACKLOG", 256 * 1024)  # the same rule, reached sooner
    _, torrent, src = make_torrent(tmp_path)
    request = wire.encode(wire.Request(0, 0, wire.BLOCK_SIZE))

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(),
                          events=tmp_path / "seed.jsonl") as seed:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # what we never read stays with the seed
            sock.bind((HOSTILE_HOST, 0))
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", seed.port))
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(wire.encode(wire.Handshake(torrent.info_hash, make_peer_id(), wire.make_reserved(fast=True))))
            assert await _answered(reader)
            for link in seed.links.values():  # and the seed's kernel keeps little of it either
                link.writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            try:
                while True:  # until the seed hangs up (bounded by run())
                    writer.write(request * 1000)
                    await writer.drain()
            except OSError:
                pass
            writer.close()

    run(scenario())
    reasons = [e["reason"] for e in read_events(tmp_path / "seed.jsonl") if e["event"] == "peer_disconnected"]
    assert len(reasons) == 1 and reasons[0].startswith("peer reads nothing we send"), reasons


def test_a_banned_peer_is_refused_from_any_port(tmp_path: Path) -> None:
    """Finding 5: banned for garbage, the peer connects in from a new port with a new peer
    id; the ban is on its address, so it is refused."""
    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        async with HostilePeer(torrent) as hostile, Client(
                torrent, tmp_path / "dst", host="127.0.0.1", peers=[f"{HOSTILE_HOST}:{hostile.port}"],
                discovery=(), events=tmp_path / "ev.jsonl") as leech:
            while not leech.network.banned:  # bounded by run()
                await asyncio.sleep(0.02)
            reader, writer, hs = await _raw_peer(leech.port, torrent)
            writer.write(hs)
            assert not await _answered(reader)
            writer.close()
            assert not leech.links

    run(scenario())
    failed = [e for e in read_events(tmp_path / "ev.jsonl") if e["event"] == "handshake_failed"]
    assert failed and failed[-1]["reason"] == "peer is banned" and failed[-1]["peer"].startswith(HOSTILE_HOST)


class PexPeer:
    """A hand-made peer on HOSTILE_HOST that offers ``ut_pex`` (BEP 10, BEP 11) and says it
    listens on ``listen_port``; it reads the other side's messages through a
    :class:`~btref.connection.Connection`."""

    UT_PEX, UT_METADATA = 7, 8  # the ids we receive these under, announced in our ``m``

    def __init__(self, torrent: Torrent, listen_port: int) -> None:
        self.torrent, self.listen_port = torrent, listen_port
        self.conn = Connection(torrent.num_pieces, torrent.piece_size, peer_id=make_peer_id(),
                               info_hash=torrent.info_hash, reserved=wire.make_reserved(extension=True))
        self.pending: list[wire.Message | wire.Handshake] = []
        self.their_m: dict[str, int] = {}  # the ids the other side receives under
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, port: int) -> PeerKey:
        """Dial ``127.0.0.1:port``, send both handshakes; returns the key the other side
        knows us by."""
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(HOSTILE_HOST, 0))
        ours = ExtensionHandshake(m={"ut_pex": self.UT_PEX, "ut_metadata": self.UT_METADATA}, p=self.listen_port)
        self.writer.write(self.conn.send(self.conn.handshake()) + wire.encode(wire.Extended(0, ours.encode())))
        return PeerKey(*self.writer.get_extra_info("sockname")[:2])

    async def next(self) -> wire.Message | wire.Handshake | None:
        """The next message from the other side (its extension handshake noted); None once it hung up."""
        while not self.pending:
            data = await self.reader.read(65536)
            if not data:
                return None
            self.pending += self.conn.receive_data(data)
        msg = self.pending.pop(0)
        if isinstance(msg, wire.Extended) and msg.ext_id == 0:
            self.their_m = dict(decode_handshake(msg.payload).m)
        return msg

    def send(self, msg: wire.Message) -> None:
        """Send ``msg`` whether or not the other side's handshake was read yet."""
        assert self.writer is not None
        self.writer.write(wire.encode(msg))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def test_a_peer_the_engine_closes_is_forgotten_by_pex(tmp_path: Path) -> None:
    """A peer the *engine* closes (a ``have`` out of range) leaves the extensions' tables as
    one that hangs up does: it is gone from ``peer_m`` and from the PEX plugin, and the next
    ``ut_pex`` message to another peer lists it as dropped (BEP 11). The engine's ``Close``
    takes the link out of the connection table before its read loop ends, so forgetting it
    only where the read loop ends would keep its PEX state for good."""
    _, torrent, src = make_torrent(tmp_path)
    pex = PEX(interval=0.0)  # every change goes out at once: no minute to wait between two messages
    a_listen = PeerAddress(HOSTILE_HOST, 6881)  # never dialled: PEX only names it

    async def exchange(seed: Client, a: PexPeer, b: PexPeer) -> list[PeerAddress]:
        """B, then A, connect; the engine closes A; what B hears of A as dropped."""
        assert seed.port is not None
        await b.connect(seed.port)
        a_key = await a.connect(seed.port)
        while True:  # until B hears of A by PEX (bounded by run())
            msg = await b.next()
            assert msg is not None
            if isinstance(msg, wire.Extended) and msg.ext_id == b.UT_PEX and a_listen in decode_pex(msg.payload)[0]:
                break
        assert a_key in seed.network.extensions.peer_m and a_key in pex.connected
        a.send(wire.Have(torrent.num_pieces))  # out of range: the engine answers Close
        while await a.next() is not None:  # until the seed hangs up (bounded by run())
            pass
        assert a_key not in seed.network.extensions.peer_m
        assert a_key not in pex.connected and a_key not in pex.told
        # An empty ut_pex makes the seed send what PEX has due; the answer to the ut_metadata
        # request behind it comes after that message on the wire, whatever the timing.
        b.send(wire.Extended(b.their_m["ut_pex"], encode_pex([], [])))
        b.send(wire.Extended(b.their_m["ut_metadata"], encode_message(MetadataMessage(REQUEST, 0))))
        dropped: list[PeerAddress] = []
        reply = None
        while not (isinstance(reply, wire.Extended) and reply.ext_id == b.UT_METADATA):  # bounded by run()
            reply = await b.next()
            assert reply is not None
            if isinstance(reply, wire.Extended) and reply.ext_id == b.UT_PEX:
                dropped += decode_pex(reply.payload)[1]
        return dropped

    async def scenario() -> list[PeerAddress]:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(pex,)) as seed:
            a, b = PexPeer(torrent, a_listen.port), PexPeer(torrent, 6882)
            try:
                return await exchange(seed, a, b)
            finally:
                a.close()
                b.close()

    assert run(scenario(), 30) == [a_listen]


def test_a_symlink_planted_in_the_output_folder_is_refused(tmp_path: Path) -> None:
    """Finding 6: ``payload/z.bin -> a.bin`` inside the output folder; pieces of z.bin went
    into a.bin and the download still said it succeeded. Now the session refuses to start."""
    _, torrent, src = make_torrent(tmp_path)
    dst = tmp_path / "dst"
    (dst / "payload").mkdir(parents=True)
    (dst / "payload" / "z.bin").symlink_to("a.bin")

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed:
            with pytest.raises(StorageError, match="payload/z.bin is a symbolic link"):
                async with Client(torrent, dst, host="127.0.0.1", peers=[f"127.0.0.1:{seed.port}"],
                                  discovery=()):
                    pass  # pragma: no cover - start fails

    run(scenario())
    assert sorted(p.name for p in (dst / "payload").iterdir()) == ["z.bin"]  # nothing written


class DiskCheckingLog:
    """An ``--events`` stream that, at every ``piece_verified`` line, reads that piece back
    from the download folder and notes it if the bytes there are not the piece's."""

    def __init__(self, torrent: Torrent, dst: Path, src: Path) -> None:
        self.torrent, self.dst = torrent, dst
        with Storage(torrent, src) as original:
            self.pieces = [original.read_piece(i) for i in range(torrent.num_pieces)]
        self.verified: list[int] = []
        self.not_on_disk: list[int] = []

    def write(self, line: str) -> int:
        event = json.loads(line)
        if event["event"] == "piece_verified":
            index = event["index"]
            self.verified.append(index)
            try:
                with Storage(self.torrent, self.dst) as disk:
                    good = disk.read_piece(index) == self.pieces[index]
            except StorageError:
                good = False
            if not good:
                self.not_on_disk.append(index)
        return len(line)

    def flush(self) -> None:
        pass


def test_piece_verified_is_logged_only_once_the_piece_is_on_disk(tmp_path: Path) -> None:
    """Finding 7: the log said ``piece_verified`` before the write; after a kill -9 it
    claimed pieces the disk lacked. Each line is checked against the disk as it is written."""
    _, torrent, src = make_torrent(tmp_path)
    log = DiskCheckingLog(torrent, tmp_path / "dst", src)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed, \
                Client(torrent, tmp_path / "dst", host="127.0.0.1", peers=[f"127.0.0.1:{seed.port}"],
                       discovery=(), events=log) as leech:
            assert await leech.run()

    run(scenario())
    assert sorted(log.verified) == list(range(torrent.num_pieces))
    assert log.not_on_disk == []


def test_after_kill_9_every_logged_piece_is_on_disk(tmp_path: Path) -> None:
    """Finding 7, as found: ``btref download --events`` killed with SIGKILL in mid-download;
    a recheck finds every piece the log calls verified."""
    data, torrent, src = make_torrent(tmp_path, files={"big.bin": 2 << 20}, piece_length=16384)
    path, log, dst = tmp_path / "t.torrent", tmp_path / "dl.jsonl", tmp_path / "dst"
    path.write_bytes(data)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(), upload_limit=512 * 1024) as seed:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "btref", "download", str(path), "-o", str(dst), "--host", "127.0.0.1",
                "--no-trackers", "--peer", f"127.0.0.1:{seed.port}", "--events", str(log),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            try:
                while not log.exists() or log.read_text().count('"piece_verified"') < 40:  # bounded by run()
                    await asyncio.sleep(0.01)
            finally:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()

    run(scenario())
    logged = {e["index"] for e in read_events(log) if e["event"] == "piece_verified"}
    report = verify(torrent, dst)
    assert len(logged) >= 40 and not report.complete
    assert logged <= set(report.good), sorted(logged - set(report.good))
