"""Tests for the pex discovery plugin (BEP 11): messages, limits, and a swarm that spreads by PEX."""

from __future__ import annotations

import asyncio
import ipaddress
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import bencode, plugins
from btref.io.create import create_torrent
from btref.discovery import AnnounceRequest, PeerAddress
from btref.errors import ProtocolError
from btref.metainfo import parse
from btref.net.driver import Client
from btref_discovery.pex import PEX, REACHABLE, decode_pex, encode_pex


def addr(i: int, v6: bool = False) -> PeerAddress:
    host = ipaddress.IPv6Address((0x20010DB8 << 96) + i) if v6 else ipaddress.IPv4Address((10 << 24) + i)
    return PeerAddress(str(host), 1000 + i)


def request(private: bool = False) -> AnnounceRequest:
    return AnnounceRequest(info_hash=bytes(20), peer_id=bytes(20), port=1, private=private)


# -- messages ----------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 600), st.booleans()), unique=True, max_size=50),
       st.lists(st.tuples(st.integers(0, 600), st.booleans()), unique=True, max_size=50))
def test_round_trip(added, dropped):
    add = [addr(i, v6) for i, v6 in added]
    drop = [addr(i, v6) for i, v6 in dropped]
    got_added, got_dropped = decode_pex(encode_pex([(a, REACHABLE) for a in add], drop))
    assert sorted(map(str, got_added)) == sorted(map(str, add))
    assert sorted(map(str, got_dropped)) == sorted(map(str, drop))


def test_wire_format():
    payload = encode_pex([(PeerAddress("1.2.3.4", 258), REACHABLE)], [PeerAddress("::1", 1)])
    msg = bencode.decode(payload)
    assert msg[b"added"] == bytes([1, 2, 3, 4, 1, 2]) and msg[b"added.f"] == b"\x10"
    assert msg[b"added6"] == b"" and msg[b"dropped"] == b""
    assert msg[b"dropped6"] == bytes(15) + b"\x01\x00\x01"


def test_received_lists_are_cut_to_the_limit():
    many = bencode.encode({b"added": b"".join(bytes([10, 0, i // 256, i % 256, 0, 1]) for i in range(300))})
    added, dropped = decode_pex(many)
    assert len(added) == 50 and dropped == []


@pytest.mark.parametrize("payload, words", [
    (b"junk", "not valid bencoding"),
    (b"le", "must be a dictionary"),
    (b"d5:addedi1ee", "must be a string"),
    (b"d5:added5:12345e", "multiple of 6"),
    (b"d7:dropped5:12345e", "multiple of 6"),
])
def test_malformed_messages(payload, words):
    with pytest.raises(ProtocolError, match=words):
        decode_pex(payload)


# -- the plugin ----------------------------------------------------------------------------------


def test_plugin_is_registered_and_public_only():
    info = plugins.find("discovery", "pex")
    assert info.cls is PEX and PEX.public_only
    assert PEX().btref_announce(request=request(private=True)) is None


def test_announce_hands_out_what_was_learnt_once():
    pex = PEX()
    payload = encode_pex([(addr(1), 0), (addr(2), 0)], [])
    assert pex.message_received("k", payload) == [addr(1), addr(2)]
    pex.message_received("k2", payload)
    result = asyncio.run(pex.btref_announce(request=request()))
    assert list(result.peers) == [addr(1), addr(2)] and result.interval > 0
    assert asyncio.run(pex.btref_announce(request=request())).peers == ()


def test_messages_rate_limit_and_contents():
    pex = PEX(interval=60.0)
    pex.peer_connected("a", addr(1), ut_pex=3, flags=REACHABLE)
    pex.peer_connected("b", addr(2), ut_pex=4)
    pex.peer_connected("c", None, ut_pex=5)  # listen address unknown: never advertised
    pex.peer_connected("d", addr(4))  # no ut_pex: advertised, never sent to
    out = {key: (ext_id, decode_pex(payload)) for key, ext_id, payload in pex.messages(0.0)}
    assert out["a"] == (3, ([addr(2), addr(4)], []))  # never a peer's own address
    assert out["b"][1][0] == [addr(1), addr(4)] and out["c"][1][0] == [addr(1), addr(2), addr(4)]
    assert pex.messages(0.0) == [] and pex.messages(59.9) == []  # at most once a minute, and changes only
    assert pex.messages(private=True, now=500.0) == []
    pex.peer_disconnected("d")
    assert pex.messages(30.0) == []  # a change, but too soon
    later = {key: decode_pex(payload) for key, _, payload in pex.messages(60.0)}
    assert later == {"a": ([], [addr(4)]), "b": ([], [addr(4)]), "c": ([], [addr(4)])}
    assert pex.messages(200.0) == []


def test_at_most_fifty_added_per_message():
    pex = PEX()
    pex.peer_connected("me", None, ut_pex=1)
    for i in range(120):
        pex.peer_connected(i, addr(i))
    sizes = [len(decode_pex(p)[0]) for _, _, p in pex.messages(0.0)]
    sizes += [len(decode_pex(p)[0]) for _, _, p in pex.messages(60.0)]
    sizes += [len(decode_pex(p)[0]) for _, _, p in pex.messages(120.0)]
    assert sizes == [50, 50, 20]


# -- a swarm that grows by PEX ---------------------------------------------------------------------


@pytest.mark.slow
def test_pex_spreads_peers_a_knows_only_b_b_knows_c(tmp_path):
    """C seeds; B knows C; A knows only B. PEX from B tells A about C (and C about A), and
    A and C connect: by one connection, whichever of them dialled (both may, at once)."""
    src = tmp_path / "seed"
    src.mkdir()
    (src / "data.bin").write_bytes(os.urandom(4 * 1024 * 1024))
    torrent = parse(create_torrent(src / "data.bin", version="v1", piece_length=32768))

    async def scenario() -> tuple[bool, bytes]:
        local = {"host": "127.0.0.1", "discovery": ("pex",), "stall_timeout": 60.0}
        async with Client(torrent, src, seed=True, **local) as c:
            async with Client(torrent, tmp_path / "b", peers=[f"127.0.0.1:{c.port}"], seed=True, **local) as b:
                async with Client(torrent, tmp_path / "a", peers=[f"127.0.0.1:{b.port}"], seed=True,
                                          **local) as a:
                    seen: set = set()  # the peer ids A was connected to
                    async with asyncio.timeout(60):
                        while c.peer_id not in seen or not a.complete.is_set():
                            seen.update(link.peer_id for link in a.links.values())
                            await asyncio.sleep(0.05)
                    return c.peer_id in seen, (tmp_path / "a" / "data.bin").read_bytes()

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    connected_to_c, data = asyncio.run(scenario())
    assert connected_to_c
    assert data == (src / "data.bin").read_bytes()


def test_private_torrent_offers_no_pex(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 1000)
    torrent = parse(create_torrent(tmp_path / "f", version="v1", private=True))
    session = Client(torrent, tmp_path, discovery=("pex",))
    assert session.network.extensions.pex is None
    assert "ut_pex" not in session.network.extensions.handshake(1, 10).m
    assert session.network.extensions.messages(0.0) == []
