"""The asyncio driver on real loopback sockets: btref to btref, resume, failures, clean stops."""

from __future__ import annotations

import asyncio
import io
import os
import random
from pathlib import Path

import pytest

from btref import wire
from btref.actions import Config
from btref.io.create import create_torrent
from btref.errors import StorageError
from btref.metainfo import Torrent, parse
from btref.net.driver import Client, make_peer_id
from btref.net.events import EventLog, read_events
from btref.net.peer_io import PeerKey
from btref.io.progress import Progress, eta_text, format_line

# -- helpers shared by the network test files ------------------------------------------------

FILES = {"a.bin": 300_001, "sub/b.bin": 70_000, "sub/deeper/c.bin": 5, "z.bin": 40_000}


def make_data(root: Path, name: str = "payload", files: dict[str, int] = FILES, seed: int = 1) -> Path:
    """A folder ``root/name`` of files with deterministic pseudo-random contents."""
    rng = random.Random(seed)
    top = root / name
    for rel, size in files.items():
        path = top / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
    return top


def make_torrent(tmp_path: Path, version: str = "v1", *, trackers: tuple = (), piece_length: int = 16384,
                 files: dict[str, int] = FILES) -> tuple[bytes, Torrent, Path]:
    """(torrent bytes, parsed torrent, DATA_DIR of a complete copy) for a multi-file folder."""
    src = tmp_path / "src"
    top = make_data(src, files=files)
    data = create_torrent(top, version=version, piece_length=piece_length, trackers=[list(trackers)] if trackers else ())
    return data, parse(data), src


def same_tree(a: Path, b: Path) -> bool:
    """Byte-exact comparison of every file below two folders, except btref's own state
    (``.btref/``: parts files, the metadata a magnet download saved)."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and ".btref" not in p.relative_to(a).parts)
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and ".btref" not in p.relative_to(b).parts)
    return files_a == files_b and all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)


def run(coro, timeout: float = 60.0):
    """Run a scenario in a fresh event loop with a generous bound (not a timing assertion)."""
    async def bounded():
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


class Gate:
    """A TCP proxy in front of a peer, stricter than the peer: it hangs up on the first
    ``refuse`` connections at once, then forwards at most ``forward`` connections in all
    (Transmission allows one connection per address, and drops a second made while it
    still holds the first)."""

    def __init__(self, target: int, *, refuse: int = 0, forward: int = 1_000) -> None:
        self.target, self.refuse, self.forward = target, refuse, forward
        self.accepted = self.forwarded = 0
        self.pipes: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> Gate:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for pipe in list(self.pipes):
            pipe.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)
        await self.server.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.accepted <= self.refuse or self.forwarded >= self.forward:
            writer.close()
            return
        self.forwarded += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        task = asyncio.current_task()
        assert task is not None
        self.pipes.add(task)
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self.pipes.discard(task)


def leftover_tasks() -> set:
    """Tasks other than the caller's, and btref disk threads, still alive."""
    import threading

    threads = {t for t in threading.enumerate() if t.name.startswith("btref-disk")}
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()} | threads


# -- btref to btref ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "hybrid", "v2"])
def test_btref_to_btref(tmp_path: Path, version: str) -> None:
    _, torrent, src = make_torrent(tmp_path, version)
    dst = tmp_path / "dst"

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True) as seeder:
            async with Client(torrent, dst, host="127.0.0.1", peers=[f"127.0.0.1:{seeder.port}"],
                                      events=tmp_path / "leech.jsonl") as leech:
                assert await leech.run()
                stats = leech.stats()
                assert stats["pieces"] == torrent.num_pieces and stats["complete"]
                assert leech.downloaded >= torrent.total_length
            assert seeder.uploaded >= torrent.total_length
        assert not leftover_tasks()

    run(scenario())
    assert same_tree(src, dst)
    names = [e["event"] for e in read_events(tmp_path / "leech.jsonl")]
    for expected in ("recheck", "listening", "announced", "peer_connected", "piece_verified", "complete",
                     "on_disk", "stopped"):
        assert expected in names
    assert names.index("complete") < names.index("on_disk")


