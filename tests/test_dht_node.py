"""The sans-I/O DHT node in memory (BEP 5): answers, tokens, the peer store, lookups, timers."""

from __future__ import annotations

import random

import pytest

from btref import bencode
from btref.errors import KRPCError
from btref_discovery.dht import bep42, krpc, lookup as lookup_module, node as node_module
from btref_discovery.dht.lookup import Lookup
from btref_discovery.dht.node import PEER_TTL, TOKEN_ROTATION, Node, load, save
from btref_discovery.dht.routing import GOOD_FOR
from btref_discovery.dht.sim import build, measure

ME = ("10.0.0.1", 6881)
YOU = ("10.0.0.2", 7000)
IH = b"h" * 20
THEM = b"T" * 20


def answer(node: Node) -> dict:
    (data, address), = node.take()
    return bencode.decode(data)


def ask(node: Node, method: str, now: float = 0.0, source=YOU, **args) -> dict:
    node.receive(krpc.encode_query(b"qq", method, THEM, **args), source, now)
    return answer(node)


def test_answers_ping_find_node_get_peers():
    node = Node(rng=random.Random(1))
    assert ask(node, "ping") == {b"t": b"qq", b"y": b"r", b"r": {b"id": node.id}}
    assert node.table.get(THEM).address == YOU
    r = ask(node, "find_node", target=IH)[b"r"]
    assert krpc.decode_nodes(r[b"nodes"]) == [(THEM, YOU)]
    r = ask(node, "get_peers", info_hash=IH)[b"r"]
    assert r[b"token"] == node.token(YOU[0]) and b"values" not in r and b"nodes" in r
    assert ask(node, "vote")[b"e"] == [204, b"Method Unknown: vote"]
    node.receive(b"garbage", YOU, 0.0)
    assert node.take() == [] and node.stats["dropped"] == 1


def test_announce_peer_and_tokens():
    node = Node(rng=random.Random(2))
    token = ask(node, "get_peers", info_hash=IH)[b"r"][b"token"]
    assert ask(node, "announce_peer", info_hash=IH, port=9999, token=token)[b"y"] == b"r"
    assert ask(node, "announce_peer", info_hash=IH, port=1, token=token, implied_port=1)[b"y"] == b"r"
    assert node.store.get(IH, 0.0) == [("10.0.0.2", 9999), YOU]
    values = ask(node, "get_peers", info_hash=IH)[b"r"][b"values"]
    assert krpc.decode_values(values) == [("10.0.0.2", 9999), YOU]
    # a token is tied to the address that asked for it
    other = ask(node, "announce_peer", source=("10.0.0.3", 7000), info_hash=IH, port=5, token=token)
    assert other[b"e"] == [203, b"bad token"]
    # one rotation: the old token still works; two: it does not
    node.tick(TOKEN_ROTATION)
    assert ask(node, "announce_peer", TOKEN_ROTATION, info_hash=IH, port=9999, token=token)[b"y"] == b"r"
    node.tick(2 * TOKEN_ROTATION)
    assert ask(node, "announce_peer", 2 * TOKEN_ROTATION, info_hash=IH, port=9999, token=token)[b"y"] == b"e"
    # peers expire PEER_TTL after their last announce
    last = TOKEN_ROTATION
    assert node.store.get(IH, last + PEER_TTL - 1)
    node.tick(last + PEER_TTL + TOKEN_ROTATION)
    assert node.store.swarms == {}


def test_peer_store_limits(monkeypatch):
    monkeypatch.setattr(node_module, "MAX_PEERS_PER_HASH", 2)
    monkeypatch.setattr(node_module, "MAX_HASHES", 1)
    node = Node(rng=random.Random(3))
    token = node.token(YOU[0])
    for port in (1, 2):
        assert ask(node, "announce_peer", info_hash=IH, port=port, token=token)[b"y"] == b"r"
    assert ask(node, "announce_peer", info_hash=IH, port=3, token=token)[b"e"][0] == 202
    assert ask(node, "announce_peer", info_hash=IH, port=1, token=token)[b"y"] == b"r"  # a refresh is fine
    assert ask(node, "announce_peer", info_hash=b"g" * 20, port=1, token=token)[b"e"][0] == 202
    assert len(node.store.get(IH, 0.0)) == 2


