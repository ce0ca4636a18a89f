"""Unit tests of the session engine (btref.session): one behaviour per test, messages in, actions out."""

from __future__ import annotations

import random

import pytest
from btref_chokers.tit_for_tat import TitForTat
from btref_pickers.rarest_first import RarestFirst
from hypothesis import given, settings
from hypothesis import strategies as st

from btref import wire
from btref.bencode import encode
from btref.pieceset import PieceSet
from btref.io.create import create_torrent
from btref.actions import UploadShares
from btref.session import Ban, Broadcast, Close, Complete, Config, Event, ReadBlock, Send, Session, WritePiece
from btref.hookspecs import hookimpl
from btref.metainfo import parse
from btref.plugins import plugin_manager

PIECE = 32 * 1024  # two blocks per piece
SIZE = 4 * PIECE + 1000  # five pieces, the last one 1000 bytes


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine")
    data = random.Random(7).randbytes(SIZE)
    (folder / "f.bin").write_bytes(data)
    return parse(create_torrent(folder / "f.bin", version="v1", piece_length=PIECE, creation_date=0)), data


class Recorder:
    family = "observers"

    def __init__(self):
        self.calls = []

    @hookimpl
    def btref_peer_connected(self, peer):
        self.calls.append(("connected", peer.key))

    @hookimpl
    def btref_peer_disconnected(self, peer, reason):
        self.calls.append(("disconnected", peer.key))

    @hookimpl
    def btref_piece_failed(self, torrent, index, peers):
        self.calls.append(("failed", index, tuple(peers)))

    @hookimpl
    def btref_peer_banned(self, peer, reason):
        self.calls.append(("banned", peer.key))


def session(torrent, *, seed=False, have=(), choker=True, config=None):
    recorder = Recorder()
    chosen = {"pickers": [RarestFirst(random_first=0)], "hashes": ["sha1"]}
    if choker:
        chosen["chokers"] = [TitForTat()]
    hook = plugin_manager(chosen, extra=[recorder]).hook
    field = PieceSet.full(torrent.num_pieces) if seed else PieceSet(torrent.num_pieces)
    for i in have:
        field.set(i)
    s = Session(torrent, hook, have=field, peer_id=b"-RF0100-000000000000", rng=random.Random(1), config=config)
    s.recorder = recorder
    return s


def msgs(actions, cls=None, key=None):
    """The messages sent, in order; a ``Broadcast`` counts as one ``Send`` per key."""
    sends = []
    for a in actions:
        if isinstance(a, Send):
            sends.append(a)
        elif isinstance(a, Broadcast):
            sends += [Send(k, a.msg) for k in a.keys]
    return [a.msg for a in sends if (cls is None or isinstance(a.msg, cls)) and (key is None or a.key == key)]


def of(actions, cls):
    return [a for a in actions if isinstance(a, cls)]


def block(data, index, begin, length=16384):
    start = index * PIECE + begin
    return data[start : start + length]


# -- connecting -------------------------------------------------------------------------


def test_first_messages_say_what_we_have(payload):
    torrent, _ = payload
    assert msgs(session(torrent).peer_connected("p", 0, fast=True)) == [wire.HaveNone()]
    assert msgs(session(torrent, seed=True).peer_connected("p", 0, fast=True)) == [wire.HaveAll()]
    assert msgs(session(torrent).peer_connected("p", 0)) == []
    partial = session(torrent, have=[0])
    sent = msgs(partial.peer_connected("p", 0, fast=True))
    assert sent == [wire.Bitfield(partial.have.to_bytes())]
    assert ("connected", "p") in partial.recorder.calls


def test_duplicate_key_and_bad_have_length(payload):
    torrent, _ = payload
    s = session(torrent)
    s.peer_connected("p", 0)
    assert of(s.peer_connected("p", 1), Close)
    with pytest.raises(ValueError):
        Session(torrent, s.hook, have=PieceSet(3))


def test_unknown_keys_are_ignored(payload):
    torrent, _ = payload
    s = session(torrent)
    assert s.message_received("ghost", wire.Choke(), 0) == []
    assert s.peer_disconnected("ghost", 0, "gone") == []
    assert s.block_read("ghost", 0, 0, b"x", 0) == []


# -- interest and requests --------------------------------------------------------------


def test_interest_follows_the_peers_pieces(payload):
    torrent, _ = payload
    s = session(torrent, have=[0])
    s.peer_connected("p", 0)
    assert msgs(s.message_received("p", wire.Have(0), 1)) == []  # we have it already
    assert msgs(s.message_received("p", wire.Have(3), 1)) == [wire.Interested()]
    assert s.availability[3] == 1 and s.availability[0] == 1
    out = s.peer_disconnected("p", 2, "bye")
    assert s.availability[3] == 0 and of(out, Event)[0].name == "peer_disconnected"