def test_two_seeders_and_a_tracker_free_swarm(tmp_path: Path) -> None:
    """Two seeds, one leecher that knows both; a second leecher fetches from the first."""
    _, torrent, src = make_torrent(tmp_path, "hybrid")

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True) as s1, \
                Client(torrent, src, host="127.0.0.1", seed=True) as s2:
            peers = [f"127.0.0.1:{s1.port}", f"127.0.0.1:{s2.port}"]
            async with Client(torrent, tmp_path / "d1", host="127.0.0.1", peers=peers, seed=True) as l1:
                assert await asyncio.wait_for(l1.complete.wait(), 30) is True
                async with Client(torrent, tmp_path / "d2", host="127.0.0.1",
                                          peers=[f"127.0.0.1:{l1.port}"]) as l2:
                    assert await l2.run()

    run(scenario())
    assert same_tree(src, tmp_path / "d1") and same_tree(src, tmp_path / "d2")


def test_seed_dials_out_to_a_leecher(tmp_path: Path) -> None:
    """``btref seed --peer``: the leecher knows nobody; the seed connects to it."""
    _, torrent, src = make_torrent(tmp_path, "v1")

    async def scenario() -> None:
        leech = await Client(torrent, tmp_path / "dst", host="127.0.0.1", discovery=()).start()
        try:
            async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(),
                                      peers=[f"127.0.0.1:{leech.port}"]) as seeder:
                assert await leech.run()
                await leech.stop()
                while seeder.links:  # the leech hung up; bounded by run()
                    await asyncio.sleep(0.01)
                assert seeder.network.known[("127.0.0.1", leech.port)] > seeder.loop.time()  # not redialled at once
        finally:
            await leech.stop()

    run(scenario())
    assert same_tree(src, tmp_path / "dst")


def test_resume_fetches_only_missing_pieces(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, "v1")
    dst = tmp_path / "dst"
    # Half a download: a.bin complete, the rest absent.
    (dst / "payload").mkdir(parents=True)
    (dst / "payload" / "a.bin").write_bytes((src / "payload" / "a.bin").read_bytes())

    async def scenario() -> int:
        async with Client(torrent, src, host="127.0.0.1", seed=True) as seeder:
            async with Client(torrent, dst, host="127.0.0.1", peers=[f"127.0.0.1:{seeder.port}"],
                                      events=tmp_path / "ev.jsonl") as leech:
                assert await leech.run()
                return leech.downloaded

    downloaded = run(scenario())
    assert same_tree(src, dst)
    recheck = read_events(tmp_path / "ev.jsonl")[0]
    assert recheck["event"] == "recheck" and recheck["good"] >= 300_001 // 16384
    assert downloaded < torrent.total_length - 250_000


def test_complete_data_finishes_at_once(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, "v2")

    async def scenario() -> None:
        session = Client(torrent, src, host="127.0.0.1", discovery=())
        async with session:
            assert await session.run()
            assert session.stats()["bytes"] == torrent.total_length

    run(scenario())


# -- failures -----------------------------------------------------------------------------------


def test_no_peers_times_out_with_a_reason(tmp_path: Path) -> None:
    _, torrent, _ = make_torrent(tmp_path)

    async def scenario() -> str | None:
        async with Client(torrent, tmp_path / "dst", host="127.0.0.1", stall_timeout=1.0) as leech:
            assert not await leech.run()
            return leech.error

    assert "no peers found" in run(scenario())