def test_read_only_and_bep42_queriers_stay_out_of_the_table():
    node = Node(rng=random.Random(4), enforce_bep42=True)
    node.receive(krpc.encode_query(b"q1", "ping", THEM, read_only=True), YOU, 0.0)
    assert answer(node)[b"y"] == b"r" and len(node.table) == 0
    node.receive(krpc.encode_query(b"q1", "ping", THEM), ("8.8.8.8", 53), 0.0)
    assert answer(node)[b"y"] == b"r" and len(node.table) == 0  # id does not match the public address
    good = bep42.node_id_for("8.8.8.8")
    node.receive(krpc.encode_query(b"q1", "ping", good), ("8.8.8.8", 53), 0.0)
    node.take()
    assert node.table.get(good) is not None


class Net:
    """Nodes on a virtual network with instant delivery."""

    def __init__(self, n: int, seed: int = 0, **options) -> None:
        rng = random.Random(seed)
        self.now = 0.0
        self.nodes = {("10.1.0.%d" % (i + 1), 6881): Node(rng=random.Random(rng.random()), **options)
                      for i in range(n)}
        self.lost: set[tuple[str, int]] = set()

    def flush(self) -> None:
        moved = True
        while moved:
            moved = False
            for source, node in self.nodes.items():
                for data, destination in node.take():
                    moved = True
                    if destination in self.nodes and destination not in self.lost:
                        self.nodes[destination].receive(data, source, self.now)

    def join(self) -> None:
        first = next(iter(self.nodes))
        for node in list(self.nodes.values())[1:]:
            node.bootstrap([first], self.now)
            self.flush()


def test_lookups_find_announced_peers_and_report_paths():
    net = Net(40)
    net.join()
    nodes = list(net.nodes.values())
    assert all(len(n.table) >= 8 for n in nodes)
    done = []
    first = nodes[3].lookup(IH, 0.0, "get_peers", announce_port=4000, on_done=done.append)
    net.flush()
    assert done == [first] and first.done and first.finished == 0.0 and not first.peers
    assert sum(bool(n.store.get(IH, 0.0)) for n in nodes) == 8
    found = nodes[30].lookup(IH, 0.0, "get_peers")
    net.flush()
    assert list(found.peers) == [("10.1.0.4", 4000)]
    assert found.hops >= 1 and found.messages == len(found.report()["path"])
    assert nodes[30].next_timer() == TOKEN_ROTATION  # nothing pending: the next secret change


def test_timeouts_fail_queries_and_nodes():
    net = Net(10, query_timeout=2.0)
    net.join()
    a, b = list(net.nodes)[:2]
    net.lost.add(b)
    node = net.nodes[a]
    victim = node.table.get(net.nodes[b].id)
    ended = []
    node.lookup(net.nodes[b].id, 0.0, on_done=ended.append)
    net.flush()
    assert not ended and node.pending and node.next_timer() == 2.0
    node.tick(2.0)
    net.flush()
    node.tick(4.0)  # timeouts of any queries sent after the first ones
    net.flush()
    assert ended and victim.failures >= 1 and node.stats["timeouts"] >= 1
    assert ended[0].candidates[b].state == "failed"


def test_bad_answers_end_in_failure_not_crashes():
    node = Node(rng=random.Random(5))
    look = node.lookup(IH, 0.0, "get_peers", seeds=[YOU, ("10.0.0.9", 1)])
    sent = node.take()
    assert len(sent) == 2
    tid = krpc.decode(sent[0][0]).tid
    # from the wrong address: dropped, the query still pending
    node.receive(krpc.encode_response(tid, THEM, nodes=b""), ("10.9.9.9", 1), 0.0)
    assert tid in node.pending
    node.receive(krpc.encode_response(tid, THEM, nodes=b"x" * 27), YOU, 0.0)
    assert look.candidates[YOU].state == "failed" and node.stats["dropped"] == 2
    tid2 = krpc.decode(sent[1][0]).tid
    node.receive(krpc.encode_error(tid2, 201, "no"), ("10.0.0.9", 1), 0.0)
    assert look.done and look.hops == 0
    node.receive(krpc.encode_response(b"zz", THEM), YOU, 0.0)  # unsolicited
    assert node.stats["dropped"] == 3


