"""From a magnet link to the data: BEP 9 metadata exchange on loopback, btref and libtorrent.

* btref fetches the metadata from a btref seeder and from a libtorrent seeder, then downloads
  byte-exact; libtorrent fetches the metadata from a btref seeder (``lt.parse_magnet_uri``);
* a hostile peer serving metadata that fails its hash is banned and an honest one completes the
  fetch; a peer claiming an oversized ``metadata_size`` is never asked;
* ``btref download MAGNET`` works end to end with the x.pe peer only.

Every wait is bounded; every session, server and task is stopped by the test that started it.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import struct
import threading
from pathlib import Path
from typing import Any

import attrs
import pytest

from btref import bencode, cli, wire
from btref.errors import MetadataError, TrackerError
from btref.extension import ExtensionHandshake
from btref.hookspecs import hookimpl
from btref.magnet import Magnet
from btref.metadata import MAX_METADATA_SIZE, answer_request
from btref.net.driver import Client, make_peer_id
from btref.net.magnet_fetch import fetch_metadata
from tests.test_driver import Gate, make_torrent, run, same_tree

#: Enough files with long names that the info dictionary spans several 16 KiB metadata pieces.
MANY = {f"dir/file-{i:04d}-with-a-rather-long-name-to-make-metadata-big.bin": 100 + i for i in range(400)}


def magnet_for(torrent: Any, *peers: int, v2: bool = True) -> Magnet:
    m = Magnet.from_torrent(torrent)
    if not v2 and m.info_hash_v1 is not None:
        m = attrs.evolve(m, info_hash_v2=None)
    return attrs.evolve(m, peers=tuple(f"127.0.0.1:{p}" for p in peers))


@pytest.mark.parametrize("version", ["v1", "hybrid", "v2"])
def test_btref_fetches_metadata_from_btref_and_downloads(tmp_path: Path, version: str) -> None:
    _, torrent, src = make_torrent(tmp_path, version, files=MANY)
    assert len(torrent.info_bytes) > 2 * 16384  # several metadata pieces

    async def scenario() -> float:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed:
            result = await fetch_metadata(magnet_for(torrent, seed.port), timeout=30)
            assert result.torrent.info_bytes == torrent.info_bytes
            assert result.torrent.info_hash == torrent.info_hash
            assert result.sources == (f"127.0.0.1:{seed.port}",)
            async with Client(result.torrent, tmp_path / "out", host="127.0.0.1", discovery=(),
                                      peers=[str(p) for p in result.peers]) as leech:
                assert await leech.run(), leech.error
            return result.seconds

    (tmp_path / "out").mkdir()
    seconds = run(scenario())
    assert seconds >= 0
    assert same_tree(src, tmp_path / "out")


def test_no_peers_is_a_clear_error() -> None:
    magnet = Magnet(info_hash_v1=bytes(20))
    with pytest.raises(MetadataError, match="no verified metadata within 0.2 s from 0 peer"):
        run(fetch_metadata(magnet, timeout=0.2))


# -- hostile peers ------------------------------------------------------------------------------


class FakePeer:
    """A peer that speaks just enough BEP 3/10/9 to serve (possibly wrong) metadata."""

    def __init__(self, info_hash: bytes, info: bytes, claimed_size: int | None = None, frame: int = 0) -> None:
        self.info_hash, self.info, self.frame = info_hash, info, frame
        self.claimed_size = len(info) if claimed_size is None else claimed_size
        self.requests = 0
        self.closed_by_peer = asyncio.Event()

    async def __aenter__(self) -> FakePeer:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readexactly(68)
            writer.write(wire.encode(wire.Handshake(self.info_hash, b"-XX0001-hostilepeer!",
                                                    wire.make_reserved(extension=True))))
            hs = ExtensionHandshake(m={"ut_metadata": 9}, metadata_size=self.claimed_size)
            writer.write(wire.encode(wire.Extended(0, hs.encode())))
            if self.frame:  # a length prefix larger than any message we accept
                writer.write(struct.pack(">I", self.frame))
            their_id = 0
            while True:
                length = struct.unpack(">I", await reader.readexactly(4))[0]
                body = await reader.readexactly(length)
                if body[:2] == b"\x14\x00":
                    their_id = bencode.decode(body[2:], strict=False)[b"m"][b"ut_metadata"]
                elif body[:2] == b"\x14\x09":
                    self.requests += 1
                    writer.write(wire.encode(wire.Extended(their_id, answer_request(self.info, body[2:]))))
        except (asyncio.IncompleteReadError, OSError):
            self.closed_by_peer.set()
        finally:
            writer.close()


def test_wrong_metadata_is_rejected_and_fetched_from_an_honest_peer(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, "v1", files=MANY)
    info = torrent.info_bytes
    wrong = info[:-30] + b"X" * 29 + b"e"  # same size, wrong bytes

    async def scenario() -> None:
        async with FakePeer(torrent.info_hash, wrong) as liar:
            async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as honest:
                fetched = await fetch_metadata(magnet_for(torrent, liar.port),
                                               peers=[f"127.0.0.1:{honest.port}"], timeout=30)
                assert fetched.torrent.info_bytes == info
                assert liar.requests > 0 and fetched.sources == (f"127.0.0.1:{honest.port}",)
                await asyncio.wait_for(liar.closed_by_peer.wait(), 30)  # banned: connection closed

    run(scenario())


def test_only_a_liar_means_no_metadata(tmp_path: Path) -> None:
    _, torrent, _ = make_torrent(tmp_path, "v1")
    wrong = torrent.info_bytes.replace(b"a.bin", b"A.bin")

    async def scenario() -> None:
        async with FakePeer(torrent.info_hash, wrong) as liar:
            with pytest.raises(MetadataError, match="1 sent metadata that failed its hash"):
                await fetch_metadata(magnet_for(torrent, liar.port), timeout=5)

    run(scenario())


def test_v2_hash_is_checked_too(tmp_path: Path) -> None:
    """A hybrid link's btmh hash must match as well: a v1-correct but v2-wrong claim fails."""
    _, torrent, _ = make_torrent(tmp_path, "hybrid")
    fake_v2 = attrs.evolve(Magnet.from_torrent(torrent), info_hash_v2=hashlib.sha256(b"other").digest())

    async def scenario() -> None:
        async with FakePeer(torrent.info_hash, torrent.info_bytes) as peer:
            with pytest.raises(MetadataError, match="failed its hash"):
                await fetch_metadata(attrs.evolve(fake_v2, peers=(f"127.0.0.1:{peer.port}",)), timeout=5)

    run(scenario())


