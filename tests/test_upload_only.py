"""BEP 21 upload-only: the ``upload_only`` key of the extension handshake, and a seed
closing connections in which neither side wants anything (``Config.close_redundant``)."""

from __future__ import annotations

import asyncio

import pytest

from btref import wire
from btref.bencode import encode
from btref.connection import Connection
from btref.extension import ExtensionHandshake, decode_handshake
from btref.session import Close, Config
from tests.test_engine import block, msgs, of, payload, session  # noqa: F401  (payload: a fixture)

ON = Config(close_redundant=True)


def ext_handshake(**fields: object) -> wire.Extended:
    return wire.Extended(0, encode({b"m": {}, **{k.encode(): v for k, v in fields.items()}}))


def test_the_handshake_key_round_trips():
    assert decode_handshake(ExtensionHandshake(upload_only=1).encode()).upload_only == 1
    assert b"upload_only" not in ExtensionHandshake().encode()
    assert decode_handshake(ExtensionHandshake().encode()).upload_only is None


def test_a_seed_closes_an_upload_only_peer(payload):  # noqa: F811
    torrent, _ = payload
    s = session(torrent, seed=True, config=ON)
    s.peer_connected("p", 0, fast=True, extensions=True)
    out = s.message_received("p", ext_handshake(upload_only=1), 1)
    assert [c.key for c in of(out, Close)] == ["p"] and "p" not in s.peers
    assert "BEP 21" in of(out, Close)[0].reason


def test_a_seed_closes_a_seed_by_bitfield_have_all_or_last_have(payload):  # noqa: F811
    torrent, _ = payload
    n = torrent.num_pieces
    s = session(torrent, seed=True, config=ON)
    for key, first in (("a", wire.HaveAll()), ("b", wire.Bitfield(s.have.to_bytes()))):
        s.peer_connected(key, 0, fast=True)
        assert of(s.message_received(key, first, 1), Close) and key not in s.peers
    s.peer_connected("c", 0, fast=True)
    s.message_received("c", wire.HaveNone(), 1)
    for index in range(n - 1):
        assert not of(s.message_received("c", wire.Have(index), 1), Close)
    assert of(s.message_received("c", wire.Have(n - 1), 2), Close) and "c" not in s.peers


def test_becoming_a_seed_closes_the_seeds_we_downloaded_from(payload):  # noqa: F811
    torrent, data = payload
    s = session(torrent, have=range(torrent.num_pieces - 1), config=ON)
    s.peer_connected("seed", 0, fast=True, extensions=True)
    s.peer_connected("leech", 0, fast=True, extensions=True)
    s.message_received("seed", wire.HaveAll(), 0)
    s.message_received("leech", wire.HaveNone(), 0)
    s.message_received("seed", ext_handshake(upload_only=1), 0)  # we still lack a piece: kept
    assert "seed" in s.peers
    out = s.message_received("seed", wire.Unchoke(), 0)
    last = torrent.num_pieces - 1
    for request in msgs(out, wire.Request):
        out = s.message_received("seed", wire.Piece(last, request.begin, block(data, last, request.begin,
                                                                                  request.length)), 1)
    assert s.seeding and [c.key for c in of(out, Close)] == ["seed"]
    assert "leech" in s.peers  # it still wants our pieces


def test_leechers_and_the_default_config_keep_upload_only_peers(payload):  # noqa: F811
    torrent, _ = payload
    leecher = session(torrent, config=ON)
    leecher.peer_connected("p", 0, fast=True, extensions=True)
    leecher.message_received("p", wire.HaveAll(), 0)
    assert not of(leecher.message_received("p", ext_handshake(upload_only=1), 0), Close)
    seed = session(torrent, seed=True, config=Config())
    seed.peer_connected("p", 0, fast=True, extensions=True)
    assert not of(seed.message_received("p", wire.HaveAll(), 0), Close)
    assert not of(seed.message_received("p", ext_handshake(upload_only=1), 0), Close)


# -- the driver: what a btref seed and a btref leecher say over a real socket ----------------


async def _their_extension_handshake(port: int, torrent: object) -> ExtensionHandshake:
    """Connect to a btref client on 127.0.0.1 and return its BEP 10 handshake."""
    conn = Connection(torrent.num_pieces, torrent.piece_size, peer_id=b"-TEST-".ljust(20, b"0"),
                      info_hash=torrent.info_hash, reserved=wire.make_reserved(extension=True, fast=True))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(conn.send(conn.handshake()))
        await writer.drain()
        while True:
            data = await reader.read(65536)
            assert data, "btref closed the connection before its extension handshake"
            for msg in conn.receive_data(data):
                if isinstance(msg, wire.Extended) and msg.ext_id == 0:
                    return decode_handshake(msg.payload)
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize("seed", [True, False])
def test_a_btref_seed_says_upload_only_and_a_leecher_does_not(tmp_path, seed):
    from btref.net.driver import Client
    from tests.test_driver import make_torrent, run

    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> ExtensionHandshake:
        async with Client(torrent, src if seed else tmp_path / "empty", host="127.0.0.1", seed=True) as client:
            if seed:
                await client.complete.wait()
            while client.port is None or client.engine is None:
                await asyncio.sleep(0.01)
            return await _their_extension_handshake(client.port, torrent)

    handshake = run(scenario(), 60)
    assert handshake.upload_only == (1 if seed else None)


def test_the_asyncio_driver_closes_redundant_connections_by_default(tmp_path):
    """As libtorrent's ``close_redundant_connections``; the simulator keeps Config's default."""
    from btref.net.driver import Client
    from tests.test_driver import make_torrent

    _, torrent, src = make_torrent(tmp_path)
    assert Client(torrent, src).config.close_redundant and not Config().close_redundant


def test_a_leecher_that_completes_hangs_up_on_its_seed(tmp_path):
    """With the driver's default config, the connection between a seed and the leecher it
    fed ends once the leecher has every piece: both sides only upload. (A test that waits
    to see such a link open must not count on it: on loopback it can last a few
    milliseconds.)"""
    from btref.net.driver import Client
    from tests.test_driver import make_torrent, run, same_tree

    _, torrent, src = make_torrent(tmp_path)

    async def scenario() -> None:
        async with Client(torrent, src, host="127.0.0.1", seed=True, discovery=()) as seeder, \
                Client(torrent, tmp_path / "dst", host="127.0.0.1", discovery=(),
                       peers=[f"127.0.0.1:{seeder.port}"]) as leech:
            assert await leech.run()
            while leech.links or seeder.links:  # closed by one side, then seen by the other
                await asyncio.sleep(0.01)

    run(scenario(), 60)
    assert same_tree(src, tmp_path / "dst")