def test_unreachable_peer_is_redialled_then_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import btref.net.driver as driver

    monkeypatch.setattr(driver, "REDIAL_EVERY", 0.0)
    _, torrent, _ = make_torrent(tmp_path)
    closed = _closed_port()

    async def scenario() -> str | None:
        async with Client(torrent, tmp_path / "dst", host="127.0.0.1", peers=[f"127.0.0.1:{closed}"],
                                  stall_timeout=2.5, events=tmp_path / "ev.jsonl") as leech:
            assert not await leech.run()
            return leech.error

    assert run(scenario()).endswith("from the 1 peer(s) found: 1 could not be connected to (refused, or no answer)")
    failed = [e for e in read_events(tmp_path / "ev.jsonl") if e["event"] == "connect_failed"]
    assert len(failed) >= 2 and failed[0]["peer"] == f"127.0.0.1:{closed}"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connected_peer_that_sends_nothing_stalls(tmp_path: Path) -> None:
    _, torrent, _ = make_torrent(tmp_path)

    async def scenario() -> str | None:
        async with Client(torrent, tmp_path / "a", host="127.0.0.1") as other:  # has nothing either
            async with Client(torrent, tmp_path / "b", host="127.0.0.1", stall_timeout=1.5,
                                      peers=[f"127.0.0.1:{other.port}"]) as leech:
                assert not await leech.run()
                return leech.error

    assert run(scenario()).endswith("from the 1 peer(s) found: 1 connected but have nothing we lack")