def test_oversized_metadata_size_is_refused(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, "v1")

    async def scenario() -> None:
        async with FakePeer(torrent.info_hash, torrent.info_bytes, claimed_size=MAX_METADATA_SIZE + 1) as huge:
            async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as honest:
                fetched = await fetch_metadata(magnet_for(torrent, huge.port, honest.port), timeout=30)
                assert fetched.torrent.info_bytes == torrent.info_bytes
                await asyncio.wait_for(huge.closed_by_peer.wait(), 30)
                assert huge.requests == 0  # never asked for a byte

    run(scenario())


class FailingSource:
    """A discovery plugin whose announce fails (the others must still count)."""

    family = "discovery"

    @hookimpl
    def btref_announce(self, request: Any) -> Any:
        async def fail() -> None:
            raise TrackerError("tracker down")
        return fail()


def test_dead_peers_bad_peers_and_failing_sources_do_not_stop_the_fetch(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, "v1")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]

    async def scenario() -> None:
        async with FakePeer(b"\x01" * 20, torrent.info_bytes) as other_swarm, \
                FakePeer(torrent.info_hash, torrent.info_bytes, frame=2 * 1024 * 1024) as huge_frame:
            async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as honest:
                magnet = magnet_for(torrent, dead, other_swarm.port, huge_frame.port, honest.port)
                fetched = await fetch_metadata(magnet, discovery=[FailingSource()], timeout=30)
                assert fetched.torrent.info_bytes == torrent.info_bytes
                assert fetched.sources == (f"127.0.0.1:{honest.port}",)

    run(scenario())


