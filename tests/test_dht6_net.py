"""The DHT over IPv6 on real UDP sockets bound to ::1 (BEP 32): btref nodes, the plugin and the CLI.

All nodes live in one asyncio loop, on ports chosen by the OS; every test closes what it
started. Waits are bounded by the nodes' query timeouts, never by timed assertions.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from typing import Any

import pytest

from btref import bencode
from btref.cli import main
from btref.commands import dht as command
from btref.discovery import AnnounceRequest, PeerAddress
from btref.errors import KRPCError
from btref_discovery.dht import krpc
from btref_discovery.dht.io import DHTServer, resolve
from btref_discovery.dht.plugin import DHT

IH = hashlib.sha1(b"an IPv6 torrent").digest()


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 120))


async def start_swarm(n: int, hosts: Any = "::1") -> list[DHTServer]:
    servers = []
    for _ in range(n):
        server = DHTServer(query_timeout=1.0)
        await server.start(hosts, 0)
        servers.append(server)
    for server in servers[1:]:
        await server.bootstrap(servers[0].addresses)
    return servers


def close_all(servers: list[DHTServer]) -> None:
    for server in servers:
        server.close()


def test_two_btref_nodes_on_ipv6_loopback():
    async def scenario() -> None:
        a, b = await start_swarm(2)
        try:
            assert a.address[0] == "::1" and a.families == [6]
            assert [n.address for n in b.node.table6] == [a.address] and not len(b.node.table)
            assert [n.address for n in a.node.table6] == [b.address]
            first = await b.lookup(IH, "get_peers", announce_port=6000)
            await b.settle()
            assert first.family == 6 and [c.address for c in first.announce_targets()] == [a.address]
            assert a.node.store.get(IH, a.loop.time()) == [("::1", 6000)]
            found = await a.lookup(IH, "get_peers", seeds=[b.address])
            assert found.report()["peers"] == []  # b stores nothing; a's own store is not searched
            found = await b.lookup(IH, "get_peers")
            assert found.report()["peers"] == ["[::1]:6000"]
        finally:
            close_all([a, b])

    run(scenario())


def test_a_dual_stack_swarm_keeps_the_two_dhts_apart():
    async def scenario() -> None:
        servers = await start_swarm(12, ("127.0.0.1", "::1"))
        try:
            assert all(s.families == [4, 6] for s in servers)
            assert servers[0].addresses[0][1] == servers[0].addresses[1][1]  # one port for both sockets
            assert all(len(s.node.table) >= 8 and len(s.node.table6) >= 8 for s in servers)
            assert all(krpc.family_of(n.address) == 6 for s in servers for n in s.node.table6)
            for family, peer in ((4, ("127.0.0.1", 7004)), (6, ("::1", 7006))):
                await servers[3].lookup(IH, "get_peers", announce_port=peer[1], family=family)
                await servers[3].settle()
            v4 = await servers[9].lookup(IH, "get_peers", family=4)
            v6 = await servers[9].lookup(IH, "get_peers", family=6)
            assert list(v4.peers) == [("127.0.0.1", 7004)] and list(v6.peers) == [("::1", 7006)]
        finally:
            close_all(servers)

    run(scenario())


def test_one_ipv4_bootstrap_fills_both_tables():
    async def scenario() -> None:
        servers = await start_swarm(10, ("127.0.0.1", "::1"))
        me = DHTServer(query_timeout=1.0)
        try:
            await me.start(("127.0.0.1", "::1"))
            lookups = await me.bootstrap([servers[0].addresses[0]])  # IPv4 only
            assert [look.family for look in lookups] == [4, 6]  # the second one from nodes6 answers
            assert len(me.node.table) >= 8 and len(me.node.table6) >= 8
        finally:
            me.close()
            close_all(servers)

    run(scenario())


def request(port: int, **kw: Any) -> AnnounceRequest:
    return AnnounceRequest(info_hash=IH, peer_id=b"-RF0001-%012d" % port, port=port, **kw)


def test_plugin_with_an_ipv6_bootstrap_opens_an_ipv6_socket():
    async def scenario() -> None:
        servers = await start_swarm(6)
        boot = [str(PeerAddress(*servers[0].address))]
        assert boot[0].startswith("[::1]:")
        try:
            alice = DHT(bootstrap=boot, host="127.0.0.1", query_timeout=1.0)
            assert alice.hosts == ["127.0.0.1", "::1"]
            await alice.btref_announce(request=request(7001))
            bob = DHT(bootstrap=boot, host="::1", query_timeout=1.0)
            assert bob.hosts == ["::1"]
            result = await bob.btref_announce(request=request(7002))
            assert result.peers == (PeerAddress("::1", 7001),)
            v4_only = DHT(bootstrap=boot, host="127.0.0.2", query_timeout=0.2)  # no counterpart known
            with pytest.raises(KRPCError, match="IPv4 address"):
                await v4_only._new_server(0)
        finally:
            close_all(servers)

    run(scenario())


def test_bad_hosts_and_resolving():
    async def scenario() -> None:
        for hosts in (("::1", "::1"), ("nowhere",), ()):
            server = DHTServer()
            with pytest.raises(KRPCError, match="listens on"):
                await server.start(hosts)
        assert await resolve("::1", 5, (4, 6)) == ("::1", 5)
        assert await resolve("localhost", 5, (4, 6)) == ("127.0.0.1", 5)

    run(scenario())


def test_hostile_nodes6_over_the_wire_are_dropped():
    async def scenario() -> None:
        server = DHTServer(query_timeout=1.0)
        await server.start("::1")
        loop = asyncio.get_running_loop()
        replies: asyncio.Queue[bytes] = asyncio.Queue()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                replies.put_nowait(data)

        transport, _ = await loop.create_datagram_endpoint(Client, local_addr=("::1", 0))
        me = transport.get_extra_info("sockname")[:2]
        try:
            look = server.node.lookup(IH, loop.time(), "get_peers", seeds=[me], family=6)
            server._flush()
            query = bencode.decode(await asyncio.wait_for(replies.get(), 10))
            assert b"want" not in query[b"a"]  # one family: the default answer is what it needs
            transport.sendto(bencode.encode({b"t": query[b"t"], b"y": b"r", b"r": {
                b"id": b"Z" * 20, b"nodes6": b"x" * 39, b"token": b"t"}}), server.address)
            transport.sendto(krpc.encode_query(b"q1", "find_node", b"C" * 20, target=IH, want=b"n6"), server.address)
            error = bencode.decode(await asyncio.wait_for(replies.get(), 10))
            assert error[b"y"] == b"e" and error[b"e"][0] == 203  # a bad want is refused
            while not look.done:
                await asyncio.sleep(0.01)
            assert server.node.stats["dropped"] == 2 and not look.peers and look.path[0].state == "failed"
        finally:
            transport.close()
            server.close()

    run(scenario())


def test_cli_serves_and_looks_up_over_ipv6(capsys):
    assert main(["dht", "--host", "::1", "--stop-after", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "on [::1]:" in out and "--bootstrap [::1]:" in out
    assert main(["dht", "--host", "::1", "--host", "::2", "--stop-after", "0"]) == 2
    assert "one IPv4 and/or one IPv6" in capsys.readouterr().err

    async def scenario() -> str:
        servers = await start_swarm(5)
        try:
            await servers[2].lookup(IH, "get_peers", announce_port=5555)
            await servers[2].settle()
            text = io.StringIO()
            boot = str(PeerAddress(*servers[0].address))
            assert await command.lookup(DHT(bootstrap=[boot], host="::1", query_timeout=1.0), IH, False, text) == 0
            return text.getvalue()
        finally:
            close_all(servers)

    text = run(scenario())
    assert "[::1]:5555" in text and "IPv6 lookup" in text and "IPv4 lookup" not in text and "answered" in text


def test_cli_lookup_walks_both_dhts_of_a_dual_stack_swarm(capsys):
    async def scenario() -> tuple[str, dict]:
        servers = await start_swarm(5, ("127.0.0.1", "::1"))
        try:
            await servers[2].lookup(IH, "get_peers", announce_port=5555, family=6)
            await servers[2].settle()
            text, as_json = io.StringIO(), io.StringIO()
            boot = str(PeerAddress(*servers[0].address))
            hosts = ("127.0.0.1", "::1")
            assert await command.lookup(DHT(bootstrap=[boot], host=hosts, query_timeout=1.0), IH, False, text) == 0
            assert await command.lookup(DHT(bootstrap=[boot], host=hosts, query_timeout=1.0), IH, True, as_json) == 0
            return text.getvalue(), json.loads(as_json.getvalue())
        finally:
            close_all(servers)

    text, report = run(scenario())
    assert "IPv4 lookup" in text and "IPv6 lookup" in text and "[::1]:5555" in text
    assert report["peers"] == ["[::1]:5555"] and [r["family"] for r in report["lookups"]] == [4, 6]


def test_download_joins_the_dht_through_an_ipv6_bootstrap():
    import argparse

    from btref.commands import download

    async def scenario() -> None:
        servers = await start_swarm(4)
        args = argparse.Namespace(dht_bootstrap=[str(PeerAddress(*servers[0].address))], dht=None, host="127.0.0.1")
        download.check_dht_options(args)
        dht = await download.join_dht(args)
        try:
            assert dht is not None and dht.server is not None and dht.server.families == [4, 6]
            assert len(dht.server.node.table6) >= 3 and not len(dht.server.node.table)
        finally:
            if dht is not None:
                await dht.close()
            close_all(servers)

    run(scenario())