def test_a_stall_says_how_each_peer_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The peers found: one port nobody listens on, a btref seed of another torrent (it
    hangs up at the handshake), a peer with nothing either, and a seed that is full. The
    one line says which is which, with a count each (not "could not connect to any")."""
    import btref.net.driver as driver

    monkeypatch.setattr(driver, "REDIAL_EVERY", 0.0)
    _, torrent, src = make_torrent(tmp_path / "t")
    _, other, other_src = make_torrent(tmp_path / "o", files={"x.bin": 1000})
    peers = [f"127.0.0.1:{_closed_port()}"]

    async def scenario() -> str | None:
        async with Client(other, other_src, host="127.0.0.1", seed=True, discovery=()) as stranger, \
                Client(torrent, tmp_path / "empty", host="127.0.0.1", discovery=()) as empty, \
                Client(torrent, src, host="127.0.0.1", seed=True, discovery=(), max_peers=0) as full:
            peers.extend(f"127.0.0.1:{c.port}" for c in (stranger, empty, full))
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", peers=peers, discovery=(),
                              stall_timeout=2.5) as leech:
                assert not await leech.run()
                return leech.error

    assert run(scenario()) == (
        "no data for 2.5 s from the 4 peer(s) found: 1 connected but have nothing we lack, "
        "2 closed the connection at the handshake (another torrent, a ban, or no room for us), "
        "1 could not be connected to (refused, or no answer)")


def test_own_peer_id_is_refused_and_forgotten(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", discovery=(), seed=True,
                                  events=tmp_path / "ev.jsonl") as session:
            session.network.add_peer(f"127.0.0.1:{session.port}")
            await session.network.dial("127.0.0.1", session.port)
            assert session.links == {} and ("127.0.0.1", session.port) not in session.network.known
            session.network.add_peer(f"127.0.0.1:{session.port}")  # a tracker names us again: ignored
            assert ("127.0.0.1", session.port) not in session.network.known

    run(scenario())
    events = read_events(tmp_path / "ev.jsonl")
    # Refused before the engine saw it: only the driver's handshake_failed lines say so
    # (the dialling side's at least; the answering side's may still be on its way out).
    assert not any("ourselves" in e.get("reason", "") for e in events if e["event"] != "handshake_failed")
    assert any("ourselves" in e["reason"] for e in events if e["event"] == "handshake_failed")


def test_garbage_and_banned_peers_are_dropped(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(),
                                  events=tmp_path / "ev.jsonl") as seeder:
            # Not a handshake at all.
            reader, writer = await asyncio.open_connection("127.0.0.1", seeder.port)
            writer.write(b"GET / HTTP/1.0\r\n\r\n")
            assert await reader.read() == b""
            writer.close()
            # A banned peer id gets no answer but a closed socket.
            banned_id = make_peer_id()
            seeder.network.banned_ids.add(banned_id)
            reader, writer = await asyncio.open_connection("127.0.0.1", seeder.port)
            writer.write(wire.encode(wire.Handshake(torrent.info_hash, banned_id, bytes(8))))
            assert await reader.read() == b""
            writer.close()
            # A peer that breaks the protocol after the handshake is closed too.
            reader, writer = await asyncio.open_connection("127.0.0.1", seeder.port)
            writer.write(wire.encode(wire.Handshake(torrent.info_hash, make_peer_id(), bytes(8))))
            answer = await reader.readexactly(68)
            assert wire.parse_handshake(answer).info_hash == torrent.info_hash
            writer.write(wire.encode(wire.Have(10 ** 6)))
            await reader.read()  # its bitfield, then the end
            writer.close()
            assert seeder.links == {}

    run(scenario())
    # The two refused at the handshake are in the event log, with the reason; the third
    # was admitted, so the engine's own events tell its story.
    failed = _events(tmp_path / "ev.jsonl", "handshake_failed")
    assert len(failed) == 2 and all(e["peer"].startswith("127.0.0.1:") for e in failed)
    assert "banned" in failed[1]["reason"]


def test_write_failure_fails_the_session(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path)
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "payload").write_bytes(b"a file where the folder should be")

    async def scenario() -> str | None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seeder:
            async with Client(torrent, dst, host="127.0.0.1", peers=[f"127.0.0.1:{seeder.port}"]) as leech:
                assert not await leech.run()
                return leech.error

    assert "cannot write" in run(scenario())


def test_stop_is_idempotent_and_leaves_nothing_running(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        session = Client(torrent, src, host="127.0.0.1", seed=True)
        await session.stop()  # never started: nothing to do
        await session.start()
        await session.stop()
        await session.stop()
        assert session.finished.is_set() and not leftover_tasks()

    run(scenario())


def test_stop_while_a_dial_connects(tmp_path: Path) -> None:
    """Stop at every loop turn of a dial in progress: the connection may open in the very
    turn the cancel comes in, and the link must not run on (stop waited for it forever)."""
    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as target:
            for turns in range(16):
                client = Client(torrent, tmp_path / f"dst-{turns}", host="127.0.0.1", discovery=())
                await client.start()
                client.network.add_peer(f"127.0.0.1:{target.port}")
                client.network.redial(client.loop.time())
                for _ in range(turns):
                    await asyncio.sleep(0)
                await client.stop()  # bounded by run()
                assert client.finished.is_set() and not client.links and not client._tasks and not client.network.tasks
        assert not leftover_tasks()

    run(scenario())


def test_a_busy_swarm_stops(tmp_path: Path) -> None:
    """A tracker, a rate-limited seed and three leechers, all stopped at once while blocks
    are requested, pieces are on their way to disk and announces are out."""
    from btref.net.tracker_server import serve_tracker

    files = {"big.bin": 3 << 20}

    async def scenario() -> None:
        async with serve_tracker(interval=1, udp_port=None) as tracker:
            _, torrent, src = make_torrent(tmp_path, "hybrid", trackers=(tracker.http_url,),
                                           piece_length=1 << 18, files=files)
            seed = Client(torrent, src, host="127.0.0.1", seed=True, upload_limit=2 << 20)
            leechers = [Client(torrent, tmp_path / f"l{n}", host="127.0.0.1", seed=True,
                               events=tmp_path / f"l{n}.jsonl") for n in range(3)]
            sessions = [seed, *leechers]
            try:
                for session in sessions:
                    await session.start()
                # Wait (bounded by run()) for a moment with a write on its way to disk and
                # blocks asked for; then put announces in flight and stop everything at once.
                while not any(s._disk and any(p.requests for p in s.engine.peers.values())
                              and not s.complete.is_set() for s in leechers):
                    await asyncio.sleep(0)
                for session in sessions:
                    session._spawn(session.announce(""), session._tasks)
                    session.network.redial(session.loop.time())
            finally:
                await asyncio.gather(*(s.stop() for s in sessions))
            for session in sessions:
                assert session.finished.is_set() and not session.links
                assert not session._tasks and not session.network.tasks and not session._disk
        assert not leftover_tasks()

    run(scenario())
    for n in range(3):
        events = read_events(tmp_path / f"l{n}.jsonl")
        assert events[-1]["event"] == "stopped"


def test_a_failed_start_cleans_up(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path)
    escape = tmp_path / "elsewhere"
    escape.mkdir()
    (tmp_path / "evil").mkdir()
    (tmp_path / "evil" / "payload").symlink_to(escape)  # a folder that leads out of DATA_DIR

    async def scenario() -> None:
        with pytest.raises(StorageError):
            async with Client(torrent, tmp_path / "evil", host="127.0.0.1", events=tmp_path / "e.jsonl"):
                pass  # pragma: no cover - start fails
        assert not leftover_tasks()

    run(scenario())


def test_tracker_failures_and_reannounces(tmp_path: Path) -> None:
    from btref.net.tracker_server import serve_tracker

    async def scenario() -> None:
        async with serve_tracker(interval=1, udp_port=None) as tracker:
            trackers = (f"http://127.0.0.1:{_closed_port()}/announce",)
            _, dead, src = make_torrent(tmp_path / "a", trackers=trackers)
            _, live, _ = make_torrent(tmp_path / "b", trackers=(tracker.http_url,))
            async with Client(dead, src, host="127.0.0.1", seed=True, events=tmp_path / "dead.jsonl"), \
                    Client(live, tmp_path / "b" / "src", host="127.0.0.1", seed=True,
                                   events=tmp_path / "live.jsonl"):
                while len(_events(tmp_path / "live.jsonl", "announced")) < 2:  # bounded by run()
                    await asyncio.sleep(0.05)

    run(scenario())
    failed = _events(tmp_path / "dead.jsonl", "announce_failed")
    assert failed and failed[0]["announce"] == "started"
    assert [e["announce"] for e in _events(tmp_path / "live.jsonl", "announced")][:2] == ["started", ""]


def _events(path: Path, name: str) -> list[dict]:
    return [e for e in read_events(path) if e["event"] == name] if path.exists() else []


def test_peer_limits_and_duplicates(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(), max_peers=0) as full:
            reader, writer = await asyncio.open_connection("127.0.0.1", full.port)
            assert await reader.read() == b""  # no room: closed at once
            writer.close()
        # The duplicate is dialled to another leecher: a link to a seed may end within
        # milliseconds, once the download is done (BEP 21: two seeds hang up), before the
        # test sees it; a link between two peers that lack everything stays.
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seeder, \
                Client(torrent, tmp_path / "other", host="127.0.0.1", discovery=()) as other, \
                Client(torrent, tmp_path / "dst", host="127.0.0.1", discovery=(),
                               events=tmp_path / "ev.jsonl") as leech:
            first = asyncio.ensure_future(leech.network.dial("127.0.0.1", other.port))
            while not leech.links:
                await asyncio.sleep(0.01)
            await leech.network.dial("127.0.0.1", other.port)  # a second link to the same address is refused
            assert len(leech.links) == 1
            from_seed = asyncio.ensure_future(leech.network.dial("127.0.0.1", seeder.port))
            assert await leech.run()
            first.cancel()
            from_seed.cancel()
            # A peer that hangs up before its handshake.
            reader, writer = await asyncio.open_connection("127.0.0.1", seeder.port)
            writer.close()
            await writer.wait_closed()

    run(scenario())


def test_a_peer_that_hangs_up_before_its_handshake_is_redialled_soon(tmp_path: Path) -> None:
    """Transmission closes connections while it checks its data: that is a failure to answer
    (redial after 2, 4 ... s), not a connection that ended (redial after 30 s)."""
    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed, \
                Gate(seed.port, refuse=1) as gate:
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", discovery=(),
                              peers=[f"127.0.0.1:{gate.port}"]) as leech:
                key = ("127.0.0.1", gate.port)
                while leech.network.known.get(key, 0.0) <= leech.loop.time():  # until the hang-up is judged
                    await asyncio.sleep(0.01)
                assert gate.accepted == 1 and leech.network.known[key] <= leech.loop.time() + 2.0
                assert await leech.run()

    run(scenario())
    assert same_tree(src, tmp_path / "dst")


def test_a_leecher_that_hangs_up_is_redialled_soon(tmp_path: Path) -> None:
    """Transmission closes its connections when a magnet link's metadata is in, to check the
    data: a leecher that hangs up is dialled again after 2, 4 ... s (30 s only between seeds)."""
    _, torrent, src = make_torrent(tmp_path)
    hung_up = 0

    async def leecher(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal hung_up
        await reader.readexactly(wire.HANDSHAKE_LENGTH)
        ours = wire.Handshake(torrent.info_hash, b"-XX0001-" + bytes(12), wire.make_reserved(fast=True))
        writer.write(wire.encode(ours) + wire.encode(wire.HaveNone()))
        await writer.drain()
        writer.close()
        hung_up += 1

    async def scenario() -> None:
        server = await asyncio.start_server(leecher, "127.0.0.1", 0)
        key = ("127.0.0.1", server.sockets[0].getsockname()[1])
        try:
            async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(), peers=[f"{key[0]}:{key[1]}"]) \
                    as seeder:
                while seeder.network.known.get(key, 0.0) <= seeder.loop.time():  # until the hang-up is judged
                    await asyncio.sleep(0.01)
                assert hung_up == 1 and seeder.network.known[key] <= seeder.loop.time() + 2.0
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())


def test_peers_that_dial_each_other_keep_one_connection(tmp_path: Path) -> None:
    """Both sides dial at once: each keeps the connection the greater peer id dialled
    (libtorrent's rule), so the two ends agree and one connection is left."""
    _, torrent, src = make_torrent(tmp_path)
    low, high = b"-RF0100-" + b"a" * 12, b"-RF0100-" + b"b" * 12

    # The kept connection is looked at after the download: BEP 21 closing would end it then.
    config = Config(refill_fraction=0.25, slow_start=True, close_redundant=False)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(), peer_id=low, config=config) as a, \
                Client(torrent, tmp_path / "dst", host="127.0.0.1", discovery=(), peer_id=high, config=config) as b:
            dials = [asyncio.ensure_future(a.network.dial("127.0.0.1", b.port)),
                     asyncio.ensure_future(b.network.dial("127.0.0.1", a.port))]
            try:
                await b.complete.wait()
                while len(a.links) != 1 or len(b.links) != 1:  # a dropped link may still be closing
                    await asyncio.sleep(0.01)
                (kept_a,), (kept_b,) = a.links.values(), b.links.values()
                assert not kept_a.initiator and kept_b.initiator  # b, the greater id, dialled it
                assert kept_a.writer.get_extra_info("sockname") == kept_b.writer.get_extra_info("peername")
                a.network.add_peer(f"127.0.0.1:{b.port}")  # it answered there with b's id, and a has b
                a.network.redial(a.loop.time())
                assert not a.network._dialing
            finally:
                for dial in dials:
                    dial.cancel()
                await asyncio.gather(*dials, return_exceptions=True)

    run(scenario())
    assert same_tree(src, tmp_path / "dst")