def test_metadata_that_hashes_right_but_is_no_info_dictionary(tmp_path: Path) -> None:
    junk = b"d3:foo3:bare"
    magnet = Magnet(info_hash_v1=hashlib.sha1(junk).digest())

    async def scenario() -> None:
        async with FakePeer(magnet.info_hash, junk) as peer:
            with pytest.raises(MetadataError, match="not a valid info dictionary"):
                await fetch_metadata(attrs.evolve(magnet, peers=(f"127.0.0.1:{peer.port}",)), timeout=30)

    run(scenario())


# -- reconnecting, and going on over the fetch's connection ---------------------------------------


@pytest.mark.parametrize("version", ["v1", "hybrid"])
def test_the_download_goes_on_over_the_fetch_connection(tmp_path: Path, version: str) -> None:
    """A peer that takes one connection in all still serves a magnet link to the end: the
    download adopts the metadata connection instead of dialling again."""
    _, torrent, src = make_torrent(tmp_path, version, files=MANY)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed, \
                Gate(seed.port, forward=1) as gate:
            peer_id = make_peer_id()
            result = await fetch_metadata(magnet_for(torrent, gate.port), timeout=30, peer_id=peer_id,
                                          keep_connections=True)
            assert [c.key for c in result.connections] == [("127.0.0.1", gate.port)]
            async with Client(result.torrent, tmp_path / "out", host="127.0.0.1", discovery=(), peer_id=peer_id,
                              peers=[str(p) for p in result.peers], adopt=result.connections,
                              stall_timeout=20) as leech:
                assert await leech.run(), leech.error
            assert gate.forwarded == 1

    (tmp_path / "out").mkdir()
    run(scenario())
    assert same_tree(src, tmp_path / "out")


def test_connections_not_adopted_are_closed(tmp_path: Path) -> None:
    """A client with another peer id (or torrent) closes a handed-over connection; so does
    one whose start fails, and FetchResult.close."""
    _, torrent, src = make_torrent(tmp_path, "v1")

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed:
            for how in ("other id", "close"):
                result = await fetch_metadata(magnet_for(torrent, seed.port), timeout=30, keep_connections=True)
                (conn,) = result.connections
                if how == "close":
                    result.close()
                else:
                    async with Client(result.torrent, tmp_path / "out", host="127.0.0.1", discovery=(),
                                      adopt=result.connections) as leech:
                        assert not leech.links and not leech.network._dialing
                assert conn.writer.is_closing()
                while seed.links:  # the seed sees the fetch connection end
                    await asyncio.sleep(0.01)

    run(scenario())


class Mute:
    """A peer that answers the handshake the moment a connection opens (``answer``), or
    never (then it says nothing at all), and then reads without a word; it counts the
    connections still open."""

    def __init__(self, info_hash: bytes, answer: bool) -> None:
        self.info_hash, self.answer = info_hash, answer
        self.open = 0

    async def __aenter__(self) -> Mute:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        try:
            if self.answer:
                writer.write(wire.encode(wire.Handshake(self.info_hash, b"-XX0001-mutemutemute",
                                                        wire.make_reserved(extension=True))))
            while await reader.read(65536):
                pass
        except OSError:
            pass
        finally:
            self.open -= 1
            writer.close()