@pytest.mark.parametrize("values", [
    {"token": b"t" * 100},  # token over MAX_TOKEN
    {"token": 5},
    {"values": [b"123456"] * (krpc.MAX_VALUES + 1)},  # oversized values list
    {"values": b"not a list"},
])
def test_bad_fields_in_answers(values):
    node = Node(rng=random.Random(6))
    look = node.lookup(IH, 0.0, "get_peers", seeds=[YOU])
    (data, _), = node.take()
    node.receive(krpc.encode_response(krpc.decode(data).tid, THEM, **values), YOU, 0.0)
    assert look.candidates[YOU].state == "failed" and look.done and not look.peers


def test_flood_of_made_up_nodes_is_bounded():
    node = Node(rng=random.Random(9))
    look = node.lookup(IH, 0.0, "get_peers", seeds=[YOU])
    (data, _), = node.take()
    fake = [(bytes([i]) + IH[1:], ("10.9.%d.%d" % (i // 200, i % 200 + 1), 1)) for i in range(krpc.MAX_NODES)]
    node.receive(krpc.encode_response(krpc.decode(data).tid, THEM, nodes=krpc.encode_nodes(fake)), YOU, 0.0)
    assert len(look.candidates) <= lookup_module.MAX_CANDIDATES and len(node.take()) == 3  # alpha in flight
    with pytest.raises(KRPCError, match="more than"):  # a longer list is refused by the parser
        krpc.decode_nodes(krpc.encode_nodes(fake * 2))


def test_full_bucket_pings_questionable_node_and_refreshes_stale_buckets():
    node = Node(b"\0" * 20, rng=random.Random(7))
    far = [(255 - i).to_bytes(1, "big") * 20 for i in range(9)]
    for i, nid in enumerate(far[:8]):
        node.receive(krpc.encode_query(b"q%d" % i, "ping", nid), ("10.2.0.%d" % (i + 1), 1), 0.0)
    node.take()
    later = GOOD_FOR + 1
    node.receive(krpc.encode_query(b"q9", "ping", far[8]), ("10.2.0.9", 1), later)
    out = node.take()
    assert [krpc.decode(d).method for d, _ in out[1:]] == ["ping"]  # the questionable one is pinged
    node.tick(later)
    methods = [krpc.decode(d).method for d, _ in node.take()]
    assert "find_node" in methods  # the stale bucket is refreshed


def test_a_lonely_node_sleeps():
    node = Node(rng=random.Random(10))
    node.tick(GOOD_FOR + 1)
    assert node.take() == [] and node.next_timer() > GOOD_FOR + 1  # the timer moves on


def test_pending_limit(monkeypatch):
    monkeypatch.setattr(node_module, "MAX_PENDING", 1)
    node = Node(rng=random.Random(8))
    look = node.lookup(IH, 0.0, seeds=[YOU, ("10.0.0.9", 1)])
    assert len(node.take()) == 1 and look.candidates[("10.0.0.9", 1)].state == "failed"
    node.ping(("10.0.0.8", 1), 0.0)
    assert node.take() == []


def test_save_and_load(tmp_path):
    net = Net(12)
    net.join()
    node = list(net.nodes.values())[5]
    save(node, tmp_path / "state.json")
    copy = load(tmp_path / "state.json", now=10.0)
    assert copy.id == node.id and {n.id for n in copy.table} == {n.id for n in node.table}
    (tmp_path / "bad.json").write_text('{"id": "zz"}')
    with pytest.raises(KRPCError, match="not a saved DHT node state"):
        load(tmp_path / "bad.json")


def test_lookup_bounds(monkeypatch):
    monkeypatch.setattr(lookup_module, "MAX_PEERS", 2)
    look = Lookup(IH, "get_peers", 0.0)
    for i in range(lookup_module.MAX_CANDIDATES + 10):
        look.add(i.to_bytes(20, "big"), ("10.3.0.1", i + 1), 1)
    assert len(look.candidates) == lookup_module.MAX_CANDIDATES
    (first, *_), = [look.next_queries()]
    look.answered(first.address, first.id, [], [("1.1.1.1", 1), ("1.1.1.2", 2), ("1.1.1.3", 3)], b"tok")
    assert list(look.peers) == [("1.1.1.1", 1), ("1.1.1.2", 2)]
    look.answered(("9.9.9.9", 9), IH, [], [], None)  # never asked: ignored
    look.failed(("9.9.9.9", 9))
    look.finish(1.0)
    look.finish(2.0)
    assert look.finished == 1.0 and look.next_queries() == []


def test_simulated_lookups_are_short_and_exact():
    nodes = build(64, random.Random(1))
    assert all(len(n.table) >= 8 for n in nodes.values())
    result = measure(200, lookups=10, seed=3)
    assert result["found_closest"] == 1.0 and 1 <= result["hops_mean"] <= result["hops_max"] <= 4
    assert result["messages_mean"] >= 3


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_values = st.recursive(
    st.one_of(st.integers(-5, 70000), st.binary(max_size=30), st.sampled_from([b"i" * 20, IH, b"qq"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(
        st.sampled_from([b"id", b"target", b"info_hash", b"token", b"port", b"implied_port", b"nodes",
                         b"values", b"x"]), inner, max_size=5)),
    max_leaves=12,
)
_messages = st.fixed_dictionaries({b"t": st.sampled_from([b"qq", b"\x00\x01", b""])}, optional={
    b"y": st.sampled_from([b"q", b"r", b"e", b"z"]),
    b"q": st.sampled_from([b"ping", b"find_node", b"get_peers", b"announce_peer", b"put"]),
    b"a": _values, b"r": _values, b"e": _values, b"ro": st.integers(0, 1),
})


@settings(max_examples=200)
@given(st.lists(st.one_of(_messages.map(bencode.encode), st.binary(max_size=80)), max_size=8))
def test_fuzz_nothing_escapes_receive(packets):
    node = Node(rng=random.Random(11))
    node._tid = int.from_bytes(b"qq", "big") - 1  # the lookup's query gets transaction id "qq"
    node.lookup(IH, 0.0, "get_peers", seeds=[YOU])  # so that some answers are expected
    for data in packets:
        node.receive(data, YOU, 1.0)
    for data, _ in node.take():
        krpc.decode(data)  # everything the node sends is valid KRPC
    assert all(len(s) <= node_module.MAX_PEERS_PER_HASH for s in node.store.swarms.values())


def test_one_source_cannot_take_the_whole_peer_store():
    """One address with a valid token announced a random info hash and port each time and
    filled every one of the 2,000 info hashes (bench/dht_load.py): everyone else's new
    torrents were refused for half an hour. An IP address holds MAX_PEERS_PER_IP entries."""
    node = Node(rng=random.Random(6))
    token = node.token(YOU[0])
    rng = random.Random(7)
    answers = [ask(node, "announce_peer", info_hash=rng.randbytes(20), port=rng.randrange(1, 65536), token=token)
               for _ in range(node_module.MAX_PEERS_PER_IP + 50)]
    assert [a[b"y"] for a in answers].count(b"r") == node_module.MAX_PEERS_PER_IP
    assert all(a[b"e"][0] == 202 for a in answers if a[b"y"] == b"e")
    other = ("10.0.0.9", 6881)
    token9 = node.token(other[0])
    assert ask(node, "announce_peer", source=other, info_hash=IH, port=5, token=token9)[b"y"] == b"r"
    # An entry of its own that it announces again is a refresh, not a new one.
    assert ask(node, "announce_peer", source=other, info_hash=IH, port=5, token=token9)[b"y"] == b"r"
    assert node.store.per_ip == {YOU[0]: node_module.MAX_PEERS_PER_IP, other[0]: 1}
    node.store.expire(PEER_TTL + 1)  # all gone: the counts with them
    assert node.store.swarms == {} and node.store.per_ip == {}


def test_queries_under_made_up_ids_leave_one_table_entry():
    node = Node(rng=random.Random(8))
    rng = random.Random(9)
    for n in range(300):
        node.receive(krpc.encode_query(b"%d" % n, "ping", rng.randbytes(20)), YOU, 0.0)
    node.take()
    assert len(node.table) == 1