def test_unreadable_data_is_not_served(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(),
                                  events=tmp_path / "seed.jsonl") as seeder:
            for f in (src / "payload").rglob("*.bin"):
                f.write_bytes(b"")  # the data vanished after the recheck
            async with Client(torrent, tmp_path / "dst", host="127.0.0.1", stall_timeout=1.5,
                                      peers=[f"127.0.0.1:{seeder.port}"]) as leech:
                assert not await leech.run()

    run(scenario())
    assert _events(tmp_path / "seed.jsonl", "read_failed")


def test_two_partial_seeds_swap_halves_with_small_socket_buffers(tmp_path: Path) -> None:
    """Each of two peers holds half of a 32 MiB torrent (4 MiB pieces) and asks the other for
    the rest, over a connection whose kernel buffers are 64 KiB each way, so that more than a
    MiB of blocks waits on each side. A read loop that stopped reading until its own blocks
    had drained made both sides wait for each other for good."""
    import socket

    piece = 4 << 20
    _, torrent, src = make_torrent(tmp_path, piece_length=piece, files={"big.bin": 32 << 20})
    whole = (src / "payload" / "big.bin").read_bytes()
    half = torrent.num_pieces // 2 * piece
    for name, data in (("a", whole[:half] + bytes(len(whole) - half)), ("b", bytes(half) + whole[half:])):
        (tmp_path / name / "payload").mkdir(parents=True)
        (tmp_path / name / "payload" / "big.bin").write_bytes(data)
    del whole

    async def scenario() -> None:
        async with Client(torrent, tmp_path / "a", host="127.0.0.1", discovery=()) as a, \
                Client(torrent, tmp_path / "b", host="127.0.0.1", discovery=(),
                       peers=[f"127.0.0.1:{a.port}"]) as b:
            assert a.pieces_on_disk.count == b.pieces_on_disk.count == torrent.num_pieces // 2
            shrunk: set[object] = set()
            while len(shrunk) < 2:  # both ends of the one connection, as soon as it is up
                for link in [*a.links.values(), *b.links.values()]:
                    if link not in shrunk:
                        sock = link.writer.get_extra_info("socket")
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
                        shrunk.add(link)
                await asyncio.sleep(0)
            assert await a.run() and await b.run()  # bounded by run(): a deadlock fails here
            assert a.downloaded >= 16 << 20 and b.downloaded >= 16 << 20

    run(scenario())
    assert same_tree(src, tmp_path / "a") and same_tree(src, tmp_path / "b")