@pytest.mark.parametrize("answer", [True, False], ids=["handshake-arrives", "handshake-pending"])
def test_a_cancelled_fetch_stops_at_once_and_leaves_nothing(answer: bool) -> None:
    """Cancel a fetch at each of the first loop turns of its connect and handshake. On
    Python 3.11 ``asyncio.wait_for`` returns its result, and loses the cancel, when what it
    awaited finished in the turn the cancel came in: the fetch then ran on into a peer that
    never sends metadata, and the cancel waited as long as that connection stayed open."""
    from tests.test_driver import leftover_tasks

    info_hash = bytes(range(20))

    async def scenario() -> None:
        async with Mute(info_hash, answer) as peer:
            for turns in range(24):
                fetch = asyncio.ensure_future(fetch_metadata(Magnet(info_hash_v1=info_hash, peers=(
                    f"127.0.0.1:{peer.port}",)), timeout=30))
                for _ in range(turns):
                    await asyncio.sleep(0)
                fetch.cancel()
                await asyncio.wait({fetch}, timeout=10)  # not a timing: a lost cancel waits for good
                if not fetch.done():
                    fetch.cancel()  # once more, so that the test can end
                    await asyncio.wait({fetch}, timeout=10)
                    pytest.fail(f"the cancel at loop turn {turns} was lost: the fetch ran on")
                assert fetch.cancelled()
                assert not {t for t in leftover_tasks() if "Mute.handle" not in repr(t)}  # the peer's own
                while peer.open:  # the fetch's socket is closed (bounded by run())
                    await asyncio.sleep(0.001)

    run(scenario(), timeout=30)


def test_a_peer_that_hangs_up_is_dialled_again(tmp_path: Path) -> None:
    """The fetch redials a peer that hung up at once (1 s later), instead of giving up."""
    _, torrent, src = make_torrent(tmp_path, "v1")

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed, \
                Gate(seed.port, refuse=2) as gate:
            result = await fetch_metadata(magnet_for(torrent, gate.port), timeout=20)
            assert result.torrent.info_bytes == torrent.info_bytes
            assert gate.accepted == 3 and not result.connections

    run(scenario())


class LateSource:
    """A discovery plugin that knows the peer only from its second announce on."""

    name = "late"

    def __init__(self, port: int) -> None:
        self.port, self.calls = port, 0

    @hookimpl
    def btref_announce(self, request: Any) -> Any:
        from btref.discovery import AnnounceResult, PeerAddress

        self.calls += 1
        peers = [PeerAddress("127.0.0.1", self.port)] if self.calls > 1 else []

        async def answer() -> AnnounceResult:
            return AnnounceResult(peers=tuple(peers), interval=1)
        return answer()


def test_the_fetch_asks_for_peers_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from btref.net import magnet_fetch

    monkeypatch.setattr(magnet_fetch, "REANNOUNCE_EVERY", 1.0)
    _, torrent, src = make_torrent(tmp_path, "v1")

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed:
            late = LateSource(seed.port)
            result = await fetch_metadata(magnet_for(torrent), discovery=[late], timeout=20)
            assert result.torrent.info_bytes == torrent.info_bytes and late.calls >= 2

    run(scenario())


# -- the command line ---------------------------------------------------------------------------


