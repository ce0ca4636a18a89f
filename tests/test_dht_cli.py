"""``btref dht``: serve, lookup (against nodes on loopback) and sim."""

from __future__ import annotations

import asyncio
import io
import json

from btref.cli import main
from btref.commands import dht as command
from btref_discovery.dht.io import DHTServer
from btref_discovery.dht.plugin import DHT

IH = bytes(range(20))


def test_sim_table_and_json(capsys, tmp_path):
    assert main(["dht", "sim", "--sizes", "20,40", "--lookups", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["N", "log2", "N"] and len(out.splitlines()) == 3
    assert main(["dht", "sim", "--sizes", "30", "--lookups", "2", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["n"] == 30 and result["found_closest"] == 1.0
    assert main(["dht", "sim", "--sizes", "x"]) == 2
    assert main(["dht", "sim", "--sizes", "1"]) == 2
    assert "at least 2 nodes" in capsys.readouterr().err


def test_bad_targets(capsys):
    assert main(["dht", "lookup"]) == 2
    assert main(["dht", "lookup", "abcd"]) == 2
    assert main(["dht", "lookup", "magnet:?xt=urn:btih:zz"]) == 2
    assert "needs an INFOHASH" in capsys.readouterr().err
    assert command.info_hash("magnet:?xt=urn:btih:" + IH.hex()) == IH


def test_serve_and_lookup_without_bootstrap(capsys, tmp_path):
    state = tmp_path / "node.json"
    assert main(["dht", "--host", "127.0.0.1", "--stop-after", "0.05", "--state", str(state)]) == 0
    out = capsys.readouterr().out
    assert "Ctrl-C stops" in out and "0 torrents stored" in out and state.is_file()
    assert main(["dht", "lookup", IH.hex(), "--host", "127.0.0.1"]) == 2
    assert "no DHT node answered" in capsys.readouterr().err


def test_lookup_prints_peers_and_path():
    async def scenario() -> tuple[str, str, int]:
        servers = []
        for _ in range(10):
            server = DHTServer(query_timeout=1.0)
            await server.start("127.0.0.1", 0)
            servers.append(server)
        boot = "%s:%d" % servers[0].address
        try:
            for server in servers[1:]:
                await server.bootstrap([servers[0].address])
            await servers[4].lookup(IH, "get_peers", announce_port=5555)
            await servers[4].settle()
            text, as_json = io.StringIO(), io.StringIO()
            await command.lookup(DHT(bootstrap=[boot], host="127.0.0.1", query_timeout=1.0), IH, False, text)
            await command.lookup(DHT(bootstrap=[boot], host="127.0.0.1", query_timeout=1.0), IH, True, as_json)
            missing = await command.lookup(DHT(bootstrap=[boot], host="127.0.0.1", query_timeout=1.0),
                                           b"\xff" * 20, False, io.StringIO())
            return text.getvalue(), as_json.getvalue(), missing
        finally:
            for server in servers:
                server.close()

    text, as_json, missing = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert "127.0.0.1:5555" in text and "IPv4 lookup" in text and "answered" in text
    assert json.loads(as_json)["peers"] == ["127.0.0.1:5555"]
    assert missing == 1  # no peers: exit status 1


def test_a_bootstrap_that_is_no_address_is_one_line(capsys):
    assert main(["dht", "--bootstrap", "nonsense", "--stop-after", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DHT node 'nonsense' is not HOST:PORT" in err