# -- small parts ----------------------------------------------------------------------------------


def test_peer_key_prints_as_host_port() -> None:
    assert str(PeerKey("10.0.0.1", 6881)) == "10.0.0.1:6881"
    assert str(PeerKey("::1", 6881)) == "[::1]:6881"
    assert PeerKey("h", 1) == ("h", 1) and hash(PeerKey("h", 1)) == hash(("h", 1))


def test_event_log_round_trip(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "e.jsonl", start=10.0)
    log.write("piece_verified", {"index": 3, "raw": b"\x00"}, now=10.5)
    log.close()
    log.close()
    assert read_events(tmp_path / "e.jsonl") == [{"t": 0.5, "event": "piece_verified", "index": 3, "raw": "b'\\x00'"}]
    stream = io.StringIO()
    EventLog(stream).write("x", {}, 1.0)
    assert stream.getvalue() == '{"t":1.0,"event":"x"}\n'


STATS = {"pieces": 5, "num_pieces": 10, "bytes": 5 * 2**20, "total_bytes": 10 * 2**20, "peers": 2,
         "down_rate": 2**20, "up_rate": 0.0}


def test_progress_plain_lines() -> None:
    assert eta_text(0, 0) == "0 s" and eta_text(10, 0) == "?" and eta_text(10, 1) == "10 s"
    assert eta_text(600, 1) == "10 min" and eta_text(36000, 1) == "10.0 h"
    assert format_line(STATS) == "btref: 50.0% 5/10 pieces, 1.0 MiB/s down, 0.0 MiB/s up, 2 peers, ETA 5 s"
    out = io.StringIO()
    progress = Progress(10 * 2**20, stream=out, interval=3600)
    progress.update(STATS)
    progress.update(STATS)  # within the interval: not printed
    progress.close(STATS)  # the final state always is
    assert out.getvalue().count("btref: 50.0%") == 2


def test_progress_rich_bar() -> None:
    out = io.StringIO()
    progress = Progress(10 * 2**20, stream=out, tty=True, label="demo")
    progress.update(STATS)
    progress.close(STATS)
    progress.close()
    assert "demo" in out.getvalue()


def test_make_peer_id() -> None:
    a, b = make_peer_id(), make_peer_id()
    assert len(a) == 20 and a.startswith(b"-RF0100-") and a != b


def test_data_helpers(tmp_path: Path) -> None:
    top = make_data(tmp_path, files={"x": 3})
    assert os.path.getsize(top / "x") == 3 and same_tree(top, top)