def test_cli_download_from_a_magnet_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, torrent, src = make_torrent(tmp_path, "hybrid", files=MANY)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def seeder() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed:
            holder["port"], holder["stop"] = seed.port, asyncio.Event()
            started.set()
            await holder["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(seeder(),))
    thread.start()
    try:
        assert started.wait(30)
        uri = magnet_for(torrent, holder["port"]).to_uri()
        code = cli.main(["download", uri, "-o", str(tmp_path / "out"), "--host", "127.0.0.1", "--timeout", "30",
                         "--no-trackers"])
    finally:
        loop.call_soon_threadsafe(lambda: holder.get("stop") and holder["stop"].set())
        thread.join(30)
        loop.close()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "metadata (" in out and "every piece verified" in out
    assert same_tree(src, tmp_path / "out")


# -- libtorrent on the other side -----------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("version", ["v1", "hybrid", "v2"])
def test_btref_fetches_metadata_from_libtorrent(tmp_path: Path, version: str) -> None:
    from tests.ltsession import LT

    lts = LT()
    try:
        data, torrent, src = make_torrent(tmp_path, version, files=MANY)
        handle = lts.add(data, src)

        async def scenario() -> float:
            await lts.wait(lambda: handle.status().is_seeding, "seeding")
            result = await fetch_metadata(magnet_for(torrent, lts.port), timeout=30)
            assert result.torrent.info_bytes == torrent.info_bytes
            async with Client(result.torrent, tmp_path / "out", host="127.0.0.1", discovery=(),
                                      peers=[str(p) for p in result.peers]) as leech:
                assert await leech.run(), leech.error
            return result.seconds

        (tmp_path / "out").mkdir()
        run(scenario())
        assert same_tree(src, tmp_path / "out")
    finally:
        lts.close()


@pytest.mark.interop
@pytest.mark.parametrize("version", ["v1", "hybrid", "v2"])
def test_libtorrent_fetches_metadata_from_btref(tmp_path: Path, version: str) -> None:
    import libtorrent as lt

    from tests.ltsession import LT

    _, torrent, src = make_torrent(tmp_path, version, files=MANY)
    lts = LT()
    try:
        async def scenario() -> None:
            async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed:
                params = lt.parse_magnet_uri(Magnet.from_torrent(torrent).to_uri())
                params.save_path = str(tmp_path / "lt")
                handle = lts.session.add_torrent(params)
                handle.connect_peer(("127.0.0.1", seed.port))
                await lts.wait(lambda: handle.status().has_metadata, "metadata from btref")
                info = handle.torrent_file()
                assert bytes(info.info_section()) == torrent.info_bytes
                await lts.wait(lambda: handle.status().is_seeding, "download from btref")

        run(scenario())
    finally:
        lts.close()  # which also makes libtorrent write out what it has
    assert same_tree(src, tmp_path / "lt")


@pytest.mark.slow
def test_cli_download_from_a_magnet_link_found_through_the_dht(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """No tracker, no x.pe: the seeder announces itself on a loopback DHT, the download finds it there."""
    from btref import plugins
    from btref_discovery.dht.io import DHTServer

    _, torrent, src = make_torrent(tmp_path, "v1")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def swarm() -> None:
        servers = []
        try:
            for _ in range(8):
                server = DHTServer(query_timeout=1.0)
                await server.start("127.0.0.1", 0)
                servers.append(server)
            for server in servers[1:]:
                await server.bootstrap([servers[0].address])
            holder["boot"] = "%s:%d" % servers[0].address
            dht = plugins.create("discovery", "dht", bootstrap=[holder["boot"]], host="127.0.0.1", query_timeout=1.0)
            async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(dht,)):
                holder["stop"] = asyncio.Event()
                for _ in range(100):  # until the seeder's announce_peer is stored somewhere
                    if (await servers[-1].lookup(torrent.info_hash, "get_peers")).peers:
                        break
                    await asyncio.sleep(0.1)
                ready.set()
                await holder["stop"].wait()
        finally:
            ready.set()
            for server in servers:
                server.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(swarm(),))
    thread.start()
    try:
        assert ready.wait(60) and "stop" in holder
        uri = Magnet.from_torrent(torrent).to_uri()
        assert "x.pe" not in uri and "tr=" not in uri
        code = cli.main(["download", uri, "-o", str(tmp_path / "out"), "--host", "127.0.0.1", "--timeout", "30",
                         "--dht-bootstrap", holder["boot"]])
    finally:
        loop.call_soon_threadsafe(lambda: holder.get("stop") and holder["stop"].set())
        thread.join(30)
        loop.close()
    out = capsys.readouterr().out
    assert code == 0, out
    assert same_tree(src, tmp_path / "out")


# -- web seeds named by the link (ws=, BEP 19) ------------------------------------------------------


