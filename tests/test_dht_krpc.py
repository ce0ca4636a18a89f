"""KRPC encoding and decoding (BEP 5): the spec's example packets, limits, and fuzzing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import bencode
from btref.errors import KRPCError
from btref_discovery.dht import krpc


def load(vectors):
    return json.loads((vectors / "bep5_krpc.json").read_text())


def as_bytes(value):
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, list):
        return [as_bytes(v) for v in value]
    if isinstance(value, dict):
        return {k.encode(): as_bytes(v) for k, v in value.items()}
    return value


def test_bep5_examples_decode(vectors):
    for case in load(vectors)["messages"]:
        data = case["bencoded"].encode()
        assert bytes.fromhex(case["bencoded_hex"]) == data
        if case["name"] in ("find_node_response", "get_peers_response_nodes"):
            # "def456..." stands for compact node info in the BEP; it is not 26 bytes long
            message = krpc.decode(data)
            with pytest.raises(KRPCError, match="26-byte"):
                krpc.decode_nodes(message.values[b"nodes"])
            continue
        message = krpc.decode(data)
        decoded = as_bytes(case["decoded"])
        assert message.tid == decoded[b"t"]
        if case["kind"] == "query":
            assert isinstance(message, krpc.Query) and message.method == decoded[b"q"].decode()
            assert message.args == decoded[b"a"] and message.sender == decoded[b"a"][b"id"]
            assert bencode.encode({b"t": message.tid, b"y": b"q", b"q": message.method.encode(),
                                   b"a": message.args}) == data
        elif case["kind"] == "response":
            assert isinstance(message, krpc.Response) and message.values == decoded[b"r"]
        else:
            assert message == krpc.Error(b"aa", 201, "A Generic Error Ocurred")
            assert krpc.encode_error(b"aa", 201, "A Generic Error Ocurred") == data


def test_example_values_and_encoders(vectors):
    case = {c["name"]: c for c in load(vectors)["messages"]}
    values = krpc.decode(case["get_peers_response_values"]["bencoded"].encode()).values[b"values"]
    assert krpc.decode_values(values) == [("97.120.106.101", 11893), ("105.100.104.116", 28269)]
    ping = krpc.encode_query(b"aa", "ping", b"abcdefghij0123456789")
    assert ping == case["ping_query"]["bencoded"].encode()
    assert krpc.encode_response(b"aa", b"mnopqrstuvwxyz123456") == case["ping_response"]["bencoded"].encode()
    announce = krpc.encode_query(b"aa", "announce_peer", b"abcdefghij0123456789", implied_port=1,
                                 info_hash=b"mnopqrstuvwxyz123456", port=6881, token=b"aoeusnth")
    assert announce == case["announce_peer_query"]["bencoded"].encode()


def test_read_only_flag():
    message = krpc.decode(krpc.encode_query(b"t1", "ping", b"i" * 20, read_only=True))
    assert message.read_only and not krpc.decode(krpc.encode_query(b"t1", "ping", b"i" * 20)).read_only


def q(**fields):
    base = {b"t": b"aa", b"y": b"q", b"q": b"ping", b"a": {b"id": b"i" * 20}}
    base.update({k.encode(): v for k, v in fields.items()})
    return bencode.encode(base)


@pytest.mark.parametrize(("data", "match", "tid"), [
    (b"x" * (krpc.MAX_PACKET + 1), "exceeds", None),
    (b"d1:t", "not bencoded", None),
    (b"i1e", "dictionary", None),
    (bencode.encode({b"y": b"q"}), "transaction id", None),
    (bencode.encode({b"t": b"x" * 17, b"y": b"q"}), "transaction id", None),
    (bencode.encode({b"t": b"aa", b"y": b"z"}), "message type", b"aa"),
    (q(q=b""), "method name", b"aa"),
    (q(a=b"no"), "'a' must be a dictionary", b"aa"),
    (q(a={b"id": b"short"}), "'id' must be a 20-byte", b"aa"),
    (q(q=b"get_peers"), "'info_hash'", b"aa"),
    (q(q=b"announce_peer", a={b"id": b"i" * 20, b"info_hash": b"h" * 20, b"port": 1}), "token", b"aa"),
    (q(q=b"announce_peer", a={b"id": b"i" * 20, b"info_hash": b"h" * 20, b"token": b"t" * 65, b"port": 1}),
     "token", b"aa"),
    (q(q=b"announce_peer", a={b"id": b"i" * 20, b"info_hash": b"h" * 20, b"token": b"t", b"port": 0}),
     "port", b"aa"),
    (q(q=b"announce_peer", a={b"id": b"i" * 20, b"info_hash": b"h" * 20, b"token": b"t", b"implied_port": 2}),
     "port", b"aa"),
    (bencode.encode({b"t": b"aa", b"y": b"r", b"r": {b"id": b"x"}}), "'id'", None),
    (bencode.encode({b"t": b"aa", b"y": b"r"}), "'r' must be", None),
    (bencode.encode({b"t": b"aa", b"y": b"e", b"e": [201]}), "error 'e'", None),
])
def test_malformed_packets(data, match, tid):
    with pytest.raises(KRPCError, match=match) as info:
        krpc.decode(data)
    assert info.value.tid == tid and info.value.code == 203


def test_implied_port_needs_no_port_and_error_text_is_cut():
    ok = q(q=b"announce_peer", a={b"id": b"i" * 20, b"info_hash": b"h" * 20, b"token": b"t", b"implied_port": 1})
    assert krpc.decode(ok).method == "announce_peer"
    long = bencode.encode({b"t": b"aa", b"y": b"e", b"e": [202, b"\xff" * 1000]})
    assert len(krpc.decode(long).message) == krpc.MAX_ERROR_TEXT


def test_compact_contacts():
    nodes = [(b"a" * 20, ("1.2.3.4", 6881)), (b"b" * 20, ("::1", 5)), (b"c" * 20, ("5.6.7.8", 0))]
    data = krpc.encode_nodes(nodes)
    assert len(data) == 52  # the IPv6 node is left out
    assert krpc.decode_nodes(data) == nodes[:1]  # the port-0 node is skipped
    with pytest.raises(KRPCError):
        krpc.decode_nodes(b"x" * 27)
    with pytest.raises(KRPCError):
        krpc.decode_nodes(7)
    assert krpc.decode_values([krpc.encode_peer(("9.9.9.9", 80)), b"\1\2\3\4\0\0"]) == [("9.9.9.9", 80)]
    for bad in ([b"x"] * (krpc.MAX_VALUES + 1), b"str", [1], [b"x" * 7]):
        with pytest.raises(KRPCError):
            krpc.decode_values(bad)


ids = st.binary(min_size=20, max_size=20)
tids = st.binary(min_size=1, max_size=krpc.MAX_TID)


@given(tids, ids, ids, st.sampled_from(["find_node", "get_peers"]))
def test_queries_round_trip(tid, sender, target, method):
    key = "target" if method == "find_node" else "info_hash"
    message = krpc.decode(krpc.encode_query(tid, method, sender, **{key: target}))
    assert (message.tid, message.method, message.sender, message.args[key.encode()]) == (tid, method, sender, target)


@given(st.lists(st.tuples(ids, st.tuples(st.ip_addresses(v=4).map(str), st.integers(1, 65535))), max_size=20))
def test_nodes_round_trip(nodes):
    assert krpc.decode_nodes(krpc.encode_nodes(nodes)) == nodes


@given(st.binary(max_size=300))
def test_fuzz_only_krpc_errors_escape(data):
    try:
        krpc.decode(data)
    except KRPCError:
        pass