def test_haves_received_equals_one_have_at_a_time(payload):
    torrent, _ = payload
    one, many = session(torrent, have=[0]), session(torrent, have=[0])
    for s in (one, many):
        s.peer_connected("p", 0, fast=True)
        s.message_received("p", wire.Unchoke(), 0)
    indices = [0, 3, 4, 3, 1]  # one we have, a repeat
    out_one = []
    for i in indices:
        out_one += one.message_received("p", wire.Have(i), 1)
    out_many = many.haves_received([("p", i) for i in indices], 1)
    assert list(one.availability) == list(many.availability)
    assert one.peers["p"].has == many.peers["p"].has and many.peers["p"].wanted == 3
    assert msgs(out_many, wire.Interested) == [wire.Interested()]
    # The batch refills once, after the last have, so it may ask for other blocks, but as many.
    assert len(msgs(out_many, wire.Request)) == len(msgs(out_one, wire.Request)) > 0
    assert many.haves_received([], 2) == many.haves_received([("ghost", 1)], 2) == []


@pytest.mark.parametrize("redundant", [True, False])
def test_a_verified_piece_is_announced_to_every_peer_or_only_to_those_lacking_it(payload, redundant):
    torrent, data = payload
    s = session(torrent, config=Config(redundant_haves=redundant))
    for key in ("p", "q", "r"):
        s.peer_connected(key, 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    s.message_received("q", wire.HaveAll(), 0)
    req = msgs(s.message_received("p", wire.Unchoke(), 0), wire.Request)
    out = []
    for r in [r for r in req if r.index == req[0].index]:
        out += s.message_received("p", wire.Piece(r.index, r.begin, block(data, r.index, r.begin)), 1)
    [announce] = of(out, Broadcast)
    assert announce.msg == wire.Have(req[0].index)
    assert announce.keys == (("p", "q", "r") if redundant else ("r",))
    assert all(s.peers[k].last_sent_at == 1 for k in announce.keys)  # only those told: keep-alives stay due


def test_haves_received_out_of_range_closes(payload):
    torrent, _ = payload
    s = session(torrent)
    s.peer_connected("p", 0, fast=True)
    s.peer_connected("q", 0, fast=True)
    out = s.haves_received([("p", 2), ("q", 1), ("p", torrent.num_pieces), ("p", 3)], 1)
    assert of(out, Close) == [Close("p", f"piece index {torrent.num_pieces} out of range 0..{torrent.num_pieces - 1}")]
    assert "p" not in s.peers and s.peers["q"].has[1]
    assert list(s.availability) == [0, 1] + [0] * (torrent.num_pieces - 2)  # nothing of p's counted
    assert msgs(out, wire.Interested) == [wire.Interested()]  # to q only: p is gone


def test_have_then_have_all_counts_each_piece_once(payload):
    torrent, _ = payload
    s = session(torrent)
    s.peer_connected("p", 0, fast=True)
    s.message_received("p", wire.Have(1), 0)
    s.message_received("p", wire.HaveAll(), 0)
    assert list(s.availability) == [1] * torrent.num_pieces
    s.peer_disconnected("p", 1, "bye")
    assert list(s.availability) == [0] * torrent.num_pieces


def test_unchoke_starts_pipelined_requests(payload):
    torrent, _ = payload
    s = session(torrent)
    s.peer_connected("p", 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    requests = msgs(s.message_received("p", wire.Unchoke(), 1), wire.Request)
    assert len(requests) == Config().min_queue
    assert all(r.length == 16384 for r in requests)
    assert len({(r.index, r.begin) for r in requests}) == len(requests)


class SloppyPicker:
    family = "pickers"

    @hookimpl
    def btref_pick_pieces(self, swarm, peer, count):
        return [99, -1, "2", 0, 0, 3]


def test_bad_picker_answers_are_skipped(payload):
    torrent, _ = payload
    hook = plugin_manager({"pickers": [SloppyPicker()], "hashes": ["sha1"]}).hook
    field = PieceSet(torrent.num_pieces)
    field.set(0)
    s = Session(torrent, hook, have=field, rng=random.Random(0))
    s.peer_connected("p", 0, fast=True)
    s.message_received("p", wire.Bitfield(bytes([0b01110000])), 0)  # pieces 1, 2, 3
    requests = msgs(s.message_received("p", wire.Unchoke(), 0), wire.Request)
    assert {r.index for r in requests} == {3}  # 99, -1, "2" and our own piece 0 are skipped
    # a misaligned block of a piece in progress is not a block we asked for
    out = s.message_received("p", wire.Piece(3, 7, b"x" * 16384), 1)
    assert s.peers["p"].unexpected == 1 and not of(out, Close)


def test_reqq_caps_the_queue(payload):
    torrent, _ = payload
    s = session(torrent)
    s.peer_connected("p", 0, extensions=True)
    s.message_received("p", wire.Extended(0, encode({b"reqq": 2, b"m": {}})), 0)
    s.message_received("p", wire.Extended(3, b"whatever"), 0)  # not ours: ignored
    s.message_received("p", wire.Bitfield(PieceSet.full(torrent.num_pieces).to_bytes()), 0)
    assert len(msgs(s.message_received("p", wire.Unchoke(), 1), wire.Request)) == 2
    assert s.peers["p"].reqq == 2


def test_download_rate_deepens_the_queue(payload):
    torrent, _ = payload
    s = session(torrent)
    s.peer_connected("p", 0)
    peer = s.peers["p"]
    peer.down.add(100 * 16384, 0)
    assert peer.queue_depth(1.0, block=16384, seconds=2, lo=4, hi=250) == 200
    peer.down.add(10_000 * 16384, 1)
    assert peer.queue_depth(1.0, block=16384, seconds=2, lo=4, hi=250) == 250


def test_blocks_complete_a_piece_which_is_written_and_announced(payload):
    torrent, data = payload
    s = session(torrent)
    s.peer_connected("p", 0, fast=True)
    s.peer_connected("q", 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    out = s.message_received("p", wire.Unchoke(), 0)
    first = msgs(out, wire.Request)[0]
    out = s.message_received("p", wire.Piece(first.index, 0, block(data, first.index, 0)), 1)
    assert not of(out, WritePiece)
    out = s.message_received("p", wire.Piece(first.index, 16384, block(data, first.index, 16384)), 1)
    written = of(out, WritePiece)
    assert [w.index for w in written] == [first.index]
    assert bytes(written[0].data) == data[first.index * PIECE : (first.index + 1) * PIECE]
    assert wire.Have(first.index) in msgs(out, key="q")
    assert s.have[first.index]
    assert s.peers["p"].bytes_downloaded == PIECE


def test_wrong_length_and_unrequested_blocks_close(payload):
    torrent, data = payload
    s = session(torrent, config=Config(unexpected_tolerance=1))
    s.peer_connected("p", 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    req = msgs(s.message_received("p", wire.Unchoke(), 0), wire.Request)[0]
    assert of(s.message_received("p", wire.Piece(req.index, req.begin, b"short"), 1), Close)
    s.peer_connected("p", 2, fast=True)
    s.message_received("p", wire.HaveAll(), 2)
    assert s.message_received("p", wire.Piece(4, 0, b"x" * 1000), 2) == []  # tolerated once
    assert of(s.message_received("p", wire.Piece(4, 0, b"x" * 1000), 2), Close)


def test_late_blocks_of_withdrawn_requests_are_no_violation(payload):
    torrent, data = payload
    s = session(torrent, config=Config(unexpected_tolerance=0))
    s.peer_connected("p", 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    requests = msgs(s.message_received("p", wire.Unchoke(), 0), wire.Request)
    s.message_received("p", wire.Choke(), 1)  # withdraws every request
    s.peers["p"].allowed_fast.clear()
    for r in requests:
        out = s.message_received("p", wire.Piece(r.index, r.begin, block(data, r.index, r.begin, r.length)), 2)
        assert not of(out, Close)
    assert s.peers["p"].unexpected == 0 and not s.peers["p"].withdrawn
    out = s.message_received("p", wire.Piece(requests[0].index, requests[0].begin, b"x" * 16384), 3)
    assert of(out, Close)


def test_withdrawn_requests_are_remembered_up_to_a_limit():
    from btref.peer import Peer

    peer = Peer("k", PieceSet(4), 0.0)
    for begin in range(5):
        peer.requests[0, begin] = (1, 0.0)
        peer.withdraw(0, begin, limit=3)
    assert list(peer.withdrawn) == [(0, 2), (0, 3), (0, 4)]
    peer.requests[0, 3] = (1, 0.0)
    peer.withdraw(0, 3, limit=3)  # asked and withdrawn twice: two late blocks are fine
    assert peer.landed(0, 3) and peer.landed(0, 3) and not peer.landed(0, 3)
    peer.withdraw(1, 0)  # never requested: nothing to remember
    assert (1, 0) not in peer.withdrawn


def test_choke_releases_blocks_and_allowed_fast_still_works(payload):
    torrent, data = payload
    s = session(torrent)
    s.peer_connected("p", 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    s.message_received("p", wire.Unchoke(), 0)
    assert s.peers["p"].requests
    s.message_received("p", wire.Choke(), 1)
    assert not s.peers["p"].requests and not s.download.pieces
    out = s.message_received("p", wire.AllowedFast(2), 1)
    assert {r.index for r in msgs(out, wire.Request)} == {2}
    # a block that arrives after the choke is still welcome when we need it
    late = s.message_received("p", wire.Piece(2, 0, block(data, 2, 0)), 2)
    assert not of(late, Close)


def test_reject_frees_the_block_for_others(payload):
    torrent, _ = payload
    s = session(torrent)
    for key in ("p", "q"):
        s.peer_connected(key, 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    req = msgs(s.message_received("p", wire.Unchoke(), 0), wire.Request)[0]
    s.message_received("q", wire.HaveAll(), 0)
    out = s.message_received("p", wire.Reject(req.index, req.begin, req.length), 1)
    assert req.index in s.peers["p"].rejected
    assert (req.index, req.begin) not in s.peers["p"].requests
    assert out == [] or all(isinstance(a, (Send, Event)) for a in out)
    out = s.message_received("q", wire.Unchoke(), 1)
    assert wire.Request(req.index, req.begin, req.length) in msgs(out, wire.Request)


def test_end_game_requests_twice_and_cancels_the_loser(payload):
    torrent, data = payload
    s = session(torrent, have=[0, 1, 2, 3])
    for key in ("p", "q"):
        s.peer_connected(key, 0, fast=True)
        s.message_received(key, wire.HaveAll(), 0)
    out = s.message_received("p", wire.Unchoke(), 0)
    assert msgs(out, wire.Request) == [wire.Request(4, 0, 1000)]
    out = s.message_received("q", wire.Unchoke(), 0)
    assert msgs(out, wire.Request) == [wire.Request(4, 0, 1000)]
    assert s.download.endgame
    out = s.message_received("q", wire.Piece(4, 0, block(data, 4, 0, 1000)), 1)
    assert wire.Cancel(4, 0, 1000) in msgs(out, key="p")
    assert of(out, Complete) and s.seeding
    assert wire.NotInterested() in msgs(out, key="p")


# -- serving ------------------------------------------------------------------------------


def interested_unchoked(s, key="p", fast=True):
    s.peer_connected(key, 0, fast=fast)
    out = s.message_received(key, wire.Interested(), 0)
    assert wire.Unchoke() in msgs(out, key=key)


def test_requests_of_unchoked_peers_are_read_and_sent(payload):
    torrent, data = payload
    s = session(torrent, seed=True)
    interested_unchoked(s)
    out = s.message_received("p", wire.Request(1, 0, 16384), 1)
    assert out == [ReadBlock("p", 1, 0, 16384)]
    assert s.message_received("p", wire.Request(1, 0, 16384), 1) == []  # duplicate
    out = s.block_read("p", 1, 0, block(data, 1, 0), 2)
    assert msgs(out) == [wire.Piece(1, 0, block(data, 1, 0))]
    assert s.peers["p"].bytes_uploaded == 16384
    # cancelled before the read finished: nothing is sent
    s.message_received("p", wire.Request(1, 16384, 16384), 3)
    s.message_received("p", wire.Cancel(1, 16384, 16384), 3)
    assert s.block_read("p", 1, 16384, block(data, 1, 16384), 3) == []


def test_requests_we_cannot_serve(payload):
    torrent, _ = payload
    s = session(torrent, have=[0], config=Config(max_peer_requests=1))
    s.peer_connected("slow", 0, fast=False)
    assert s.message_received("slow", wire.Request(0, 0, 16384), 0) == []  # choked, no fast: dropped
    s.peer_connected("p", 0, fast=True)
    assert msgs(s.message_received("p", wire.Request(0, 0, 16384), 0)) == [wire.Reject(0, 0, 16384)]
    s.message_received("p", wire.Interested(), 0)
    assert msgs(s.message_received("p", wire.Request(3, 0, 16384), 0)) == [wire.Reject(3, 0, 16384)]
    assert of(s.message_received("p", wire.Request(0, 0, 16384), 0), ReadBlock)
    assert msgs(s.message_received("p", wire.Request(0, 16384, 16384), 0)) == [wire.Reject(0, 16384, 16384)]


@pytest.mark.parametrize("request_", [wire.Request(9, 0, 16384), wire.Request(4, 0, 2000),
                                      wire.Request(0, 0, 0), wire.Request(0, 0, 1 << 20)])
def test_bad_requests_close(payload, request_):
    torrent, _ = payload
    s = session(torrent, seed=True)
    interested_unchoked(s)
    out = s.message_received("p", request_, 1)
    assert of(out, Close) and "p" not in s.peers


def test_choking_a_fast_peer_rejects_its_queue(payload):
    torrent, _ = payload
    s = session(torrent, seed=True)
    interested_unchoked(s)
    s.message_received("p", wire.Request(0, 0, 16384), 1)
    out = s.message_received("p", wire.NotInterested(), 2)  # its slot is free: a round at once
    assert msgs(out) == [wire.Choke(), wire.Reject(0, 0, 16384)]
    assert s.block_read("p", 0, 0, b"x" * 16384, 2) == []


def test_without_a_choker_everyone_interested_is_served(payload):
    torrent, _ = payload
    s = session(torrent, seed=True, choker=False)
    for key in "abcdef":
        interested_unchoked(s, key)
    assert all(not p.am_choking for p in s.peers.values())


class SharingChoker:
    """A choker that answers ``{key: share}``: whatever ``answer`` holds at the time."""

    family = "chokers"

    def __init__(self):
        self.answer = {}

    @hookimpl
    def btref_rechoke(self, swarm, peers, now):
        return self.answer


def test_a_choker_may_split_the_upload_in_shares(payload):
    torrent, _ = payload
    choker = SharingChoker()
    hook = plugin_manager({"pickers": [RarestFirst()], "hashes": ["sha1"], "chokers": [choker]}).hook
    s = Session(torrent, hook, have=PieceSet.full(torrent.num_pieces), rng=random.Random(1))
    for key in "abc":
        s.peer_connected(key, 0, fast=True)
        s.message_received(key, wire.Interested(), 0)
    # Shares that are not finite numbers above 0 leave the peer choked; "z" is no peer at all.
    choker.answer = {"a": 2, "b": 1.0, "c": 0, "z": 5.0, "d": float("nan")}
    out = s.tick(10)
    assert of(out, UploadShares) == [UploadShares((("a", 2.0), ("b", 1.0)))]
    assert [k for k, p in s.peers.items() if not p.am_choking] == ["a", "b"]
    assert of(s.tick(20), UploadShares) == []  # the same shares: nothing to tell the driver
    choker.answer = ["a", "b", "c"]  # a plain list: equal shares again, said once
    assert of(s.tick(30), UploadShares) == [UploadShares(())]
    assert of(s.tick(40), UploadShares) == []
    assert all(not p.am_choking for p in s.peers.values())


# -- protocol violations -------------------------------------------------------------------


@pytest.mark.parametrize("msg, fast, ext", [
    (wire.HaveAll(), False, False), (wire.HaveNone(), False, False), (wire.Reject(0, 0, 1), False, False),
    (wire.AllowedFast(0), False, False), (wire.Extended(0, b"d"), False, False),
    (wire.Extended(0, b"not bencode"), False, True), (wire.Have(5), True, False),
    (wire.Bitfield(b"\xff"), True, False), (wire.AllowedFast(99), True, False),
    (wire.Handshake(bytes(20), bytes(20)), True, True), ("not a message", True, True),
])
def test_violations_close(payload, msg, fast, ext):
    torrent, _ = payload
    s = session(torrent)
    s.peer_connected("p", 0, fast=fast, extensions=ext)
    out = s.message_received("p", msg, 1)
    assert of(out, Close) and "p" not in s.peers
    assert any(isinstance(a, Event) and a.name == "protocol_error" for a in out)
    assert ("disconnected", "p") in s.recorder.calls


def test_late_bitfield_have_all_and_have_none_merge_and_harmless_messages_pass(payload):
    """aria2 sends a bitfield mid-connection instead of many haves; WebTorrent sends have
    none after interested. Pieces are merged (never removed), each counted once."""
    torrent, _ = payload
    n = torrent.num_pieces
    s = session(torrent)
    s.peer_connected("p", 0, fast=True)
    for msg in (wire.KeepAlive(), wire.Port(6881), wire.Suggest(1), wire.Interested(), wire.HaveNone(), wire.Have(1)):
        assert not of(s.message_received("p", msg, 0), Close)
    late = PieceSet(n)
    late.set(0)
    late.set(1)
    out = s.message_received("p", wire.Bitfield(late.to_bytes()), 0)
    assert not of(out, Close) and sorted(s.peers["p"].has) == [0, 1]
    assert list(s.availability)[:2] == [1, 1] and s.peers["p"].wanted == 2
    s.message_received("p", wire.HaveNone(), 0)  # pieces never vanish
    assert sorted(s.peers["p"].has) == [0, 1]
    s.message_received("p", wire.HaveAll(), 0)
    assert s.peers["p"].has.complete() and list(s.availability) == [1] * n and s.peers["p"].wanted == n


# -- time ------------------------------------------------------------------------------


def test_tick_keepalive_timeouts_and_snubbing(payload):
    torrent, _ = payload
    cfg = Config(request_timeout=100, snub_timeout=50, keepalive_interval=30)
    s = session(torrent, config=cfg)
    s.peer_connected("p", 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    s.message_received("p", wire.Unchoke(), 0)
    assert msgs(s.tick(29)) == []
    out = s.tick(40)
    assert msgs(out) == [wire.KeepAlive()]  # nothing sent since the requests at 0
    out = s.tick(60)
    assert any(isinstance(a, Event) and a.name == "snubbed" for a in out) and s.peers["p"].snubbed
    assert s.peers["p"].view(60).snubbed
    out = s.tick(101)
    cancels = msgs(out, wire.Cancel)
    assert len(cancels) == cfg.min_queue
    assert any(isinstance(a, Event) and a.name == "request_timeout" for a in out)
    assert len(s.peers["p"].requests) == 1  # a snubbed peer gets one request at a time


def test_default_timeouts_snub_before_cancelling(payload):
    torrent, _ = payload
    s = session(torrent)
    s.peer_connected("p", 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    s.message_received("p", wire.Unchoke(), 0)
    out = s.tick(Config().request_timeout)
    names = [a.name for a in of(out, Event)]
    assert "snubbed" in names and "request_timeout" in names
    assert s.peers["p"].snubbed and len(s.peers["p"].requests) == 1


def test_keepalive_when_idle(payload):
    torrent, _ = payload
    s = session(torrent)
    s.peer_connected("p", 0)
    assert wire.KeepAlive() in msgs(s.tick(Config().keepalive_interval))
    assert wire.KeepAlive() not in msgs(s.tick(Config().keepalive_interval + 1))


def test_rechoke_every_interval(payload):
    torrent, _ = payload
    s = session(torrent, seed=True)
    rechokes = [t for t in range(0, 35) if any(isinstance(a, Event) and a.name == "rechoke" for a in s.tick(t))]
    assert rechokes == [0, 10, 20, 30]


def test_rounds_keep_a_fixed_clock_and_interest_only_fills_free_slots(payload):
    """Mainline's 10 s rounds stay on their clock whatever happens between them; a choked
    peer turning interested is unchoked at once only if the choker has a slot for it."""
    torrent, _ = payload
    s = session(torrent, seed=True)  # tit-for-tat: 3 slots and an optimistic one
    s.tick(0.5)
    for i, key in enumerate("abcd"):
        interested_unchoked(s, key)  # slots free: unchoked at once, one second apart
        s.tick(1.5 + i)
    s.peer_connected("e", 6)
    out = s.message_received("e", wire.Interested(), 6)
    assert wire.Unchoke() not in msgs(out, key="e") and s.peers["e"].am_choking  # no slot free
    # The choker left "e" out: four is its capacity, and while four are served a newly
    # interested peer does not even make it run (libtorrent counts its free slots too).
    asked = []
    ask = s.choking._ask
    s.choking._ask = lambda now: asked.append(now) or ask(now)
    s.peer_connected("f", 7)
    assert wire.Unchoke() not in msgs(s.message_received("f", wire.Interested(), 7), key="f")
    assert not asked
    s.choking._ask = ask
    rounds = [t for t in (9.5, 10.5, 11.5, 20.5) if any(isinstance(a, Event) and a.name == "rechoke"
                                                          for a in s.tick(t))]
    assert rounds == [10.5, 20.5]


def test_interest_toggles_cannot_make_the_choker_run_on_every_message(payload):
    """A peer flipping interested / not interested gets at most one choker call per
    Config.unchoke_gap, the others wait for a tick (hostile: 3 peers toggling for 20 s)."""
    torrent, _ = payload
    s = session(torrent, seed=True)
    calls = []
    original = s.choking._ask

    def counted(now):
        calls.append(now)
        return original(now)

    s.choking._ask = counted
    s.tick(0)
    s.peer_connected("x", 0)
    for i in range(1000):
        t = 0.5 + i / 1000
        s.message_received("x", wire.Interested() if i % 2 == 0 else wire.NotInterested(), t)
    assert len(calls) <= 2  # the round at 0, and one fill
    s.tick(1.6)
    assert len(calls) <= 3  # and the fill that waited for its tick


# -- bad data ------------------------------------------------------------------------------


def feed_piece(s, key, index, data, corrupt):
    """Let ``key`` deliver all blocks the engine asks of it for piece ``index``."""
    out = []
    for (i, begin), (length, _) in list(s.peers[key].requests.items()):
        if i == index:
            chunk = block(data, i, begin, length)
            if corrupt:
                chunk = bytes(b ^ 1 for b in chunk)
            out += s.message_received(key, wire.Piece(i, begin, chunk), 1)
    return out


def test_sole_liar_is_banned_after_two_failures(payload):
    torrent, data = payload
    s = session(torrent, have=[0, 1, 2], config=Config(min_queue=2, max_queue=2))
    s.peer_connected("liar", 0, fast=True)
    s.message_received("liar", wire.HaveAll(), 0)
    s.message_received("liar", wire.Unchoke(), 0)
    index = next(iter(s.peers["liar"].requests))[0]
    out = feed_piece(s, "liar", index, data, corrupt=True)
    assert ("failed", index, ("liar",)) in s.recorder.calls and s.download.strikes["liar"] == 1
    assert any(isinstance(a, Event) and a.name == "piece_failed" for a in out)
    index = next(iter(s.peers["liar"].requests))[0]
    out = feed_piece(s, "liar", index, data, corrupt=True)
    assert of(out, Ban) and ("banned", "liar") in s.recorder.calls and "liar" not in s.peers


def test_smart_ban_names_the_liar_and_refunds_the_honest(payload):
    torrent, data = payload
    s = session(torrent, have=[0, 1, 2, 4], config=Config(min_queue=1, max_queue=1, ban_after=3))
    for key in ("honest", "liar"):
        s.peer_connected(key, 0, fast=True)
        s.message_received(key, wire.HaveAll(), 0)
    assert msgs(s.message_received("honest", wire.Unchoke(), 0), wire.Request) == [wire.Request(3, 0, 16384)]
    assert msgs(s.message_received("liar", wire.Unchoke(), 0), wire.Request) == [wire.Request(3, 16384, 16384)]
    s.message_received("honest", wire.Piece(3, 0, block(data, 3, 0)), 1)
    s.message_received("liar", wire.Piece(3, 16384, bytes(16384)), 1)
    assert not s.download.strikes  # two senders: no strike until it is known who lied
    assert ("failed", 3, ("honest", "liar")) in s.recorder.calls
    # parole: the piece is downloaded again from one peer only
    owner = s.download.pieces[3].only_from
    other = "liar" if owner == "honest" else "honest"
    assert not s.peers[other].requests
    out = []
    while not s.have[3]:
        out += feed_piece(s, owner, 3, data, corrupt=False)
    assert [b.key for b in of(out, Ban)] == ["liar"]
    assert not s.download.strikes and "liar" not in s.peers and 3 not in s.download.suspects


def test_unasked_blocks_are_dropped_and_counted(payload):
    """A peer cannot slip data into a piece it was not asked for: the block is dropped
    (nothing stored, nothing counted as downloaded) and counts against the sender."""
    torrent, data = payload
    s = session(torrent, have=[0, 1, 2], config=Config(min_queue=1, max_queue=1, unexpected_tolerance=2))
    for key in ("honest", "liar"):
        s.peer_connected(key, 0, fast=True)
        s.message_received(key, wire.HaveAll(), 0)
    [request] = msgs(s.message_received("honest", wire.Unchoke(), 0), wire.Request)
    begin = request.begin + 16384  # the next block of the same piece, asked of nobody
    out = s.message_received("liar", wire.Piece(request.index, begin, bytes(16384)), 1)
    piece = s.download.pieces[request.index]
    assert not out and piece.missing == piece.num_blocks and s.peers["liar"].bytes_downloaded == 0
    assert s.peers["liar"].unexpected == 1
    s.message_received("liar", wire.Piece(request.index, begin, bytes(16384)), 1)
    out = s.message_received("liar", wire.Piece(request.index, begin, bytes(16384)), 1)
    assert of(out, Close) and "liar" not in s.peers  # over the tolerance


def test_a_liar_that_left_is_banned_when_the_piece_passes(payload):
    """Smart ban names a liar even after it disconnected (the driver then refuses its
    address), and the honest co-sender is never struck for sharing a piece with it."""
    torrent, data = payload
    s = session(torrent, have=[0, 1, 2, 4], config=Config(min_queue=1, max_queue=1))
    for key in ("honest", "liar"):
        s.peer_connected(key, 0, fast=True)
        s.message_received(key, wire.HaveAll(), 0)
    s.message_received("honest", wire.Unchoke(), 0)
    s.message_received("liar", wire.Unchoke(), 0)
    s.message_received("honest", wire.Piece(3, 0, block(data, 3, 0)), 1)
    s.message_received("liar", wire.Piece(3, 16384, bytes(16384)), 1)
    s.peer_disconnected("liar", 2)
    assert not s.download.strikes
    out = []
    while not s.have[3]:
        out += feed_piece(s, "honest", 3, data, corrupt=False)
    assert [(b.key, b.reason) for b in of(out, Ban)] == [("liar", "sent a corrupt block of piece 3")]
    assert "honest" in s.peers and not s.download.strikes


def test_a_piece_on_parole_goes_back_to_the_others_when_its_peer_leaves(payload):
    """The one peer allowed to resend a failed piece leaves halfway through it: the piece
    starts over with another peer instead of waiting for it forever."""
    torrent, data = payload
    s = session(torrent, have=[0, 1, 2, 4], config=Config(min_queue=1, max_queue=1, ban_after=3))
    for key in ("honest", "liar"):
        s.peer_connected(key, 0, fast=True)
        s.message_received(key, wire.HaveAll(), 0)
    s.message_received("honest", wire.Unchoke(), 0)
    s.message_received("liar", wire.Unchoke(), 0)
    s.message_received("honest", wire.Piece(3, 0, block(data, 3, 0)), 1)
    s.message_received("liar", wire.Piece(3, 16384, bytes(16384)), 1)
    owner = s.download.pieces[3].only_from  # on parole: only this peer may send piece 3 now
    other = "liar" if owner == "honest" else "honest"
    [(index, begin)] = s.peers[owner].requests
    s.message_received(owner, wire.Piece(index, begin, block(data, index, begin)), 2)
    out = s.peer_disconnected(owner, 3)  # half the piece is in, from the peer that left
    assert [(r.index, r.begin) for r in msgs(out, wire.Request, other)] == [(3, 0)]  # from the start
    while not s.have[3]:
        feed_piece(s, other, 3, data, corrupt=False)


# -- hostile message streams -----------------------------------------------------------------

u32 = st.integers(0, 2**32 - 1)
small = st.integers(0, 8)
messages = st.one_of(
    st.builds(wire.KeepAlive), st.builds(wire.Choke), st.builds(wire.Unchoke), st.builds(wire.Interested),
    st.builds(wire.NotInterested), st.builds(wire.HaveAll), st.builds(wire.HaveNone),
    st.builds(wire.Have, st.one_of(small, u32)), st.builds(wire.Suggest, small), st.builds(wire.AllowedFast, small),
    st.builds(wire.Bitfield, st.binary(max_size=2)),
    st.builds(wire.Request, small, st.sampled_from([0, 16384, 5]), st.sampled_from([16384, 1000, 0, 1 << 18])),
    st.builds(wire.Cancel, small, st.sampled_from([0, 16384]), st.sampled_from([16384, 1000])),
    st.builds(wire.Reject, small, st.sampled_from([0, 16384]), st.sampled_from([16384, 1000])),
    st.builds(wire.Piece, small, st.sampled_from([0, 16384, 7]), st.sampled_from([b"", b"x" * 1000, b"y" * 16384])),
    st.builds(wire.Extended, st.integers(0, 2), st.sampled_from([b"", b"de", b"d4:reqqi-1ee", b"d4:reqqi9ee", b"le"])),
    st.builds(wire.Port, st.integers(0, 65535)),
)


@settings(max_examples=150)
@given(st.lists(messages, max_size=40), st.booleans(), st.booleans(), st.integers(0, 5))
def test_random_message_streams_never_crash(payload, stream, fast, seed, have_count):
    torrent, _ = payload
    s = session(torrent, seed=seed, have=range(have_count))
    s.peer_connected("evil", 0, fast=fast, extensions=True)
    s.peer_connected("good", 0, fast=True)
    for t, msg in enumerate(stream):
        out = s.message_received("evil", msg, float(t))
        out += s.tick(float(t))
        for action in out:
            assert isinstance(action, (Send, Broadcast, ReadBlock, WritePiece, Close, Ban, Event, Complete))
            if isinstance(action, (Close, Ban)):
                assert action.key == "evil"
        if "evil" not in s.peers:
            break
    assert "good" in s.peers


def test_slow_start_grows_the_queue_before_the_rate_does(payload):
    """Transmission sends slowly at first: with the rate averaged from the connection's
    start, the queue would stay at min_queue. Slow start adds one request per block."""
    torrent, data = payload
    s = session(torrent, config=Config(min_queue=1, max_queue=8, slow_start=True, rate_window=1000))
    s.peer_connected("p", 0, fast=True)
    s.message_received("p", wire.HaveAll(), 0)
    s.message_received("p", wire.Unchoke(), 0)
    assert len(s.peers["p"].requests) == 1
    for _ in range(3):  # answer whatever is outstanding, at a crawl (t = 500 s)
        for (i, begin), (length, _) in list(s.peers["p"].requests.items()):
            s.message_received("p", wire.Piece(i, begin, block(data, i, begin, length)), 500)
    assert len(s.peers["p"].requests) > 1
    plain = session(torrent, config=Config(min_queue=1, max_queue=8, rate_window=1000))
    plain.peer_connected("p", 0, fast=True)
    plain.message_received("p", wire.HaveAll(), 0)
    plain.message_received("p", wire.Unchoke(), 0)
    for _ in range(3):
        for (i, begin), (length, _) in list(plain.peers["p"].requests.items()):
            plain.message_received("p", wire.Piece(i, begin, block(data, i, begin, length)), 500)
    assert len(plain.peers["p"].requests) == 1
