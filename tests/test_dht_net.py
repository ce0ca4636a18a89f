"""The DHT over real UDP on loopback: 30 btref nodes, the plugin, and hostile packets (BEP 5).

All nodes live in one asyncio loop, on ports chosen by the OS; every test closes what it
started. Waits are bounded by the nodes' query timeouts, never by timed assertions.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from btref import bencode, plugins
from btref.discovery import AnnounceRequest, PeerAddress
from btref.errors import TrackerError
from btref_discovery.dht import krpc
from btref_discovery.dht.io import DHTServer, resolve
from btref_discovery.dht.plugin import DHT

IH = hashlib.sha1(b"a torrent").digest()


async def start_swarm(n: int) -> list[DHTServer]:
    servers = []
    for _ in range(n):
        server = DHTServer(query_timeout=1.0)
        await server.start("127.0.0.1", 0)
        servers.append(server)
    for server in servers[1:]:
        await server.bootstrap([servers[0].address])
    return servers


def close_all(servers: list[DHTServer]) -> None:
    for server in servers:
        server.close()


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 120))


def test_announce_then_get_peers_in_a_30_node_dht():
    async def scenario() -> None:
        servers = await start_swarm(30)
        try:
            assert all(len(s.node.table) >= 8 for s in servers)
            first = await servers[5].lookup(IH, "get_peers", announce_port=6000)
            await servers[5].settle()
            assert not first.peers and len(first.announce_targets()) == 8
            stored = sum(bool(s.node.store.get(IH, s.loop.time())) for s in servers)
            assert stored == 8  # the 8 closest nodes that gave a token keep the peer
            found = await servers[22].lookup(IH, "get_peers")
            assert ("127.0.0.1", 6000) in found.peers
            assert found.hops >= 1 and found.messages >= 3
            report = found.report()
            assert report["peers"] == ["127.0.0.1:6000"] and report["path"][0]["hop"] == 1
        finally:
            close_all(servers)

    run(scenario())


def request(port: int, **kw: Any) -> AnnounceRequest:
    return AnnounceRequest(info_hash=IH, peer_id=b"-RF0001-%012d" % port, port=port, **kw)


def test_plugin_announces_and_finds_peers(tmp_path):
    async def scenario() -> None:
        servers = await start_swarm(12)
        boot = ["%s:%d" % servers[0].address]
        try:
            alice = DHT(bootstrap=boot, host="127.0.0.1", query_timeout=1.0)
            assert alice.btref_announce(request=request(7001, private=True)) is None
            result = await alice.btref_announce(request=request(7001, event="started"))
            assert result.peers == () and result.interval == 900
            state = tmp_path / "bob.json"
            bob = DHT(bootstrap=boot, host="127.0.0.1", query_timeout=1.0, state_file=str(state))
            server = await bob.start()
            assert await bob.start() is server  # started once
            result = await bob.btref_announce(request=request(7002))
            assert PeerAddress("127.0.0.1", 7001) in result.peers
            await bob.btref_announce(request=request(7009, event="stopped"))  # looks, does not announce
            later = await bob.btref_announce(request=request(7002))
            assert PeerAddress("127.0.0.1", 7009) not in later.peers
            node_id = server.node.id
            await bob.close()
            await bob.close()  # closing twice is harmless
            assert state.is_file()
            again = DHT(bootstrap=(), host="127.0.0.1", query_timeout=1.0, state_file=str(state))
            server = await again.start()  # the saved table is enough to find the swarm
            assert server.node.id == node_id and len(server.node.table) >= 8
            result = await again.btref_announce(request=request(7003))
            assert PeerAddress("127.0.0.1", 7001) in result.peers
            await again.close()
        finally:
            close_all(servers)

    run(scenario())


def test_plugin_through_pluggy_and_unresolvable_bootstrap():
    pm = plugins.plugin_manager({"discovery": ["dht"]})
    (answer,) = pm.hook.btref_announce(request=request(7004))
    assert run(answer).peers == ()
    bad = DHT(bootstrap=["no-such-host.invalid:6881"], query_timeout=0.2)
    with pytest.raises(TrackerError, match="cannot resolve"):
        run(bad.btref_announce(request=request(7005)))


class Client(asyncio.DatagramProtocol):
    """A raw UDP socket that talks KRPC (or garbage) to one node."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait(data)

    async def ask(self, data: bytes, target: tuple[str, int]) -> dict | None:
        """Send ``data`` then a ping; the answer to ``data``, or ``None`` if the ping's answer came first."""
        self.transport.sendto(data, target)
        self.transport.sendto(krpc.encode_query(b"pi", "ping", b"C" * 20), target)
        first = bencode.decode(await asyncio.wait_for(self.queue.get(), 10))
        if first.get(b"t") == b"pi":
            return None
        ping = bencode.decode(await asyncio.wait_for(self.queue.get(), 10))
        assert ping[b"t"] == b"pi"  # the node still answers after the bad packet
        return first


HOSTILE_DROPPED = {
    "garbage": b"\xff\x00 not bencode",
    "a list": b"li1ei2ee",
    "no transaction id": b"d1:y1:qe",
    "oversized": b"d1:t2:aa1:y1:q1:q4:ping1:ad2:id20:" + b"x" * 20 + b"1:p" + b"5000:" + b"z" * 5000 + b"ee",
    "unsolicited response": krpc.encode_response(b"zz", b"Z" * 20),
    "response with huge values": bencode.encode({b"t": b"zz", b"y": b"r", b"r": {
        b"id": b"Z" * 20, b"values": [b"123456"] * 1000}}),
    "error reply": krpc.encode_error(b"zz", 201, "x"),
}
HOSTILE_REFUSED = {
    "missing id": (bencode.encode({b"t": b"aa", b"y": b"q", b"q": b"ping", b"a": {}}), 203),
    "short target": (krpc.encode_query(b"aa", "find_node", b"A" * 20, target=b"short"), 203),
    "unknown method": (krpc.encode_query(b"aa", "vote", b"A" * 20), 204),
    "wrong token": (krpc.encode_query(b"aa", "announce_peer", b"A" * 20, info_hash=IH, port=80,
                                      token=b"guess"), 203),
    "bad port": (krpc.encode_query(b"aa", "announce_peer", b"A" * 20, info_hash=IH, port=70000,
                                   token=b"x"), 203),
    "bad type": (bencode.encode({b"t": b"aa", b"y": b"x"}), 203),
}


def test_hostile_packets_are_dropped_or_refused():
    async def scenario() -> None:
        server = DHTServer(query_timeout=1.0)
        target = await server.start("127.0.0.1", 0)
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
        try:
            for name, data in HOSTILE_DROPPED.items():
                assert await client.ask(data, target) is None, name
            for name, (data, code) in HOSTILE_REFUSED.items():
                answer = await client.ask(data, target)
                assert answer is not None and answer[b"y"] == b"e" and answer[b"e"][0] == code, name
            assert not server.node.store.swarms  # nothing was stored
            assert len(server.node.table) == 1  # only the well-behaved pinger ("C" * 20)
            server.sockets[4].error_received(OSError("port unreachable"))  # ICMP noise is ignored
        finally:
            transport.close()
            server.close()

    run(scenario())


def test_resolve_names():
    assert run(resolve("localhost", 6881)) == ("127.0.0.1", 6881)
