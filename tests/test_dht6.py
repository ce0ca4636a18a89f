"""The DHT over IPv6 (BEP 32) in memory: the codec, BEP 42 for IPv6, one table per family,
``want``, IPv6 peers in the store, a dual-stack node filling its second table, hostile
``nodes6``/``values``, and a simulated IPv6 DHT."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import bencode
from btref.errors import KRPCError
from btref_discovery.dht import bep42, krpc, node as node_module
from btref_discovery.dht.lookup import MAX_CANDIDATES
from btref_discovery.dht.node import Node, load, save
from btref_discovery.dht.sim import build, measure

IH = b"h" * 20
THEM = b"T" * 20
V4 = ("10.0.0.2", 7000)
V6 = ("fd00::2", 7000)


# ---------------------------------------------------------------- the codec


def test_compact_ipv6_peers_and_nodes6():
    assert krpc.encode_peer(("::1", 6881)) == bytes(15) + b"\x01" + b"\x1a\xe1"
    assert krpc.decode_peer(bytes(15) + b"\x01\x1a\xe1") == ("::1", 6881)
    nodes = [(b"a" * 20, ("2001:db8::1", 1)), (b"b" * 20, ("1.2.3.4", 2)), (b"c" * 20, ("fd00::3", 0))]
    data6 = krpc.encode_nodes(nodes, 6)
    assert len(data6) == 2 * 38 and len(krpc.encode_nodes(nodes)) == 26  # each family keeps its own
    assert krpc.decode_nodes(data6, 6) == [nodes[0]]  # the port-0 entry is skipped
    assert krpc.decode_values([krpc.encode_peer(("2001:db8::9", 80)), krpc.encode_peer(("9.9.9.9", 81))]) == [
        ("2001:db8::9", 80), ("9.9.9.9", 81)]


@pytest.mark.parametrize("bad", [b"x" * 37, b"x" * 39, b"x" * 26, 7, [b"x" * 38]])
def test_nodes6_that_are_not_whole_38_byte_entries_are_refused(bad):
    with pytest.raises(KRPCError, match="'nodes6' must be a string of 38-byte entries"):
        krpc.decode_nodes(bad, 6)


def test_too_many_nodes6_and_odd_values_are_refused():
    with pytest.raises(KRPCError, match="more than"):
        krpc.decode_nodes(b"\1" * 38 * (krpc.MAX_NODES + 1), 6)
    for entry in (b"x" * 17, b"x" * 19, b"", b"x" * 38):
        with pytest.raises(KRPCError, match="18-byte"):
            krpc.decode_values([krpc.encode_peer(("::1", 1)), entry])


def test_want_is_checked_and_read():
    def query(want: object) -> bytes:
        return bencode.encode({b"t": b"aa", b"y": b"q", b"q": b"find_node",
                               b"a": {b"id": THEM, b"target": IH, b"want": want}})

    for bad in (b"n6", [1], [b"n4"] * (krpc.MAX_WANT + 1), [b"x" * 9]):
        with pytest.raises(KRPCError, match="'want'") as caught:
            krpc.decode(query(bad))
        assert caught.value.tid == b"aa" and caught.value.code == krpc.PROTOCOL
    assert krpc.wanted(krpc.decode(query([b"n6", b"n4", b"n6"])).args, 4) == (4, 6)
    assert krpc.wanted(krpc.decode(query([b"n9"])).args, 6) == (6,)  # unknown flags: the default
    assert krpc.wanted({}, 4) == (4,) and krpc.want_list((6, 4)) == [b"n6", b"n4"]
    assert krpc.show(("::1", 5)) == "[::1]:5" and krpc.show(("1.2.3.4", 5)) == "1.2.3.4:5"


ids = st.binary(min_size=20, max_size=20)
v6_nodes = st.lists(st.tuples(ids, st.tuples(st.ip_addresses(v=6).map(str), st.integers(1, 65535))),
                    max_size=krpc.MAX_NODES)


@given(v6_nodes)
def test_nodes6_round_trip(nodes):
    assert krpc.decode_nodes(krpc.encode_nodes(nodes, 6), 6) == nodes


@given(st.one_of(st.binary(max_size=40 * 38), st.lists(st.binary(max_size=40), max_size=300), st.integers()))
def test_hostile_nodes6_and_values_raise_only_krpc_errors(data):
    for parse in (lambda d: krpc.decode_nodes(d, 6), krpc.decode_values):
        try:
            decoded = parse(data)
        except KRPCError:
            continue
        assert len(decoded) <= max(krpc.MAX_NODES, krpc.MAX_VALUES)


whole_nodes6 = st.lists(st.binary(min_size=38, max_size=38), max_size=krpc.MAX_NODES + 2).map(b"".join)
peers = st.one_of(st.binary(min_size=18, max_size=18), st.binary(min_size=6, max_size=6), st.binary(max_size=20))


@given(st.one_of(whole_nodes6, st.binary(max_size=12 * 38)), st.lists(peers, max_size=krpc.MAX_VALUES + 2))
def test_a_hostile_answer_never_breaks_a_lookup(nodes6, values):
    node = Node(rng=random.Random(3), families=(4, 6))
    look = node.lookup(IH, 0.0, "get_peers", seeds=[V6], family=6)
    (data, _), = node.take()
    answer = bencode.encode({b"t": krpc.decode(data).tid, b"y": b"r", b"r": {
        b"id": THEM, b"nodes6": nodes6, b"values": values, b"token": b"t"}})
    node.receive(answer, V6, 0.0)
    node.take()
    assert len(look.candidates) <= MAX_CANDIDATES and len(look.peers) <= krpc.MAX_VALUES
    assert len(node.pending) <= node.alpha


# ---------------------------------------------------------------- BEP 42 for IPv6


@given(st.ip_addresses(v=6).map(str), st.integers(0, 255))
def test_bep42_ipv6_ids_match_their_address(ip, rand):
    assert bep42.id_matches_ip(bep42.node_id_for(ip, rand=rand), ip)


def test_bep42_ipv6_uses_the_first_64_bits():
    made = bep42.node_id_for("2001:db8:1:2::1", random.Random(0), rand=5)
    assert bep42.id_matches_ip(made, "2001:db8:1:2:ffff::9")  # same /64: same prefix
    assert not bep42.id_matches_ip(made, "2001:db8:1:3::1")
    # the mask 0x0103070f1f3f7fff keeps 1 + 2 + 3 + ... bits of each of the 8 bytes, r sits in the top 3
    masked = (0x20010DB800010002 & 0x0103070F1F3F7FFF) | (5 << 61)
    crc = bep42.crc32c(masked.to_bytes(8, "big"))
    assert int.from_bytes(made[:3], "big") >> 3 == crc >> 11 and made[19] == 5
    for local in ("::1", "fe80::1", "fec0::1", "fd12:3456::1", "fc00::1"):
        assert bep42.is_exempt(local) and bep42.id_matches_ip(bytes(20), local)
    assert not bep42.is_exempt("2001:db8::1") and not bep42.id_matches_ip(bytes(20), "2001:4860::1")


def test_a_bep42_node_checks_ipv6_ids():
    node = Node(rng=random.Random(4), enforce_bep42=True)
    public = ("2001:4860::8888", 6881)
    node.receive(krpc.encode_query(b"q1", "ping", b"\0" * 20), public, 0.0)
    node.receive(krpc.encode_query(b"q2", "ping", bep42.node_id_for(public[0])), public, 0.0)
    assert len(node.take()) == 2 and len(node.table6) == 1 and not len(node.table)


# ---------------------------------------------------------------- the node


def ask(node: Node, method: str, source=V6, **args) -> dict:
    node.receive(krpc.encode_query(b"qq", method, THEM, **args), source, 0.0)
    (data, address), = node.take()
    assert address == source
    return bencode.decode(data)[b"r"]


def test_each_family_has_its_own_table_and_answer_key():
    node = Node(rng=random.Random(1), families=(4, 6))
    ask(node, "ping", source=V6)
    node.receive(krpc.encode_query(b"q4", "ping", b"F" * 20), V4, 0.0)
    node.take()
    assert [n.address for n in node.table6] == [V6] and [n.address for n in node.table] == [V4]
    r = ask(node, "find_node", target=IH)  # over IPv6, no want: nodes6 only
    assert set(r) == {b"id", b"nodes6"} and krpc.decode_nodes(r[b"nodes6"], 6) == [(THEM, V6)]
    r = ask(node, "find_node", source=V4, target=IH)  # over IPv4, no want: nodes only
    assert set(r) == {b"id", b"nodes"}
    r = ask(node, "find_node", target=IH, want=[b"n4", b"n6"])
    assert krpc.decode_nodes(r[b"nodes"]) == [(b"F" * 20, V4)] and krpc.decode_nodes(r[b"nodes6"], 6)
    r = ask(node, "get_peers", info_hash=IH, want=[b"n4"])  # asked over IPv6, wants IPv4 nodes
    assert set(r) == {b"id", b"nodes", b"token"}


def test_ipv6_announces_store_18_byte_peers_for_ipv6_askers():
    node = Node(rng=random.Random(2))
    token = ask(node, "get_peers", info_hash=IH)[b"token"]
    assert token == node.token(V6[0]) and len(token) == 20
    ask(node, "announce_peer", info_hash=IH, port=9999, token=token)
    ask(node, "announce_peer", source=("fd00::3", 1), info_hash=IH, port=1, implied_port=1,
        token=node.token("fd00::3"))
    token4 = ask(node, "get_peers", source=V4, info_hash=IH)[b"token"]
    ask(node, "announce_peer", source=V4, info_hash=IH, port=4444, token=token4)
    values = ask(node, "get_peers", info_hash=IH)[b"values"]
    assert [len(v) for v in values] == [18, 18]
    assert krpc.decode_values(values) == [("fd00::2", 9999), ("fd00::3", 1)]
    assert krpc.decode_values(ask(node, "get_peers", source=V4, info_hash=IH)[b"values"]) == [("10.0.0.2", 4444)]
    # an IPv6 token is tied to its address as an IPv4 one is
    refused = node.receive(krpc.encode_query(b"qq", "announce_peer", THEM, info_hash=IH, port=5, token=token),
                           ("fd00::4", 1), 0.0)
    assert refused is None and bencode.decode(node.take()[0][0])[b"e"][0] == 203


def test_ipv6_values_fit_in_bep32s_1024_bytes():
    node = Node(rng=random.Random(7))
    for i in range(100):
        assert node.store.add(IH, (f"2001:db8:{i:x}::1", 6881), 0.0)
        assert node.store.add(IH, (f"10.1.0.{i + 1}", 6881), 0.0)
    node.receive(krpc.encode_query(b"qq", "get_peers", THEM, info_hash=IH), V6, 0.0)
    (data, _), = node.take()
    values = bencode.decode(data)[b"r"][b"values"]
    assert len(values) == node_module.MAX_VALUES6_SENT and len(data) <= 1024
    node.receive(krpc.encode_query(b"qq", "get_peers", THEM, info_hash=IH), V4, 0.0)
    (data, _), = node.take()
    assert len(bencode.decode(data)[b"r"][b"values"]) == node_module.MAX_VALUES_SENT and len(data) <= 1024


def test_an_ipv6_source_is_its_64_network_in_the_peer_store():
    store = node_module.PeerStore()
    hosts = [f"2001:db8:1:2::{i + 1:x}" for i in range(node_module.MAX_PEERS_PER_IP + 1)]
    assert all(store.add(IH, (h, 1), 0.0) for h in hosts[:-1])
    assert not store.add(bytes(20), (hosts[-1], 1), 0.0)  # the same /64, however many hosts
    assert store.add(bytes(20), ("2001:db8:1:3::1", 1), 0.0)  # the next /64 is another source
    assert node_module.source("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert node_module.source("1.2.3.4") == "1.2.3.4"
    store.expire(node_module.PEER_TTL)
    assert not store.per_ip and not store.swarms


def test_a_dual_stack_node_asks_for_both_families_only_while_one_is_short():
    node = Node(rng=random.Random(8), families=(4, 6))
    rng = random.Random(9)
    node.lookup(IH, 0.0, seeds=[V4])
    assert bencode.decode(node.take()[0][0])[b"a"][b"want"] == [b"n4", b"n6"]  # bootstrapping
    for i in range(1, 9):
        node.table6.heard_from(rng.randbytes(20), (f"fd00::{i}", 1), 0.0, replied=True)
    node.lookup(IH, 0.0, seeds=[("10.0.0.7", 1)])
    assert b"want" not in bencode.decode(node.take()[0][0])[b"a"]  # steady state: the default


def test_state_keeps_both_tables(tmp_path):
    node = Node(rng=random.Random(5))
    ask(node, "ping")
    node.receive(krpc.encode_query(b"q4", "ping", b"F" * 20), V4, 0.0)
    save(node, tmp_path / "n.json")
    again = load(tmp_path / "n.json")
    assert [n.address for n in again.table6] == [V6] and [n.address for n in again.table] == [V4]


def test_a_dual_stack_node_fills_its_ipv6_table_through_an_ipv4_bootstrap():
    rng = random.Random(6)
    hub_v4, hub_v6 = ("10.0.0.1", 6881), ("fd00::1", 6881)
    hub = Node(rng=rng, families=(4, 6))
    nodes = {hub_v4: hub, hub_v6: hub}
    for i in range(2, 12):  # IPv6-only nodes the hub knows
        address = (f"fd00::{i}", 6881)
        nodes[address] = Node(rng=rng, families=(6,))
        hub.table6.heard_from(nodes[address].id, address, 0.0, replied=True)
    me_v4, me_v6 = ("10.0.0.99", 6881), ("fd00::99", 6881)
    me = nodes[me_v4] = nodes[me_v6] = Node(rng=rng, families=(4, 6))
    me.bootstrap([hub_v4], 0.0)
    sent = [bencode.decode(d) for d, _ in me.take()]
    assert sent[0][b"a"][b"want"] == [b"n4", b"n6"]  # a dual-stack node asks for both
    for message in sent:
        nodes[hub_v4].receive(bencode.encode(message), me_v4, 0.0)
    answers = hub.take()
    assert all(b"nodes6" in bencode.decode(d)[b"r"] for d, _ in answers)
    # the pings to the IPv6 nodes named go out of our IPv6 address, their answers come back to it
    for data, to in answers:
        me.receive(data, hub_v4, 0.0)
    pings = me.take()
    assert pings and all(krpc.family_of(to) == 6 for _, to in pings)
    for data, to in pings:
        nodes[to].receive(data, me_v6, 0.0)
        for reply, back in nodes[to].take():
            me.receive(reply, to, 0.0)
    assert len(me.table6) >= me.table6.k and len(me.table) == 1  # the hub, in the IPv4 table
    v4_only = Node(rng=rng)  # a node without IPv6 never pings IPv6 addresses
    v4_only.bootstrap([hub_v4], 0.0)
    for data, _ in v4_only.take():
        hub.receive(data, ("10.0.0.98", 6881), 0.0)
    for data, _ in hub.take():
        v4_only.receive(data, hub_v4, 0.0)
    assert all(krpc.family_of(to) == 4 for _, to in v4_only.take()) and not len(v4_only.table6)


# ---------------------------------------------------------------- a simulated IPv6 DHT


def test_a_simulated_ipv6_dht_walks_nodes6():
    nodes = build(60, random.Random(0), family=6)
    assert all(krpc.family_of(a) == 6 and len(n.table6) and not len(n.table) for a, n in nodes.items())
    source, node = next(iter(nodes.items()))
    node.lookup(IH, 0.0, family=6)
    (data, to), = node.take()[:1]
    answer = nodes[to]
    answer.receive(data, source, 0.0)
    (reply, _), = answer.take()
    r = bencode.decode(reply)[b"r"]
    assert set(r) == {b"id", b"nodes6"} and len(r[b"nodes6"]) == 8 * 38
    six, four = measure(200, lookups=10, family=6), measure(200, lookups=10, family=4)
    assert six["found_closest"] == 1.0 and 1 <= six["hops_mean"] <= six["log2_n"]
    # the same ids on IPv6 addresses: Kademlia does not care which family carries the packets
    assert six == four
