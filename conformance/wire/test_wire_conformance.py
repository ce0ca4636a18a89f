"""Peer wire scenarios any seeder must pass (BEP 3 "peer protocol"; BEP 6 "fast extension").

Each scenario opens its own connection to ``target`` (see ``conftest.py``), checks every
message the target sends with btref's Connection (framing, sizes) and the scenario's own
bookkeeping (``Client.check``: the rules that depend on what came before), and closes the connection at the end.
A target may answer a bad request with a BEP 6 ``reject`` or by closing the connection;
both pass, serving the bytes does not.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from btref import wire

from .targets import Client

pytestmark = pytest.mark.interop
_HAS = (wire.Bitfield, wire.HaveAll, wire.HaveNone)


@pytest.fixture
def connect(target):
    clients: list[Client] = []

    def open_client(**kwargs) -> Client:
        clients.append(Client(target, **kwargs))
        return clients[-1]

    yield open_client
    for client in clients:
        client.close()


def _ready(connect, *, fast: bool = True) -> Client:
    """Handshake, interested, and wait to be unchoked."""
    client = connect(fast=fast)
    assert client.handshake() is not None
    client.send(wire.Interested())
    assert client.next(lambda m: isinstance(m, wire.Unchoke)) is not None, "target never unchoked us"
    return client


def _refused(client: Client, request: wire.Request) -> None:
    """``request`` must not be served: the target rejects it (BEP 6), ignores it, or closes.

    A valid request follows it, so "ignored" shows as that block arriving first, and the
    scenario never waits for something *not* to happen.
    """
    client.send_raw(request)
    client.send_raw(wire.Request(0, 0, wire.BLOCK_SIZE))
    answer = client.next(lambda m: isinstance(m, (wire.Reject, wire.Piece)))
    if isinstance(answer, wire.Reject):
        assert answer == wire.Reject(request.index, request.begin, request.length), answer
    elif answer is not None:  # our Connection already refused any block outside the piece
        assert (answer.index, answer.begin, len(answer.block)) == (0, 0, wire.BLOCK_SIZE), answer


# -- handshake -------------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [False, True])
def test_handshake_is_answered_for_our_info_hash(connect, fast):
    client = connect(fast=fast)
    answer = client.handshake()
    assert answer is not None, "target closed instead of answering the handshake"
    assert answer.info_hash == client.facts.info_hash
    assert len(answer.peer_id) == 20


def test_unknown_info_hash_is_refused(connect):
    client = connect(info_hash=os.urandom(20))
    assert client.handshake() is None, "target answered a handshake for a torrent it does not serve"


# -- what the target has ----------------------------------------------------------------------


def test_without_fast_the_first_message_is_a_bitfield(connect):
    client = connect(fast=False)
    client.handshake()
    first = client.next(lambda m: not isinstance(m, (wire.Extended, wire.Port, wire.KeepAlive)))
    assert isinstance(first, wire.Bitfield), first  # size and spare bits checked by the Connection
    assert client.pieces.complete()


def test_with_fast_a_seeder_says_have_all_or_bitfield(connect):
    client = connect(fast=True)
    client.handshake()
    first = client.next(lambda m: not isinstance(m, (wire.Extended, wire.Port, wire.KeepAlive, wire.AllowedFast)))
    assert isinstance(first, (wire.Bitfield, wire.HaveAll)), first
    assert client.pieces.complete()


# -- choke and interest ------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [False, True])
def test_interested_gets_unchoked(connect, fast):
    client = _ready(connect, fast=fast)
    assert not client.choked and client.interested


def test_keepalive_is_harmless(connect):
    client = connect()
    client.handshake()
    client.send(wire.KeepAlive())
    client.send(wire.Interested())
    assert client.next(lambda m: isinstance(m, wire.Unchoke)) is not None


def test_request_while_choked_is_rejected_with_fast(connect):
    client = connect(fast=True)
    client.handshake()
    client.next(lambda m: isinstance(m, _HAS))
    client.send_raw(wire.Request(0, 0, wire.BLOCK_SIZE))
    answer = client.next(lambda m: isinstance(m, (wire.Reject, wire.Piece)))
    # A piece is fine only if the target allowed piece 0 fast (checked in Client.next).
    assert answer is not None, "BEP 6: every request must be answered, by a piece or a reject"


# -- requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [False, True])
def test_requests_are_answered_with_the_right_bytes(connect, fast):
    client = _ready(connect, fast=fast)
    facts = client.facts
    for index in (0, facts.num_pieces - 1):  # a full piece and the short last one
        size = facts.piece_size(index)
        for begin in range(0, size, wire.BLOCK_SIZE):
            client.send(wire.Request(index, begin, min(wire.BLOCK_SIZE, size - begin)))
        blocks = {}
        while sum(len(b) for b in blocks.values()) < size:
            piece = client.next(lambda m: isinstance(m, wire.Piece))
            assert piece is not None, "target closed before sending every block"
            assert piece.index == index
            blocks[piece.begin] = piece.block
        data = b"".join(blocks[b] for b in sorted(blocks))
        assert hashlib.sha1(data).digest() == facts.piece_hashes[index]


@pytest.mark.parametrize("fast", [False, True])
def test_oversized_request_is_refused(connect, fast):
    _refused(_ready(connect, fast=fast), wire.Request(0, 0, 2 * wire.BLOCK_SIZE))


def test_request_past_the_piece_end_is_refused(connect):
    client = _ready(connect)
    last = client.facts.num_pieces - 1
    _refused(client, wire.Request(last, client.facts.piece_size(last) - 100, 200))


def test_request_for_a_missing_piece_index_is_refused(connect):
    client = _ready(connect)
    _refused(client, wire.Request(client.facts.num_pieces, 0, wire.BLOCK_SIZE))


# -- cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [False, True])
def test_cancel_of_an_unsent_request_is_harmless(connect, fast):
    client = _ready(connect, fast=fast)
    client.send(wire.Cancel(0, wire.BLOCK_SIZE, wire.BLOCK_SIZE))
    client.send(wire.Request(0, 0, wire.BLOCK_SIZE))
    piece = client.next(lambda m: isinstance(m, wire.Piece))
    assert piece is not None and (piece.index, piece.begin, len(piece.block)) == (0, 0, wire.BLOCK_SIZE)


def test_cancelled_request_gets_a_piece_a_reject_or_nothing(connect):
    client = _ready(connect)
    client.send(wire.Request(0, 0, wire.BLOCK_SIZE))
    client.send(wire.Cancel(0, 0, wire.BLOCK_SIZE))
    client.send(wire.Request(1, 0, wire.BLOCK_SIZE))
    seen = []
    answer = client.next(lambda m: seen.append(m) or isinstance(m, wire.Piece) and m.index == 1)
    assert answer is not None
    for msg in seen:  # anything about piece 0 must be its block or a reject of it
        if isinstance(msg, (wire.Piece, wire.Reject)) and msg.index == 0:
            assert msg.begin == 0


# -- rules the target enforces on us -----------------------------------------------------------


def test_bitfield_of_the_wrong_size_closes_the_connection(connect):
    client = connect(fast=False)
    client.handshake()
    client.send_raw(wire.Bitfield(bytes((client.facts.num_pieces + 7) // 8 + 3)))
    assert client.next(lambda m: False) is None