def test_cli_download_from_the_web_seed_a_magnet_link_names(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The only peer serves the metadata and no piece; every piece comes from the link's ``ws=``
    server. Run again with the data gone and no peer at all: the saved metadata and ``ws=`` suffice."""
    from tests.webserver import FileServer

    _, torrent, src = make_torrent(tmp_path, "v1")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def metadata_only() -> None:
        async with FakePeer(torrent.info_hash, torrent.info_bytes) as peer:
            holder["port"], holder["stop"] = peer.port, asyncio.Event()
            started.set()
            await holder["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(metadata_only(),))
    thread.start()
    out = tmp_path / "out"
    try:
        assert started.wait(30)
        with FileServer(src) as web:
            magnet = attrs.evolve(magnet_for(torrent, holder["port"]), web_seeds=(web.url,))
            argv = ["download", magnet.to_uri(), "-o", str(out), "--host", "127.0.0.1", "--timeout", "10",
                    "--no-trackers"]
            code = cli.main(argv)
            first = capsys.readouterr().out
            assert code == 0, first
            assert same_tree(src, out) and web.requests > 0
            loop.call_soon_threadsafe(holder["stop"].set)  # no peer from here on
            thread.join(30)
            for path in (out / "payload").rglob("*"):
                if path.is_file():
                    path.unlink()
            requests = web.requests
            code = cli.main(argv)
            second = capsys.readouterr().out
            assert code == 0, second
            assert "saved by an earlier run" in second and web.requests > requests
    finally:
        loop.call_soon_threadsafe(lambda: holder.get("stop") and holder["stop"].set())
        thread.join(30)
        loop.close()
    assert same_tree(src, out)


# -- an encrypted fetch (--encryption, MSE) -------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "hybrid"])
def test_an_encrypted_fetch_hands_its_rc4_connection_to_the_download(tmp_path: Path, version: str) -> None:
    """A seed that requires encryption, behind a gate that lets one connection through: the
    fetch must speak MSE, and the download must go on inside the same RC4 streams."""
    _, torrent, src = make_torrent(tmp_path, version, files=MANY)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=(), encryption="require") as seed, \
                Gate(seed.port, forward=1) as gate:
            peer_id = make_peer_id()
            result = await fetch_metadata(magnet_for(torrent, gate.port), timeout=30, peer_id=peer_id,
                                          keep_connections=True, encryption="require")
            (conn,) = result.connections
            assert conn.mse is not None and conn.mse.encrypted
            async with Client(result.torrent, tmp_path / "out", host="127.0.0.1", discovery=(), peer_id=peer_id,
                              adopt=result.connections, encryption="require", stall_timeout=20) as leech:
                assert await leech.run(), leech.error
            assert gate.forwarded == 1

    (tmp_path / "out").mkdir()
    run(scenario())
    assert same_tree(src, tmp_path / "out")


def test_prefer_fetches_from_a_plaintext_peer_and_require_does_not(tmp_path: Path) -> None:
    _, torrent, src = make_torrent(tmp_path, "v1")

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seed:  # --encryption off
            result = await fetch_metadata(magnet_for(torrent, seed.port), timeout=30, encryption="prefer")
            assert result.torrent.info_bytes == torrent.info_bytes  # on the plaintext retry
            with pytest.raises(MetadataError, match=r"MSE handshake\(s\) failed \(--encryption require\)"):
                await fetch_metadata(magnet_for(torrent, seed.port), timeout=2, encryption="require")

    run(scenario())


@pytest.mark.interop
def test_cli_fetches_a_magnet_link_from_libtorrent_with_forced_encryption(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """libtorrent refuses every plaintext connection; ``btref download MAGNET --encryption
    require`` fetches the metadata and the data from it, byte for byte."""
    from tests.test_mse import forced_lt

    lts = forced_lt()
    try:
        data, torrent, src = make_torrent(tmp_path, "hybrid", files=MANY)
        handle = lts.add(data, src)
        run(lts.wait(lambda: handle.status().is_seeding, "recheck of the seed's data"))
        code = cli.main(["download", magnet_for(torrent, lts.port).to_uri(), "-o", str(tmp_path / "out"),
                         "--host", "127.0.0.1", "--no-trackers", "--timeout", "30", "--encryption", "require"])
        out = capsys.readouterr().out
        assert code == 0, f"{out}\n{lts.recent()}"
        assert "metadata (" in out and "encryption require" in out
    finally:
        lts.close()
    assert same_tree(src, tmp_path / "out")
