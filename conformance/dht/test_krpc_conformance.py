"""KRPC conformance (BEP 5): the spec's example packets, and a DHT node's answers over UDP.

The first tests check btref's KRPC codec against the example packets printed in BEP 5.
The scenarios then talk to a *target* node (see ``conftest.py``: btref's, libtorrent's,
or any node given with ``--krpc-target HOST:PORT``) with a plain UDP socket and check
what BEP 5 requires of its answers: the echoed transaction id, a 20-byte id, compact
nodes, tokens, announce then get_peers, and errors for bad tokens and unknown methods.
"""

from __future__ import annotations

import json
import os
import socket

import pytest

from btref import bencode
from btref.errors import KRPCError
from btref_discovery.dht import krpc

Address = tuple[str, int]
#: Seconds to wait for an answer before a scenario fails (or decides none is coming).
TIMEOUT = 5.0
ME = os.urandom(20)


def test_bep5_example_packets_parse(vectors):
    cases = json.loads((vectors / "bep5_krpc.json").read_text())["messages"]
    kinds = {"query": krpc.Query, "response": krpc.Response, "error": krpc.Error}
    for case in cases:
        data = case["bencoded"].encode()
        message = krpc.decode(data)
        assert isinstance(message, kinds[case["kind"]]), case["name"]
        assert bencode.encode(bencode.decode(data)) == data  # canonical, as the vectors promise


def test_bep5_error_codes(vectors):
    codes = json.loads((vectors / "bep5_krpc.json").read_text())["error_codes"]
    assert {int(c) for c in codes} == {krpc.GENERIC, krpc.SERVER, krpc.PROTOCOL, krpc.METHOD_UNKNOWN}


class Socket:
    """A UDP socket asking one node; answers are matched by transaction id."""

    def __init__(self, target: Address) -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(TIMEOUT)
        self.count = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    def answer(self, tid: bytes) -> krpc.Message | None:
        """The answer with ``tid``, or ``None`` when none came in time."""
        try:
            while True:
                data, _ = self.sock.recvfrom(65536)
                try:
                    message = krpc.decode(data)
                except KRPCError as exc:
                    pytest.fail(f"the target sent a malformed packet: {exc}")
                if message.tid == tid:
                    return message
        except TimeoutError:
            return None

    def query(self, method: str, **args) -> krpc.Message:
        self.count += 1
        tid = b"c%d" % self.count
        self.send(krpc.encode_query(tid, method, ME, **args))
        message = self.answer(tid)
        assert message is not None, f"no answer to {method} within {TIMEOUT} s"
        return message


@pytest.fixture
def node(krpc_target):
    sock = Socket(krpc_target)
    yield sock
    sock.close()


def test_ping(node):
    r = node.query("ping")
    assert isinstance(r, krpc.Response) and len(r.sender) == 20 and r.sender != ME


def test_find_node_returns_compact_nodes(node):
    r = node.query("find_node", target=os.urandom(20))
    assert isinstance(r, krpc.Response)
    krpc.decode_nodes(r.values.get(b"nodes", b""))  # a multiple of 26 bytes (maybe empty)


def test_get_peers_gives_a_token(node):
    r = node.query("get_peers", info_hash=os.urandom(20))
    assert isinstance(r, krpc.Response)
    assert isinstance(r.values.get(b"token"), bytes) and r.values[b"token"]
    assert b"values" in r.values or b"nodes" in r.values


def test_announce_then_get_peers_finds_us(node):
    info_hash = os.urandom(20)
    token = node.query("get_peers", info_hash=info_hash).values[b"token"]
    r = node.query("announce_peer", info_hash=info_hash, port=4711, token=token)
    assert isinstance(r, krpc.Response), f"announce_peer with a fresh token was refused: {r}"
    found = node.query("get_peers", info_hash=info_hash)
    assert ("127.0.0.1", 4711) in krpc.decode_values(found.values.get(b"values", []))


def test_wrong_token_is_refused(node):
    info_hash = os.urandom(20)
    r = node.query("announce_peer", info_hash=info_hash, port=4712, token=b"not a token")
    assert isinstance(r, krpc.Error) and r.code == krpc.PROTOCOL
    found = node.query("get_peers", info_hash=info_hash)
    assert ("127.0.0.1", 4712) not in krpc.decode_values(found.values.get(b"values", []))


def test_unknown_method(node):
    r = node.query("no_such_method")
    assert isinstance(r, krpc.Error) and r.code in (krpc.METHOD_UNKNOWN, krpc.PROTOCOL)


def test_malformed_packets_do_not_kill_the_node(node):
    node.send(b"\x00garbage")
    node.send(bencode.encode({b"t": b"m1", b"y": b"q", b"q": b"ping", b"a": {}}))  # no id
    r = node.answer(b"m1")
    assert r is None or (isinstance(r, krpc.Error) and r.code == krpc.PROTOCOL)
    assert isinstance(node.query("ping"), krpc.Response)
